//! Reads never wait for the database, and identical requests arriving together compute once.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use crate::helpers::{load_sample, spawn_app, spawn_app_on, test_config, TestResult};

#[test]
#[cfg_attr(
    not(rates_test_postgres),
    ignore = "PostgreSQL skipped: RATES_TEST_POSTGRES_URL is not set"
)]
fn a_locked_rates_table_stalls_no_read() -> TestResult {
    // PostgreSQL lets a test hold a table lock that makes readers wait; SQLite in WAL mode never
    // blocks readers (its writer lock is covered by the server's outage tests).
    let Some(database) = rates_store::testing::TestDatabase::postgres()? else {
        return Ok(());
    };
    load_sample(database.store())?;
    let app = spawn_app_on(database, test_config())?;
    let mut locker = postgres_connection(app.database.url())?;
    use diesel::connection::SimpleConnection;
    locker.batch_execute("BEGIN; LOCK TABLE rates IN ACCESS EXCLUSIVE MODE;")?;
    let started = Instant::now();
    // Uncached answers, computed while no query on rates could complete.
    for path in [
        "/rates/2024-01-03/",
        "/rates/2024-01-01..2024-01-10/?base=GBP",
        "/convert?from=USD&to=JPY&amount=3",
        "/health",
    ] {
        assert_eq!(app.get(path)?.status, 200, "{path}");
    }
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    locker.batch_execute("COMMIT;")?;
    Ok(())
}

#[test]
fn identical_concurrent_requests_compute_once() -> TestResult {
    let app = spawn_app()?;
    let path = "/rates/2024-01-01..2024-01-10/?base=JPY&symbols=USD,GBP";
    let renders = app.state.cache().renders();
    let url = app.url(path);
    let start = Arc::new(Barrier::new(64));
    let clients: Vec<_> = (0..64)
        .map(|_| {
            let url = url.clone();
            let start = Arc::clone(&start);
            std::thread::spawn(move || -> Result<(u16, String), String> {
                start.wait();
                let response = ureq::get(&url)
                    .timeout(Duration::from_secs(30))
                    .call()
                    .map_err(|e| e.to_string())?;
                let status = response.status();
                Ok((status, response.into_string().map_err(|e| e.to_string())?))
            })
        })
        .collect();
    let mut bodies = Vec::new();
    for client in clients {
        let (status, body) = client.join().map_err(|_| "client thread panicked")??;
        assert_eq!(status, 200);
        bodies.push(body);
    }
    assert!(bodies.windows(2).all(|pair| pair[0] == pair[1]));
    assert_eq!(app.state.cache().renders(), renders + 1);
    Ok(())
}

fn postgres_connection(url: &str) -> TestResult<diesel::PgConnection> {
    use diesel::Connection;
    Ok(diesel::PgConnection::establish(url)?)
}
