//! Opening databases, migrations, and connection errors.

use rates_store::testing::TestDatabase;
use rates_store::{Backend, Store, StoreError};

use crate::helpers::TestResult;

backend_tests!(
    open_applies_every_migration_once,
    migrations_revert_and_reapply_cleanly
);

/// How many migrations the repository has for SQLite (the same number as for PostgreSQL),
/// counted from the folder so adding one needs no change here.
fn migration_count() -> Result<usize, std::io::Error> {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations/sqlite");
    Ok(std::fs::read_dir(folder)?
        .filter_map(Result::ok)
        .filter(|entry| entry.path().join("up.sql").is_file())
        .count())
}

fn open_applies_every_migration_once(database: &TestDatabase) -> TestResult {
    let store = database.store();
    assert_eq!(store.applied_migrations()?.len(), migration_count()?);
    assert!(store.pending_migrations()?.is_empty());
    assert!(store.run_pending_migrations()?.is_empty());
    // Opening again (as a second process would) finds nothing to do.
    let again = Store::open(database.url(), Some(2))?;
    assert_eq!(again.applied_migrations()?, store.applied_migrations()?);
    assert_eq!(again.backend(), database.backend());
    Ok(())
}

/// The down migrations undo the up migrations exactly: revert everything, then apply again.
fn migrations_revert_and_reapply_cleanly(database: &TestDatabase) -> TestResult {
    use diesel::Connection;
    use diesel_migrations::FileBasedMigrations;
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    match database.backend() {
        Backend::Sqlite => {
            let path = database.url().trim_start_matches("sqlite://");
            revert_and_reapply(
                &mut diesel::SqliteConnection::establish(path)?,
                FileBasedMigrations::from_path(folder.join("sqlite"))?,
            )?;
        }
        Backend::Postgres => revert_and_reapply(
            &mut diesel::PgConnection::establish(database.url())?,
            FileBasedMigrations::from_path(folder.join("postgres"))?,
        )?,
    }
    assert!(database.store().pending_migrations()?.is_empty());
    let store = database.store();
    assert!(store.try_acquire_ingest_lock("after-reapply", std::time::Duration::from_secs(5))?);
    assert_eq!(store.data_version()?, 0);
    Ok(())
}

/// Reverts every migration of `migrations` on `connection`, then applies them again, checking
/// that both steps touch all of them.
fn revert_and_reapply<DB: diesel::backend::Backend>(
    connection: &mut impl diesel_migrations::MigrationHarness<DB>,
    migrations: diesel_migrations::FileBasedMigrations,
) -> TestResult {
    let reverted = connection
        .revert_all_migrations(migrations.clone())
        .map_err(|e| e.to_string())?;
    assert_eq!(reverted.len(), migration_count()?);
    let applied = connection
        .run_pending_migrations(migrations)
        .map_err(|e| e.to_string())?;
    assert_eq!(applied.len(), migration_count()?);
    Ok(())
}

#[test]
fn connect_does_not_migrate_until_asked() -> TestResult {
    let directory = tempfile::tempdir()?;
    let url = format!(
        "sqlite://{}",
        directory.path().join("fresh.sqlite3").display()
    );
    let store = Store::connect(&url, None)?;
    assert_eq!(store.backend(), Backend::Sqlite);
    assert_eq!(store.pending_migrations()?.len(), migration_count()?);
    assert!(store.applied_migrations()?.is_empty());
    assert_eq!(store.run_pending_migrations()?.len(), migration_count()?);
    assert!(store.pending_migrations()?.is_empty());
    assert_eq!(store.health()?, None);
    Ok(())
}

#[test]
fn a_plain_path_opens_sqlite_in_wal_mode() -> TestResult {
    let directory = tempfile::tempdir()?;
    let path = directory.path().join("plain.sqlite3");
    let store = Store::open(path.to_str().ok_or("utf-8 path")?, None)?;
    assert_eq!(store.backend(), Backend::Sqlite);
    drop(store);
    // The WAL file exists only in WAL mode; reading the mode directly confirms it.
    use diesel::prelude::*;
    let mut connection = diesel::SqliteConnection::establish(path.to_str().ok_or("utf-8")?)?;
    // The store's last connection may still be closing (and checkpointing the WAL) on a pool
    // thread: wait for its lock rather than fail with "database is locked".
    diesel::connection::SimpleConnection::batch_execute(
        &mut connection,
        "PRAGMA busy_timeout = 5000",
    )?;
    #[derive(QueryableByName)]
    struct Mode {
        #[diesel(sql_type = diesel::sql_types::Text)]
        journal_mode: String,
    }
    let mode: Mode = diesel::sql_query("PRAGMA journal_mode").get_result(&mut connection)?;
    assert_eq!(mode.journal_mode, "wal");
    Ok(())
}

#[test]
fn a_missing_directory_is_a_connect_error_that_says_so() -> TestResult {
    let directory = tempfile::tempdir()?;
    let url = format!(
        "sqlite://{}/missing/rates.sqlite3",
        directory.path().display()
    );
    let error = Store::open(&url, None).unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::Connect {
                backend: Backend::Sqlite,
                ..
            }
        ),
        "{error}"
    );
    assert!(error.is_unavailable());
    assert!(error.to_string().contains("does not exist"), "{error}");
    Ok(())
}

