//! The refresher: writes by other connections reach the snapshot promptly, keys follow revocation.

use std::time::{Duration, Instant};

use rates_domain::{hash_api_key, Currency, RateTable, Source};
use rates_snapshot::{DatabaseState, RefreshConfig, SharedSnapshot};
use rates_store::testing::{ecb_sample_tables, TestDatabase};
use rates_store::Store;
use time::macros::date;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Polls `condition` every 10 ms until it holds or `limit` passes; returns how long it took.
fn within(
    limit: Duration,
    mut condition: impl FnMut() -> bool,
) -> Result<Duration, Box<dyn std::error::Error>> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if condition() {
            return Ok(started.elapsed());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Err(format!("not within {limit:?}").into())
}

#[test]
fn a_write_through_another_connection_reaches_the_snapshot_within_a_second() -> TestResult {
    for database in TestDatabase::all()? {
        database
            .store()
            .bulk_upsert(&ecb_sample_tables()?, Source::EcbImport)?;
        let shared = SharedSnapshot::start(
            database.store().clone(),
            Currency::EUR,
            RefreshConfig::default(),
        )?;
        let before = shared.current();
        // Another pool, as another process would have.
        let writer = Store::open(database.url(), Some(1))?;
        let corrected =
            RateTable::from_raw(date!(2026 - 10 - 30), Currency::EUR, [("USD", 1.2345)])?;
        let new_day = RateTable::from_raw(date!(2026 - 11 - 02), Currency::EUR, [("USD", 1.16)])?;
        writer.upsert_rate_table(&corrected, Source::Fixer)?;
        writer.upsert_rate_table(&new_day, Source::Fixer)?;
        let took = within(Duration::from_secs(1), || {
            let now = shared.current();
            now.day(date!(2026 - 10 - 30))
                .and_then(|s| s.table.rate(Currency::USD))
                .map(|r| r.get())
                == Some(1.2345)
                && now.day(date!(2026 - 11 - 02)).is_some()
        })?;
        eprintln!(
            "{:?}: the write was served after {took:?}",
            database.backend()
        );
        let after = shared.current();
        assert_eq!(after.version(), writer.data_version()?);
        assert_eq!(after.len(), before.len() + 1);
        // Unchanged days are the same allocations: only the changed ones were read.
        let untouched = date!(2026 - 10 - 29);
        assert!(std::ptr::eq(
            before.day(untouched).ok_or("missing")?,
            after.day(untouched).ok_or("missing")?
        ));
        let status = shared.status();
        assert_eq!(status.database, DatabaseState::Ok);
        assert!(status.age < Duration::from_secs(1), "{status:?}");
    }
    Ok(())
}

#[test]
fn a_revoked_key_leaves_the_in_memory_keys_and_a_new_one_arrives() -> TestResult {
    for database in TestDatabase::all()? {
        let store = database.store();
        let kept = store.insert_api_key("kept", hash_api_key("rk_kept").as_str())?;
        let revoked = store.insert_api_key("revoked", hash_api_key("rk_revoked").as_str())?;
        let shared = SharedSnapshot::start(store.clone(), Currency::EUR, RefreshConfig::default())?;
        assert_eq!(shared.keys().id_of(&hash_api_key("rk_kept")), Some(kept.id));
        assert_eq!(
            shared.keys().id_of(&hash_api_key("rk_revoked")),
            Some(revoked.id)
        );
        store.revoke_api_key(revoked.id)?;
        let added = store.insert_api_key("added", hash_api_key("rk_added").as_str())?;
        within(Duration::from_secs(5), || {
            let keys = shared.keys();
            keys.id_of(&hash_api_key("rk_revoked")).is_none()
                && keys.id_of(&hash_api_key("rk_added")) == Some(added.id)
        })?;
        assert_eq!(shared.keys().len(), 2);
    }
    Ok(())
}

#[test]
fn a_database_that_goes_away_is_reported_and_the_snapshot_kept() -> TestResult {
    let directory = tempfile::tempdir()?;
    let path = directory.path().join("gone.sqlite3");
    let url = path.to_str().ok_or("path")?.to_owned();
    let store = Store::open(&url, Some(1))?;
    store.bulk_upsert(&ecb_sample_tables()?, Source::EcbImport)?;
    let shared = SharedSnapshot::start(store.clone(), Currency::EUR, RefreshConfig::default())?;
    let held = shared.current().len();
    // The refresher's connection reads the file's tables; drop them under it.
    {
        use diesel::connection::SimpleConnection;
        use diesel::Connection;
        diesel::SqliteConnection::establish(&url)?
            .batch_execute("ALTER TABLE data_version RENAME TO data_version_away;")?;
    }
    within(Duration::from_secs(2), || {
        shared.status().database == DatabaseState::Unavailable
    })?;
    assert_eq!(shared.current().len(), held, "the snapshot is kept");
    {
        use diesel::connection::SimpleConnection;
        use diesel::Connection;
        diesel::SqliteConnection::establish(&url)?
            .batch_execute("ALTER TABLE data_version_away RENAME TO data_version;")?;
    }
    within(Duration::from_secs(2), || {
        shared.status().database == DatabaseState::Ok
    })?;
    Ok(())
}

#[test]
fn a_correction_reaches_the_histories_so_as_of_answers_both_values() -> TestResult {
    for database in TestDatabase::all()? {
        database
            .store()
            .bulk_upsert(&ecb_sample_tables()?, Source::EcbImport)?;
        let shared = SharedSnapshot::start(
            database.store().clone(),
            Currency::EUR,
            RefreshConfig::default(),
        )?;
        let day = date!(2026 - 10 - 30);
        let original = shared.current().day(day).ok_or("missing")?.clone();
        let before_correction = time::OffsetDateTime::now_utc();
        let writer = Store::open(database.url(), Some(1))?;
        let corrected = RateTable::from_raw(day, Currency::EUR, [("USD", 1.2345)])?;
        writer.upsert_rate_table(&corrected, Source::Fixer)?;
        within(Duration::from_secs(1), || {
            shared.current().history(day).is_some()
        })?;
        let snapshot = shared.current();
        let stored = snapshot.day(day).ok_or("missing")?;
        let usd_at = |instant| {
            snapshot
                .as_of(stored, instant)
                .and_then(|then| then.table.rate(Currency::USD))
                .map(|rate| rate.get())
        };
        assert_eq!(
            usd_at(before_correction),
            original.table.rate(Currency::USD).map(|rate| rate.get())
        );
        assert_eq!(usd_at(time::OffsetDateTime::now_utc()), Some(1.2345));
        let held = snapshot.held_values(stored);
        let usd = held.get(&Currency::USD).ok_or("no USD")?;
        assert_eq!(usd.len(), 2);
        assert_eq!(usd[0].valid_to, Some(usd[1].valid_from));
        assert!(before_correction < usd[1].valid_from);
    }
    Ok(())
}
