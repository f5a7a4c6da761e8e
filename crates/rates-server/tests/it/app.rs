//! The application in-process: built from settings on a port-0 listener, stopped through its
//! stop future, as `main` does with SIGTERM.

use rates_domain::ApiKey;
use rates_settings::{Schedule, ServerAuth};
use rates_store::testing::TestDatabase;

use crate::helpers::{settings, TestApp, TestResult};

/// `GET url` → (status, body).
fn get(url: &str, headers: &[(&str, &str)]) -> TestResult<(u16, String)> {
    let mut request = ureq::get(url);
    for (name, value) in headers {
        request = request.set(name, value);
    }
    let response = match request.call() {
        Ok(response) => response,
        Err(ureq::Error::Status(_, response)) => response,
        Err(error) => return Err(error.into()),
    };
    let status = response.status();
    let content_type = response.header("content-type").map(str::to_owned);
    let body = response.into_string()?;
    crate::helpers::check_contract(url, status, content_type.as_deref(), &body)?;
    Ok((status, body))
}

#[test]
fn starts_on_a_new_empty_database_and_answers_404s() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("fresh.db");
    let app = TestApp::start(&settings(&path.display().to_string()))?;
    let (status, health) = get(&app.url("/health"), &[])?;
    assert_eq!(status, 200);
    assert!(
        health.starts_with(r#"{"status":"ok","latest_date":null,"database":"ok","#),
        "{health}"
    );
    let (status, body) = get(&app.url("/rates/latest/"), &[])?;
    assert_eq!(status, 404, "{body}");
    assert!(body.contains(r#""code":"no_rates_held""#), "{body}");
    assert!(path.is_file(), "the database file was created and migrated");
    app.stop()
}

#[test]
fn two_applications_on_port_0_get_ports_of_their_own() -> TestResult {
    let database = TestDatabase::sqlite()?;
    let first = TestApp::start(&settings(database.url()))?;
    let second = TestApp::start(&settings(database.url()))?;
    assert_ne!(first.url(""), second.url(""));
    for app in [&first, &second] {
        assert_eq!(get(&app.url("/health"), &[])?.0, 200);
    }
    Ok(())
}

#[test]
fn stopping_writes_the_api_key_uses_counted_in_memory() -> TestResult {
    let database = TestDatabase::sqlite()?;
    let key = ApiKey::from_random_bytes([9; rates_domain::API_KEY_BYTES]);
    database
        .store()
        .insert_api_key("ops", key.hash().as_str())?;
    let mut settings = settings(database.url());
    settings.server.auth = ServerAuth::ApiKey;
    let app = TestApp::start(&settings)?;
    assert_eq!(get(&app.url("/currencies/"), &[])?.0, 401);
    for _ in 0..3 {
        let (status, body) = get(
            &app.url("/currencies/"),
            &[("X-API-Key", key.expose_secret())],
        )?;
        assert_eq!(status, 200, "{body}");
    }
    app.stop()?;
    let keys = database.store().list_api_keys()?;
    assert_eq!(keys.first().map(|key| key.use_count), Some(3));
    Ok(())
}

#[test]
fn build_refuses_settings_the_server_cannot_work_with_naming_the_setting() -> TestResult {
    let database = TestDatabase::sqlite()?;
    let mut bad_base = settings(database.url());
    bad_base.ingest.base = "euro".to_owned();
    let mut schedule_without_key = settings(database.url());
    schedule_without_key.ingest.schedule = Schedule::Every(std::time::Duration::from_secs(3600));
    for (settings, expected) in [
        (bad_base, "ingest.base"),
        (schedule_without_key, "fixer.access_key"),
    ] {
        let Err(error) = TestApp::start(&settings) else {
            return Err(format!("started without {expected}").into());
        };
        let mut message = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            message.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        assert!(message.contains(expected), "{expected}: {message}");
    }
    Ok(())
}
