//! Calendar periods (ISO week, month, year) and the mean of each period's daily rates.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use time::{Date, Duration, Month};

use crate::currency::Currency;
use crate::dates::format_date;
use crate::rate::{round_computed, Rate};
use crate::table::RateTable;

/// A calendar period daily rates can be grouped into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    /// An ISO 8601 week: Monday to Sunday.
    Week,
    /// A calendar month.
    Month,
    /// A calendar year.
    Year,
}

impl Period {
    /// Every period, in the order they are documented.
    pub const ALL: [Period; 3] = [Period::Week, Period::Month, Period::Year];

    /// The period's name as written in requests and answers: `week`, `month`, `year`.
    pub fn as_str(self) -> &'static str {
        match self {
            Period::Week => "week",
            Period::Month => "month",
            Period::Year => "year",
        }
    }

    /// The first day of the period holding `date`: the Monday of its ISO week, the 1st of its
    /// month or the 1st of January.
    pub fn start_of(self, date: Date) -> Date {
        match self {
            Period::Week => {
                let back = Duration::days(i64::from(date.weekday().number_days_from_monday()));
                // Only the first days of the calendar can lack a Monday before them.
                date.checked_sub(back).unwrap_or(Date::MIN)
            }
            Period::Month => date.replace_day(1).unwrap_or(date),
            Period::Year => {
                Date::from_calendar_date(date.year(), Month::January, 1).unwrap_or(date)
            }
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Period {
    type Err = PeriodError;

    /// Reads `week`, `month` or `year` (lower case, as documented).
    fn from_str(text: &str) -> Result<Period, PeriodError> {
        Period::ALL
            .into_iter()
            .find(|period| period.as_str() == text)
            .ok_or_else(|| PeriodError::Unknown {
                input: text.chars().take(32).collect(),
            })
    }
}

/// A text that names no [`Period`], or days given out of order to [`PeriodMeans`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    /// Not `week`, `month` or `year` (`day` is not a grouping: ungrouped ranges are daily).
    #[error(
        "unknown period {input:?}; use week, month or year (daily values are the ungrouped answer)"
    )]
    Unknown {
        /// The rejected text (shortened when long).
        input: String,
    },
    /// A day came before one already averaged: days must be given in date order.
    #[error(
        "rates for {} came after rates for {}: days must be given in date order",
        format_date(*date),
        format_date(*after)
    )]
    OutOfOrder {
        /// The day given.
        date: Date,
        /// The day given before it.
        after: Date,
    },
    /// A day in another base than the days before it.
    #[error("rates for {} are in base {base}, the days before in {expected}", format_date(*date))]
    MixedBases {
        /// The day given.
        date: Date,
        /// Its base.
        base: Currency,
        /// The base of the days before it.
        expected: Currency,
    },
}

/// The running mean of one currency within the current period.
#[derive(Debug, Clone, Copy)]
struct RunningMean {
    mean: f64,
    days: u32,
}

impl RunningMean {
    /// Welford's update: the mean stays within the values' range, so it cannot overflow even
    /// where their sum would.
    fn add(&mut self, value: f64) {
        self.days += 1;
        self.mean += (value - self.mean) / f64::from(self.days);
    }
}

/// Means of daily rate tables by period, computed as the days arrive in date order, so a whole
/// history can be averaged without holding it: [`push`](PeriodMeans::push) each day, collect the
/// periods it completes, then [`finish`](PeriodMeans::finish).
///
/// A period's mean for a currency is the arithmetic mean of that currency's values on the days
/// of the period that hold it (days without rates, such as weekends, do not count), rounded to
/// [`PRECISION`](crate::PRECISION) significant digits. The resulting table is dated with the
/// period's first calendar day ([`Period::start_of`]), whether or not that day holds rates.
#[derive(Debug, Clone)]
pub struct PeriodMeans {
    period: Period,
    current: Option<Current>,
}

#[derive(Debug, Clone)]
struct Current {
    start: Date,
    last_day: Date,
    base: Currency,
    means: BTreeMap<Currency, RunningMean>,
}

impl Current {
    fn table(&self) -> Option<RateTable> {
        let rates: BTreeMap<Currency, Rate> = self
            .means
            .iter()
            .filter_map(|(&currency, running)| {
                // The mean of positive finite values is positive and finite; rounding keeps it so.
                Rate::new(round_computed(running.mean))
                    .ok()
                    .map(|rate| (currency, rate))
            })
            .collect();
        RateTable::new(self.start, self.base, rates).ok()
    }
}

impl PeriodMeans {
    /// Starts averaging by `period`.
    pub fn new(period: Period) -> PeriodMeans {
        PeriodMeans {
            period,
            current: None,
        }
    }

    /// The period averaged by.
    pub fn period(&self) -> Period {
        self.period
    }

