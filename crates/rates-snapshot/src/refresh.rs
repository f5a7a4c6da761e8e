//! The refresher: one thread per [`crate::SharedSnapshot`] that polls the store's data version
//! on a connection of its own and reloads only the days that changed.
//!
//! Why polling a counter rather than PostgreSQL's LISTEN/NOTIFY: the data version is one
//! primary-key read (tens of microseconds), so polling it every 200 ms costs nothing and bounds
//! the delay as tightly as a notification would, with the same code for SQLite (where
//! `PRAGMA data_version` would also need a poll) and PostgreSQL; NOTIFY would need a trigger or
//! a statement in every writer and a socket wait that diesel does not offer. The poll doubles as
//! the database's liveness check for `/health`. The refresher never blocks readers: it builds
//! the next snapshot beside the current one and swaps it in.

use std::sync::Weak;
use std::thread;
use std::time::{Duration, Instant};

use rates_store::{ReadConnection, Store};

use crate::error::SnapshotError;
use crate::shared::{ApiKeys, Inner};
use crate::snapshot::Snapshot;

/// How the refresher keeps a [`crate::SharedSnapshot`] current.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefreshConfig {
    /// How often the data version is compared (and, after a failure, a reconnect tried): the
    /// bound on how long a write takes to reach the snapshot, plus the reading of the days it
    /// changed.
    pub interval: Duration,
    /// How often the active API keys are read again: the bound on how long a revoked key keeps
    /// working.
    pub keys_interval: Duration,
    /// How long after the last successful check the database is reported unavailable even if no
    /// check has failed yet (one that hangs).
    pub stale_after: Duration,
}

impl Default for RefreshConfig {
    fn default() -> RefreshConfig {
        RefreshConfig {
            interval: Duration::from_millis(200),
            keys_interval: Duration::from_secs(1),
            stale_after: Duration::from_secs(2),
        }
    }
}

/// Starts the refresher thread; it ends when `shared` can no longer be upgraded.
pub(crate) fn spawn(
    shared: Weak<Inner>,
    store: Store,
    connection: Option<ReadConnection>,
    config: RefreshConfig,
) -> Result<(), SnapshotError> {
    let mut refresher = Refresher {
        store,
        connection,
        config,
        keys_read_at: Instant::now(),
    };
    thread::Builder::new()
        .name("rates-snapshot-refresh".to_owned())
        .spawn(move || loop {
            thread::sleep(config.interval);
            let Some(inner) = shared.upgrade() else {
                return;
            };
            refresher.tick(&inner);
        })
        .map_err(SnapshotError::Thread)?;
    Ok(())
}

struct Refresher {
    store: Store,
    connection: Option<ReadConnection>,
    config: RefreshConfig,
    keys_read_at: Instant,
}

impl Refresher {
    fn tick(&mut self, inner: &Inner) {
        match self.refresh(inner) {
            Ok(()) => {
                if inner.confirmed() {
                    log::info!(
                        "the database answers again; the in-memory rates are current (data version {})",
                        inner.current().version()
                    );
                }
            }
            Err(error) => {
                // A new connection next time: this one may be broken.
                self.connection = None;
                if inner.failed() {
                    log::warn!(
                        "the database does not answer; serving the rates held in memory until it does: {error}"
                    );
                }
            }
        }
    }

    fn refresh(&mut self, inner: &Inner) -> Result<(), SnapshotError> {
        let connection = match &mut self.connection {
            Some(connection) => connection,
            slot @ None => slot.insert(self.store.read_connection()?),
        };
        let version = connection.data_version()?;
        let current = inner.current();
        if version != current.version() {
            let started = Instant::now();
            let base = current.base();
            if version > current.version() {
                let read = connection.read_rates(base, Some(current.version()))?;
                let days = read.tables.len();
                inner.update(|latest| latest.with_read_changes(read))?;
                log::info!(
                    "reloaded {days} changed days into memory in {} ms (data version {version})",
                    started.elapsed().as_millis()
                );
            } else {
                // The counter went back: another database, or one restored from a backup.
                let read = connection.read_rates(base, None)?;
                let snapshot = Snapshot::from_read(base, read)?;
                let days = snapshot.len();
                inner.replace(snapshot);
                log::info!(
                    "the data version went back; reloaded all {days} days in {} ms",
                    started.elapsed().as_millis()
                );
            }
        }
        if self.keys_read_at.elapsed() >= self.config.keys_interval {
            let keys = connection.active_api_keys()?;
            inner.replace_keys(ApiKeys::new(keys));
            self.keys_read_at = Instant::now();
        }
        Ok(())
    }
}
