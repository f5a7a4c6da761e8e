//! A writer and readers sharing one database through separate pools, as two processes would.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rates_domain::{Currency, DateRange, Source};
use rates_store::testing::TestDatabase;
use rates_store::{Store, StoreError};
use time::macros::date;
use time::Duration as Days;

use crate::helpers::{code, eur_table, TestResult};

backend_tests!(
    readers_never_fail_while_a_writer_upserts,
    currency_names_and_rates_can_be_written_at_once
);

const DAYS: i64 = 150;
const READERS: usize = 4;

fn readers_never_fail_while_a_writer_upserts(database: &TestDatabase) -> TestResult {
    // The writer uses the test database's pool; the readers a second pool opened on the same
    // database (and migrating it, which must find nothing to do).
    let reader_store = Store::open(database.url(), Some(READERS as u32))?;
    let writer_store = database.store().clone();
    let first_day = date!(2024 - 01 - 01);
    let writing = AtomicBool::new(true);

    let (written, reads) = std::thread::scope(|scope| {
        let writing = &writing;
        let readers: Vec<_> = (0..READERS)
            .map(|reader| {
                let store = reader_store.clone();
                scope.spawn(move || -> Result<u64, StoreError> {
                    let mut reads = 0;
                    let range = DateRange::ending(date!(2024 - 12 - 31), 366).map_err(|e| {
                        StoreError::InvalidInput {
                            reason: e.to_string(),
                        }
                    })?;
                    while writing.load(Ordering::Acquire) {
                        match reader % 4 {
                            0 => drop(store.latest_date(Currency::EUR)?),
                            1 => drop(store.rate_tables_between(range, Currency::EUR)?),
                            2 => drop(store.health()?),
                            _ => {
                                if let Some(latest) = store.latest_date(Currency::EUR)? {
                                    store.rate_table(latest, Currency::EUR)?.ok_or(
                                        StoreError::InvalidInput {
                                            reason: format!("{latest} listed but not readable"),
                                        },
                                    )?;
                                }
                            }
                        }
                        reads += 1;
                    }
                    Ok(reads)
                })
            })
            .collect();

        let writer = scope.spawn(move || -> Result<u64, StoreError> {
            let mut written = 0;
            for offset in 0..DAYS {
                let day = first_day + Days::days(offset);
                let value = 1.0 + offset as f64 / 1000.0;
                let table = eur_table(day, &[("USD", value), ("GBP", 0.8), ("JPY", 150.0)]);
                written += writer_store
                    .upsert_rate_table(&table, Source::Fixer)?
                    .inserted;
                // Rewrite an earlier day too, so updates and revisions are part of the mix.
                if offset > 0 {
                    let earlier = eur_table(first_day, &[("USD", value)]);
                    writer_store.upsert_rate_table(&earlier, Source::Fixer)?;
                }
            }
            Ok(written)
        });
        let written = writer.join();
        writing.store(false, Ordering::Release);
        let reads: Vec<_> = readers.into_iter().map(|reader| reader.join()).collect();
        (written, reads)
    });

    let written = written.map_err(|_| "the writer panicked")??;
    assert_eq!(written, DAYS as u64 * 3);
    for reads in reads {
        let reads = reads.map_err(|_| "a reader panicked")??;
        assert!(reads > 0, "every reader got to read");
    }
    std::thread::sleep(Duration::from_millis(1));
    assert_eq!(
        reader_store.latest_date(Currency::EUR)?,
        Some(first_day + Days::days(DAYS - 1))
    );
    Ok(())
}

const NAME_ROUNDS: usize = 60;

fn currency_names_and_rates_can_be_written_at_once(database: &TestDatabase) -> TestResult {
    // Two pools, as the server's ingest and an operator's `rates-cli` would have. Every round
    // changes the names, so each call reads the stored names and then writes.
    let names_store = Store::open(database.url(), Some(1))?;
    let rates_store = database.store().clone();
    let first_day = date!(2024 - 01 - 01);
    let naming = AtomicBool::new(true);

    let (names_written, tables_written) = std::thread::scope(|scope| {
        let naming = &naming;
        let rates_writer = scope.spawn(move || -> Result<u64, StoreError> {
            let mut written = 0;
            let mut offset = 0;
            while naming.load(Ordering::Acquire) {
                let day = first_day + Days::days(offset % 30);
                let value = 1.0 + offset as f64 / 1000.0;
                let table = eur_table(day, &[("USD", value), ("GBP", 0.8), ("JPY", 150.0)]);
                rates_store.upsert_rate_table(&table, Source::Fixer)?;
                written += 1;
                offset += 1;
            }
            Ok(written)
        });
        let names_writer = scope.spawn(move || -> Result<usize, StoreError> {
            let mut changed = 0;
            for round in 0..NAME_ROUNDS {
                let names = [
                    (code("USD"), format!("US dollar ({round})")),
                    (code("CHF"), format!("Swiss franc ({round})")),
                ];
                changed += names_store.upsert_currency_names(&names)?;
            }
            Ok(changed)
        });
        let names_written = names_writer.join();
        naming.store(false, Ordering::Release);
        (names_written, rates_writer.join())
    });

    let names_written = names_written.map_err(|_| "the names writer panicked")??;
    assert_eq!(names_written, NAME_ROUNDS * 2);
    let tables_written = tables_written.map_err(|_| "the rates writer panicked")??;
    assert!(tables_written > 0, "the rates writer got to write");
    let stored = database.store().currency_names_known()?;
    assert!(stored >= 2, "{stored} names stored");
    Ok(())
}
