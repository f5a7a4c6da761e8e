//! [`SnapshotError`]: why a snapshot could not be built or loaded.

use rates_domain::{format_date, Currency};
use rates_store::StoreError;
use time::Date;

/// Why a snapshot could not be built, changed or loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// Reading the store failed.
    #[error("cannot load the rates into memory: {0}")]
    Store(#[from] StoreError),
    /// A table is not in the snapshot's base.
    #[error("the rate table for {} is in base {found}, the snapshot holds base {expected}", format_date(*date))]
    WrongBase {
        /// The table's date.
        date: Date,
        /// The snapshot's base.
        expected: Currency,
        /// The table's base.
        found: Currency,
    },
    /// The refresher thread could not be started.
    #[error("cannot start the thread that keeps the rates in memory current: {0}")]
    Thread(std::io::Error),
    /// Two tables were given for one date.
    #[error("two rate tables were given for {}", format_date(*date))]
    DuplicateDay {
        /// The repeated date.
        date: Date,
    },
}
