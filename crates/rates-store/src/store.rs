//! The [`Store`] handle: opening, migrations, and the helpers every query goes through.

use std::fmt;
use std::sync::Arc;

use diesel::prelude::*;
use time::Date;

use crate::database_url::DatabaseUrl;
use crate::error::{Backend, StoreError};
use crate::pool::{self, Pool, PostgresPooled, SqlitePooled};
use crate::schema::{data_version, rates};

/// Runs `$body` with `$conn` bound to a pooled connection of whichever backend the store uses.
/// The body is compiled once per backend, so queries are written once.
macro_rules! with_connection {
    ($store:expr, |$conn:ident| $body:expr) => {
        match $store.pool() {
            $crate::pool::Pool::Sqlite(pool) => {
                let mut pooled = $crate::store::checkout_sqlite(pool)?;
                let $conn: &mut ::diesel::SqliteConnection = &mut pooled;
                $body
            }
            $crate::pool::Pool::Postgres(pool) => {
                let mut pooled = $crate::store::checkout_postgres(pool)?;
                let $conn: &mut ::diesel::PgConnection = &mut pooled;
                $body
            }
        }
    };
}

/// Like [`with_connection!`] inside a transaction: committed when the body returns `Ok`,
/// rolled back on `Err` (or when the connection is lost before commit).
macro_rules! in_transaction {
    ($store:expr, |$conn:ident| $body:expr) => {
        with_connection!($store, |connection| {
            ::diesel::Connection::transaction(connection, |$conn| $body)
        })
    };
}

/// A transaction that writes rates or currencies. Writers are serialised up front — SQLite by
/// `BEGIN IMMEDIATE`, PostgreSQL by a table lock that readers do not wait for — so the "read what
/// is stored, then write the difference" logic never races another writer, and a SQLite
/// transaction never has to upgrade a read lock (which fails at once, "database is locked", while
/// another connection writes).
///
/// An optional [`Flush`] (default [`Flush::OnCommit`]) lets all but the last batch of a bulk
/// write skip waiting for the disk.
macro_rules! in_rates_write_transaction {
    ($store:expr, |$conn:ident| $body:expr) => {
        in_rates_write_transaction!($store, $crate::store::Flush::OnCommit, |$conn| $body)
    };
    ($store:expr, $flush:expr, |$conn:ident| $body:expr) => {
        match $store.pool() {
            $crate::pool::Pool::Sqlite(pool) => {
                let mut pooled = $crate::store::checkout_sqlite(pool)?;
                $crate::store::with_sqlite_flush(&mut pooled, $flush, |connection| {
                    connection.immediate_transaction(|$conn| $body)
                })
            }
            $crate::pool::Pool::Postgres(pool) => {
                let mut pooled = $crate::store::checkout_postgres(pool)?;
                ::diesel::Connection::transaction(&mut *pooled, |$conn| {
                    ::diesel::connection::SimpleConnection::batch_execute(
                        $conn,
                        "LOCK TABLE rates IN SHARE ROW EXCLUSIVE MODE",
                    )
                    .map_err($crate::error::StoreError::query("locking the rates table"))?;
                    if $flush == $crate::store::Flush::WithLaterCommit {
                        ::diesel::connection::SimpleConnection::batch_execute(
                            $conn,
                            "SET LOCAL synchronous_commit = off",
                        )
                        .map_err($crate::error::StoreError::query("deferring the flush"))?;
                    }
                    $body
                })
            }
        }
    };
}

/// When a write transaction's commit must be on disk.
///
/// Each commit of a bulk write would otherwise wait for its own flush (an fsync of PostgreSQL's
/// WAL; a checkpoint, two fsyncs, whenever SQLite's WAL passes its threshold), and those waits
/// can cost more than the writing. Both logs are sequential, so the flush that makes the last
/// batch durable makes every earlier one durable too: a bulk write defers the flush of all
/// batches but the last. A crash of the application at any moment loses nothing committed; a
/// crash of the machine during a bulk write can lose its latest batches, whole, never part of
/// one, and the write was not finished anyway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flush {
    /// The commit returns once it is durable (PostgreSQL), or checkpoints the WAL into the
    /// database when the WAL has grown past its threshold (SQLite, `synchronous = NORMAL`).
    OnCommit,
    /// The commit returns without waiting for the disk; a later [`Flush::OnCommit`] covers it.
    WithLaterCommit,
}

