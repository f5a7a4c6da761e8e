//! Blocking database work runs off the async workers: a query stuck on a lock does not stall
//! other requests, even with a single worker.

use std::time::{Duration, Instant};

use crate::helpers::{load_sample, spawn_app_on, test_config, TestResult};

#[test]
#[cfg_attr(
    not(rates_test_postgres),
    ignore = "PostgreSQL skipped: RATES_TEST_POSTGRES_URL is not set"
)]
fn a_stuck_query_does_not_stall_other_requests() -> TestResult {
    // PostgreSQL lets a test hold a table lock that makes readers wait; SQLite in WAL mode never
    // blocks readers, so there is no way to make its query wait deterministically.
    let Some(database) = rates_store::testing::TestDatabase::postgres()? else {
        return Ok(());
    };
    load_sample(database.store())?;
    let mut config = test_config();
    config.cache.check_interval = Duration::from_secs(3600);
    let app = spawn_app_on(database, config)?;
    // Cache one answer (and the data version) before the lock.
    assert_eq!(app.get("/rates/2024-01-02/")?.status, 200);

    let mut locker = postgres_connection(app.database.url())?;
    use diesel::connection::SimpleConnection;
    locker.batch_execute("BEGIN; LOCK TABLE rates IN ACCESS EXCLUSIVE MODE;")?;

    let url = app.url("/rates/2024-01-03/");
    let stuck = std::thread::spawn(move || -> Result<(u16, Instant), String> {
        let response = ureq::get(&url)
            .timeout(Duration::from_secs(60))
            .call()
            .map_err(|e| e.to_string())?;
        Ok((response.status(), Instant::now()))
    });
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !stuck.is_finished(),
        "the uncached request must be waiting on the lock"
    );

    // The only worker still answers: from the cache, and errors that need no database.
    let started = Instant::now();
    assert_eq!(app.get("/rates/2024-01-02/")?.status, 200);
    assert_eq!(app.get("/rates/2024-13-01/")?.status, 400);
    let answered = Instant::now();
    assert!(answered.duration_since(started) < Duration::from_secs(5));

    locker.batch_execute("COMMIT;")?;
    let (status, finished) = stuck.join().map_err(|_| "request thread panicked")??;
    assert_eq!(status, 200);
    assert!(
        finished > answered,
        "the stuck request finished after the others were answered"
    );
    Ok(())
}

fn postgres_connection(url: &str) -> TestResult<diesel::PgConnection> {
    use diesel::Connection;
    Ok(diesel::PgConnection::establish(url)?)
}
