//! Read-through (`fetch.on_demand`) through the whole server, against the mock Fixer: a missing
//! past date asked for on either API is fetched once and answered; the budget, gaps and Fixer
//! failures degrade to the normal "not held" answers, never a 5xx; and `/api`'s `access_key`
//! never reaches the log.

use std::sync::Barrier;
use std::time::{Duration, Instant};

use fixer_client::mock::{Fault, MockFixer};
use fixer_client::CurrencyCode;
use rates_settings::{AccessKey, Settings};
use rates_store::testing::TestDatabase;

use crate::helpers::{settings, Server, TestApp, TestResult};

/// A Friday the mock has rates for, and the Monday after.
const FRIDAY: &str = "2024-03-15";
const MONDAY: &str = "2024-03-18";

/// Settings for a server over `database_url` reading through to `mock`.
fn reading_through(database_url: &str, fixer_base_url: &str, budget: u32) -> Settings {
    let mut settings = settings(database_url);
    settings.fixer.base_url = fixer_base_url.to_owned();
    settings.fixer.access_key = Some(AccessKey::new(fixer_client::mock::DEFAULT_MOCK_KEY));
    settings.fixer.timeout_secs = 2;
    settings.fetch.on_demand = true;
    settings.fetch.daily_budget = budget;
    settings
}

/// `GET url` → (status, JSON body), with a client timeout of `PATIENCE`.
fn get(url: &str) -> TestResult<(u16, serde_json::Value)> {
    let response = match ureq::get(url).timeout(crate::helpers::PATIENCE).call() {
        Ok(response) => response,
        Err(ureq::Error::Status(_, response)) => response,
        Err(error) => return Err(error.into()),
    };
    let status = response.status();
    let content_type = response.header("content-type").map(str::to_owned);
    let body = response.into_string()?;
    crate::helpers::check_contract(url, status, content_type.as_deref(), &body)?;
    Ok((status, serde_json::from_str(&body)?))
}

fn usd_on(mock: &MockFixer, date: &str) -> TestResult<f64> {
    let date = rates_domain::parse_date(date)?;
    Ok(mock
        .eur_rate(date, CurrencyCode::new("USD")?)
        .ok_or("the mock has USD")?)
}

