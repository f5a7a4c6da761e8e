//! Running the real `rates-cli` binary against a mock Fixer and a throw-away database.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use fixer_client::mock::{MockFixer, MockHost, Plan};
use rates_store::testing::TestDatabase;
use rates_store::Store;

pub type TestResult = Result<(), Box<dyn Error>>;

/// The key the mock accepts; distinctive, so that finding it in any output is unambiguous.
pub const KEY: &str = "e2e-secret-4f1d9c2b7a6e8d0c5b3a";

/// One test's world: a mock Fixer, a database, and an empty working directory.
pub struct World {
    pub mock: MockFixer,
    pub db: TestDatabase,
    pub dir: tempfile::TempDir,
}

impl World {
    pub fn new(db: TestDatabase, plan: Plan) -> Result<World, Box<dyn Error>> {
        let mock = MockFixer::builder()
            .access_key(KEY)
            .plan(plan)
            .try_start()?;
        Ok(World {
            mock,
            db,
            dir: tempfile::tempdir()?,
        })
    }

    /// A world whose mock imitates the APILayer host, which sends quota headers.
    pub fn apilayer(plan: Plan, monthly_quota: u64) -> Result<World, Box<dyn Error>> {
        let mock = MockFixer::builder()
            .access_key(KEY)
            .plan(plan)
            .host(MockHost::ApiLayer)
            .monthly_quota(Some(monthly_quota))
            .try_start()?;
        Ok(World {
            mock,
            db: TestDatabase::sqlite()?,
            dir: tempfile::tempdir()?,
        })
    }

    pub fn sqlite(plan: Plan) -> Result<World, Box<dyn Error>> {
        World::new(TestDatabase::sqlite()?, plan)
    }

    /// A world per available backend: SQLite, and PostgreSQL when configured.
    pub fn all(plan: Plan) -> Result<Vec<World>, Box<dyn Error>> {
        TestDatabase::all()?
            .into_iter()
            .map(|db| World::new(db, plan))
            .collect()
    }

    pub fn store(&self) -> &Store {
        self.db.store()
    }

    /// The binary with a clean environment pointing at this world's database and mock.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_rates-cli"));
        command
            .args(args)
            .current_dir(self.dir.path())
            .env_clear()
            .env("DATABASE_URL", self.db.url())
            .env("FIXER_BASE_URL", self.mock.base_url())
            .env("FIXER_ACCESS_KEY", KEY)
            .env("RATES__FIXER__TIMEOUT_SECS", "5");
        command
    }

    pub fn run(&self, args: &[&str]) -> Result<Run, Box<dyn Error>> {
        Run::of(self.command(args).output()?)
    }

    pub fn run_with(&self, args: &[&str], env: &[(&str, &str)]) -> Result<Run, Box<dyn Error>> {
        let mut command = self.command(args);
        command.envs(env.iter().copied());
        Run::of(command.output()?)
    }
}

/// What a finished run printed, and how it exited.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn of(output: Output) -> Result<Run, Box<dyn Error>> {
        Ok(Run {
            code: output.status.code().ok_or("killed by a signal")?,
            stdout: String::from_utf8(output.stdout)?,
            stderr: String::from_utf8(output.stderr)?,
        })
    }

    /// Fails with everything printed unless the exit code is `code`.
    pub fn expect_code(self, code: i32) -> Result<Run, Box<dyn Error>> {
        if self.code == code {
            Ok(self)
        } else {
            Err(format!(
                "expected exit {code}, got {}\n--- stdout\n{}--- stderr\n{}",
                self.code, self.stdout, self.stderr
            )
            .into())
        }
    }

    pub fn json(&self) -> Result<serde_json::Value, Box<dyn Error>> {
        Ok(serde_json::from_str(self.stdout.trim())?)
    }

    /// The per-date line for `date`.
    pub fn date_line(&self, date: &str) -> Option<&str> {
        self.stdout.lines().find(|line| line.starts_with(date))
    }

    /// No panic message or backtrace anywhere.
    pub fn assert_no_panic(&self) {
        for text in [&self.stdout, &self.stderr] {
            assert!(!text.contains("panicked"), "{text}");
            assert!(!text.contains("RUST_BACKTRACE"), "{text}");
        }
    }
}

/// The test data directory of this crate.
pub fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// A small HTTP server on 127.0.0.1 standing in for the ECB's site in `import-ecb --download`
/// tests: every request gets the same answer. Its thread ends with the test process.
pub struct FakeEcb {
    pub url: String,
    requests: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl FakeEcb {
    /// Answers `status` with `body`, announcing `announced_length` bytes (the body's length when
    /// `None`; more than that imitates a transfer that breaks off).
    pub fn start(
        status: u16,
        body: Vec<u8>,
        announced_length: Option<usize>,
    ) -> Result<FakeEcb, Box<dyn Error>> {
        use std::io::{Read, Write};
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;

        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let url = format!(
            "http://{}/stats/eurofxref/eurofxref-hist.zip",
            listener.local_addr()?
        );
        let requests = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&requests);
        std::thread::spawn(move || {
            for mut stream in listener.incoming().flatten() {
                counted.fetch_add(1, Ordering::SeqCst);
                // Read the request head; its content does not matter.
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && head.len() < 16 * 1024 {
                    match stream.read(&mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => break,
                    }
                }
                let answer = format!(
                    "HTTP/1.1 {status} Answer\r\nContent-Type: application/zip\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    announced_length.unwrap_or(body.len())
                );
                let _ = stream.write_all(answer.as_bytes());
                let _ = stream.write_all(&body);
            }
        });
        Ok(FakeEcb { url, requests })
    }

    pub fn requests(&self) -> usize {
        self.requests.load(std::sync::atomic::Ordering::SeqCst)
    }
}
