//! Why settings could not be loaded: every message is one line naming the key or file.

use std::path::PathBuf;

/// A setting that stops start-up. Each message is one line that names the setting (or the file)
/// and never contains the access key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    /// A key no version of the service knows, probably a typo.
    #[error("unknown setting `{key}` {origin}")]
    UnknownKey {
        /// The key as written (`database.pool_sise`, `RATES__SERVER__BINDS`).
        key: String,
        /// Where it was found, e.g. `in config/default.toml`.
        origin: String,
    },
    /// A known key whose value cannot be used.
    #[error("invalid value for `{key}` {origin}: {reason}")]
    InvalidValue {
        /// The setting, in its dotted form (`fixer.timeout_secs`).
        key: String,
        /// Where the value came from, e.g. `from environment variable RATES__FIXER__TIMEOUT_SECS`.
        origin: String,
        /// What was wrong and what is accepted.
        reason: String,
    },
    /// A value the requested operation needs but nobody set.
    #[error("`{key}` is not set: {hint}")]
    MissingValue {
        /// The setting, in its dotted form.
        key: &'static str,
        /// How to set it.
        hint: &'static str,
    },
    /// A configuration file or directory that was asked for but is not there.
    #[error("{path} not found: {reason}")]
    MissingFile {
        /// The file or directory looked for.
        path: PathBuf,
        /// Why it was expected.
        reason: String,
    },
    /// A file that exists but cannot be read.
    #[error("cannot read {path}: {source}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// A file whose syntax is wrong; only the position is given, never the line's text, which
    /// could hold a secret.
    #[error("{path}, line {line}: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The 1-based line of the error.
        line: usize,
        /// The parser's description of the problem.
        message: String,
    },
}

impl SettingsError {
    /// The setting this error is about, when it is about one.
    pub fn key(&self) -> Option<&str> {
        match self {
            SettingsError::UnknownKey { key, .. } | SettingsError::InvalidValue { key, .. } => {
                Some(key)
            }
            SettingsError::MissingValue { key, .. } => Some(key),
            SettingsError::MissingFile { .. }
            | SettingsError::Unreadable { .. }
            | SettingsError::Syntax { .. } => None,
        }
    }
}