#[test]
fn an_unreachable_postgres_is_a_connect_error_without_the_password() -> TestResult {
    let error = Store::open("postgres://rates:s3cret-pw@127.0.0.1:1/rates", None).unwrap_err();
    assert!(
        matches!(
            error,
            StoreError::Connect {
                backend: Backend::Postgres,
                ..
            }
        ),
        "{error}"
    );
    let message = error.to_string();
    assert!(!message.contains("s3cret-pw"), "{message}");
    assert!(!format!("{error:?}").contains("s3cret-pw"));
    assert!(message.contains("127.0.0.1:1/rates"), "{message}");
    Ok(())
}

#[test]
fn unsupported_urls_and_pool_sizes_are_rejected() {
    assert!(matches!(
        Store::open("mysql://localhost/rates", None),
        Err(StoreError::InvalidUrl { .. })
    ));
    assert!(matches!(
        Store::open("", None),
        Err(StoreError::InvalidUrl { .. })
    ));
    let directory = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/r.sqlite3", directory.path().display());
    assert!(matches!(
        Store::open(&url, Some(0)),
        Err(StoreError::InvalidInput { .. })
    ));
}

#[test]
fn the_store_debug_output_hides_credentials() -> TestResult {
    let database = TestDatabase::sqlite()?;
    let debug = format!("{:?}", database.store());
    assert!(debug.contains("Sqlite"), "{debug}");
    Ok(())
}

/// The permission bits of `path`.
#[cfg(unix)]
fn mode_of(path: &std::path::Path) -> Result<u32, std::io::Error> {
    use std::os::unix::fs::PermissionsExt;
    Ok(std::fs::metadata(path)?.permissions().mode() & 0o777)
}

/// Opens `path` and returns the modes of the database, WAL and shared-memory files while the
/// store is open (opening migrates, and the pool keeps a connection, so both files exist).
#[cfg(unix)]
fn modes_after_a_write(path: &std::path::Path) -> Result<[u32; 3], Box<dyn std::error::Error>> {
    let store = Store::open(path.to_str().ok_or("utf-8 path")?, None)?;
    assert_eq!(store.health()?, None);
    let sidecar = |suffix: &str| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        std::path::PathBuf::from(name)
    };
    let modes = [
        mode_of(path)?,
        mode_of(&sidecar("-wal"))?,
        mode_of(&sidecar("-shm"))?,
    ];
    drop(store);
    Ok(modes)
}

#[cfg(unix)]
#[test]
fn a_new_sqlite_database_and_its_wal_and_shm_files_are_private() -> TestResult {
    let directory = tempfile::tempdir()?;
    let modes = modes_after_a_write(&directory.path().join("private.sqlite3"))?;
    assert_eq!(
        modes, [0o600; 3],
        "database, -wal, -shm: {modes:?} (decimal)"
    );
    Ok(())
}

#[cfg(unix)]
#[test]
fn an_existing_database_keeps_the_mode_the_operator_gave_it() -> TestResult {
    use std::os::unix::fs::PermissionsExt;
    let directory = tempfile::tempdir()?;
    let path = directory.path().join("shared.sqlite3");
    // An empty file is an empty database: as an operator would prepare one for a backup group.
    std::fs::File::create(&path)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640))?;
    let modes = modes_after_a_write(&path)?;
    assert_eq!(
        modes, [0o640; 3],
        "database, -wal, -shm: {modes:?} (decimal)"
    );
    Ok(())
}

#[test]
fn every_form_of_database_password_stays_out_of_errors() -> TestResult {
    for (url, shown) in [
        (
            "postgres://rates:pw#123-secret@127.0.0.1:1/rates",
            "postgres://rates:***@127.0.0.1:1/rates",
        ),
        (
            "postgres://rates@127.0.0.1:1/rates?password=query-secret",
            "postgres://rates@127.0.0.1:1/rates?password=***",
        ),
    ] {
        let error = Store::open(url, None).unwrap_err();
        let message = error.to_string();
        assert!(matches!(error, StoreError::Connect { .. }), "{message}");
        assert!(message.contains(shown), "{message}");
        assert!(!message.contains("secret"), "{message}");
        assert!(!format!("{error:?}").contains("secret"));
    }
    // What libpq would read differently is refused before libpq sees it, quoting nothing.
    for url in [
        "postgres://rates:p@ss-secret@127.0.0.1:1/rates",
        "postgres://rates:pw%zz-secret@127.0.0.1:1/rates",
        "postgres://127.0.0.1:1/rates?password=a&b-secret",
    ] {
        let error = Store::open(url, None).unwrap_err();
        assert!(matches!(error, StoreError::InvalidUrl { .. }), "{error}");
        assert!(!error.to_string().contains("secret"), "{error}");
    }
    Ok(())
}

#[test]
fn a_libpq_key_value_string_is_refused_not_created_as_a_file() -> TestResult {
    let directory = tempfile::tempdir()?;
    let conninfo = format!(
        "{}/host=127.0.0.1 password=pw123 dbname=rates",
        directory.path().display()
    );
    let error = Store::open(&conninfo, None).unwrap_err();
    assert!(matches!(error, StoreError::InvalidUrl { .. }), "{error}");
    assert!(error.to_string().contains("key=value"), "{error}");
    assert!(!error.to_string().contains("pw123"), "{error}");
    assert_eq!(std::fs::read_dir(directory.path())?.count(), 0);
    assert_eq!(
        rates_store::redact_database_url("host=127.0.0.1 password=pw123 dbname=rates"),
        "host=127.0.0.1 password=*** dbname=rates"
    );
    Ok(())
}
