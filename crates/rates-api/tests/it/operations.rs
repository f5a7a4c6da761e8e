//! Operating the server: rate limits, request ids and Prometheus metrics, over HTTP.

use std::collections::BTreeMap;
use std::time::Duration;

use rates_api::{ApiConfig, AuthConfig, AuthMode, RateLimitConfig};
use rates_domain::{ApiKey, API_KEY_BYTES};
use rates_store::testing::TestDatabase;

use crate::helpers::{load_sample, spawn_app_on, test_config, Reply, TestApp, TestResult};

fn limited(per_second: f64, burst: u32) -> ApiConfig {
    let mut config = test_config();
    config.rate_limit = Some(RateLimitConfig { per_second, burst });
    config
}

fn app_with(config: ApiConfig) -> TestResult<TestApp> {
    let database = TestDatabase::sqlite()?;
    load_sample(database.store())?;
    spawn_app_on(database, config)
}

fn number_header(reply: &Reply, name: &str) -> TestResult<u64> {
    Ok(reply
        .header(name)
        .ok_or_else(|| format!("no {name} in {:?}", reply.headers))?
        .parse()?)
}

#[test]
fn the_burst_is_served_then_429_with_retry_after_until_a_token_is_back() -> TestResult {
    // One token per second, three at once: three answers, then a refusal.
    let app = app_with(limited(1.0, 3))?;
    for remaining in [2, 1, 0] {
        let reply = app.get("/rates/2024-01-02/?symbols=USD")?;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(number_header(&reply, "ratelimit-limit")?, 3);
        assert_eq!(number_header(&reply, "ratelimit-remaining")?, remaining);
        let reset = number_header(&reply, "ratelimit-reset")?;
        assert!((1..=3).contains(&reset), "reset {reset}");
    }
    let refused = app.get("/rates/2024-01-02/?symbols=USD")?;
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert_eq!(refused.error_code()?, "rate_limited");
    assert_eq!(number_header(&refused, "retry-after")?, 1);
    assert_eq!(number_header(&refused, "ratelimit-remaining")?, 0);
    assert_eq!(number_header(&refused, "ratelimit-limit")?, 3);
    assert!(refused.error_message()?.contains("retry in 1 s"));

    // A token is back after a second: the next request is served again.
    std::thread::sleep(Duration::from_millis(1100));
    let again = app.get("/rates/2024-01-02/?symbols=USD")?;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(number_header(&again, "ratelimit-remaining")?, 0);
    Ok(())
}

#[test]
fn health_and_metrics_are_never_limited() -> TestResult {
    let app = app_with(limited(0.01, 1))?;
    assert_eq!(app.get("/currencies/")?.status, 200);
    assert_eq!(app.get("/currencies/")?.status, 429);
    for _ in 0..5 {
        let health = app.get("/health")?;
        assert_eq!(health.status, 200);
        assert!(health.header("ratelimit-limit").is_none());
        assert_eq!(app.get("/metrics")?.status, 200);
    }
    Ok(())
}

#[test]
fn without_a_limit_no_ratelimit_headers_are_sent() -> TestResult {
    let app = app_with(test_config())?;
    let reply = app.get("/rates/2024-01-02/")?;
    assert_eq!(reply.status, 200);
    assert!(
        reply.header("ratelimit-limit").is_none(),
        "{:?}",
        reply.headers
    );
    Ok(())
}

fn keyed(per_second: f64, burst: u32) -> ApiConfig {
    let mut config = limited(per_second, burst);
    config.auth = AuthMode::ApiKey;
    config.key_checks = AuthConfig {
        usage_flush_interval: Duration::from_secs(3600),
    };
    config
}

#[test]
fn guessing_keys_is_throttled_by_address_while_a_valid_key_has_its_own_bucket() -> TestResult {
    let database = TestDatabase::sqlite()?;
    load_sample(database.store())?;
    let key = ApiKey::from_random_bytes([7; API_KEY_BYTES]);
    database
        .store()
        .insert_api_key("ops", key.hash().as_str())?;
    let app = spawn_app_on(database, keyed(0.01, 2))?;

    // Two wrong guesses are told the key is wrong; the third is throttled.
    for guess in ["rk_guess1", "rk_guess2"] {
        let reply = app.get_with("/rates/2024-01-02/", &[("X-API-Key", guess)])?;
        assert_eq!(reply.status, 401, "{}", reply.body);
        assert_eq!(
            number_header(&reply, "ratelimit-remaining")?,
            if guess == "rk_guess1" { 1 } else { 0 }
        );
    }
    for path in ["/rates/2024-01-02/", "/currencies/"] {
        let reply = app.get_with(path, &[("X-API-Key", "rk_guess3")])?;
        assert_eq!(reply.status, 429, "{}", reply.body);
        assert_eq!(reply.error_code()?, "rate_limited");
        assert!(number_header(&reply, "retry-after")? >= 1);
    }
    // A missing key counts as a failed check too.
    assert_eq!(app.get("/currencies/")?.status, 429);

    // The valid key is limited by its own bucket, not the address's.
    let secret = key.expose_secret().to_owned();
    for remaining in [1, 0] {
        let reply = app.get_with("/rates/2024-01-02/", &[("X-API-Key", &secret)])?;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(number_header(&reply, "ratelimit-remaining")?, remaining);
    }
    let over = app.get_with("/rates/2024-01-02/", &[("X-API-Key", &secret)])?;
    assert_eq!(over.status, 429);
    Ok(())
}

