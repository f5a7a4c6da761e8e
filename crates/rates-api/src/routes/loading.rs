//! Reading one day's stored rate table, with the `latest` and `fallback=previous` rules shared by
//! `/rates/{date}/` and `/convert`. Runs on a blocking thread.

use rates_domain::Currency;
use rates_store::{Store, StoredRateTable};
use time::Date;

use crate::error::ApiError;

/// A stored table and the date the client asked for, when that differs in meaning from the
/// table's own date (a `fallback=previous` request).
pub(crate) struct LoadedDay {
    pub stored: StoredRateTable,
    /// Set when the client named a date and asked for `fallback=previous`.
    pub requested_date: Option<Date>,
}

/// Loads the table of `date` (`None`: the latest date held) in the stored base.
///
/// A date with no rates is a 404 naming the nearest earlier date held, unless `fallback` asks
/// for that date's table instead.
pub(crate) fn load_day(
    store: &Store,
    stored_base: Currency,
    date: Option<Date>,
    fallback: bool,
) -> Result<LoadedDay, ApiError> {
    let Some(date) = date else {
        let latest = store
            .latest_date(stored_base)
            .map_err(ApiError::database)?
            .ok_or(ApiError::NoRatesHeld)?;
        let stored = store
            .rate_table(latest, stored_base)
            .map_err(ApiError::database)?
            .ok_or(ApiError::NoRatesHeld)?;
        return Ok(LoadedDay {
            stored,
            requested_date: None,
        });
    };
    let requested_date = fallback.then_some(date);
    if let Some(stored) = store
        .rate_table(date, stored_base)
        .map_err(ApiError::database)?
    {
        return Ok(LoadedDay {
            stored,
            requested_date,
        });
    }
    let nearest = store
        .nearest_date_before(date, stored_base)
        .map_err(ApiError::database)?;
    let not_found = ApiError::DateNotFound { date, nearest };
    match nearest {
        Some(nearest) if fallback => {
            let stored = store
                .rate_table(nearest, stored_base)
                .map_err(ApiError::database)?
                .ok_or(not_found)?;
            Ok(LoadedDay {
                stored,
                requested_date,
            })
        }
        _ => Err(not_found),
    }
}
