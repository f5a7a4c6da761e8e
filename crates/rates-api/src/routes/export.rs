//! CSV and NDJSON answers of `/rates/...`, streamed from the snapshot: everything that can fail
//! is checked in a first pass over the days before the status line goes out (a streamed body
//! cannot turn into an error answer), which also feeds the ETag; then [`SnapshotDays`] walks the
//! same days again, one at a time, as [`DaysBody`] asks for them.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::SystemTime;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse};
use rates_domain::{today_utc, DateRange, RateTable};
use rates_snapshot::Snapshot;
use rates_store::StoredRateTable;
use time::Date;

use super::as_of::{find_day_at, nearest_before_at, range_at};
use super::days::shape;
use super::rates::{cache_key, freshness_of_path};
use crate::conditional::{EtagBuilder, StreamValidators};
use crate::error::ApiError;
use crate::formats::Format;
use crate::request::{RatesParams, RatesPath};
use crate::state::ApiState;
use crate::streaming::DaysBody;

/// Answers `path` in `format` (CSV or NDJSON), with the same validators and 304s as JSON.
pub(super) fn serve(
    state: &ApiState,
    request: &HttpRequest,
    path: RatesPath,
    params: RatesParams,
    format: Format,
) -> Result<HttpResponse, ApiError> {
    let snapshot = state.snapshot().current();
    // The days answered: one (`latest`, a day, with `fallback` and `as_of` applied), or those
    // held in the range.
    let range = match path {
        RatesPath::Latest | RatesPath::Day(_) => {
            let date = match path {
                RatesPath::Day(date) => Some(date),
                _ => None,
            };
            let found = find_day_at(&snapshot, date, params.fallback, params.as_of)?;
            DateRange::day(found.stored.table.date())
        }
        RatesPath::Range(range) => range,
    };

    let mut etag = EtagBuilder::new();
    etag.update(format.as_str().as_bytes());
    etag.update(cache_key(path, &params).as_bytes());
    let mut last_changed = None;
    for stored in range_at(&snapshot, range, params.as_of) {
        check_shapeable(&stored.table, &params)?;
        feed_table(&mut etag, &stored.table);
        last_changed = last_changed.max(Some(stored.last_changed));
    }
    let Some(last_changed) = last_changed else {
        let nearest = nearest_before_at(&snapshot, range.start(), params.as_of);
        return Err(ApiError::RangeNotFound { range, nearest });
    };

    let validators = StreamValidators::new(
        &etag.finish(),
        Some(SystemTime::from(last_changed)),
        freshness_of_path(path, today_utc()),
    );
    match validators.respond(request.headers()) {
        Ok(not_modified) => Ok(not_modified),
        Err(mut response) => {
            let group = params.group;
            let days = SnapshotDays {
                snapshot,
                next: Some(range.start()),
                end: range.end(),
                params,
            };
            Ok(response
                .insert_header((header::CONTENT_TYPE, format.content_type()))
                .body(DaysBody::new(format, group, days)))
        }
    }
}

/// The 404s [`shape`] would give mid-stream, found up front: `base` and every symbol must be
/// held on every day.
fn check_shapeable(table: &RateTable, params: &RatesParams) -> Result<(), ApiError> {
    let wanted = params.base.iter().chain(&params.symbols);
    match wanted.into_iter().find(|&&currency| !table.holds(currency)) {
        Some(&currency) => Err(ApiError::CurrencyNotFound {
            currency,
            date: table.date(),
        }),
        None => Ok(()),
    }
}

/// Feeds a table's date and values, exactly, to an ETag.
fn feed_table(etag: &mut EtagBuilder, table: &RateTable) {
    etag.update(&table.date().to_julian_day().to_le_bytes());
    etag.update(table.base().as_str().as_bytes());
    for (currency, rate) in table.rates() {
        etag.update(currency.as_str().as_bytes());
        etag.update(&rate.get().to_bits().to_le_bytes());
    }
}

/// The days of a range in one snapshot, shaped, one at a time: owns its `Arc<Snapshot>` (the
/// body outlives the handler) and finds each next day by binary search, so it holds no list of
/// days however long the range.
struct SnapshotDays {
    snapshot: Arc<Snapshot>,
    /// The first date not yet looked at; `None` once past the end.
    next: Option<Date>,
    end: Date,
    params: RatesParams,
}

impl Iterator for SnapshotDays {
    type Item = Result<RateTable, ApiError>;

    fn next(&mut self) -> Option<Result<RateTable, ApiError>> {
        loop {
            let from = self.next?;
            let range = DateRange::new(from, self.end).ok()?;
            let stored = self.snapshot.range(range).next()?;
            self.next = stored.table.date().next_day();
            let table: Cow<'_, StoredRateTable> = match self.params.as_of {
                None => Cow::Borrowed(stored),
                Some(instant) => match self.snapshot.as_of(stored, instant) {
                    Some(then) => Cow::Owned(then),
                    None => continue,
                },
            };
            return Some(shape(&table.table, &self.params).map(Cow::into_owned));
        }
    }
}
