//! The ingest run lock: held for as long as one ingest runs, so that two processes sharing a
//! database never ingest at the same time.
//!
//! On PostgreSQL it is a session-level advisory lock on one pooled connection, kept out of the
//! pool until the lock is dropped. It does not depend on any clock, unlike the lease of
//! [`Store::try_acquire_ingest_lock`], and a process that dies releases it at once (its session
//! ends). SQLite has no such lock: there [`Store::try_lock_ingest_run`] always succeeds and the
//! lease alone keeps ingests apart.

use std::fmt;

use diesel::dsl::sql;
use diesel::sql_types::Bool;
use diesel::RunQueryDsl;

use crate::error::StoreError;
use crate::pool::{Pool, PostgresPooled};
use crate::store::{checkout_postgres, Store};

/// Key of the advisory lock; any constant nobody else uses (the migration lock has its own).
const INGEST_RUN_LOCK_KEY: i64 = 0x7261_7465_735f_696e; // "rates_in"

/// Proof that this process may run an ingest now; dropping it releases the lock. Dropping
/// talks to the database, so drop it where blocking is allowed.
pub struct IngestRunLock {
    session: Option<PostgresPooled>,
}

impl Store {
    /// Takes the ingest run lock without waiting: `Ok(None)` when another process (or another
    /// holder in this one) is running an ingest on this database. On SQLite it always succeeds;
    /// see the module docs.
    pub fn try_lock_ingest_run(&self) -> Result<Option<IngestRunLock>, StoreError> {
        let Pool::Postgres(pool) = self.pool() else {
            return Ok(Some(IngestRunLock { session: None }));
        };
        let mut session = checkout_postgres(pool)?;
        let locked = diesel::select(sql::<Bool>(&format!(
            "pg_try_advisory_lock({INGEST_RUN_LOCK_KEY})"
        )))
        .get_result::<bool>(&mut *session)
        .map_err(StoreError::query("taking the ingest run lock"))?;
        Ok(locked.then_some(IngestRunLock {
            session: Some(session),
        }))
    }
}

impl Drop for IngestRunLock {
    fn drop(&mut self) {
        let Some(session) = self.session.as_mut() else {
            return;
        };
        let unlocked = diesel::select(sql::<Bool>(&format!(
            "pg_advisory_unlock({INGEST_RUN_LOCK_KEY})"
        )))
        .get_result::<bool>(&mut **session);
        if let Err(error) = unlocked {
            // The session is unusable, and PostgreSQL drops a session's locks with it.
            log::warn!("releasing the ingest run lock failed: {error}");
        }
    }
}

impl fmt::Debug for IngestRunLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IngestRunLock")
            .field("advisory", &self.session.is_some())
            .finish()
    }
}

#[cfg(all(test, feature = "test-support"))]
mod tests {
    use crate::testing::TestDatabase;
    use crate::Store;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    #[test]
    #[cfg_attr(
        not(rates_test_postgres),
        ignore = "PostgreSQL skipped: RATES_TEST_POSTGRES_URL is not set"
    )]
    fn on_postgres_one_process_at_a_time_runs_an_ingest() -> TestResult {
        let Some(database) = TestDatabase::postgres()? else {
            return Ok(());
        };
        // Two stores: two pools, as two server processes would have.
        let other = Store::open(database.url(), Some(2))?;
        let held = database
            .store()
            .try_lock_ingest_run()?
            .ok_or("free at first")?;
        assert!(other.try_lock_ingest_run()?.is_none());
        assert!(database.store().try_lock_ingest_run()?.is_none());
        drop(held);
        let taken_over = other.try_lock_ingest_run()?.ok_or("free once dropped")?;
        assert!(database.store().try_lock_ingest_run()?.is_none());
        drop(taken_over);
        assert!(database.store().try_lock_ingest_run()?.is_some());
        Ok(())
    }

    #[test]
    #[cfg_attr(
        not(rates_test_postgres),
        ignore = "PostgreSQL skipped: RATES_TEST_POSTGRES_URL is not set"
    )]
    fn on_postgres_a_holder_whose_session_ends_releases_the_lock() -> TestResult {
        use diesel::{Connection, PgConnection, RunQueryDsl};

        let Some(database) = TestDatabase::postgres()? else {
            return Ok(());
        };
        let dying = Store::open(database.url(), Some(1))?;
        let held = dying.try_lock_ingest_run()?.ok_or("free at first")?;
        assert!(database.store().try_lock_ingest_run()?.is_none());
        // The holder's session ends without unlocking, as when its process is killed.
        let mut admin = PgConnection::establish(database.url())?;
        diesel::sql_query(
            "SELECT pg_terminate_backend(pid) FROM pg_locks \
             WHERE locktype = 'advisory' AND pid <> pg_backend_pid() \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
        .execute(&mut admin)?;
        let started = std::time::Instant::now();
        while database.store().try_lock_ingest_run()?.is_none() {
            if started.elapsed() > std::time::Duration::from_secs(10) {
                return Err("the lock outlived its session".into());
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        // Dropping a lock whose session is gone only logs.
        drop(held);
        Ok(())
    }

    #[test]
    fn on_sqlite_the_run_lock_always_succeeds_and_the_lease_decides() -> TestResult {
        let database = TestDatabase::sqlite()?;
        let first = database.store().try_lock_ingest_run()?;
        let second = database.store().try_lock_ingest_run()?;
        assert!(first.is_some() && second.is_some());
        Ok(())
    }
}
