//! ETag, Last-Modified, Cache-Control and 304s; corrected values reach clients within a second.

use std::time::{Duration, SystemTime};

use actix_web::http::header::HttpDate;
use rates_domain::{parse_date, Currency, RateTable, Source};

use crate::helpers::{databases, spawn_app, spawn_app_with_sample, TestApp, TestResult};

#[test]
fn answers_carry_validators_and_freshness() -> TestResult {
    let app = spawn_app()?;
    let reply = app.get("/rates/2024-01-02/")?;
    let etag = reply.header("etag").ok_or("no etag")?;
    assert!(
        etag.starts_with('"') && etag.ends_with('"') && etag.len() == 34,
        "{etag}"
    );
    assert_eq!(reply.header("cache-control"), Some("public, max-age=86400"));
    // Last-Modified is when the stored values last changed.
    let stored = app
        .store()
        .rate_table(parse_date("2024-01-02")?, Currency::EUR)?
        .ok_or("not stored")?;
    let expected = HttpDate::from(SystemTime::from(stored.last_changed)).to_string();
    assert_eq!(reply.header("last-modified"), Some(expected.as_str()));
    let latest = app.get("/rates/latest/")?;
    assert_eq!(latest.header("cache-control"), Some("public, max-age=60"));
    let range = app.get("/rates/2024-01-01..2024-01-05/")?;
    assert_eq!(range.header("cache-control"), Some("public, max-age=86400"));
    assert!(range.header("etag").is_some() && range.header("last-modified").is_some());
    let convert = app.get("/convert?from=USD&to=GBP&amount=1&date=2024-01-02")?;
    assert!(convert.header("etag").is_some());
    Ok(())
}

#[test]
fn etags_differ_per_content_and_are_stable() -> TestResult {
    let app = spawn_app()?;
    let first = app.get("/rates/2024-01-02/")?;
    let again = app.get("/rates/2024-01-02")?;
    let other_base = app.get("/rates/2024-01-02/?base=USD")?;
    let other_day = app.get("/rates/2024-01-03/")?;
    assert_eq!(first.header("etag"), again.header("etag"));
    assert_ne!(first.header("etag"), other_base.header("etag"));
    assert_ne!(first.header("etag"), other_day.header("etag"));
    Ok(())
}

#[test]
fn if_none_match_and_if_modified_since_get_304() -> TestResult {
    let app = spawn_app()?;
    let reply = app.get("/rates/2024-01-02/?symbols=USD")?;
    let etag = reply.header("etag").ok_or("no etag")?.to_owned();
    let modified = reply
        .header("last-modified")
        .ok_or("no last-modified")?
        .to_owned();

    let not_modified = app.get_with(
        "/rates/2024-01-02/?symbols=USD",
        &[("If-None-Match", &etag)],
    )?;
    assert_eq!(not_modified.status, 304);
    assert!(not_modified.body.is_empty());
    assert_eq!(not_modified.header("etag"), Some(etag.as_str()));
    assert_eq!(
        not_modified.header("cache-control"),
        Some("public, max-age=86400")
    );

    let weak = format!("W/{etag}");
    assert_eq!(
        app.get_with(
            "/rates/2024-01-02/?symbols=USD",
            &[("If-None-Match", &weak)]
        )?
        .status,
        304
    );
    let changed = app.get_with(
        "/rates/2024-01-02/?symbols=USD",
        &[("If-None-Match", "\"other\"")],
    )?;
    assert_eq!(changed.status, 200);

    let since = app.get_with(
        "/rates/2024-01-02/?symbols=USD",
        &[("If-Modified-Since", &modified)],
    )?;
    assert_eq!(since.status, 304);
    let before =
        HttpDate::from(SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000)).to_string();
    let older = app.get_with(
        "/rates/2024-01-02/?symbols=USD",
        &[("If-Modified-Since", &before)],
    )?;
    assert_eq!(older.status, 200);
    Ok(())
}

#[test]
fn errors_are_never_cached() -> TestResult {
    let app = spawn_app()?;
    let reply = app.get("/rates/2024-01-06/")?;
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert!(reply.header("etag").is_none());
    Ok(())
}

