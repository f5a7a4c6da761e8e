//! Integration tests of the store against real databases: every test runs on a temporary SQLite
//! file and, when `RATES_TEST_POSTGRES_URL` is set, on a fresh PostgreSQL database (without it,
//! the PostgreSQL tests show as `ignored`, with the reason).

// The test bodies are plain functions called from generated #[test]s, so clippy's test
// exemptions do not reach them.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

/// Generates, for each named `fn(&TestDatabase) -> TestResult` in the invoking module, a module
/// of the same name with one test per backend.
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[test]
            fn sqlite() -> $crate::helpers::TestResult {
                let database = ::rates_store::testing::TestDatabase::sqlite()?;
                super::$name(&database)
            }

            #[test]
            #[cfg_attr(
                not(rates_test_postgres),
                ignore = "PostgreSQL skipped: RATES_TEST_POSTGRES_URL is not set"
            )]
            fn postgres() -> $crate::helpers::TestResult {
                match ::rates_store::testing::TestDatabase::postgres()? {
                    Some(database) => super::$name(&database),
                    None => Ok(()),
                }
            }
        }
    )*};
}

mod api_keys;
mod concurrency;
mod connection;
mod failures;
mod helpers;
mod ingest_lease;
mod read_connection;
mod reads;
mod tls;
mod writes;
