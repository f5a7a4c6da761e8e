//! Read-through on the request path (`fetch.on_demand`): a request for a past date that is not
//! held, on either API, first has that date fetched from upstream and stored, then is answered
//! from the snapshot, into which the stored day is put at once.
//!
//! The fetching itself ([`ReadThrough`]) lives outside this crate (the server wires in
//! `rates-ingest`'s, which sends one Fixer request per date across concurrent requests and
//! servers, within a daily budget). Here it is only called: on a blocking thread, never on an
//! async worker, and at most [`MAX_FETCHES_IN_FLIGHT`] at a time; requests beyond that wait
//! without holding a thread. When the fetch cannot be made (budget spent, Fixer failing, the
//! database unavailable, ...) the request gets the normal "not held" answer.

use std::fmt;
use std::sync::Arc;

use actix_web::web;
use rates_domain::today_utc;
use rates_snapshot::DatabaseState;
use rates_store::StoredRateTable;
use time::Date;
use tokio::sync::Semaphore;

use crate::state::ApiState;

/// Read-through calls running at once, per process.
pub const MAX_FETCHES_IN_FLIGHT: usize = 4;

/// Fetches one missing past date and stores it; implemented over `rates-ingest` by the server.
pub trait ReadThrough: Send + Sync + fmt::Debug {
    /// Makes `date` held if it can (fetching and storing it, or finding it stored meanwhile) and
    /// returns its table as stored; `None` when it stays not held. `today` is the current UTC
    /// date. Blocking.
    fn fetch_day(&self, date: Date, today: Date) -> Option<StoredRateTable>;
}

/// The read-through a state holds, with the permits bounding its calls.
#[derive(Debug)]
pub(crate) struct ReadThroughSlot {
    fetcher: Arc<dyn ReadThrough>,
    permits: Semaphore,
}

impl ReadThroughSlot {
    pub(crate) fn new(fetcher: Arc<dyn ReadThrough>) -> ReadThroughSlot {
        ReadThroughSlot {
            fetcher,
            permits: Semaphore::new(MAX_FETCHES_IN_FLIGHT),
        }
    }
}

/// Brings a past `date` that the snapshot does not hold in from upstream when read-through is
/// on; whether the snapshot holds it now. Free when read-through is off or the date is held.
pub(crate) async fn bring_in(state: &ApiState, date: Date) -> bool {
    let Some(slot) = state.read_through() else {
        return false;
    };
    if state.snapshot().current().day(date).is_some() {
        return true;
    }
    let today = today_utc();
    if date >= today {
        return false;
    }
    // A fetched day could not be stored, and the read-through's own store reads would wait for
    // the pool's checkout timeout: while the database is out, missing dates stay not held.
    if state.snapshot().status().database == DatabaseState::Unavailable {
        return false;
    }
    let Ok(_permit) = slot.permits.acquire().await else {
        return false;
    };
    // Another request may have brought it in while this one waited.
    if state.snapshot().current().day(date).is_some() {
        return true;
    }
    let fetcher = Arc::clone(&slot.fetcher);
    let fetched = match web::block(move || fetcher.fetch_day(date, today)).await {
        Ok(fetched) => fetched,
        Err(error) => {
            log::warn!("read-through could not run: {error}");
            None
        }
    };
    let Some(stored) = fetched else {
        return false;
    };
    match state.snapshot().insert_days(vec![stored]) {
        Ok(()) => true,
        Err(error) => {
            log::warn!("read-through: the fetched day cannot be served: {error}");
            false
        }
    }
}
