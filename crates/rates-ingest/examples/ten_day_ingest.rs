//! Benchmark: the default 10-day ingest against a mock Fixer that takes 200 ms per answer.
//!
//! ```sh
//! cargo run --release -p rates-ingest --example ten_day_ingest [RUNS]
//! ```
//!
//! Starts the mock in-process, and for each Fixer plan and concurrency times [`rates_ingest::ingest`]
//! into a fresh SQLite file (currency names fetched, as on a first run); prints the median, min
//! and max wall time and the requests made. The target is under 1 s with the default
//! concurrency of 4, on the free plan too (a refused timeseries request, then 10 dates).

use std::error::Error;
use std::time::Duration;

use fixer_client::mock::{MockFixer, Plan};
use rates_domain::{today_utc, Currency};
use rates_ingest::{DateSelection, IngestOptions};
use rates_store::testing::TestDatabase;

const LATENCY: Duration = Duration::from_millis(200);

fn main() -> Result<(), Box<dyn Error>> {
    let runs: usize = match std::env::args().nth(1) {
        Some(text) => text.parse()?,
        None => 7,
    };
    println!(
        "10-day ingest, mock latency {} ms, {runs} runs each",
        LATENCY.as_millis()
    );
    println!(
        "{:<20} {:>11} {:>9} {:>9} {:>9} {:>9}",
        "plan", "concurrency", "median", "min", "max", "requests"
    );
    for (plan, label) in [(Plan::Professional, "professional"), (Plan::Free, "free")] {
        for concurrency in [4, 1] {
            let mock = MockFixer::builder().plan(plan).delay(LATENCY).try_start()?;
            let client = mock.client();
            let options = IngestOptions {
                selection: DateSelection::LastDays(10),
                base: Currency::EUR,
                symbols: Vec::new(),
                only_missing: false,
                concurrency,
            };
            let mut times = Vec::with_capacity(runs);
            let mut requests = 0;
            for _ in 0..runs {
                let database = TestDatabase::sqlite()?;
                let plan = rates_ingest::plan(&options, today_utc(), database.store())?;
                let report = rates_ingest::ingest(
                    &client,
                    database.store(),
                    &plan,
                    &rates_ingest::Cancellation::new(),
                    &mut |_| {},
                );
                if !report.succeeded() {
                    return Err(format!("dates failed: {:?}", report.failed_dates()).into());
                }
                requests = report.requests;
                times.push(report.elapsed);
            }
            times.sort();
            let ms = |d: Option<&Duration>| d.map_or(0.0, |d| d.as_secs_f64() * 1000.0);
            println!(
                "{:<20} {:>11} {:>7.0}ms {:>7.0}ms {:>7.0}ms {:>9}",
                label,
                concurrency,
                ms(times.get(times.len() / 2)),
                ms(times.first()),
                ms(times.last()),
                requests
            );
        }
    }
    Ok(())
}
