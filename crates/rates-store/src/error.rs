//! The store's error type and the name of the backend in use.

use std::error::Error as StdError;
use std::fmt;

/// Which database a [`Store`](crate::Store) talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// A SQLite file, compiled into the binary.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl Backend {
    /// `"sqlite"` or `"postgres"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

type BoxedSource = Box<dyn StdError + Send + Sync + 'static>;

/// Everything that can go wrong in the store.
///
/// "Not found" is never an error: lookups return `Ok(None)`. Database errors are kept as the
/// `source` without exposing diesel's types. Messages never contain a password from the URL.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database URL cannot be used.
    #[error("invalid database URL: {reason}")]
    InvalidUrl {
        /// What is wrong with it and what is expected.
        reason: String,
    },
    /// The database could not be opened or reached.
    #[error("cannot connect to the {backend} database {target}: {source}")]
    Connect {
        /// The backend the URL selected.
        backend: Backend,
        /// The database, described without credentials.
        target: String,
        /// The driver's error.
        #[source]
        source: BoxedSource,
    },
    /// No connection became free in time, or the pool could not open one.
    #[error("no {backend} database connection available: {source}")]
    Pool {
        /// The backend in use.
        backend: Backend,
        /// The pool's error.
        #[source]
        source: BoxedSource,
    },
    /// Applying or inspecting the schema migrations failed.
    #[error("database migration failed: {message}")]
    Migration {
        /// What failed.
        message: String,
    },
    /// A statement failed.
    #[error("database error while {operation}: {source}")]
    Query {
        /// What the store was doing, e.g. "reading the rate table".
        operation: &'static str,
        /// The database's error.
        #[source]
        source: BoxedSource,
    },
    /// A stored row does not satisfy the domain rules (e.g. an edited currency code).
    #[error("invalid data in the database: {what}; the row was changed outside this service and must be fixed or deleted")]
    CorruptRow {
        /// Which row and what is wrong.
        what: String,
    },
    /// The caller passed something the store cannot write.
    #[error("invalid input: {reason}")]
    InvalidInput {
        /// What is wrong.
        reason: String,
    },
    /// A unique value already exists (e.g. an API key with the same hash).
    #[error("{what} already exists")]
    Conflict {
        /// What collided.
        what: String,
    },
}

impl StoreError {
    /// True when the database could not be reached or had no free connection: a condition that
    /// may pass (HTTP 503), unlike a failed statement or corrupt data.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Connect { .. } | StoreError::Pool { .. })
    }

    pub(crate) fn query(
        operation: &'static str,
    ) -> impl FnOnce(diesel::result::Error) -> StoreError {
        move |error| StoreError::from_diesel(operation, error)
    }

    pub(crate) fn from_diesel(operation: &'static str, error: diesel::result::Error) -> StoreError {
        StoreError::Query {
            operation,
            source: Box::new(error),
        }
    }

    pub(crate) fn corrupt(what: impl Into<String>) -> StoreError {
        StoreError::CorruptRow { what: what.into() }
    }
}

/// Lets `?` be used on diesel results inside transactions; the operation is named generically,
/// so code that can name it uses [`StoreError::query`] instead.
#[doc(hidden)]
impl From<diesel::result::Error> for StoreError {
    fn from(error: diesel::result::Error) -> StoreError {
        StoreError::from_diesel("running a transaction", error)
    }
}
