//! The harness both test modules share: a `rates-server` process on a loopback port with its own
//! working directory and log file, and the waiting that goes with it.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub type TestResult<T = ()> = Result<T, Box<dyn std::error::Error>>;

/// How long a server may take to start, answer or stop, or a change to show up.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// A running `rates-server`; killed on drop if still running.
pub struct Server {
    pub child: Child,
    pub port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Server {
    /// Starts the binary on a free loopback port with `database_url` and `env`, and waits until
    /// `/health` answers 200.
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
        let port = free_port()?;
        let child = server_command(dir.path(), &config)
            .arg("--bind")
            .arg(format!("127.0.0.1:{port}"))
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
            port,
            log,
            _dir: dir,
        })
    }

    /// Waits until `/health` answers 200; an error if the process exits first.
    pub fn wait_until_healthy(&mut self) -> TestResult {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Ok(reply) =
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
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()?;
        if !status.success() {
            return Err(format!("kill -{name} failed").into());
        }
        Ok(())
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

/// A loopback port nobody listens on right now.
pub fn free_port() -> TestResult<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Polls until `done` holds; a server writes its log out every 100 ms, not line by line.
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
