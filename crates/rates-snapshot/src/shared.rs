//! [`SharedSnapshot`]: the current [`Snapshot`], shared by every thread and replaced atomically.

use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwap;
use rates_domain::Currency;
use rates_store::{Store, StoredRateTable};

use crate::error::SnapshotError;
use crate::snapshot::Snapshot;

/// The current [`Snapshot`], shared by every thread: cheap to clone (clones share it).
///
/// Readers call [`SharedSnapshot::current`], which never blocks (an atomic pointer load through
/// `arc-swap`), and keep the `Arc<Snapshot>` for the whole request so every answer is computed
/// from one consistent state. Writers ([`SharedSnapshot::replace`],
/// [`SharedSnapshot::insert_days`], [`SharedSnapshot::update`]) build a new snapshot and swap it
/// in; they are serialised among themselves so no change is lost, and readers never wait for
/// them.
#[derive(Debug, Clone)]
pub struct SharedSnapshot {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    current: ArcSwap<Snapshot>,
    /// Held while a writer builds the next snapshot from the current one.
    writer: Mutex<()>,
}

impl SharedSnapshot {
    /// Shares `snapshot`.
    pub fn new(snapshot: Snapshot) -> SharedSnapshot {
        SharedSnapshot {
            inner: Arc::new(Inner {
                current: ArcSwap::from_pointee(snapshot),
                writer: Mutex::new(()),
            }),
        }
    }

    /// Loads every table held in `base` from `store` ([`Snapshot::load`]) and shares it.
    /// Blocks on the database.
    pub fn load(store: &Store, base: Currency) -> Result<SharedSnapshot, SnapshotError> {
        Ok(SharedSnapshot::new(Snapshot::load(store, base)?))
    }

    /// The current snapshot. Never blocks; hold the `Arc` for the whole computation of an
    /// answer.
    pub fn current(&self) -> Arc<Snapshot> {
        self.inner.current.load_full()
    }

    /// Replaces the current snapshot with `snapshot`.
    pub fn replace(&self, snapshot: Snapshot) {
        let _writing = self.lock_writer();
        self.inner.current.store(Arc::new(snapshot));
    }

    /// Replaces the current snapshot with `change(current)`, unless `change` fails; writers are
    /// serialised, so `change` always sees the latest snapshot.
    pub fn update(
        &self,
        change: impl FnOnce(&Snapshot) -> Result<Snapshot, SnapshotError>,
    ) -> Result<Arc<Snapshot>, SnapshotError> {
        let _writing = self.lock_writer();
        let next = Arc::new(change(&self.inner.current.load())?);
        self.inner.current.store(Arc::clone(&next));
        Ok(next)
    }

    /// Adds days just stored (or replaces the same dates), so they are served at once instead of
    /// after the next refresh (see [`Snapshot::with_days`]). `stored` is what the store holds
    /// after the write, e.g. from [`Store::rate_table`].
    pub fn insert_days(&self, stored: Vec<StoredRateTable>) -> Result<(), SnapshotError> {
        self.update(|current| current.with_days(stored)).map(drop)
    }

    fn lock_writer(&self) -> std::sync::MutexGuard<'_, ()> {
        self.inner
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}
