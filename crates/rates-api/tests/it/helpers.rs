//! `spawn_app`: the real app on 127.0.0.1:0 over its own temporary database, and a small HTTP
//! client (ureq for ordinary requests, raw TCP for byte-exact hostile ones).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::OnceLock;
use std::thread::JoinHandle;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::{App, HttpServer};
use rates_api::contract::Contract;
use rates_api::{ApiConfig, ApiState};
use rates_domain::ecb::parse_ecb_csv;
use rates_domain::{RateTable, Source};
use rates_store::testing::TestDatabase;
use rates_store::Store;

pub type TestResult<T = ()> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// A running app and the database behind it; stops the server on drop.
pub struct TestApp {
    pub address: SocketAddr,
    pub database: TestDatabase,
    pub state: ApiState,
    server: ServerHandle,
    thread: Option<JoinHandle<std::io::Result<()>>>,
}

/// The configuration tests run with: the defaults (a write reaches the snapshot within the
/// refresh interval, 200 ms; see [`TestApp::wait_until_current`]).
pub fn test_config() -> ApiConfig {
    ApiConfig::default()
}

/// The databases every backend-sensitive test runs on: SQLite, and PostgreSQL when
/// `RATES_TEST_POSTGRES_URL` is set.
pub fn databases() -> TestResult<Vec<TestDatabase>> {
    Ok(TestDatabase::all()?)
}

/// An app over `database` filled with the ECB sample, with [`test_config`].
pub fn spawn_app_with_sample(database: TestDatabase) -> TestResult<TestApp> {
    load_sample(database.store())?;
    spawn_app_on(database, test_config())
}

/// An app over a fresh SQLite database filled with the ECB sample.
pub fn spawn_app() -> TestResult<TestApp> {
    spawn_app_with_sample(TestDatabase::sqlite()?)
}

/// An app over `database` with `config`, on its own port and actix system.
pub fn spawn_app_on(database: TestDatabase, config: ApiConfig) -> TestResult<TestApp> {
    let state = ApiState::start(database.store().clone(), config)?;
    spawn_app_with_state(database, state)
}

/// An app serving `state` (built over `database`), for tests that keep a handle on the state.
pub fn spawn_app_with_state(database: TestDatabase, state: ApiState) -> TestResult<TestApp> {
    spawn_app_with_workers(database, state, 1)
}

/// [`spawn_app_with_state`] with `workers` actix workers.
pub fn spawn_app_with_workers(
    database: TestDatabase,
    state: ApiState,
    workers: usize,
) -> TestResult<TestApp> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let address = listener.local_addr()?;
    let served = state.clone();
    let (handle_sender, handle_receiver) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = HttpServer::new(move || {
                let state = served.clone();
                App::new().configure(move |cfg| rates_api::configure(cfg, state))
            })
            .workers(workers)
            .disable_signals()
            .shutdown_timeout(1)
            .listen(listener)?
            .run();
            let _ = handle_sender.send(server.handle());
            server.await
        })
    });
    let server = handle_receiver.recv_timeout(Duration::from_secs(10))?;
    Ok(TestApp {
        address,
        database,
        state,
        server,
        thread: Some(thread),
    })
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let server = self.server.clone();
        actix_web::rt::System::new().block_on(server.stop(false));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The ECB's reference rates for a few days around the 2024 new year, plus two days of 2009
/// when the Estonian kroon (EEK) was still quoted; base EUR, `N/A` cells skipped.
pub fn sample_tables() -> TestResult<Vec<RateTable>> {
    Ok(parse_ecb_csv(include_str!("../data/ecb-sample.csv").as_bytes())?.tables)
}

pub fn load_sample(store: &Store) -> TestResult {
    store.bulk_upsert(&sample_tables()?, Source::EcbImport)?;
    Ok(())
}

