//! Finding the day a request names in the snapshot, and shaping a table into the requested base
//! and symbols: shared by `/rates/{date}/`, `/rates/{start}..{end}/` and `/convert`.

use std::borrow::Cow;

use rates_domain::{Currency, Rate, RateTable, RebasedRates};
use rates_snapshot::{Found, NotHeld, Snapshot};
use time::Date;

use crate::error::ApiError;
use crate::request::RatesParams;

/// The table answering a request for `date` (`None`: the latest date held), with the
/// `fallback=previous` rule ([`Snapshot::find`]); a date not held is a 404 naming the nearest
/// earlier date held.
pub(crate) fn find_day(
    snapshot: &Snapshot,
    date: Option<Date>,
    fallback: bool,
) -> Result<Found<'_>, ApiError> {
    snapshot
        .find(date, fallback)
        .map_err(|not_held| match not_held {
            NotHeld::NothingHeld => ApiError::NoRatesHeld,
            NotHeld::Date { date, nearest } => ApiError::DateNotFound { date, nearest },
        })
}

/// Rebases the table to the requested base and keeps the requested symbols
/// (`RateTable::rebase` and `only`); the stored table itself, not a copy, when neither is asked.
pub(crate) fn shape<'a>(
    table: &'a RateTable,
    params: &RatesParams,
) -> Result<Cow<'a, RateTable>, ApiError> {
    let rebased = match params.base {
        Some(base) if base != table.base() => {
            Cow::Owned(table.rebase(base).map_err(ApiError::from_domain)?)
        }
        _ => Cow::Borrowed(table),
    };
    if params.symbols.is_empty() {
        return Ok(rebased);
    }
    Ok(Cow::Owned(
        rebased
            .only(&params.symbols)
            .map_err(ApiError::from_domain)?,
    ))
}

/// The rates [`shape`] would give, one by one in code order, without building a table when no
/// symbols are asked for: a long range is written out without an allocation per day.
pub(crate) fn shaped_rates<'a>(
    table: &'a RateTable,
    params: &RatesParams,
) -> Result<ShapedRates<'a>, ApiError> {
    if params.symbols.is_empty() {
        let base = params.base.unwrap_or(table.base());
        let rates = table.rebased_rates(base).map_err(ApiError::from_domain)?;
        return Ok(ShapedRates::Every(rates));
    }
    Ok(ShapedRates::Only(
        shape(table, params)?.into_owned().into_rates().into_iter(),
    ))
}

/// See [`shaped_rates`].
pub(crate) enum ShapedRates<'a> {
    /// Every rate, in the requested base.
    Every(RebasedRates<'a>),
    /// The requested symbols (a few, so built as a table by [`shape`]).
    Only(std::collections::btree_map::IntoIter<Currency, Rate>),
}

impl Iterator for ShapedRates<'_> {
    type Item = Result<(Currency, Rate), ApiError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            ShapedRates::Every(rates) => {
                rates.next().map(|rate| rate.map_err(ApiError::from_domain))
            }
            ShapedRates::Only(rates) => rates.next().map(Ok),
        }
    }
}
