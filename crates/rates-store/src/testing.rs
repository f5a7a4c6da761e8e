//! Throw-away databases for tests, and real ECB reference rates as fixtures.
//!
//! Enabled by the `test-support` feature; meant for dev-dependencies only.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use rates_domain::ecb::{parse_ecb_csv, EcbError};
use rates_domain::RateTable;

use crate::database_url::redact_database_url;
use crate::error::{Backend, StoreError};
use crate::store::Store;

/// The variable naming the PostgreSQL server for tests, e.g.
/// `postgres://postgres@127.0.0.1:5432/test`. Its user must be allowed to create databases.
pub const POSTGRES_URL_VAR: &str = "RATES_TEST_POSTGRES_URL";
/// When `1`, a missing or unreachable PostgreSQL fails the tests instead of skipping them.
pub const REQUIRE_POSTGRES_VAR: &str = "RATES_TEST_REQUIRE_POSTGRES";

/// Pool size for test stores: small, so parallel tests stay within PostgreSQL's connection limit.
const TEST_POOL_SIZE: u32 = 4;

/// A database that exists for one test: a SQLite file in a temporary directory, or a fresh
/// PostgreSQL database. Both are migrated when created and deleted when dropped.
#[derive(Debug)]
pub struct TestDatabase {
    store: Store,
    url: String,
    cleanup: Cleanup,
}

#[derive(Debug)]
enum Cleanup {
    /// Removing the directory removes the file and its WAL.
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres {
        admin_url: String,
        name: String,
    },
}

impl TestDatabase {
    /// A migrated SQLite database in a new temporary file.
    pub fn sqlite() -> Result<TestDatabase, StoreError> {
        let directory = tempfile::Builder::new()
            .prefix("rates-test-")
            .tempdir()
            .map_err(|error| StoreError::Connect {
                backend: Backend::Sqlite,
                target: "a temporary directory".to_owned(),
                source: Box::new(error),
            })?;
        let url = format!(
            "sqlite://{}",
            directory.path().join("rates.sqlite3").display()
        );
        let store = Store::open(&url, Some(TEST_POOL_SIZE))?;
        Ok(TestDatabase {
            store,
            url,
            cleanup: Cleanup::Sqlite(directory),
        })
    }

    /// A migrated, newly created PostgreSQL database on the server named by
    /// `RATES_TEST_POSTGRES_URL`, dropped (`WITH (FORCE)`) when this value is dropped.
    ///
    /// `Ok(None)` when the variable is unset — unless `RATES_TEST_REQUIRE_POSTGRES=1`, which
    /// makes that an error. An unreachable server is always an error, never a skip. Tests of
    /// PostgreSQL alone are also marked
    /// `#[cfg_attr(not(rates_test_postgres), ignore = "...")]` (the cfg comes from
    /// `postgres_test_cfg.rs`, included by the crate's build script), so that cargo's summary
    /// shows the skip.
    pub fn postgres() -> Result<Option<TestDatabase>, StoreError> {
        TestDatabase::postgres_on(std::env::var(POSTGRES_URL_VAR).ok(), postgres_required())
    }

    /// [`TestDatabase::postgres`] with the environment passed in.
    fn postgres_on(
        admin_url: Option<String>,
        required: bool,
    ) -> Result<Option<TestDatabase>, StoreError> {
        let admin_url = match admin_url {
            Some(url) if !url.trim().is_empty() => url.trim().to_owned(),
            _ if required => {
                return Err(StoreError::InvalidUrl {
                    reason: format!(
                        "{REQUIRE_POSTGRES_VAR}=1 but {POSTGRES_URL_VAR} is not set; \
                         set it to a PostgreSQL URL whose user may create databases"
                    ),
                })
            }
            _ => {
                println!("skipped: {POSTGRES_URL_VAR} not set (PostgreSQL tests not run)");
                return Ok(None);
            }
        };
        let name = unique_database_name();
        let mut admin = connect_admin(&admin_url)?;
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .map_err(StoreError::query("creating a test database"))?;
        let url = with_database(&admin_url, &name);
        // From here on, dropping `database` removes what was created, even if opening fails.
        let mut database = TestDatabase {
            store: match Store::open(&url, Some(TEST_POOL_SIZE)) {
                Ok(store) => store,
                Err(error) => {
                    drop_database(&admin_url, &name);
                    return Err(error);
                }
            },
            url,
            cleanup: Cleanup::Postgres { admin_url, name },
        };
        database.url.shrink_to_fit();
        Ok(Some(database))
    }

