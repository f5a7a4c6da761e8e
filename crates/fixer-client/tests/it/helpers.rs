//! Shared set-up for the integration tests.

use std::time::Duration;

use fixer_client::mock::MockFixer;
use fixer_client::{Client, CurrencyCode, RetryPolicy};
use time::Date;

/// What every test returns.
pub type TestResult = Result<(), Box<dyn std::error::Error>>;

/// A currency code from a literal known to be valid.
pub fn code(text: &str) -> CurrencyCode {
    CurrencyCode::new(text).unwrap_or(CurrencyCode::EUR)
}

/// A date from `YYYY-MM-DD`.
pub fn day(text: &str) -> Result<Date, Box<dyn std::error::Error>> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Ok(Date::parse(text, format)?)
}

/// A policy with tiny back-off so retry tests stay fast.
pub fn quick_policy(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        initial_backoff: Duration::from_millis(2),
        max_backoff: Duration::from_millis(8),
        max_elapsed: Duration::from_secs(10),
    }
}

/// A client for `mock` with a given retry policy.
pub fn client_with(mock: &MockFixer, policy: RetryPolicy) -> Result<Client, fixer_client::Error> {
    mock.client_builder().retry_policy(policy).build()
}

/// Asserts that `text` does not contain `secret`, naming what leaked.
pub fn assert_hidden(text: &str, secret: &str, what: &str) {
    assert!(!secret.is_empty());
    assert!(
        !text.contains(secret),
        "{what} leaks the access key: {text}"
    );
}

/// Display, Debug and every source of an error, for leak checks.
pub fn all_text(error: &dyn std::error::Error) -> String {
    let mut text = format!("{error}\n{error:?}");
    let mut source = error.source();
    while let Some(inner) = source {
        text.push_str(&format!("\n{inner}\n{inner:?}"));
        source = inner.source();
    }
    text
}
