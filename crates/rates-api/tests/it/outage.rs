//! The database cut off under load: reads go on from memory, `/health` answers at once and says
//! so, and the server recovers by itself. PostgreSQL is cut through a TCP proxy this test owns
//! (so every other test's database stays up); SQLite is locked by a long `BEGIN IMMEDIATE`
//! writer.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rates_api::ApiState;
use rates_domain::{parse_date, Currency, RateTable, Source};
use rates_store::testing::TestDatabase;
use rates_store::Store;

use crate::helpers::{load_sample, spawn_app_with_workers, test_config, TestApp, TestResult};

/// A TCP proxy to one upstream address that the test can cut: established connections are
/// closed and new ones closed as soon as they are accepted (to a client, the same as a database
/// that went away), until restored.
struct Proxy {
    address: SocketAddr,
    open: Arc<AtomicBool>,
    stopping: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<TcpStream>>>,
    acceptor: Option<JoinHandle<()>>,
}

impl Proxy {
    fn start(upstream: SocketAddr) -> TestResult<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let address = listener.local_addr()?;
        let open = Arc::new(AtomicBool::new(true));
        let stopping = Arc::new(AtomicBool::new(false));
        let connections: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let acceptor = {
            let (open, stopping, connections) =
                (open.clone(), stopping.clone(), connections.clone());
            std::thread::spawn(move || {
                for client in listener.incoming() {
                    if stopping.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(client) = client else { continue };
                    if !open.load(Ordering::SeqCst) {
                        let _ = client.shutdown(Shutdown::Both);
                        continue;
                    }
                    let Ok(server) = TcpStream::connect(upstream) else {
                        continue;
                    };
                    let pairs = [
                        (client.try_clone(), server.try_clone()),
                        (server.try_clone(), client.try_clone()),
                    ];
                    let mut held = connections.lock().unwrap_or_else(PoisonError::into_inner);
                    for stream in [&client, &server] {
                        if let Ok(clone) = stream.try_clone() {
                            held.push(clone);
                        }
                    }
                    for pair in pairs {
                        if let (Ok(mut from), Ok(mut to)) = pair {
                            std::thread::spawn(move || {
                                let mut buffer = [0; 16 * 1024];
                                while let Ok(read) = from.read(&mut buffer) {
                                    let Some(chunk) = buffer.get(..read) else {
                                        break;
                                    };
                                    if read == 0 || to.write_all(chunk).is_err() {
                                        break;
                                    }
                                }
                                let _ = to.shutdown(Shutdown::Both);
                            });
                        }
                    }
                }
            })
        };
        Ok(Proxy {
            address,
            open,
            stopping,
            connections,
            acceptor: Some(acceptor),
        })
    }

    /// Kills every established connection and refuses new ones.
    fn cut(&self) {
        self.open.store(false, Ordering::SeqCst);
        let mut held = self
            .connections
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for stream in held.drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    /// Lets connections through again.
    fn restore(&self) {
        self.open.store(true, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.cut();
        let _ = TcpStream::connect(self.address);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

/// The parts of a `postgres://user@host:port/db` URL: before the host, the host and port,
/// and the path.
fn split_url(url: &str) -> TestResult<(String, String, String)> {
    let (scheme, rest) = url.split_once("://").ok_or("no scheme")?;
    let (authority, path) = rest.split_at(rest.find('/').ok_or("no database name")?);
    let (user, host_port) = match authority.rsplit_once('@') {
        Some((user, host_port)) => (format!("{user}@"), host_port),
        None => (String::new(), authority),
    };
    let host_port = if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:5432")
    };
    Ok((format!("{scheme}://{user}"), host_port, path.to_owned()))
}

/// The address the URL's host and port name.
fn upstream_of(url: &str) -> TestResult<SocketAddr> {
    let (_, host_port, _) = split_url(url)?;
    Ok(host_port
        .to_socket_addrs()?
        .next()
        .ok_or("the database host does not resolve")?)
}

/// `url` with its host and port replaced by `address`.
fn via(url: &str, address: SocketAddr) -> TestResult<String> {
    let (front, _, path) = split_url(url)?;
    Ok(format!("{front}{address}{path}"))
}

/// Readers hammering a mix of cached and uncached read routes, and a prober timing `/health`,
/// until stopped.
struct Load {
    stop: Arc<AtomicBool>,
    reads: Arc<AtomicU64>,
    failures: Arc<Mutex<Vec<String>>>,
    slowest_health: Arc<Mutex<Duration>>,
    states_seen: Arc<Mutex<Vec<String>>>,
    threads: Vec<JoinHandle<()>>,
}

impl Load {
    fn start(app: &TestApp) -> Load {
        let load = Load {
            stop: Arc::default(),
            reads: Arc::default(),
            failures: Arc::default(),
            slowest_health: Arc::default(),
            states_seen: Arc::default(),
            threads: Vec::new(),
        };
        let mut threads = Vec::new();
        for reader in 0..4_usize {
            let (stop, reads, failures) =
                (load.stop.clone(), load.reads.clone(), load.failures.clone());
            let root = app.url("");
            threads.push(std::thread::spawn(move || {
                let agent = ureq::AgentBuilder::new()
                    .timeout(Duration::from_secs(10))
                    .build();
                let bases = ["USD", "GBP", "JPY", "CHF", "EUR"];
                let mut round = reader;
                while !stop.load(Ordering::SeqCst) {
                    round += 1;
                    let day = 2 + round % 9;
                    let base = bases.get(round % bases.len()).copied().unwrap_or("USD");
                    let path = match round % 4 {
                        0 => format!("/rates/2024-01-{day:02}/?fallback=previous&base={base}"),
                        1 => format!("/rates/2024-01-01..2024-01-{day:02}/?base={base}"),
                        2 => format!("/convert?from={base}&to=SEK&amount={round}"),
                        _ => "/rates/latest/?symbols=USD,GBP".to_owned(),
                    };
                    match agent.get(&format!("{root}{path}")).call() {
                        Ok(response) if response.status() == 200 => {
                            reads.fetch_add(1, Ordering::Relaxed);
                        }
                        Ok(response) => failures
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .push(format!("{path}: {}", response.status())),
                        Err(error) => failures
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .push(format!("{path}: {error}")),
                    }
                    // Steady load rather than saturation: the test build renders a year in
                    // milliseconds, and a saturated worker would queue /health behind it.
                    std::thread::sleep(Duration::from_millis(1));
                }
            }));
        }
        {
            let (stop, failures, slowest, states) = (
                load.stop.clone(),
                load.failures.clone(),
                load.slowest_health.clone(),
                load.states_seen.clone(),
            );
            let url = app.url("/health");
            threads.push(std::thread::spawn(move || {
                let agent = ureq::AgentBuilder::new()
                    .timeout(Duration::from_secs(10))
                    .build();
                while !stop.load(Ordering::SeqCst) {
                    let started = Instant::now();
                    let answer = agent
                        .get(&url)
                        .call()
                        .map_err(|e| e.to_string())
                        .and_then(|r| r.into_string().map_err(|e| e.to_string()));
                    let took = started.elapsed();
                    {
                        let mut slowest = slowest.lock().unwrap_or_else(PoisonError::into_inner);
                        *slowest = (*slowest).max(took);
                    }
                    match answer
                        .ok()
                        .and_then(|body| serde_json::from_str::<serde_json::Value>(&body).ok())
                    {
                        Some(body) => {
                            let state = body
                                .get("database")
                                .and_then(|state| state.as_str())
                                .unwrap_or("?")
                                .to_owned();
                            let mut seen = states.lock().unwrap_or_else(PoisonError::into_inner);
                            if seen.last() != Some(&state) {
                                seen.push(state);
                            }
                        }
                        None => failures
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .push("/health failed".to_owned()),
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
            }));
        }
        Load { threads, ..load }
    }

    fn state(&self) -> Option<String> {
        self.states_seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .last()
            .cloned()
    }

    /// Stops the load and checks it: no failed read, `/health` always under 100 ms, and the
    /// database states `/health` went through.
    fn finish(mut self) -> TestResult<Vec<String>> {
        self.stop.store(true, Ordering::SeqCst);
        for thread in self.threads.drain(..) {
            thread.join().map_err(|_| "a load thread panicked")?;
        }
        let failures = self
            .failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let reads = self.reads.load(Ordering::Relaxed);
        let slowest = *self
            .slowest_health
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        eprintln!("{reads} reads, slowest /health {slowest:?}");
        assert!(
            failures.is_empty(),
            "{} failed: {:?}",
            failures.len(),
            failures
        );
        assert!(reads > 100, "only {reads} reads");
        assert!(slowest < Duration::from_millis(100), "{slowest:?}");
        Ok(self
            .states_seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone())
    }
}

/// Waits until `condition` holds, at most `limit`; returns how long it took.
fn within(
    limit: Duration,
    mut condition: impl FnMut() -> TestResult<bool>,
) -> TestResult<Duration> {
    let started = Instant::now();
    loop {
        if condition()? {
            return Ok(started.elapsed());
        }
        if started.elapsed() > limit {
            return Err(format!("not within {limit:?}").into());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The USD rate `/rates/2024-01-03/` serves.
fn served_usd(app: &TestApp) -> TestResult<f64> {
    app.get("/rates/2024-01-03/?symbols=USD")?
        .json()?
        .pointer("/rates/USD")
        .and_then(|usd| usd.as_f64())
        .ok_or_else(|| "no USD".into())
}

fn correction(usd: f64) -> TestResult<RateTable> {
    Ok(RateTable::from_raw(
        parse_date("2024-01-03")?,
        Currency::EUR,
        [("USD", usd)],
    )?)
}

#[test]
#[cfg_attr(
    not(rates_test_postgres),
    ignore = "PostgreSQL skipped: RATES_TEST_POSTGRES_URL is not set"
)]
fn postgres_cut_off_under_load_answers_every_read_and_recovers_by_itself() -> TestResult {
    let Some(database) = TestDatabase::postgres()? else {
        return Ok(());
    };
    load_sample(database.store())?;
    let proxy = Proxy::start(upstream_of(database.url())?)?;
    let proxied_url = via(database.url(), proxy.address)?;
    let state = ApiState::start(Store::open(&proxied_url, Some(2))?, test_config())?;
    let app = spawn_app_with_workers(database, state, 2)?;
    let load = Load::start(&app);
    std::thread::sleep(Duration::from_millis(500));

    proxy.cut();
    let noticed = within(Duration::from_secs(3), || {
        Ok(load.state().as_deref() == Some("unavailable"))
    })?;
    eprintln!("the outage showed on /health after {noticed:?}");
    // A write the server cannot see while cut off (made directly, not through the proxy).
    app.store()
        .upsert_rate_table(&correction(1.5)?, Source::Fixer)?;
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(served_usd(&app)?, 1.0919, "the snapshot as it was");

    proxy.restore();
    let recovered = within(Duration::from_secs(3), || {
        Ok(load.state().as_deref() == Some("ok"))
    })?;
    eprintln!("recovered {recovered:?} after the restore");
    assert_eq!(served_usd(&app)?, 1.5, "caught up on recovery");
    // A correction written after the restore is served within 2 s.
    app.store()
        .upsert_rate_table(&correction(1.6)?, Source::Fixer)?;
    let served = within(Duration::from_secs(2), || Ok(served_usd(&app)? == 1.6))?;
    eprintln!("the correction was served {served:?} after it was written");
    std::thread::sleep(Duration::from_millis(300));

    let states = load.finish()?;
    assert_eq!(states, ["ok", "unavailable", "ok"]);
    Ok(())
}

#[test]
fn sqlite_locked_by_a_long_writer_under_load_answers_every_read() -> TestResult {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    let database = TestDatabase::sqlite()?;
    load_sample(database.store())?;
    let state = ApiState::start(database.store().clone(), test_config())?;
    let app = spawn_app_with_workers(database, state, 2)?;
    let load = Load::start(&app);
    std::thread::sleep(Duration::from_millis(500));

    let path = app
        .database
        .url()
        .trim_start_matches("sqlite://")
        .to_owned();
    let mut locker = diesel::SqliteConnection::establish(&path)?;
    locker.batch_execute("BEGIN IMMEDIATE;")?;
    // A writer queued behind the lock, as `rates-cli` would be.
    let writer = {
        let store = app.store().clone();
        std::thread::spawn(move || -> Result<Instant, String> {
            store
                .upsert_rate_table(&correction(1.7).map_err(|e| e.to_string())?, Source::Fixer)
                .map_err(|e| e.to_string())?;
            Ok(Instant::now())
        })
    };
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(served_usd(&app)?, 1.0919);
    locker.batch_execute("COMMIT;")?;
    let written = writer.join().map_err(|_| "writer panicked")??;
    within(Duration::from_secs(2), || Ok(served_usd(&app)? == 1.7))?;
    eprintln!(
        "the correction was served {:?} after it was written",
        written.elapsed()
    );
    assert!(written.elapsed() < Duration::from_secs(2));

    let states = load.finish()?;
    // WAL readers are never blocked by a writer, so the database stays available throughout.
    assert_eq!(states, ["ok"]);
    Ok(())
}
