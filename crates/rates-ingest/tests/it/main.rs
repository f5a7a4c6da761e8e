//! The ingest library against the mock Fixer and a real database.

use std::collections::BTreeSet;
use std::error::Error;

use fixer_client::mock::{Fault, MockFixer, Plan as FixerPlan};
use rates_domain::{Currency, DateRange};
use rates_ingest::{
    client_from_settings, DateOutcome, DateSelection, FetchStrategy, IngestError, IngestOptions,
    NamesOutcome,
};
use rates_settings::{Settings, Sources};
use rates_store::testing::TestDatabase;
use time::macros::date;
use time::Date;

type TestResult = Result<(), Box<dyn Error>>;

fn options(dates: impl IntoIterator<Item = Date>) -> IngestOptions {
    IngestOptions {
        selection: DateSelection::Dates(dates.into_iter().collect()),
        base: Currency::EUR,
        symbols: Vec::new(),
        only_missing: false,
        concurrency: 4,
    }
}

fn january(first: u8, last: u8) -> Result<Vec<Date>, Box<dyn Error>> {
    let range = DateRange::new(
        Date::from_calendar_date(2024, time::Month::January, first)?,
        Date::from_calendar_date(2024, time::Month::January, last)?,
    )?;
    Ok(range.iter().collect())
}

const TODAY: Date = date!(2026 - 11 - 28);

#[test]
fn every_date_reaches_the_callback_once_and_the_report_adds_up() -> TestResult {
    let mock = MockFixer::start();
    let db = TestDatabase::sqlite()?;
    let mut seen = Vec::new();
    let report = rates_ingest::ingest(
        &mock.client(),
        db.store(),
        &options(january(2, 11)?),
        TODAY,
        &mut |line| {
            seen.push(line.date);
        },
    )?;
    seen.sort();
    assert_eq!(seen, january(2, 11)?);
    assert!(report.succeeded());
    assert_eq!(report.strategy, FetchStrategy::Timeseries);
    assert_eq!(report.requests, 2);
    assert!(matches!(report.names, NamesOutcome::Stored(n) if n > 20));
    let stored: u64 = report
        .dates
        .iter()
        .map(|line| match line.outcome {
            DateOutcome::Stored(counts) => counts.inserted,
            DateOutcome::Failed { .. } => 0,
        })
        .sum();
    assert_eq!(report.totals.inserted, stored);
    assert!(stored > 200);

    // A second run finds the names held and asks nothing for them.
    let report = rates_ingest::ingest(
        &mock.client(),
        db.store(),
        &options(january(2, 3)?),
        TODAY,
        &mut |_| {},
    )?;
    assert_eq!(report.names, NamesOutcome::AlreadyHeld);
    assert_eq!(report.totals.unchanged, report.totals.total());
    Ok(())
}

#[test]
fn a_malformed_timeseries_answer_is_retried_day_by_day() -> TestResult {
    let mock = MockFixer::start();
    let db = TestDatabase::sqlite()?;
    mock.fail_next_on("timeseries", 1, Fault::MalformedBody);
    let report = rates_ingest::ingest(
        &mock.client(),
        db.store(),
        &options(january(2, 6)?),
        TODAY,
        &mut |_| {},
    )?;
    assert!(report.succeeded(), "{report:?}");
    assert_eq!(mock.request_count("timeseries"), 1);
    for date in ["2024-01-02", "2024-01-04", "2024-01-06"] {
        assert_eq!(mock.request_count(date), 1);
    }
    Ok(())
}

#[test]
fn dates_missing_from_a_timeseries_answer_fail_and_the_others_are_stored() -> TestResult {
    let mock = MockFixer::start();
    let db = TestDatabase::sqlite()?;
    let body = r#"{"success":true,"timeseries":true,"start_date":"2024-01-02","end_date":"2024-01-04","base":"EUR",
        "rates":{"2024-01-02":{"USD":1.0956,"GBP":0.86518},"2024-01-04":{"USD":1.0953,"GBP":0.86295}}}"#;
    mock.fail_next_on(
        "timeseries",
        1,
        Fault::Body {
            status: 200,
            body: body.to_owned(),
        },
    );
    let report = rates_ingest::ingest(
        &mock.client(),
        db.store(),
        &options(january(2, 4)?),
        TODAY,
        &mut |_| {},
    )?;
    assert_eq!(report.failed_dates(), [date!(2024 - 01 - 03)]);
    let held = db.store().dates_held(
        DateRange::new(date!(2024 - 01 - 02), date!(2024 - 01 - 04))?,
        Currency::EUR,
    )?;
    assert_eq!(
        held,
        BTreeSet::from([date!(2024 - 01 - 02), date!(2024 - 01 - 04)])
    );
    Ok(())
}

#[test]
fn planning_leaves_out_held_dates_and_refuses_the_future() -> TestResult {
    let mock = MockFixer::start().with_plan(FixerPlan::Free);
    let db = TestDatabase::sqlite()?;
    rates_ingest::ingest(
        &mock.client(),
        db.store(),
        &options([date!(2024 - 01 - 03)]),
        TODAY,
        &mut |_| {},
    )?;
    let mut wanted = options(january(2, 4)?);
    wanted.only_missing = true;
    let plan = rates_ingest::plan(&wanted, TODAY, db.store())?;
    assert_eq!(plan.dates, [date!(2024 - 01 - 02), date!(2024 - 01 - 04)]);
    assert_eq!(plan.already_held, [date!(2024 - 01 - 03)]);
    assert!(!plan.fetch_names, "names were stored by the first run");
    assert_eq!(plan.request_cost().per_date, 2);

    let future = options([date!(2026 - 11 - 29)]);
    assert!(matches!(
        rates_ingest::plan(&future, TODAY, db.store()),
        Err(IngestError::DateAfterToday { .. })
    ));
    Ok(())
}

#[test]
fn settings_build_the_options_and_the_client_and_a_missing_key_is_named() -> TestResult {
    let dir = tempfile::tempdir()?;
    let mock = MockFixer::start();
    let settings = Settings::load(
        &Sources::new(dir.path())
            .env_var("FIXER_BASE_URL", mock.base_url())
            .env_var("RATES__INGEST__SYMBOLS", "usd,gbp")
            .env_var("RATES__INGEST__DAYS", "3"),
    )?;
    let error = client_from_settings(&settings.fixer)
        .err()
        .ok_or("built a client without a key")?;
    assert!(error.to_string().contains("fixer.access_key"), "{error}");
    assert!(error.is_usage_error());

    let settings = Settings::load(
        &Sources::new(dir.path())
            .env_var("FIXER_BASE_URL", mock.base_url())
            .env_var("FIXER_ACCESS_KEY", mock.access_key().expose())
            .env_var("RATES__INGEST__SYMBOLS", "usd,gbp")
            .env_var("RATES__INGEST__DAYS", "3"),
    )?;
    let options = IngestOptions::from_settings(&settings.ingest)?;
    assert_eq!(options.selection, DateSelection::LastDays(3));
    assert_eq!(
        options.symbols,
        [Currency::parse("USD")?, Currency::parse("GBP")?]
    );
    let client = client_from_settings(&settings.fixer)?;
    let db = TestDatabase::sqlite()?;
    let report = rates_ingest::ingest(
        &client,
        db.store(),
        &options,
        rates_domain::today_utc(),
        &mut |_| {},
    )?;
    assert!(report.succeeded(), "{report:?}");
    assert_eq!(report.dates.len(), 3);
    assert_eq!(report.totals.inserted, 6, "two symbols on three days");
    Ok(())
}
