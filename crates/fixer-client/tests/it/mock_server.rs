//! The mock itself: strictness, auth modes, overrides, concurrency, shutdown.

use std::net::TcpStream;
use std::time::Duration;

use fixer_client::mock::{MockFixer, MockHost, DEFAULT_MOCK_KEY};
use fixer_client::RatesOptions;
use serde_json::Value;

use crate::helpers::{code, day, TestResult};

/// A raw GET, bypassing the client's own checks.
fn raw(url: &str) -> Result<(u16, Value), Box<dyn std::error::Error>> {
    let response = match ureq::get(url).call() {
        Ok(response) => response,
        Err(ureq::Error::Status(_, response)) => response,
        Err(other) => return Err(other.into()),
    };
    let status = response.status();
    Ok((status, response.into_json()?))
}

fn error_code(body: &Value) -> Option<i64> {
    body.get("error")?.get("code")?.as_i64()
}

#[test]
fn parameters_are_checked_strictly() -> TestResult {
    let mock = MockFixer::start();
    let base = format!(
        "{}/timeseries?access_key={DEFAULT_MOCK_KEY}",
        mock.base_url()
    );
    let cases = [
        ("", 501),
        ("&start_date=2024-03-01&end_data=2024-03-05", 503),
        ("&start_date=2024-3-1&end_date=2024-03-05", 502),
        ("&start_date=2024-03-05&end_date=2024-03-01", 504),
        ("&start_date=2023-01-01&end_date=2024-01-01", 505),
        ("&start_date=2020-01-01&end_date=2020-01-31", 106),
        (
            "&start_date=2024-03-01&end_date=2024-03-05&symbols=USD,US",
            202,
        ),
        ("&start_date=2024-03-01&end_date=2024-03-05&base=EURO", 201),
        ("&start_date=2024-03-01&end_date=2024-03-05&limit=3", 400),
        (
            "&start_date=2024-03-01&end_date=2024-03-05&base=USD&base=GBP",
            400,
        ),
    ];
    for (query, expected) in cases {
        let (_, body) = raw(&format!("{base}{query}"))?;
        assert_eq!(error_code(&body), Some(expected), "{query}: {body}");
    }
    let (status, body) = raw(&format!(
        "{base}&start_date=2024-03-01&end_date=2024-03-02&format=1"
    ))?;
    assert_eq!((status, body["timeseries"].as_bool()), (200, Some(true)));
    let (_, body) = raw(&format!(
        "{}/convert?access_key={DEFAULT_MOCK_KEY}&from=EUR&to=USD&amount=0",
        mock.base_url()
    ))?;
    assert_eq!(error_code(&body), Some(403));
    let (_, body) = raw(&format!(
        "{}/2024-02-30?access_key={DEFAULT_MOCK_KEY}",
        mock.base_url()
    ))?;
    assert_eq!(error_code(&body), Some(302));
    Ok(())
}

#[test]
fn both_auth_modes_are_understood() -> TestResult {
    let classic = MockFixer::start();
    let (status, body) = raw(&format!("{}/latest", classic.base_url()))?;
    assert_eq!(
        (status, body["error"]["type"].as_str()),
        (200, Some("missing_access_key"))
    );
    let (_, body) = raw(&format!("{}/latest?access_key=nope", classic.base_url()))?;
    assert_eq!(body["error"]["type"].as_str(), Some("invalid_access_key"));

    let apilayer = MockFixer::builder().host(MockHost::ApiLayer).start();
    assert!(apilayer.base_url().ends_with("/fixer"));
    let (status, body) = raw(&format!("{}/latest", apilayer.base_url()))?;
    assert_eq!(
        (status, body["message"].as_str()),
        (401, Some("No API key found in request"))
    );
    let (status, body) = raw(&format!(
        "{}/latest?apikey={DEFAULT_MOCK_KEY}",
        apilayer.base_url()
    ))?;
    assert_eq!((status, body["success"].as_bool()), (200, Some(true)));
    let response = ureq::get(&format!("{}/symbols", apilayer.base_url()))
        .set("apikey", DEFAULT_MOCK_KEY)
        .call()?;
    assert!(response.header("x-ratelimit-remaining-month").is_some());
    let (status, body) = raw(&format!(
        "http://{}/other",
        apilayer
            .base_url()
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap_or("")
    ))?;
    assert_eq!(
        (status, body["message"].as_str()),
        (404, Some("no Route matched with those values"))
    );
    Ok(())
}

#[test]
fn overridden_rates_are_served_and_carried_forward() -> TestResult {
    let mock = MockFixer::start();
    mock.override_rate(day("2024-03-15")?, code("USD"), 2.5);
    let client = mock.client();
    let friday = client.historical(day("2024-03-15")?, &RatesOptions::new())?;
    let sunday = client.historical(day("2024-03-17")?, &RatesOptions::new())?;
    let thursday = client.historical(day("2024-03-14")?, &RatesOptions::new())?;
    assert_eq!(
        (friday.rates[&code("USD")], sunday.rates[&code("USD")]),
        (2.5, 2.5)
    );
    assert_eq!(thursday.rates[&code("USD")], 1.0925);
    let in_usd = client.historical(day("2024-03-15")?, &RatesOptions::new().base(code("USD")))?;
    assert_eq!(in_usd.rates[&fixer_client::CurrencyCode::EUR], 0.4);
    assert_eq!(mock.eur_rate(day("2024-03-16")?, code("USD")), Some(2.5));
    Ok(())
}

#[test]
fn serves_requests_concurrently() -> TestResult {
    let mock = MockFixer::builder()
        .delay(Duration::from_millis(150))
        .start();
    let client = mock.client();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (1..=4)
            .map(|n| {
                let client = client.clone();
                scope.spawn(move || {
                    client
                        .historical(
                            time::Date::from_calendar_date(2024, time::Month::March, n)?,
                            &RatesOptions::new(),
                        )
                        .map_err(|e| e.to_string())
                        .map(|_| ())
                        .map_err(Into::into)
                })
            })
            .collect();
        handles.into_iter().try_for_each(|h| {
            h.join()
                .map_err(|_| "thread panicked".to_owned())?
                .map_err(|e: Box<dyn std::error::Error + Send + Sync>| e.to_string())
        })
    })?;
    assert_eq!(mock.total_requests(), 4);
    assert_eq!(mock.peak_concurrency(), 4, "the four requests overlapped");
    Ok(())
}

#[test]
fn stops_listening_when_dropped() -> TestResult {
    let mock = MockFixer::start();
    let address = mock
        .base_url()
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or("")
        .to_owned();
    TcpStream::connect(&address)?;
    drop(mock);
    assert!(
        TcpStream::connect(&address).is_err(),
        "still listening on {address}"
    );
    Ok(())
}

#[test]
fn exposes_its_data_range_and_today() -> TestResult {
    let mock = MockFixer::builder().today(day("2024-04-01")?).start();
    assert_eq!(mock.first_date(), day("2024-01-02")?);
    assert_eq!(mock.last_date(), day("2026-10-30")?);
    assert_eq!(mock.today(), day("2024-04-01")?);
    assert!(mock.business_days().contains(&day("2024-03-15")?));
    assert!(!mock.business_days().contains(&day("2024-03-16")?));
    mock.set_today(None);
    assert_eq!(mock.today(), time::OffsetDateTime::now_utc().date());
    Ok(())
}
