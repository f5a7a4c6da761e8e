//! A mock Fixer server for tests and examples (feature `mock`).
//!
//! [`MockFixer::start`] binds `127.0.0.1` on an ephemeral port and serves, from worker threads,
//! answers shaped like Fixer's (see the crate README) from real ECB reference rates for
//! 2024-01-02..2024-06-28 and 2026-07-01..2026-10-30. It stops when dropped.
//!
//! # Dates
//!
//! Like Fixer, a weekend or holiday is answered with the previous business day's rates under the
//! requested date, and so is a day in the gap between the two slices or after the data's last
//! day (2026-10-30) up to the mock's "today" — so "the last N days" always has rates. A date
//! after "today" gets 302 `invalid_date`; a date before the first day gets 106
//! `no_rates_available`. "Today" is the real UTC date unless set with
//! [`MockFixerBuilder::today`] or [`MockFixer::set_today`].
//!
//! # Hosts, keys and plans
//!
//! [`MockHost::Classic`] (the default) serves under `/api` like `data.fixer.io` and reports a
//! missing or wrong key as Fixer's 101 in an HTTP 200. [`MockHost::ApiLayer`] serves under `/fixer`
//! like `api.apilayer.com`: a missing or wrong key gets the gateway's 401 `{"message": ...}`,
//! every answer carries `X-RateLimit-*` headers, and a used-up monthly quota gets 429. Both
//! accept the key as `access_key` or `apikey` query parameter or as `apikey` header.
//! Plans gate endpoints and base currencies as on Fixer ([`Plan`]); the default is
//! [`Plan::ProfessionalPlus`], where everything is allowed.
//!
//! # Strictness
//!
//! Parameters are checked strictly: Fixer's own errors for missing or invalid ones (a misspelt
//! `end_data` gets 503 `invalid_end_date`), and HTTP 400 with code 400 `unknown_parameter` for a
//! parameter the endpoint does not take, which the real Fixer would silently ignore.

mod data;
mod handler;

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use time::Date;

use crate::{AccessKey, AuthStyle, Client, ClientBuilder, CurrencyCode, RetryPolicy};

use data::EcbData;

/// The key a mock accepts unless told otherwise.
pub const DEFAULT_MOCK_KEY: &str = "mock-access-key-0123456789abcdef";

/// Worker threads answering requests; more than any test or benchmark keeps in flight.
const WORKERS: usize = 16;

/// A Fixer subscription plan, as far as it gates requests (FIXER-API §6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Plan {
    /// symbols, latest, historical; base EUR only.
    Free,
    /// Free plus any base and convert.
    Basic,
    /// Basic plus timeseries.
    Professional,
    /// Everything, fluctuation included.
    ProfessionalPlus,
}

/// Which live host the mock imitates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MockHost {
    /// `data.fixer.io`: paths under `/api`, every error in HTTP 200.
    Classic,
    /// `api.apilayer.com`: paths under `/fixer`, gateway errors with real statuses, quota headers.
    ApiLayer,
}

/// A failure to inject into upcoming requests; see [`MockFixer::fail_next`].
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Fault {
    /// Answer with this HTTP status and a plain-text body, optionally with `Retry-After` seconds.
    Status {
        /// The HTTP status.
        status: u16,
        /// `Retry-After` in seconds, if any.
        retry_after: Option<u64>,
    },
    /// Answer like the APILayer gateway: this status and `{"message": ...}`.
    Gateway {
        /// The HTTP status.
        status: u16,
        /// The message.
        message: String,
        /// `Retry-After` in seconds, if any.
        retry_after: Option<u64>,
    },
    /// Answer HTTP 200 with Fixer's error envelope for this code.
    FixerError {
        /// The code, e.g. 104.
        code: i64,
        /// The `type`; `None` picks Fixer's usual one for the code.
        error_type: Option<String>,
    },
    /// Wait this long, then answer normally (to trip client timeouts).
    Delay(Duration),
    /// Answer HTTP 200 with a body that is not JSON.
    MalformedBody,
    /// Answer HTTP 200 with the first half of the real body.
    TruncatedBody,
    /// Answer with exactly this status and body.
    Body {
        /// The HTTP status.
        status: u16,
        /// The body, sent as `application/json`.
        body: String,
    },
}

impl Fault {
    /// An HTTP status with a plain-text body.
    pub fn status(status: u16) -> Fault {
        Fault::Status {
            status,
            retry_after: None,
        }
    }

