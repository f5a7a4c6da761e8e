//! `/api`, the Fixer-compatible API: `fixer-client` (this workspace's Fixer client, used through
//! its public API exactly as against Fixer) and a third-party client from npm read every
//! endpoint from a live server and get the native API's values; errors come as Fixer's.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::{Duration, Instant};

use fixer_client::{AccessKey, Client, ConvertRequest, CurrencyCode, RatesOptions, RetryPolicy};
use rates_api::AuthMode;
use rates_domain::{ApiKey, API_KEY_BYTES};
use rates_store::testing::TestDatabase;
use serde_json::Value;
use time::macros::date;
use time::Date;

use crate::helpers::{load_sample, spawn_app, spawn_app_on, test_config, TestApp, TestResult};

/// Where `.ci/run` installed npm's `fixer-api` (a directory holding `node_modules`).
const NPM_DIR_VAR: &str = "RATES_TEST_FIXER_NPM_DIR";
/// Set by `.ci/run`: the npm client test must run, not skip.
const REQUIRE_NPM_VAR: &str = "RATES_TEST_REQUIRE_FIXER_NPM";

fn code(text: &str) -> TestResult<CurrencyCode> {
    Ok(CurrencyCode::new(text)?)
}

/// `fixer-client` pointed at the app's `/api`, as a Fixer user would point it at Fixer.
fn client(app: &TestApp, key: &str) -> TestResult<Client> {
    Ok(Client::builder()
        .base_url(app.url("/api"))
        .access_key(AccessKey::new(key))
        .timeout(Duration::from_secs(10))
        .retry_policy(RetryPolicy::none())
        .build()?)
}

/// The native API's rates for `path`, as numbers by code.
fn native_rates(app: &TestApp, path: &str) -> TestResult<BTreeMap<String, f64>> {
    let reply = app.get(path)?;
    if reply.status != 200 {
        return Err(format!("{path}: {} {}", reply.status, reply.body).into());
    }
    rates_of(reply.json()?.get("rates").ok_or("no rates")?)
}

fn rates_of(value: &Value) -> TestResult<BTreeMap<String, f64>> {
    value
        .as_object()
        .ok_or("rates is not an object")?
        .iter()
        .map(|(code, rate)| Ok((code.clone(), rate.as_f64().ok_or("rate is not a number")?)))
        .collect()
}

fn by_code(rates: &BTreeMap<CurrencyCode, f64>) -> BTreeMap<String, f64> {
    rates
        .iter()
        .map(|(code, rate)| (code.as_str().to_owned(), *rate))
        .collect()
}

/// The native rates plus the base itself at 1, which Fixer lists and the native API does not.
fn with_base(mut rates: BTreeMap<String, f64>, base: &str) -> BTreeMap<String, f64> {
    rates.insert(base.to_owned(), 1.0);
    rates
}

/// The Fixer code of a failed call.
fn fixer_code<T: std::fmt::Debug>(result: Result<T, fixer_client::Error>) -> TestResult<i64> {
    match result {
        Ok(value) => Err(format!("expected a Fixer error, got {value:?}").into()),
        Err(error) => Ok(error
            .fixer_error()
            .ok_or_else(|| format!("not a Fixer error: {error}"))?
            .code),
    }
}