#[test]
fn twenty_concurrent_requests_for_a_missing_date_cost_one_fixer_request() -> TestResult {
    let mock = MockFixer::start();
    mock.set_delay(Duration::from_millis(300));
    let database = TestDatabase::sqlite()?;
    let app = TestApp::start(&reading_through(database.url(), mock.base_url(), 50))?;
    let paths: Vec<String> = (0..20)
        .map(|i| match i % 4 {
            0 => format!("/api/{FRIDAY}?symbols=USD"),
            1 => format!("/rates/{FRIDAY}/?symbols=USD"),
            2 => format!("/api/convert?from=EUR&to=USD&amount=2&date={FRIDAY}"),
            _ => format!("/convert?from=EUR&to=USD&amount=2&date={FRIDAY}"),
        })
        .collect();
    let barrier = Barrier::new(paths.len());
    let replies: Vec<Result<(u16, serde_json::Value), String>> = std::thread::scope(|scope| {
        let handles: Vec<_> = paths
            .iter()
            .map(|path| {
                let url = app.url(path);
                let barrier = &barrier;
                scope.spawn(move || {
                    barrier.wait();
                    get(&url).map_err(|error| error.to_string())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .unwrap_or_else(|_| Err("a client thread panicked".to_owned()))
            })
            .collect()
    });
    let usd = usd_on(&mock, FRIDAY)?;
    for (path, reply) in paths.iter().zip(replies) {
        let (status, body) = reply?;
        assert_eq!(status, 200, "{path}: {body}");
        if path.starts_with("/api/convert") {
            assert_eq!(body["info"]["rate"], usd, "{path}");
        } else if path.starts_with("/convert") {
            assert_eq!(body["rate"], usd, "{path}");
        } else {
            assert_eq!(body["rates"]["USD"], usd, "{path}");
        }
        if path.starts_with("/api") {
            assert_eq!(body["success"], true, "{path}");
        }
    }
    assert_eq!(mock.request_count(FRIDAY), 1, "{:?}", mock.request_counts());
    assert_eq!(mock.total_requests(), 1);
    // Stored like an ingest: held in the database, served from memory from now on.
    let date = rates_domain::parse_date(FRIDAY)?;
    assert!(database
        .store()
        .rate_table(date, rates_domain::Currency::EUR)?
        .is_some());
    let (status, _) = get(&app.url(&format!("/rates/{FRIDAY}/")))?;
    assert_eq!(status, 200);
    assert_eq!(mock.total_requests(), 1);
    app.stop()
}

#[test]
#[cfg_attr(
    not(rates_test_postgres),
    ignore = "PostgreSQL skipped: RATES_TEST_POSTGRES_URL is not set"
)]
fn two_servers_on_one_postgres_database_fetch_a_date_once() -> TestResult {
    let Some(database) = TestDatabase::postgres()? else {
        return Ok(());
    };
    let mock = MockFixer::start();
    mock.set_delay(Duration::from_millis(300));
    let settings = reading_through(database.url(), mock.base_url(), 50);
    let apps = [TestApp::start(&settings)?, TestApp::start(&settings)?];
    let urls: Vec<String> = (0..16)
        .map(|i| {
            let app = if i % 2 == 0 { &apps[0] } else { &apps[1] };
            if i % 4 < 2 {
                app.url(&format!("/api/{FRIDAY}"))
            } else {
                app.url(&format!("/rates/{FRIDAY}/"))
            }
        })
        .collect();
    let barrier = Barrier::new(urls.len());
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = urls
            .iter()
            .map(|url| {
                let barrier = &barrier;
                scope.spawn(move || {
                    barrier.wait();
                    get(url).map(|(status, _)| status).unwrap_or(0)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().unwrap_or(0))
            .collect()
    });
    assert!(statuses.iter().all(|status| *status == 200), "{statuses:?}");
    assert_eq!(mock.request_count(FRIDAY), 1, "{:?}", mock.request_counts());
    let [first, second] = apps;
    first.stop()?;
    second.stop()
}

#[test]
fn past_the_budget_missing_dates_are_404_and_106_without_asking_fixer() -> TestResult {
    let mock = MockFixer::start();
    let database = TestDatabase::sqlite()?;
    let app = TestApp::start(&reading_through(database.url(), mock.base_url(), 1))?;
    let (status, body) = get(&app.url(&format!("/api/{FRIDAY}")))?;
    assert_eq!((status, &body["success"]), (200, &serde_json::json!(true)));
    assert_eq!(mock.total_requests(), 1);

    let (status, body) = get(&app.url(&format!("/rates/{MONDAY}/")))?;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "date_not_found");
    let (status, body) = get(&app.url(&format!("/api/{MONDAY}")))?;
    assert_eq!(status, 200);
    assert_eq!(body["error"]["code"], 106, "{body}");
    let (_, body) = get(&app.url(&format!(
        "/api/convert?from=EUR&to=USD&amount=1&date={MONDAY}"
    )))?;
    assert_eq!(body["error"]["code"], 106, "{body}");
    assert_eq!(mock.total_requests(), 1, "nothing asked past the budget");

    // Dates Fixer has nothing for: 106, and not asked again.
    let mock = MockFixer::start();
    let database = TestDatabase::sqlite()?;
    let app = TestApp::start(&reading_through(database.url(), mock.base_url(), 50))?;
    for _ in 0..3 {
        let (_, body) = get(&app.url("/api/2023-06-01"))?;
        assert_eq!(body["error"]["code"], 106, "{body}");
        let (status, _) = get(&app.url("/rates/2023-06-01/"))?;
        assert_eq!(status, 404);
    }
    assert_eq!(mock.total_requests(), 1);
    // Today and later are not read through.
    let (_, body) = get(&app.url("/api/latest"))?;
    assert_eq!(body["error"]["code"], 106, "{body}");
    assert_eq!(mock.total_requests(), 1);
    app.stop()
}

#[test]
fn with_fixer_down_or_hanging_answers_come_within_the_timeout_and_never_as_5xx() -> TestResult {
    // Nothing listens where Fixer should be.
    let database = TestDatabase::sqlite()?;
    // A port just bound and let go: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let down = format!("http://127.0.0.1:{port}/api");
    let app = TestApp::start(&reading_through(database.url(), &down, 50))?;
    for path in [
        format!("/api/{FRIDAY}"),
        format!("/rates/{FRIDAY}/"),
        format!("/api/convert?from=EUR&to=USD&amount=1&date={FRIDAY}"),
        format!("/convert?from=EUR&to=USD&amount=1&date={FRIDAY}"),
    ] {
        let started = Instant::now();
        let (status, body) = get(&app.url(&path))?;
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{path}: {:?}",
            started.elapsed()
        );
        if path.starts_with("/api") {
            assert_eq!(
                (status, &body["error"]["code"]),
                (200, &serde_json::json!(106))
            );
        } else {
            assert_eq!(status, 404, "{path}: {body}");
        }
    }
    app.stop()?;

    // Fixer accepts the connection and never answers: one request, cut at the 2 s timeout;
    // then Fixer is left alone for a while and answers are immediate.
    let mock = MockFixer::start();
    mock.fail_next(1, Fault::Delay(Duration::from_secs(8)));
    let database = TestDatabase::sqlite()?;
    let app = TestApp::start(&reading_through(database.url(), mock.base_url(), 50))?;
    let started = Instant::now();
    let (status, body) = get(&app.url(&format!("/api/{FRIDAY}")))?;
    assert_eq!(
        (status, &body["error"]["code"]),
        (200, &serde_json::json!(106))
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    let started = Instant::now();
    let (status, _) = get(&app.url(&format!("/rates/{MONDAY}/")))?;
    assert_eq!(status, 404);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(mock.total_requests(), 1);
    app.stop()
}

