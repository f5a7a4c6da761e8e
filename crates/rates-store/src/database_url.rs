//! Choosing the backend from a database URL, and describing a URL without its credentials.

use std::path::PathBuf;

use crate::error::{Backend, StoreError};

/// A parsed database location.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum DatabaseUrl {
    /// A SQLite file path (the `sqlite://` prefix, if any, removed).
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL, passed to libpq as given.
    Postgres(String),
}

impl DatabaseUrl {
    pub(crate) fn parse(url: &str) -> Result<DatabaseUrl, StoreError> {
        let url = url.trim();
        if url.is_empty() {
            return Err(invalid(
                "it is empty; give a SQLite file path (e.g. sqlite://data/rates.sqlite3) or a postgres:// URL",
            ));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(url.to_owned()));
        }
        let path = url.strip_prefix("sqlite://").unwrap_or(url);
        if let Some((scheme, _)) = path.split_once("://") {
            return Err(invalid(&format!(
                "the scheme {scheme:?} is not supported; use a SQLite file path, sqlite://PATH, postgres:// or postgresql://"
            )));
        }
        if path.is_empty() {
            return Err(invalid("sqlite:// must be followed by a file path"));
        }
        if path == ":memory:" || path.starts_with("file::memory:") {
            return Err(invalid(
                "an in-memory SQLite database would differ per pooled connection; give a file path",
            ));
        }
        Ok(DatabaseUrl::Sqlite(PathBuf::from(path)))
    }

    pub(crate) fn backend(&self) -> Backend {
        match self {
            DatabaseUrl::Sqlite(_) => Backend::Sqlite,
            DatabaseUrl::Postgres(_) => Backend::Postgres,
        }
    }

    /// The location without user name or password, for messages and logs.
    pub(crate) fn describe(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(path) => format!("file {}", path.display()),
            DatabaseUrl::Postgres(url) => redact_postgres_url(url),
        }
    }
}

/// Shows the redacted form, so a password never reaches a log through `{:?}`.
impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DatabaseUrl({})", self.describe())
    }
}

fn invalid(reason: &str) -> StoreError {
    StoreError::InvalidUrl {
        reason: reason.to_owned(),
    }
}

/// `postgres://user:secret@host:5432/db?sslmode=require` → `postgres://host:5432/db`.
pub(crate) fn redact_postgres_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "(unparseable URL)".to_owned();
    };
    let without_query = rest.split(['?', '#']).next().unwrap_or_default();
    let (authority, path) = match without_query.find('/') {
        Some(slash) => without_query.split_at(slash),
        None => (without_query, ""),
    };
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    format!("{scheme}://{host}{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_schemes_select_postgres() {
        for url in ["postgres://u@h/db", "postgresql://h/db"] {
            assert_eq!(
                DatabaseUrl::parse(url).unwrap().backend(),
                Backend::Postgres
            );
        }
    }

    #[test]
    fn paths_with_or_without_prefix_select_sqlite() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://data/rates.db").unwrap(),
            DatabaseUrl::Sqlite(PathBuf::from("data/rates.db"))
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///var/lib/rates.db").unwrap(),
            DatabaseUrl::Sqlite(PathBuf::from("/var/lib/rates.db"))
        );
        assert_eq!(
            DatabaseUrl::parse("rates.db").unwrap(),
            DatabaseUrl::Sqlite(PathBuf::from("rates.db"))
        );
    }

    #[test]
    fn unusable_urls_are_rejected_with_a_reason() {
        for (url, expected) in [
            ("", "empty"),
            ("mysql://h/db", "\"mysql\" is not supported"),
            ("sqlite://", "followed by a file path"),
            (":memory:", "in-memory"),
        ] {
            let message = DatabaseUrl::parse(url).unwrap_err().to_string();
            assert!(message.contains(expected), "{url}: {message}");
        }
    }

    #[test]
    fn descriptions_hide_credentials() {
        let url =
            DatabaseUrl::parse("postgres://rates:hunter2@db.internal:5432/rates?sslmode=require")
                .unwrap();
        assert_eq!(url.describe(), "postgres://db.internal:5432/rates");
        assert_eq!(redact_postgres_url("postgres://h"), "postgres://h");
    }
}