    /// HTTP 429 with `Retry-After: seconds`.
    pub fn too_many_requests(retry_after_secs: u64) -> Fault {
        Fault::Status {
            status: 429,
            retry_after: Some(retry_after_secs),
        }
    }

    /// Fixer's error envelope for `code`, with its usual `type` and `info`.
    pub fn fixer(code: i64) -> Fault {
        Fault::FixerError {
            code,
            error_type: None,
        }
    }

    /// Fixer's error envelope for `code` with a given `type` (e.g. 105 `https_access_restricted`).
    pub fn fixer_typed(code: i64, error_type: &str) -> Fault {
        Fault::FixerError {
            code,
            error_type: Some(error_type.to_owned()),
        }
    }
}

#[derive(Debug)]
struct FaultRule {
    path: Option<String>,
    remaining: u32,
    fault: Fault,
}

/// Everything a test can change while the mock runs.
#[derive(Debug)]
struct Settings {
    plan: Plan,
    today: Option<Date>,
    delay: Duration,
    monthly_quota: Option<u64>,
    faults: Vec<FaultRule>,
    overrides: HashMap<(Date, CurrencyCode), f64>,
    counts: BTreeMap<String, u64>,
    total: u64,
    quota_used: u64,
    in_flight: u32,
    peak_in_flight: u32,
}

/// State shared by the workers.
#[derive(Debug)]
struct Shared {
    data: EcbData,
    host: MockHost,
    key: String,
    settings: Mutex<Settings>,
}

impl Shared {
    fn settings(&self) -> MutexGuard<'_, Settings> {
        // A panicking test thread cannot leave the settings half-changed: every update is one
        // assignment, so a poisoned lock is still consistent.
        self.settings.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Settings for a mock before it starts; see [`MockFixer::builder`].
#[derive(Debug, Clone)]
pub struct MockFixerBuilder {
    host: MockHost,
    plan: Plan,
    key: String,
    today: Option<Date>,
    delay: Duration,
    monthly_quota: Option<u64>,
}

impl MockFixerBuilder {
    /// Which host to imitate. Default [`MockHost::Classic`].
    pub fn host(mut self, host: MockHost) -> MockFixerBuilder {
        self.host = host;
        self
    }

    /// The plan. Default [`Plan::ProfessionalPlus`].
    pub fn plan(mut self, plan: Plan) -> MockFixerBuilder {
        self.plan = plan;
        self
    }

    /// The key the mock accepts. Default [`DEFAULT_MOCK_KEY`].
    pub fn access_key(mut self, key: &str) -> MockFixerBuilder {
        key.clone_into(&mut self.key);
        self
    }

    /// Fixes the mock's "today" (UTC). Default: the real date.
    pub fn today(mut self, today: Date) -> MockFixerBuilder {
        self.today = Some(today);
        self
    }

    /// A delay before every answer (e.g. 200 ms to measure concurrency). Default none.
    pub fn delay(mut self, delay: Duration) -> MockFixerBuilder {
        self.delay = delay;
        self
    }

    /// Requests allowed per month before 104 (Classic) or gateway 429 (ApiLayer).
    /// Default: unlimited on Classic, 10,000 on ApiLayer (so it sends quota headers).
    pub fn monthly_quota(mut self, quota: Option<u64>) -> MockFixerBuilder {
        self.monthly_quota = quota;
        self
    }

    /// Binds 127.0.0.1 on an ephemeral port and starts serving.
    pub fn try_start(self) -> io::Result<MockFixer> {
        let server = tiny_http::Server::http("127.0.0.1:0").map_err(io::Error::other)?;
        let address = server
            .server_addr()
            .to_ip()
            .ok_or_else(|| io::Error::other("the mock is not listening on an IP address"))?;
        let port = address.port();
        let prefix = match self.host {
            MockHost::Classic => "/api",
            MockHost::ApiLayer => "/fixer",
        };
        let monthly_quota = match (self.monthly_quota, self.host) {
            (Some(quota), _) => Some(quota),
            (None, MockHost::ApiLayer) => Some(10_000),
            (None, MockHost::Classic) => None,
        };
        let shared = Arc::new(Shared {
            data: EcbData::load(),
            host: self.host,
            key: self.key,
            settings: Mutex::new(Settings {
                plan: self.plan,
                today: self.today,
                delay: self.delay,
                monthly_quota,
                faults: Vec::new(),
                overrides: HashMap::new(),
                counts: BTreeMap::new(),
                total: 0,
                quota_used: 0,
                in_flight: 0,
                peak_in_flight: 0,
            }),
        });
        let server = Arc::new(server);
        let stop = Arc::new(AtomicBool::new(false));
        let mut workers = Vec::with_capacity(WORKERS);
        for index in 0..WORKERS {
            let (server, shared, stop) =
                (Arc::clone(&server), Arc::clone(&shared), Arc::clone(&stop));
            let worker = std::thread::Builder::new()
                .name(format!("mock-fixer-{index}"))
                .spawn(move || serve(&server, &shared, &stop, prefix))?;
            workers.push(worker);
        }
        Ok(MockFixer {
            shared,
            server: Some(server),
            address,
            stop,
            workers,
            base_url: format!("http://127.0.0.1:{port}{prefix}"),
        })
    }

