//! `as_of` on `/rates`, `/convert` and `/fluctuation`, and `/rates/{date}/revisions`: after a
//! re-ingest corrects a value, earlier instants answer the old value and later ones the new, on
//! both backends.

use std::time::{Duration, Instant};

use rates_domain::{Currency, RateTable, Source};
use time::format_description::well_known::Rfc3339;
use time::macros::date;
use time::OffsetDateTime;

use crate::helpers::{databases, spawn_app_with_sample, TestApp, TestResult};

fn rfc3339(instant: OffsetDateTime) -> TestResult<String> {
    Ok(instant.format(&Rfc3339)?)
}

/// `as_of=` for a query string (`+` would read as a space).
fn as_of(instant: OffsetDateTime) -> TestResult<String> {
    Ok(rfc3339(instant)?.replace('+', "%2B"))
}

/// Waits until the app serves `usd` for 2024-01-02 (writes reach memory within a refresh).
fn wait_for_usd(app: &TestApp, usd: f64) -> TestResult {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(3) {
        let body = app.get("/rates/2024-01-02/?symbols=USD")?.json()?;
        if body.pointer("/rates/USD").and_then(|value| value.as_f64()) == Some(usd) {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(format!("USD {usd} never served").into())
}

#[test]
fn a_corrected_value_is_answered_old_before_the_correction_and_new_after() -> TestResult {
    for database in databases()? {
        let loaded_before = OffsetDateTime::now_utc();
        std::thread::sleep(Duration::from_millis(5));
        let app = spawn_app_with_sample(database)?;
        std::thread::sleep(Duration::from_millis(5));
        let before = OffsetDateTime::now_utc();
        std::thread::sleep(Duration::from_millis(5));

        // A re-ingest brings a corrected USD for 2024-01-02 (stored 1.0956).
        let corrected = RateTable::from_raw(
            date!(2024 - 01 - 02),
            Currency::EUR,
            [("USD", 1.2), ("GBP", 0.86645)],
        )?;
        let counts = app.store().upsert_rate_table(&corrected, Source::Fixer)?;
        assert_eq!((counts.updated, counts.unchanged), (1, 1));
        std::thread::sleep(Duration::from_millis(5));
        let after = OffsetDateTime::now_utc();
        wait_for_usd(&app, 1.2)?;

        let usd_on = |instant: OffsetDateTime| -> TestResult<serde_json::Value> {
            let reply = app.get(&format!(
                "/rates/2024-01-02/?symbols=USD&as_of={}",
                as_of(instant)?
            ))?;
            assert_eq!(reply.status, 200, "{}", reply.body);
            Ok(reply.json()?["rates"]["USD"].clone())
        };
        assert_eq!(usd_on(before)?, 1.0956);
        assert_eq!(usd_on(after)?, 1.2);
        // An offset other than Z names the same instant.
        let in_paris = before.to_offset(time::macros::offset!(+1));
        assert_eq!(usd_on(in_paris)?, 1.0956);

        // Before anything was stored, the day was not held.
        let reply = app.get(&format!(
            "/rates/2024-01-02/?as_of={}",
            as_of(loaded_before)?
        ))?;
        assert_eq!(reply.status, 404, "{}", reply.body);
        assert_eq!(reply.error_code()?, "date_not_found");

        // Ranges, CSV and latest follow the same instant.
        let range = app
            .get(&format!(
                "/rates/2024-01-01..2024-01-03/?symbols=USD&as_of={}",
                as_of(before)?
            ))?
            .json()?;
        assert_eq!(range["rates"]["2024-01-02"]["USD"], 1.0956);
        let csv = app.get(&format!(
            "/rates/2024-01-02/?symbols=USD&format=csv&as_of={}",
            as_of(before)?
        ))?;
        assert_eq!(
            csv.body,
            "date,base,currency,rate\n2024-01-02,EUR,USD,1.0956\n"
        );
        let csv_now = app.get("/rates/2024-01-02/?symbols=USD&format=csv")?;
        assert_ne!(csv.header("etag"), csv_now.header("etag"));

        // /convert and /fluctuation.
        let convert = |instant: OffsetDateTime| -> TestResult<serde_json::Value> {
            app.get(&format!(
                "/convert?from=EUR&to=USD&amount=10&date=2024-01-02&as_of={}",
                as_of(instant)?
            ))?
            .json()
        };
        assert_eq!(convert(before)?["rate"], 1.0956);
        assert_eq!(convert(before)?["result"], 10.956);
        assert_eq!(convert(after)?["rate"], 1.2);
        let fluctuation = |instant: OffsetDateTime| -> TestResult<serde_json::Value> {
            app.get(&format!(
                "/fluctuation?start_date=2024-01-02&end_date=2024-01-03&symbols=USD&as_of={}",
                as_of(instant)?
            ))?
            .json()
        };
        assert_eq!(fluctuation(before)?["rates"]["USD"]["start_rate"], 1.0956);
        assert_eq!(fluctuation(after)?["rates"]["USD"]["start_rate"], 1.2);

        // The revisions list both values with the instants of the load and the correction.
        let reply = app.get("/rates/2024-01-02/revisions?symbols=USD,GBP")?;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let body = reply.json()?;
        assert_eq!(body["date"], "2024-01-02");
        assert_eq!(body["base"], "EUR");
        let stored = app
            .store()
            .revisions(date!(2024 - 01 - 02), Currency::EUR, Currency::USD)?;
        let [replaced] = stored.as_slice() else {
            return Err(format!("{stored:?}").into());
        };
        let loaded_at = rfc3339(replaced.served_from)?;
        let corrected_at = rfc3339(replaced.served_until)?;
        assert!(loaded_before < replaced.served_from && replaced.served_from < before);
        assert!(before < replaced.served_until && replaced.served_until < after);
        assert_eq!(
            body["revisions"]["USD"],
            serde_json::json!([
                {"rate": 1.0956, "valid_from": loaded_at, "valid_to": corrected_at},
                {"rate": 1.2, "valid_from": corrected_at, "valid_to": null},
            ])
        );
        assert_eq!(
            body["revisions"]["GBP"],
            serde_json::json!([{"rate": 0.86645, "valid_from": loaded_at, "valid_to": null}])
        );
        assert_eq!(body["revisions"].as_object().map(|all| all.len()), Some(2));
        let all = app.get("/rates/2024-01-02/revisions/")?.json()?;
        assert_eq!(all["revisions"].as_object().map(|all| all.len()), Some(30));
    }
    Ok(())
}

#[test]
fn revisions_and_as_of_refuse_bad_input() -> TestResult {
    for database in databases()? {
        let app = spawn_app_with_sample(database)?;
        let cases = [
            ("/rates/2024-01-06/revisions", 404, "date_not_found"),
            (
                "/rates/2024-01-02/revisions?symbols=EEK",
                404,
                "currency_not_found",
            ),
            (
                "/rates/2024-01-02/revisions?format=csv",
                400,
                "invalid_query",
            ),
            ("/rates/2024-01-02/history", 404, "route_not_found"),
            ("/rates/2024-01-02/revisions/more", 404, "route_not_found"),
            (
                "/rates/2024-01-02/?as_of=2024-01-02T10:00:00",
                400,
                "invalid_as_of",
            ),
            (
                "/rates/2024-01-02/?as_of=3000-01-01T00:00:00Z",
                400,
                "invalid_as_of",
            ),
            (
                "/convert?from=EUR&to=USD&amount=1&as_of=tomorrow",
                400,
                "invalid_as_of",
            ),
        ];
        for (path, status, code) in cases {
            let reply = app.get(path)?;
            assert_eq!(reply.status, status, "{path}: {}", reply.body);
            assert_eq!(reply.error_code()?, code, "{path}");
        }
    }
    Ok(())
}
