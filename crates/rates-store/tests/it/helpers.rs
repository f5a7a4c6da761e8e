//! Shared fixtures.

use std::collections::BTreeMap;

use rates_domain::{Currency, Rate, RateTable};
use time::Date;

pub type TestResult = Result<(), Box<dyn std::error::Error>>;

pub fn code(text: &str) -> Currency {
    Currency::parse(text).unwrap()
}

/// A EUR-based table from `(code, value)` pairs.
pub fn eur_table(date: Date, rates: &[(&str, f64)]) -> RateTable {
    RateTable::from_raw(date, Currency::EUR, rates.iter().copied()).unwrap()
}

/// The table's rates without the base's own entry (which the store does not keep).
pub fn quoted_rates(table: &RateTable) -> BTreeMap<Currency, Rate> {
    table
        .rates()
        .iter()
        .filter(|(currency, _)| **currency != table.base())
        .map(|(currency, rate)| (*currency, *rate))
        .collect()
}

/// Runs SQL directly on the test database, for setting up situations the store's API cannot
/// create (corrupt rows, injected failures, abandoned transactions).
pub fn execute_raw(url: &str, sql: &str) -> TestResult {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    if url.starts_with("postgres") {
        diesel::PgConnection::establish(url)?.batch_execute(sql)?;
    } else {
        let path = url.strip_prefix("sqlite://").unwrap_or(url);
        diesel::SqliteConnection::establish(path)?.batch_execute(sql)?;
    }
    Ok(())
}