#[test]
fn keys_never_reach_the_log_and_a_spent_budget_is_logged_once() -> TestResult {
    let database = TestDatabase::sqlite()?;
    let mock = MockFixer::start();
    let server = Server::start(
        database.url(),
        &[
            ("RATES__FETCH__ON_DEMAND", "true"),
            ("FIXER_BASE_URL", mock.base_url()),
            ("FIXER_ACCESS_KEY", fixer_client::mock::DEFAULT_MOCK_KEY),
            ("RATES__FETCH__DAILY_BUDGET", "1"),
            ("RUST_LOG", "debug"),
        ],
    )?;
    let secret = "S3CRET-CLIENT-KEY";
    for target in [
        format!("/api/latest?access_key={secret}"),
        format!("/api/{FRIDAY}?access_key={secret}&symbols=USD"),
    ] {
        let reply = server.raw(
            format!("GET {target} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n").as_bytes(),
        )?;
        assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    }
    let log = server.wait_for_log(&format!("\"GET /api/{FRIDAY}\" 200"))?;
    assert!(log.contains("read-through: fetched"), "{log}");
    assert!(!log.contains(secret), "{log}");
    assert!(
        !log.contains(fixer_client::mock::DEFAULT_MOCK_KEY),
        "the Fixer key reached the log: {log}"
    );
    assert_eq!(mock.request_count(FRIDAY), 1);

    // The budget (1) is spent: missing dates are not held, and the reason is logged once.
    for date in [MONDAY, "2024-03-19", "2024-03-20"] {
        let reply = server.raw(
            format!("GET /rates/{date}/ HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )?;
        assert!(reply.starts_with("HTTP/1.1 404"), "{reply}");
    }
    let log = server.wait_for_log("\"GET /rates/2024-03-20/\" 404")?;
    assert_eq!(
        log.lines()
            .filter(|line| line.contains("WARN") && line.contains("budget"))
            .count(),
        1,
        "{log}"
    );
    assert_eq!(mock.total_requests(), 1);
    Ok(())
}

#[test]
#[cfg_attr(
    not(rates_test_postgres),
    ignore = "PostgreSQL skipped: RATES_TEST_POSTGRES_URL is not set"
)]
fn with_the_database_unavailable_missing_dates_are_not_fetched() -> TestResult {
    use diesel::{Connection, PgConnection, RunQueryDsl};

    let Some(database) = TestDatabase::postgres()? else {
        return Ok(());
    };
    let mock = MockFixer::start();
    let app = TestApp::start(&reading_through(database.url(), mock.base_url(), 50))?;
    // This test's database alone goes away: no new sessions, the server's ended. (The admin
    // session is on the server's maintenance database.)
    let name = database
        .url()
        .rsplit('/')
        .next()
        .ok_or("a database name")?
        .to_owned();
    let admin_url = database.url().replace(&format!("/{name}"), "/postgres");
    let mut admin = PgConnection::establish(&admin_url)?;
    let set_connections = |admin: &mut PgConnection, allowed: bool| -> TestResult {
        diesel::sql_query(format!(
            "ALTER DATABASE {name} WITH ALLOW_CONNECTIONS {allowed}"
        ))
        .execute(admin)?;
        Ok(())
    };
    set_connections(&mut admin, false)?;
    diesel::sql_query(format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
    ))
    .execute(&mut admin)?;
    let unavailable = || {
        get(&app.url("/health"))
            .map(|(_, body)| body["database"] == "unavailable")
            .unwrap_or(false)
    };
    crate::helpers::wait_until("the server to see the database gone", unavailable)?;
    for path in [format!("/rates/{FRIDAY}/"), format!("/api/{FRIDAY}")] {
        let started = Instant::now();
        let (status, body) = get(&app.url(&path))?;
        assert!(
            status == 404 || body["error"]["code"] == 106,
            "{path}: {status} {body}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{path}: {:?}",
            started.elapsed()
        );
    }
    assert_eq!(
        mock.total_requests(),
        0,
        "nothing fetched that could not be stored"
    );

    set_connections(&mut admin, true)?;
    let available = || {
        get(&app.url("/health"))
            .map(|(_, body)| body["database"] == "ok")
            .unwrap_or(false)
    };
    crate::helpers::wait_until("the server to see the database back", available)?;
    let (status, body) = get(&app.url(&format!("/rates/{FRIDAY}/")))?;
    assert_eq!(status, 200, "{body}");
    assert_eq!(mock.total_requests(), 1);
    app.stop()
}
