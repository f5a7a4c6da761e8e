//! The binary as an operator runs it: one process per test, its own database and port.

use std::net::TcpListener;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use rates_domain::ecb::parse_ecb_csv;
use rates_domain::Source;
use rates_store::testing::TestDatabase;

use crate::helpers::{server_command, signal, Server, TestResult, PATIENCE};

fn filled(database: &TestDatabase) -> TestResult {
    let tables =
        parse_ecb_csv(include_str!("../../../rates-api/tests/data/ecb-sample.csv").as_bytes())?
            .tables;
    database.store().bulk_upsert(&tables, Source::EcbImport)?;
    Ok(())
}

fn body_of(reply: &str) -> &str {
    reply.split_once("\r\n\r\n").map_or("", |(_, body)| body)
}

#[test]
#[cfg_attr(
    not(rates_test_postgres),
    ignore = "PostgreSQL skipped: RATES_TEST_POSTGRES_URL is not set"
)]
fn with_the_rates_table_locked_reads_are_answered_and_sigterm_stops_gracefully() -> TestResult {
    // PostgreSQL lets the test hold the rates table locked so no query on it can complete:
    // reads are answered from memory regardless, and the server still stops cleanly.
    let Some(database) = TestDatabase::postgres()? else {
        return Ok(());
    };
    filled(&database)?;
    let mut server = Server::start(database.url(), &[])?;
    let mut locker = {
        use diesel::Connection;
        diesel::PgConnection::establish(database.url())?
    };
    use diesel::connection::SimpleConnection;
    locker.batch_execute("BEGIN; LOCK TABLE rates IN ACCESS EXCLUSIVE MODE;")?;

    let started = Instant::now();
    let answer = server.raw(
        b"GET /rates/2024-01-03/?symbols=GBP HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    )?;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with(r#""rates":{"GBP":0.8647}}"#), "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );

    server.signal("TERM")?;
    server.wait_until_not_accepting()?;
    let status = server.wait_for_exit()?;
    assert_eq!(status.code(), Some(0), "{}", server.log_text());
    locker.batch_execute("COMMIT;")?;
    Ok(())
}

