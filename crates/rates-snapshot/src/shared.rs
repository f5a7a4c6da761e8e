//! [`SharedSnapshot`]: the current [`Snapshot`] and API keys, shared by every thread, replaced
//! atomically, and kept current by a refresher thread.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use rates_domain::{ApiKeyHash, Currency};
use rates_store::{ActiveApiKey, Store, StoredRateTable};

use crate::error::SnapshotError;
use crate::refresh::{self, RefreshConfig};
use crate::snapshot::Snapshot;

/// The current [`Snapshot`] (and the active API keys), shared by every thread: cheap to clone
/// (clones share it).
///
/// Readers call [`SharedSnapshot::current`], which never blocks (an atomic pointer load through
/// `arc-swap`), and keep the `Arc<Snapshot>` for the whole request so every answer is computed
/// from one consistent state. Writers ([`SharedSnapshot::replace`],
/// [`SharedSnapshot::insert_days`], [`SharedSnapshot::update`]) build a new snapshot and swap it
/// in; they are serialised among themselves so no change is lost, and readers never wait for
/// them.
///
/// [`SharedSnapshot::start`] loads everything and starts a refresher thread that keeps it
/// current (see [`crate::RefreshConfig`]); [`SharedSnapshot::status`] says whether the database
/// answered lately and how old the snapshot may be.
#[derive(Debug, Clone)]
pub struct SharedSnapshot {
    inner: Arc<Inner>,
}

#[derive(Debug)]
pub(crate) struct Inner {
    current: ArcSwap<Snapshot>,
    keys: ArcSwap<ApiKeys>,
    /// Held while a writer builds the next snapshot from the current one.
    writer: Mutex<()>,
    sync: Mutex<SyncState>,
    /// How long after its last successful check the database counts as unavailable even
    /// without an error (a check that hangs).
    stale_after: Duration,
}

#[derive(Debug, Clone, Copy)]
struct SyncState {
    /// When the snapshot was last confirmed to match the database.
    confirmed_at: Instant,
    /// Whether the last check failed.
    failing: bool,
}

/// The active API keys as the read model holds them: looked up by hash, in memory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiKeys {
    ids: HashMap<String, i64>,
}

impl ApiKeys {
    /// Keys from the store's list of active keys.
    pub fn new(active: Vec<ActiveApiKey>) -> ApiKeys {
        ApiKeys {
            ids: active
                .into_iter()
                .map(|key| (key.key_hash, key.id))
                .collect(),
        }
    }

    /// The id of the active key with this hash, if any.
    pub fn id_of(&self, hash: &ApiKeyHash) -> Option<i64> {
        self.ids.get(hash.as_str()).copied()
    }

    /// Number of active keys.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether no key is active.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// Whether the database answered the refresher's last check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseState {
    /// The last check succeeded, recently.
    Ok,
    /// The last check failed, or none succeeded lately: answers come from the snapshot as it
    /// was at [`SyncStatus::age`] ago.
    Unavailable,
}

impl DatabaseState {
    /// `ok` or `unavailable`, as `/health` reports it.
    pub fn as_str(self) -> &'static str {
        match self {
            DatabaseState::Ok => "ok",
            DatabaseState::Unavailable => "unavailable",
        }
    }
}

/// What [`SharedSnapshot::status`] reports: read from memory, never from the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncStatus {
    /// Whether the database answered lately.
    pub database: DatabaseState,
    /// How long ago the snapshot was last confirmed to match the database: at most the refresh
    /// interval while the database answers; growing while it does not.
    pub age: Duration,
    /// The data version the snapshot reflects.
    pub version: i64,
}

impl SharedSnapshot {
    /// Shares `snapshot` (no API keys, no refresher): for tests and tools that build snapshots
    /// themselves.
    pub fn new(snapshot: Snapshot) -> SharedSnapshot {
        SharedSnapshot::with_keys(snapshot, ApiKeys::default(), RefreshConfig::default())
    }

    fn with_keys(snapshot: Snapshot, keys: ApiKeys, config: RefreshConfig) -> SharedSnapshot {
        SharedSnapshot {
            inner: Arc::new(Inner {
                current: ArcSwap::from_pointee(snapshot),
                keys: ArcSwap::from_pointee(keys),
                writer: Mutex::new(()),
                sync: Mutex::new(SyncState {
                    confirmed_at: Instant::now(),
                    failing: false,
                }),
                stale_after: config.stale_after,
            }),
        }
    }

    /// Loads every table held in `base` from `store` ([`Snapshot::load`]) and shares it, without
    /// a refresher. Blocks on the database.
    pub fn load(store: &Store, base: Currency) -> Result<SharedSnapshot, SnapshotError> {
        Ok(SharedSnapshot::new(Snapshot::load(store, base)?))
    }

