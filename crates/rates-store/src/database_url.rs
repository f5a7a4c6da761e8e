//! Choosing the backend from a database URL, and the one way to show a database URL: with its
//! password masked ([`redact_database_url`]).
//!
//! libpq reads a `postgres://` URL its own way (the user information ends at the first `@` or
//! `/`, a `#` is part of the password) and quotes parts of a URL it cannot read in its error
//! messages. So URLs libpq would read differently from the masking are refused here with a
//! message that quotes nothing, and whatever libpq says about a URL is scrubbed of its password.

use std::path::PathBuf;

use crate::error::{Backend, StoreError};

/// What a masked password is shown as.
const MASK: &str = "***";

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
            check_postgres_url(url)?;
            return Ok(DatabaseUrl::Postgres(url.to_owned()));
        }
        let path = url.strip_prefix("sqlite://").unwrap_or(url);
        if let Some((scheme, _)) = path.split_once("://") {
            return Err(invalid(&format!(
                "the scheme {:?} is not supported; use a SQLite file path, sqlite://PATH, postgres:// or postgresql://",
                shorten(scheme)
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
        if looks_like_conninfo(path) {
            return Err(invalid(
                "it looks like a libpq key=value connection string (host=... dbname=...), which is \
                 not supported; write it as a URL: postgres://USER:PASSWORD@HOST:5432/DBNAME",
            ));
        }
        if path.chars().any(char::is_control) {
            return Err(invalid(
                "it is not a plausible SQLite file path: it holds control characters",
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

    /// The location with any password masked, for messages and logs.
    pub(crate) fn describe(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(path) => format!("file {}", path.display()),
            DatabaseUrl::Postgres(url) => redact_database_url(url),
        }
    }

    /// `message` (e.g. libpq's error) with every password of this URL masked, in case it quotes
    /// part of the URL.
    pub(crate) fn scrub(&self, message: &str) -> String {
        let DatabaseUrl::Postgres(url) = self else {
            return message.to_owned();
        };
        let mut scrubbed = message.to_owned();
        for secret in passwords(url) {
            for form in [percent_decode(&secret), Some(secret)]
                .into_iter()
                .flatten()
            {
                if !form.is_empty() {
                    scrubbed = scrubbed.replace(&form, MASK);
                }
            }
        }
        scrubbed
    }
}

/// Shows the masked form, so a password never reaches a log through `{:?}`.
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

/// A scheme quoted back, cut short: it may be anything a misconfiguration put there.
fn shorten(text: &str) -> String {
    text.chars().take(20).collect()
}

/// A database URL (or path) as it may be shown anywhere: the password of a
/// `scheme://user:password@host/...` URL, the value of any query parameter whose name contains
/// `password` (`?password=...`, `?sslpassword=...`) and the `password=` of a libpq key=value
/// string become `***`; a SQLite path comes back as given.
///
/// It masks more rather than less where a URL is ambiguous: an unencoded `@`, `/`, `?` or `#`
/// in a password (`postgres://u:pw#1@h/db` → `postgres://u:***@h/db`) is masked with it.
///
/// ```
/// use rates_store::redact_database_url;
/// assert_eq!(
///     redact_database_url("postgres://rates:s3cret@db:5432/rates?sslmode=require"),
///     "postgres://rates:***@db:5432/rates?sslmode=require"
/// );
/// assert_eq!(
///     redact_database_url("postgres://db/rates?user=rates&password=s3cret"),
///     "postgres://db/rates?user=rates&password=***"
/// );
/// assert_eq!(
///     redact_database_url("host=db password='s3 cret' dbname=rates"),
///     "host=db password=*** dbname=rates"
/// );
/// assert_eq!(redact_database_url("data/rates.db"), "data/rates.db");
/// ```
pub fn redact_database_url(url: &str) -> String {
    match UrlParts::split(url) {
        Some(parts) => parts.redacted(),
        None => redact_conninfo(url),
    }
}

/// A `scheme://user:password@rest?query` URL cut at the places that matter for masking.
struct UrlParts<'a> {
    /// Up to and including `://`.
    scheme: &'a str,
    /// The user information before the `@` that ends it, if any.
    user_info: Option<&'a str>,
    /// Host, port and path.
    location: &'a str,
    /// After the `?`, if any.
    query: Option<&'a str>,
}

impl<'a> UrlParts<'a> {
    fn split(url: &'a str) -> Option<UrlParts<'a>> {
        let after_scheme = url.find("://")? + 3;
        let (scheme, rest) = (url.get(..after_scheme)?, url.get(after_scheme..)?);
        // The user information ends at the last `@` before the query; when the only `@`s are
        // after the first `?`, that `?` may be part of a password, so the last `@` of all
        // ends it. Either way a password holding `@`, `/`, `?` or `#` is masked whole.
        let first_query = rest.find('?').unwrap_or(rest.len());
        let before_query = rest.get(..first_query)?;
        let at = match before_query.rfind('@') {
            Some(at) => Some(at),
            // `postgres://h/db?application_name=a@b`: an `@` in a query value, no user.
            None if before_query.contains('/') => None,
            None => rest.rfind('@'),
        };
        let (user_info, after_user) = match at {
            Some(at) => (Some(rest.get(..at)?), rest.get(at + 1..)?),
            None => (None, rest),
        };
        let (location, query) = match after_user.split_once('?') {
            Some((location, query)) => (location, Some(query)),
            None => (after_user, None),
        };
        Some(UrlParts {
            scheme,
            user_info,
            location,
            query,
        })
    }

    fn redacted(&self) -> String {
        let mut shown = self.scheme.to_owned();
        if let Some(user_info) = self.user_info {
            match user_info.split_once(':') {
                Some((user, _password)) => {
                    shown.push_str(user);
                    shown.push(':');
                    shown.push_str(MASK);
                }
                None => shown.push_str(user_info),
            }
            shown.push('@');
        }
        shown.push_str(self.location);
        if let Some(query) = self.query {
            shown.push('?');
            shown.push_str(&redact_query(query));
        }
        shown
    }

    /// The password in the user information, as written.
    fn password(&self) -> Option<&'a str> {
        self.user_info?
            .split_once(':')
            .map(|(_, password)| password)
    }
}

/// Whether a query parameter's name (as written or decoded) says it holds a password.
fn is_password_key(key: &str) -> bool {
    let decoded = percent_decode(key).unwrap_or_else(|| key.to_owned());
    decoded.to_ascii_lowercase().contains("password")
}

/// The query with the values of password parameters masked. A segment without `=` after a
/// password is taken as part of it (an unencoded `&` in the password).
fn redact_query(query: &str) -> String {
    let mut shown = Vec::new();
    let mut in_password = false;
    for segment in query.split('&') {
        match segment.split_once('=') {
            Some((key, _)) if is_password_key(key) => {
                shown.push(format!("{key}={MASK}"));
                in_password = true;
            }
            Some(_) => {
                shown.push(segment.to_owned());
                in_password = false;
            }
            None if in_password => {}
            None => shown.push(segment.to_owned()),
        }
    }
    shown.join("&")
}

/// Every password a URL holds, as written: in the user information and in query parameters.
fn passwords(url: &str) -> Vec<String> {
    let Some(parts) = UrlParts::split(url) else {
        return Vec::new();
    };
    let mut found: Vec<String> = parts.password().map(str::to_owned).into_iter().collect();
    if let Some(query) = parts.query {
        let mut current: Option<String> = None;
        for segment in query.split('&') {
            match segment.split_once('=') {
                Some((key, value)) => {
                    found.extend(current.take());
                    if is_password_key(key) {
                        current = Some(value.to_owned());
                    }
                }
                None => {
                    if let Some(password) = current.as_mut() {
                        password.push('&');
                        password.push_str(segment);
                    }
                }
            }
        }
        found.extend(current);
    }
    found
}

/// Refuses what libpq would read differently from [`redact_database_url`], or would quote in
/// an error: the message names the problem and quotes nothing.
fn check_postgres_url(url: &str) -> Result<(), StoreError> {
    let Some(parts) = UrlParts::split(url) else {
        return Ok(());
    };
    if let Some(user_info) = parts.user_info {
        if user_info.contains(['@', '/']) {
            return Err(invalid(
                "the user name or password holds an unencoded '@' or '/'; percent-encode them \
                 (%40, %2F)",
            ));
        }
        if percent_decode_bytes(user_info).is_none() {
            return Err(invalid(
                "the user name or password holds %00 or a '%' not followed by two hex digits; \
                 write '%' as %25",
            ));
        }
    }
    if let Some(query) = parts.query {
        for segment in query.split('&') {
            if !segment.contains('=') {
                return Err(invalid(
                    "a query parameter has no '='; percent-encode '&' in values as %26",
                ));
            }
            if percent_decode_bytes(segment).is_none() {
                return Err(invalid(
                    "a query parameter holds %00 or a '%' not followed by two hex digits; write \
                     '%' as %25",
                ));
            }
        }
    }
    Ok(())
}

/// `%XX` sequences decoded as libpq decodes them; `None` where libpq fails (and quotes the
/// text): a `%` not followed by two hex digits, or `%00`.
fn percent_decode_bytes(text: &str) -> Option<Vec<u8>> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        if byte == b'%' {
            let hex = std::str::from_utf8(tail.get(..2)?).ok()?;
            let decoded = u8::from_str_radix(hex, 16).ok().filter(|&byte| byte != 0)?;
            bytes.push(decoded);
            rest = tail.get(2..)?;
        } else {
            bytes.push(byte);
            rest = tail;
        }
    }
    Some(bytes)
}

/// [`percent_decode_bytes`] as text, when it is UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    String::from_utf8(percent_decode_bytes(text)?).ok()
}

/// Whether `text` reads as libpq's `keyword=value ...` form: a word followed by `=` at the
/// start or after whitespace.
fn looks_like_conninfo(text: &str) -> bool {
    let starts_with_keyword = |word: &str| {
        let keyword_end = word
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(word.len());
        keyword_end > 0
            && word
                .get(keyword_end..)
                .is_some_and(|after| after.trim_start().starts_with('='))
    };
    std::iter::once(text)
        .chain(
            text.match_indices(char::is_whitespace)
                .filter_map(|(index, _)| text.get(index..))
                .map(str::trim_start),
        )
        .any(starts_with_keyword)
}

/// The values of keywords holding `password` (`password`, `sslpassword`) masked in libpq's
/// `keyword = value ...` form (a value bare or single-quoted with backslash escapes); other
/// words come back as given.
fn redact_conninfo(text: &str) -> String {
    let mut shown = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let word = rest.trim_start();
        shown.push_str(rest.get(..rest.len() - word.len()).unwrap_or_default());
        if word.is_empty() {
            return shown;
        }
        let keyword_end = word
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(word.len());
        let keyword = word.get(..keyword_end).unwrap_or_default();
        let after_keyword = word.get(keyword_end..).unwrap_or_default().trim_start();
        match after_keyword.strip_prefix('=') {
            Some(value_on) if !keyword.is_empty() => {
                let value_on = value_on.trim_start();
                let after_value = skip_conninfo_value(value_on);
                shown.push_str(keyword);
                shown.push('=');
                if keyword.to_ascii_lowercase().contains("password") {
                    shown.push_str(MASK);
                } else {
                    let value_length = value_on.len() - after_value.len();
                    shown.push_str(value_on.get(..value_length).unwrap_or_default());
                }
                rest = after_value;
            }
            // Not a keyword=value pair (a path, say): copied as it is, up to the next space.
            _ => {
                let end = word.find(char::is_whitespace).unwrap_or(word.len());
                shown.push_str(word.get(..end).unwrap_or_default());
                rest = word.get(end..).unwrap_or_default();
            }
        }
    }
}