/// Runs `write` on a SQLite connection; for [`Flush::WithLaterCommit`], with the automatic
/// checkpoint off for its commit and back to the usual threshold afterwards, whatever happened.
pub(crate) fn with_sqlite_flush<T>(
    connection: &mut diesel::SqliteConnection,
    flush: Flush,
    write: impl FnOnce(&mut diesel::SqliteConnection) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    use diesel::connection::SimpleConnection as _;
    if flush == Flush::OnCommit {
        return write(connection);
    }
    connection
        .batch_execute("PRAGMA wal_autocheckpoint = 0")
        .map_err(StoreError::query("deferring the checkpoint"))?;
    let written = write(connection);
    let restored = connection
        .batch_execute(&format!(
            "PRAGMA wal_autocheckpoint = {}",
            pool::SQLITE_WAL_AUTOCHECKPOINT_PAGES
        ))
        .map_err(StoreError::query("restoring the checkpoint threshold"));
    let written = written?;
    restored?;
    Ok(written)
}

/// Access to stored rate tables, currencies, API keys and the ingest lock, in SQLite or
/// PostgreSQL. Cheap to clone (clones share one connection pool); safe to share between threads.
///
/// Every method blocks on the database: call it from a blocking context (`web::block`,
/// `spawn_blocking`), never directly on an async worker.
#[derive(Clone)]
pub struct Store {
    pool: Pool,
    target: Arc<str>,
    /// For connections outside the pool ([`Store::read_connection`]).
    url: Arc<DatabaseUrl>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend())
            .field("database", &self.target)
            .finish()
    }
}

pub(crate) fn checkout_sqlite(
    pool: &diesel::r2d2::Pool<pool::SqliteManager>,
) -> Result<SqlitePooled, StoreError> {
    pool.get().map_err(|error| StoreError::Pool {
        backend: Backend::Sqlite,
        source: Box::new(error),
    })
}

pub(crate) fn checkout_postgres(
    pool: &diesel::r2d2::Pool<pool::PostgresManager>,
) -> Result<PostgresPooled, StoreError> {
    pool.get().map_err(|error| StoreError::Pool {
        backend: Backend::Postgres,
        source: Box::new(error),
    })
}

impl Store {
    /// Opens the database at `url` and applies any pending migrations.
    ///
    /// `url` is a SQLite file path (optionally prefixed `sqlite://`; the file is created if
    /// missing, its directory must exist) or a `postgres://` / `postgresql://` URL.
    /// `pool_size` defaults to 8 connections for SQLite and 10 for PostgreSQL.
    pub fn open(url: &str, pool_size: Option<u32>) -> Result<Store, StoreError> {
        Store::build(url, pool_size, true)
    }

    /// Like [`Store::open`] but without migrating, for inspecting or migrating explicitly
    /// (`rates-cli migrate`).
    pub fn connect(url: &str, pool_size: Option<u32>) -> Result<Store, StoreError> {
        Store::build(url, pool_size, false)
    }

    fn build(url: &str, pool_size: Option<u32>, migrate: bool) -> Result<Store, StoreError> {
        let url = DatabaseUrl::parse(url)?;
        let pool = pool::open_pool(&url, pool_size, migrate)?;
        log::debug!("opened {} database {}", url.backend(), url.describe());
        Ok(Store {
            pool,
            target: Arc::from(url.describe()),
            url: Arc::new(url),
        })
    }

    pub(crate) fn pool(&self) -> &Pool {
        &self.pool
    }

    pub(crate) fn url(&self) -> &DatabaseUrl {
        &self.url
    }

