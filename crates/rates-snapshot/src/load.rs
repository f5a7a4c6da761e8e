//! Loading a [`Snapshot`] from the store.

use rates_domain::{Currency, DateRange};
use rates_store::Store;
use time::macros::date;
use time::Date;

/// The dates every backend can compare against (PostgreSQL refuses years before 4713 BC, which
/// `Date::MIN` is); rates are only ever stored well inside them.
const FIRST_DATE: Date = date!(0001 - 01 - 01);
/// See [`FIRST_DATE`].
const LAST_DATE: Date = date!(9999 - 12 - 31);

use crate::error::SnapshotError;
use crate::snapshot::Snapshot;

impl Snapshot {
    /// Loads every table held in `base`, the currency list and the data version from `store`.
    /// Blocks on the database (one query for all the rates).
    ///
    /// The data version is read first: a write that lands while the rates are read is then
    /// newer than the version recorded, and the next refresh reads it again rather than missing
    /// it.
    pub fn load(store: &Store, base: Currency) -> Result<Snapshot, SnapshotError> {
        let version = store.data_version()?;
        let everything = DateRange::new(FIRST_DATE, LAST_DATE).map_err(|error| {
            rates_store::StoreError::InvalidInput {
                reason: error.to_string(),
            }
        })?;
        let tables = store.rate_tables_between(everything, base)?;
        let currencies = store.currencies()?;
        Snapshot::new(base, tables, currencies, version)
    }
}
