//! `server.auth = "api-key"`: keys by header, 401s, revocation without restart, batched use.

use std::time::{Duration, Instant};

use rates_api::{ApiConfig, ApiState, AuthConfig, AuthMode};
use rates_domain::{ApiKey, API_KEY_BYTES};
use rates_store::testing::TestDatabase;

use crate::helpers::{load_sample, spawn_app_on, test_config, TestApp, TestResult};

fn config() -> ApiConfig {
    let mut config = test_config();
    config.auth = AuthMode::ApiKey;
    config.key_checks = AuthConfig {
        usage_flush_interval: Duration::from_secs(3600),
    };
    config
}

/// An app requiring keys, with one key created; returns the key and its id.
fn app_with_key() -> TestResult<(TestApp, ApiKey, i64)> {
    let database = TestDatabase::sqlite()?;
    load_sample(database.store())?;
    let key = ApiKey::from_random_bytes([42; API_KEY_BYTES]);
    let record = database
        .store()
        .insert_api_key("tests", key.hash().as_str())?;
    let app = spawn_app_on(database, config())?;
    Ok((app, key, record.id))
}

#[test]
fn a_key_is_needed_everywhere_but_health() -> TestResult {
    let (app, _key, _) = app_with_key()?;
    for path in [
        "/rates/2024-01-02/",
        "/rates/latest",
        "/currencies/",
        "/convert?from=USD&to=GBP&amount=1",
        "/nope",
    ] {
        let reply = app.get(path)?;
        assert_eq!(reply.status, 401, "{path}: {}", reply.body);
        assert_eq!(reply.error_code()?, "unauthorized");
        assert!(reply.error_message()?.contains("X-API-Key"));
        assert!(reply.header("www-authenticate").is_some());
    }
    assert_eq!(app.get("/health")?.status, 200);
    assert_eq!(app.get("/health/")?.status, 200);
    Ok(())
}

#[test]
fn a_valid_key_works_in_either_header() -> TestResult {
    let (app, key, _) = app_with_key()?;
    let bearer = format!("Bearer {}", key.expose_secret());
    let reply = app.get_with(
        "/rates/2024-01-02/?symbols=USD",
        &[("Authorization", &bearer)],
    )?;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert!(reply.body.contains(r#""USD":1.0956"#));
    let reply = app.get_with(
        "/rates/2024-01-02/?symbols=USD",
        &[("X-API-Key", key.expose_secret())],
    )?;
    assert_eq!(reply.status, 200);
    Ok(())
}

#[test]
fn unknown_and_malformed_keys_are_refused() -> TestResult {
    let (app, key, _) = app_with_key()?;
    let other = ApiKey::from_random_bytes([7; API_KEY_BYTES]);
    let almost = format!("{}x", key.expose_secret());
    for headers in [
        vec![("X-API-Key", other.expose_secret())],
        vec![("X-API-Key", almost.as_str())],
        vec![("Authorization", "Basic dXNlcjpwYXNz")],
        vec![("Authorization", "Bearer")],
    ] {
        let reply = app.get_with("/rates/2024-01-02/", &headers)?;
        assert_eq!(reply.status, 401, "{headers:?}");
        assert_eq!(reply.error_code()?, "unauthorized");
        assert!(!reply.body.contains(key.expose_secret()));
    }
    Ok(())
}

#[test]
fn a_revoked_key_stops_working_within_seconds_without_a_restart() -> TestResult {
    let (app, key, id) = app_with_key()?;
    let headers = [("X-API-Key", key.expose_secret())];
    assert_eq!(app.get_with("/currencies/", &headers)?.status, 200);
    assert!(app.store().revoke_api_key(id)?);
    let revoked_at = Instant::now();
    loop {
        let reply = app.get_with("/currencies/", &headers)?;
        if reply.status == 401 {
            assert!(reply.error_message()?.contains("revoked"));
            break;
        }
        assert_eq!(reply.status, 200);
        if revoked_at.elapsed() > Duration::from_secs(5) {
            return Err("the revoked key still worked after 5 s".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // The refresher reads the keys every second by default.
    assert!(revoked_at.elapsed() < Duration::from_secs(2));
    assert!(
        app.state.reused_answers() > 0,
        "the key is checked even for an answer served from memory by URL"
    );
    Ok(())
}

#[test]
fn keys_are_checked_in_memory_while_the_database_is_gone() -> TestResult {
    let (app, key, _) = app_with_key()?;
    let headers = [("X-API-Key", key.expose_secret())];
    let url = app.database.url().to_owned();
    {
        use diesel::connection::SimpleConnection;
        use diesel::Connection;
        diesel::SqliteConnection::establish(&url)?
            .batch_execute("DROP TABLE api_keys; DROP TABLE data_version;")?;
    }
    let started = Instant::now();
    while app.get("/health")?.json()?["database"] != "unavailable" {
        if started.elapsed() > Duration::from_secs(2) {
            return Err("the database still looks available".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(app.get_with("/rates/2024-01-02/", &headers)?.status, 200);
    assert_eq!(app.get("/rates/2024-01-02/")?.status, 401);
    Ok(())
}

#[test]
fn uses_are_counted_in_memory_and_written_in_one_batch() -> TestResult {
    let database = TestDatabase::sqlite()?;
    load_sample(database.store())?;
    let key = ApiKey::from_random_bytes([9; API_KEY_BYTES]);
    database
        .store()
        .insert_api_key("batch", key.hash().as_str())?;
    let state = ApiState::start(database.store().clone(), config())?;
    let app = crate::helpers::spawn_app_with_state(database, state.clone())?;
    let headers = [("X-API-Key", key.expose_secret())];
    for _ in 0..3 {
        assert_eq!(app.get_with("/rates/2024-01-02/", &headers)?.status, 200);
    }
    let before = app.store().list_api_keys()?;
    assert_eq!(
        before.first().map(|record| record.use_count),
        Some(0),
        "no write per request"
    );
    state.flush_key_usage()?;
    let after = app.store().list_api_keys()?;
    let record = after.first().ok_or("no key")?;
    assert_eq!(record.use_count, 3);
    assert!(record.last_used_at.is_some());
    Ok(())
}

#[test]
fn counted_uses_are_written_in_the_background_when_due() -> TestResult {
    let database = TestDatabase::sqlite()?;
    let key = ApiKey::from_random_bytes([3; API_KEY_BYTES]);
    database
        .store()
        .insert_api_key("background", key.hash().as_str())?;
    let mut config = config();
    config.key_checks.usage_flush_interval = Duration::ZERO;
    let app = spawn_app_on(database, config)?;
    let headers = [("X-API-Key", key.expose_secret())];
    for _ in 0..2 {
        assert_eq!(app.get_with("/currencies/", &headers)?.status, 200);
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let count = app
            .store()
            .list_api_keys()?
            .first()
            .map_or(0, |record| record.use_count);
        if count == 2 {
            return Ok(());
        }
        if std::time::Instant::now() > deadline {
            return Err(format!("use count stayed at {count}").into());
        }
        // Each request may start the write of what was counted before it.
        assert_eq!(app.get("/health")?.status, 200);
        std::thread::sleep(Duration::from_millis(20));
    }
}