#[test]
fn fixer_client_reads_all_six_endpoints_with_the_native_values() -> TestResult {
    let app = spawn_app()?;
    let client = client(&app, "any-key-while-auth-is-off")?;
    let (usd, jpy, gbp) = (code("USD")?, code("JPY")?, code("GBP")?);

    let latest = client.latest(&RatesOptions::new())?;
    assert_eq!(latest.date, date!(2024 - 01 - 10));
    assert_eq!(latest.base.as_str(), "EUR");
    assert!(!latest.historical);
    assert_eq!(
        by_code(&latest.rates),
        with_base(native_rates(&app, "/rates/latest")?, "EUR")
    );
    let in_usd = client.latest(&RatesOptions::new().base(usd).symbols([gbp, jpy]))?;
    assert_eq!(
        by_code(&in_usd.rates),
        native_rates(&app, "/rates/latest?base=USD&symbols=GBP,JPY")?
    );

    let day = client.historical(date!(2024 - 01 - 03), &RatesOptions::new().base(usd))?;
    assert!(day.historical);
    assert_eq!(day.date, date!(2024 - 01 - 03));
    assert_eq!(
        by_code(&day.rates),
        native_rates(&app, "/rates/2024-01-03?base=USD")?
    );
    // A Saturday: Friday's rates, under the Saturday's date, as Fixer answers.
    let saturday = client.historical(date!(2024 - 01 - 06), &RatesOptions::new())?;
    assert_eq!(saturday.date, date!(2024 - 01 - 06));
    assert_eq!(
        by_code(&saturday.rates),
        with_base(native_rates(&app, "/rates/2024-01-05")?, "EUR")
    );

    let series = client.timeseries(
        date!(2023 - 12 - 27),
        date!(2024 - 01 - 10),
        &RatesOptions::new().base(gbp).symbols([usd, jpy]),
    )?;
    assert_eq!(series.base.as_str(), "GBP");
    let native = app
        .get("/rates/2023-12-27..2024-01-10?base=GBP&symbols=USD,JPY")?
        .json()?;
    let native_days = native["rates"].as_object().ok_or("native rates")?;
    for (date, native_day) in native_days {
        let date = rates_domain::parse_date(date)?;
        let ours = series.rates.get(&date).ok_or(format!("{date} missing"))?;
        assert_eq!(by_code(ours), rates_of(native_day)?, "{date}");
    }
    // Weekends and the new year carry the last business day's rates.
    let filled = |date: Date, from: Date| -> TestResult {
        let ours = series.rates.get(&date).ok_or(format!("{date} missing"))?;
        let source = series.rates.get(&from).ok_or(format!("{from} missing"))?;
        assert_eq!(ours, source, "{date}");
        Ok(())
    };
    filled(date!(2023 - 12 - 30), date!(2023 - 12 - 29))?;
    filled(date!(2024 - 01 - 01), date!(2023 - 12 - 29))?;
    filled(date!(2024 - 01 - 07), date!(2024 - 01 - 05))?;
    assert_eq!(series.rates.len(), 15, "every day of the range");

    let fluctuation = client.fluctuation(
        date!(2024 - 01 - 02),
        date!(2024 - 01 - 10),
        &RatesOptions::new().symbols([usd, jpy]),
    )?;
    let start = native_rates(&app, "/rates/2024-01-02?symbols=USD,JPY")?;
    let end = native_rates(&app, "/rates/2024-01-10?symbols=USD,JPY")?;
    for currency in ["USD", "JPY"] {
        let change = fluctuation
            .rates
            .get(&code(currency)?)
            .ok_or(format!("{currency} missing"))?;
        let (start, end) = (start[currency], end[currency]);
        assert_eq!(change.start_rate, start);
        assert_eq!(change.end_rate, end);
        let round4 = |value: f64| (value * 10_000.0).round() / 10_000.0;
        assert_eq!(change.change, round4(end - start), "{currency}");
        assert_eq!(
            change.change_pct,
            round4((end - start) / start * 100.0),
            "{currency}"
        );
    }

    let conversion =
        client.convert(&ConvertRequest::new(usd, jpy, 25.0).on(date!(2024 - 01 - 04)))?;
    let native = app
        .get("/convert?from=USD&to=JPY&amount=25&date=2024-01-04")?
        .json()?;
    assert_eq!(Some(conversion.rate), native["rate"].as_f64());
    assert_eq!(Some(conversion.result), native["result"].as_f64());
    assert_eq!(conversion.date, date!(2024 - 01 - 04));
    assert!(conversion.historical);
    let now = client.convert(&ConvertRequest::new(gbp, usd, 10.0))?;
    let native = app.get("/convert?from=GBP&to=USD&amount=10")?.json()?;
    assert_eq!(Some(now.rate), native["rate"].as_f64());
    assert_eq!(Some(now.result), native["result"].as_f64());
    assert!(!now.historical);

    let symbols = client.symbols()?;
    let native = app.get("/currencies/")?.json()?;
    let native_codes: Vec<&String> = native["symbols"]
        .as_object()
        .ok_or("native symbols")?
        .keys()
        .collect();
    let codes: Vec<&str> = symbols.symbols.keys().map(CurrencyCode::as_str).collect();
    assert_eq!(codes, native_codes);
    Ok(())
}

