//! Read-through against the mock Fixer and real databases: one request per date however many
//! callers (and servers) ask, the budget, remembered gaps and failures.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use fixer_client::mock::{Fault, MockFixer};
use fixer_client::RetryPolicy;
use rates_ingest::{Fetched, NotHeld, ReadThrough, ReadThroughConfig};
use rates_store::testing::TestDatabase;
use rates_store::Store;
use time::macros::date;
use time::Date;

use super::TestResult;

const TODAY: Date = date!(2026 - 11 - 28);
const DAY: Date = date!(2024 - 03 - 15);

fn read_through(
    mock: &MockFixer,
    store: &Store,
    budget: u32,
) -> Result<ReadThrough, fixer_client::Error> {
    read_through_with(
        mock,
        store,
        ReadThroughConfig::new(budget, Duration::from_secs(5)),
    )
}

/// A read-through on the mock, with a client as `ReadThrough::from_settings` makes it: the
/// configured timeout and no retries.
fn read_through_with(
    mock: &MockFixer,
    store: &Store,
    config: ReadThroughConfig,
) -> Result<ReadThrough, fixer_client::Error> {
    let client = mock
        .client_builder()
        .timeout(config.request_timeout)
        .retry_policy(RetryPolicy::none())
        .build()?;
    Ok(ReadThrough::new(client, store.clone(), config))
}

fn held(outcome: &Fetched) -> Result<&rates_store::StoredRateTable, String> {
    match outcome {
        Fetched::Held(stored) => Ok(stored),
        Fetched::NotHeld(reason) => Err(format!("expected the date held, got: {reason}")),
    }
}

#[test]
fn a_missing_date_is_fetched_stored_as_fixers_and_then_served_from_the_store() -> TestResult {
    let mock = MockFixer::start();
    let db = TestDatabase::sqlite()?;
    let fetcher = read_through(&mock, db.store(), 10)?;
    let outcome = fetcher.fetch(DAY, TODAY);
    let stored = held(&outcome)?;
    assert_eq!(stored.table.date(), DAY);
    let usd = fixer_client::CurrencyCode::new("USD")?;
    let expected = mock.eur_rate(DAY, usd).ok_or("the mock has USD")?;
    assert_eq!(
        stored
            .table
            .rate(rates_domain::Currency::USD)
            .map(|r| r.get()),
        Some(expected)
    );
    assert_eq!(
        db.store()
            .rate_table(DAY, rates_domain::Currency::EUR)?
            .as_ref(),
        Some(stored)
    );
    assert_eq!(mock.request_count("2024-03-15"), 1);
    assert_eq!(fetcher.requests_spent(TODAY), 1);

    // Held now: no further request.
    held(&fetcher.fetch(DAY, TODAY))?;
    assert_eq!(mock.total_requests(), 1);

    // Today and later are not read through.
    assert_eq!(
        fetcher.fetch(TODAY, TODAY),
        Fetched::NotHeld(NotHeld::NotPast { date: TODAY })
    );
    assert_eq!(mock.total_requests(), 1);
    Ok(())
}

#[test]
fn twenty_concurrent_calls_for_one_date_send_one_request() -> TestResult {
    let mock = MockFixer::start();
    // Slow answers, so the callers overlap the fetch for certain.
    mock.set_delay(Duration::from_millis(300));
    let db = TestDatabase::sqlite()?;
    let fetcher = read_through(&mock, db.store(), 50)?;
    let barrier = Barrier::new(20);
    let outcomes: Vec<Fetched> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..20)
            .map(|_| {
                scope.spawn(|| {
                    barrier.wait();
                    fetcher.fetch(DAY, TODAY)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().unwrap_or(Fetched::NotHeld(NotHeld::Busy)))
            .collect()
    });
    let first = held(outcomes.first().ok_or("twenty outcomes")?)?.clone();
    for outcome in &outcomes {
        assert_eq!(held(outcome)?, &first);
    }
    assert_eq!(mock.request_count("2024-03-15"), 1);
    assert_eq!(mock.total_requests(), 1);
    Ok(())
}