#[test]
fn a_corrected_value_changes_the_body_and_the_etag_within_a_second() -> TestResult {
    for database in databases()? {
        let app = spawn_app_with_sample(database)?;
        let before = app.get("/rates/2024-01-02/?symbols=USD")?;
        assert_eq!(before.json()?["rates"]["USD"], 1.0956);
        let range_before = app.get("/rates/2024-01-01..2024-01-03/?symbols=USD")?;
        // Every currency in another base: written from days kept once rendered.
        let rebased_range = "/rates/2024-01-01..2024-01-04/?base=GBP";
        let rebased_before = app.get(rebased_range)?;
        correct_usd_on_2024_01_02(&app)?;
        let after = app.get("/rates/2024-01-02/?symbols=USD")?;
        assert!(after.body.contains(r#""USD":1.0957"#), "{}", after.body);
        assert_ne!(before.header("etag"), after.header("etag"));
        let revalidated = app.get_with(
            "/rates/2024-01-02/?symbols=USD",
            &[("If-None-Match", before.header("etag").ok_or("no etag")?)],
        )?;
        assert_eq!(revalidated.status, 200, "the old ETag no longer matches");
        let range_after = app.get("/rates/2024-01-01..2024-01-03/?symbols=USD")?;
        assert_ne!(range_before.header("etag"), range_after.header("etag"));
        assert!(range_after.body.contains(r#""2024-01-02":{"USD":1.0957}"#));
        let rebased_after = app.get(rebased_range)?;
        assert_ne!(rebased_before.header("etag"), rebased_after.header("etag"));
        let (before, after) = (rebased_before.json()?, rebased_after.json()?);
        assert_ne!(before["rates"]["2024-01-02"], after["rates"]["2024-01-02"]);
        assert_eq!(
            after["rates"]["2024-01-02"],
            app.get("/rates/2024-01-02/?base=GBP")?.json()?["rates"],
            "the corrected day, as a day answer computes it"
        );
        for unchanged in ["2024-01-03", "2024-01-04"] {
            assert_eq!(before["rates"][unchanged], after["rates"][unchanged]);
        }
        // A day that did not exist appears too.
        let new_day =
            RateTable::from_raw(parse_date("2024-01-11")?, Currency::EUR, [("USD", 1.1)])?;
        app.store().upsert_rate_table(&new_day, Source::Fixer)?;
        app.wait_until_current()?;
        assert_eq!(app.get("/rates/latest/")?.json()?["date"], "2024-01-11");
    }
    Ok(())
}

#[test]
fn repeated_answers_come_from_the_cache() -> TestResult {
    let app = spawn_app()?;
    let first = app.get("/rates/2024-01-02/?base=USD")?;
    let renders = app.state.cache().renders();
    let cached = app.get("/rates/2024-01-02/?base=usd")?;
    assert_eq!(first.body, cached.body);
    assert_eq!(first.header("etag"), cached.header("etag"));
    assert_eq!(app.state.cache().renders(), renders, "not computed again");
    Ok(())
}

#[test]
fn a_url_asked_again_gets_the_same_answer_without_routing_and_only_plain_requests_do() -> TestResult
{
    let app = spawn_app()?;
    let url = "/rates/2024-01-02/?symbols=USD,GBP";
    let first = app.get(url)?;
    let reused = app.state.reused_answers();
    // Kept from its second answer on, which the answer cache gives: a URL asked for once is
    // not kept.
    let second = app.get(url)?;
    assert_eq!(app.state.reused_answers(), reused, "routed the second time");
    assert_eq!(second.body, first.body);
    let again = app.get(url)?;
    assert_eq!(app.state.reused_answers(), reused + 1, "answered again");
    assert_eq!((again.status, &again.body), (200, &first.body));
    for header in [
        "etag",
        "last-modified",
        "cache-control",
        "content-type",
        "vary",
    ] {
        assert_eq!(again.header(header), first.header(header), "{header}");
    }
    assert!(again.header("x-request-id").is_some());
    assert_ne!(again.header("x-request-id"), first.header("x-request-id"));

    // What depends on the request's own headers goes through the routes every time.
    let from_browser = app.get_with(url, &[("Origin", "https://example.com")])?;
    assert_eq!(
        from_browser.header("access-control-allow-origin"),
        Some("*")
    );
    let etag = first.header("etag").ok_or("no etag")?;
    let revalidated = app.get_with(url, &[("If-None-Match", etag)])?;
    assert_eq!(revalidated.status, 304);
    let csv = app.get_with(url, &[("Accept", "text/csv")])?;
    assert!(csv
        .header("content-type")
        .is_some_and(|kind| kind.starts_with("text/csv")));
    assert!(csv.body.starts_with("date,"), "{}", csv.body);
    assert_eq!(app.state.reused_answers(), reused + 1);

    // Errors are never answered again from memory.
    for _ in 0..2 {
        assert_eq!(app.get("/rates/2024-01-06/")?.status, 404);
    }
    assert_eq!(app.state.reused_answers(), reused + 1);

    // A write makes the kept answers stale: the next request computes from the new snapshot.
    correct_usd_on_2024_01_02(&app)?;
    let after = app.get(url)?;
    assert!(after.body.contains(r#""USD":1.0957"#), "{}", after.body);
    assert_eq!(app.state.reused_answers(), reused + 1);
    Ok(())
}

/// A source revises one value (USD on 2024-01-02, 1.0956 to 1.0957) and the app sees it.
fn correct_usd_on_2024_01_02(app: &TestApp) -> TestResult {
    let corrected = RateTable::from_raw(
        parse_date("2024-01-02")?,
        Currency::EUR,
        [("USD", 1.0957), ("GBP", 0.86645)],
    )?;
    app.store().upsert_rate_table(&corrected, Source::Fixer)?;
    app.wait_until_current()?;
    Ok(())
}
