//! Read-through (`fetch.on_demand`): the API's [`rates_api::ReadThrough`] hook, answered by
//! `rates-ingest`'s [`rates_ingest::ReadThrough`]. The one place the two crates meet, so the API
//! never depends on the ingest.

use std::sync::Arc;

use rates_api::Metrics;
use rates_domain::format_date;
use rates_ingest::{Fetched, NotHeld, ReadThrough};
use rates_store::StoredRateTable;
use time::Date;

/// `rates-ingest`'s read-through, as the API calls it; the Fixer requests it makes are counted
/// in the server's metrics (`rates_fixer_requests_total{endpoint="historical"}`).
#[derive(Debug)]
pub(crate) struct IngestReadThrough {
    pub(crate) read_through: ReadThrough,
    pub(crate) metrics: Option<Arc<Metrics>>,
}

impl rates_api::ReadThrough for IngestReadThrough {
    fn fetch_day(&self, date: Date, today: Date) -> Option<StoredRateTable> {
        let spent_before = self.read_through.requests_spent(today);
        let fetched = self.read_through.fetch(date, today);
        let sent = self
            .read_through
            .requests_spent(today)
            .saturating_sub(spent_before);
        if let Some(metrics) = self.metrics.as_ref().filter(|_| sent > 0) {
            let outcome = match &fetched {
                Fetched::Held(_) => "ok",
                Fetched::NotHeld(NotHeld::NoData) => "no_data",
                Fetched::NotHeld(_) => "error",
            };
            metrics.record_fixer_requests("historical", outcome, u64::from(sent));
        }
        match fetched {
            Fetched::Held(stored) => Some(stored),
            Fetched::NotHeld(reason) => {
                // Reasons worth an operator's attention are logged once by the read-through.
                log::debug!("read-through of {}: {reason}", format_date(date));
                None
            }
        }
    }
}
