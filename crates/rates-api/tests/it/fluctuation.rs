//! `GET /fluctuation`: movements between the held days nearest the two dates asked for.

use crate::helpers::{databases, spawn_app, spawn_app_with_sample, TestResult};

#[test]
fn movements_use_the_nearest_held_days_and_name_them() -> TestResult {
    for database in databases()? {
        let app = spawn_app_with_sample(database)?;
        // Saturday 2023-12-30 and Sunday 2024-01-07: the Friday before each is used.
        let reply =
            app.get("/fluctuation?start_date=2023-12-30&end_date=2024-01-07&symbols=USD,GBP")?;
        assert_eq!(reply.status, 200, "{}", reply.body);
        assert_eq!(reply.header("content-type"), Some("application/json"));
        assert!(reply.header("etag").is_some());
        let body = reply.json()?;
        assert_eq!(body["base"], "EUR");
        assert_eq!(body["start_date"], "2023-12-29");
        assert_eq!(body["end_date"], "2024-01-05");
        assert_eq!(body["requested_start_date"], "2023-12-30");
        assert_eq!(body["requested_end_date"], "2024-01-07");
        // USD 1.105 -> 1.0921: change -0.0129, -1.167420814 %.
        assert_eq!(
            body["rates"]["USD"],
            serde_json::json!({"start_rate":1.105,"end_rate":1.0921,"change":-0.0129,"change_pct":-1.167420814})
        );
        // GBP 0.86905 -> 0.8621: change -0.00695, -0.7997238364 %.
        assert_eq!(
            body["rates"]["GBP"],
            serde_json::json!({"start_rate":0.86905,"end_rate":0.8621,"change":-0.00695,"change_pct":-0.7997238364})
        );
        assert_eq!(body["rates"].as_object().map(|rates| rates.len()), Some(2));
    }
    Ok(())
}

#[test]
fn another_base_and_a_start_before_the_history_begins() -> TestResult {
    let app = spawn_app()?;
    let body = app
        .get("/fluctuation?start_date=2024-01-02&end_date=2024-01-03&base=USD&symbols=EUR")?
        .json()?;
    assert_eq!(body["base"], "USD");
    // 1/1.0956 = 0.9127418766 and 1/1.0919 = 0.9158347834.
    assert_eq!(body["rates"]["EUR"]["start_rate"], 0.9127418766);
    assert_eq!(body["rates"]["EUR"]["end_rate"], 0.9158347834);
    // Nothing is held before 2008-12-31: the first day of the range stands for the start.
    let body = app
        .get("/fluctuation?start_date=2000-01-01&end_date=2009-01-02&symbols=USD")?
        .json()?;
    assert_eq!(body["start_date"], "2008-12-31");
    assert_eq!(body["end_date"], "2009-01-02");
    // Without symbols: every currency held on both days (EEK was quoted in 2009, not in 2024).
    let body = app
        .get("/fluctuation?start_date=2009-01-02&end_date=2024-01-02")?
        .json()?;
    let rates = body["rates"].as_object().ok_or("no rates")?;
    assert!(
        rates.contains_key("USD") && !rates.contains_key("EEK"),
        "{rates:?}"
    );
    Ok(())
}

#[test]
fn bad_fluctuation_requests_get_json_errors() -> TestResult {
    let app = spawn_app()?;
    let cases = [
        ("/fluctuation?start_date=2024-01-02", 400, "invalid_query"),
        ("/fluctuation?end_date=2024-01-02", 400, "invalid_query"),
        (
            "/fluctuation?start_date=2024-01-03&end_date=2024-01-02",
            400,
            "invalid_range",
        ),
        (
            "/fluctuation?start_date=2024-1-3&end_date=2024-01-05",
            400,
            "invalid_date",
        ),
        (
            "/fluctuation?start_date=2024-01-02&end_date=2024-01-05&base=EURO",
            400,
            "invalid_currency",
        ),
        (
            "/fluctuation?start_date=2024-01-02&end_date=2024-01-05&symbols=EEK",
            404,
            "currency_not_found",
        ),
        (
            "/fluctuation?start_date=2000-01-01&end_date=2000-12-31",
            404,
            "range_not_found",
        ),
        (
            "/fluctuation?start_date=2024-01-02&end_date=2024-01-05&as_of=now",
            400,
            "invalid_as_of",
        ),
        (
            "/fluctuation?start_date=2024-01-02&end_date=2024-01-05&format=csv",
            400,
            "invalid_query",
        ),
    ];
    for (path, status, code) in cases {
        let reply = app.get(path)?;
        assert_eq!(reply.status, status, "{path}: {}", reply.body);
        assert_eq!(reply.error_code()?, code, "{path}");
    }
    assert_eq!(app.request("POST", "/fluctuation", &[])?.status, 405);
    assert_eq!(
        app.get("/fluctuation/?start_date=2024-01-02&end_date=2024-01-05")?
            .status,
        200
    );
    Ok(())
}
