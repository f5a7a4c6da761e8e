//! [`ReadConnection`]: one connection of its own, outside the pool, for keeping an in-memory
//! copy of the rates and API keys current (the read model in `rates-snapshot`).
//!
//! Why not the pool: when the database goes away, a pool checkout waits for its timeout (10 s)
//! and r2d2 then reconnects with a growing back-off; a watcher polling a few times a second needs
//! to fail within its poll, reconnect as soon as the database is back, and never compete with
//! request-path writes for a pooled connection. Each read runs in one read-only transaction, so
//! the version and the rows it returns are one consistent view.

use std::fmt;
use std::sync::Arc;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::{PgConnection, SqliteConnection};
use rates_domain::Currency;

use crate::database_url::DatabaseUrl;
use crate::error::StoreError;
use crate::pool::{apply_sqlite_pragmas, connect_error};
use crate::reads::{assemble_days, currency_records, day_histories, RangeRow, RevisionRow};
use crate::records::{CurrencyRecord, DayHistory, StoredRateTable};
use crate::schema::{api_keys, currencies, data_version, day_versions, rate_revisions, rates};
use crate::store::Store;

/// How long a SQLite read waits for a lock before failing (readers rarely need one under WAL;
/// a watcher reports the database unavailable rather than wait the pool's 10 s).
const SQLITE_READ_BUSY_TIMEOUT_MS: u32 = 1_000;

/// libpq options added to the URL when it does not set them: give up connecting after 2 s, and
/// on an established connection whose peer stopped answering after 3 s, instead of the kernel's
/// minutes, so an outage is noticed and a reconnect tried promptly.
const POSTGRES_WATCH_OPTIONS: [(&str, &str); 2] =
    [("connect_timeout", "2"), ("tcp_user_timeout", "3000")];

/// Server-side limit on any one statement of the watcher (PostgreSQL).
const POSTGRES_STATEMENT_TIMEOUT: &str = "SET statement_timeout = '10s'";

/// One connection outside the pool, for reading everything a read model holds; see the module
/// docs. Open with [`Store::read_connection`]; after an error, drop it and open another.
pub struct ReadConnection {
    connection: Dedicated,
    target: Arc<str>,
}

enum Dedicated {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

impl fmt::Debug for ReadConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadConnection")
            .field("database", &self.target)
            .finish()
    }
}

/// Rates, currencies and the data version, read in one consistent view by
/// [`ReadConnection::read_rates`].
#[derive(Debug, Clone, PartialEq)]
pub struct RatesRead {
    /// The data version ([`Store::data_version`]) the rows belong to.
    pub version: i64,
    /// The tables read, in date order: every day held in the base, or the days changed since the
    /// version asked about.
    pub tables: Vec<StoredRateTable>,
    /// Every currency held, with names where known.
    pub currencies: Vec<CurrencyRecord>,
    /// The history of those of `tables`' days that have one (a corrected value, or values
    /// stored at different times), in date order: what `as_of` reads are answered from.
    pub histories: Vec<DayHistory>,
}

/// An active API key as a read model holds it: the hash presented keys are compared by, and the
/// key's id (for counting uses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveApiKey {
    /// The key's SHA-256 hash, as stored.
    pub key_hash: String,
    /// The key's id.
    pub id: i64,
}

/// Runs `$body` in one read-only transaction on the dedicated connection: a deferred SQLite
/// transaction (a WAL read snapshot from its first read) or a PostgreSQL REPEATABLE READ one.
macro_rules! in_read_transaction {
    ($self:expr, |$conn:ident| $body:expr) => {
        match &mut $self.connection {
            Dedicated::Sqlite(connection) => {
                connection.transaction(|$conn| -> Result<_, StoreError> { $body })
            }
            Dedicated::Postgres(connection) => connection
                .build_transaction()
                .read_only()
                .repeatable_read()
                .run(|$conn| -> Result<_, StoreError> { $body }),
        }
    };
}

impl Store {
    /// Opens a connection of its own to the same database (not from the pool), with short
    /// timeouts: see [`ReadConnection`].
    pub fn read_connection(&self) -> Result<ReadConnection, StoreError> {
        let url = self.url();
        let connection = match url {
            DatabaseUrl::Sqlite(path) => {
                let path_text = path.to_str().ok_or_else(|| StoreError::InvalidUrl {
                    reason: format!("the SQLite path {} is not valid UTF-8", path.display()),
                })?;
                let mut connection = SqliteConnection::establish(path_text)
                    .map_err(|error| connect_error(url, error))?;
                apply_sqlite_pragmas(&mut connection)
                    .and_then(|()| {
                        connection.batch_execute(&format!(
                            "PRAGMA busy_timeout = {SQLITE_READ_BUSY_TIMEOUT_MS};"
                        ))
                    })
                    .map_err(|error| connect_error(url, error))?;
                Dedicated::Sqlite(connection)
            }
            DatabaseUrl::Postgres(postgres_url) => {
                let mut connection = PgConnection::establish(&with_watch_options(postgres_url))
                    .map_err(|error| connect_error(url, error))?;
                connection
                    .batch_execute(POSTGRES_STATEMENT_TIMEOUT)
                    .map_err(|error| connect_error(url, error))?;
                Dedicated::Postgres(connection)
            }
        };
        Ok(ReadConnection {
            connection,
            target: Arc::from(url.describe()),
        })
    }
}

