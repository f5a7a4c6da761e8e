//! Every route and parameter, with exact values, on SQLite and (when configured) PostgreSQL.

use crate::helpers::{databases, spawn_app, spawn_app_with_sample, TestResult};
use rates_api::{ApiConfig, ApiState};

#[test]
fn day_rates_are_served_exactly_as_stored() -> TestResult {
    for database in databases()? {
        let app = spawn_app_with_sample(database)?;
        for path in ["/rates/2024-01-02/", "/rates/2024-01-02"] {
            let reply = app.get(path)?;
            assert_eq!(reply.status, 200, "{path}: {}", reply.body);
            assert_eq!(reply.header("content-type"), Some("application/json"));
            // Byte-for-byte: the stored decimal text, not a float round-trip artefact.
            assert!(
                reply
                    .body
                    .starts_with(r#"{"base":"EUR","date":"2024-01-02","timestamp":"#),
                "{}",
                reply.body
            );
            assert!(reply.body.contains(r#""USD":1.0956,"#), "{}", reply.body);
            assert!(reply.body.contains(r#""GBP":0.86645,"#), "{}", reply.body);
            assert!(reply.body.contains(r#""IDR":17007.66,"#), "{}", reply.body);
            let body = reply.json()?;
            assert_eq!(body["rates"].as_object().map(|rates| rates.len()), Some(30));
            assert!(body["timestamp"]
                .as_i64()
                .is_some_and(|t| t > 1_700_000_000));
            assert!(body.get("success").is_none());
        }
    }
    Ok(())
}

#[test]
fn latest_is_the_most_recent_date_held() -> TestResult {
    for database in databases()? {
        let app = spawn_app_with_sample(database)?;
        for path in ["/rates/latest", "/rates/latest/", "/rates/LATEST/"] {
            let body = app.get(path)?.json()?;
            assert_eq!(body["date"], "2024-01-10", "{path}");
            assert_eq!(body["base"], "EUR");
        }
    }
    Ok(())
}

#[test]
fn symbols_keep_only_the_currencies_asked_for() -> TestResult {
    let app = spawn_app()?;
    let reply = app.get("/rates/2024-01-02/?symbols=usd,GBP,USD")?;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.json()?["rates"],
        serde_json::json!({"GBP": 0.86645, "USD": 1.0956})
    );
    assert!(
        reply
            .body
            .ends_with(r#""rates":{"GBP":0.86645,"USD":1.0956}}"#),
        "{}",
        reply.body
    );
    Ok(())
}

#[test]
fn another_base_is_computed_and_rounded() -> TestResult {
    for database in databases()? {
        let app = spawn_app_with_sample(database)?;
        let reply = app.get("/rates/2024-01-02/?base=usd&symbols=GBP,JPY,EUR,USD")?;
        assert_eq!(reply.status, 200, "{}", reply.body);
        // 0.86645 / 1.0956, 155.68 / 1.0956 and 1 / 1.0956, to 10 significant digits.
        assert!(
            reply.body.contains(r#""base":"USD""#)
                && reply.body.contains(
                    r#""rates":{"EUR":0.9127418766,"GBP":0.790845199,"JPY":142.0956553,"USD":1}"#
                ),
            "{}",
            reply.body
        );
    }
    Ok(())
}

#[test]
fn fallback_previous_answers_with_the_nearest_earlier_date() -> TestResult {
    let app = spawn_app()?;
    // 2024-01-06 is a Saturday: no ECB rates.
    let reply = app.get("/rates/2024-01-06/?fallback=previous&symbols=USD")?;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json()?;
    assert_eq!(body["date"], "2024-01-05");
    assert_eq!(body["requested_date"], "2024-01-06");
    assert_eq!(body["rates"], serde_json::json!({"USD": 1.0921}));
    // A date held is answered as is, still telling which date was asked for.
    let body = app
        .get("/rates/2024-01-05/?fallback=previous&symbols=USD")?
        .json()?;
    assert_eq!(body["date"], "2024-01-05");
    assert_eq!(body["requested_date"], "2024-01-05");
    // Without fallback the same date is a 404 naming the nearest date.
    let reply = app.get("/rates/2024-01-06/")?;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.error_code()?, "date_not_found");
    assert_eq!(reply.json()?["error"]["nearest_date"], "2024-01-05");
    assert!(reply.error_message()?.contains("2024-01-05"));
    Ok(())
}

#[test]
fn ranges_hold_every_day_held_in_one_answer() -> TestResult {
    for database in databases()? {
        let app = spawn_app_with_sample(database)?;
        let reply = app.get("/rates/2024-01-01..2024-01-05/?symbols=USD")?;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(
            reply.body,
            r#"{"base":"EUR","start_date":"2024-01-01","end_date":"2024-01-05","rates":{"2024-01-02":{"USD":1.0956},"2024-01-03":{"USD":1.0919},"2024-01-04":{"USD":1.0953},"2024-01-05":{"USD":1.0921}}}"#
        );
        let body = app
            .get("/rates/2023-12-28..2024-01-03?base=GBP&symbols=USD")?
            .json()?;
        assert_eq!(body["base"], "GBP");
        let days = body["rates"].as_object().ok_or("no rates")?;
        assert_eq!(
            days.keys().map(String::as_str).collect::<Vec<_>>(),
            ["2023-12-28", "2023-12-29", "2024-01-02", "2024-01-03"]
        );
        assert_eq!(days["2024-01-02"]["USD"], 1.264469964);
    }
    Ok(())
}

#[test]
fn a_range_of_a_whole_leap_year_is_allowed_and_one_day_more_is_not() -> TestResult {
    let app = spawn_app()?;
    let reply = app.get("/rates/2024-01-01..2024-12-31/?symbols=USD")?;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let reply = app.get("/rates/2023-12-31..2024-12-31/")?;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.error_code()?, "range_too_long");
    assert!(reply.error_message()?.contains("366"));
    Ok(())
}

#[test]
fn a_range_with_no_data_names_the_nearest_earlier_date() -> TestResult {
    let app = spawn_app()?;
    let reply = app.get("/rates/2010-01-01..2010-12-31/")?;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.error_code()?, "range_not_found");
    assert_eq!(reply.json()?["error"]["nearest_date"], "2009-01-02");
    Ok(())
}

#[test]
fn currencies_lists_the_codes_held() -> TestResult {
    for database in databases()? {
        let app = spawn_app_with_sample(database)?;
        for path in ["/currencies/", "/currencies"] {
            let reply = app.get(path)?;
            assert_eq!(reply.status, 200, "{}", reply.body);
            let body = reply.json()?;
            let symbols = body["symbols"].as_object().ok_or("no symbols")?;
            for code in ["USD", "GBP", "JPY", "EEK", "ZAR"] {
                assert!(symbols.contains_key(code), "{code} missing: {}", reply.body);
            }
            assert!(!symbols.contains_key("CYP"), "never quoted in the sample");
        }
    }
    Ok(())
}

#[test]
fn convert_uses_the_rates_of_the_date_asked_for() -> TestResult {
    for database in databases()? {
        let app = spawn_app_with_sample(database)?;
        let reply = app.get("/convert?from=USD&to=GBP&amount=10&date=2024-01-02")?;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(
            reply.body,
            r#"{"query":{"from":"USD","to":"GBP","amount":10},"date":"2024-01-02","rate":0.790845199,"result":7.90845199}"#
        );
        // From the stored base the rate is the stored value itself.
        let body = app.get("/convert/?from=eur&to=usd&amount=2.5")?.json()?;
        assert_eq!(body["date"], "2024-01-10");
        assert_eq!(body["query"]["amount"], 2.5);
        let stored = app.get("/rates/2024-01-10/?symbols=USD")?.json()?;
        assert_eq!(body["rate"], stored["rates"]["USD"]);
        // Fallback, as for rates.
        let body = app
            .get("/convert?from=EUR&to=USD&amount=1&date=2024-01-07&fallback=previous")?
            .json()?;
        assert_eq!(body["date"], "2024-01-05");
        assert_eq!(body["requested_date"], "2024-01-07");
        assert_eq!(body["rate"], 1.0921);
    }
    Ok(())
}

#[test]
fn health_reports_the_latest_date_and_the_database_state() -> TestResult {
    for database in databases()? {
        let app = spawn_app_with_sample(database)?;
        let version = app.store().data_version()?;
        for path in ["/health", "/health/"] {
            let reply = app.get(path)?;
            assert_eq!(reply.status, 200);
            let body = reply.json()?;
            assert_eq!(body["status"], "ok");
            assert_eq!(body["latest_date"], "2024-01-10");
            assert_eq!(body["database"], "ok");
            assert_eq!(body["snapshot_version"], version);
            let age = body["snapshot_age_ms"]
                .as_u64()
                .ok_or("no snapshot_age_ms")?;
            assert!(age < 1_000, "{age} ms");
            assert_eq!(reply.header("cache-control"), Some("no-store"));
        }
    }
    Ok(())
}

#[test]
fn an_empty_database_answers_404s_and_is_healthy() -> TestResult {
    let database = rates_store::testing::TestDatabase::sqlite()?;
    let app = crate::helpers::spawn_app_on(database, ApiConfig::default())?;
    let reply = app.get("/health")?;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json()?["latest_date"], serde_json::Value::Null);
    let reply = app.get("/rates/latest/")?;
    assert_eq!(reply.status, 404);
    assert_eq!(reply.error_code()?, "no_rates_held");
    let reply = app.get("/rates/2024-01-02/")?;
    assert_eq!(reply.error_code()?, "date_not_found");
    assert!(reply.json()?["error"].get("nearest_date").is_none());
    let reply = app.get("/currencies/")?;
    assert_eq!(
        (reply.status, reply.body.as_str()),
        (200, r#"{"symbols":{}}"#)
    );
    Ok(())
}

#[test]
fn head_is_answered_like_get_without_a_body() -> TestResult {
    let app = spawn_app()?;
    let reply = app.request("HEAD", "/rates/2024-01-02/", &[])?;
    assert_eq!(reply.status, 200);
    assert!(reply.body.is_empty());
    assert!(reply.header("etag").is_some());
    Ok(())
}

#[test]
fn the_state_is_one_cloneable_object() -> TestResult {
    let database = rates_store::testing::TestDatabase::sqlite()?;
    let state = ApiState::start(database.store().clone(), ApiConfig::default())?;
    let copy = state.clone();
    assert_eq!(copy.config(), state.config());
    Ok(())
}

#[test]
fn converted_amounts_keep_ten_digits_at_the_ends_of_the_range() -> TestResult {
    let app = spawn_app()?;
    for (amount, result) in [
        ("1e100", "1e+100"),
        ("1e-20", "1e-20"),
        ("123456789012345e290", "1.23456789e+304"),
    ] {
        let reply = app.get(&format!(
            "/convert?from=USD&to=USD&amount={amount}&date=2024-01-02"
        ))?;
        assert_eq!(reply.status, 200, "{amount}: {}", reply.body);
        assert!(
            reply.body.ends_with(&format!(r#""result":{result}}}"#)),
            "{amount}: {}",
            reply.body
        );
    }
    Ok(())
}
