#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

#[macro_use]
mod store;

mod api_keys;
mod database_url;
mod date_fetch_lock;
mod error;
mod ingest_lease;
mod ingest_run_lock;
mod pool;
mod read_connection;
mod reads;
mod records;
mod schema;
mod sql_values;
mod timestamps;
mod writes;

#[cfg(feature = "test-support")]
pub mod testing;

pub use database_url::redact_database_url;
pub use date_fetch_lock::DateFetchLock;
pub use error::{Backend, StoreError};
pub use ingest_run_lock::IngestRunLock;
pub use read_connection::{ActiveApiKey, RatesRead, ReadConnection};
pub use records::{
    ApiKeyRecord, ApiKeyUse, BulkProgress, CurrencyRecord, DayHistory, IngestLockHolder,
    RateRevision, StoredRateTable, ValueHistory, WriteCounts,
};
pub use store::{MigrationStatus, Store};
pub use writes::DEFAULT_DAYS_PER_BATCH;
