//! Which dates an ingest fetches, and what that costs in Fixer requests.

use std::collections::BTreeSet;

use rates_domain::{Currency, DateRange};
use time::Date;

use crate::error::IngestError;

/// The longest range one `timeseries` request may cover, both ends included.
pub const MAX_TIMESERIES_DAYS: u32 = 365;

/// Which dates to ingest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DateSelection {
    /// The N calendar days ending today (UTC), today included.
    LastDays(u32),
    /// These dates (from `--date` and `--from/--to`, merged).
    Dates(BTreeSet<Date>),
}

impl DateSelection {
    /// The dates selected, given today's date; an empty selection or a date after today is an
    /// error (Fixer has no rates for the future).
    pub fn resolve(&self, today: Date) -> Result<BTreeSet<Date>, IngestError> {
        let dates: BTreeSet<Date> = match self {
            DateSelection::LastDays(days) => DateRange::ending(today, *days)
                .map_err(|error| IngestError::InvalidSelection(error.to_string()))?
                .iter()
                .collect(),
            DateSelection::Dates(dates) => dates.clone(),
        };
        if dates.is_empty() {
            return Err(IngestError::InvalidSelection(
                "no dates selected".to_owned(),
            ));
        }
        if let Some(last) = dates.last().filter(|last| **last > today) {
            return Err(IngestError::DateAfterToday { date: *last, today });
        }
        Ok(dates)
    }
}

/// What an ingest run will do: the dates to fetch, and what it asks Fixer for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The dates to fetch, ascending.
    pub dates: Vec<Date>,
    /// Dates selected but skipped because they are already stored (`--only-missing`), ascending.
    pub already_held: Vec<Date>,
    /// The base currency requested.
    pub base: Currency,
    /// The currencies requested; empty means all.
    pub symbols: Vec<Currency>,
    /// Whether currency names will be fetched (one `symbols` request): only when none are held.
    pub fetch_names: bool,
    /// Requests in flight at most (at least 1).
    pub concurrency: usize,
}

/// The Fixer requests a plan will cost, for `--dry-run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestCost {
    /// With the timeseries endpoint (Professional plans and up).
    pub with_timeseries: u32,
    /// With one `historical` request per date (what the Free and Basic plans allow).
    pub per_date: u32,
    /// Of which for currency names (0 or 1), included in both figures.
    pub names: u32,
}

impl Plan {
    /// The ranges the timeseries requests would cover: consecutive planned dates grouped into
    /// spans of at most [`MAX_TIMESERIES_DAYS`] days (gaps of held dates inside a span cost nothing
    /// extra). A plan of a single date uses `historical` instead and has no spans.
    pub fn timeseries_spans(&self) -> Vec<DateRange> {
        if self.dates.len() < 2 {
            return Vec::new();
        }
        let mut spans = Vec::new();
        let mut dates = self.dates.iter().copied();
        let Some(mut start) = dates.next() else {
            return spans;
        };
        let mut end = start;
        for date in dates {
            if (date - start).whole_days() >= i64::from(MAX_TIMESERIES_DAYS) {
                spans.extend(DateRange::new(start, end).ok());
                start = date;
            }
            end = date;
        }
        spans.extend(DateRange::new(start, end).ok());
        spans
    }

    /// What the plan costs, at most (a timeseries answer that leaves dates out costs nothing more;
    /// a `105` on the first timeseries request costs that request plus one per date).
    pub fn request_cost(&self) -> RequestCost {
        let names = u32::from(self.fetch_names && !self.dates.is_empty());
        let per_date = u32::try_from(self.dates.len()).unwrap_or(u32::MAX);
        let with_timeseries = if self.dates.len() < 2 {
            per_date
        } else {
            u32::try_from(self.timeseries_spans().len()).unwrap_or(u32::MAX)
        };
        RequestCost {
            with_timeseries: with_timeseries.saturating_add(names),
            per_date: per_date.saturating_add(names),
            names,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn plan(dates: impl IntoIterator<Item = Date>) -> Plan {
        Plan {
            dates: dates.into_iter().collect(),
            already_held: Vec::new(),
            base: Currency::EUR,
            symbols: Vec::new(),
            fetch_names: false,
            concurrency: 1,
        }
    }

    #[test]
    fn the_default_window_is_the_n_days_ending_today() {
        let dates = DateSelection::LastDays(10)
            .resolve(date!(2026 - 11 - 28))
            .unwrap();
        assert_eq!(dates.len(), 10);
        assert_eq!(dates.first(), Some(&date!(2026 - 11 - 19)));
        assert_eq!(dates.last(), Some(&date!(2026 - 11 - 28)));
    }

    #[test]
    fn future_dates_and_empty_selections_are_refused() {
        let today = date!(2026 - 11 - 28);
        let future = DateSelection::Dates([date!(2026 - 11 - 29)].into());
        assert!(matches!(
            future.resolve(today),
            Err(IngestError::DateAfterToday { .. })
        ));
        assert!(DateSelection::Dates(BTreeSet::new())
            .resolve(today)
            .is_err());
        assert!(DateSelection::LastDays(0).resolve(today).is_err());
    }

    #[test]
    fn spans_cover_at_most_365_days_each() {
        let two_years = DateRange::new(date!(2023 - 01 - 01), date!(2024 - 12 - 30)).unwrap();
        let spans = plan(two_years.iter()).timeseries_spans();
        assert_eq!(spans.len(), 2);
        assert_eq!(spans[0].len_days(), 365);
        assert_eq!(spans[1].start(), date!(2024 - 01 - 01));
        assert_eq!(spans[1].end(), date!(2024 - 12 - 30));
        let one_more = DateRange::new(date!(2023 - 01 - 01), date!(2024 - 12 - 31)).unwrap();
        assert_eq!(plan(one_more.iter()).timeseries_spans().len(), 3);
        let sparse = plan([
            date!(2024 - 01 - 01),
            date!(2024 - 06 - 01),
            date!(2024 - 12 - 30),
        ]);
        assert_eq!(sparse.timeseries_spans().len(), 1);
        assert!(plan([date!(2024 - 01 - 01)]).timeseries_spans().is_empty());
    }

    #[test]
    fn the_cost_counts_names_once_and_a_single_date_as_one_request() {
        let mut ten = plan(DateRange::ending(date!(2024 - 03 - 10), 10).unwrap().iter());
        assert_eq!(
            ten.request_cost(),
            RequestCost {
                with_timeseries: 1,
                per_date: 10,
                names: 0
            }
        );
        ten.fetch_names = true;
        assert_eq!(
            ten.request_cost(),
            RequestCost {
                with_timeseries: 2,
                per_date: 11,
                names: 1
            }
        );
        let one = plan([date!(2024 - 03 - 10)]);
        assert_eq!(
            one.request_cost(),
            RequestCost {
                with_timeseries: 1,
                per_date: 1,
                names: 0
            }
        );
        let none = Plan {
            fetch_names: true,
            ..plan([])
        };
        assert_eq!(
            none.request_cost(),
            RequestCost {
                with_timeseries: 0,
                per_date: 0,
                names: 0
            }
        );
    }
}