#[test]
fn fixer_client_gets_fixers_error_codes() -> TestResult {
    // 101: keys required, and the client's is not one of ours (or has been revoked).
    let database = TestDatabase::sqlite()?;
    load_sample(database.store())?;
    let key = ApiKey::from_random_bytes([7; API_KEY_BYTES]);
    let record = database
        .store()
        .insert_api_key("fixer clients", key.hash().as_str())?;
    let mut config = test_config();
    config.auth = AuthMode::ApiKey;
    let app = spawn_app_on(database, config)?;
    assert_eq!(
        fixer_code(client(&app, "rk_not-one-of-ours")?.latest(&RatesOptions::new()))?,
        101
    );
    let ours = client(&app, key.expose_secret())?;
    assert_eq!(
        ours.latest(&RatesOptions::new())?.date,
        date!(2024 - 01 - 10)
    );
    app.store().revoke_api_key(record.id)?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match ours.latest(&RatesOptions::new()) {
            Err(error) if error.fixer_error().map(|e| e.code) == Some(101) => break,
            _ if Instant::now() > deadline => return Err("the revoked key still works".into()),
            _ => std::thread::sleep(Duration::from_millis(50)),
        }
    }

    // 505: a server whose range cap is below Fixer's 365 days refuses what the client allows.
    let mut config = test_config();
    config.max_range_days = 31;
    let database = TestDatabase::sqlite()?;
    load_sample(database.store())?;
    let capped = spawn_app_on(database, config)?;
    let client = client(&capped, "any")?;
    let options = RatesOptions::new();
    let (start, end) = (date!(2023 - 12 - 01), date!(2024 - 01 - 10));
    assert_eq!(fixer_code(client.timeseries(start, end, &options))?, 505);
    assert_eq!(fixer_code(client.fluctuation(start, end, &options))?, 505);

    // 106: a business day nothing is held for (and no read-through).
    assert_eq!(
        fixer_code(client.historical(date!(2020 - 03 - 03), &options))?,
        106
    );
    // 202: a code that is three letters (the client sends it) but no currency held.
    assert_eq!(
        fixer_code(client.latest(&RatesOptions::new().symbols([code("USD")?, code("XQZ")?])))?,
        202
    );
    // 302: a date the client can express but that is no YYYY-MM-DD date (year -1).
    let year_minus_one = Date::from_calendar_date(-1, time::Month::January, 1)?;
    assert_eq!(
        fixer_code(client.historical(year_minus_one, &options))?,
        302
    );
    Ok(())
}

/// `(code, type)` of a Fixer error body, checking it is HTTP 200 (or `status`) with exactly
/// Fixer's envelope.
fn fixer_error(app: &TestApp, path: &str, status: u16) -> TestResult<(i64, String)> {
    let reply = app.get(path)?;
    assert_eq!(reply.status, status, "{path}: {}", reply.body);
    let body = reply.json()?;
    assert_eq!(
        body.get("success"),
        Some(&Value::Bool(false)),
        "{path}: {}",
        reply.body
    );
    let error = body
        .get("error")
        .and_then(Value::as_object)
        .ok_or("no error object")?;
    let keys: Vec<&String> = error.keys().collect();
    assert_eq!(keys, ["code", "info", "type"], "{path}");
    assert!(error.get("message").is_none());
    Ok((
        error.get("code").and_then(Value::as_i64).ok_or("code")?,
        error
            .get("type")
            .and_then(Value::as_str)
            .ok_or("type")?
            .to_owned(),
    ))
}

#[test]
fn bad_input_gets_fixers_error_never_a_native_one_or_a_5xx() -> TestResult {
    let app = spawn_app()?;
    let tomorrow = rates_domain::today_utc().next_day().ok_or("a next day")?;
    let cases: Vec<(String, i64, &str)> = vec![
        ("/api/nothing".into(), 404, "404_not_found"),
        ("/api/latest/more".into(), 404, "404_not_found"),
        ("/api/".into(), 301, "no_date_specified"),
        ("/api/2024-02-30".into(), 302, "invalid_date"),
        (
            format!("/api/{}", rates_domain::format_date(tomorrow)),
            302,
            "invalid_date",
        ),
        ("/api/2020-03-03".into(), 106, "no_rates_available"),
        ("/api/latest?base=EURO".into(), 201, "invalid_base_currency"),
        ("/api/latest?base=XQZ".into(), 201, "invalid_base_currency"),
        (
            "/api/latest?symbols=USD,XQZ".into(),
            202,
            "invalid_currency_codes",
        ),
        (
            "/api/latest?symbols=%00".into(),
            202,
            "invalid_currency_codes",
        ),
        ("/api/timeseries".into(), 501, "no_timeframe_supplied"),
        (
            "/api/timeseries?start_date=yyyy-mm-dd&end_date=2024-01-05".into(),
            502,
            "invalid_start_date",
        ),
        (
            "/api/fluctuation?start_date=2024-01-02&end_data=2024-01-05".into(),
            503,
            "invalid_end_date",
        ),
        (
            "/api/timeseries?start_date=2024-01-05&end_date=2024-01-02".into(),
            504,
            "invalid_time_frame",
        ),
        (
            "/api/timeseries?start_date=2023-01-01&end_date=2024-01-05".into(),
            505,
            "time_frame_too_long",
        ),
        (
            "/api/timeseries?start_date=1990-01-01&end_date=1990-01-05".into(),
            106,
            "no_rates_available",
        ),
        (
            "/api/convert?to=USD&amount=1".into(),
            402,
            "invalid_from_currency",
        ),
        (
            "/api/convert?from=EUR&to=XQZ&amount=1".into(),
            402,
            "invalid_to_currency",
        ),
        (
            "/api/convert?from=EUR&to=USD&amount=-3".into(),
            403,
            "invalid_conversion_amount",
        ),
        (
            "/api/convert?from=EUR&to=USD&amount=1e999".into(),
            403,
            "invalid_conversion_amount",
        ),
        (
            "/api/convert?from=EUR&to=USD&amount=1&date=01/02/2024".into(),
            302,
            "invalid_date",
        ),
    ];
    for (path, expected_code, expected_type) in &cases {
        let (code, error_type) = fixer_error(&app, path, 200)?;
        assert_eq!(
            (code, error_type.as_str()),
            (*expected_code, *expected_type),
            "{path}"
        );
    }
    let reply = app.request("POST", "/api/latest", &[])?;
    assert_eq!(reply.status, 405);
    assert_eq!(reply.json()?["success"], false);
    // Hostile bytes in the path and query: still Fixer's answers.
    for target in [
        &b"/api/%FF%FE"[..],
        b"/api/latest?base=%FF",
        b"/api/latest?symbols=USD&symbols=%ZZ",
        b"/api/convert?from=EUR&to=USD&amount=%E2%82%AC",
    ] {
        let reply = app.raw_get(target)?;
        assert_eq!(reply.status, 200, "{}", String::from_utf8_lossy(target));
        assert!(reply.body.contains("\"success\""), "{}", reply.body);
    }
    Ok(())
}