#[test]
#[cfg_attr(
    not(rates_test_postgres),
    ignore = "PostgreSQL skipped: RATES_TEST_POSTGRES_URL is not set"
)]
fn two_servers_on_one_postgres_database_fetch_a_date_once() -> TestResult {
    let Some(db) = TestDatabase::postgres()? else {
        return Ok(());
    };
    let mock = MockFixer::start();
    mock.set_delay(Duration::from_millis(300));
    // Two stores (two pools) and two read-throughs: what two server processes have.
    let other_store = Store::open(db.url(), Some(4))?;
    let fetchers = [
        Arc::new(read_through(&mock, db.store(), 50)?),
        Arc::new(read_through(&mock, &other_store, 50)?),
    ];
    let [first, second] = &fetchers;
    let barrier = Barrier::new(10);
    let outcomes: Vec<Fetched> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..10)
            .map(|i| {
                let fetcher = Arc::clone(if i % 2 == 0 { first } else { second });
                let barrier = &barrier;
                scope.spawn(move || {
                    barrier.wait();
                    fetcher.fetch(DAY, TODAY)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().unwrap_or(Fetched::NotHeld(NotHeld::Busy)))
            .collect()
    });
    for outcome in &outcomes {
        held(outcome)?;
    }
    assert_eq!(mock.request_count("2024-03-15"), 1);
    assert_eq!(
        first.requests_spent(TODAY) + second.requests_spent(TODAY),
        1
    );
    Ok(())
}

#[test]
fn past_the_daily_budget_nothing_is_sent_until_the_next_utc_day() -> TestResult {
    let mock = MockFixer::start();
    let db = TestDatabase::sqlite()?;
    let fetcher = read_through(&mock, db.store(), 2)?;
    held(&fetcher.fetch(date!(2024 - 03 - 13), TODAY))?;
    held(&fetcher.fetch(date!(2024 - 03 - 14), TODAY))?;
    for _ in 0..3 {
        assert_eq!(
            fetcher.fetch(DAY, TODAY),
            Fetched::NotHeld(NotHeld::BudgetSpent { budget: 2 })
        );
    }
    assert_eq!(mock.total_requests(), 2);
    assert!(db
        .store()
        .rate_table(DAY, rates_domain::Currency::EUR)?
        .is_none());
    // A new UTC day brings a new budget.
    let tomorrow = TODAY.next_day().ok_or("a next day")?;
    held(&fetcher.fetch(DAY, tomorrow))?;
    assert_eq!(mock.total_requests(), 3);
    assert_eq!(fetcher.requests_spent(tomorrow), 1);

    // A budget of zero sends nothing at all.
    let none = read_through(&mock, db.store(), 0)?;
    assert_eq!(
        none.fetch(date!(2024 - 03 - 18), TODAY),
        Fetched::NotHeld(NotHeld::BudgetSpent { budget: 0 })
    );
    assert_eq!(mock.total_requests(), 3);
    Ok(())
}

#[test]
fn a_date_fixer_has_nothing_for_is_not_asked_again_within_the_hour() -> TestResult {
    let mock = MockFixer::start();
    let db = TestDatabase::sqlite()?;
    let fetcher = read_through(&mock, db.store(), 50)?;
    // Before the mock's first day: Fixer's 106.
    let before = date!(2023 - 06 - 01);
    assert_eq!(
        fetcher.fetch(before, TODAY),
        Fetched::NotHeld(NotHeld::NoData)
    );
    assert_eq!(
        fetcher.fetch(before, TODAY),
        Fetched::NotHeld(NotHeld::NoData)
    );
    assert_eq!(mock.total_requests(), 1);

    // With the memory set to zero it is asked again.
    let mut config = ReadThroughConfig::new(50, Duration::from_secs(5));
    config.no_data_ttl = Duration::ZERO;
    let forgetful = read_through_with(&mock, db.store(), config)?;
    assert_eq!(
        forgetful.fetch(before, TODAY),
        Fetched::NotHeld(NotHeld::NoData)
    );
    assert_eq!(
        forgetful.fetch(before, TODAY),
        Fetched::NotHeld(NotHeld::NoData)
    );
    assert_eq!(mock.total_requests(), 3);
    Ok(())
}