/// What follows a key=value value: a quoted one ends at its unescaped closing quote (or the
/// end), a bare one at whitespace.
fn skip_conninfo_value(value: &str) -> &str {
    let mut chars = value.char_indices();
    if value.starts_with('\'') {
        chars.next();
        while let Some((index, c)) = chars.next() {
            match c {
                '\\' => {
                    chars.next();
                }
                '\'' => return value.get(index + 1..).unwrap_or_default(),
                _ => {}
            }
        }
        return "";
    }
    while let Some((index, c)) = chars.next() {
        match c {
            '\\' => {
                chars.next();
            }
            c if c.is_whitespace() => return value.get(index..).unwrap_or_default(),
            _ => {}
        }
    }
    ""
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
        assert_eq!(
            DatabaseUrl::parse("My Data/rates 2024.db").unwrap(),
            DatabaseUrl::Sqlite(PathBuf::from("My Data/rates 2024.db"))
        );
    }

    #[test]
    fn unusable_urls_are_rejected_with_a_reason() {
        for (url, expected) in [
            ("", "empty"),
            ("mysql://h/db", "\"mysql\" is not supported"),
            ("sqlite://", "followed by a file path"),
            (":memory:", "in-memory"),
            ("host=db password=SeCrEt dbname=rates", "key=value"),
            ("dbname = rates", "key=value"),
            ("data/rates.db host=db", "key=value"),
            ("rates\n.db", "control characters"),
            ("postgres://u:Se@CrEt@h/db", "unencoded '@' or '/'"),
            ("postgres://u:Se/CrEt@h/db", "unencoded '@' or '/'"),
            ("postgres://u:SeCrEt%zz@h/db", "two hex digits"),
            ("postgres://u:SeCrEt%00@h/db", "%00"),
            ("postgres://h/db?password=SeCrEt&x", "has no '='"),
            ("postgres://h/db?password=SeCrEt%z", "two hex digits"),
        ] {
            let message = DatabaseUrl::parse(url).unwrap_err().to_string();
            assert!(message.contains(expected), "{url}: {message}");
            // Each secret is `SeCrEt`, some split by the character at fault.
            assert!(
                !message.contains("Se") && !message.contains("CrEt"),
                "{url}: {message}"
            );
        }
    }

    #[test]
    fn every_form_of_password_is_masked() {
        for (url, shown) in [
            (
                "postgres://rates:hunter2@db.internal:5432/rates?sslmode=require",
                "postgres://rates:***@db.internal:5432/rates?sslmode=require",
            ),
            (
                "postgres://postgres@127.0.0.1:5432/db?password=SECRET",
                "postgres://postgres@127.0.0.1:5432/db?password=***",
            ),
            (
                "postgresql://h/db?sslmode=require&PassWord=SECRET&user=u",
                "postgresql://h/db?sslmode=require&PassWord=***&user=u",
            ),
            (
                "postgres://h/db?pass%77ord=SECRET",
                "postgres://h/db?pass%77ord=***",
            ),
            (
                "postgres://h/db?sslpassword=SECRET",
                "postgres://h/db?sslpassword=***",
            ),
            (
                "postgres://h/db?password=SEC&RET&sslmode=require",
                "postgres://h/db?password=***&sslmode=require",
            ),
            ("postgres://u:pw#123@host/db", "postgres://u:***@host/db"),
            ("postgres://u:pw?123@host/db", "postgres://u:***@host/db"),
            ("postgres://u:p@ss@host/db", "postgres://u:***@host/db"),
            ("postgres://u:p/ss@host/db", "postgres://u:***@host/db"),
            (
                "postgres://u:pw@host/db?application_name=a@b",
                "postgres://u:***@host/db?application_name=a@b",
            ),
            (
                "postgres://host/db?application_name=a@b",
                "postgres://host/db?application_name=a@b",
            ),
            ("postgres://u@h/db", "postgres://u@h/db"),
            ("postgres://h", "postgres://h"),
            ("mysql://u:SECRET@h/db", "mysql://u:***@h/db"),
            (
                "host=db password=SECRET dbname=rates",
                "host=db password=*** dbname=rates",
            ),
            (
                "host=db password = 'SE CR\\'ET' dbname=rates",
                "host=db password=*** dbname=rates",
            ),
            ("password=SECRET", "password=***"),
            ("password='SECRET", "password=***"),
            ("host=db x sslpassword=SECRET", "host=db x sslpassword=***"),
            ("data/password=x.db", "data/password=x.db"),
            ("data/rates.db", "data/rates.db"),
            ("sqlite://data/rates.db", "sqlite://data/rates.db"),
        ] {
            assert_eq!(redact_database_url(url), shown, "{url}");
        }
    }

    #[test]
    fn descriptions_mask_the_password() {
        let url =
            DatabaseUrl::parse("postgres://rates:hunter2@db.internal:5432/rates?sslmode=require")
                .unwrap();
        assert_eq!(
            url.describe(),
            "postgres://rates:***@db.internal:5432/rates?sslmode=require"
        );
        assert!(!format!("{url:?}").contains("hunter2"));
        assert_eq!(
            DatabaseUrl::parse("data/rates.db").unwrap().describe(),
            "file data/rates.db"
        );
    }

    #[test]
    fn driver_messages_are_scrubbed_of_every_password() {
        let url =
            DatabaseUrl::parse("postgres://u:pw%23123@h/db?password=query-secret&sslmode=require")
                .unwrap();
        assert_eq!(
            url.scrub("bad password pw%23123 or pw#123, and query-secret"),
            "bad password *** or ***, and ***"
        );
    }
}
