//! Loading a [`Snapshot`] from the store.

use rates_domain::Currency;
use rates_store::{RatesRead, Store};
use time::Date;

use crate::error::SnapshotError;
use crate::snapshot::Snapshot;

impl Snapshot {
    /// Loads every table held in `base`, the currency list and the data version from `store`,
    /// in one consistent read on a connection of its own ([`Store::read_connection`]): one query
    /// for all the rates. Blocks on the database.
    pub fn load(store: &Store, base: Currency) -> Result<Snapshot, SnapshotError> {
        let read = store.read_connection()?.read_rates(base, None)?;
        Snapshot::from_read(base, read)
    }

    /// A snapshot of everything a full read of the store holds
    /// ([`rates_store::ReadConnection::read_rates`] without `changed_since`): tables, day
    /// histories, currencies and data version.
    pub fn from_read(base: Currency, read: RatesRead) -> Result<Snapshot, SnapshotError> {
        Snapshot::new(base, read.tables, read.currencies, read.version)?
            .with_histories([], read.histories)
    }

    /// This snapshot with a read of the days changed since its version applied: their tables
    /// and histories replaced, the currencies and the data version taken from the read.
    pub fn with_read_changes(&self, read: RatesRead) -> Result<Snapshot, SnapshotError> {
        let changed: Vec<Date> = read
            .tables
            .iter()
            .map(|stored| stored.table.date())
            .collect();
        self.with_changes(read.tables, read.currencies, read.version)?
            .with_histories(changed, read.histories)
    }
}
