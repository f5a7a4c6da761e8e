//! Reading the snapshot as the rates were served at an earlier instant (`as_of=`), beside the
//! current reads of [`super::days`]: one place turns "this day, now or then" into a table.

use std::borrow::Cow;

use rates_domain::DateRange;
use rates_snapshot::{NotHeld, Snapshot};
use rates_store::StoredRateTable;
use time::{Date, OffsetDateTime};

use super::days::find_day;
use crate::error::ApiError;

/// A day found for a request: borrowed from the snapshot for current values, rebuilt for an
/// earlier instant.
pub(crate) struct DayFound<'a> {
    pub(crate) stored: Cow<'a, StoredRateTable>,
    /// The date the client named, when it asked for `fallback=previous`.
    pub(crate) requested_date: Option<Date>,
}

/// The normalised `as_of` for cache keys: Unix nanoseconds, or empty for "now".
pub(crate) fn as_of_key(as_of: Option<OffsetDateTime>) -> String {
    as_of
        .map(|instant| instant.unix_timestamp_nanos().to_string())
        .unwrap_or_default()
}

/// [`find_day`] at `as_of` (current values when `None`): the `latest` and `fallback=previous`
/// rules applied to the days as they were held then.
pub(crate) fn find_day_at(
    snapshot: &Snapshot,
    date: Option<Date>,
    fallback: bool,
    as_of: Option<OffsetDateTime>,
) -> Result<DayFound<'_>, ApiError> {
    let Some(instant) = as_of else {
        let found = find_day(snapshot, date, fallback)?;
        return Ok(DayFound {
            stored: Cow::Borrowed(found.stored),
            requested_date: found.requested_date,
        });
    };
    match snapshot.find_as_of(date, fallback, instant) {
        Ok(found) => Ok(DayFound {
            stored: Cow::Owned(found.stored),
            requested_date: found.requested_date,
        }),
        Err(NotHeld::NothingHeld) => Err(ApiError::NoRatesHeld),
        Err(NotHeld::Date { date, nearest }) => Err(ApiError::DateNotFound { date, nearest }),
    }
}

/// The table of `date`, or of the nearest earlier day, as held at `as_of` (now when `None`).
pub(crate) fn day_on_or_before(
    snapshot: &Snapshot,
    date: Date,
    as_of: Option<OffsetDateTime>,
) -> Option<Cow<'_, StoredRateTable>> {
    find_day_at(snapshot, Some(date), true, as_of)
        .ok()
        .map(|found| found.stored)
}

/// The days held within `range` as held at `as_of` (now when `None`), in date order; days none
/// of whose values were stored by then are left out.
pub(crate) fn range_at(
    snapshot: &Snapshot,
    range: DateRange,
    as_of: Option<OffsetDateTime>,
) -> impl Iterator<Item = Cow<'_, StoredRateTable>> + Clone {
    snapshot.range(range).filter_map(move |stored| match as_of {
        None => Some(Cow::Borrowed(stored)),
        Some(instant) => snapshot.as_of(stored, instant).map(Cow::Owned),
    })
}

/// The latest day held strictly before `date` at `as_of` (now when `None`), for "no data"
/// errors.
pub(crate) fn nearest_before_at(
    snapshot: &Snapshot,
    date: Date,
    as_of: Option<OffsetDateTime>,
) -> Option<Date> {
    match as_of {
        None => snapshot
            .nearest_before(date)
            .map(|stored| stored.table.date()),
        Some(_) => date
            .previous_day()
            .and_then(|before| day_on_or_before(snapshot, before, as_of))
            .map(|stored| stored.table.date()),
    }
}
