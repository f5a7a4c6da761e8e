//! The read model's own connection: everything in one read, then only the days changed.

use rates_domain::{Currency, Source};
use rates_store::testing::{ecb_sample_tables, TestDatabase};
use time::macros::date;

use crate::helpers::{eur_table, TestResult};

backend_tests!(
    a_full_read_holds_every_day_and_the_version_it_belongs_to,
    only_the_days_a_write_changed_are_read_again,
    currency_names_move_the_data_version,
    active_api_keys_are_listed_until_revoked,
    a_corrected_value_reads_with_its_history,
);

fn a_full_read_holds_every_day_and_the_version_it_belongs_to(
    database: &TestDatabase,
) -> TestResult {
    let store = database.store();
    let tables = ecb_sample_tables()?;
    store.bulk_upsert(&tables, Source::EcbImport)?;
    let mut reader = store.read_connection()?;
    let read = reader.read_rates(Currency::EUR, None)?;
    assert_eq!(read.version, store.data_version()?);
    assert_eq!(reader.data_version()?, read.version);
    assert_eq!(read.tables.len(), tables.len());
    for stored in &read.tables {
        assert_eq!(
            Some(stored),
            store
                .rate_table(stored.table.date(), Currency::EUR)?
                .as_ref()
        );
    }
    assert!(read
        .tables
        .windows(2)
        .all(|pair| pair[0].table.date() < pair[1].table.date()));
    assert_eq!(read.currencies, store.currencies()?);
    // A base nothing is stored in reads as empty, not as an error.
    assert!(reader.read_rates(Currency::USD, None)?.tables.is_empty());
    Ok(())
}

fn only_the_days_a_write_changed_are_read_again(database: &TestDatabase) -> TestResult {
    let store = database.store();
    store.bulk_upsert(&ecb_sample_tables()?, Source::EcbImport)?;
    let mut reader = store.read_connection()?;
    let before = reader.read_rates(Currency::EUR, None)?.version;
    assert!(reader
        .read_rates(Currency::EUR, Some(before))?
        .tables
        .is_empty());

    // A correction of one held day and a new day: exactly those two are read.
    let corrected = eur_table(date!(2026 - 10 - 29), &[("USD", 1.5)]);
    let new_day = eur_table(date!(2026 - 11 - 02), &[("USD", 1.16), ("JPY", 176.0)]);
    store.upsert_rate_table(&corrected, Source::Fixer)?;
    store.bulk_upsert(&[new_day], Source::Fixer)?;
    let changes = reader.read_rates(Currency::EUR, Some(before))?;
    assert_eq!(changes.version, store.data_version()?);
    assert!(changes.version > before);
    let dates: Vec<_> = changes.tables.iter().map(|s| s.table.date()).collect();
    assert_eq!(dates, [date!(2026 - 10 - 29), date!(2026 - 11 - 02)]);
    let day = &changes.tables[0];
    assert_eq!(day.table.rate(Currency::USD).map(|r| r.get()), Some(1.5));
    assert!(
        day.table.len() > 20,
        "the whole day is read, not just the changed rate"
    );

    // Writing the same values again changes nothing, so nothing is read again.
    let after = changes.version;
    store.upsert_rate_table(&corrected, Source::Fixer)?;
    assert_eq!(store.data_version()?, after);
    assert!(reader
        .read_rates(Currency::EUR, Some(after))?
        .tables
        .is_empty());
    Ok(())
}

fn currency_names_move_the_data_version(database: &TestDatabase) -> TestResult {
    let store = database.store();
    store.bulk_upsert(&ecb_sample_tables()?, Source::EcbImport)?;
    let before = store.data_version()?;
    store.upsert_currency_names(&[(Currency::USD, "United States Dollar".to_owned())])?;
    let after = store.data_version()?;
    assert!(after > before);
    let read = store
        .read_connection()?
        .read_rates(Currency::EUR, Some(before))?;
    assert!(read.tables.is_empty(), "no rate changed");
    let usd = read
        .currencies
        .iter()
        .find(|record| record.code == Currency::USD)
        .ok_or("USD is held")?;
    assert_eq!(usd.name.as_deref(), Some("United States Dollar"));
    store.upsert_currency_names(&[(Currency::USD, "United States Dollar".to_owned())])?;
    assert_eq!(
        store.data_version()?,
        after,
        "the same name again is no change"
    );
    Ok(())
}

fn active_api_keys_are_listed_until_revoked(database: &TestDatabase) -> TestResult {
    let store = database.store();
    let first = store.insert_api_key("first", "hash-1")?;
    let second = store.insert_api_key("second", "hash-2")?;
    let mut reader = store.read_connection()?;
    let mut keys = reader.active_api_keys()?;
    keys.sort_by_key(|key| key.id);
    assert_eq!(
        keys.iter()
            .map(|k| (k.key_hash.as_str(), k.id))
            .collect::<Vec<_>>(),
        [("hash-1", first.id), ("hash-2", second.id)]
    );
    store.revoke_api_key(first.id)?;
    let keys = reader.active_api_keys()?;
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].id, second.id);
    Ok(())
}

fn a_corrected_value_reads_with_its_history(database: &TestDatabase) -> TestResult {
    let store = database.store();
    store.bulk_upsert(&ecb_sample_tables()?, Source::EcbImport)?;
    let mut reader = store.read_connection()?;
    let before = reader.read_rates(Currency::EUR, None)?;
    assert!(before.histories.is_empty(), "{:?}", before.histories);
    let day = date!(2026 - 10 - 29);
    let original = before
        .tables
        .iter()
        .find(|stored| stored.table.date() == day)
        .ok_or("day missing")?
        .clone();

    // A correction of USD and a currency new to the day: both give the day a history.
    let correction = eur_table(day, &[("USD", 1.5), ("XAU", 0.0004)]);
    store.upsert_rate_table(&correction, Source::Fixer)?;
    let revisions = store.revisions(day, Currency::EUR, Currency::USD)?;
    assert_eq!(revisions.len(), 1);
    let corrected_at = revisions[0].served_until;

    for read in [
        reader.read_rates(Currency::EUR, None)?,
        reader.read_rates(Currency::EUR, Some(before.version))?,
    ] {
        assert_eq!(read.histories.len(), 1, "{:?}", read.histories);
        let history = &read.histories[0];
        assert_eq!((history.date, history.base), (day, Currency::EUR));
        assert_eq!(history.values.len(), original.table.len() + 1);
        let usd = history.values.get(&Currency::USD).ok_or("no USD")?;
        assert_eq!(usd.current_since, corrected_at);
        assert_eq!(usd.replaced, revisions);
        assert_eq!(
            usd.replaced[0].rate,
            original.table.rate(Currency::USD).ok_or("no USD")?
        );
        assert_eq!(usd.replaced[0].served_from, original.last_changed);
        let gbp = history
            .values
            .get(&Currency::parse("GBP")?)
            .ok_or("no GBP")?;
        assert_eq!(gbp.current_since, original.last_changed);
        assert!(gbp.replaced.is_empty());
        let gold = history
            .values
            .get(&Currency::parse("XAU")?)
            .ok_or("no XAU")?;
        assert_eq!(gold.current_since, corrected_at);
    }
    Ok(())
}
