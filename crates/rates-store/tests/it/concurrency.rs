//! A writer and readers sharing one database through separate pools, as two processes would.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rates_domain::{Currency, DateRange, Source};
use rates_store::testing::TestDatabase;
use rates_store::{Store, StoreError};
use time::macros::date;
use time::Duration as Days;

use crate::helpers::{eur_table, TestResult};

backend_tests!(readers_never_fail_while_a_writer_upserts);

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
