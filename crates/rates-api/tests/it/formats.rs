//! CSV and NDJSON on `/rates`: negotiation, bodies, validators and errors, on both backends.

use std::time::{Duration, Instant};

use rates_domain::{Currency, RateTable, Source};
use time::macros::date;

use crate::helpers::{databases, spawn_app, spawn_app_with_sample, Reply, TestApp, TestResult};

/// Asks `path` until `done` holds for the answer or two seconds pass (writes reach the
/// in-memory rates within a refresh).
fn eventually(app: &TestApp, path: &str, done: impl Fn(&Reply) -> bool) -> TestResult<Reply> {
    let started = Instant::now();
    loop {
        let reply = app.get(path)?;
        if done(&reply) || started.elapsed() > Duration::from_secs(2) {
            return Ok(reply);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn accept_or_format_choose_csv_and_ndjson_and_answers_vary_on_accept() -> TestResult {
    for database in databases()? {
        let app = spawn_app_with_sample(database)?;
        let path = "/rates/2024-01-02/?symbols=USD,GBP";
        let csv = app.get_with(path, &[("Accept", "text/csv")])?;
        assert_eq!(csv.status, 200, "{}", csv.body);
        assert_eq!(csv.header("content-type"), Some("text/csv; charset=utf-8"));
        assert_eq!(
            csv.body,
            "date,base,currency,rate\n2024-01-02,EUR,GBP,0.86645\n2024-01-02,EUR,USD,1.0956\n"
        );
        assert!(
            csv.header("vary")
                .is_some_and(|vary| vary.to_ascii_lowercase().contains("accept")),
            "{:?}",
            csv.headers
        );

        let ndjson = app.get_with(&format!("{path}&format=ndjson"), &[("Accept", "text/csv")])?;
        assert_eq!(ndjson.header("content-type"), Some("application/x-ndjson"));
        assert_eq!(
            ndjson.body,
            "{\"date\":\"2024-01-02\",\"base\":\"EUR\",\"rates\":{\"GBP\":0.86645,\"USD\":1.0956}}\n"
        );

        let json = app.get_with(&format!("{path}&format=json"), &[("Accept", "text/csv")])?;
        assert_eq!(json.header("content-type"), Some("application/json"));
        assert_eq!(json.json()?["rates"]["USD"], 1.0956);
        assert!(json
            .header("vary")
            .is_some_and(|vary| vary.to_ascii_lowercase().contains("accept")));

        let browser = app.get_with(path, &[("Accept", "text/html,*/*;q=0.8")])?;
        assert_eq!(browser.header("content-type"), Some("application/json"));
    }
    Ok(())
}

#[test]
fn a_range_streams_one_line_per_day_or_value_in_date_order() -> TestResult {
    let app = spawn_app()?;
    let ndjson = app.get("/rates/2023-12-28..2024-01-03/?format=ndjson&symbols=USD")?;
    assert_eq!(ndjson.status, 200, "{}", ndjson.body);
    let days: Vec<serde_json::Value> = ndjson
        .body
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    let dates: Vec<&str> = days.iter().filter_map(|day| day["date"].as_str()).collect();
    assert_eq!(
        dates,
        ["2023-12-28", "2023-12-29", "2024-01-02", "2024-01-03"]
    );
    assert_eq!(days[1]["rates"], serde_json::json!({"USD": 1.105}));
    assert!(days.iter().all(|day| day["base"] == "EUR"));

    let csv = app.get("/rates/2023-12-28..2024-01-03/?format=csv&base=USD&symbols=EUR,GBP")?;
    let json = app
        .get("/rates/2023-12-28..2024-01-03/?base=USD&symbols=EUR,GBP")?
        .json()?;
    let mut lines = csv.body.lines();
    assert_eq!(lines.next(), Some("date,base,currency,rate"));
    let mut rows = 0;
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        let [date, base, currency, rate] = cells.as_slice() else {
            return Err(format!("bad row {line}").into());
        };
        assert_eq!(*base, "USD");
        let expected = &json["rates"][*date][*currency];
        assert_eq!(
            rate.parse::<f64>()?,
            expected.as_f64().ok_or("no value")?,
            "{line}"
        );
        rows += 1;
    }
    assert_eq!(rows, 4 * 2, "EUR and GBP on four days");
    Ok(())
}

#[test]
fn streamed_formats_have_no_range_cap_while_daily_json_keeps_it() -> TestResult {
    let app = spawn_app()?;
    let path = "/rates/1999-01-01..2026-12-31/";
    let csv = app.get(&format!("{path}?format=csv&symbols=USD"))?;
    assert_eq!(csv.status, 200, "{}", csv.body);
    assert_eq!(csv.body.lines().count(), 1 + 12, "every day of the sample");
    let ndjson = app.get_with(path, &[("Accept", "application/x-ndjson")])?;
    assert_eq!(ndjson.status, 200);
    assert_eq!(ndjson.body.lines().count(), 12);
    let json = app.get(path)?;
    assert_eq!(json.status, 400);
    assert_eq!(json.error_code()?, "range_too_long");
    Ok(())
}

#[test]
fn streamed_answers_have_content_etags_and_answer_304() -> TestResult {
    for database in databases()? {
        let app = spawn_app_with_sample(database)?;
        let path = "/rates/2023-12-27..2024-01-10/?format=csv";
        let first = app.get(path)?;
        let etag = first.header("etag").ok_or("no etag")?.to_owned();
        assert!(first.header("last-modified").is_some());
        assert_eq!(first.header("cache-control"), Some("public, max-age=86400"));
        assert_eq!(app.get(path)?.header("etag"), Some(etag.as_str()));

        let again = app.get_with(path, &[("If-None-Match", &etag)])?;
        assert_eq!(again.status, 304);
        assert!(again.body.is_empty());
        assert_eq!(again.header("etag"), Some(etag.as_str()));
        let modified = first.header("last-modified").ok_or("no last-modified")?;
        let since = app.get_with(path, &[("If-Modified-Since", modified)])?;
        assert_eq!(since.status, 304);

        let ndjson = app.get("/rates/2023-12-27..2024-01-10/?format=ndjson")?;
        assert_ne!(ndjson.header("etag"), Some(etag.as_str()));

        // A corrected value changes the ETag.
        let corrected = RateTable::from_raw(date!(2024 - 01 - 03), Currency::EUR, [("USD", 1.2)])?;
        app.store().upsert_rate_table(&corrected, Source::Fixer)?;
        let changed = eventually(&app, path, |reply| {
            reply.body.contains("2024-01-03,EUR,USD,1.2\n")
        })?;
        assert!(
            changed.body.contains("2024-01-03,EUR,USD,1.2\n"),
            "{}",
            changed.body
        );
        assert_ne!(changed.header("etag"), Some(etag.as_str()));
        let stale = app.get_with(path, &[("If-None-Match", &etag)])?;
        assert_eq!(stale.status, 200);
    }
    Ok(())
}

#[test]
fn bad_input_gets_a_json_error_even_when_csv_is_asked_for() -> TestResult {
    let app = spawn_app()?;
    let csv = [("Accept", "text/csv")];
    let cases = [
        ("/rates/2024-01-02/?format=xml", 400, "invalid_format"),
        ("/rates/2024-01-02/?format=CSV", 400, "invalid_format"),
        (
            "/rates/2024-01-01..2024-01-10/?group=day",
            400,
            "invalid_group",
        ),
        ("/rates/2024-01-02/?group=month", 400, "invalid_group"),
        ("/rates/latest/?format=csv&group=week", 400, "invalid_group"),
        ("/rates/2024-01-02/?as_of=yesterday", 400, "invalid_as_of"),
        ("/rates/2024-01-02/?as_of=2024-01-02", 400, "invalid_as_of"),
        (
            "/rates/2024-01-02/?as_of=2999-01-01T00:00:00Z",
            400,
            "invalid_as_of",
        ),
        (
            "/rates/2024-01-02/?format=csv&base=XYZ",
            404,
            "currency_not_found",
        ),
        (
            "/rates/2024-01-01..2024-01-10/?format=csv&base=EEK",
            404,
            "currency_not_found",
        ),
        (
            "/rates/2008-01-01..2024-01-10/?format=ndjson&symbols=EEK",
            404,
            "currency_not_found",
        ),
        (
            "/rates/2024-01-02/?format=csv&base=EURO",
            400,
            "invalid_currency",
        ),
        ("/rates/2024-01-06/?format=csv", 404, "date_not_found"),
        (
            "/rates/2020-01-01..2020-12-31/?format=csv",
            404,
            "range_not_found",
        ),
        (
            "/rates/2024-01-02/?format=csv&unknown=1",
            400,
            "invalid_query",
        ),
    ];
    for (path, status, code) in cases {
        for headers in [&csv[..], &[]] {
            let reply = app.get_with(path, headers)?;
            assert_eq!(reply.status, status, "{path}: {}", reply.body);
            assert_eq!(
                reply.header("content-type"),
                Some("application/json"),
                "{path}"
            );
            assert_eq!(reply.error_code()?, code, "{path}");
        }
    }
    let message = app
        .get("/rates/2024-01-01..2024-01-10/?group=day")?
        .error_message()?;
    assert!(message.contains("week, month or year"), "{message}");
    Ok(())
}

#[test]
fn head_answers_streamed_formats_without_a_body() -> TestResult {
    let app = spawn_app()?;
    let reply = app.request("HEAD", "/rates/2023-12-27..2024-01-10/?format=csv", &[])?;
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        Some("text/csv; charset=utf-8")
    );
    assert!(reply.header("etag").is_some());
    assert!(reply.body.is_empty());
    Ok(())
}
