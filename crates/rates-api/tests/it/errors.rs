//! Every error status with its JSON body, and hostile input that must each get a 4xx JSON answer.

use crate::helpers::{spawn_app, TestResult};

/// (path, expected status, expected code)
const CASES: &[(&str, u16, &str)] = &[
    ("/rates/2024-13-01/", 400, "invalid_date"),
    ("/rates/2024-02-30/", 400, "invalid_date"),
    ("/rates/99999-01-01/", 400, "invalid_date"),
    ("/rates/2024-1-2/", 400, "invalid_date"),
    ("/rates/yesterday/", 400, "invalid_date"),
    ("/rates/2024-01-05..2024-01-02/", 400, "invalid_range"),
    ("/rates/2024-01-02../", 400, "invalid_range"),
    ("/rates/2000-01-01..2024-01-01/", 400, "range_too_long"),
    ("/rates/2024-01-02/?base=US", 400, "invalid_currency"),
    (
        "/rates/2024-01-02/?symbols=USD,G1P",
        400,
        "invalid_currency",
    ),
    (
        "/rates/2024-01-02/?symbols=;DROP%20TABLE%20rates",
        400,
        "invalid_currency",
    ),
    (
        "/rates/2024-01-02/?symbols=%3BDROP+TABLE+rates",
        400,
        "invalid_currency",
    ),
    ("/rates/2024-01-02/?fallback=next", 400, "invalid_query"),
    ("/rates/2024-01-02/?symbol=USD", 400, "invalid_query"),
    ("/rates/2024-01-02/?base=USD&base=GBP", 400, "invalid_query"),
    ("/convert?from=USD&to=GBP", 400, "invalid_query"),
    ("/convert?from=USD&to=GBP&amount=ten", 400, "invalid_amount"),
    ("/convert?from=USD&to=GBP&amount=NaN", 400, "invalid_amount"),
    (
        "/convert?from=USD&to=GBP&amount=1e999",
        400,
        "invalid_amount",
    ),
    // A valid amount whose result does not fit in an f64.
    (
        "/convert?from=JPY&to=IDR&amount=1e308&date=2024-01-02",
        422,
        "unrepresentable_value",
    ),
    (
        "/convert?from=USD&to=GBP&amount=1&date=2024-02-30",
        400,
        "invalid_date",
    ),
    (
        "/convert?from=USDX&to=GBP&amount=1",
        400,
        "invalid_currency",
    ),
    ("/currencies/?x=1", 400, "invalid_query"),
    ("/rates/2024-01-06/", 404, "date_not_found"),
    ("/rates/1999-01-01/", 404, "date_not_found"),
    ("/rates/2024-01-02/?base=XAU", 404, "currency_not_found"),
    (
        "/rates/2024-01-02/?symbols=USD,EEK",
        404,
        "currency_not_found",
    ),
    (
        "/rates/2009-01-02..2024-01-02/?symbols=EEK",
        400,
        "range_too_long",
    ),
    (
        "/rates/2023-12-29..2024-01-02/?base=CYP",
        404,
        "currency_not_found",
    ),
    (
        "/convert?from=USD&to=CYP&amount=1",
        404,
        "currency_not_found",
    ),
    ("/assets/", 404, "route_not_found"),
    ("/index.html", 404, "route_not_found"),
    ("/rates/", 404, "route_not_found"),
    ("/rates/2024-01-02/extra", 404, "route_not_found"),
    ("/apis/latest", 404, "route_not_found"),
];

#[test]
fn each_error_has_its_status_and_json_body() -> TestResult {
    let app = spawn_app()?;
    for (path, status, code) in CASES {
        let reply = app.get(path)?;
        assert_eq!(reply.status, *status, "{path}: {}", reply.body);
        assert_eq!(reply.error_code()?, *code, "{path}: {}", reply.body);
        assert_eq!(
            reply.header("content-type"),
            Some("application/json"),
            "{path}"
        );
    }
    Ok(())
}

#[test]
fn a_currency_not_held_is_named() -> TestResult {
    let app = spawn_app()?;
    let message = app
        .get("/rates/2024-01-02/?symbols=USD,EEK")?
        .error_message()?;
    assert!(
        message.contains("EEK") && message.contains("2024-01-02"),
        "{message}"
    );
    // EEK is held on 2009-01-02.
    let reply = app.get("/rates/2009-01-02/?symbols=EEK")?;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.json()?["rates"]["EEK"], 15.6466);
    Ok(())
}

#[test]
fn other_methods_get_405_with_allow() -> TestResult {
    let app = spawn_app()?;
    for method in ["POST", "PUT", "DELETE", "PATCH"] {
        for path in ["/rates/2024-01-02/", "/currencies/", "/convert", "/health"] {
            let reply = app.request(method, path, &[])?;
            assert_eq!(reply.status, 405, "{method} {path}");
            assert_eq!(reply.error_code()?, "method_not_allowed");
            assert_eq!(reply.header("allow"), Some("GET, HEAD"));
        }
    }
    Ok(())
}