/// An HTTP answer, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    pub fn json(&self) -> TestResult<serde_json::Value> {
        Ok(serde_json::from_str(&self.body)?)
    }

    /// `error.code` of a JSON error body, checking the body has exactly that shape.
    pub fn error_code(&self) -> TestResult<String> {
        let body = self.json()?;
        let error = body
            .get("error")
            .ok_or_else(|| format!("no `error` in {}", self.body))?;
        if error.get("message").and_then(|m| m.as_str()).is_none() {
            return Err(format!("no error.message in {}", self.body).into());
        }
        if self.header("cache-control") != Some("no-store") {
            return Err(format!("error without no-store: {:?}", self.headers).into());
        }
        Ok(error
            .get("code")
            .and_then(|code| code.as_str())
            .ok_or("no error.code")?
            .to_owned())
    }

    pub fn error_message(&self) -> TestResult<String> {
        Ok(self
            .json()?
            .pointer("/error/message")
            .and_then(|message| message.as_str())
            .ok_or("no error.message")?
            .to_owned())
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.address, path)
    }

    pub fn store(&self) -> &Store {
        self.database.store()
    }

    /// Waits until the app's in-memory API keys are the database's active ones (the refresher
    /// reads them every second).
    pub fn wait_until_keys_current(&self) -> TestResult {
        let active = self
            .store()
            .list_api_keys()?
            .into_iter()
            .filter(|key| key.is_active())
            .count();
        let started = std::time::Instant::now();
        while self.state.snapshot().keys().len() != active {
            if started.elapsed() > Duration::from_secs(5) {
                return Err("the in-memory API keys did not follow the database".into());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Ok(())
    }

    /// Waits until the app's snapshot reflects every write made to its database so far (the
    /// refresher's promise: within a second); returns how long that took.
    pub fn wait_until_current(&self) -> TestResult<Duration> {
        let target = self.store().data_version()?;
        let started = std::time::Instant::now();
        while self.state.snapshot().current().version() < target {
            if started.elapsed() > Duration::from_secs(1) {
                return Err(format!(
                    "the snapshot stayed at data version {} for a second after {target} was written",
                    self.state.snapshot().current().version()
                )
                .into());
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        Ok(started.elapsed())
    }

    pub fn get(&self, path: &str) -> TestResult<Reply> {
        self.request("GET", path, &[])
    }

    pub fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> TestResult<Reply> {
        self.request("GET", path, headers)
    }

    /// A request through ureq; 4xx and 5xx are answers here, not errors.
    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> TestResult<Reply> {
        let mut request = ureq::request(method, &self.url(path)).timeout(Duration::from_secs(30));
        for (name, value) in headers {
            request = request.set(name, value);
        }
        let response = match request.call() {
            Ok(response) => response,
            Err(ureq::Error::Status(_, response)) => response,
            Err(error) => return Err(error.into()),
        };
        let status = response.status();
        let headers = response
            .headers_names()
            .into_iter()
            .filter_map(|name| {
                let value = response.header(&name)?.to_owned();
                Some((name.to_ascii_lowercase(), value))
            })
            .collect();
        let body = response.into_string()?;
        let reply = Reply {
            status,
            headers,
            body,
        };
        check_contract(method, path, &reply)?;
        Ok(reply)
    }

    /// Sends `GET {target}` exactly as given (no normalisation or escaping) and reads the answer.
    pub fn raw_get(&self, target: &[u8]) -> TestResult<Reply> {
        let mut request = b"GET ".to_vec();
        request.extend_from_slice(target);
        request.extend_from_slice(b" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        self.raw(&request)
    }

    /// Sends raw bytes on a new connection and parses the HTTP/1.1 answer.
    pub fn raw(&self, request: &[u8]) -> TestResult<Reply> {
        let mut stream = TcpStream::connect(self.address)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        stream.write_all(request)?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer)?;
        let reply = parse_reply(&answer)?;
        let mut words = request.split(|byte| *byte == b' ');
        if let (Some(method), Some(target)) = (words.next(), words.next()) {
            if let (Ok(method), Ok(target)) =
                (std::str::from_utf8(method), std::str::from_utf8(target))
            {
                // Only what reached the application: bytes actix refuses itself are not ours.
                if target.starts_with('/') && reply.header("content-type").is_some() {
                    check_contract(method, target, &reply)?;
                }
            }
        }
        Ok(reply)
    }
}

/// Every answer the tests receive must be what the OpenAPI document (`GET /openapi.json`) says.
pub fn check_contract(method: &str, target: &str, reply: &Reply) -> TestResult {
    static CONTRACT: OnceLock<Contract> = OnceLock::new();
    CONTRACT
        .get_or_init(Contract::new)
        .check(
            method,
            target,
            reply.status,
            reply.header("content-type"),
            &reply.body,
        )
        .map_err(|mismatch| format!("OpenAPI contract: {mismatch}").into())
}

pub fn parse_reply(answer: &[u8]) -> TestResult<Reply> {
    let text = String::from_utf8_lossy(answer);
    let (head, body) = text.split_once("\r\n\r\n").ok_or("no end of head")?;
    let mut lines = head.lines();
    let status_line = lines.next().ok_or("no status line")?;
    let status = status_line
        .split_whitespace()
        .nth(1)
        .ok_or("no status")?
        .parse()?;
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    Ok(Reply {
        status,
        headers,
        body: body.to_owned(),
    })
}