#[test]
fn bodies_have_fixers_fields() -> TestResult {
    let app = spawn_app()?;
    let latest = app.get("/api/latest?symbols=USD")?.json()?;
    let keys = |value: &Value| -> Vec<String> {
        value
            .as_object()
            .map(|object| object.keys().cloned().collect())
            .unwrap_or_default()
    };
    assert_eq!(
        keys(&latest),
        ["base", "date", "rates", "success", "timestamp"]
    );
    assert_eq!(latest["success"], true);
    assert!(latest["timestamp"].as_i64().is_some());
    let day = app.get("/api/2024-01-02?symbols=USD")?.json()?;
    assert_eq!(
        keys(&day),
        [
            "base",
            "date",
            "historical",
            "rates",
            "success",
            "timestamp"
        ]
    );
    let convert = app.get("/api/convert?from=EUR&to=USD&amount=10")?.json()?;
    assert_eq!(
        keys(&convert),
        ["date", "info", "query", "result", "success"]
    );
    assert_eq!(keys(&convert["info"]), ["rate", "timestamp"]);
    assert_eq!(convert["query"]["amount"], 10);
    let series = app
        .get("/api/timeseries?start_date=2024-01-02&end_date=2024-01-03&symbols=USD")?
        .json()?;
    assert_eq!(
        keys(&series),
        [
            "base",
            "end_date",
            "rates",
            "start_date",
            "success",
            "timeseries"
        ]
    );
    let fluctuation = app
        .get("/api/fluctuation?start_date=2024-01-02&end_date=2024-01-03&symbols=USD")?
        .json()?;
    assert_eq!(
        keys(&fluctuation["rates"]["USD"]),
        ["change", "change_pct", "end_rate", "start_rate"]
    );
    // The example of docs/api.md.
    let example = app
        .get("/api/latest?access_key=KEY&base=USD&symbols=EUR,GBP")?
        .json()?;
    assert_eq!(example["rates"]["EUR"], 0.9135757354);
    assert_eq!(example["rates"]["GBP"], 0.7858852549);
    assert_eq!(example["date"], "2024-01-10");
    let symbols = app.get("/api/symbols")?.json()?;
    assert!(symbols["symbols"]["USD"].is_string());
    let head = app.request("HEAD", "/api/latest", &[])?;
    assert_eq!((head.status, head.body.as_str()), (200, ""));
    // Unknown parameters are ignored, as Fixer ignores them; the first of a repeated one counts.
    let reply = app.get("/api/latest?format=1&callback=x&symbols=USD&symbols=JPY")?;
    assert_eq!(keys(&reply.json()?["rates"]), ["USD"]);
    Ok(())
}

