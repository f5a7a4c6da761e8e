//! The scheduled ingest's protocol (run lock, lease, the run, cancellation) against the mock
//! Fixer and real databases, with several "servers" as separate connection pools.

use std::time::{Duration, Instant};

use fixer_client::mock::{Fault, MockFixer, Plan as FixerPlan, DEFAULT_MOCK_KEY};
use rates_domain::{today_utc, Currency, DateRange};
use rates_ingest::{Cancellation, DateOutcome, Report, ScheduledIngest, ScheduledOutcome};
use rates_settings::{AccessKey, Schedule, Settings};
use rates_store::testing::TestDatabase;
use rates_store::Store;

use super::TestResult;

const DAYS: u32 = 3;

/// Settings for a scheduled ingest of the last `days` days from `mock` into `url`.
fn settings(mock: &MockFixer, url: &str, days: u32) -> Settings {
    let mut settings = Settings::default();
    settings.database.url = url.to_owned();
    settings.fixer.base_url = mock.base_url().to_owned();
    settings.fixer.access_key = Some(AccessKey::new(DEFAULT_MOCK_KEY));
    settings.fixer.max_retries = 0;
    settings.ingest.days = days;
    settings.ingest.schedule = Schedule::Every(Duration::from_secs(60));
    settings
}

/// A server's scheduled ingest of the last [`DAYS`] days, on its own connection pool, as a
/// separate process would have.
fn server(
    mock: &MockFixer,
    url: &str,
    holder: &str,
) -> Result<ScheduledIngest, Box<dyn std::error::Error>> {
    let store = Store::open(url, Some(2))?;
    ScheduledIngest::from_settings(&settings(mock, url, DAYS), store, holder)?
        .ok_or_else(|| "the schedule is on, so there is a scheduled ingest".into())
}

fn run(server: &ScheduledIngest) -> ScheduledOutcome {
    server.run_once(today_utc(), &Cancellation::new(), &mut |_| {})
}

fn ran(outcome: ScheduledOutcome) -> Result<Report, String> {
    match outcome {
        ScheduledOutcome::Ran(report) => Ok(report),
        other => Err(format!("expected a run, got {other:?}")),
    }
}

/// How many dates of the last `days` days are stored.
fn dates_held(store: &Store, days: u32) -> Result<usize, Box<dyn std::error::Error>> {
    Ok(store
        .dates_held(DateRange::ending(today_utc(), days)?, Currency::EUR)?
        .len())
}

#[test]
fn no_schedule_means_no_scheduled_ingest() -> TestResult {
    let database = TestDatabase::sqlite()?;
    let settings = Settings::default();
    assert!(ScheduledIngest::from_settings(&settings, database.store().clone(), "a")?.is_none());
    Ok(())
}

#[test]
fn a_schedule_without_an_access_key_is_refused_naming_the_key() -> TestResult {
    let database = TestDatabase::sqlite()?;
    let mut settings = Settings::default();
    settings.ingest.schedule = Schedule::Every(Duration::from_secs(3600));
    let Err(error) = ScheduledIngest::from_settings(&settings, database.store().clone(), "a")
    else {
        return Err("a schedule without a Fixer key was accepted".into());
    };
    assert!(error.to_string().contains("fixer.access_key"), "{error}");
    Ok(())
}

#[test]
fn a_successful_run_stores_the_window_and_keeps_the_lease_for_the_interval() -> TestResult {
    for database in TestDatabase::all()? {
        let mock = MockFixer::start();
        let first = server(&mock, database.url(), "server-a")?;
        let second = server(&mock, database.url(), "server-b")?;

        assert!(ran(run(&first))?.succeeded());
        assert_eq!(dates_held(database.store(), DAYS)?, DAYS as usize);
        let holder = database.store().ingest_lock_holder()?;
        assert_eq!(holder.map(|lock| lock.holder).as_deref(), Some("server-a"));

        // Another server's run within the interval spends no Fixer request.
        let requests = mock.total_requests();
        assert!(matches!(run(&second), ScheduledOutcome::LockHeldElsewhere));
        assert_eq!(mock.total_requests(), requests);
        // The holder's own next run renews the lease and runs.
        assert!(ran(run(&first))?.succeeded());
        assert!(mock.total_requests() > requests);
    }
    Ok(())
}

