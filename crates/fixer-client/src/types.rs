//! Typed requests and responses.

use std::collections::BTreeMap;

use time::{Date, OffsetDateTime};

use crate::CurrencyCode;

/// Options shared by `latest`, `historical`, `timeseries` and `fluctuation`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RatesOptions {
    /// The base currency; `None` means Fixer's default, EUR (the only base on the free plan).
    pub base: Option<CurrencyCode>,
    /// The currencies wanted; empty means all.
    pub symbols: Vec<CurrencyCode>,
}

impl RatesOptions {
    /// All currencies against EUR.
    pub fn new() -> RatesOptions {
        RatesOptions::default()
    }

    /// Sets the base currency.
    pub fn base(mut self, base: CurrencyCode) -> RatesOptions {
        self.base = Some(base);
        self
    }

    /// Sets the currencies wanted.
    pub fn symbols(mut self, symbols: impl IntoIterator<Item = CurrencyCode>) -> RatesOptions {
        self.symbols = symbols.into_iter().collect();
        self
    }
}

/// A `convert` request: `amount` of `from` in `to`, at today's or a past date's rate.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvertRequest {
    /// The currency converted from.
    pub from: CurrencyCode,
    /// The currency converted to.
    pub to: CurrencyCode,
    /// The amount; must be finite and above zero.
    pub amount: f64,
    /// The date whose rate to use; `None` means the latest rate.
    pub date: Option<Date>,
}

impl ConvertRequest {
    /// Converts `amount` of `from` into `to` at the latest rate.
    pub fn new(from: CurrencyCode, to: CurrencyCode, amount: f64) -> ConvertRequest {
        ConvertRequest {
            from,
            to,
            amount,
            date: None,
        }
    }

    /// Uses the rate of `date` instead of the latest one.
    pub fn on(mut self, date: Date) -> ConvertRequest {
        self.date = Some(date);
        self
    }
}

/// Quota figures from the `X-RateLimit-*` headers (sent by the APILayer host).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Quota {
    /// `X-RateLimit-Limit-Month`
    pub limit_month: Option<u64>,
    /// `X-RateLimit-Remaining-Month`
    pub remaining_month: Option<u64>,
    /// `X-RateLimit-Limit-Day`
    pub limit_day: Option<u64>,
    /// `X-RateLimit-Remaining-Day`
    pub remaining_day: Option<u64>,
}

/// The answer of `symbols`: every currency Fixer supports, with its name.
#[derive(Debug, Clone, PartialEq)]
pub struct Symbols {
    /// Code → display name, e.g. `USD` → "United States Dollar".
    pub symbols: BTreeMap<CurrencyCode, String>,
    /// Quota headers, when the server sent them.
    pub quota: Option<Quota>,
}

/// The answer of `latest` or `historical`: one day's rates for one base.
///
/// Every rate is a finite number above zero, checked when decoding. The base itself may appear
/// with rate 1, as Fixer sends it.
#[derive(Debug, Clone, PartialEq)]
pub struct Rates {
    /// The day the rates belong to (for `historical`, the requested date, weekends included).
    pub date: Date,
    /// The base currency.
    pub base: CurrencyCode,
    /// When the rates were collected, if Fixer said.
    pub timestamp: Option<OffsetDateTime>,
    /// Whether Fixer flagged the answer as historical.
    pub historical: bool,
    /// Units of each currency per one unit of `base`.
    pub rates: BTreeMap<CurrencyCode, f64>,
    /// Quota headers, when the server sent them.
    pub quota: Option<Quota>,
}

/// The answer of `convert`.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversion {
    /// The currency converted from.
    pub from: CurrencyCode,
    /// The currency converted to.
    pub to: CurrencyCode,
    /// The amount converted.
    pub amount: f64,
    /// Units of `to` per unit of `from`.
    pub rate: f64,
    /// `amount × rate`, as Fixer computed it.
    pub result: f64,
    /// The day of the rate used.
    pub date: Date,
    /// When the rate was collected, if Fixer said.
    pub timestamp: Option<OffsetDateTime>,
    /// Whether a past date's rate was used.
    pub historical: bool,
    /// Quota headers, when the server sent them.
    pub quota: Option<Quota>,
}

/// The answer of `timeseries`: daily rates between two dates, both included.
#[derive(Debug, Clone, PartialEq)]
pub struct Timeseries {
    /// The first date asked for.
    pub start_date: Date,
    /// The last date asked for.
    pub end_date: Date,
    /// The base currency.
    pub base: CurrencyCode,
    /// Date → currency → rate; dates Fixer left out are absent.
    pub rates: BTreeMap<Date, BTreeMap<CurrencyCode, f64>>,
    /// Quota headers, when the server sent them.
    pub quota: Option<Quota>,
}

/// How one currency moved between two dates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Change {
    /// Rate on the start date.
    pub start_rate: f64,
    /// Rate on the end date.
    pub end_rate: f64,
    /// `end_rate − start_rate`, rounded by Fixer to 4 decimals.
    pub change: f64,
    /// The change in percent of `start_rate`, rounded by Fixer to 4 decimals.
    pub change_pct: f64,
}

/// The answer of `fluctuation`.
#[derive(Debug, Clone, PartialEq)]
pub struct Fluctuation {
    /// The first date.
    pub start_date: Date,
    /// The last date.
    pub end_date: Date,
    /// The base currency.
    pub base: CurrencyCode,
    /// Currency → its change.
    pub rates: BTreeMap<CurrencyCode, Change>,
    /// Quota headers, when the server sent them.
    pub quota: Option<Quota>,
}