#[test]
#[cfg_attr(
    not(rates_test_fixer_npm),
    ignore = "npm's fixer-api is not installed: .ci/run installs it and sets RATES_TEST_FIXER_NPM_DIR"
)]
fn a_third_party_fixer_client_from_npm_reads_from_us() -> TestResult {
    let dir = std::env::var_os(NPM_DIR_VAR)
        .filter(|dir| !dir.is_empty())
        .ok_or_else(|| format!("{REQUIRE_NPM_VAR}=1 but {NPM_DIR_VAR} is not set"))?;
    let app = spawn_app()?;
    // The package's own README usage, with its base-URL option pointed at us.
    let script = r#"
const fixer = require('fixer-api');
fixer.set({ baseUrl: process.argv[1], accessKey: 'unused-while-auth-is-off' });
(async () => {
  const latest = await fixer.latest({ symbols: ['USD', 'JPY'] });
  const day = await fixer.forDate('2024-01-03', { base: 'USD', symbols: ['GBP'] });
  const series = await fixer.timeseries('2024-01-04', '2024-01-08', { symbols: ['USD'] });
  const conversion = await fixer.convert('USD', 'JPY', 25, '2024-01-04');
  console.log(JSON.stringify({ latest, day, series, conversion }));
})().catch((error) => { console.error(String(error)); process.exit(1); });
"#;
    let output = Command::new("node")
        .arg("-e")
        .arg(script)
        .arg(app.url("/api"))
        .env("NODE_PATH", std::path::Path::new(&dir).join("node_modules"))
        .output()?;
    if !output.status.success() {
        return Err(format!("node failed: {}", String::from_utf8_lossy(&output.stderr)).into());
    }
    let seen: Value = serde_json::from_slice(&output.stdout)?;
    assert_eq!(
        rates_of(&seen["latest"]["rates"])?,
        native_rates(&app, "/rates/latest?symbols=USD,JPY")?
    );
    assert_eq!(seen["latest"]["date"], "2024-01-10");
    assert_eq!(
        rates_of(&seen["day"]["rates"])?,
        native_rates(&app, "/rates/2024-01-03?base=USD&symbols=GBP")?
    );
    let series = seen["series"]["rates"].as_object().ok_or("series rates")?;
    let dates: Vec<&String> = series.keys().collect();
    assert_eq!(
        dates,
        [
            "2024-01-04",
            "2024-01-05",
            "2024-01-06",
            "2024-01-07",
            "2024-01-08"
        ]
    );
    assert_eq!(
        rates_of(&series["2024-01-08"])?,
        native_rates(&app, "/rates/2024-01-08?symbols=USD")?
    );
    let native = app
        .get("/convert?from=USD&to=JPY&amount=25&date=2024-01-04")?
        .json()?;
    assert_eq!(seen["conversion"]["result"], native["result"]);
    assert_eq!(seen["conversion"]["info"]["rate"], native["rate"]);
    Ok(())
}

#[test]
fn identical_concurrent_requests_compute_once_and_errors_are_never_cached() -> TestResult {
    let app = spawn_app()?;
    let path = "/api/timeseries?start_date=2023-12-27&end_date=2024-01-10&base=JPY&symbols=USD,GBP";
    let renders = app.state.cache().renders();
    let url = app.url(path);
    let start = std::sync::Barrier::new(32);
    let bodies: Vec<Result<(u16, String), String>> = std::thread::scope(|scope| {
        let clients: Vec<_> = (0..32)
            .map(|_| {
                let (url, start) = (&url, &start);
                scope.spawn(move || {
                    start.wait();
                    let response = ureq::get(url)
                        .timeout(Duration::from_secs(30))
                        .call()
                        .map_err(|error| error.to_string())?;
                    let status = response.status();
                    Ok((status, response.into_string().map_err(|e| e.to_string())?))
                })
            })
            .collect();
        clients
            .into_iter()
            .map(|client| {
                client
                    .join()
                    .unwrap_or_else(|_| Err("a client thread panicked".to_owned()))
            })
            .collect()
    });
    let bodies: Vec<(u16, String)> = bodies.into_iter().collect::<Result<_, _>>()?;
    assert!(bodies.iter().all(|(status, _)| *status == 200));
    assert!(bodies.windows(2).all(|pair| pair[0] == pair[1]));
    assert_eq!(app.state.cache().renders(), renders + 1);
    app.get(path)?;
    assert_eq!(
        app.state.cache().renders(),
        renders + 1,
        "served from memory"
    );

    for _ in 0..2 {
        let reply = app.get("/api/2020-03-03")?;
        assert_eq!(reply.json()?["error"]["code"], 106);
        assert_eq!(reply.header("cache-control"), Some("no-store"));
    }
    assert_eq!(
        app.state.cache().renders(),
        renders + 3,
        "errors are rendered each time"
    );
    Ok(())
}