    /// Adds one day. When the day starts a new period, the finished previous period's means
    /// are returned. Days must come in date order and all in one base.
    pub fn push(&mut self, day: &RateTable) -> Result<Option<RateTable>, PeriodError> {
        let date = day.date();
        let start = self.period.start_of(date);
        let mut finished = None;
        match &mut self.current {
            Some(current) if current.last_day >= date => {
                return Err(PeriodError::OutOfOrder {
                    date,
                    after: current.last_day,
                });
            }
            Some(current) if current.base != day.base() => {
                return Err(PeriodError::MixedBases {
                    date,
                    base: day.base(),
                    expected: current.base,
                });
            }
            Some(current) if current.start == start => {}
            _ => {
                finished = self.current.take().and_then(|done| done.table());
            }
        }
        let current = self.current.get_or_insert_with(|| Current {
            start,
            last_day: date,
            base: day.base(),
            means: BTreeMap::new(),
        });
        current.last_day = date;
        for (&currency, rate) in day.rates() {
            current
                .means
                .entry(currency)
                .or_insert(RunningMean { mean: 0.0, days: 0 })
                .add(rate.get());
        }
        Ok(finished)
    }

    /// The means of the last period begun, if any day was pushed.
    pub fn finish(self) -> Option<RateTable> {
        self.current.and_then(|current| current.table())
    }
}

