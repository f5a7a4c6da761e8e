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