    /// Like [`MockFixerBuilder::try_start`].
    ///
    /// # Panics
    ///
    /// If no port on 127.0.0.1 can be bound or no thread started; a test cannot go on then.
    #[allow(clippy::expect_used)]
    pub fn start(self) -> MockFixer {
        self.try_start()
            .expect("the mock Fixer could not bind 127.0.0.1 or start its threads")
    }
}

fn serve(server: &tiny_http::Server, shared: &Shared, stop: &AtomicBool, prefix: &str) {
    loop {
        match server.recv() {
            Ok(request) => handler::answer(shared, request, prefix),
            // `recv` fails when `Drop` unblocks this worker, or when accepting a connection failed.
            Err(_) if stop.load(Ordering::SeqCst) => return,
            Err(error) => log::debug!("mock Fixer: accepting a request failed: {error}"),
        }
    }
}

/// A running mock Fixer server. Dropping it stops the server and its threads.
pub struct MockFixer {
    shared: Arc<Shared>,
    server: Option<Arc<tiny_http::Server>>,
    address: std::net::SocketAddr,
    stop: Arc<AtomicBool>,
    workers: Vec<JoinHandle<()>>,
    base_url: String,
}

impl MockFixer {
    /// Settings to change before starting.
    pub fn builder() -> MockFixerBuilder {
        MockFixerBuilder {
            host: MockHost::Classic,
            plan: Plan::ProfessionalPlus,
            key: DEFAULT_MOCK_KEY.to_owned(),
            today: None,
            delay: Duration::ZERO,
            monthly_quota: None,
        }
    }

    /// Starts a Classic-host, Professional Plus mock with the default key.
    ///
    /// # Panics
    ///
    /// If no port on 127.0.0.1 can be bound; use [`MockFixerBuilder::try_start`] to handle that.
    pub fn start() -> MockFixer {
        MockFixer::builder().start()
    }

    /// Changes the plan and returns the mock, for chaining after [`MockFixer::start`].
    pub fn with_plan(self, plan: Plan) -> MockFixer {
        self.set_plan(plan);
        self
    }

    /// The base URL to give a client, e.g. `http://127.0.0.1:40123/api`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The key the mock accepts.
    pub fn access_key(&self) -> AccessKey {
        AccessKey::new(self.shared.key.clone())
    }

    /// The host the mock imitates.
    pub fn host(&self) -> MockHost {
        self.shared.host
    }

    /// A client builder set up for this mock: base URL, key, the host's auth style, a 5 s timeout
    /// and a quick retry policy (1 ms back-off, 5 attempts) so tests stay fast.
    pub fn client_builder(&self) -> ClientBuilder {
        Client::builder()
            .base_url(self.base_url.clone())
            .access_key(self.access_key())
            .auth_style(match self.shared.host {
                MockHost::Classic => AuthStyle::Query,
                MockHost::ApiLayer => AuthStyle::Header,
            })
            .timeout(Duration::from_secs(5))
            .retry_policy(RetryPolicy {
                max_attempts: 5,
                initial_backoff: Duration::from_millis(1),
                max_backoff: Duration::from_millis(10),
                max_elapsed: Duration::from_secs(10),
            })
    }

    /// A client for this mock, as [`MockFixer::client_builder`] sets it up.
    ///
    /// # Panics
    ///
    /// Never in practice: the builder's settings are always valid.
    #[allow(clippy::expect_used)]
    pub fn client(&self) -> Client {
        self.client_builder()
            .build()
            .expect("the mock's own client settings are valid")
    }

    /// Changes the plan.
    pub fn set_plan(&self, plan: Plan) {
        self.shared.settings().plan = plan;
    }

    /// Fixes the mock's "today" (UTC); `None` goes back to the real date.
    pub fn set_today(&self, today: Option<Date>) {
        self.shared.settings().today = today;
    }