/// The means of `days` (in date order, one base) by `period`, one table per period that holds
/// at least one day, in date order. See [`PeriodMeans`] for how a mean is taken.
pub fn period_means<'a>(
    period: Period,
    days: impl IntoIterator<Item = &'a RateTable>,
) -> Result<Vec<RateTable>, PeriodError> {
    let mut means = PeriodMeans::new(period);
    let mut tables = Vec::new();
    for day in days {
        tables.extend(means.push(day)?);
    }
    tables.extend(means.finish());
    Ok(tables)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn day(date: Date, rates: &[(&str, f64)]) -> RateTable {
        RateTable::from_raw(date, Currency::EUR, rates.iter().copied()).unwrap()
    }

    #[test]
    fn periods_start_on_monday_the_first_and_new_year() {
        // 2024-01-01 was a Monday; 2026-01-01 a Thursday (ISO week 1 of 2026 starts 2025-12-29).
        assert_eq!(
            Period::Week.start_of(date!(2024 - 01 - 07)),
            date!(2024 - 01 - 01)
        );
        assert_eq!(
            Period::Week.start_of(date!(2024 - 01 - 08)),
            date!(2024 - 01 - 08)
        );
        assert_eq!(
            Period::Week.start_of(date!(2026 - 01 - 01)),
            date!(2025 - 12 - 29)
        );
        assert_eq!(
            Period::Month.start_of(date!(2024 - 02 - 29)),
            date!(2024 - 02 - 01)
        );
        assert_eq!(
            Period::Year.start_of(date!(2024 - 12 - 31)),
            date!(2024 - 01 - 01)
        );
        assert_eq!(Period::Week.start_of(Date::MIN), Date::MIN);
    }

    #[test]
    fn names_parse_back_and_day_is_refused() {
        for period in Period::ALL {
            assert_eq!(period.as_str().parse::<Period>(), Ok(period));
        }
        for bad in ["day", "Month", "", "weeks", "quarter"] {
            let error = bad.parse::<Period>().unwrap_err();
            assert!(error.to_string().contains("week, month or year"), "{error}");
        }
    }

    #[test]
    fn means_cover_the_days_holding_each_currency() {
        let days = [
            day(date!(2024 - 01 - 30), &[("USD", 1.0), ("GBP", 0.8)]),
            day(date!(2024 - 01 - 31), &[("USD", 2.0)]),
            day(date!(2024 - 02 - 01), &[("USD", 1.5), ("GBP", 0.9)]),
            day(date!(2024 - 02 - 02), &[("USD", 1.1), ("GBP", 0.7)]),
        ];
        let means = period_means(Period::Month, &days).unwrap();
        assert_eq!(means.len(), 2);
        let january = means.first().unwrap();
        assert_eq!(january.date(), date!(2024 - 01 - 01));
        assert_eq!(january.rate(Currency::USD).unwrap().get(), 1.5);
        assert_eq!(
            january.rate(Currency::parse("GBP").unwrap()).unwrap().get(),
            0.8
        );
        let february = means.get(1).unwrap();
        assert_eq!(february.date(), date!(2024 - 02 - 01));
        assert_eq!(february.rate(Currency::USD).unwrap().get(), 1.3);
        assert_eq!(
            february
                .rate(Currency::parse("GBP").unwrap())
                .unwrap()
                .get(),
            0.8
        );
        assert_eq!(period_means(Period::Year, &days).unwrap().len(), 1);
        assert!(period_means(Period::Week, &[]).unwrap().is_empty());
    }

    #[test]
    fn means_are_rounded_and_the_base_stays_one() {
        let days = [
            day(date!(2024 - 01 - 02), &[("EUR", 1.0), ("USD", 1.0)]),
            day(date!(2024 - 01 - 03), &[("EUR", 1.0), ("USD", 1.0)]),
            day(date!(2024 - 01 - 04), &[("EUR", 1.0), ("USD", 2.0)]),
        ];
        let means = period_means(Period::Week, &days).unwrap();
        let week = means.first().unwrap();
        assert_eq!(week.rate(Currency::USD).unwrap().get(), 1.333333333);
        assert_eq!(week.rates().get(&Currency::EUR), Some(&Rate::ONE));
    }

    #[test]
    fn days_out_of_order_or_in_another_base_are_refused() {
        let mut means = PeriodMeans::new(Period::Month);
        means
            .push(&day(date!(2024 - 01 - 03), &[("USD", 1.0)]))
            .unwrap();
        let error = means
            .push(&day(date!(2024 - 01 - 03), &[("USD", 1.0)]))
            .unwrap_err();
        assert!(matches!(error, PeriodError::OutOfOrder { .. }), "{error}");
        let other =
            RateTable::from_raw(date!(2024 - 01 - 04), Currency::USD, [("GBP", 0.8)]).unwrap();
        let error = means.push(&other).unwrap_err();
        assert!(error.to_string().contains("base USD"), "{error}");
    }

    mod properties {
        use super::*;
        use proptest::collection::vec;
        use proptest::prelude::*;

        /// Up to 120 days spread over about a year, each with USD and sometimes GBP.
        fn days() -> impl Strategy<Value = Vec<RateTable>> {
            vec(
                (1u16..=365, 0.5f64..2.0, prop::option::of(0.5f64..1.5)),
                0..120,
            )
            .prop_map(|raw| {
                let mut by_day = BTreeMap::new();
                for (ordinal, usd, gbp) in raw {
                    by_day.insert(ordinal, (usd, gbp));
                }
                by_day
                    .into_iter()
                    .map(|(ordinal, (usd, gbp))| {
                        let date = Date::from_ordinal_date(2023, ordinal).unwrap();
                        let mut rates = vec![("USD", usd)];
                        rates.extend(gbp.map(|gbp| ("GBP", gbp)));
                        day(date, &rates)
                    })
                    .collect()
            })
        }

        fn period() -> impl Strategy<Value = Period> {
            prop::sample::select(Period::ALL.to_vec())
        }

        proptest! {
            #[test]
            fn each_day_lands_in_exactly_one_period_starting_on_or_before_it(days in days(), period in period()) {
                let means = period_means(period, &days)?;
                let starts: Vec<Date> = means.iter().map(RateTable::date).collect();
                let mut sorted = starts.clone();
                sorted.dedup();
                prop_assert_eq!(&starts, &sorted, "one table per period, in order");
                for day in &days {
                    let start = period.start_of(day.date());
                    prop_assert!(start <= day.date());
                    prop_assert_eq!(period.start_of(start), start);
                    prop_assert!(starts.contains(&start));
                }
                prop_assert!(starts.iter().all(|start| days.iter().any(|day| period.start_of(day.date()) == *start)));
            }

            #[test]
            fn a_mean_lies_between_the_period_extremes_and_matches_sum_over_count(days in days(), period in period()) {
                for table in period_means(period, &days)? {
                    for (currency, mean) in table.rates() {
                        let values: Vec<f64> = days
                            .iter()
                            .filter(|day| period.start_of(day.date()) == table.date())
                            .filter_map(|day| day.rates().get(currency).map(|rate| rate.get()))
                            .collect();
                        prop_assert!(!values.is_empty());
                        let low = values.iter().copied().fold(f64::INFINITY, f64::min);
                        let high = values.iter().copied().fold(0.0, f64::max);
                        let expected = values.iter().sum::<f64>() / values.len() as f64;
                        let mean = mean.get();
                        prop_assert!(low * (1.0 - 1e-9) <= mean && mean <= high * (1.0 + 1e-9));
                        prop_assert!(((mean - expected) / expected).abs() < 1e-9, "{mean} vs {expected}");
                    }
                }
            }

            #[test]
            fn weeks_start_on_monday(ordinal in 1u16..=365, year in 1999i32..2030) {
                let date = Date::from_ordinal_date(year, ordinal).unwrap();
                let start = Period::Week.start_of(date);
                prop_assert_eq!(start.weekday(), time::Weekday::Monday);
                prop_assert!((date - start).whole_days() < 7);
            }
        }
    }
}
