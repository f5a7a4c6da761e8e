//! What an ingest did: a line per date, totals, requests made, the quota left, and the one
//! summary line both binaries print or log. `Serialize` gives the JSON of `rates-cli --json`.

use std::fmt;
use std::time::Duration;

use fixer_client::Quota;
use rates_domain::{format_date, Currency};
use rates_store::WriteCounts;
use serde::ser::{SerializeMap, SerializeStruct};
use serde::{Serialize, Serializer};
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
    /// Nothing of this date was written because the run stopped before fetching it: on a failure
    /// every date would repeat (the reason is given once, in [`Report::stop`]) or because it was
    /// cancelled ([`Report::cancelled`]).
    RunStopped,
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

/// `2024-01-02  inserted 30, updated 1`, `2024-01-02  FAILED: reason` or
/// `2024-01-02  not fetched: the run stopped`.
impl fmt::Display for DateReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let date = format_date(self.date);
        match &self.outcome {
            DateOutcome::Stored(counts) => write!(f, "{date}  {}", counts_text(counts)),
            DateOutcome::Failed { reason } => write!(f, "{date}  FAILED: {reason}"),
            DateOutcome::RunStopped => write!(f, "{date}  not fetched: the run stopped"),
        }
    }
}

impl Serialize for DateReport {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("date", &format_date(self.date))?;
        match &self.outcome {
            DateOutcome::Stored(counts) => {
                let status = if counts.updated > 0 {
                    "updated"
                } else if counts.inserted > 0 {
                    "inserted"
                } else {
                    "unchanged"
                };
                map.serialize_entry("status", status)?;
                map.serialize_entry("inserted", &counts.inserted)?;
                map.serialize_entry("updated", &counts.updated)?;
                map.serialize_entry("unchanged", &counts.unchanged)?;
            }
            DateOutcome::Failed { reason } => {
                map.serialize_entry("status", "failed")?;
                map.serialize_entry("reason", reason)?;
            }
            DateOutcome::RunStopped => map.serialize_entry("status", "stopped")?,
        }
        map.end()
    }
}

/// How the rates were fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
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

impl Serialize for NamesOutcome {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        match self {
            NamesOutcome::AlreadyHeld => map.serialize_entry("status", "already-held")?,
            NamesOutcome::Stored(count) => {
                map.serialize_entry("status", "stored")?;
                map.serialize_entry("count", count)?;
            }
            NamesOutcome::Failed { reason } => {
                map.serialize_entry("status", "failed")?;
                map.serialize_entry("reason", reason)?;
            }
            NamesOutcome::NotAsked => map.serialize_entry("status", "not-asked")?,
        }
        map.end()
    }
}

/// Why a run stopped early: a failure that every further request would repeat (a refused key, a
/// used-up quota, an unreachable Fixer, HTTPS on the free plan...). Said once, with what to fix,
/// instead of once per date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunStop {
    /// What to change so the next run works, naming the setting (e.g.
    /// `set FIXER_BASE_URL=http://data.fixer.io/api`).
    pub fix: String,
    /// The failure as the Fixer client reported it.
    pub error: String,
    /// How many dates were not stored because of it.
    pub dates: usize,
}

/// One line: `stopped, N date(s) not stored: what to fix (the error)`.
impl fmt::Display for RunStop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "stopped, {} date(s) not stored: {} ({})",
            self.dates, self.fix, self.error
        )
    }
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
    /// Why the run stopped before its end, if a failure every date would repeat stopped it.
    pub stop: Option<RunStop>,
    /// The run was cancelled ([`Cancellation`](crate::Cancellation)) before it fetched every
    /// date: the dates it did not fetch are [`DateOutcome::RunStopped`].
    pub cancelled: bool,
    /// Wall-clock time of the run.
    pub elapsed: Duration,
}

impl Report {
    /// Whether every planned date was stored.
    pub fn succeeded(&self) -> bool {
        self.dates.iter().all(DateReport::succeeded)
    }

    /// The dates that were not stored (failed, or not fetched after a stop), ascending.
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

