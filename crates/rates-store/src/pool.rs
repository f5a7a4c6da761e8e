//! Opening connection pools for either backend, per-connection SQLite settings, and the
//! embedded migrations.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::migration::MigrationSource;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool as R2d2Pool, PooledConnection};
use diesel::{Connection, PgConnection, SqliteConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::database_url::DatabaseUrl;
use crate::error::{Backend, StoreError};

pub(crate) const SQLITE_MIGRATIONS: EmbeddedMigrations =
    embed_migrations!("../../migrations/sqlite");
pub(crate) const POSTGRES_MIGRATIONS: EmbeddedMigrations =
    embed_migrations!("../../migrations/postgres");

/// Connections when the caller gives no pool size. SQLite serialises writers but serves
/// readers in parallel under WAL, so a handful is plenty; PostgreSQL gets r2d2's usual 10.
pub(crate) const DEFAULT_SQLITE_POOL_SIZE: u32 = 8;
/// See [`DEFAULT_SQLITE_POOL_SIZE`].
pub(crate) const DEFAULT_POSTGRES_POOL_SIZE: u32 = 10;

/// How long a caller waits for a free pooled connection before getting an error.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a SQLite statement waits for another process's write lock before failing with
/// `database is locked`. Writes hold the lock for one batch (well under a second).
const SQLITE_BUSY_TIMEOUT_MS: u32 = 10_000;

/// WAL pages after which a commit checkpoints the WAL into the database file (SQLite's own
/// default, set explicitly because bulk writes turn it off for a while; see `store::Flush`).
pub(crate) const SQLITE_WAL_AUTOCHECKPOINT_PAGES: u32 = 1000;

/// Key of the PostgreSQL advisory lock taken while migrating, so two processes starting at once
/// do not apply the same migration twice. Any constant unlikely to be used by others.
const POSTGRES_MIGRATION_LOCK_KEY: i64 = 0x7261_7465_735f_6d67; // "rates_mg"

pub(crate) type SqliteManager = ConnectionManager<SqliteConnection>;
pub(crate) type PostgresManager = ConnectionManager<PgConnection>;
pub(crate) type SqlitePooled = PooledConnection<SqliteManager>;
pub(crate) type PostgresPooled = PooledConnection<PostgresManager>;

/// A pool of connections to one of the backends.
#[derive(Clone)]
pub(crate) enum Pool {
    Sqlite(R2d2Pool<SqliteManager>),
    Postgres(R2d2Pool<PostgresManager>),
}

/// Applies the per-connection SQLite settings (busy timeout, foreign keys, synchronous mode)
/// to every connection the pool opens: these pragmas do not persist in the file.
#[derive(Debug, Clone, Copy)]
struct SqliteConnectionSetup;

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for SqliteConnectionSetup {
    fn on_acquire(&self, connection: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        apply_sqlite_pragmas(connection).map_err(diesel::r2d2::Error::QueryError)
    }
}

pub(crate) fn apply_sqlite_pragmas(connection: &mut SqliteConnection) -> diesel::QueryResult<()> {
    // busy_timeout first, so the following statements already wait instead of failing.
    // journal_mode is a no-op once the file is in WAL (set when the store opens it), and puts
    // it back if something outside switched it. synchronous=NORMAL is durable across
    // application crashes in WAL mode and avoids an fsync per commit.
    connection.batch_execute(&format!(
        "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}; \
         PRAGMA journal_mode = WAL; \
         PRAGMA foreign_keys = ON; \
         PRAGMA synchronous = NORMAL; \
         PRAGMA wal_autocheckpoint = {SQLITE_WAL_AUTOCHECKPOINT_PAGES};"
    ))
}

/// Opens a pool; with `migrate`, first applies pending migrations on a dedicated connection.
pub(crate) fn open_pool(
    url: &DatabaseUrl,
    pool_size: Option<u32>,
    migrate: bool,
) -> Result<Pool, StoreError> {
    if pool_size == Some(0) {
        return Err(StoreError::InvalidInput {
            reason: "the database pool size must be at least 1".to_owned(),
        });
    }
    match url {
        DatabaseUrl::Sqlite(path) => open_sqlite(url, path, pool_size, migrate),
        DatabaseUrl::Postgres(postgres_url) => open_postgres(url, postgres_url, pool_size, migrate),
    }
}

/// A failure to open `url`. The driver's message is kept as text with the URL's passwords
/// masked: libpq quotes parts of a URL it cannot read.
pub(crate) fn connect_error(url: &DatabaseUrl, source: impl std::fmt::Display) -> StoreError {
    StoreError::Connect {
        backend: url.backend(),
        target: url.describe(),
        source: url.scrub(&source.to_string()).into(),
    }
}

fn pool_error(backend: Backend, error: r2d2::Error) -> StoreError {
    StoreError::Pool {
        backend,
        source: Box::new(error),
    }
}

fn open_sqlite(
    url: &DatabaseUrl,
    path: &Path,
    pool_size: Option<u32>,
    migrate: bool,
) -> Result<Pool, StoreError> {
    let Some(path_text) = path.to_str() else {
        return Err(StoreError::InvalidUrl {
            reason: format!("the SQLite path {} is not valid UTF-8", path.display()),
        });
    };
    if let Some(parent) = path
        .parent()
        .filter(|parent| !parent.as_os_str().is_empty())
    {
        if !parent.is_dir() {
            return Err(connect_error(
                url,
                format!(
                    "the directory {} does not exist; create it first",
                    parent.display()
                ),
            ));
        }
    }
    create_private_file(path).map_err(|error| connect_error(url, error))?;
    let mut connection =
        SqliteConnection::establish(path_text).map_err(|error| connect_error(url, error))?;
    // WAL lets readers proceed while a writer holds the lock; it persists in the file.
    apply_sqlite_pragmas(&mut connection).map_err(|error| connect_error(url, error))?;
    if migrate {
        run_sqlite_migrations(&mut connection)?;
    }
    drop(connection);

    let pool = R2d2Pool::builder()
        .max_size(pool_size.unwrap_or(DEFAULT_SQLITE_POOL_SIZE))
        .min_idle(Some(1))
        .connection_timeout(CHECKOUT_TIMEOUT)
        .connection_customizer(Box::new(SqliteConnectionSetup))
        .build(SqliteManager::new(path_text))
        .map_err(|error| pool_error(Backend::Sqlite, error))?;
    Ok(Pool::Sqlite(pool))
}

/// Mode of a database file the store creates: owner only, since it holds API-key hashes.
#[cfg(unix)]
const DATABASE_FILE_MODE: u32 = 0o600;

/// Creates a missing SQLite file with [`DATABASE_FILE_MODE`] before SQLite opens it: SQLite
/// would create it 0644 (whatever the umask), and it gives the WAL and shared-memory files
/// it creates later the database file's mode, so they follow. An existing file keeps the mode
/// the operator gave it (e.g. 0640 for a backup group).
#[cfg(unix)]
fn create_private_file(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let created = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(DATABASE_FILE_MODE)
        .open(path);
    match created {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(error),
    }
}

/// Elsewhere the file's access is left to the directory's permissions.
#[cfg(not(unix))]
fn create_private_file(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

fn open_postgres(
    url: &DatabaseUrl,
    postgres_url: &str,
    pool_size: Option<u32>,
    migrate: bool,
) -> Result<Pool, StoreError> {
    // One direct connection first: it fails fast with libpq's own message, where the pool
    // would retry until its timeout.
    let mut connection =
        PgConnection::establish(postgres_url).map_err(|error| connect_error(url, error))?;
    if migrate {
        run_postgres_migrations(&mut connection)?;
    }
    drop(connection);

    // No idle connections kept in reserve: r2d2 replenishes a reserve from a background thread,
    // and a short-lived process (rates-cli) would then exit while that thread is inside libpq's
    // TLS handshake, racing OpenSSL's exit-time cleanup (a crash at exit). Connections are made
    // when asked for, by a thread that waits for them.
    let pool = R2d2Pool::builder()
        .max_size(pool_size.unwrap_or(DEFAULT_POSTGRES_POOL_SIZE))
        .min_idle(Some(0))
        .connection_timeout(CHECKOUT_TIMEOUT)
        .build(PostgresManager::new(postgres_url))
        .map_err(|error| pool_error(Backend::Postgres, error))?;
    Ok(Pool::Postgres(pool))
}

fn migration_error(error: impl std::fmt::Display) -> StoreError {
    StoreError::Migration {
        message: error.to_string(),
    }
}

/// Applies pending migrations inside one IMMEDIATE transaction, so a second process opening the
/// same file waits and then finds nothing left to do.
pub(crate) fn run_sqlite_migrations(
    connection: &mut SqliteConnection,
) -> Result<Vec<String>, StoreError> {
    let names = names_by_version::<diesel::sqlite::Sqlite>(&SQLITE_MIGRATIONS)?;
    connection.immediate_transaction(|connection| {
        connection
            .run_pending_migrations(SQLITE_MIGRATIONS)
            .map(|versions| versions.iter().map(|v| name_of(&names, v)).collect())
            .map_err(migration_error)
    })
}

/// Applies pending migrations while holding an advisory lock, so concurrent starts serialise.
pub(crate) fn run_postgres_migrations(
    connection: &mut PgConnection,
) -> Result<Vec<String>, StoreError> {
    connection
        .batch_execute(&format!(
            "SELECT pg_advisory_lock({POSTGRES_MIGRATION_LOCK_KEY})"
        ))
        .map_err(migration_error)?;
    let names = names_by_version::<diesel::pg::Pg>(&POSTGRES_MIGRATIONS)?;
    let applied = connection
        .run_pending_migrations(POSTGRES_MIGRATIONS)
        .map(|versions| versions.iter().map(|v| name_of(&names, v)).collect())
        .map_err(migration_error);
    let unlocked = connection
        .batch_execute(&format!(
            "SELECT pg_advisory_unlock({POSTGRES_MIGRATION_LOCK_KEY})"
        ))
        .map_err(migration_error);
    let applied = applied?;
    unlocked?;
    Ok(applied)
}

/// Names of migrations not yet applied.
pub(crate) fn pending_sqlite(connection: &mut SqliteConnection) -> Result<Vec<String>, StoreError> {
    connection
        .pending_migrations(SQLITE_MIGRATIONS)
        .map(|pending| pending.iter().map(|m| m.name().to_string()).collect())
        .map_err(migration_error)
}

/// See [`pending_sqlite`].
pub(crate) fn pending_postgres(connection: &mut PgConnection) -> Result<Vec<String>, StoreError> {
    connection
        .pending_migrations(POSTGRES_MIGRATIONS)
        .map(|pending| pending.iter().map(|m| m.name().to_string()).collect())
        .map_err(migration_error)
}

/// Names of the migrations applied to the database, oldest first.
pub(crate) fn applied_sqlite(connection: &mut SqliteConnection) -> Result<Vec<String>, StoreError> {
    let versions = MigrationHarness::<diesel::sqlite::Sqlite>::applied_migrations(connection)
        .map_err(migration_error)?;
    let names = names_by_version::<diesel::sqlite::Sqlite>(&SQLITE_MIGRATIONS)?;
    Ok(sorted(versions.iter().map(|v| name_of(&names, v))))
}

/// See [`applied_sqlite`].
pub(crate) fn applied_postgres(connection: &mut PgConnection) -> Result<Vec<String>, StoreError> {
    let versions = MigrationHarness::<diesel::pg::Pg>::applied_migrations(connection)
        .map_err(migration_error)?;
    let names = names_by_version::<diesel::pg::Pg>(&POSTGRES_MIGRATIONS)?;
    Ok(sorted(versions.iter().map(|v| name_of(&names, v))))
}

/// Names of every embedded migration of `backend`, oldest first.
pub(crate) fn embedded_names(backend: Backend) -> Result<Vec<String>, StoreError> {
    let names = match backend {
        Backend::Sqlite => names_by_version::<diesel::sqlite::Sqlite>(&SQLITE_MIGRATIONS)?,
        Backend::Postgres => names_by_version::<diesel::pg::Pg>(&POSTGRES_MIGRATIONS)?,
    };
    Ok(sorted(names.into_values()))
}

/// Embedded migrations' names (`2026-11-28-000001_create_rates`) by version (`20261128000001`):
/// the database records versions only, and one form is shown everywhere.
fn names_by_version<DB: diesel::backend::Backend>(
    source: &impl MigrationSource<DB>,
) -> Result<BTreeMap<String, String>, StoreError> {
    Ok(source
        .migrations()
        .map_err(migration_error)?
        .iter()
        .map(|migration| {
            let name = migration.name();
            (name.version().to_string(), name.to_string())
        })
        .collect())
}

/// The name of the migration with this version; the version itself for one this build does not
/// embed (a database migrated by a newer release).
fn name_of(names: &BTreeMap<String, String>, version: &impl ToString) -> String {
    let version = version.to_string();
    names.get(&version).cloned().unwrap_or(version)
}

fn sorted(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut names: Vec<String> = items.collect();
    names.sort();
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::sql_types::{BigInt, Text};
    use diesel::RunQueryDsl;

    #[derive(diesel::QueryableByName)]
    struct Number {
        #[diesel(sql_type = BigInt)]
        value: i64,
    }

    #[derive(diesel::QueryableByName)]
    struct Word {
        #[diesel(sql_type = Text)]
        value: String,
    }

    fn number(connection: &mut SqliteConnection, pragma: &str) -> i64 {
        // The table-valued form names busy_timeout's column "timeout".
        let column = if pragma == "busy_timeout" {
            "timeout"
        } else {
            pragma
        };
        diesel::sql_query(format!("SELECT {column} AS value FROM pragma_{pragma}()"))
            .get_result::<Number>(connection)
            .unwrap()
            .value
    }

    #[test]
    fn every_pooled_sqlite_connection_gets_the_settings() {
        let directory = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::parse(directory.path().join("p.sqlite3").to_str().unwrap()).unwrap();
        let Pool::Sqlite(pool) = open_pool(&url, Some(3), true).unwrap() else {
            panic!("a SQLite path opened another backend");
        };
        let mut connections: Vec<_> = (0..3).map(|_| pool.get().unwrap()).collect();
        for connection in &mut connections {
            assert_eq!(
                number(connection, "busy_timeout"),
                i64::from(SQLITE_BUSY_TIMEOUT_MS)
            );
            assert_eq!(number(connection, "foreign_keys"), 1);
            assert_eq!(number(connection, "synchronous"), 1, "NORMAL");
            let mode = diesel::sql_query("SELECT journal_mode AS value FROM pragma_journal_mode()")
                .get_result::<Word>(&mut **connection)
                .unwrap();
            assert_eq!(mode.value, "wal");
        }
    }
}
