//! Every endpoint, decoded from the mock's real ECB data.

use fixer_client::mock::{MockFixer, MockHost};
use fixer_client::{ConvertRequest, CurrencyCode, RatesOptions};
use time::OffsetDateTime;

use crate::helpers::{code, day, TestResult};

#[test]
fn symbols_lists_the_data_currencies_with_names() -> TestResult {
    let mock = MockFixer::start();
    let symbols = mock.client().symbols()?;
    assert_eq!(
        symbols.symbols.get(&code("USD")).map(String::as_str),
        Some("United States Dollar")
    );
    assert_eq!(
        symbols.symbols.get(&CurrencyCode::EUR).map(String::as_str),
        Some("Euro")
    );
    assert!(symbols.symbols.len() >= 30, "{}", symbols.symbols.len());
    assert_eq!(mock.request_count("symbols"), 1);
    Ok(())
}

#[test]
fn historical_returns_the_ecb_rates_of_the_day() -> TestResult {
    let mock = MockFixer::start();
    let rates = mock
        .client()
        .historical(day("2024-03-15")?, &RatesOptions::new())?;
    assert_eq!(rates.date, day("2024-03-15")?);
    assert_eq!(rates.base, CurrencyCode::EUR);
    assert!(rates.historical);
    assert_eq!(rates.rates[&code("USD")], 1.0892);
    assert_eq!(rates.rates[&code("JPY")], 162.03);
    assert_eq!(rates.rates[&code("GBP")], 0.8541);
    assert_eq!(
        rates.rates[&CurrencyCode::EUR],
        1.0,
        "base-to-self arrives as the integer 1"
    );
    let stamp = rates.timestamp.ok_or("no timestamp")?;
    assert_eq!(
        (stamp.date(), stamp.hour(), stamp.minute()),
        (day("2024-03-15")?, 23, 59)
    );
    assert_eq!(mock.request_count("2024-03-15"), 1);
    Ok(())
}

#[test]
fn a_weekend_gets_friday_rates_under_its_own_date() -> TestResult {
    let mock = MockFixer::start();
    let saturday = mock
        .client()
        .historical(day("2024-03-16")?, &RatesOptions::new())?;
    assert_eq!(saturday.date, day("2024-03-16")?);
    assert_eq!(saturday.rates[&code("USD")], 1.0892);
    Ok(())
}

#[test]
fn base_and_symbols_select_and_rebase() -> TestResult {
    let mock = MockFixer::start();
    let options = RatesOptions::new()
        .base(code("USD"))
        .symbols([CurrencyCode::EUR, code("GBP")]);
    let rates = mock.client().historical(day("2024-03-15")?, &options)?;
    assert_eq!(rates.base, code("USD"));
    assert_eq!(
        rates.rates.keys().copied().collect::<Vec<_>>(),
        vec![CurrencyCode::EUR, code("GBP")]
    );
    assert_eq!(
        rates.rates[&CurrencyCode::EUR],
        0.918105,
        "1 / 1.0892 to 6 places"
    );
    assert_eq!(
        rates.rates[&code("GBP")],
        0.784154,
        "0.8541 / 1.0892 to 6 places"
    );
    Ok(())
}

#[test]
fn latest_answers_for_the_mock_today() -> TestResult {
    let mock = MockFixer::builder().today(day("2024-03-17")?).start();
    let rates = mock
        .client()
        .latest(&RatesOptions::new().symbols([code("USD")]))?;
    assert_eq!(rates.date, day("2024-03-17")?);
    assert!(!rates.historical);
    assert_eq!(rates.rates.len(), 1);
    assert_eq!(rates.rates[&code("USD")], 1.0892);
    assert_eq!(mock.request_count("/latest"), 1);
    Ok(())
}

#[test]
fn dates_after_the_data_carry_its_last_business_day() -> TestResult {
    let mock = MockFixer::start();
    let today = OffsetDateTime::now_utc().date();
    let rates = mock.client().historical(today, &RatesOptions::new())?;
    assert_eq!(rates.date, today);
    assert_eq!(rates.rates[&code("USD")], 1.1172, "the 2026-10-30 rate");
    Ok(())
}

#[test]
fn convert_uses_the_rate_of_the_date() -> TestResult {
    let mock = MockFixer::builder().today(day("2024-06-30")?).start();
    let client = mock.client();
    let dated = client.convert(
        &ConvertRequest::new(CurrencyCode::EUR, code("USD"), 25.0).on(day("2024-03-15")?),
    )?;
    assert_eq!(
        (dated.from, dated.to, dated.amount),
        (CurrencyCode::EUR, code("USD"), 25.0)
    );
    assert_eq!(dated.rate, 1.0892);
    assert_eq!(dated.result, 27.23);
    assert_eq!(dated.date, day("2024-03-15")?);
    assert!(dated.historical);
    let latest = client.convert(&ConvertRequest::new(code("USD"), code("GBP"), 100.0))?;
    assert_eq!(latest.date, day("2024-06-30")?);
    assert!(!latest.historical);
    assert_eq!(latest.rate, 0.790640, "0.84638 / 1.0705");
    assert_eq!(latest.result, 79.064);
    Ok(())
}

#[test]
fn timeseries_has_every_day_of_the_range() -> TestResult {
    let mock = MockFixer::start();
    let options = RatesOptions::new().symbols([code("USD"), code("JPY")]);
    let series = mock
        .client()
        .timeseries(day("2024-03-11")?, day("2024-03-17")?, &options)?;
    assert_eq!(
        (series.start_date, series.end_date, series.base),
        (day("2024-03-11")?, day("2024-03-17")?, CurrencyCode::EUR)
    );
    assert_eq!(series.rates.len(), 7);
    assert_eq!(series.rates[&day("2024-03-14")?][&code("USD")], 1.0925);
    assert_eq!(
        series.rates[&day("2024-03-17")?][&code("USD")],
        1.0892,
        "Sunday carries Friday"
    );
    assert!(series.rates.values().all(|rates| rates.len() == 2));
    Ok(())
}

#[test]
fn fluctuation_follows_fixer_arithmetic() -> TestResult {
    let mock = MockFixer::start();
    let options = RatesOptions::new().symbols([code("USD")]);
    let change = mock
        .client()
        .fluctuation(day("2024-01-02")?, day("2024-06-28")?, &options)?;
    let usd = change.rates[&code("USD")];
    assert_eq!((usd.start_rate, usd.end_rate), (1.0956, 1.0705));
    assert_eq!(usd.change, -0.0251);
    assert_eq!(
        usd.change_pct, -2.291,
        "(1.0705 - 1.0956) / 1.0956 * 100 to 4 places"
    );
    Ok(())
}

#[test]
fn apilayer_host_sends_quota_headers_and_takes_the_header_key() -> TestResult {
    let mock = MockFixer::builder()
        .host(MockHost::ApiLayer)
        .monthly_quota(Some(50))
        .start();
    let client = mock.client();
    assert_eq!(client.auth_style(), fixer_client::AuthStyle::Header);
    let first = client.latest(&RatesOptions::new())?;
    let second = client.historical(day("2024-02-01")?, &RatesOptions::new())?;
    let quota = first.quota.ok_or("no quota on first answer")?;
    assert_eq!(
        (quota.limit_month, quota.remaining_month),
        (Some(50), Some(49))
    );
    assert_eq!(second.quota.ok_or("no quota")?.remaining_month, Some(48));
    Ok(())
}

#[test]
fn classic_host_sends_no_quota_headers() -> TestResult {
    let mock = MockFixer::start();
    assert_eq!(mock.client().latest(&RatesOptions::new())?.quota, None);
    Ok(())
}