/// `url` with [`POSTGRES_WATCH_OPTIONS`] added where it does not set them.
fn with_watch_options(url: &str) -> String {
    let mut url = url.to_owned();
    for (key, value) in POSTGRES_WATCH_OPTIONS {
        let query = url.split_once('?').map(|(_, query)| query).unwrap_or("");
        if query
            .split('&')
            .any(|pair| pair.split('=').next() == Some(key))
        {
            continue;
        }
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(key);
        url.push('=');
        url.push_str(value);
    }
    url
}

impl ReadConnection {
    /// The store's data version ([`Store::data_version`]): one primary-key read.
    pub fn data_version(&mut self) -> Result<i64, StoreError> {
        in_read_transaction!(self, |conn| {
            data_version::table
                .select(data_version::version)
                .find(1)
                .first::<i64>(conn)
                .optional()
                .map_err(StoreError::query("reading the data version"))?
                .ok_or_else(|| StoreError::corrupt("the data_version row is missing"))
        })
    }

    /// The tables held in `base` (all of them with `changed_since` `None`, else only the days
    /// whose rates changed at a data version after it), every currency held, and the data version
    /// they belong to, in one consistent view.
    pub fn read_rates(
        &mut self,
        base: Currency,
        changed_since: Option<i64>,
    ) -> Result<RatesRead, StoreError> {
        let (version, rows, revision_rows, currency_rows) = in_read_transaction!(self, |conn| {
            let version = data_version::table
                .select(data_version::version)
                .find(1)
                .first::<i64>(conn)
                .optional()
                .map_err(StoreError::query("reading the data version"))?
                .ok_or_else(|| StoreError::corrupt("the data_version row is missing"))?;
            let columns = (
                rates::date,
                rates::currency,
                rates::rate,
                rates::last_changed_at,
            );
            let rows: Vec<RangeRow> = match changed_since {
                None => rates::table
                    .filter(rates::base.eq(base.as_str()))
                    .select(columns)
                    .order(rates::date.asc())
                    .load(conn)
                    .map_err(StoreError::query("reading every rate"))?,
                Some(since) => rates::table
                    .filter(rates::base.eq(base.as_str()))
                    .filter(
                        rates::date.eq_any(
                            day_versions::table
                                .filter(day_versions::base.eq(base.as_str()))
                                .filter(day_versions::version.gt(since))
                                .select(day_versions::date),
                        ),
                    )
                    .select(columns)
                    .order(rates::date.asc())
                    .load(conn)
                    .map_err(StoreError::query("reading the days changed"))?,
            };
            let revision_columns = (
                rate_revisions::date,
                rate_revisions::currency,
                rate_revisions::rate,
                rate_revisions::source,
                rate_revisions::served_from,
                rate_revisions::served_until,
            );
            let revision_rows: Vec<RevisionRow> = match changed_since {
                None => rate_revisions::table
                    .filter(rate_revisions::base.eq(base.as_str()))
                    .select(revision_columns)
                    .order(rate_revisions::id.asc())
                    .load(conn)
                    .map_err(StoreError::query("reading every revision"))?,
                Some(since) => rate_revisions::table
                    .filter(rate_revisions::base.eq(base.as_str()))
                    .filter(
                        rate_revisions::date.eq_any(
                            day_versions::table
                                .filter(day_versions::base.eq(base.as_str()))
                                .filter(day_versions::version.gt(since))
                                .select(day_versions::date),
                        ),
                    )
                    .select(revision_columns)
                    .order(rate_revisions::id.asc())
                    .load(conn)
                    .map_err(StoreError::query(
                        "reading the revisions of the days changed",
                    ))?,
            };
            let currency_rows: Vec<(String, Option<String>)> = currencies::table
                .filter(currencies::held.eq(true))
                .select((currencies::code, currencies::name))
                .order(currencies::code.asc())
                .load(conn)
                .map_err(StoreError::query("listing the currencies"))?;
            Ok((version, rows, revision_rows, currency_rows))
        })?;
        let histories = day_histories(base, &rows, revision_rows)?;
        Ok(RatesRead {
            version,
            tables: assemble_days(base, rows)?,
            currencies: currency_records(currency_rows)?,
            histories,
        })
    }

    /// Every API key not revoked.
    pub fn active_api_keys(&mut self) -> Result<Vec<ActiveApiKey>, StoreError> {
        let rows: Vec<(String, i64)> = in_read_transaction!(self, |conn| {
            api_keys::table
                .filter(api_keys::revoked_at.is_null())
                .select((api_keys::key_hash, api_keys::id))
                .load(conn)
                .map_err(StoreError::query("listing the active API keys"))
        })?;
        Ok(rows
            .into_iter()
            .map(|(key_hash, id)| ActiveApiKey { key_hash, id })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watch_options_are_added_unless_the_url_sets_them() {
        assert_eq!(
            with_watch_options("postgres://h/db"),
            "postgres://h/db?connect_timeout=2&tcp_user_timeout=3000"
        );
        assert_eq!(
            with_watch_options("postgres://h/db?connect_timeout=9&sslmode=disable"),
            "postgres://h/db?connect_timeout=9&sslmode=disable&tcp_user_timeout=3000"
        );
    }
}