#[test]
fn a_failed_run_gives_the_lease_back_so_any_server_retries() -> TestResult {
    for database in TestDatabase::all()? {
        let mock = MockFixer::start();
        let first = server(&mock, database.url(), "server-a")?;
        let second = server(&mock, database.url(), "server-b")?;

        // 104: the monthly quota is used up, a permanent failure.
        mock.fail_next(100, Fault::fixer(104));
        assert!(!ran(run(&first))?.succeeded());
        assert_eq!(dates_held(database.store(), DAYS)?, 0);
        assert!(database.store().ingest_lock_holder()?.is_none());

        mock.clear_faults();
        assert!(ran(run(&second))?.succeeded());
        assert_eq!(dates_held(database.store(), DAYS)?, DAYS as usize);
    }
    Ok(())
}

#[test]
#[cfg_attr(
    not(rates_test_postgres),
    ignore = "PostgreSQL skipped: RATES_TEST_POSTGRES_URL is not set"
)]
fn on_postgres_a_run_in_progress_elsewhere_is_never_joined_whatever_the_lease_says() -> TestResult {
    let database = TestDatabase::postgres()?.ok_or("PostgreSQL is not configured")?;
    let mock = MockFixer::start();
    let server = server(&mock, database.url(), "server-a")?;
    // Another process is ingesting, and its lease has lapsed (a stall, a skewed clock).
    let elsewhere = Store::open(database.url(), Some(1))?;
    let run_lock = elsewhere
        .try_lock_ingest_run()?
        .ok_or("the run lock was free")?;
    assert!(database.store().ingest_lock_holder()?.is_none());

    assert!(matches!(run(&server), ScheduledOutcome::LockHeldElsewhere));
    assert_eq!(mock.total_requests(), 0);

    drop(run_lock);
    assert!(ran(run(&server))?.succeeded());
    assert_eq!(dates_held(database.store(), DAYS)?, DAYS as usize);
    Ok(())
}

#[test]
fn a_cancelled_run_stops_between_dates_keeps_whole_days_and_gives_the_lease_back() -> TestResult {
    const WINDOW: u32 = 40;
    let database = TestDatabase::sqlite()?;
    // Basic plan: one `historical` request per date, each slow, four at a time.
    let mock = MockFixer::builder().plan(FixerPlan::Basic).start();
    mock.set_delay(Duration::from_millis(200));
    let store = Store::open(database.url(), Some(2))?;
    let server = ScheduledIngest::from_settings(
        &settings(&mock, database.url(), WINDOW),
        store,
        "server-a",
    )?
    .ok_or("no scheduled ingest")?;
    let cancel = Cancellation::new();
    let mut lines = 0;
    let (report, cancelled_at) = std::thread::scope(|scope| {
        let canceller = scope.spawn(|| {
            let started = Instant::now();
            while mock.total_requests() < 6 && started.elapsed() < Duration::from_secs(20) {
                std::thread::sleep(Duration::from_millis(5));
            }
            cancel.cancel();
            Instant::now()
        });
        let outcome = server.run_once(today_utc(), &cancel, &mut |_| lines += 1);
        (outcome, canceller.join())
    });
    let report = ran(report)?;
    let cancelled_at = cancelled_at.map_err(|_| "the canceller panicked")?;

    // Only the requests in flight at the cancellation finished (one delay, and the writes).
    assert!(
        cancelled_at.elapsed() < Duration::from_secs(2),
        "the run went on for {:?} after the cancellation",
        cancelled_at.elapsed()
    );
    assert!(report.cancelled, "{}", report.summary());
    assert!(!report.succeeded());
    assert_eq!(lines, WINDOW as usize, "every date reaches the callback");
    let stored = report.stored_count();
    let not_fetched = report
        .dates
        .iter()
        .filter(|date| date.outcome == DateOutcome::RunStopped)
        .count();
    assert!(
        stored >= 2 && not_fetched >= WINDOW as usize - 12,
        "{}",
        report.summary()
    );
    assert_eq!(
        stored + not_fetched,
        WINDOW as usize,
        "{}",
        report.summary()
    );
    assert!(
        report
            .summary()
            .contains(&format!("cancelled, {not_fetched} date(s) not fetched")),
        "{}",
        report.summary()
    );
    // Whole days: what the report says was stored is in the database, every rate of it.
    assert_eq!(dates_held(database.store(), WINDOW)?, stored);
    for date in &report.dates {
        let DateOutcome::Stored(counts) = date.outcome else {
            continue;
        };
        let table = database
            .store()
            .rate_table(date.date, Currency::EUR)?
            .ok_or("a stored date is missing")?;
        assert_eq!(
            u64::try_from(table.table.len())?,
            counts.total(),
            "{}",
            date.date
        );
    }
    // The lease is free for the next server at once.
    assert!(database.store().ingest_lock_holder()?.is_none());
    Ok(())
}
