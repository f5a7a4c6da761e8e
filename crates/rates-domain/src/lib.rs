#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

mod api_key;
mod currency;
mod dates;
pub mod ecb;
mod fluctuation;
mod period;
mod rate;
mod source;
mod table;

pub use api_key::{hash_api_key, ApiKey, ApiKeyHash, API_KEY_BYTES, API_KEY_PREFIX};
pub use currency::{Currency, CurrencyError, CurrencyErrorKind};
pub use dates::{
    format_date, is_business_day, last_business_day, parse_date, today_utc, DateError, DateRange,
};
pub use fluctuation::{fluctuation, Fluctuation, FIXER_FLUCTUATION_DECIMALS};
pub use period::{period_means, Period, PeriodError, PeriodMeans};
pub use rate::{round_computed, round_decimals, Rate, RateError, PRECISION};
pub use source::{Source, SourceError};
pub use table::{Conversion, DomainError, RateTable, RebasedRates, TableError};
