#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

mod client;
mod currency;
mod decode;
mod error;
mod retry;
mod types;

#[cfg(feature = "mock")]
#[cfg_attr(docsrs, doc(cfg(feature = "mock")))]
pub mod mock;

pub use client::{
    AccessKey, AuthStyle, Client, ClientBuilder, APILAYER_BASE_URL, DEFAULT_BASE_URL, REDACTED,
};
pub use currency::{CurrencyCode, CurrencyCodeError};
pub use error::{Endpoint, Error, FixerError, FixerErrorKind, RequestError, TransportKind};
pub use retry::RetryPolicy;
pub use types::{
    Change, Conversion, ConvertRequest, Fluctuation, Quota, Rates, RatesOptions, Symbols,
    Timeseries,
};

/// The log target of the HTTP library, `ureq`.
///
/// `ureq` logs every request line, query string included, at `debug` level. With
/// [`AuthStyle::Query`] the query holds the access key, so an application that shows debug logs
/// must cap this target at `info` (with env_logger: `RUST_LOG=debug,ureq=info`, or
/// `Builder::filter_module(HTTP_LOG_TARGET, LevelFilter::Info)`). This crate's own log lines
/// show URLs redacted and never need such a cap.
pub const HTTP_LOG_TARGET: &str = "ureq";

/// The longest range `timeseries` and `fluctuation` accept, in days with both ends included.
///
/// Fixer documents "365 days" without saying whether both ends count; this client stays on the
/// safe side and refuses 366 inclusive days.
pub const MAX_RANGE_DAYS: i64 = 365;
