//! Failures leave no partial day, and bad stored data is an error, not a panic.

use rates_domain::{Currency, Source};
use rates_store::testing::TestDatabase;
use rates_store::{Backend, StoreError};
use time::macros::date;

use crate::helpers::{code, eur_table, execute_raw, TestResult};

backend_tests!(
    a_failure_mid_transaction_rolls_back_the_whole_batch,
    a_transaction_dropped_before_commit_leaves_no_partial_day,
    a_corrupt_row_is_reported_not_served,
);

/// Makes every UPDATE of a GBP rate fail, after the batch's inserts have already run.
fn fail_on_gbp_update(database: &TestDatabase) -> TestResult {
    let sql = match database.backend() {
        Backend::Sqlite => {
            "CREATE TRIGGER fail_on_gbp BEFORE UPDATE ON rates WHEN NEW.currency = 'GBP' \
             BEGIN SELECT RAISE(ABORT, 'injected failure'); END;"
        }
        Backend::Postgres => {
            "CREATE FUNCTION fail_on_gbp() RETURNS trigger AS $$ BEGIN \
               IF NEW.currency = 'GBP' THEN RAISE EXCEPTION 'injected failure'; END IF; \
               RETURN NEW; END $$ LANGUAGE plpgsql; \
             CREATE TRIGGER fail_on_gbp BEFORE UPDATE ON rates \
               FOR EACH ROW EXECUTE FUNCTION fail_on_gbp();"
        }
    };
    execute_raw(database.url(), sql)
}

fn a_failure_mid_transaction_rolls_back_the_whole_batch(database: &TestDatabase) -> TestResult {
    let store = database.store();
    let tuesday = date!(2024 - 01 - 02);
    let wednesday = date!(2024 - 01 - 03);
    let thursday = date!(2024 - 01 - 04);
    store.upsert_rate_table(
        &eur_table(thursday, &[("USD", 1.1), ("GBP", 0.86)]),
        Source::Fixer,
    )?;
    let version = store.data_version()?;
    fail_on_gbp_update(database)?;

    // One batch: Tuesday and Wednesday are inserted first, then Thursday's GBP update fails.
    let batch = [
        eur_table(tuesday, &[("USD", 1.3), ("JPY", 150.0)]),
        eur_table(wednesday, &[("USD", 1.4)]),
        eur_table(thursday, &[("USD", 1.2), ("GBP", 0.87)]),
    ];
    let error = store.bulk_upsert(&batch, Source::Fixer).unwrap_err();
    assert!(matches!(error, StoreError::Query { .. }), "{error}");
    assert!(error.to_string().contains("updating rates"), "{error}");

    assert!(store.rate_table(tuesday, Currency::EUR)?.is_none());
    assert!(store.rate_table(wednesday, Currency::EUR)?.is_none());
    let stored = store
        .rate_table(thursday, Currency::EUR)?
        .ok_or("thursday")?;
    assert_eq!(stored.table.rate(Currency::USD).ok_or("USD")?.get(), 1.1);
    assert!(store
        .revisions(thursday, Currency::EUR, Currency::USD)?
        .is_empty());
    assert_eq!(store.data_version()?, version);

    // With one day per batch, the days before the failing one stay committed, each whole.
    let error = store
        .bulk_upsert_with_progress(&batch, Source::Fixer, 1, |_| {})
        .unwrap_err();
    assert!(matches!(error, StoreError::Query { .. }), "{error}");
    assert_eq!(
        store
            .rate_table(tuesday, Currency::EUR)?
            .ok_or("tuesday")?
            .table
            .len(),
        2
    );
    assert_eq!(
        store
            .rate_table(wednesday, Currency::EUR)?
            .ok_or("wednesday")?
            .table
            .len(),
        1
    );
    let stored = store
        .rate_table(thursday, Currency::EUR)?
        .ok_or("thursday")?;
    assert_eq!(stored.table.rate(Currency::USD).ok_or("USD")?.get(), 1.1);
    Ok(())
}

fn a_transaction_dropped_before_commit_leaves_no_partial_day(
    database: &TestDatabase,
) -> TestResult {
    // A writer that dies mid-transaction: half a day written, connection gone, no COMMIT.
    execute_raw(
        database.url(),
        "BEGIN; \
         INSERT INTO rates (date, base, currency, rate, source, first_stored_at, last_changed_at) \
         VALUES ('2024-01-02', 'EUR', 'USD', 1.1, 'fixer', '2024-01-02 16:00:00', '2024-01-02 16:00:00');",
    )?;
    let store = database.store();
    assert!(store
        .rate_table(date!(2024 - 01 - 02), Currency::EUR)?
        .is_none());
    // The store can still write that day afterwards.
    let counts = store.upsert_rate_table(
        &eur_table(date!(2024 - 01 - 02), &[("USD", 1.1), ("JPY", 150.0)]),
        Source::Fixer,
    )?;
    assert_eq!(counts.inserted, 2);
    Ok(())
}

fn a_corrupt_row_is_reported_not_served(database: &TestDatabase) -> TestResult {
    let store = database.store();
    store.upsert_rate_table(
        &eur_table(date!(2024 - 01 - 02), &[("USD", 1.1)]),
        Source::Fixer,
    )?;
    execute_raw(
        database.url(),
        "INSERT INTO rates (date, base, currency, rate, source, first_stored_at, last_changed_at) \
         VALUES ('2024-01-02', 'EUR', 'U$D', 1.2, 'fixer', '2024-01-02 16:00:00', '2024-01-02 16:00:00');",
    )?;
    let error = store
        .rate_table(date!(2024 - 01 - 02), Currency::EUR)
        .unwrap_err();
    assert!(matches!(error, StoreError::CorruptRow { .. }), "{error}");
    assert!(error.to_string().contains("U$D"), "{error}");
    // Other days are unaffected.
    store.upsert_rate_table(
        &eur_table(date!(2024 - 01 - 03), &[("GBP", 0.8)]),
        Source::Fixer,
    )?;
    assert!(store
        .rate_table(date!(2024 - 01 - 03), Currency::EUR)?
        .is_some());
    assert_eq!(code("GBP").as_str(), "GBP");
    Ok(())
}
