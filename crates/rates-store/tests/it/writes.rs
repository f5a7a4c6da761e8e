//! Upserts and the bulk path.

use std::collections::BTreeMap;

use rates_domain::{Currency, Rate, RateTable, Source};
use rates_store::testing::{ecb_sample_tables, TestDatabase};
use rates_store::{StoreError, WriteCounts};
use time::macros::date;

use crate::helpers::{code, eur_table, quoted_rates, TestResult};

backend_tests!(
    upsert_reports_inserted_then_unchanged,
    stored_values_read_back_exactly,
    a_changed_value_is_updated_and_the_old_one_kept_as_a_revision,
    rates_missing_from_a_newer_table_are_kept,
    the_base_rate_is_not_stored,
    bulk_upsert_loads_and_reloads_the_ecb_sample,
    a_bulk_reload_keeps_a_revision_for_each_changed_value,
    bulk_upsert_reports_progress_per_batch,
    bulk_upsert_rejects_a_day_given_twice,
    data_version_moves_only_when_rates_change,
);

fn upsert_reports_inserted_then_unchanged(database: &TestDatabase) -> TestResult {
    let store = database.store();
    let table = eur_table(date!(2024 - 01 - 02), &[("USD", 1.0956), ("JPY", 155.52)]);
    let first = store.upsert_rate_table(&table, Source::Fixer)?;
    assert_eq!(
        first,
        WriteCounts {
            inserted: 2,
            updated: 0,
            unchanged: 0
        }
    );
    let second = store.upsert_rate_table(&table, Source::Fixer)?;
    assert_eq!(
        second,
        WriteCounts {
            inserted: 0,
            updated: 0,
            unchanged: 2
        }
    );
    Ok(())
}

fn stored_values_read_back_exactly(database: &TestDatabase) -> TestResult {
    let store = database.store();
    let day = date!(2024 - 01 - 02);
    let values = [
        ("USD", 1.1172),
        ("GBP", 0.1 + 0.2),
        ("IDR", 20_275.17),
        ("BTC", 0.000_000_123_456_789),
        ("XAU", 1.0e-300),
        ("VES", 1.0e300),
        ("CHF", 0.9194),
    ];
    let table = eur_table(day, &values);
    store.upsert_rate_table(&table, Source::Fixer)?;
    let stored = store
        .rate_table(day, Currency::EUR)?
        .ok_or("the day is stored")?;
    assert_eq!(stored.table, table);
    for (text, value) in values {
        let read = stored.table.rate(code(text)).ok_or("rate present")?.get();
        assert_eq!(read.to_bits(), value.to_bits(), "{text}");
    }
    assert_eq!(
        stored.table.rate(code("USD")).ok_or("USD")?.to_string(),
        "1.1172"
    );
    Ok(())
}

fn a_changed_value_is_updated_and_the_old_one_kept_as_a_revision(
    database: &TestDatabase,
) -> TestResult {
    let store = database.store();
    let day = date!(2024 - 01 - 02);
    store.upsert_rate_table(
        &eur_table(day, &[("USD", 1.0956), ("GBP", 0.86645)]),
        Source::EcbImport,
    )?;
    let before = store.rate_table(day, Currency::EUR)?.ok_or("stored")?;

    let counts = store.upsert_rate_table(
        &eur_table(day, &[("USD", 1.0957), ("GBP", 0.86645)]),
        Source::Fixer,
    )?;
    assert_eq!(
        counts,
        WriteCounts {
            inserted: 0,
            updated: 1,
            unchanged: 1
        }
    );

    let after = store.rate_table(day, Currency::EUR)?.ok_or("stored")?;
    assert_eq!(after.table.rate(Currency::USD).ok_or("USD")?.get(), 1.0957);
    assert_eq!(after.table.rate(code("GBP")).ok_or("GBP")?.get(), 0.86645);
    assert!(after.last_changed > before.last_changed);

    let revisions = store.revisions(day, Currency::EUR, Currency::USD)?;
    assert_eq!(revisions.len(), 1);
    let revision = &revisions[0];
    assert_eq!(revision.rate.get(), 1.0956);
    assert_eq!(revision.source, Source::EcbImport);
    assert_eq!(revision.served_from, before.last_changed);
    assert_eq!(revision.served_until, after.last_changed);
    assert!(store.revisions(day, Currency::EUR, code("GBP"))?.is_empty());

    // A third value keeps the whole history, oldest first.
    store.upsert_rate_table(&eur_table(day, &[("USD", 1.0958)]), Source::Fixer)?;
    let values: Vec<f64> = store
        .revisions(day, Currency::EUR, Currency::USD)?
        .iter()
        .map(|revision| revision.rate.get())
        .collect();
    assert_eq!(values, vec![1.0956, 1.0957]);
    Ok(())
}

