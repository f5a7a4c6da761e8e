//! Loading a [`Snapshot`] from the store.

use rates_domain::Currency;
use rates_store::Store;

use crate::error::SnapshotError;
use crate::snapshot::Snapshot;

impl Snapshot {
    /// Loads every table held in `base`, the currency list and the data version from `store`,
    /// in one consistent read on a connection of its own ([`Store::read_connection`]): one query
    /// for all the rates. Blocks on the database.
    pub fn load(store: &Store, base: Currency) -> Result<Snapshot, SnapshotError> {
        let read = store.read_connection()?.read_rates(base, None)?;
        Snapshot::new(base, read.tables, read.currencies, read.version)
    }
}