#[test]
fn hostile_inputs_each_get_a_4xx_json_answer() -> TestResult {
    let app = spawn_app()?;
    let long_path = format!("/rates/{}", "9".repeat(10 * 1024));
    let long_query = format!("/rates/2024-01-02/?symbols={}", "USD,".repeat(2000));
    let targets: Vec<Vec<u8>> = vec![
        b"/rates/2024-13-01/".to_vec(),
        b"/rates/2024-02-30/".to_vec(),
        b"/rates/99999-01-01/".to_vec(),
        b"/rates/../".to_vec(),
        b"/rates/..".to_vec(),
        b"/rates/../../etc/passwd".to_vec(),
        b"/rates/%2e%2e/".to_vec(),
        b"/rates/%00/".to_vec(),
        b"/rates/2024-01-02%00/".to_vec(),
        b"/rates/%FF%FE/".to_vec(),
        b"/rates/%/".to_vec(),
        b"/rates/2024-01-02/?symbols=%00".to_vec(),
        b"/rates/2024-01-02/?symbols=;DROP%20TABLE%20rates".to_vec(),
        b"/rates/2024-01-02/?base='%20OR%201=1--".to_vec(),
        b"/rates/2024-01-02/?%ZZ=1".to_vec(),
        b"/rates/2024-01-02/?&&&===".to_vec(),
        // Unicode as clients send it, percent-encoded: an Arabic-Indic digit, an emoji, Ü.
        b"/rates/2024-01-0%D9%A2/".to_vec(),
        b"/rates/%F0%9F%92%B6/".to_vec(),
        b"/rates/2024-01-02/?base=%C3%9CSD".to_vec(),
        b"/rates/2024-01-02/?symbols=%C3%9CSD,USD".to_vec(),
        "/rates/2024-01-02/?symbols=%E2%82%AC%E2%82%AC%E2%82%AC"
            .as_bytes()
            .to_vec(),
        b"/convert?from=USD&to=GBP&amount=-0x1p3".to_vec(),
        b"/convert?from=USD&to=GBP&amount=1&amount=2".to_vec(),
        b"/rates/-2024-01-02/".to_vec(),
        b"/rates/+2024-01-02/".to_vec(),
        b"/rates/2024-01-02..2024-01-03..2024-01-04/".to_vec(),
        b"/rates/0000-00-00/".to_vec(),
        b"/rates/latest..2024-01-01/".to_vec(),
        b"//rates//2024-01-02//".to_vec(),
        b"/rates/2024-01-02/;jsessionid=1".to_vec(),
        long_path.into_bytes(),
        long_query.into_bytes(),
    ];
    for target in targets {
        let shown = String::from_utf8_lossy(&target)
            .chars()
            .take(60)
            .collect::<String>();
        let reply = app.raw_get(&target)?;
        assert!(
            (400..500).contains(&reply.status),
            "{shown}: status {} {}",
            reply.status,
            reply.body
        );
        let code = reply
            .error_code()
            .map_err(|error| format!("{shown}: {error}: {} {:?}", reply.status, reply.body))?;
        assert!(!code.is_empty(), "{shown}");
    }
    // Raw non-ASCII bytes in the request line never reach the app: actix-http's parser refuses
    // them with a bare 400 of its own.
    let reply = app.raw_get("/rates/2024-01-0\u{0662}/".as_bytes())?;
    assert_eq!(reply.status, 400);
    // The server is still answering after all of that.
    assert_eq!(app.get("/rates/2024-01-02/")?.status, 200);
    Ok(())
}

#[test]
fn over_long_targets_get_a_json_414_up_to_what_actix_reads() -> TestResult {
    let app = spawn_app()?;
    // Everything from the limit to the longest target actix-http parses (65,534 bytes).
    for length in [2049, 10 * 1024, 32 * 1024, 48 * 1024, 65_534] {
        let target = format!("/{}", "a".repeat(length - 1));
        let reply = app.raw_get(target.as_bytes())?;
        assert_eq!(reply.status, 414, "{length} bytes: {}", reply.body);
        assert_eq!(reply.error_code()?, "uri_too_long", "{length} bytes");
    }
    // Longer targets are refused by actix-http's parser before the app sees them: a 400 with
    // an empty body, as docs/api.md says.
    let reply = app.raw_get(format!("/{}", "a".repeat(65_535)).as_bytes())?;
    assert_eq!((reply.status, reply.body.as_str()), (400, ""));
    Ok(())
}

/// `GET /health` with one extra header whose value is `bytes` long.
fn health_with_header_of(bytes: usize) -> Vec<u8> {
    format!(
        "GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nX-Padding: {}\r\n\r\n",
        "p".repeat(bytes)
    )
    .into_bytes()
}

