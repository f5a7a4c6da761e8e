//! The date fetch lock: held while one process fetches one missing date from upstream, so that
//! servers sharing a database fetch a date once between them (read-through).
//!
//! On PostgreSQL it is a session-level advisory lock keyed by the date, on one pooled connection
//! kept out of the pool until the lock is dropped; a process that dies releases it with its
//! session. The holder re-checks the store after taking it: another server may have stored the
//! date meanwhile. SQLite has no such lock (a SQLite file is served by one host):
//! [`Store::try_lock_date_fetch`] always succeeds there, and each process keeps its own
//! concurrent requests to one fetch by itself.

use std::fmt;

use diesel::dsl::sql;
use diesel::sql_types::Bool;
use diesel::RunQueryDsl;
use time::Date;

use crate::error::StoreError;
use crate::pool::{Pool, PostgresPooled};
use crate::store::{checkout_postgres, Store};

/// First key of the two-key advisory locks taken per date ("ratf"); the second is the date's
/// Julian day number. Two-key locks live apart from the one-key locks of migrations and ingest
/// runs, so they cannot collide with them.
const DATE_FETCH_LOCK_CLASS: i32 = 0x7261_7466;

/// Proof that this process may fetch `date` now; dropping it releases the lock. Dropping talks
/// to the database, so drop it where blocking is allowed.
pub struct DateFetchLock {
    date: Date,
    session: Option<PostgresPooled>,
}

impl Store {
    /// Takes the fetch lock of `date` without waiting: `Ok(None)` when another holder (in this
    /// process or another one on this database) is fetching that date. On SQLite it always
    /// succeeds; see the module docs.
    pub fn try_lock_date_fetch(&self, date: Date) -> Result<Option<DateFetchLock>, StoreError> {
        let Pool::Postgres(pool) = self.pool() else {
            return Ok(Some(DateFetchLock {
                date,
                session: None,
            }));
        };
        let mut session = checkout_postgres(pool)?;
        let locked = diesel::select(sql::<Bool>(&format!(
            "pg_try_advisory_lock({DATE_FETCH_LOCK_CLASS}, {})",
            date.to_julian_day()
        )))
        .get_result::<bool>(&mut *session)
        .map_err(StoreError::query("taking a date fetch lock"))?;
        Ok(locked.then_some(DateFetchLock {
            date,
            session: Some(session),
        }))
    }
}

impl DateFetchLock {
    /// The date this lock is for.
    pub fn date(&self) -> Date {
        self.date
    }
}

impl Drop for DateFetchLock {
    fn drop(&mut self) {
        let Some(session) = self.session.as_mut() else {
            return;
        };
        let unlocked = diesel::select(sql::<Bool>(&format!(
            "pg_advisory_unlock({DATE_FETCH_LOCK_CLASS}, {})",
            self.date.to_julian_day()
        )))
        .get_result::<bool>(&mut **session);
        if let Err(error) = unlocked {
            // The session is unusable, and PostgreSQL drops a session's locks with it.
            log::warn!("releasing a date fetch lock failed: {error}");
        }
    }
}

impl fmt::Debug for DateFetchLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DateFetchLock")
            .field("date", &self.date)
            .field("advisory", &self.session.is_some())
            .finish()
    }
}

#[cfg(all(test, feature = "test-support"))]
mod tests {
    use time::macros::date;

    use crate::testing::TestDatabase;
    use crate::Store;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    #[test]
    #[cfg_attr(
        not(rates_test_postgres),
        ignore = "PostgreSQL skipped: RATES_TEST_POSTGRES_URL is not set"
    )]
    fn on_postgres_one_holder_per_date_across_processes() -> TestResult {
        let Some(database) = TestDatabase::postgres()? else {
            return Ok(());
        };
        // Two stores: two pools, as two server processes would have.
        let other = Store::open(database.url(), Some(2))?;
        let day = date!(2024 - 03 - 15);
        let held = database
            .store()
            .try_lock_date_fetch(day)?
            .ok_or("free at first")?;
        assert_eq!(held.date(), day);
        assert!(other.try_lock_date_fetch(day)?.is_none());
        assert!(database.store().try_lock_date_fetch(day)?.is_none());
        let next_day = other
            .try_lock_date_fetch(date!(2024 - 03 - 16))?
            .ok_or("another date is free")?;
        // Neither the ingest run lock nor another date share its key.
        let run = other.try_lock_ingest_run()?.ok_or("ingest run lock free")?;
        drop((held, next_day, run));
        assert!(other.try_lock_date_fetch(day)?.is_some());
        Ok(())
    }

    #[test]
    fn on_sqlite_the_date_fetch_lock_always_succeeds() -> TestResult {
        let database = TestDatabase::sqlite()?;
        let day = date!(2024 - 03 - 15);
        let first = database.store().try_lock_date_fetch(day)?;
        let second = database.store().try_lock_date_fetch(day)?;
        assert!(first.is_some() && second.is_some());
        Ok(())
    }
}