#[test]
fn a_failing_fixer_answers_not_held_within_the_timeout_and_is_then_left_alone() -> TestResult {
    let mock = MockFixer::start();
    let db = TestDatabase::sqlite()?;
    let fetcher = read_through_with(
        &mock,
        db.store(),
        ReadThroughConfig::new(50, Duration::from_millis(500)),
    )?;
    // Fixer hangs for longer than the request timeout.
    mock.fail_next(1, Fault::Delay(Duration::from_secs(3)));
    let started = Instant::now();
    let outcome = fetcher.fetch(DAY, TODAY);
    assert!(
        matches!(outcome, Fetched::NotHeld(NotHeld::FixerFailing(_))),
        "{outcome:?}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // Left alone for a while: the next date is not even asked.
    let outcome = fetcher.fetch(date!(2024 - 03 - 18), TODAY);
    assert!(
        matches!(outcome, Fetched::NotHeld(NotHeld::FixerFailing(_))),
        "{outcome:?}"
    );
    assert_eq!(mock.total_requests(), 1);

    // Without the pause, a server error is not retried: one request, not held, and the next
    // call (Fixer is back) fetches.
    let mut config = ReadThroughConfig::new(50, Duration::from_secs(5));
    config.failure_pause = Duration::ZERO;
    let eager = read_through_with(&mock, db.store(), config)?;
    mock.fail_next(1, Fault::status(503));
    let outcome = eager.fetch(DAY, TODAY);
    assert!(
        matches!(outcome, Fetched::NotHeld(NotHeld::FixerFailing(_))),
        "{outcome:?}"
    );
    assert_eq!(mock.total_requests(), 2);
    held(&eager.fetch(DAY, TODAY))?;
    assert_eq!(mock.total_requests(), 3);

    // Nothing listening at all: connection refused, answered at once.
    let closed = MockFixer::start();
    let closed_client = closed
        .client_builder()
        .timeout(Duration::from_millis(500))
        .retry_policy(RetryPolicy::none())
        .build()?;
    drop(closed);
    let gone = ReadThrough::new(
        closed_client,
        db.store().clone(),
        ReadThroughConfig::new(50, Duration::from_millis(500)),
    );
    let started = Instant::now();
    let outcome = gone.fetch(date!(2024 - 03 - 19), TODAY);
    assert!(
        matches!(outcome, Fetched::NotHeld(NotHeld::FixerFailing(_))),
        "{outcome:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(2));
    Ok(())
}

#[test]
fn read_through_from_settings_is_off_by_default_and_needs_the_access_key() -> TestResult {
    let db = TestDatabase::sqlite()?;
    let dir = tempfile::tempdir()?;
    let settings = rates_settings::Settings::load(&rates_settings::Sources::new(dir.path()))?;
    assert!(ReadThrough::from_settings(&settings, db.store().clone())?.is_none());

    let on = rates_settings::Sources::new(dir.path()).env_var("RATES__FETCH__ON_DEMAND", "true");
    let settings = rates_settings::Settings::load(&on)?;
    let error = ReadThrough::from_settings(&settings, db.store().clone())
        .err()
        .ok_or("no access key: an error")?;
    assert!(error.to_string().contains("fixer.access_key"), "{error}");

    let mock = MockFixer::start();
    let settings = rates_settings::Settings::load(
        &on.env_var("FIXER_BASE_URL", mock.base_url())
            .env_var("FIXER_ACCESS_KEY", mock.access_key().expose())
            .env_var("RATES__FETCH__DAILY_BUDGET", "3"),
    )?;
    let fetcher =
        ReadThrough::from_settings(&settings, db.store().clone())?.ok_or("on: a read-through")?;
    assert_eq!(fetcher.config().daily_budget, 3);
    held(&fetcher.fetch(DAY, TODAY))?;
    assert_eq!(mock.request_count("2024-03-15"), 1);
    Ok(())
}