    /// The run on one line, for `rates-cli ingest` and the server's log:
    ///
    /// `10 date(s) 2024-01-02..2024-01-11: 10 stored, 0 failed; rates inserted 290, updated 0,
    /// unchanged 0; Fixer requests: 2 (timeseries); currency names stored: 170; 0.81s`
    ///
    /// Failed dates are named (as ranges), not their reasons (those are on each date's line),
    /// except the reason that stopped the run, which ends the line.
    pub fn summary(&self) -> String {
        let failed = self.failed_dates();
        let mut line = match (self.dates.first(), self.dates.last()) {
            (Some(first), Some(last)) => format!(
                "{} date(s) {}: {} stored, {} failed",
                self.dates.len(),
                if first.date == last.date {
                    format_date(first.date)
                } else {
                    format!("{}..{}", format_date(first.date), format_date(last.date))
                },
                self.stored_count(),
                failed.len()
            ),
            _ => "nothing to fetch".to_owned(),
        };
        if !failed.is_empty() {
            line.push_str(&format!(" ({})", compact_dates(&failed)));
        }
        if !self.already_held.is_empty() {
            line.push_str(&format!(", {} already held", self.already_held.len()));
        }
        line.push_str(&format!(
            "; rates inserted {}, updated {}, unchanged {}; Fixer requests: {}",
            thousands(self.totals.inserted),
            thousands(self.totals.updated),
            thousands(self.totals.unchanged),
            self.requests
        ));
        match self.strategy {
            FetchStrategy::Timeseries => line.push_str(" (timeseries)"),
            FetchStrategy::PerDateAfterTimeseriesRefused => {
                line.push_str(" (timeseries not in the plan: one request per date)");
            }
            FetchStrategy::PerDate | FetchStrategy::Nothing => {}
        }
        if let Some(quota) = self.quota {
            match (quota.remaining_month, quota.limit_month) {
                (Some(left), Some(limit)) => {
                    line.push_str(&format!("; quota left this month: {left} of {limit}"));
                }
                (Some(left), None) => line.push_str(&format!("; quota left this month: {left}")),
                _ => {}
            }
        }
        match &self.names {
            NamesOutcome::Stored(count) => {
                line.push_str(&format!("; currency names stored: {count}"));
            }
            // A stopped run says why once, below.
            NamesOutcome::Failed { reason } if self.stop.is_none() => {
                line.push_str(&format!("; currency names not stored: {reason}"));
            }
            NamesOutcome::Failed { .. } | NamesOutcome::AlreadyHeld | NamesOutcome::NotAsked => {}
        }
        line.push_str(&format!("; {:.2}s", self.elapsed.as_secs_f64()));
        if let Some(stop) = &self.stop {
            line.push_str(&format!("; {stop}"));
        }
        if self.cancelled {
            let not_fetched = self
                .dates
                .iter()
                .filter(|date| date.outcome == DateOutcome::RunStopped)
                .count();
            line.push_str(&format!("; cancelled, {not_fetched} date(s) not fetched"));
        }
        line
    }
}

impl Serialize for Report {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut report = serializer.serialize_struct("Report", 15)?;
        report.serialize_field("succeeded", &self.succeeded())?;
        report.serialize_field("base", self.base.as_str())?;
        report.serialize_field("dates", &self.dates)?;
        report.serialize_field("already_held", &DateList(&self.already_held))?;
        report.serialize_field("failed", &DateList(&self.failed_dates()))?;
        report.serialize_field("totals", &Counts(&self.totals))?;
        report.serialize_field("requests", &self.requests)?;
        report.serialize_field("strategy", &self.strategy)?;
        report.serialize_field("quota", &self.quota.as_ref().map(QuotaFigures))?;
        report.serialize_field("names", &self.names)?;
        report.serialize_field("stop", &self.stop)?;
        report.serialize_field("cancelled", &self.cancelled)?;
        report.serialize_field(
            "elapsed_ms",
            &u64::try_from(self.elapsed.as_millis()).unwrap_or(u64::MAX),
        )?;
        report.serialize_field("summary", &self.summary())?;
        report.end()
    }
}

/// Dates as `YYYY-MM-DD` strings.
pub(crate) struct DateList<'a>(pub(crate) &'a [Date]);

impl Serialize for DateList<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|date| format_date(*date)))
    }
}

/// Write counts as `{"inserted", "updated", "unchanged"}` (the store has no serde).
pub(crate) struct Counts<'a>(pub(crate) &'a WriteCounts);

impl Serialize for Counts<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut counts = serializer.serialize_struct("WriteCounts", 3)?;
        counts.serialize_field("inserted", &self.0.inserted)?;
        counts.serialize_field("updated", &self.0.updated)?;
        counts.serialize_field("unchanged", &self.0.unchanged)?;
        counts.end()
    }
}

/// Fixer's quota headers (the client type has no serde).
struct QuotaFigures<'a>(&'a Quota);

impl Serialize for QuotaFigures<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut quota = serializer.serialize_struct("Quota", 4)?;
        quota.serialize_field("limit_month", &self.0.limit_month)?;
        quota.serialize_field("remaining_month", &self.0.remaining_month)?;
        quota.serialize_field("limit_day", &self.0.limit_day)?;
        quota.serialize_field("remaining_day", &self.0.remaining_day)?;
        quota.end()
    }
}

/// `inserted 3, updated 1`, leaving out zeros; `nothing to store` when all are zero.
fn counts_text(counts: &WriteCounts) -> String {
    let parts: Vec<String> = [
        ("inserted", counts.inserted),
        ("updated", counts.updated),
        ("unchanged", counts.unchanged),
    ]
    .into_iter()
    .filter(|(_, n)| *n > 0)
    .map(|(label, n)| format!("{label} {}", thousands(n)))
    .collect();
    if parts.is_empty() {
        "nothing to store".to_owned()
    } else {
        parts.join(", ")
    }
}

