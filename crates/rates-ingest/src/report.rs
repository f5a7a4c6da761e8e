//! What an ingest did: a line per date, totals, requests made and the quota left.

use std::time::Duration;

use fixer_client::Quota;
use rates_domain::Currency;
use rates_store::WriteCounts;
use time::Date;

/// What happened to one date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DateOutcome {
    /// Fetched, validated and stored in one transaction.
    Stored(WriteCounts),
    /// Nothing of this date was written.
    Failed {
        /// Why: Fixer's message, the validation error or the database error.
        reason: String,
    },
}

/// One date's line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateReport {
    /// The date.
    pub date: Date,
    /// What happened to it.
    pub outcome: DateOutcome,
}

impl DateReport {
    /// Whether the date was stored.
    pub fn succeeded(&self) -> bool {
        matches!(self.outcome, DateOutcome::Stored(_))
    }
}

/// How the rates were fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchStrategy {
    /// No date needed fetching.
    Nothing,
    /// One `historical` request per date (a single-date plan).
    PerDate,
    /// `timeseries` requests of up to 365 days each.
    Timeseries,
    /// `timeseries` was refused with 105 (the plan lacks it): one `historical` request per date.
    PerDateAfterTimeseriesRefused,
}

/// What became of the currency names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NamesOutcome {
    /// Names were already held: no request made.
    AlreadyHeld,
    /// Fetched from Fixer's `symbols` endpoint; this many stored.
    Stored(usize),
    /// The `symbols` request or storing failed; the rates are unaffected.
    Failed {
        /// Why.
        reason: String,
    },
    /// The run stopped before asking (nothing to fetch, or a failure affecting every request).
    NotAsked,
}

/// The whole run's report.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The base requested.
    pub base: Currency,
    /// One entry per planned date, ascending.
    pub dates: Vec<DateReport>,
    /// Dates skipped because they were already stored (`--only-missing`), ascending.
    pub already_held: Vec<Date>,
    /// Rates inserted / updated / unchanged, over every stored date.
    pub totals: WriteCounts,
    /// Requests sent to Fixer (each call once; retries of a transient failure are not counted
    /// separately).
    pub requests: u32,
    /// The quota figures of the last answer that carried them (the lowest remaining count).
    pub quota: Option<Quota>,
    /// How the dates were fetched.
    pub strategy: FetchStrategy,
    /// What became of the currency names.
    pub names: NamesOutcome,
    /// Wall-clock time of the run.
    pub elapsed: Duration,
}

impl Report {
    /// Whether every planned date was stored.
    pub fn succeeded(&self) -> bool {
        self.dates.iter().all(DateReport::succeeded)
    }

    /// The dates that failed, ascending.
    pub fn failed_dates(&self) -> Vec<Date> {
        self.dates
            .iter()
            .filter(|report| !report.succeeded())
            .map(|report| report.date)
            .collect()
    }

    /// How many dates were stored.
    pub fn stored_count(&self) -> usize {
        self.dates
            .iter()
            .filter(|report| report.succeeded())
            .count()
    }
}
