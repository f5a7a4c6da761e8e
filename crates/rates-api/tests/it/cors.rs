//! CORS: GET from any origin by default, or only from configured origins.

use rates_api::CorsPolicy;
use rates_store::testing::TestDatabase;

use crate::helpers::{load_sample, spawn_app, spawn_app_on, test_config, TestResult};

#[test]
fn any_origin_may_read_by_default() -> TestResult {
    let app = spawn_app()?;
    let reply = app.get_with("/rates/2024-01-02/", &[("Origin", "https://example.org")])?;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
    let exposed = reply
        .header("access-control-expose-headers")
        .unwrap_or_default()
        .to_ascii_lowercase();
    assert!(
        exposed.contains("etag") && exposed.contains("last-modified"),
        "{exposed}"
    );
    // Errors carry the header too, so a browser can read them.
    let reply = app.get_with("/rates/2024-13-01/", &[("Origin", "https://example.org")])?;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.header("access-control-allow-origin"), Some("*"));
    Ok(())
}

#[test]
fn preflights_allow_get_and_refuse_other_methods_in_json() -> TestResult {
    let app = spawn_app()?;
    let allowed = app.request(
        "OPTIONS",
        "/rates/2024-01-02/",
        &[
            ("Origin", "https://example.org"),
            ("Access-Control-Request-Method", "GET"),
            ("Access-Control-Request-Headers", "authorization, x-api-key"),
        ],
    )?;
    assert_eq!(allowed.status, 200, "{}", allowed.body);
    assert!(allowed
        .header("access-control-allow-methods")
        .is_some_and(|methods| methods.contains("GET")));
    let refused = app.request(
        "OPTIONS",
        "/rates/2024-01-02/",
        &[
            ("Origin", "https://example.org"),
            ("Access-Control-Request-Method", "DELETE"),
        ],
    )?;
    assert_eq!(refused.status, 400);
    assert_eq!(refused.error_code()?, "cors_rejected");
    Ok(())
}

#[test]
fn configured_origins_only() -> TestResult {
    let database = TestDatabase::sqlite()?;
    load_sample(database.store())?;
    let mut config = test_config();
    config.cors = CorsPolicy::Origins(vec!["https://app.example.org".to_owned()]);
    let app = spawn_app_on(database, config)?;
    let reply = app.get_with("/currencies/", &[("Origin", "https://app.example.org")])?;
    assert_eq!(
        reply.header("access-control-allow-origin"),
        Some("https://app.example.org")
    );
    let reply = app.get_with("/currencies/", &[("Origin", "https://evil.example.com")])?;
    assert_eq!(reply.status, 200, "answered, without CORS headers");
    assert!(reply.header("access-control-allow-origin").is_none());
    Ok(())
}

#[test]
fn answers_to_requests_without_origin_carry_no_browser_only_headers() -> TestResult {
    let app = spawn_app()?;
    for path in ["/rates/2024-01-02/", "/currencies", "/rates/2024-01-02/"] {
        // The second day answer comes from the worker's cache of targets.
        let plain = app.get(path)?;
        assert_eq!(plain.status, 200);
        assert_eq!(
            plain.header("access-control-expose-headers"),
            None,
            "{path}"
        );
        assert_eq!(plain.header("access-control-allow-origin"), None, "{path}");
        let vary = plain.header("vary").unwrap_or_default();
        assert!(
            vary.split(", ").any(|name| name == "Origin")
                && !vary.contains("Access-Control-Request"),
            "{path}: {vary}"
        );
    }
    let from_browser = app.get_with("/rates/2024-01-02/", &[("Origin", "https://example.org")])?;
    assert!(from_browser
        .header("access-control-expose-headers")
        .is_some_and(|exposed| exposed.contains("etag")));
    assert!(from_browser
        .header("vary")
        .is_some_and(|vary| vary.contains("Origin")));
    Ok(())
}
