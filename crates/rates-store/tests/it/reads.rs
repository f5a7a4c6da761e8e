//! Reading tables, ranges, dates and currencies.

use rates_domain::{Currency, DateRange, Source};
use rates_store::testing::{ecb_sample_tables, TestDatabase};
use rates_store::CurrencyRecord;
use time::macros::date;

use crate::helpers::{code, eur_table, TestResult};

backend_tests!(
    a_day_not_held_reads_as_none,
    a_range_reads_every_held_day_in_order,
    latest_and_nearest_earlier_dates,
    dates_held_lists_only_stored_days,
    currencies_lists_held_codes_with_names_where_known,
    health_reports_the_latest_date,
);

fn a_day_not_held_reads_as_none(database: &TestDatabase) -> TestResult {
    let store = database.store();
    let day = date!(2024 - 01 - 02);
    assert!(store.rate_table(day, Currency::EUR)?.is_none());
    store.upsert_rate_table(&eur_table(day, &[("USD", 1.1)]), Source::Fixer)?;
    assert!(store.rate_table(day, Currency::EUR)?.is_some());
    assert!(
        store.rate_table(day, Currency::USD)?.is_none(),
        "only EUR is stored"
    );
    assert!(store
        .rate_table(date!(2024 - 01 - 03), Currency::EUR)?
        .is_none());
    Ok(())
}

fn a_range_reads_every_held_day_in_order(database: &TestDatabase) -> TestResult {
    let store = database.store();
    let mut tables = ecb_sample_tables()?;
    store.bulk_upsert(&tables, Source::EcbImport)?;
    tables.sort_by_key(|table| table.date());

    let october = DateRange::new(date!(2026 - 10 - 01), date!(2026 - 10 - 31))?;
    let read = store.rate_tables_between(october, Currency::EUR)?;
    let expected: Vec<_> = tables
        .iter()
        .filter(|table| october.contains(table.date()))
        .collect();
    assert_eq!(read.len(), expected.len());
    assert_eq!(read.len(), 22);
    for (stored, table) in read.iter().zip(expected) {
        assert_eq!(&stored.table, table);
    }

    let weekend = DateRange::new(date!(2026 - 10 - 24), date!(2026 - 10 - 25))?;
    assert!(store
        .rate_tables_between(weekend, Currency::EUR)?
        .is_empty());
    assert!(store
        .rate_tables_between(october, Currency::USD)?
        .is_empty());
    Ok(())
}

fn latest_and_nearest_earlier_dates(database: &TestDatabase) -> TestResult {
    let store = database.store();
    assert_eq!(store.latest_date(Currency::EUR)?, None);
    store.bulk_upsert(&ecb_sample_tables()?, Source::EcbImport)?;
    assert_eq!(
        store.latest_date(Currency::EUR)?,
        Some(date!(2026 - 10 - 30))
    );
    assert_eq!(store.latest_date(Currency::USD)?, None);
    // Sunday → Friday; Monday → Friday (strictly earlier); the first day → nothing before it.
    assert_eq!(
        store.nearest_date_before(date!(2026 - 10 - 25), Currency::EUR)?,
        Some(date!(2026 - 10 - 23))
    );
    assert_eq!(
        store.nearest_date_before(date!(2026 - 10 - 26), Currency::EUR)?,
        Some(date!(2026 - 10 - 23))
    );
    assert_eq!(
        store.nearest_date_before(date!(2026 - 09 - 02), Currency::EUR)?,
        None
    );
    Ok(())
}

fn dates_held_lists_only_stored_days(database: &TestDatabase) -> TestResult {
    let store = database.store();
    store.bulk_upsert(&ecb_sample_tables()?, Source::EcbImport)?;
    let week = DateRange::new(date!(2026 - 10 - 19), date!(2026 - 10 - 25))?;
    let held: Vec<_> = store.dates_held(week, Currency::EUR)?.into_iter().collect();
    assert_eq!(
        held,
        vec![
            date!(2026 - 10 - 19),
            date!(2026 - 10 - 20),
            date!(2026 - 10 - 21),
            date!(2026 - 10 - 22),
            date!(2026 - 10 - 23)
        ]
    );
    Ok(())
}

fn currencies_lists_held_codes_with_names_where_known(database: &TestDatabase) -> TestResult {
    let store = database.store();
    assert!(store.currencies()?.is_empty());
    assert_eq!(store.currency_names_known()?, 0);
    store.upsert_rate_table(
        &eur_table(date!(2024 - 01 - 02), &[("USD", 1.1), ("JPY", 150.0)]),
        Source::Fixer,
    )?;
    let names = [
        (Currency::USD, "United States Dollar".to_owned()),
        (Currency::EUR, "Euro".to_owned()),
        (code("CHF"), "Swiss Franc".to_owned()),
    ];
    assert_eq!(store.upsert_currency_names(&names)?, 3);
    assert_eq!(
        store.upsert_currency_names(&names)?,
        0,
        "unchanged names are skipped"
    );
    assert_eq!(
        store.upsert_currency_names(&[(code("CHF"), "Swiss franc".to_owned())])?,
        1
    );
    assert_eq!(store.currency_names_known()?, 3);
    // CHF has a name but no rates, so it is not listed.
    assert_eq!(
        store.currencies()?,
        vec![
            CurrencyRecord {
                code: Currency::EUR,
                name: Some("Euro".to_owned())
            },
            CurrencyRecord {
                code: code("JPY"),
                name: None
            },
            CurrencyRecord {
                code: Currency::USD,
                name: Some("United States Dollar".to_owned())
            },
        ]
    );
    assert!(store
        .upsert_currency_names(&[(code("GBP"), " ".to_owned())])
        .is_err());
    Ok(())
}

fn health_reports_the_latest_date(database: &TestDatabase) -> TestResult {
    let store = database.store();
    assert_eq!(store.health()?, None);
    store.upsert_rate_table(
        &eur_table(date!(2024 - 01 - 02), &[("USD", 1.1)]),
        Source::Fixer,
    )?;
    store.upsert_rate_table(
        &eur_table(date!(2023 - 05 - 02), &[("USD", 1.1)]),
        Source::Fixer,
    )?;
    assert_eq!(store.health()?, Some(date!(2024 - 01 - 02)));
    Ok(())
}