    /// Which backend the URL selected.
    pub fn backend(&self) -> Backend {
        match self.pool {
            Pool::Sqlite(_) => Backend::Sqlite,
            Pool::Postgres(_) => Backend::Postgres,
        }
    }

    /// The database described without credentials (e.g. `file data/rates.sqlite3`).
    pub fn describe(&self) -> &str {
        &self.target
    }

    /// The file a SQLite `url` names (`None` for PostgreSQL or a URL that is not valid), so that
    /// a caller can tell whether opening it will create it.
    pub fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
        match DatabaseUrl::parse(url).ok()? {
            DatabaseUrl::Sqlite(path) => Some(path),
            DatabaseUrl::Postgres(_) => None,
        }
    }

    /// Where the database at `url` stands with the embedded migrations, changing nothing: a
    /// SQLite file that does not exist is not created (every migration is then pending), and
    /// nothing is applied. For `rates-cli migrate --status`.
    pub fn migration_status(url: &str) -> Result<MigrationStatus, StoreError> {
        if let DatabaseUrl::Sqlite(path) = DatabaseUrl::parse(url)? {
            if !path.exists() {
                return Ok(MigrationStatus {
                    exists: false,
                    applied: Vec::new(),
                    pending: pool::embedded_names(Backend::Sqlite)?,
                });
            }
        }
        let store = Store::connect(url, Some(1))?;
        Ok(MigrationStatus {
            exists: true,
            applied: store.applied_migrations()?,
            pending: store.pending_migrations()?,
        })
    }

    /// Names of the embedded migrations not yet applied to the database.
    pub fn pending_migrations(&self) -> Result<Vec<String>, StoreError> {
        match self.pool() {
            Pool::Sqlite(pool) => pool::pending_sqlite(&mut *checkout_sqlite(pool)?),
            Pool::Postgres(pool) => pool::pending_postgres(&mut *checkout_postgres(pool)?),
        }
    }

    /// Names of the migrations applied to the database (`2026-11-28-000001_create_rates`, the
    /// same form as [`Store::pending_migrations`]), oldest first.
    pub fn applied_migrations(&self) -> Result<Vec<String>, StoreError> {
        match self.pool() {
            Pool::Sqlite(pool) => pool::applied_sqlite(&mut *checkout_sqlite(pool)?),
            Pool::Postgres(pool) => pool::applied_postgres(&mut *checkout_postgres(pool)?),
        }
    }

    /// Applies pending migrations and returns the names of those applied (empty when up to date).
    pub fn run_pending_migrations(&self) -> Result<Vec<String>, StoreError> {
        match self.pool() {
            Pool::Sqlite(pool) => pool::run_sqlite_migrations(&mut *checkout_sqlite(pool)?),
            Pool::Postgres(pool) => pool::run_postgres_migrations(&mut *checkout_postgres(pool)?),
        }
    }

    /// A cheap check that the database answers: the latest date held in any base, or `None`
    /// when no rates are stored yet.
    pub fn health(&self) -> Result<Option<Date>, StoreError> {
        with_connection!(self, |conn| {
            rates::table
                .select(rates::date)
                .order(rates::date.desc())
                .first::<Date>(conn)
                .optional()
                .map_err(StoreError::query("checking the database"))
        })
    }

    /// A counter that grows whenever a write changes stored rates; equal values mean nothing
    /// changed in between, so HTTP responses can be cached against it.
    pub fn data_version(&self) -> Result<i64, StoreError> {
        with_connection!(self, |conn| {
            data_version::table
                .select(data_version::version)
                .find(1)
                .first::<i64>(conn)
                .optional()
                .map_err(StoreError::query("reading the data version"))?
                .ok_or_else(|| StoreError::corrupt("the data_version row is missing"))
        })
    }
}

/// Applied and pending migrations of a database, by name; see [`Store::migration_status`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    /// Whether the database exists (always true for PostgreSQL, whose database must).
    pub exists: bool,
    /// Applied migrations, oldest first.
    pub applied: Vec<String>,
    /// Embedded migrations not applied yet, oldest first.
    pub pending: Vec<String>,
}