    /// The mock's "today" (UTC).
    pub fn today(&self) -> Date {
        handler::today(&self.shared.settings())
    }

    /// Sets the delay before every answer.
    pub fn set_delay(&self, delay: Duration) {
        self.shared.settings().delay = delay;
    }

    /// Sets the monthly quota (`None`: unlimited) and resets its use.
    pub fn set_monthly_quota(&self, quota: Option<u64>) {
        let mut settings = self.shared.settings();
        settings.monthly_quota = quota;
        settings.quota_used = 0;
    }

    /// Makes the next `times` requests, on any path, fail with `fault`.
    ///
    /// Faults queue up: each request takes the first queued fault that matches it.
    pub fn fail_next(&self, times: u32, fault: Fault) {
        self.push_fault(None, times, fault);
    }

    /// Makes the next `times` requests to `path` (e.g. `"latest"` or `"2024-01-05"`) fail with `fault`.
    pub fn fail_next_on(&self, path: &str, times: u32, fault: Fault) {
        self.push_fault(Some(normalise_path(path)), times, fault);
    }

    fn push_fault(&self, path: Option<String>, times: u32, fault: Fault) {
        if times > 0 {
            self.shared.settings().faults.push(FaultRule {
                path,
                remaining: times,
                fault,
            });
        }
    }

    /// Drops every queued fault.
    pub fn clear_faults(&self) {
        self.shared.settings().faults.clear();
    }

    /// Replaces the EUR-based rate of `currency` on `date` (and on the days that carry that
    /// date's rates forward, when `date` is a business day). Other bases are derived from it.
    pub fn override_rate(&self, date: Date, currency: CurrencyCode, eur_rate: f64) {
        self.shared
            .settings()
            .overrides
            .insert((date, currency), eur_rate);
    }

    /// Requests received for `path` (e.g. `"latest"`, `"/timeseries"`, `"2024-01-05"`), faulty ones included.
    pub fn request_count(&self, path: &str) -> u64 {
        let path = normalise_path(path);
        self.shared
            .settings()
            .counts
            .get(&path)
            .copied()
            .unwrap_or(0)
    }

    /// Requests received on every path.
    pub fn total_requests(&self) -> u64 {
        self.shared.settings().total
    }

    /// Requests received per path.
    pub fn request_counts(&self) -> BTreeMap<String, u64> {
        self.shared.settings().counts.clone()
    }

    /// The most requests the mock was answering at the same moment (served requests only).
    pub fn peak_concurrency(&self) -> u32 {
        self.shared.settings().peak_in_flight
    }

    /// Forgets the request counts.
    pub fn reset_counts(&self) {
        let mut settings = self.shared.settings();
        settings.counts.clear();
        settings.total = 0;
        settings.peak_in_flight = settings.in_flight;
    }

    /// The first business day in the mock's data (2024-01-02).
    pub fn first_date(&self) -> Date {
        self.shared.data.first_date().unwrap_or(Date::MIN)
    }

    /// The last business day in the mock's data (2026-10-30).
    pub fn last_date(&self) -> Date {
        self.shared.data.last_date().unwrap_or(Date::MIN)
    }

    /// Every business day in the mock's data, oldest first.
    pub fn business_days(&self) -> Vec<Date> {
        self.shared.data.dates()
    }

    /// The EUR-based rate the mock serves for `currency` on `date` (weekends carried forward,
    /// overrides applied), or `None` if it has none.
    pub fn eur_rate(&self, date: Date, currency: CurrencyCode) -> Option<f64> {
        let settings = self.shared.settings();
        handler::eur_table(&self.shared.data, &settings, date)
            .and_then(|(_, table)| table.get(&currency).copied())
    }
}

impl std::fmt::Debug for MockFixer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockFixer")
            .field("base_url", &self.base_url)
            .field("host", &self.shared.host)
            .field("workers", &self.workers.len())
            .finish_non_exhaustive()
    }
}

impl Drop for MockFixer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(server) = self.server.take() {
            // Each unblock call releases exactly one worker waiting in `recv`.
            for _ in &self.workers {
                server.unblock();
            }
        }
        for worker in self.workers.drain(..) {
            // A worker that panicked has nothing left to clean up.
            let _ = worker.join();
        }
        // The last handle to the server is gone now; its accept thread closes the listener
        // shortly after. Wait for that (briefly) so the port is free when `drop` returns.
        for _ in 0..100 {
            if std::net::TcpStream::connect(self.address).is_err() {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

fn normalise_path(path: &str) -> String {
    path.trim_matches('/').to_owned()
}