fn rates_missing_from_a_newer_table_are_kept(database: &TestDatabase) -> TestResult {
    let store = database.store();
    let day = date!(2024 - 01 - 02);
    store.upsert_rate_table(
        &eur_table(day, &[("USD", 1.1), ("JPY", 150.0)]),
        Source::Fixer,
    )?;
    let counts = store.upsert_rate_table(&eur_table(day, &[("USD", 1.1)]), Source::Fixer)?;
    assert_eq!(
        counts,
        WriteCounts {
            inserted: 0,
            updated: 0,
            unchanged: 1
        }
    );
    let stored = store.rate_table(day, Currency::EUR)?.ok_or("stored")?;
    assert_eq!(stored.table.len(), 2);
    Ok(())
}

fn the_base_rate_is_not_stored(database: &TestDatabase) -> TestResult {
    let store = database.store();
    let day = date!(2024 - 01 - 02);
    let table = eur_table(day, &[("EUR", 1.0), ("USD", 1.1)]);
    let counts = store.upsert_rate_table(&table, Source::Fixer)?;
    assert_eq!(counts.inserted, 1);
    let stored = store.rate_table(day, Currency::EUR)?.ok_or("stored")?;
    assert_eq!(stored.table.rates(), &quoted_rates(&table));
    assert_eq!(stored.table.rate(Currency::EUR).ok_or("base")?.get(), 1.0);
    Ok(())
}

fn bulk_upsert_loads_and_reloads_the_ecb_sample(database: &TestDatabase) -> TestResult {
    let store = database.store();
    let tables = ecb_sample_tables()?;
    let rates: u64 = tables.iter().map(|table| table.len() as u64).sum();
    let loaded = store.bulk_upsert(&tables, Source::EcbImport)?;
    assert_eq!(
        loaded,
        WriteCounts {
            inserted: rates,
            updated: 0,
            unchanged: 0
        }
    );
    let reloaded = store.bulk_upsert(&tables, Source::EcbImport)?;
    assert_eq!(
        reloaded,
        WriteCounts {
            inserted: 0,
            updated: 0,
            unchanged: rates
        }
    );
    for table in &tables {
        let stored = store
            .rate_table(table.date(), Currency::EUR)?
            .ok_or("day stored")?;
        assert_eq!(&stored.table, table);
    }
    Ok(())
}

