//! The access key never shows in Display, Debug, error messages or log lines.

use std::sync::{Mutex, Once};
use std::time::Duration;

use fixer_client::mock::{Fault, MockFixer, MockHost};
use fixer_client::{AccessKey, ConvertRequest, CurrencyCode, Error, RatesOptions};
use time::OffsetDateTime;

use crate::helpers::{all_text, assert_hidden, code, day, quick_policy, TestResult};

const KEY: &str = "s3cr3t-redaction-key-7f9a";

/// Every log line written during the tests.
static LINES: Mutex<Vec<(String, log::Level, String)>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &log::Record<'_>) {
        let line = format!("{} {}", record.level(), record.args());
        let entry = (record.target().to_owned(), record.level(), line);
        LINES
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(entry);
    }
    fn flush(&self) {}
}

fn capture_logs() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        if log::set_logger(&Capture).is_ok() {
            log::set_max_level(log::LevelFilter::Trace);
        }
    });
}

fn mock(host: MockHost) -> MockFixer {
    MockFixer::builder().host(host).access_key(KEY).start()
}

fn check(error: &Error, what: &str) {
    assert_hidden(&all_text(error), KEY, what);
}

#[test]
fn no_error_path_shows_the_key() -> TestResult {
    capture_logs();
    for host in [MockHost::Classic, MockHost::ApiLayer] {
        let mock = mock(host);
        let client = mock
            .client_builder()
            .retry_policy(quick_policy(2))
            .build()?;
        let options = RatesOptions::new();
        let faults: Vec<(&str, Fault)> = vec![
            ("fixer error", Fault::fixer(104)),
            ("https 105", Fault::fixer_typed(105, "https_access_restricted")),
            ("gateway", Fault::Gateway { status: 403, message: "You cannot consume this service".into(), retry_after: None }),
            ("http status", Fault::status(404)),
            ("exhausted 5xx", Fault::status(503)),
            ("malformed", Fault::MalformedBody),
            ("truncated", Fault::TruncatedBody),
            ("body echoing the key", Fault::Body { status: 200, body: format!("{{\"success\":false,\"error\":{{\"code\":101,\"info\":\"bad key {KEY}\"}}}}") }),
            ("http body echoing the key", Fault::Body { status: 400, body: format!("no such key {KEY} in /latest?access_key={KEY}") }),
            ("gateway echoing the key", Fault::Body { status: 401, body: format!("{{\"message\":\"key {KEY} unknown\"}}") }),
        ];
        for (what, fault) in faults {
            mock.fail_next(2, fault);
            let error = client
                .latest(&options)
                .err()
                .ok_or_else(|| format!("{what}: no error"))?;
            check(&error, what);
            mock.clear_faults();
        }
        let error = client
            .historical(
                OffsetDateTime::now_utc().date() + time::Duration::days(1),
                &options,
            )
            .err()
            .ok_or("future date accepted")?;
        check(&error, "invalid request");
        let error = client
            .convert(&ConvertRequest::new(code("XYZ"), CurrencyCode::EUR, 1.0))
            .err()
            .ok_or("unknown currency accepted")?;
        check(&error, "402 from the server");

        let slow = mock
            .client_builder()
            .timeout(Duration::from_millis(100))
            .retry_policy(quick_policy(2))
            .build()?;
        mock.fail_next(2, Fault::Delay(Duration::from_millis(400)));
        let error = slow.symbols().err().ok_or("no timeout")?;
        check(&error, "timeout");
        assert_hidden(&format!("{slow:?}"), KEY, "client Debug");

        let wrong = mock
            .client_builder()
            .access_key(AccessKey::new(format!("{KEY}-wrong")))
            .build()?;
        let error = wrong.symbols().err().ok_or("wrong key accepted")?;
        check(&error, "wrong key");

        let base_url = mock.base_url().to_owned();
        drop(mock);
        let gone = fixer_client::Client::builder()
            .base_url(base_url)
            .access_key(AccessKey::new(KEY))
            .retry_policy(quick_policy(2))
            .build()?;
        let error = gone
            .historical(day("2024-03-15")?, &options)
            .err()
            .ok_or("dropped mock answered")?;
        check(&error, "connection refused");
    }
    let lines = LINES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    assert!(
        lines
            .iter()
            .any(|(_, _, line)| line.contains("access_key=REDACTED")),
        "debug lines show redacted URLs"
    );
    for (target, level, line) in lines.iter() {
        if target.starts_with(fixer_client::HTTP_LOG_TARGET) {
            // The HTTP library logs whole URLs; the documented cap at `info` must hide them all.
            assert!(
                *level > log::Level::Info,
                "{target} logs at {level}: {line}"
            );
        } else {
            assert_hidden(line, KEY, "a log line");
        }
    }
    Ok(())
}

#[test]
fn configuration_errors_do_not_show_the_key() {
    let with_space = format!("{KEY} x");
    let error = fixer_client::Client::builder()
        .access_key(AccessKey::new(with_space.clone()))
        .build()
        .err();
    let error = error.map(|e| all_text(&e)).unwrap_or_default();
    assert!(error.contains("access key"), "{error}");
    assert_hidden(&error, KEY, "configuration error");
}

#[test]
fn access_key_debug_is_redacted() {
    let key = AccessKey::new(KEY);
    assert_hidden(&format!("{key:?}"), KEY, "AccessKey Debug");
    assert_eq!(key.expose(), KEY);
}