    /// Loads every table held in `base` and the active API keys from `store`, shares them, and
    /// starts a refresher thread that keeps them current as `config` says: a write by any
    /// process reaches the snapshot within one `config.interval` (plus the time to read the
    /// changed days); while the database is unreachable the snapshot stays as it was and
    /// [`SharedSnapshot::status`] says so, and the refresher reconnects by itself. The thread
    /// ends once every clone of the returned value is dropped.
    ///
    /// Blocks on the database for the initial load; an error here means nothing can be served.
    pub fn start(
        store: Store,
        base: Currency,
        config: RefreshConfig,
    ) -> Result<SharedSnapshot, SnapshotError> {
        let mut connection = store.read_connection()?;
        let started = Instant::now();
        let read = connection.read_rates(base, None)?;
        let keys = ApiKeys::new(connection.active_api_keys()?);
        let snapshot = Snapshot::from_read(base, read)?;
        log::info!(
            "loaded {} rates of {} days into memory in {} ms (data version {})",
            snapshot.rate_count(),
            snapshot.len(),
            started.elapsed().as_millis(),
            snapshot.version()
        );
        let shared = SharedSnapshot::with_keys(snapshot, keys, config);
        refresh::spawn(
            Arc::downgrade(&shared.inner),
            store,
            Some(connection),
            config,
        )?;
        Ok(shared)
    }

    /// The current snapshot. Never blocks; hold the `Arc` for the whole computation of an
    /// answer.
    pub fn current(&self) -> Arc<Snapshot> {
        self.inner.current.load_full()
    }

    /// The generation of the current snapshot ([`Snapshot::generation`]), without taking a
    /// reference to it: cheaper than `current().generation()` for a caller that needs no more,
    /// as no count shared between threads is touched.
    pub fn generation(&self) -> u64 {
        self.inner.current.load().generation()
    }

    /// The active API keys. Never blocks.
    pub fn keys(&self) -> Arc<ApiKeys> {
        self.inner.keys.load_full()
    }

    /// Whether the database answered lately, and how old the snapshot may be. From memory only:
    /// answers at once whatever the database does.
    pub fn status(&self) -> SyncStatus {
        self.inner.status()
    }

    /// Replaces the current snapshot with `snapshot`.
    pub fn replace(&self, snapshot: Snapshot) {
        self.inner.replace(snapshot);
    }

    /// Replaces the current snapshot with `change(current)`, unless `change` fails; writers are
    /// serialised, so `change` always sees the latest snapshot.
    pub fn update(
        &self,
        change: impl FnOnce(&Snapshot) -> Result<Snapshot, SnapshotError>,
    ) -> Result<Arc<Snapshot>, SnapshotError> {
        self.inner.update(change)
    }

    /// Adds days just stored (or replaces the same dates), so they are served at once instead of
    /// after the next refresh (see [`Snapshot::with_days`]). `stored` is what the store holds
    /// after the write, e.g. from [`Store::rate_table`].
    pub fn insert_days(&self, stored: Vec<StoredRateTable>) -> Result<(), SnapshotError> {
        self.update(|current| current.with_days(stored)).map(drop)
    }
}

impl Inner {
    pub(crate) fn current(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    pub(crate) fn replace(&self, snapshot: Snapshot) {
        let _writing = self.lock_writer();
        self.current.store(Arc::new(snapshot));
    }

    pub(crate) fn update(
        &self,
        change: impl FnOnce(&Snapshot) -> Result<Snapshot, SnapshotError>,
    ) -> Result<Arc<Snapshot>, SnapshotError> {
        let _writing = self.lock_writer();
        let next = Arc::new(change(&self.current.load())?);
        self.current.store(Arc::clone(&next));
        Ok(next)
    }

    pub(crate) fn replace_keys(&self, keys: ApiKeys) {
        if **self.keys.load() != keys {
            self.keys.store(Arc::new(keys));
        }
    }

    /// Records a successful check; returns whether the database was failing before.
    pub(crate) fn confirmed(&self) -> bool {
        let mut sync = self.sync.lock().unwrap_or_else(PoisonError::into_inner);
        let was_failing = sync.failing;
        *sync = SyncState {
            confirmed_at: Instant::now(),
            failing: false,
        };
        was_failing
    }

    /// Records a failed check; returns whether the database was answering before.
    pub(crate) fn failed(&self) -> bool {
        let mut sync = self.sync.lock().unwrap_or_else(PoisonError::into_inner);
        let was_ok = !sync.failing;
        sync.failing = true;
        was_ok
    }

    fn status(&self) -> SyncStatus {
        let sync = *self.sync.lock().unwrap_or_else(PoisonError::into_inner);
        let age = sync.confirmed_at.elapsed();
        let database = if sync.failing || age > self.stale_after {
            DatabaseState::Unavailable
        } else {
            DatabaseState::Ok
        };
        SyncStatus {
            database,
            age,
            version: self.current.load().version(),
        }
    }

    fn lock_writer(&self) -> std::sync::MutexGuard<'_, ()> {
        self.writer.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