    /// The SQLite database and, when configured, the PostgreSQL one: run a test body for each.
    pub fn all() -> Result<Vec<TestDatabase>, StoreError> {
        let mut databases = vec![TestDatabase::sqlite()?];
        databases.extend(TestDatabase::postgres()?);
        Ok(databases)
    }

    /// The database URL, for code under test that opens its own [`Store`] (e.g. a second
    /// process's pool, or a binary's configuration).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The store opened on this database.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Which backend this database uses.
    pub fn backend(&self) -> Backend {
        self.store.backend()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Cleanup::Postgres { admin_url, name } = &self.cleanup {
            drop_database(admin_url, name);
        }
    }
}

/// Whether `RATES_TEST_REQUIRE_POSTGRES=1`: PostgreSQL tests, and whatever they need of the
/// server (e.g. TLS), must run rather than skip.
pub fn postgres_required() -> bool {
    std::env::var(REQUIRE_POSTGRES_VAR).is_ok_and(|value| matches!(value.trim(), "1" | "true"))
}

fn connect_admin(admin_url: &str) -> Result<PgConnection, StoreError> {
    PgConnection::establish(admin_url).map_err(|error| StoreError::Connect {
        backend: Backend::Postgres,
        target: format!(
            "{} (from {POSTGRES_URL_VAR}; is PostgreSQL running?)",
            redact_database_url(admin_url)
        ),
        source: Box::new(error),
    })
}

fn drop_database(admin_url: &str, name: &str) {
    let dropped = connect_admin(admin_url).and_then(|mut admin| {
        admin
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .map_err(StoreError::query("dropping a test database"))
    });
    if let Err(error) = dropped {
        eprintln!("could not drop test database {name}: {error}");
    }
}

/// `rates_test_<pid>_<random>`: only lower-case letters, digits and underscores, so it needs no
/// quoting in SQL.
fn unique_database_name() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos()),
    );
    format!("rates_test_{}_{:016x}", std::process::id(), hasher.finish())
}

/// The same server URL pointing at another database: the path is replaced, the query kept.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |index| index + 3);
    let server = match base.get(authority_start..).and_then(|rest| rest.find('/')) {
        Some(slash) => base.get(..authority_start + slash).unwrap_or(base),
        None => base,
    };
    match query {
        Some(query) => format!("{server}/{database}?{query}"),
        None => format!("{server}/{database}"),
    }
}

/// 43 days of real ECB reference rates (2026-09-02 to 2026-10-30, base EUR, 29 currencies a
/// day), newest first as in the ECB's file.
pub fn ecb_sample_tables() -> Result<Vec<RateTable>, EcbError> {
    Ok(parse_ecb_csv(include_str!("../testdata/ecb-sample.csv").as_bytes())?.tables)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_database_replaces_only_the_path() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
            "postgres://postgres@127.0.0.1:5432/x"
        );
        assert_eq!(
            with_database("postgresql://u:p@h/db?sslmode=disable", "x"),
            "postgresql://u:p@h/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
    }

    #[test]
    fn postgres_skips_only_when_not_required() {
        assert!(TestDatabase::postgres_on(None, false).unwrap().is_none());
        assert!(TestDatabase::postgres_on(Some(" ".to_owned()), false)
            .unwrap()
            .is_none());
        let error = TestDatabase::postgres_on(None, true).unwrap_err();
        assert!(error.to_string().contains(POSTGRES_URL_VAR), "{error}");
    }

    #[test]
    fn an_unreachable_postgres_fails_instead_of_skipping() {
        let unreachable = Some("postgres://postgres@127.0.0.1:1/test".to_owned());
        for required in [false, true] {
            let error = TestDatabase::postgres_on(unreachable.clone(), required).unwrap_err();
            assert!(matches!(error, StoreError::Connect { .. }), "{error}");
            assert!(
                error.to_string().contains("is PostgreSQL running?"),
                "{error}"
            );
        }
    }

    #[test]
    fn database_names_are_unique_and_safe() {
        let (a, b) = (unique_database_name(), unique_database_name());
        assert_ne!(a, b);
        assert!(a
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'));
    }

    #[test]
    fn the_ecb_sample_parses() {
        let tables = ecb_sample_tables().unwrap();
        assert_eq!(tables.len(), 43);
        let latest = &tables[0];
        assert_eq!(rates_domain::format_date(latest.date()), "2026-10-30");
        assert_eq!(
            latest.rate(rates_domain::Currency::USD).unwrap().get(),
            1.1172
        );
        assert_eq!(latest.len(), 29);
    }
}
