//! The ECB history through the bulk path: load into a fresh SQLite file, reload unchanged, and
//! read one year as a range.
//!
//! The file comes from `RATES_ECB_CSV`, defaulting to the project's shared copy beside the
//! workspace; without it the benchmarks are skipped with a message. SQLite always; PostgreSQL
//! as well when `RATES_TEST_POSTGRES_URL` is set.
//!
//! `cargo bench -p rates-store --bench bulk_load`
// A benchmark whose setup fails cannot measure anything: stopping loudly is the right outcome.
#![allow(clippy::panic, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use rates_domain::ecb::parse_ecb_csv;
use rates_domain::{Currency, DateRange, RateTable, Source};
use rates_store::testing::TestDatabase;
use time::macros::date;

fn ecb_file() -> PathBuf {
    std::env::var_os("RATES_ECB_CSV").map_or_else(
        || {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../../shared/data/eurofxref-hist.csv")
        },
        PathBuf::from,
    )
}

fn load_tables() -> Option<Vec<RateTable>> {
    let path = ecb_file();
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) => {
            eprintln!(
                "skipping the rates-store benchmarks: cannot read the ECB history {} ({error}); \
                 set RATES_ECB_CSV to its path",
                path.display()
            );
            return None;
        }
    };
    Some(
        parse_ecb_csv(text.as_bytes())
            .expect("the ECB history file parses")
            .tables,
    )
}

fn ecb_history(c: &mut Criterion) {
    let Some(tables) = load_tables() else {
        return;
    };
    let rates: u64 = tables.iter().map(|table| table.len() as u64).sum();
    eprintln!("ECB history: {} days, {rates} rates", tables.len());
    bench_backend(c, "sqlite", &tables, rates, || {
        TestDatabase::sqlite().expect("a temporary SQLite database")
    });
    // PostgreSQL too when a server is configured (as for the tests); otherwise SQLite alone.
    if std::env::var_os("RATES_TEST_POSTGRES_URL").is_some() {
        bench_backend(c, "postgres", &tables, rates, || {
            TestDatabase::postgres()
                .expect("a PostgreSQL test database")
                .expect("RATES_TEST_POSTGRES_URL is set")
        });
    }
}

fn bench_backend(
    c: &mut Criterion,
    backend: &str,
    tables: &[RateTable],
    rates: u64,
    fresh_database: impl Fn() -> TestDatabase,
) {
    let mut group = c.benchmark_group("ecb_history");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(30));

    group.bench_function(format!("bulk_load_fresh_{backend}"), |bencher| {
        bencher.iter_batched_ref(
            &fresh_database,
            |database| {
                let counts = database
                    .store()
                    .bulk_upsert(tables, Source::EcbImport)
                    .expect("bulk load");
                assert_eq!(counts.inserted, rates);
            },
            BatchSize::PerIteration,
        );
    });

    let loaded = fresh_database();
    loaded
        .store()
        .bulk_upsert(tables, Source::EcbImport)
        .expect("bulk load");

    group.bench_function(format!("bulk_reload_unchanged_{backend}"), |bencher| {
        bencher.iter(|| {
            let counts = loaded
                .store()
                .bulk_upsert(tables, Source::EcbImport)
                .expect("bulk reload");
            assert_eq!(counts.unchanged, rates);
        });
    });
    group.finish();

    let year = DateRange::new(date!(2025 - 01 - 01), date!(2025 - 12 - 31)).expect("a valid range");
    let mut group = c.benchmark_group("ecb_history_reads");
    group.bench_function(format!("one_year_range_{backend}"), |bencher| {
        bencher.iter(|| {
            let tables = loaded
                .store()
                .rate_tables_between(year, Currency::EUR)
                .expect("range read");
            assert!(tables.len() > 250);
        });
    });
    group.bench_function(format!("one_day_table_{backend}"), |bencher| {
        bencher.iter(|| {
            loaded
                .store()
                .rate_table(date!(2025 - 06 - 02), Currency::EUR)
                .expect("day read")
                .expect("the day is held")
        });
    });
    group.finish();
}

criterion_group!(benches, ecb_history);
criterion_main!(benches);
