//! Deployment as docs/operations.md describes it, with the real `rates-server` binary: several
//! servers on one database (PostgreSQL, and SQLite where the point holds there too), the
//! scheduled ingest and its lock, nginx in front with deploy/nginx/rates.conf, and the systemd
//! unit's command line.

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fixer_client::mock::{Fault, MockFixer, Plan, DEFAULT_MOCK_KEY};
use rates_domain::{format_date, today_utc, Currency, DateRange, RateTable, Source};
use rates_store::testing::{ecb_sample_tables, TestDatabase};
use rates_store::Store;

use rates_settings::{AccessKey, Schedule, Settings};

use crate::helpers::{settings, wait_until, Server, TestApp, TestResult, PATIENCE};

/// Days in the scheduled ingest's window.
const WINDOW_DAYS: u32 = 3;

/// `GET url` → (status, body, ETag).
fn get(url: &str) -> TestResult<(u16, String, Option<String>)> {
    get_with(url, &[])
}

fn get_with(url: &str, headers: &[(&str, &str)]) -> TestResult<(u16, String, Option<String>)> {
    let agent = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(10))
        .build();
    let mut request = agent.get(url);
    for (name, value) in headers {
        request = request.set(name, value);
    }
    let response = match request.call() {
        Ok(response) => response,
        Err(ureq::Error::Status(_, response)) => response,
        Err(error) => return Err(error.into()),
    };
    let status = response.status();
    let etag = response.header("etag").map(str::to_owned);
    let content_type = response.header("content-type").map(str::to_owned);
    let body = response.into_string()?;
    crate::helpers::check_contract(url, status, content_type.as_deref(), &body)?;
    Ok((status, body, etag))
}

