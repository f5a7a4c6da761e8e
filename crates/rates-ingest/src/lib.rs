#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

mod cancel;
pub mod ecb;
mod error;
mod plan;
mod read_through;
mod report;
mod run;
mod scheduled;

use std::collections::BTreeSet;

use fixer_client::{AuthStyle, RetryPolicy};
use rates_domain::{Currency, DateRange};
use rates_settings::{FixerSettings, IngestSettings};
use rates_store::Store;
use time::Date;

pub use cancel::Cancellation;
pub use error::IngestError;
/// The Fixer client types an ingest takes and reports, and the log target that must be capped at
/// `info` because the HTTP library logs request lines (access key included) at `debug`.
pub use fixer_client::{Client, Quota, HTTP_LOG_TARGET};
pub use plan::{DateSelection, Plan, RequestCost, MAX_TIMESERIES_DAYS};
pub use read_through::{
    Fetched, NotHeld, ReadThrough, ReadThroughConfig, FAILURE_PAUSE, NO_DATA_TTL,
};
pub use report::{
    compact_dates, DateOutcome, DateReport, FetchStrategy, NamesOutcome, Report, RunStop,
};
pub use run::ingest;
pub use scheduled::{ScheduledIngest, ScheduledOutcome};

/// What to ingest: the dates, what to ask Fixer for, and how many requests to keep in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestOptions {
    /// The dates.
    pub selection: DateSelection,
    /// The base currency requested (EUR on Fixer's free plan).
    pub base: Currency,
    /// The currencies requested; empty means all.
    pub symbols: Vec<Currency>,
    /// Skip dates already stored for this base.
    pub only_missing: bool,
    /// Requests in flight at most (at least 1).
    pub concurrency: usize,
}

impl IngestOptions {
    /// The options the settings describe: the last `ingest.days` days, `ingest.base`,
    /// `ingest.symbols`, `ingest.concurrency`, all dates (not only missing ones).
    pub fn from_settings(settings: &IngestSettings) -> Result<IngestOptions, IngestError> {
        Ok(IngestOptions {
            selection: DateSelection::LastDays(settings.days),
            base: Currency::parse(&settings.base)?,
            symbols: settings
                .symbols
                .iter()
                .map(|code| Currency::parse(code))
                .collect::<Result<_, _>>()?,
            only_missing: false,
            concurrency: settings.concurrency.max(1),
        })
    }
}

/// Builds the Fixer client the settings describe (base URL, access key, auth style, timeout,
/// retries). A missing access key is an error naming `fixer.access_key`.
pub fn client_from_settings(settings: &FixerSettings) -> Result<Client, IngestError> {
    configured_client(
        settings,
        RetryPolicy::with_max_retries(settings.max_retries),
    )
}

/// The client the settings describe, with `retry_policy` instead of `fixer.max_retries`.
pub(crate) fn configured_client(
    settings: &FixerSettings,
    retry_policy: RetryPolicy,
) -> Result<Client, IngestError> {
    let key = settings.require_access_key()?;
    let mut builder = Client::builder()
        .base_url(settings.base_url.as_str())
        .access_key(fixer_client::AccessKey::new(key.expose_secret()))
        .timeout(settings.timeout())
        .retry_policy(retry_policy);
    if let Some(style) = settings.auth_style {
        builder = builder.auth_style(match style {
            rates_settings::AuthStyle::Query => AuthStyle::Query,
            rates_settings::AuthStyle::Header => AuthStyle::Header,
        });
    }
    builder.build().map_err(IngestError::Client)
}

/// Plans an ingest (the first step of [`ingest`]): resolves the dates against `today` (UTC), leaves out those already stored when
/// `only_missing` is set, and decides whether currency names must be fetched (only when the
/// store holds none). Reads the store; fetches nothing.
pub fn plan(options: &IngestOptions, today: Date, store: &Store) -> Result<Plan, IngestError> {
    let selected = options.selection.resolve(today)?;
    let held: BTreeSet<Date> = match (options.only_missing, selected.first(), selected.last()) {
        (true, Some(first), Some(last)) => {
            let range = DateRange::new(*first, *last)
                .map_err(|error| IngestError::InvalidSelection(error.to_string()))?;
            store.dates_held(range, options.base)?
        }
        _ => BTreeSet::new(),
    };
    let (already_held, dates): (Vec<Date>, Vec<Date>) =
        selected.into_iter().partition(|date| held.contains(date));
    let fetch_names = !dates.is_empty() && store.currency_names_known()? == 0;
    Ok(Plan {
        dates,
        already_held,
        base: options.base,
        symbols: options.symbols.clone(),
        fetch_names,
        concurrency: options.concurrency.max(1),
    })
}
