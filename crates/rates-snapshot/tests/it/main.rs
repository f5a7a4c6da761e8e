//! Integration tests of rates-snapshot against real databases (SQLite always, PostgreSQL when
//! `RATES_TEST_POSTGRES_URL` is set).

mod load;
mod refresh;