#[test]
fn a_write_by_another_process_is_served_within_a_second() -> TestResult {
    for database in TestDatabase::all()? {
        filled(&database)?;
        let server = Server::start(database.url(), &[])?;
        let request =
            b"GET /rates/2024-01-03/?symbols=GBP HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
        assert!(body_of(&server.raw(request)?).contains(r#""GBP":0.8647"#));
        // This test process is the other process, writing as `rates-cli` does.
        let corrected = rates_domain::RateTable::from_raw(
            rates_domain::parse_date("2024-01-03")?,
            rates_domain::Currency::EUR,
            [("GBP", 0.9)],
        )?;
        let written = Instant::now();
        database
            .store()
            .upsert_rate_table(&corrected, Source::Fixer)?;
        loop {
            let answer = server.raw(request)?;
            if body_of(&answer).contains(r#""GBP":0.9"#) {
                break;
            }
            if written.elapsed() > Duration::from_secs(1) {
                return Err(format!(
                    "{:?}: not served a second after the write: {answer}",
                    database.backend()
                )
                .into());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        eprintln!(
            "{:?}: the write was served after {:?}",
            database.backend(),
            written.elapsed()
        );
    }
    Ok(())
}

#[test]
fn sigint_also_stops_gracefully_with_exit_0() -> TestResult {
    let database = TestDatabase::sqlite()?;
    let mut server = Server::start(database.url(), &[])?;
    server.signal("INT")?;
    let status = server.wait_for_exit()?;
    assert_eq!(status.code(), Some(0), "{}", server.log_text());
    assert!(server.log_text().contains("SIGINT received"));
    Ok(())
}

#[test]
fn each_request_is_logged_once_without_its_query_string() -> TestResult {
    let database = TestDatabase::sqlite()?;
    filled(&database)?;
    let server = Server::start(database.url(), &[])?;
    let secret = "access_key=S3CRET-VALUE";
    server.raw(
        format!("GET /rates/2024-01-02/?{secret} HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 203.0.113.9\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    )?;
    server.raw(
        b"GET /rates/2024-01-02/?symbols=USD HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
    )?;
    let log = server.wait_for_log("\"GET /rates/2024-01-02/\" 200")?;
    assert!(!log.contains("S3CRET"), "{log}");
    let lines: Vec<&str> = log
        .lines()
        .filter(|line| line.contains("rates_api::access"))
        .collect();
    assert!(
        lines
            .iter()
            .any(|line| line.contains("127.0.0.1 \"GET /rates/2024-01-02/\" 400 ")),
        "the untrusted X-Forwarded-For is ignored: {log}"
    );
    assert_eq!(
        lines
            .iter()
            .filter(|line| line.contains("\"GET /rates/2024-01-02/\""))
            .count(),
        2,
        "{log}"
    );
    assert!(!log.contains("203.0.113.9"), "{log}");
    Ok(())
}

#[test]
fn the_request_id_is_echoed_and_ends_the_access_line() -> TestResult {
    let database = TestDatabase::sqlite()?;
    filled(&database)?;
    let server = Server::start(database.url(), &[])?;
    let answer = server.raw(
        b"GET /rates/2024-01-02/ HTTP/1.1\r\nHost: t\r\nX-Request-Id: trace-7f3a.1\r\nConnection: close\r\n\r\n",
    )?;
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("x-request-id: trace-7f3a.1\r\n"),
        "{answer}"
    );
    let log = server.wait_for_log("id=trace-7f3a.1")?;
    assert!(
        log.lines().any(|line| line.contains("rates_api::access")
            && line.contains("\"GET /rates/2024-01-02/\" 200 ")
            && line.ends_with("id=trace-7f3a.1")),
        "{log}"
    );

    // A request without an id gets one, the same in the answer and in the log.
    let answer =
        server.raw(b"GET /currencies/ HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")?;
    let generated = answer
        .lines()
        .find_map(|line| {
            line.to_ascii_lowercase()
                .strip_prefix("x-request-id: ")
                .map(str::to_owned)
        })
        .ok_or_else(|| format!("no X-Request-Id in {answer}"))?;
    server.wait_for_log(&format!("id={}", generated.trim()))?;
    Ok(())
}

#[test]
fn with_log_format_json_every_line_is_one_json_object_with_the_access_fields() -> TestResult {
    let database = TestDatabase::sqlite()?;
    filled(&database)?;
    let server = Server::start(database.url(), &[("RATES__LOG__FORMAT", "json")])?;
    server.raw(
        b"GET /rates/2024-01-02/?symbols=USD HTTP/1.1\r\nHost: t\r\nX-Request-Id: json-1\r\nConnection: close\r\n\r\n",
    )?;
    let log = server.wait_for_log("json-1")?;
    let mut access = None;
    for line in log.lines().filter(|line| !line.trim().is_empty()) {
        let object: serde_json::Value =
            serde_json::from_str(line).map_err(|error| format!("not JSON ({error}): {line}"))?;
        for key in ["timestamp", "level", "target", "message"] {
            if object.get(key).is_none() {
                return Err(format!("no {key} in {line}").into());
            }
        }
        if object["target"] == "rates_api::access" && object["request_id"] == "json-1" {
            access = Some(object);
        }
    }
    let access = access.ok_or_else(|| format!("no access line with the request id in {log}"))?;
    assert_eq!(access["level"], "INFO");
    assert_eq!(access["method"], "GET");
    assert_eq!(access["path"], "/rates/2024-01-02/");
    assert_eq!(access["status"], 200);
    assert_eq!(access["client"], "127.0.0.1");
    assert!(access["duration_ms"]
        .as_str()
        .is_some_and(|ms| ms.parse::<f64>().is_ok()));
    assert!(
        !log.contains("symbols=USD"),
        "the query string stays out: {log}"
    );
    Ok(())
}

#[test]
fn a_trusted_proxy_names_the_client_in_the_log() -> TestResult {
    let database = TestDatabase::sqlite()?;
    let server = Server::start(
        database.url(),
        &[("RATES__SERVER__TRUSTED_PROXIES", "127.0.0.1")],
    )?;
    server.raw(b"GET /currencies/ HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 198.51.100.7, 203.0.113.9\r\nConnection: close\r\n\r\n")?;
    let log = server.wait_for_log("\"GET /currencies/\" 200")?;
    assert!(
        log.contains("203.0.113.9 \"GET /currencies/\" 200"),
        "{log}"
    );
    Ok(())
}

/// Runs the binary to completion with `args` and `env`, RUST_LOG off so stderr holds only the
/// error line.
fn run_to_failure(args: &[&str], env: &[(&str, &str)]) -> TestResult<Output> {
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("config");
    std::fs::create_dir(&config)?;
    let mut command = server_command(dir.path(), &config);
    command
        .args(args)
        .env("RUST_LOG", "off")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn()?;
    let deadline = Instant::now() + PATIENCE;
    while child.try_wait()?.is_none() {
        if Instant::now() > deadline {
            child.kill()?;
            return Err(format!("rates-server {args:?} kept running").into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(child.wait_with_output()?)
}

/// Flags, environment, and a piece of the expected error line.
type FailureCase<'a> = (Vec<&'a str>, Vec<(&'a str, &'a str)>, &'a str);

#[test]
fn start_up_errors_are_one_line_exit_2_for_bad_settings_and_leave_no_database() -> TestResult {
    let taken = TcpListener::bind("127.0.0.1:0")?;
    let taken_address = taken.local_addr()?.to_string();
    let dir = tempfile::tempdir()?;
    let new_file = dir.path().join("new.db");
    let sqlite = new_file.display().to_string();
    // A database whose rates cannot be read: there is nothing to serve.
    let corrupt = dir.path().join("corrupt.db").display().to_string();
    {
        use diesel::connection::SimpleConnection;
        use diesel::Connection;
        rates_store::Store::open(&corrupt, Some(1))?;
        diesel::SqliteConnection::establish(&corrupt)?.batch_execute(
            "INSERT INTO rates VALUES ('2024-01-02', 'EUR', 'U5D', 1.1, 'fixer', \
             '2024-01-02 16:00:00.000000', '2024-01-02 16:00:00.000000');",
        )?;
    }
    let cases: Vec<(FailureCase, i32)> = vec![
        (
            (
                vec!["--bind", "127.0.0.1:0", "--database-url", &corrupt],
                vec![],
                "cannot load the rates into memory",
            ),
            1,
        ),
        (
            (
                vec!["--bind", &taken_address, "--database-url", &sqlite],
                vec![],
                "cannot listen on",
            ),
            1,
        ),
        (
            (
                vec![
                    "--bind",
                    "127.0.0.1:0",
                    "--database-url",
                    "postgres://postgres@127.0.0.1:1/nowhere",
                ],
                vec![],
                "cannot open the database",
            ),
            1,
        ),
        (
            (
                vec!["--bind", "127.0.0.1:0", "--database-url", &sqlite],
                vec![("RATES__SERVER__WORKERS", "many")],
                "server.workers",
            ),
            2,
        ),
        (
            (
                vec!["--bind", "127.0.0.1:0", "--database-url", &sqlite],
                vec![("RATES__SERVER__COLOUR", "blue")],
                "unknown setting",
            ),
            2,
        ),
        (
            (
                vec!["--bind", "nowhere", "--database-url", &sqlite],
                vec![],
                "server.bind",
            ),
            2,
        ),
        (
            (
                vec!["--bind", "127.0.0.1:0", "--database-url", &sqlite],
                vec![("RATES__INGEST__SCHEDULE", "1h")],
                "fixer.access_key",
            ),
            2,
        ),
        (
            (
                vec!["--bind", "127.0.0.1:0", "--database-url", &sqlite],
                vec![("RATES__FETCH__ON_DEMAND", "true")],
                "fixer.access_key",
            ),
            2,
        ),
    ];
    for ((args, env, expected), status) in cases {
        let output = run_to_failure(&args, &env)?;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(status), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.starts_with("rates-server: "), "{stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(!new_file.exists(), "{args:?} left {sqlite} behind");
    }
    drop(taken);
    Ok(())
}

#[test]
fn bad_flags_exit_2_like_every_clap_program() -> TestResult {
    let output = run_to_failure(&["--no-such-flag"], &[])?;
    assert_eq!(output.status.code(), Some(2));
    Ok(())
}

#[test]
fn help_names_the_environment_variables() -> TestResult {
    let dir = tempfile::tempdir()?;
    let output = server_command(dir.path(), dir.path())
        .arg("--help")
        .env("FIXER_ACCESS_KEY", "help-secret-0123456789")
        .output()?;
    assert_eq!(output.status.code(), Some(0));
    let help = String::from_utf8(output.stdout)?;
    for name in [
        "RATES__SERVER__BIND",
        "DATABASE_URL",
        "FIXER_ACCESS_KEY",
        "RATES__INGEST__SCHEDULE",
        "RATES_ENV",
    ] {
        assert!(help.contains(name), "{name} missing:\n{help}");
    }
    assert!(!help.contains("help-secret-0123456789"));
    Ok(())
}

#[test]
fn with_api_keys_the_key_is_checked_never_logged_and_its_uses_kept_at_exit() -> TestResult {
    let database = TestDatabase::sqlite()?;
    filled(&database)?;
    let key = rates_domain::ApiKey::from_random_bytes([5; rates_domain::API_KEY_BYTES]);
    database
        .store()
        .insert_api_key("ops", key.hash().as_str())?;
    let mut server = Server::start(database.url(), &[("RATES__SERVER__AUTH", "api-key")])?;
    let without =
        server.raw(b"GET /rates/latest/ HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")?;
    assert!(without.starts_with("HTTP/1.1 401"), "{without}");
    assert!(body_of(&without).contains(r#""code":"unauthorized""#));
    for _ in 0..2 {
        let with = server.raw(
            format!(
                "GET /rates/latest/ HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
                key.expose_secret()
            )
            .as_bytes(),
        )?;
        assert!(with.starts_with("HTTP/1.1 200"), "{with}");
    }
    server.signal("TERM")?;
    assert_eq!(server.wait_for_exit()?.code(), Some(0));
    let log = server.log_text();
    assert!(log.contains("\"GET /rates/latest/\" 401"), "{log}");
    assert!(
        !log.contains(key.expose_secret()),
        "the key reached the log"
    );
    let record = database.store().list_api_keys()?;
    assert_eq!(
        record.first().map(|key| key.use_count),
        Some(2),
        "uses written at exit"
    );
    Ok(())
}

#[test]
fn the_database_password_is_masked_in_the_start_up_line_and_errors() -> TestResult {
    // A database that cannot be opened: the one error line names it, masked.
    let mut server = Server::spawn("postgres://rates:pw#123-secret@127.0.0.1:1/rates", &[])?;
    let status = server.wait_for_exit()?;
    assert_eq!(status.code(), Some(1));
    let log = server.log_text();
    assert!(
        log.contains("postgres://rates:***@127.0.0.1:1/rates"),
        "{log}"
    );
    assert!(!log.contains("secret"), "{log}");

    // Serving: `serving ...` shows the password masked (the test server ignores it).
    let Some(database) = TestDatabase::postgres()? else {
        return Ok(());
    };
    let url = format!("{}?password=start-up-secret", database.url());
    let mut server = Server::start(&url, &[])?;
    let log = server.wait_for_log("serving ")?;
    assert!(log.contains("password=***"), "{log}");
    assert!(!log.contains("start-up-secret"), "{log}");
    server.kill()?;
    Ok(())
}

/// Requests actix-http refuses itself: a bad request line, a bad header, binary bytes, too
/// many headers.
fn garbage_requests() -> Vec<Vec<u8>> {
    let many_headers: String = (0..97).map(|n| format!("X-H{n}: 1\r\n")).collect();
    vec![
        b"GET /health HTTP/1.1 extra\r\nHost: t\r\n\r\n".to_vec(),
        b"GET /health HTTP/1.1\r\nBad Header: 1\r\n\r\n".to_vec(),
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n".to_vec(),
        format!("GET /health HTTP/1.1\r\nHost: t\r\n{many_headers}\r\n").into_bytes(),
    ]
}

/// `rates_http_refused_total` as `/metrics` shows it.
fn refused_total(server: &Server) -> TestResult<f64> {
    let answer = server.raw(b"GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")?;
    Ok(answer
        .lines()
        .find_map(|line| line.strip_prefix("rates_http_refused_total "))
        .ok_or_else(|| format!("no rates_http_refused_total in {answer}"))?
        .trim()
        .parse()?)
}

#[test]
fn client_garbage_is_logged_at_debug_only() -> TestResult {
    let database = TestDatabase::sqlite()?;
    let server = Server::start(database.url(), &[])?;
    for request in garbage_requests() {
        // The answer is read to the end: actix-http has logged the error when it closes.
        let answer = server.raw(&request)?;
        assert!(answer.starts_with("HTTP/1.1 4"), "{answer}");
    }
    server.raw(b"GET /currencies/ HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")?;
    server.wait_for_log("\"GET /currencies/\"")?;
    std::thread::sleep(Duration::from_millis(300));
    let log = server.log_text();
    assert!(!log.contains("ERROR"), "{log}");
    assert!(!log.contains("actix_http"), "{log}");
    // Hidden from the log, but counted in the metrics; well-formed requests are not.
    let refused = refused_total(&server)?;
    assert!(refused >= 1.0, "no refusal counted");
    server.raw(b"GET /currencies/ HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")?;
    assert_eq!(refused_total(&server)?, refused);

    // Asked for, the same lines are there: the filter hides them, nothing else does.
    let server = Server::start(
        database.url(),
        &[("RUST_LOG", "info,actix_http::h1::dispatcher=debug")],
    )?;
    for request in garbage_requests() {
        server.raw(&request)?;
    }
    server.wait_for_log("stream error")?;
    Ok(())
}

#[test]
fn a_server_whose_stderr_nobody_reads_keeps_answering_and_stops_on_sigterm() -> TestResult {
    use std::io::BufRead;

    // More access-log lines than a pipe and the logger's queue hold together.
    const REQUESTS: usize = 24_000;
    const CLIENTS: usize = 4;
    let database = TestDatabase::sqlite()?;
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("config");
    std::fs::create_dir(&config)?;
    let mut child = server_command(dir.path(), &config)
        .args(["--bind", "127.0.0.1:0", "--workers", "2"])
        .env("DATABASE_URL", database.url())
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let guard = KillOnDrop(&mut child);
    // Read stderr up to the start-up line for the port, then never again (but keep it open: a
    // closed pipe would fail the writes rather than block them).
    let mut stderr = std::io::BufReader::new(guard.0.stderr.take().ok_or("no stderr pipe")?);
    let mut port = None;
    let mut line = String::new();
    while port.is_none() && stderr.read_line(&mut line)? > 0 {
        port = line
            .split_once(" on http://127.0.0.1:")
            .and_then(|(_, after)| after.split_whitespace().next())
            .and_then(|port| port.parse::<u16>().ok());
        line.clear();
    }
    let port = port.ok_or("no start-up line")?;

    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            std::thread::spawn(move || -> Result<usize, String> {
                let agent = ureq::AgentBuilder::new()
                    .timeout(Duration::from_secs(5))
                    .build();
                for done in 0..REQUESTS / CLIENTS {
                    match agent
                        .get(&format!("http://127.0.0.1:{port}/rates/latest/"))
                        .call()
                    {
                        Err(ureq::Error::Status(404, _)) => {}
                        other => {
                            return Err(format!(
                                "request {done} of this client: {:?}",
                                other.map(|response| response.status())
                            ))
                        }
                    }
                }
                Ok(REQUESTS / CLIENTS)
            })
        })
        .collect();
    let mut answered = 0;
    for client in clients {
        answered += client.join().map_err(|_| "a client panicked")??;
    }
    assert_eq!(answered, REQUESTS);

    signal(guard.0.id(), "TERM")?;
    let deadline = Instant::now() + PATIENCE;
    let status = loop {
        if let Some(status) = guard.0.try_wait()? {
            break status;
        }
        if Instant::now() > deadline {
            return Err("SIGTERM did not stop a server whose stderr is not read".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
    drop(stderr);
    Ok(())
}

/// Kills the child when the test ends early.
struct KillOnDrop<'a>(&'a mut std::process::Child);

impl Drop for KillOnDrop<'_> {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
