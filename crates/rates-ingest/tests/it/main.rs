//! The ingest library against the mock Fixer and a real database.

use std::collections::BTreeSet;
use std::error::Error;

use fixer_client::mock::{Fault, MockFixer, Plan as FixerPlan};
use rates_domain::{Currency, DateRange};
use rates_ingest::ecb::{EcbImport, EcbSource};
use rates_ingest::{
    client_from_settings, Cancellation, Client, DateOutcome, DateReport, DateSelection,
    FetchStrategy, IngestError, IngestOptions, NamesOutcome, Report,
};
use rates_settings::{Settings, Sources};
use rates_store::testing::TestDatabase;
use rates_store::Store;
use time::macros::date;
use time::Date;

mod read_through;
mod scheduled;

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

/// Plans and runs an ingest, as the binaries do.
fn ingest(
    client: &Client,
    store: &Store,
    options: &IngestOptions,
    today: Date,
    on_date: &mut dyn FnMut(&DateReport),
) -> Result<Report, IngestError> {
    let plan = rates_ingest::plan(options, today, store)?;
    Ok(rates_ingest::ingest(
        client,
        store,
        &plan,
        &Cancellation::new(),
        on_date,
    ))
}

#[test]
fn every_date_reaches_the_callback_once_and_the_report_adds_up() -> TestResult {
    let mock = MockFixer::start();
    let db = TestDatabase::sqlite()?;
    let mut seen = Vec::new();
    let report = ingest(
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
            DateOutcome::Failed { .. } | DateOutcome::RunStopped => 0,
        })
        .sum();
    assert_eq!(report.totals.inserted, stored);
    assert!(stored > 200);

    // A second run finds the names held and asks nothing for them.
    let report = ingest(
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
    let report = ingest(
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
    let report = ingest(
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
    ingest(
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
    let report = ingest(
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

#[test]
fn a_failure_every_date_would_repeat_stops_the_run_after_one_request_and_says_what_to_fix(
) -> TestResult {
    let cases = [
        (Fault::fixer(101), "check FIXER_ACCESS_KEY"),
        (Fault::fixer(104), "quota is used up"),
        (
            Fault::fixer_typed(105, "https_access_restricted"),
            "set FIXER_BASE_URL=http://data.fixer.io/api",
        ),
        (
            Fault::fixer_typed(105, "base_currency_access_restricted"),
            "set RATES__INGEST__BASE=EUR",
        ),
    ];
    for (fault, fix) in cases {
        for plan in [FixerPlan::Free, FixerPlan::Professional] {
            let mock = MockFixer::start().with_plan(plan);
            let db = TestDatabase::sqlite()?;
            mock.fail_next(1_000, fault.clone());
            let mut lines = Vec::new();
            let report = ingest(
                &mock.client(),
                db.store(),
                &options(january(1, 31)?),
                TODAY,
                &mut |line| lines.push(line.clone()),
            )?;
            assert_eq!(mock.total_requests(), 1, "{fault:?} on {plan:?}");
            assert_eq!(lines.len(), 31);
            assert!(lines
                .iter()
                .all(|line| line.outcome == DateOutcome::RunStopped));
            let stop = report.stop.as_ref().ok_or("the run did not stop")?;
            assert!(stop.fix.contains(fix), "{fault:?}: {}", stop.fix);
            assert_eq!(stop.dates, 31);
            // Said once: the error appears in the summary once, and in no date's line.
            let summary = report.summary();
            assert_eq!(summary.matches(&stop.error).count(), 1, "{summary}");
            assert!(summary.contains(fix), "{summary}");
            assert!(lines
                .iter()
                .all(|line| !line.to_string().contains(&stop.error)));
            assert_eq!(report.failed_dates().len(), 31);
        }
    }
    Ok(())
}

#[test]
fn an_unreachable_fixer_stops_the_run_naming_the_base_url_setting() -> TestResult {
    let db = TestDatabase::sqlite()?;
    // Nothing listens on port 1 of the loopback address: every connection is refused.
    let client = Client::builder()
        .base_url("http://127.0.0.1:1/api")
        .access_key(fixer_client::AccessKey::new("unused-key"))
        .retry_policy(fixer_client::RetryPolicy::with_max_retries(0))
        .build()?;
    let report = ingest(
        &client,
        db.store(),
        &options(january(1, 31)?),
        TODAY,
        &mut |_| {},
    )?;
    assert_eq!(report.requests, 1);
    let stop = report.stop.ok_or("the run did not stop")?;
    assert!(stop.fix.contains("cannot reach Fixer"), "{}", stop.fix);
    assert!(stop.fix.contains("FIXER_BASE_URL"), "{}", stop.fix);
    assert_eq!(stop.dates, 31);
    Ok(())
}

#[test]
fn a_failure_of_one_date_alone_does_not_stop_the_others() -> TestResult {
    let mock = MockFixer::start().with_plan(FixerPlan::Basic);
    let db = TestDatabase::sqlite()?;
    // 106: no rates for this date; the others are unaffected.
    mock.fail_next_on("2024-01-03", 1, Fault::fixer(106));
    let report = ingest(
        &mock.client(),
        db.store(),
        &options(january(2, 5)?),
        TODAY,
        &mut |_| {},
    )?;
    assert!(report.stop.is_none(), "{:?}", report.stop);
    assert_eq!(report.failed_dates(), [date!(2024 - 01 - 03)]);
    assert_eq!(report.stored_count(), 3);
    Ok(())
}

#[test]
fn the_ecb_history_is_read_whole_then_written_in_batches_of_whole_days() -> TestResult {
    let db = TestDatabase::sqlite()?;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("eurofxref-hist.csv");
    std::fs::write(
        &path,
        "Date,USD,JPY,CYP,\n2024-01-03,1.0919,155.5,N/A,\n2024-01-02,1.0956,155.68,N/A,\n",
    )?;
    let import = EcbImport::read(EcbSource::File(path.clone()), &mut |_, _| {})?;
    assert_eq!(import.dates(), 2);
    let mut batches = Vec::new();
    let report = import.write(db.store(), &mut |batch| batches.push(batch.clone()))?;
    assert_eq!(batches.len(), 1);
    assert_eq!(batches[0].first, date!(2024 - 01 - 02));
    assert_eq!(batches[0].last, date!(2024 - 01 - 03));
    assert_eq!(batches[0].counts.inserted, 4);
    assert_eq!(report.totals.inserted, 4);
    assert_eq!(report.skipped_cells, 2);
    assert!(
        report
            .summary()
            .starts_with("2 dates (2024-01-02..2024-01-03), rates inserted 4, updated 0, unchanged 0; 2 N/A cells skipped"),
        "{}",
        report.summary()
    );
    let json = serde_json::to_value(&report)?;
    assert_eq!(json["dates"], 2);
    assert_eq!(json["first_date"], "2024-01-02");
    assert_eq!(json["totals"]["inserted"], 4);

    // Again: every rate unchanged.
    let again =
        EcbImport::read(EcbSource::File(path), &mut |_, _| {})?.write(db.store(), &mut |_| {})?;
    assert_eq!(again.totals.unchanged, 4);
    assert_eq!(again.totals.changed(), 0);
    Ok(())
}

#[test]
fn dates_reach_the_callback_in_date_order_whatever_order_they_finish_in() -> TestResult {
    // Basic plan: one request per date, four in flight; the first date answers last.
    let mock = MockFixer::start().with_plan(FixerPlan::Basic);
    let db = TestDatabase::sqlite()?;
    mock.fail_next_on(
        "2024-01-02",
        1,
        Fault::Delay(std::time::Duration::from_millis(400)),
    );
    let mut seen = Vec::new();
    let report = ingest(
        &mock.client(),
        db.store(),
        &options(january(2, 12)?),
        TODAY,
        &mut |line| seen.push(line.date),
    )?;
    assert!(report.succeeded(), "{:?}", report.failed_dates());
    assert_eq!(seen, january(2, 12)?);
    Ok(())
}
