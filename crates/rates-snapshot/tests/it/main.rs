//! Integration tests of rates-snapshot against real databases (SQLite always, PostgreSQL when
//! `RATES_TEST_POSTGRES_URL` is set).

mod load;
mod refresh;

/// The tests that use `TestDatabase::all` run on PostgreSQL as well when it is configured. This
/// one shows in the summary as `ignored`, with the reason, when it is not, and fails when it is
/// configured but unusable.
#[test]
#[cfg_attr(
    not(rates_test_postgres),
    ignore = "PostgreSQL skipped: RATES_TEST_POSTGRES_URL is not set"
)]
fn postgresql_is_tested_too() -> Result<(), Box<dyn std::error::Error>> {
    let database = rates_store::testing::TestDatabase::postgres()?
        .ok_or("RATES_TEST_POSTGRES_URL is not set")?;
    assert_eq!(database.backend(), rates_store::Backend::Postgres);
    Ok(())
}