/// Polls `url` until `accept` holds for its answer.
fn wait_for_answer(
    url: &str,
    accept: impl Fn(u16, &str) -> bool,
) -> TestResult<(u16, String, Option<String>)> {
    let started = Instant::now();
    loop {
        let answer = get(url)?;
        if accept(answer.0, &answer.1) {
            return Ok(answer);
        }
        if started.elapsed() > PATIENCE {
            return Err(format!("{url} kept answering {} {}", answer.0, answer.1).into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Environment for a server that ingests the last [`WINDOW_DAYS`] days from `mock` at
/// start-up and then every minute (the shortest schedule the settings accept).
fn scheduled_ingest_env(mock: &MockFixer) -> Vec<(&'static str, String)> {
    vec![
        ("FIXER_BASE_URL", mock.base_url().to_owned()),
        ("FIXER_ACCESS_KEY", DEFAULT_MOCK_KEY.to_owned()),
        ("RATES__FIXER__MAX_RETRIES", "0".to_owned()),
        ("RATES__INGEST__DAYS", WINDOW_DAYS.to_string()),
        ("RATES__INGEST__SCHEDULE", "1m".to_owned()),
    ]
}

/// [`scheduled_ingest_env`] as settings, for a server in-process.
fn scheduled_ingest_settings(database_url: &str, mock: &MockFixer) -> Settings {
    let mut settings = settings(database_url);
    settings.fixer.base_url = mock.base_url().to_owned();
    settings.fixer.access_key = Some(AccessKey::new(DEFAULT_MOCK_KEY));
    settings.fixer.max_retries = 0;
    settings.ingest.days = WINDOW_DAYS;
    settings.ingest.schedule = Schedule::Every(Duration::from_secs(60));
    settings
}

fn as_refs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter()
        .map(|(name, value)| (*name, value.as_str()))
        .collect()
}

fn window() -> TestResult<DateRange> {
    Ok(DateRange::ending(today_utc(), WINDOW_DAYS)?)
}

/// The ECB sample loaded as `rates-cli import-ecb` would; returns its newest table.
fn fill(store: &Store) -> TestResult<RateTable> {
    let tables = ecb_sample_tables()?;
    store.bulk_upsert(&tables, Source::EcbImport)?;
    let newest = tables
        .into_iter()
        .max_by_key(RateTable::date)
        .ok_or("the ECB sample is empty")?;
    Ok(newest)
}

#[test]
#[cfg_attr(
    not(rates_test_postgres),
    ignore = "PostgreSQL skipped: RATES_TEST_POSTGRES_URL is not set"
)]
fn servers_on_one_postgres_database_serve_the_same_answers_and_see_each_others_ingests(
) -> TestResult {
    let Some(database) = TestDatabase::postgres()? else {
        return Ok(());
    };
    let sample = fill(database.store())?;
    let sample_date = format_date(sample.date());
    let mock = MockFixer::start();
    let today = format_date(today_utc());

    // B serves only; nothing of the window is held yet.
    let plain = TestApp::start(&settings(database.url()))?;
    assert_eq!(get(&plain.url(&format!("/rates/{today}/")))?.0, 404);

    // A ingests the window at start-up; B serves it without being told.
    // The run stores the dates, then the currency names: once B serves the names, the run is over.
    let ingesting = TestApp::start(&scheduled_ingest_settings(database.url(), &mock))?;
    wait_for_answer(&plain.url(&format!("/rates/{today}/")), |status, _| {
        status == 200
    })?;
    // Each server's snapshot follows the database within a fraction of a second, the one that
    // wrote included: wait until both have the run's last write.
    for server in [&plain, &ingesting] {
        wait_for_answer(&server.url("/currencies/"), |status, body| {
            status == 200 && body.contains(r#""EUR":"Euro""#)
        })?;
    }

    // Byte for byte the same answers, ETags included, whichever server is asked.
    for path in [
        format!("/rates/{today}/"),
        format!("/rates/{sample_date}/?base=USD&symbols=GBP,JPY"),
        "/rates/latest/".to_owned(),
        format!("/rates/2026-09-02..{sample_date}/?symbols=USD"),
        "/currencies/".to_owned(),
        format!("/convert?from=USD&to=GBP&amount=10&date={sample_date}"),
    ] {
        let from_plain = get(&plain.url(&path))?;
        let from_ingesting = get(&ingesting.url(&path))?;
        assert_eq!(from_plain.0, 200, "{path}: {}", from_plain.1);
        assert_eq!(from_plain, from_ingesting, "{path}");
    }

    // A correction written by another process (as `rates-cli ingest` would) reaches both
    // servers, past their answer caches.
    let path = format!("/rates/{sample_date}/?symbols=USD");
    let before = get(&plain.url(&path))?;
    assert_eq!(get(&ingesting.url(&path))?, before);
    let corrected =
        RateTable::from_raw(sample.date(), Currency::EUR, [("USD".to_owned(), 1.2345)])?;
    let counts = database
        .store()
        .upsert_rate_table(&corrected, Source::Fixer)?;
    assert_eq!(counts.updated, 1);
    let written = Instant::now();
    for server in [&plain, &ingesting] {
        let (_, _, etag) = wait_for_answer(&server.url(&path), |status, body| {
            status == 200 && body.contains("1.2345")
        })?;
        assert_ne!(etag, before.2, "the ETag must change with the value");
    }
    // Each server's snapshot polls the database every 200 ms and reloads the changed day.
    assert!(
        written.elapsed() < Duration::from_secs(1),
        "served by both after {:?}",
        written.elapsed()
    );
    Ok(())
}

#[test]
fn servers_sharing_a_database_ingest_the_window_once_between_them() -> TestResult {
    for database in TestDatabase::all()? {
        // Basic plan: one `historical` request per date; a slow Fixer, so that both servers'
        // first ticks come while the first run is still going.
        let mock = MockFixer::builder().plan(Plan::Basic).start();
        mock.set_delay(Duration::from_millis(150));
        let env = scheduled_ingest_env(&mock);
        let first = Server::start(database.url(), &as_refs(&env))?;
        let second = Server::start(database.url(), &as_refs(&env))?;
        // One server ran the ingest; the other found the lock taken, during the run or after
        // it (a successful run keeps the lease for the interval).
        let started = Instant::now();
        let (ran, skipped) = loop {
            let logs = [first.log_text(), second.log_text()];
            let ran = logs
                .iter()
                .filter(|log| log.contains("scheduled ingest: "))
                .count();
            let skipped = logs
                .iter()
                .filter(|log| log.contains("another server holds the ingest lock"))
                .count();
            if ran + skipped == 2 || started.elapsed() > PATIENCE {
                break (ran, skipped);
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        assert_eq!(
            (ran, skipped),
            (1, 1),
            "{:?}\nfirst:\n{}\nsecond:\n{}",
            database.backend(),
            first.log_text(),
            second.log_text()
        );
        for date in window()?.iter() {
            assert_eq!(
                mock.request_count(&format_date(date)),
                1,
                "{date} on {:?}",
                database.backend()
            );
        }
        let held = database.store().dates_held(window()?, Currency::EUR)?;
        assert_eq!(held.len(), WINDOW_DAYS as usize);
    }
    Ok(())
}

#[test]
fn a_failing_scheduled_ingest_neither_stops_the_server_nor_holds_up_requests() -> TestResult {
    let database = TestDatabase::sqlite()?;
    fill(database.store())?;
    let mock = MockFixer::start();
    // Every request is slow, then fails for good (104: monthly quota reached).
    let fixer_delay = Duration::from_millis(2_500);
    mock.set_delay(fixer_delay);
    mock.fail_next(1_000, Fault::fixer(104));
    let mut env = scheduled_ingest_env(&mock);
    // Everything logged, so that the check for the key below covers every library's lines.
    env.push(("RUST_LOG", "debug".to_owned()));
    let mut server = Server::start(database.url(), &as_refs(&env))?;

    // While the run waits on Fixer, requests are answered: the run cannot end before its first
    // request's delay has passed.
    let started = Instant::now();
    while mock.total_requests() == 0 && started.elapsed() < PATIENCE {
        std::thread::sleep(Duration::from_millis(5));
    }
    let run_started = Instant::now();
    assert!(
        mock.total_requests() > 0,
        "the scheduled ingest never started"
    );
    assert_eq!(get(&server.url("/health"))?.0, 200);
    assert_eq!(get(&server.url("/rates/latest/?symbols=USD"))?.0, 200);
    assert!(
        run_started.elapsed() < fixer_delay - Duration::from_millis(500),
        "the requests took so long that the run may have ended first; the test proves nothing"
    );

    // The run fails; the server logs it and goes on serving.
    server.wait_for_log("retrying at the next tick")?;
    assert!(server.log_text().contains("WARN"));
    assert!(server.is_running()?);
    assert_eq!(get(&server.url("/health"))?.0, 200);
    assert!(
        !server.log_text().contains(DEFAULT_MOCK_KEY),
        "the Fixer key leaked into the log"
    );
    Ok(())
}

#[test]
fn sigterm_during_a_scheduled_ingest_stops_between_dates_logs_it_and_gives_the_lease_back(
) -> TestResult {
    const DAYS: u32 = 100;
    let database = TestDatabase::sqlite()?;
    // Basic plan: one `historical` request per date, each answered after 400 ms, four at a
    // time: the run would take about ten seconds.
    let mock = MockFixer::builder().plan(Plan::Basic).start();
    let fixer_delay = Duration::from_millis(400);
    mock.set_delay(fixer_delay);
    let mut env = scheduled_ingest_env(&mock);
    env.retain(|(name, _)| *name != "RATES__INGEST__DAYS");
    env.push(("RATES__INGEST__DAYS", DAYS.to_string()));
    let mut server = Server::start(database.url(), &as_refs(&env))?;
    wait_until("the scheduled ingest to store a few dates", || {
        mock.total_requests() >= 8
    })?;

    let signalled = Instant::now();
    server.signal("TERM")?;
    let status = server.wait_for_exit()?;
    let lived = signalled.elapsed();
    let log = server.log_text();
    assert_eq!(status.code(), Some(0), "{log}");
    // The requests in flight finish; no new one starts.
    assert!(
        lived < fixer_delay * 5,
        "the server lived {lived:?} after SIGTERM:\n{log}"
    );
    let window = DateRange::ending(today_utc(), DAYS)?;
    let held = database.store().dates_held(window, Currency::EUR)?;
    assert!(
        !held.is_empty() && held.len() < DAYS as usize / 2,
        "{} dates held",
        held.len()
    );
    // What was done is logged, after the signal and before `stopped`.
    let outcome = log
        .lines()
        .find(|line| line.contains("scheduled ingest: ") && line.contains("cancelled"))
        .ok_or_else(|| format!("no outcome line:\n{log}"))?;
    assert!(
        outcome.contains(&format!("{} stored", held.len())),
        "{outcome}"
    );
    let line_of = |is: &dyn Fn(&str) -> bool| {
        log.lines()
            .position(is)
            .ok_or(format!("a line is missing:\n{log}"))
    };
    let signal_line = line_of(&|line| line.contains("SIGTERM received"))?;
    let outcome_line = line_of(&|line| line == outcome)?;
    let stopped_line = log
        .lines()
        .collect::<Vec<_>>()
        .iter()
        .rposition(|line| line.ends_with(" stopped") && line.contains("rates_server"))
        .ok_or(format!("`stopped` not logged:\n{log}"))?;
    assert!(
        signal_line < outcome_line && outcome_line < stopped_line,
        "{log}"
    );
    // Whole days only (each has as many rates as the others), and the lease is free for the
    // next server at once.
    let mut sizes = BTreeSet::new();
    for date in held {
        let table = database
            .store()
            .rate_table(date, Currency::EUR)?
            .ok_or("a held date has no table")?;
        sizes.insert(table.table.len());
    }
    assert_eq!(sizes.len(), 1, "days of different sizes: {sizes:?}");
    assert!(sizes.iter().all(|size| *size >= 20), "{sizes:?}");
    assert!(database.store().ingest_lock_holder()?.is_none(), "{log}");
    Ok(())
}

/// The nginx binary. Tests that need it are `ignored` (with the reason) when the build script
/// (build.rs) found no nginx and `RATES_TEST_REQUIRE_NGINX` is unset; so here a missing nginx
/// means that variable asked for it (or it was removed since the build): a failure.
fn nginx() -> TestResult<PathBuf> {
    ["/usr/sbin/nginx", "/usr/local/sbin/nginx"]
        .into_iter()
        .map(PathBuf::from)
        .find(|path| path.is_file())
        .ok_or_else(|| {
            "nginx is required (RATES_TEST_REQUIRE_NGINX is set) but not installed in /usr/sbin \
             or /usr/local/sbin"
                .into()
        })
}

/// nginx running deploy/nginx/rates.conf, ports rewritten; killed on drop.
struct Nginx {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Nginx {
    /// Starts nginx in front of the two upstream ports, on a loopback port of its own. nginx
    /// cannot be handed a bound socket, so the port is one the kernel just gave out, and a start
    /// that finds it taken since is tried again on another.
    fn start(binary: &Path, upstream_ports: [u16; 2]) -> TestResult<Nginx> {
        let mut attempts = 0;
        loop {
            let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
            match Nginx::start_on(binary, upstream_ports, port) {
                Err(error)
                    if error.to_string().contains("Address already in use") && attempts < 5 =>
                {
                    attempts += 1;
                }
                started => return started,
            }
        }
    }

    fn start_on(binary: &Path, upstream_ports: [u16; 2], port: u16) -> TestResult<Nginx> {
        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/nginx/rates.conf");
        let mut site = std::fs::read_to_string(&example)?;
        for (from, to) in [
            ("listen 80;", format!("listen 127.0.0.1:{port};")),
            ("127.0.0.1:8081", format!("127.0.0.1:{}", upstream_ports[0])),
            ("127.0.0.1:8082", format!("127.0.0.1:{}", upstream_ports[1])),
        ] {
            assert_eq!(
                site.matches(from).count(),
                1,
                "deploy/nginx/rates.conf changed shape: expected one {from:?}"
            );
            site = site.replace(from, &to);
        }
        let dir = tempfile::tempdir()?;
        let root = dir.path().to_path_buf();
        std::fs::write(root.join("rates.conf"), site)?;
        // The main context a distribution's nginx.conf provides, pointed at the temporary
        // directory; one process, in the foreground.
        let main = format!(
            "daemon off;\nmaster_process off;\nworker_processes 1;\npid {root}/nginx.pid;\n\
             error_log {root}/error.log warn;\nevents {{ worker_connections 64; }}\n\
             http {{\n  access_log {root}/access.log;\n  client_body_temp_path {root}/body;\n\
             \x20 proxy_temp_path {root}/proxy;\n  fastcgi_temp_path {root}/fastcgi;\n\
             \x20 uwsgi_temp_path {root}/uwsgi;\n  scgi_temp_path {root}/scgi;\n\
             \x20 include {root}/rates.conf;\n}}\n",
            root = root.display()
        );
        std::fs::write(root.join("nginx.conf"), main)?;
        let config = root.join("nginx.conf");
        let prefix = format!("{}/", root.display());
        let check = Command::new(binary)
            .args(["-t", "-q", "-p", &prefix, "-e"])
            .arg(root.join("error.log"))
            .arg("-c")
            .arg(&config)
            .output()?;
        assert!(
            check.status.success(),
            "nginx -t rejected the example: {}",
            String::from_utf8_lossy(&check.stderr)
        );
        let error_log = root.join("error.log");
        let child = Command::new(binary)
            .args(["-p", &prefix, "-e"])
            .arg(root.join("error.log"))
            .arg("-c")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let mut nginx = Nginx {
            child,
            port,
            _dir: dir,
        };
        let started = Instant::now();
        while TcpListener::bind(("127.0.0.1", port)).is_ok() || get(&nginx.url("/health")).is_err()
        {
            if let Some(status) = nginx.child.try_wait()? {
                let log = std::fs::read_to_string(&error_log).unwrap_or_default();
                return Err(format!("nginx exited ({status}): {log}").into());
            }
            if started.elapsed() > PATIENCE {
                return Err("nginx never started listening".into());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(nginx)
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Lines of a server's access log for `GET path...`.
fn requests_logged(server: &Server, path: &str) -> usize {
    server.log_text().matches(&format!("\"GET {path}")).count()
}

/// Long enough for a server to have written out every line logged so far.
const LOG_FLUSH: Duration = Duration::from_millis(300);

#[test]
#[cfg_attr(
    not(rates_test_nginx),
    ignore = "nginx is not installed (Debian: apt-get install nginx; .ci/run installs it)"
)]
fn nginx_with_the_example_config_balances_two_servers_and_survives_one_stopping() -> TestResult {
    let binary = nginx()?;
    let database = TestDatabase::sqlite()?;
    let sample = fill(database.store())?;
    let path = format!("/rates/{}/", format_date(sample.date()));
    let env = [("RATES__SERVER__TRUSTED_PROXIES", "127.0.0.1")];
    let first = Server::start(database.url(), &env)?;
    let mut second = Server::start(database.url(), &env)?;
    let nginx = Nginx::start(&binary, [first.port, second.port])?;

    let direct = get(&first.url(&path))?;
    assert_eq!(direct.0, 200);
    for _ in 0..6 {
        assert_eq!(get(&nginx.url(&path))?, direct);
    }
    // Both servers answered some: nginx spreads the requests.
    wait_until("both servers logging requests from nginx", || {
        requests_logged(&first, &path) >= 1 && requests_logged(&second, &path) >= 1
    })?;

    // Behind the trusted proxy the log shows the client nginx saw, not nginx.
    get_with(
        &nginx.url("/currencies/"),
        &[("X-Forwarded-For", "203.0.113.7")],
    )?;
    wait_until("the forwarded client address in a server's log", || {
        (first.log_text() + &second.log_text()).contains("203.0.113.7 \"GET /currencies/")
    })?;

    // One server gone: every request is still answered, by the other.
    second.kill()?;
    for _ in 0..6 {
        assert_eq!(get(&nginx.url(&path))?, direct);
    }
    Ok(())
}

#[test]
fn the_systemd_unit_starts_the_server_with_flags_it_accepts() -> TestResult {
    let unit =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/systemd/rates-server@.service");
    let unit = std::fs::read_to_string(unit)?;
    let exec_start = unit
        .lines()
        .find_map(|line| line.strip_prefix("ExecStart="))
        .ok_or("the unit has no ExecStart")?;
    let help = Command::new(env!("CARGO_BIN_EXE_rates-server"))
        .arg("--help")
        .output()?;
    let help = String::from_utf8(help.stdout)?;
    let flags: Vec<&str> = exec_start
        .split_whitespace()
        .filter(|word| word.starts_with("--"))
        .collect();
    assert!(!flags.is_empty());
    for flag in flags {
        assert!(help.contains(flag), "rates-server does not take {flag}");
    }
    assert!(
        exec_start.contains("127.0.0.1:%i"),
        "the instance name is the port"
    );
    Ok(())
}

/// The paths whose answers a restored backup must reproduce.
fn sample_paths(sample: &RateTable) -> Vec<String> {
    let date = format_date(sample.date());
    vec![
        format!("/rates/{date}/"),
        format!("/rates/2026-09-02..{date}/?base=USD&symbols=GBP"),
        "/rates/latest/".to_owned(),
        "/currencies/".to_owned(),
    ]
}

fn assert_same_answers(original: &TestApp, restored: &TestApp, paths: &[String]) -> TestResult {
    for path in paths {
        let expected = get(&original.url(path))?;
        assert_eq!(expected.0, 200, "{path}: {}", expected.1);
        assert_eq!(get(&restored.url(path))?, expected, "{path}");
    }
    Ok(())
}

/// A program on the usual system paths, if installed.
fn system_program(name: &str) -> Option<PathBuf> {
    ["/usr/bin", "/usr/local/bin", "/bin"]
        .into_iter()
        .map(|dir| Path::new(dir).join(name))
        .find(|path| path.is_file())
}

#[test]
fn an_online_sqlite_backup_taken_while_serving_restores_to_the_same_answers() -> TestResult {
    use diesel::{Connection, RunQueryDsl, SqliteConnection};

    let database = TestDatabase::sqlite()?;
    let sample = fill(database.store())?;
    let original = TestApp::start(&settings(database.url()))?;
    let file = database
        .url()
        .strip_prefix("sqlite://")
        .unwrap_or(database.url())
        .to_owned();
    let backups = tempfile::tempdir()?;

    // VACUUM INTO, as docs/operations.md shows, on the file the server has open.
    let vacuumed = backups.path().join("vacuumed.db");
    let mut connection = SqliteConnection::establish(&file)?;
    diesel::sql_query(format!("VACUUM INTO '{}'", vacuumed.display())).execute(&mut connection)?;
    let mut copies = vec![vacuumed];

    // The sqlite3 shell's online backup, when the shell is installed.
    match system_program("sqlite3") {
        Some(shell) => {
            let copy = backups.path().join("backup.db");
            let output = Command::new(shell)
                .arg(&file)
                .arg(format!(".backup '{}'", copy.display()))
                .output()?;
            assert!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
            copies.push(copy);
        }
        None => println!("skipped: `sqlite3 .backup`: the sqlite3 shell is not installed"),
    }

    let paths = sample_paths(&sample);
    for copy in copies {
        let restored = TestApp::start(&settings(&copy.display().to_string()))?;
        assert_same_answers(&original, &restored, &paths)?;
    }
    Ok(())
}

#[test]
#[cfg_attr(
    not(rates_test_postgres),
    ignore = "PostgreSQL skipped: RATES_TEST_POSTGRES_URL is not set"
)]
fn a_pg_dump_restored_into_another_database_serves_the_same_answers() -> TestResult {
    let Some(database) = TestDatabase::postgres()? else {
        return Ok(());
    };
    let (Some(pg_dump), Some(pg_restore)) =
        (system_program("pg_dump"), system_program("pg_restore"))
    else {
        println!("skipped: pg_dump/pg_restore are not installed (Debian: postgresql-client)");
        return Ok(());
    };
    let sample = fill(database.store())?;
    let original = TestApp::start(&settings(database.url()))?;
    let dir = tempfile::tempdir()?;
    let dump = dir.path().join("rates.dump");
    let output = Command::new(pg_dump)
        .arg("--format=custom")
        .arg(format!("--file={}", dump.display()))
        .arg(database.url())
        .output()?;
    assert!(
        output.status.success(),
        "pg_dump: {}",
        String::from_utf8_lossy(&output.stderr)
    );

    // Restored over a freshly migrated, empty database, as after a rebuild.
    let restored_database = TestDatabase::postgres()?.ok_or("PostgreSQL went away")?;
    let output = Command::new(pg_restore)
        .args(["--clean", "--if-exists", "--no-owner"])
        .arg(format!("--dbname={}", restored_database.url()))
        .arg(&dump)
        .output()?;
    assert!(
        output.status.success(),
        "pg_restore: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let restored = TestApp::start(&settings(restored_database.url()))?;
    assert_same_answers(&original, &restored, &sample_paths(&sample))?;
    Ok(())
}

#[test]
#[cfg_attr(
    not(rates_test_postgres),
    ignore = "PostgreSQL skipped: RATES_TEST_POSTGRES_URL is not set"
)]
fn servers_started_together_on_an_empty_postgres_database_migrate_it_once() -> TestResult {
    use diesel::{Connection, PgConnection, RunQueryDsl};

    let Some(database) = TestDatabase::postgres()? else {
        return Ok(());
    };
    let all_migrations = database.store().applied_migrations()?;
    // Back to a database nothing has touched, as on a first deployment.
    let mut connection = PgConnection::establish(database.url())?;
    diesel::sql_query("DROP SCHEMA public CASCADE").execute(&mut connection)?;
    diesel::sql_query("CREATE SCHEMA public").execute(&mut connection)?;
    let unmigrated = Store::connect(database.url(), Some(1))?;
    assert_eq!(unmigrated.pending_migrations()?.len(), all_migrations.len());

    // Both apply pending migrations at start-up, at the same moment: one waits for the other.
    let starting: Vec<_> = (0..2)
        .map(|_| {
            let settings = settings(database.url());
            std::thread::spawn(move || TestApp::start(&settings).map_err(|error| error.to_string()))
        })
        .collect();
    for server in starting {
        let server = server.join().map_err(|_| "a server thread panicked")??;
        assert_eq!(get(&server.url("/health"))?.0, 200);
    }
    assert!(unmigrated.pending_migrations()?.is_empty());
    assert_eq!(unmigrated.applied_migrations()?, all_migrations);
    Ok(())
}

#[test]
fn the_systemd_units_pass_systemd_analyze_verify() -> TestResult {
    let Some(analyze) = system_program("systemd-analyze") else {
        println!("skipped: systemd-analyze is not installed");
        return Ok(());
    };
    let deploy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/systemd");
    let dir = tempfile::tempdir()?;
    // `verify` also checks that each program exists: point the units at the binary just built
    // (any executable does for rates-cli, whose flags systemd does not read).
    let binary = env!("CARGO_BIN_EXE_rates-server");
    for (source, target) in [
        ("rates-server@.service", "rates-server@8081.service"),
        ("rates-ingest.service", "rates-ingest.service"),
        ("rates-ingest.timer", "rates-ingest.timer"),
    ] {
        let unit = std::fs::read_to_string(deploy.join(source))?
            .replace("/usr/local/bin/rates-server", binary)
            .replace("/usr/local/bin/rates-cli", binary);
        std::fs::write(dir.path().join(target), unit)?;
    }
    let output = Command::new(analyze)
        .arg("verify")
        .arg(dir.path().join("rates-server@8081.service"))
        .arg(dir.path().join("rates-ingest.service"))
        .arg(dir.path().join("rates-ingest.timer"))
        .output()?;
    let complaints = String::from_utf8_lossy(&output.stderr);
    // Unknown keys and bad values are only warnings to systemd: any output is a failure here.
    assert!(
        output.status.success() && complaints.trim().is_empty(),
        "systemd-analyze verify: {complaints}"
    );
    Ok(())
}

#[test]
fn api_keys_hold_across_servers_and_revocation_reaches_every_server() -> TestResult {
    api_keys_across_servers(false)
}

#[test]
#[cfg_attr(
    not(rates_test_nginx),
    ignore = "nginx is not installed (Debian: apt-get install nginx; .ci/run installs it)"
)]
fn api_keys_pass_through_nginx_and_revocation_reaches_it() -> TestResult {
    api_keys_across_servers(true)
}

/// Keys created and revoked in the database, checked on two servers sharing it and, with
/// `through_nginx`, through nginx in front of them.
fn api_keys_across_servers(through_nginx: bool) -> TestResult {
    // PostgreSQL when there is one (the several-servers case), else one SQLite file.
    let database = match TestDatabase::postgres()? {
        Some(database) => database,
        None => TestDatabase::sqlite()?,
    };
    let sample = fill(database.store())?;
    let path = format!("/rates/{}/?symbols=USD", format_date(sample.date()));
    // Created as `rates-cli keys create` does: only the hash is stored.
    let key = rates_domain::ApiKey::from_random_bytes([7; rates_domain::API_KEY_BYTES]);
    let record = database
        .store()
        .insert_api_key("deployment test", key.hash().as_str())?;
    let env = [
        ("RATES__SERVER__AUTH", "api-key"),
        ("RATES__SERVER__TRUSTED_PROXIES", "127.0.0.1"),
    ];
    let servers = [
        Server::start(database.url(), &env)?,
        Server::start(database.url(), &env)?,
    ];
    let nginx = if through_nginx {
        Some(Nginx::start(&nginx()?, [servers[0].port, servers[1].port])?)
    } else {
        None
    };
    let mut bases: Vec<String> = servers.iter().map(|server| server.url("")).collect();
    bases.extend(nginx.as_ref().map(|nginx| nginx.url("")));

    let bearer = format!("Bearer {}", key.expose_secret());
    for base in &bases {
        assert_eq!(get(&format!("{base}/health"))?.0, 200, "{base}");
        assert_eq!(get(&format!("{base}{path}"))?.0, 401, "{base}");
        let with_bearer = get_with(&format!("{base}{path}"), &[("Authorization", &bearer)])?;
        assert_eq!(with_bearer.0, 200, "{base}: {}", with_bearer.1);
        let with_header = get_with(
            &format!("{base}{path}"),
            &[("X-API-Key", key.expose_secret())],
        )?;
        assert_eq!(with_header.0, 200, "{base}");
    }

    // Revoked as `rates-cli keys revoke` does: every server refuses it soon, without a restart.
    assert!(database.store().revoke_api_key(record.id)?);
    for base in &bases {
        let started = Instant::now();
        loop {
            let (status, _, _) = get_with(&format!("{base}{path}"), &[("Authorization", &bearer)])?;
            if status == 401 {
                break;
            }
            if started.elapsed() > PATIENCE {
                return Err(format!("{base} still accepts a revoked key").into());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    std::thread::sleep(LOG_FLUSH);
    for server in &servers {
        assert!(
            !server.log_text().contains(key.expose_secret()),
            "an API key reached the log"
        );
    }
    Ok(())
}
