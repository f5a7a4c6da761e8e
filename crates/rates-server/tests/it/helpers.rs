//! The harness the test modules share: [`TestApp`], the server in-process on a port-0 listener
//! (the default: fast, and every test gets its own port without a race), and [`Server`], the
//! `rates-server` binary as a process with its own working directory and log file, for what only
//! a process shows (signals, exit status, the log on stderr).

use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rates_api::contract::Contract;
use rates_server::Application;
use rates_settings::Settings;

pub type TestResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

/// How long a server may take to start, answer or stop, or a change to show up.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// The built-in settings with `database_url` and two workers: what a test server runs with
/// unless the test changes more. Nothing is read from the environment or the working directory.
pub fn settings(database_url: &str) -> Settings {
    let mut settings = Settings::default();
    settings.database.url = database_url.to_owned();
    settings.server.workers = 2;
    settings
}

/// [`Application`] serving on `127.0.0.1:0` on a thread of its own; stopped on drop.
pub struct TestApp {
    address: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<anyhow::Result<()>>>,
}

impl TestApp {
    /// Builds the application from `settings` on a fresh port-0 listener and starts serving.
    /// The listener is bound before this returns, so requests can be sent at once.
    pub fn start(settings: &Settings) -> TestResult<TestApp> {
        let application = Application::build(settings, TcpListener::bind("127.0.0.1:0")?)?;
        let address = application.local_addr();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(format!("test-app-{}", address.port()))
            .spawn(move || {
                actix_web::rt::System::new().block_on(application.run_until_stopped(async move {
                    // A dropped sender stops the server too.
                    let _ = stopped.await;
                }))
            })?;
        Ok(TestApp {
            address,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// Stops the server as SIGTERM would and waits for it; its result is the test's.
    pub fn stop(mut self) -> TestResult {
        self.stop_and_join()
    }

    fn stop_and_join(&mut self) -> TestResult {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => Ok(result?),
            Some(Err(_)) => Err("the server thread panicked".into()),
            None => Ok(()),
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // A failure to stop shows in the test that called `stop`; here the test is over.
        let _ = self.stop_and_join();
    }
}

/// A running `rates-server` process; killed on drop if still running.
pub struct Server {
    pub child: Child,
    /// The port it listens on, read from its start-up line (0 until then).
    pub port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Server {
    /// Starts the binary on a port of its choosing (`--bind 127.0.0.1:0`) with `database_url`
    /// and `env`, and waits until `/health` answers 200.
    pub fn start(database_url: &str, env: &[(&str, &str)]) -> TestResult<Server> {
        let mut server = Server::spawn(database_url, env)?;
        server.wait_until_healthy()?;
        Ok(server)
    }

    /// Starts the binary without waiting for it.
    pub fn spawn(database_url: &str, env: &[(&str, &str)]) -> TestResult<Server> {
        let dir = tempfile::tempdir()?;
        let config = dir.path().join("config");
        std::fs::create_dir(&config)?;
        let log = dir.path().join("server.log");
        let child = server_command(dir.path(), &config)
            .arg("--bind")
            .arg("127.0.0.1:0")
            .arg("--workers")
            .arg("2")
            .env("DATABASE_URL", database_url)
            .env("RUST_LOG", "info,rates_server=debug")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(File::create(&log)?)
            .spawn()?;
        Ok(Server {
            child,
            port: 0,
            log,
            _dir: dir,
        })
    }

    /// Waits until the start-up line names the port and `/health` answers 200 there; an error
    /// if the process exits first.
    pub fn wait_until_healthy(&mut self) -> TestResult {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if self.port == 0 {
                self.port = listening_port(&self.log_text()).unwrap_or(0);
            }
            if self.port == 0 {
                // Not listening yet.
            } else if let Ok(reply) =
                self.raw(b"GET /health HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            {
                if reply.starts_with("HTTP/1.1 200") {
                    return Ok(());
                }
            }
            if let Some(status) = self.child.try_wait()? {
                return Err(format!("rates-server exited ({status}):\n{}", self.log_text()).into());
            }
            if Instant::now() > deadline {
                return Err(
                    format!("rates-server never became healthy:\n{}", self.log_text()).into(),
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Sends `request` as it stands on one connection and returns the whole answer.
    pub fn raw(&self, request: &[u8]) -> TestResult<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(PATIENCE))?;
        stream.write_all(request)?;
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer)?;
        Ok(String::from_utf8_lossy(&answer).into_owned())
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log contains `needle`; returns the log as it was then.
    pub fn wait_for_log(&self, needle: &str) -> TestResult<String> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let log = self.log_text();
            if log.contains(needle) {
                return Ok(log);
            }
            if Instant::now() > deadline {
                return Err(format!("{needle:?} never logged:\n{log}").into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn is_running(&mut self) -> TestResult<bool> {
        Ok(self.child.try_wait()?.is_none())
    }

    /// Sends the signal `name` (`TERM`, `INT`, ...) to the process.
    pub fn signal(&self, name: &str) -> TestResult {
        signal(self.child.id(), name)
    }

    /// Whether the server still accepts new connections.
    pub fn accepting(&self) -> bool {
        TcpStream::connect(("127.0.0.1", self.port)).is_ok()
    }

    pub fn wait_until_not_accepting(&self) -> TestResult {
        wait_until(
            "the server to stop accepting connections after the signal",
            || !self.accepting(),
        )
    }

    pub fn wait_for_exit(&mut self) -> TestResult<ExitStatus> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() > deadline {
                return Err(format!("server did not exit: {}", self.log_text()).into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the process at once, as a crash or `kill -9` would.
    pub fn kill(&mut self) -> TestResult {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Already gone when the test stopped it; nothing else to do about a failure here.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends the signal `name` (`TERM`, `INT`, ...) to the process `pid`.
pub fn signal(pid: u32, name: &str) -> TestResult {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()?;
    if !status.success() {
        return Err(format!("kill -{name} {pid} failed").into());
    }
    Ok(())
}

/// The binary with an empty settings directory and an environment holding nothing else.
pub fn server_command(dir: &Path, config: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rates-server"));
    command
        .arg("--config")
        .arg(config)
        .current_dir(dir)
        .env_clear()
        .stdin(Stdio::null());
    command
}

/// The port in a server's start-up line (`serving ... on http://127.0.0.1:PORT with ...`).
fn listening_port(log: &str) -> Option<u16> {
    let (_, after) = log.split_once(" on http://127.0.0.1:")?;
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Polls until `done` holds; a server's log lines reach its stderr from a thread of their own,
/// a moment after they are logged.
pub fn wait_until(what: &str, done: impl Fn() -> bool) -> TestResult {
    let started = Instant::now();
    while !done() {
        if started.elapsed() > PATIENCE {
            return Err(format!("gave up waiting: {what}").into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// Every answer the tests receive must be what the OpenAPI document (`GET /openapi.json`) says:
/// `url`'s route and `status` documented, and the body valid against its schema.
pub fn check_contract(
    url: &str,
    status: u16,
    content_type: Option<&str>,
    body: &str,
) -> TestResult {
    static CONTRACT: OnceLock<Contract> = OnceLock::new();
    let target = url
        .splitn(4, '/')
        .nth(3)
        .map_or_else(|| "/".to_owned(), |rest| format!("/{rest}"));
    CONTRACT
        .get_or_init(Contract::new)
        .check("GET", &target, status, content_type, body)
        .map_err(|mismatch| format!("OpenAPI contract: {mismatch}").into())
}