/// Consecutive dates written as ranges: `2024-01-01..2024-01-31, 2024-03-05`.
pub fn compact_dates(dates: &[Date]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut iter = dates.iter().copied().peekable();
    while let Some(start) = iter.next() {
        let mut end = start;
        while let Some(next) = iter
            .peek()
            .copied()
            .filter(|next| end.next_day() == Some(*next))
        {
            end = next;
            iter.next();
        }
        parts.push(if start == end {
            format_date(start)
        } else {
            format!("{}..{}", format_date(start), format_date(end))
        });
    }
    parts.join(", ")
}

/// `1234567` as `1,234,567`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn consecutive_dates_are_shown_as_ranges() {
        let dates = [
            date!(2024 - 01 - 30),
            date!(2024 - 01 - 31),
            date!(2024 - 02 - 01),
            date!(2024 - 02 - 05),
        ];
        assert_eq!(compact_dates(&dates), "2024-01-30..2024-02-01, 2024-02-05");
        assert_eq!(compact_dates(&[]), "");
    }

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }

    fn report(dates: Vec<DateReport>, stop: Option<RunStop>) -> Report {
        Report {
            base: Currency::EUR,
            dates,
            already_held: vec![date!(2024 - 01 - 01)],
            totals: WriteCounts {
                inserted: 1200,
                updated: 1,
                unchanged: 0,
            },
            requests: 3,
            quota: Some(Quota {
                limit_month: Some(100),
                remaining_month: Some(97),
                ..Quota::default()
            }),
            strategy: FetchStrategy::PerDateAfterTimeseriesRefused,
            names: NamesOutcome::Failed {
                reason: "symbols: refused".to_owned(),
            },
            stop,
            cancelled: false,
            elapsed: Duration::from_millis(1500),
        }
    }

    fn stored(date: Date) -> DateReport {
        DateReport {
            date,
            outcome: DateOutcome::Stored(WriteCounts {
                inserted: 1200,
                updated: 1,
                unchanged: 0,
            }),
        }
    }

    #[test]
    fn the_summary_names_counts_requests_quota_and_failed_dates() {
        let failed = DateReport {
            date: date!(2024 - 01 - 03),
            outcome: DateOutcome::Failed {
                reason: "boom".to_owned(),
            },
        };
        let report = report(vec![stored(date!(2024 - 01 - 02)), failed], None);
        assert_eq!(
            report.summary(),
            "2 date(s) 2024-01-02..2024-01-03: 1 stored, 1 failed (2024-01-03), 1 already held; \
             rates inserted 1,200, updated 1, unchanged 0; Fixer requests: 3 (timeseries not in \
             the plan: one request per date); quota left this month: 97 of 100; currency names \
             not stored: symbols: refused; 1.50s"
        );
    }

    #[test]
    fn a_stopped_run_gives_its_reason_once_at_the_end() {
        let stop = RunStop {
            fix: "check FIXER_ACCESS_KEY".to_owned(),
            error: "historical: Fixer error 101".to_owned(),
            dates: 2,
        };
        let not_fetched = |date| DateReport {
            date,
            outcome: DateOutcome::RunStopped,
        };
        let report = report(
            vec![
                not_fetched(date!(2024 - 01 - 02)),
                not_fetched(date!(2024 - 01 - 03)),
            ],
            Some(stop),
        );
        let summary = report.summary();
        assert!(
            summary.ends_with(
                "; stopped, 2 date(s) not stored: check FIXER_ACCESS_KEY (historical: Fixer error 101)"
            ),
            "{summary}"
        );
        assert_eq!(summary.matches("Fixer error 101").count(), 1, "{summary}");
        assert!(!summary.contains("symbols: refused"), "{summary}");
    }

    #[test]
    fn the_json_has_a_line_per_date_and_the_summary() -> Result<(), serde_json::Error> {
        let report = report(vec![stored(date!(2024 - 01 - 02))], None);
        let json = serde_json::to_value(&report)?;
        assert_eq!(json["dates"][0]["date"], "2024-01-02");
        assert_eq!(json["dates"][0]["status"], "updated");
        assert_eq!(json["already_held"][0], "2024-01-01");
        assert_eq!(json["totals"]["inserted"], 1200);
        assert_eq!(json["strategy"], "per-date-after-timeseries-refused");
        assert_eq!(json["quota"]["remaining_month"], 97);
        assert_eq!(json["names"]["status"], "failed");
        assert_eq!(json["stop"], serde_json::Value::Null);
        assert_eq!(json["elapsed_ms"], 1500);
        assert_eq!(json["summary"], report.summary());
        Ok(())
    }
}
