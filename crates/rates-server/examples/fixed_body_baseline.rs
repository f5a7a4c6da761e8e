//! The benchmark's yardstick: a minimal actix-web server answering every request with the same
//! fixed JSON body, read once from a file at start.
//!
//! `scripts/bench-server.sh` saves a real answer of `rates-server` to a file, serves it with this
//! program on the same machine and with the same number of workers, and compares throughput: the
//! gap is what routing, parsing, caching, headers and logging cost.
//!
//! With `--range-body`, paths naming a range (`..`) get that file instead: the yardstick for a
//! mix of URLs, each answered with a body of its kind's size.
//!
//! ```text
//! cargo run --release -p rates-server --example fixed_body_baseline -- --body answer.json --bind 127.0.0.1:18081 --workers 2
//! ```

use std::path::PathBuf;
use std::time::{Duration, Instant};

use actix_web::web::Bytes;
use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
use anyhow::Context;
use clap::Parser;

/// Serve one fixed body on every path.
#[derive(Debug, Parser)]
struct Args {
    /// File whose bytes are the body of every answer.
    #[arg(long)]
    body: PathBuf,
    /// File answering paths that contain `..` (ranges), if given.
    #[arg(long)]
    range_body: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:18081")]
    bind: String,
    /// Worker threads.
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Nanoseconds of busy work before each answer (none by default): shows how the
    /// benchmark's throughput and latencies move with CPU time added to every request.
    #[arg(long, default_value_t = 0)]
    busy_ns: u64,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let body = Bytes::from(
        std::fs::read(&args.body)
            .with_context(|| format!("cannot read {}", args.body.display()))?,
    );
    let range_body = match &args.range_body {
        Some(path) => Bytes::from(
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?,
        ),
        None => body.clone(),
    };
    let busy = Duration::from_nanos(args.busy_ns);
    let server = HttpServer::new(move || {
        let (body, range_body) = (body.clone(), range_body.clone());
        App::new().default_service(web::to(move |request: HttpRequest| {
            let answer = if request.path().contains("..") {
                range_body.clone()
            } else {
                body.clone()
            };
            busy_for(busy);
            async move {
                HttpResponse::Ok()
                    .content_type("application/json")
                    .body(answer)
            }
        }))
    })
    .workers(args.workers)
    .bind(&args.bind)
    .with_context(|| format!("cannot listen on {}", args.bind))?;
    actix_web::rt::System::new()
        .block_on(server.run())
        .context("server failed")
}

/// Spins for `time` (nothing when zero): work on the CPU, as a real answer's would be.
fn busy_for(time: Duration) {
    if time.is_zero() {
        return;
    }
    let started = Instant::now();
    while started.elapsed() < time {
        std::hint::spin_loop();
    }
}
