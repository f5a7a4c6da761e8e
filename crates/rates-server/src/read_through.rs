//! Read-through (`fetch.on_demand`): the API's [`rates_api::ReadThrough`] hook, answered by
//! `rates-ingest`'s [`rates_ingest::ReadThrough`]. The one place the two crates meet, so the API
//! never depends on the ingest.

use rates_domain::format_date;
use rates_ingest::{Fetched, ReadThrough};
use rates_store::StoredRateTable;
use time::Date;

/// `rates-ingest`'s read-through, as the API calls it.
#[derive(Debug)]
pub(crate) struct IngestReadThrough(pub(crate) ReadThrough);

impl rates_api::ReadThrough for IngestReadThrough {
    fn fetch_day(&self, date: Date, today: Date) -> Option<StoredRateTable> {
        match self.0.fetch(date, today) {
            Fetched::Held(stored) => Some(stored),
            Fetched::NotHeld(reason) => {
                // Reasons worth an operator's attention are logged once by the read-through.
                log::debug!("read-through of {}: {reason}", format_date(date));
                None
            }
        }
    }
}
