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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_key() {
        let key = AccessKey::new("0123456789abcdef");
        assert_eq!(format!("{key:?}"), "AccessKey(<redacted>)");
        assert_eq!(key.expose_secret(), "0123456789abcdef");
    }
}
