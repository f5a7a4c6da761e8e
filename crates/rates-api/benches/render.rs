//! What an uncached answer costs the server, without the network: the whole ECB history
//! (`tests/data/eurofxref-hist.zip`) in a SQLite file, loaded into the snapshot, and requests
//! sent straight to the actix service with the answer cache off, so every request is rendered
//! from the snapshot: a day and a one-year range, in the stored base and in another.
//!
//! `cargo bench -p rates-api --bench render`
// A benchmark whose setup fails cannot measure anything: stopping loudly is the right outcome.
#![allow(clippy::panic, clippy::expect_used, missing_docs)]

use std::io::{Cursor, Read};

use actix_web::{test, App};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use rates_api::{ApiConfig, ApiState, CacheConfig};
use rates_domain::ecb::parse_ecb_csv;
use rates_domain::Source;
use rates_store::testing::TestDatabase;

fn ecb_history_database() -> TestDatabase {
    let zipped = include_bytes!("../tests/data/eurofxref-hist.zip");
    let mut archive = zip::ZipArchive::new(Cursor::new(&zipped[..])).expect("the zip opens");
    let mut text = String::new();
    archive
        .by_index(0)
        .expect("the zip holds the CSV")
        .read_to_string(&mut text)
        .expect("the CSV is text");
    let tables = parse_ecb_csv(text.as_bytes())
        .expect("the ECB history parses")
        .tables;
    let database = TestDatabase::sqlite().expect("a temporary SQLite database");
    database
        .store()
        .bulk_upsert(&tables, Source::EcbImport)
        .expect("the history loads");
    database
}

fn render(c: &mut Criterion) {
    let database = ecb_history_database();
    let mut config = ApiConfig::default();
    config.cache = CacheConfig {
        max_bytes: 0,
        ..CacheConfig::default()
    };
    let state = ApiState::start(database.store().clone(), config).expect("the snapshot loads");
    let system = actix_web::rt::System::new();
    let app = system.block_on(test::init_service(
        App::new().configure(|cfg| rates_api::configure(cfg, state)),
    ));

    let cases = [
        ("day", "/rates/2024-01-02/"),
        ("day in USD", "/rates/2024-01-02/?base=USD"),
        ("day, two symbols", "/rates/2024-01-02/?symbols=USD,JPY"),
        ("year", "/rates/2023-01-01..2023-12-31/"),
        ("year in USD", "/rates/2023-01-01..2023-12-31/?base=USD"),
    ];
    let mut group = c.benchmark_group("uncached answer");
    for (name, uri) in cases {
        let bytes = system.block_on(async {
            let response =
                test::call_service(&app, test::TestRequest::get().uri(uri).to_request()).await;
            assert!(
                response.status().is_success(),
                "{uri}: {}",
                response.status()
            );
            test::read_body(response).await.len()
        });
        group.throughput(Throughput::Bytes(bytes as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                system.block_on(async {
                    let response =
                        test::call_service(&app, test::TestRequest::get().uri(uri).to_request())
                            .await;
                    test::read_body(response).await.len()
                })
            });
        });
    }
    group.finish();
}

criterion_group!(benches, render);
criterion_main!(benches);