fn a_bulk_reload_keeps_a_revision_for_each_changed_value(database: &TestDatabase) -> TestResult {
    let store = database.store();
    let tables = ecb_sample_tables()?;
    store.bulk_upsert(&tables, Source::EcbImport)?;
    let before: Vec<_> = tables
        .iter()
        .map(|table| store.rate_table(table.date(), Currency::EUR))
        .collect::<Result<_, _>>()?;
    let version_before = store.data_version()?;

    // Every 7th rate of the history changes, spread over every batch of 10 days.
    let mut changed = Vec::new();
    let mut seen = 0;
    let mut reloaded = Vec::new();
    for table in &tables {
        let mut rates = BTreeMap::new();
        for (currency, rate) in table.rates() {
            seen += 1;
            let value = if seen % 7 == 0 {
                changed.push((table.date(), *currency, rate.get()));
                rate.get() * 1.001
            } else {
                rate.get()
            };
            rates.insert(*currency, Rate::new(value)?);
        }
        reloaded.push(RateTable::new(table.date(), Currency::EUR, rates)?);
    }
    let counts = store.bulk_upsert_with_progress(&reloaded, Source::Fixer, 10, |_| {})?;
    assert_eq!(counts.updated, changed.len() as u64);
    assert_eq!(counts.inserted, 0);
    assert_eq!(counts.total(), seen);
    assert!(store.data_version()? > version_before);

    for (date, currency, old) in &changed {
        let revisions = store.revisions(*date, Currency::EUR, *currency)?;
        let [revision] = revisions.as_slice() else {
            return Err(format!("{date} {currency}: {} revisions", revisions.len()).into());
        };
        let (was, now) = (
            before
                .iter()
                .flatten()
                .find(|stored| stored.table.date() == *date)
                .ok_or("stored before")?,
            store.rate_table(*date, Currency::EUR)?.ok_or("stored")?,
        );
        assert_eq!(revision.rate.get(), *old);
        assert_eq!(revision.source, Source::EcbImport);
        assert_eq!(revision.served_from, was.last_changed);
        assert_eq!(revision.served_until, now.last_changed);
        assert_eq!(now.table.rate(*currency).ok_or("rate")?.get(), old * 1.001);
    }
    let untouched = tables
        .first()
        .and_then(|table| {
            table
                .rates()
                .keys()
                .next()
                .map(|code| (table.date(), *code))
        })
        .ok_or("a rate")?;
    assert!(store
        .revisions(untouched.0, Currency::EUR, untouched.1)?
        .is_empty());
    Ok(())
}

fn bulk_upsert_reports_progress_per_batch(database: &TestDatabase) -> TestResult {
    let store = database.store();
    let tables = ecb_sample_tables()?;
    let mut reports = Vec::new();
    let total = store.bulk_upsert_with_progress(&tables, Source::EcbImport, 10, |progress| {
        reports.push(progress)
    })?;
    let days_done: Vec<usize> = reports.iter().map(|report| report.days_done).collect();
    assert_eq!(days_done, vec![10, 20, 30, 40, 43]);
    assert!(reports.iter().all(|report| report.days_total == 43));
    assert_eq!(reports.last().ok_or("a report")?.counts, total);
    Ok(())
}

fn bulk_upsert_rejects_a_day_given_twice(database: &TestDatabase) -> TestResult {
    let store = database.store();
    let day = date!(2024 - 01 - 02);
    let tables = [
        eur_table(day, &[("USD", 1.1)]),
        eur_table(date!(2024 - 01 - 03), &[("USD", 1.2)]),
        eur_table(day, &[("USD", 1.3)]),
    ];
    let error = store.bulk_upsert(&tables, Source::Fixer).unwrap_err();
    assert!(matches!(error, StoreError::InvalidInput { .. }), "{error}");
    assert!(error.to_string().contains("2024-01-02"), "{error}");
    assert_eq!(store.health()?, None, "nothing was written");
    Ok(())
}

fn data_version_moves_only_when_rates_change(database: &TestDatabase) -> TestResult {
    let store = database.store();
    let start = store.data_version()?;
    let table = eur_table(date!(2024 - 01 - 02), &[("USD", 1.1)]);
    store.upsert_rate_table(&table, Source::Fixer)?;
    let after_insert = store.data_version()?;
    assert!(after_insert > start);
    store.upsert_rate_table(&table, Source::Fixer)?;
    assert_eq!(store.data_version()?, after_insert);
    store.upsert_rate_table(
        &eur_table(date!(2024 - 01 - 02), &[("USD", 1.2)]),
        Source::Fixer,
    )?;
    assert!(store.data_version()? > after_insert);
    Ok(())
}