#[test]
fn a_sane_request_id_is_echoed_and_others_are_replaced() -> TestResult {
    let app = app_with(test_config())?;
    let given = "3f2c9a1e-0b7d-4c1e-9f00-1234567890ab";
    let reply = app.get_with("/rates/2024-01-02/", &[("X-Request-Id", given)])?;
    assert_eq!(reply.header("x-request-id"), Some(given));

    let hostile = "a b\"c";
    let replaced = app.get_with("/rates/2024-01-02/", &[("X-Request-Id", hostile)])?;
    let generated = replaced.header("x-request-id").ok_or("no id")?;
    assert_ne!(generated, hostile);
    assert!(
        generated
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b'-'),
        "{generated}"
    );

    // Errors carry one too, and two requests get different ids.
    let first = app.get("/nope")?;
    let second = app.get("/nope")?;
    assert_eq!(first.status, 404);
    let (first, second) = (
        first.header("x-request-id").ok_or("no id on an error")?,
        second.header("x-request-id").ok_or("no id on an error")?,
    );
    assert_ne!(first, second);
    Ok(())
}

/// Samples of a scrape, parsed with a Prometheus text-format parser: name and sorted labels to
/// value.
fn scrape(app: &TestApp) -> TestResult<BTreeMap<String, f64>> {
    let reply = app.get("/metrics")?;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(
        reply
            .header("content-type")
            .is_some_and(|t| t.starts_with("text/plain; version=0.0.4")),
        "{:?}",
        reply.headers
    );
    let lines = reply.body.lines().map(|line| Ok(line.to_owned()));
    let parsed = prometheus_parse::Scrape::parse(lines)?;
    let mut samples = BTreeMap::new();
    for sample in parsed.samples {
        let mut labels: Vec<String> = sample
            .labels
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        labels.sort();
        let value = match sample.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            prometheus_parse::Value::Histogram(buckets) => {
                buckets.last().map_or(0.0, |bucket| bucket.count)
            }
            prometheus_parse::Value::Summary(_) => continue,
        };
        samples.insert(format!("{}{{{}}}", sample.metric, labels.join(",")), value);
    }
    Ok(samples)
}

fn sample(samples: &BTreeMap<String, f64>, key: &str) -> f64 {
    samples.get(key).copied().unwrap_or(0.0)
}

#[test]
fn metrics_count_answers_by_route_and_status() -> TestResult {
    let app = app_with(limited(0.001, 3))?;
    let before = scrape(&app)?;
    for name in [
        "rates_latest_date_age_days{}",
        "rates_snapshot_values{}",
        "rates_fixer_quota_remaining{}",
        "rates_ingest_last_success_timestamp_seconds{}",
        "rates_rate_limited_total{}",
    ] {
        assert!(before.contains_key(name), "{name} missing from {before:?}");
    }
    let day = "rates_http_requests_total{route=/rates/:date,status=200}";
    let missing = "rates_http_requests_total{route=/rates/:date,status=404}";
    let timed = "rates_http_request_duration_seconds{route=/rates/:date}";

    assert_eq!(app.get("/rates/2024-01-02/")?.status, 200);
    assert_eq!(app.get("/rates/2024-01-02")?.status, 200);
    assert_eq!(app.get("/rates/1990-01-02/")?.status, 404);
    assert_eq!(app.get("/rates/1990-01-02/")?.status, 429);

    let after = scrape(&app)?;
    assert_eq!(sample(&after, day) - sample(&before, day), 2.0, "{after:?}");
    assert_eq!(sample(&after, missing) - sample(&before, missing), 1.0);
    assert_eq!(sample(&after, timed) - sample(&before, timed), 4.0);
    assert_eq!(
        sample(&after, "rates_rate_limited_total{}")
            - sample(&before, "rates_rate_limited_total{}"),
        1.0
    );
    assert_eq!(
        sample(
            &after,
            "rates_http_requests_total{route=/rates/:date,status=429}"
        ),
        1.0
    );
    Ok(())
}

#[test]
fn metrics_can_be_turned_off() -> TestResult {
    let mut config = test_config();
    config.metrics = false;
    let app = app_with(config)?;
    let reply = app.get("/metrics")?;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.error_code()?, "route_not_found");
    Ok(())
}
