//! The Fixer access key, kept out of every `Debug`, log line and error message.

use std::fmt;

/// A Fixer access key.
///
/// It has no `Display` and its `Debug` prints `AccessKey(<redacted>)`, so formatting a
/// [`Settings`](crate::Settings) can never reveal it; the one way to read it is
/// [`AccessKey::expose_secret`], called where the request is built.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessKey(String);

impl AccessKey {
    /// Wraps a key as given; [`Settings::load`](crate::Settings::load) has already checked it is
    /// non-empty and free of whitespace when it comes from configuration.
    pub fn new(key: impl Into<String>) -> AccessKey {
        AccessKey(key.into())
    }

    /// The key itself, for the one place that sends it to Fixer.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AccessKey(<redacted>)")
    }
}

/// Replaces the password of a `scheme://user:password@host/...` URL with `***`, for logs and
/// `Debug`; anything else (a SQLite path) comes back unchanged.
pub fn redact_url_password(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let after_scheme = scheme_end + 3;
    let rest = url.get(after_scheme..).unwrap_or_default();
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = rest.get(..authority_end).unwrap_or_default();
    let Some(at) = authority.rfind('@') else {
        return url.to_owned();
    };
    let user_info = authority.get(..at).unwrap_or_default();
    let Some(colon) = user_info.find(':') else {
        return url.to_owned();
    };
    format!(
        "{}{}:***{}",
        url.get(..after_scheme).unwrap_or_default(),
        user_info.get(..colon).unwrap_or_default(),
        rest.get(at..).unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_key() {
        let key = AccessKey::new("0123456789abcdef");
        assert_eq!(format!("{key:?}"), "AccessKey(<redacted>)");
        assert_eq!(key.expose_secret(), "0123456789abcdef");
    }

    #[test]
    fn passwords_are_redacted_from_database_urls() {
        assert_eq!(
            redact_url_password("postgres://rates:s3cret@db.example:5432/rates?sslmode=require"),
            "postgres://rates:***@db.example:5432/rates?sslmode=require"
        );
        assert_eq!(
            redact_url_password("postgres://rates@db/rates"),
            "postgres://rates@db/rates"
        );
        assert_eq!(redact_url_password("rates.db"), "rates.db");
        assert_eq!(
            redact_url_password("sqlite://data/rates.db"),
            "sqlite://data/rates.db"
        );
        assert_eq!(
            redact_url_password("postgres://u:p@ss@host/db"),
            "postgres://u:***@host/db"
        );
    }
}
