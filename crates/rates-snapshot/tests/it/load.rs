//! Loading a snapshot from the store: it holds exactly what the store holds.

use rates_domain::{Currency, DateRange, Source};
use rates_snapshot::{SharedSnapshot, Snapshot};
use rates_store::testing::{ecb_sample_tables, TestDatabase};
use time::macros::date;

type TestResult = Result<(), Box<dyn std::error::Error>>;

#[test]
fn a_loaded_snapshot_holds_every_stored_day_currency_and_the_data_version() -> TestResult {
    for database in TestDatabase::all()? {
        let store = database.store();
        let tables = ecb_sample_tables()?;
        store.bulk_upsert(&tables, Source::EcbImport)?;
        let snapshot = Snapshot::load(store, Currency::EUR)?;
        assert_eq!(snapshot.len(), tables.len(), "{:?}", database.backend());
        assert_eq!(snapshot.version(), store.data_version()?);
        assert_eq!(snapshot.currencies(), store.currencies()?.as_slice());
        for table in &tables {
            let held = snapshot
                .day(table.date())
                .ok_or("a stored day is missing")?;
            let stored = store
                .rate_table(table.date(), Currency::EUR)?
                .ok_or("the store lost a day")?;
            assert_eq!(held, &stored, "{:?}", database.backend());
        }
        let latest = snapshot.latest().ok_or("no latest day")?;
        assert_eq!(Some(latest.table.date()), store.latest_date(Currency::EUR)?);
        let october = DateRange::new(date!(2026 - 10 - 01), date!(2026 - 10 - 31))?;
        let from_store = store.rate_tables_between(october, Currency::EUR)?;
        let from_snapshot: Vec<_> = snapshot.range(october).cloned().collect();
        assert_eq!(from_snapshot, from_store);
    }
    Ok(())
}

#[test]
fn an_empty_store_loads_an_empty_snapshot() -> TestResult {
    let database = TestDatabase::sqlite()?;
    let snapshot = Snapshot::load(database.store(), Currency::EUR)?;
    assert!(snapshot.is_empty());
    assert!(snapshot.latest().is_none());
    assert!(snapshot.currencies().is_empty());
    Ok(())
}

#[test]
fn a_day_stored_later_is_inserted_without_reloading_and_readers_keep_their_snapshot() -> TestResult
{
    let database = TestDatabase::sqlite()?;
    let store = database.store();
    let mut tables = ecb_sample_tables()?;
    // Newest first, as in the ECB's file: hold back the latest day.
    let latest = tables.remove(0);
    store.bulk_upsert(&tables, Source::EcbImport)?;
    let shared = SharedSnapshot::load(store, Currency::EUR)?;
    let before = shared.current();
    assert!(before.day(latest.date()).is_none());

    store.upsert_rate_table(&latest, Source::Fixer)?;
    let stored = store
        .rate_table(latest.date(), Currency::EUR)?
        .ok_or("the day was not stored")?;
    shared.insert_days(vec![stored.clone()])?;

    let after = shared.current();
    assert_eq!(after.day(latest.date()), Some(&stored));
    assert_eq!(after.len(), before.len() + 1);
    assert!(
        before.day(latest.date()).is_none(),
        "a reader's snapshot never changes"
    );
    Ok(())
}