#[test]
fn header_sections_over_32_kib_get_a_json_431() -> TestResult {
    let app = spawn_app()?;
    let reply = app.raw(&health_with_header_of(30 * 1024))?;
    assert_eq!(reply.status, 200, "{}", reply.body);
    // Up to about what actix-http buffers (a 131,000-byte header used to be accepted).
    for bytes in [33 * 1024, 100_000, 125_000] {
        let reply = app.raw(&health_with_header_of(bytes))?;
        assert_eq!(reply.status, 431, "{bytes} bytes: {}", reply.body);
        assert_eq!(reply.error_code()?, "headers_too_large", "{bytes} bytes");
    }
    // Before any route, the Fixer-compatible API's included.
    let reply = app.raw(
        format!(
            "GET /api/latest HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nX-Padding: {}\r\n\r\n",
            "p".repeat(33 * 1024)
        )
        .as_bytes(),
    )?;
    assert_eq!(reply.status, 431, "{}", reply.body);
    assert_eq!(reply.error_code()?, "headers_too_large");
    // A head with more than 96 headers is refused by actix-http before the app runs: a 431
    // with an empty body. (So is a head over 128 KiB, but then actix-http closes the connection
    // with part of the request unread, and the reset may reach the client before the answer.)
    let many: String = (0..97).map(|n| format!("X-H{n}: 1\r\n")).collect();
    let reply = app.raw(
        format!("GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{many}\r\n")
            .as_bytes(),
    )?;
    assert_eq!((reply.status, reply.body.as_str()), (431, ""));
    Ok(())
}

/// actix-http's own timeout for a request head (5 s, `HttpServer::client_request_timeout`):
/// a 408 with an empty body, then the connection is closed.
#[test]
fn a_request_head_not_finished_in_time_gets_actix_https_bare_408() -> TestResult {
    let app = spawn_app()?;
    let reply = app.raw(b"GET /health HTTP/1.1\r\nHost: localhost\r\n")?;
    assert_eq!((reply.status, reply.body.as_str()), (408, ""));
    Ok(())
}

#[test]
fn targets_outside_every_route_get_a_json_404() -> TestResult {
    let app = spawn_app()?;
    for request in [
        &b"OPTIONS * HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"[..],
        b"GET * HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
    ] {
        let reply = app.raw(request)?;
        assert_eq!(reply.status, 404, "{}", reply.body);
        assert_eq!(reply.error_code()?, "route_not_found");
    }
    Ok(())
}

/// What actix-http answers itself, before any of the app's code runs, is what docs/api.md
/// says: a 400 with an empty body for a request line it cannot parse.
#[test]
fn malformed_request_lines_get_actix_https_bare_400() -> TestResult {
    let app = spawn_app()?;
    for request in [
        &b"GET /health HTTP/1.1 extra\r\nHost: localhost\r\n\r\n"[..],
        b"G\x01T /health HTTP/1.1\r\nHost: localhost\r\n\r\n",
        b"GET /health HTTP/9.9\r\nHost: localhost\r\n\r\n",
        b"GET /hea lth HTTP/1.1\r\nHost: localhost\r\n\r\n",
        b"GET /health HTTP/1.1\r\nBad Header: 1\r\n\r\n",
        b"GET /health HTTP/1.1\r\n\r\n",
        b"\r\n\r\n\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
    ] {
        let reply = app.raw(request)?;
        assert_eq!(
            (reply.status, reply.body.as_str()),
            (400, ""),
            "{:?}",
            String::from_utf8_lossy(request)
        );
    }
    Ok(())
}

#[test]
fn a_broken_database_leaves_every_read_answered_from_memory() -> TestResult {
    for database in rates_store::testing::TestDatabase::all()? {
        let url = database.url().to_owned();
        crate::helpers::load_sample(database.store())?;
        let app = crate::helpers::spawn_app_on(database, crate::helpers::test_config())?;
        let before = app.get("/rates/2024-01-02/")?;
        // Break the database under the running server.
        break_database(&url)?;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        loop {
            let health = app.get("/health")?;
            assert_eq!(health.status, 200, "{}", health.body);
            if health.json()?["database"] == "unavailable" {
                break;
            }
            if std::time::Instant::now() > deadline {
                return Err(format!("still healthy: {}", health.body).into());
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        for path in [
            "/rates/2024-01-03/",
            "/rates/latest",
            "/rates/2024-01-01..2024-01-10/?base=USD",
            "/currencies/",
            "/convert?from=USD&to=GBP&amount=1",
        ] {
            let reply = app.get(path)?;
            assert_eq!(reply.status, 200, "{path}: {}", reply.body);
        }
        let after = app.get("/rates/2024-01-02/")?;
        assert_eq!(after.body, before.body);
        assert_eq!(
            app.get("/rates/2024-01-06/")?.error_code()?,
            "date_not_found"
        );
    }
    Ok(())
}

/// Drops the tables every query needs.
fn break_database(url: &str) -> TestResult {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    let statements = "DROP TABLE rate_revisions; DROP TABLE rates; DROP TABLE currencies; DROP TABLE data_version;";
    if url.starts_with("postgres") {
        diesel::PgConnection::establish(url)?.batch_execute(statements)?;
    } else {
        let path = url.trim_start_matches("sqlite://");
        diesel::SqliteConnection::establish(path)?.batch_execute(statements)?;
    }
    Ok(())
}
