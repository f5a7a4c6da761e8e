//! Calendar dates and inclusive date ranges.

use std::fmt;

use time::{Date, Duration, Month, OffsetDateTime, Weekday};

/// Today's date in UTC, read from the system clock.
///
/// Kept as a thin wrapper so planning code can take `today` as a parameter and be tested
/// with any date.
pub fn today_utc() -> Date {
    OffsetDateTime::now_utc().date()
}

/// Parses a date written strictly as `YYYY-MM-DD` (e.g. `2024-02-29`).
///
/// Anything else — another separator, missing zero padding, trailing text, a day that does not
/// exist in that month — is an error that says what is wrong.
pub fn parse_date(input: &str) -> Result<Date, DateError> {
    let invalid = |reason: &'static str| DateError::Invalid {
        input: shorten(input),
        reason,
    };
    let bytes = input.as_bytes();
    let shape_ok = bytes.len() == 10
        && bytes
            .iter()
            .enumerate()
            .all(|(position, byte)| match position {
                4 | 7 => *byte == b'-',
                _ => byte.is_ascii_digit(),
            });
    if !shape_ok {
        return Err(invalid("expected a date written as YYYY-MM-DD"));
    }
    let number = |range: std::ops::Range<usize>| {
        input
            .get(range)
            .and_then(|digits| digits.parse::<u16>().ok())
            .ok_or_else(|| invalid("expected a date written as YYYY-MM-DD"))
    };
    let year = number(0..4)?;
    let month = number(5..7)?;
    let day = number(8..10)?;
    let month = u8::try_from(month)
        .ok()
        .and_then(|month| Month::try_from(month).ok())
        .ok_or_else(|| invalid("the month must be between 01 and 12"))?;
    let day = u8::try_from(day).map_err(|_| invalid("the day does not exist in that month"))?;
    Date::from_calendar_date(i32::from(year), month, day)
        .map_err(|_| invalid("the day does not exist in that month"))
}

/// Formats a date as `YYYY-MM-DD`.
pub fn format_date(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// Whether `date` is a business day of the TARGET calendar, the days the ECB publishes reference
/// rates on (and that Fixer answers with a day's own rates): not a Saturday or Sunday, nor New
/// Year's Day, Good Friday, Easter Monday, 1 May, 25 or 26 December; 31 December was closed
/// too until 2001, and the Easter days were open in 1999. This matches every date of the ECB's
/// history file since 1999.
pub fn is_business_day(date: Date) -> bool {
    if matches!(date.weekday(), Weekday::Saturday | Weekday::Sunday) {
        return false;
    }
    let (year, month, day) = (date.year(), date.month(), date.day());
    let fixed_holiday = matches!(
        (month, day),
        (Month::January, 1) | (Month::May, 1) | (Month::December, 25 | 26)
    ) || (month == Month::December && day == 31 && year <= 2001);
    if fixed_holiday {
        return false;
    }
    if year >= 2000 {
        if let Some(easter) = easter_sunday(year) {
            let good_friday = easter.checked_sub(Duration::days(2));
            let easter_monday = easter.next_day();
            if Some(date) == good_friday || Some(date) == easter_monday {
                return false;
            }
        }
    }
    true
}

/// The latest business day ([`is_business_day`]) on or before `date`: `date` itself on a
/// business day, the Friday before a weekend, the Thursday before Good Friday.
pub fn last_business_day(date: Date) -> Date {
    let mut day = date;
    // A week always holds a business day, so this looks back at most a few days.
    for _ in 0..7 {
        if is_business_day(day) {
            return day;
        }
        match day.previous_day() {
            Some(previous) => day = previous,
            None => return day,
        }
    }
    day
}

/// Easter Sunday of `year` in the Gregorian calendar (the anonymous Gregorian algorithm).
fn easter_sunday(year: i32) -> Option<Date> {
    let a = year.rem_euclid(19);
    let b = year.div_euclid(100);
    let c = year.rem_euclid(100);
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let day = (h + l - 7 * m + 114) % 31 + 1;
    let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
    Date::from_calendar_date(year, month, u8::try_from(day).ok()?).ok()
}

fn shorten(input: &str) -> String {
    const MAX_QUOTED_INPUT: usize = 32;
    match input.char_indices().nth(MAX_QUOTED_INPUT) {
        Some((cut, _)) => format!("{}…", input.get(..cut).unwrap_or_default()),
        None => input.to_owned(),
    }
}

/// An inclusive range of dates, `start..=end`, never empty.
///
/// Built with [`DateRange::new`] ("from..to") or [`DateRange::ending`] ("the N days ending D");
/// both refuse a reversed or empty range, so every `DateRange` holds at least one date.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct DateRange {
    start: Date,
    end: Date,
}

impl DateRange {
    /// The dates from `start` to `end`, both included. `start` after `end` is an error.
    pub fn new(start: Date, end: Date) -> Result<DateRange, DateError> {
        if start > end {
            return Err(DateError::Reversed { start, end });
        }
        Ok(DateRange { start, end })
    }

    /// A single day.
    pub fn day(date: Date) -> DateRange {
        DateRange {
            start: date,
            end: date,
        }
    }

    /// The `days` days ending with `end` (included): `ending(d, 1)` is just `d`.
    ///
    /// Zero days is an error, as is a range reaching before the earliest representable date.
    pub fn ending(end: Date, days: u32) -> Result<DateRange, DateError> {
        if days == 0 {
            return Err(DateError::Empty);
        }
        let start = end
            .checked_sub(Duration::days(i64::from(days) - 1))
            .ok_or(DateError::OutOfRange { days })?;
        Ok(DateRange { start, end })
    }

    /// The first date.
    pub fn start(&self) -> Date {
        self.start
    }

    /// The last date (included).
    pub fn end(&self) -> Date {
        self.end
    }

    /// How many dates the range holds (at least 1).
    pub fn len_days(&self) -> u32 {
        let days = (self.end - self.start).whole_days() + 1;
        u32::try_from(days).unwrap_or(u32::MAX)
    }

    /// Whether `date` lies in the range.
    pub fn contains(&self, date: Date) -> bool {
        self.start <= date && date <= self.end
    }

    /// Every date of the range, in order.
    pub fn iter(&self) -> impl Iterator<Item = Date> {
        let end = self.end;
        std::iter::successors(Some(self.start), move |date| {
            date.next_day().filter(|next| *next <= end)
        })
    }

    /// Consecutive sub-ranges of at most `max_days` days each, covering the range in order.
    ///
    /// A `max_days` of 0 is treated as 1.
    pub fn split(&self, max_days: u32) -> Vec<DateRange> {
        let step = i64::from(max_days.max(1));
        let mut chunks = Vec::new();
        let mut start = self.start;
        loop {
            let end = start
                .checked_add(Duration::days(step - 1))
                .map_or(self.end, |end| end.min(self.end));
            chunks.push(DateRange { start, end });
            match end.next_day() {
                Some(next) if end < self.end => start = next,
                _ => break,
            }
        }
        chunks
    }

    /// The range itself when it holds at most `max_days` dates; otherwise an error naming the cap.
    pub fn capped(self, max_days: u32) -> Result<DateRange, DateError> {
        let days = self.len_days();
        if days > max_days {
            return Err(DateError::TooLong { days, max_days });
        }
        Ok(self)
    }
}

impl fmt::Display for DateRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", format_date(self.start), format_date(self.end))
    }
}

impl fmt::Debug for DateRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DateRange({self})")
    }
}

/// A date or date range that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateError {
    /// The text is not a `YYYY-MM-DD` date.
    #[error("invalid date {input:?}: {reason}")]
    Invalid {
        /// The rejected text (shortened when long).
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The start date is after the end date.
    #[error(
        "date range is reversed: start {} is after end {}",
        format_date(*start),
        format_date(*end)
    )]
    Reversed {
        /// The requested first date.
        start: Date,
        /// The requested last date.
        end: Date,
    },
    /// A range of zero days was asked for.
    #[error("a date range must hold at least one day")]
    Empty,
    /// The range reaches outside the dates that can be represented.
    #[error("a range of {days} days reaches before the earliest supported date")]
    OutOfRange {
        /// The requested number of days.
        days: u32,
    },
    /// The range holds more days than allowed.
    #[error("date range of {days} days is longer than the maximum of {max_days} days")]
    TooLong {
        /// Days in the requested range.
        days: u32,
        /// The cap that was exceeded.
        max_days: u32,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn easter_falls_on_the_known_sundays() {
        assert_eq!(easter_sunday(2024), Some(date!(2024 - 03 - 31)));
        assert_eq!(easter_sunday(2025), Some(date!(2025 - 04 - 20)));
        assert_eq!(easter_sunday(2000), Some(date!(2000 - 04 - 23)));
        assert_eq!(easter_sunday(2038), Some(date!(2038 - 04 - 25)));
    }

    #[test]
    fn business_days_follow_the_target_calendar() {
        for closed in [
            date!(2024 - 01 - 06), // Saturday
            date!(2024 - 01 - 07), // Sunday
            date!(2024 - 01 - 01),
            date!(2024 - 03 - 29), // Good Friday
            date!(2024 - 04 - 01), // Easter Monday
            date!(2024 - 05 - 01),
            date!(2024 - 12 - 25),
            date!(2024 - 12 - 26),
            date!(2001 - 12 - 31),
        ] {
            assert!(!is_business_day(closed), "{closed}");
        }
        for open in [
            date!(2024 - 01 - 02),
            date!(2024 - 03 - 28),
            date!(2024 - 12 - 31),
            date!(1999 - 04 - 02), // Good Friday, open in TARGET's first year
        ] {
            assert!(is_business_day(open), "{open}");
        }
        assert_eq!(
            last_business_day(date!(2024 - 01 - 07)),
            date!(2024 - 01 - 05)
        );
        assert_eq!(
            last_business_day(date!(2024 - 04 - 01)),
            date!(2024 - 03 - 28)
        );
        assert_eq!(
            last_business_day(date!(2024 - 12 - 26)),
            date!(2024 - 12 - 24)
        );
        assert_eq!(
            last_business_day(date!(2024 - 01 - 02)),
            date!(2024 - 01 - 02)
        );
    }

    #[test]
    fn parse_date_accepts_iso_dates() {
        assert_eq!(parse_date("2024-02-29").unwrap(), date!(2024 - 02 - 29));
        assert_eq!(parse_date("1999-01-04").unwrap(), date!(1999 - 01 - 04));
    }

    #[test]
    fn parse_date_rejects_other_shapes_and_impossible_days() {
        for bad in [
            "",
            "2024-2-29",
            "2024/02/29",
            "20240229",
            "2024-02-29T00:00",
            " 2024-02-29",
            "2024-02-2x",
            "+024-02-29",
            "２024-02-29",
        ] {
            let error = parse_date(bad).unwrap_err();
            assert!(error.to_string().contains("YYYY-MM-DD"), "{bad:?}: {error}");
        }
        assert!(parse_date("2023-02-29")
            .unwrap_err()
            .to_string()
            .contains("does not exist"));
        assert!(parse_date("2023-13-01")
            .unwrap_err()
            .to_string()
            .contains("month"));
        assert!(parse_date("2023-00-01").is_err());
        assert!(parse_date("2023-01-00").is_err());
    }

    #[test]
    fn format_date_round_trips() {
        assert_eq!(format_date(date!(0999 - 01 - 04)), "0999-01-04");
        assert_eq!(
            parse_date(&format_date(date!(2026 - 10 - 30))).unwrap(),
            date!(2026 - 10 - 30)
        );
    }

    #[test]
    fn new_refuses_a_reversed_range() {
        let error = DateRange::new(date!(2024 - 01 - 02), date!(2024 - 01 - 01)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "date range is reversed: start 2024-01-02 is after end 2024-01-01"
        );
        let single = DateRange::new(date!(2024 - 01 - 01), date!(2024 - 01 - 01)).unwrap();
        assert_eq!(single.len_days(), 1);
    }

    #[test]
    fn ending_counts_the_end_day() {
        let range = DateRange::ending(date!(2024 - 03 - 01), 10).unwrap();
        assert_eq!(range.start(), date!(2024 - 02 - 21));
        assert_eq!(range.end(), date!(2024 - 03 - 01));
        assert_eq!(range.len_days(), 10);
        assert_eq!(range.iter().count(), 10);
        assert_eq!(
            DateRange::ending(date!(2024 - 03 - 01), 0),
            Err(DateError::Empty)
        );
        assert!(matches!(
            DateRange::ending(Date::MIN, 2),
            Err(DateError::OutOfRange { days: 2 })
        ));
    }

    #[test]
    fn iter_yields_every_date_in_order() {
        let range = DateRange::new(date!(2024 - 02 - 27), date!(2024 - 03 - 02)).unwrap();
        let dates: Vec<Date> = range.iter().collect();
        assert_eq!(
            dates,
            vec![
                date!(2024 - 02 - 27),
                date!(2024 - 02 - 28),
                date!(2024 - 02 - 29),
                date!(2024 - 03 - 01),
                date!(2024 - 03 - 02)
            ]
        );
        assert_eq!(DateRange::day(Date::MAX).iter().count(), 1);
    }

    #[test]
    fn split_covers_the_range_in_chunks() {
        let range = DateRange::new(date!(2024 - 01 - 01), date!(2024 - 01 - 10)).unwrap();
        let chunks = range.split(4);
        assert_eq!(
            chunks.iter().map(DateRange::to_string).collect::<Vec<_>>(),
            vec![
                "2024-01-01..2024-01-04",
                "2024-01-05..2024-01-08",
                "2024-01-09..2024-01-10"
            ]
        );
        assert_eq!(range.split(0).len(), 10);
        assert_eq!(range.split(100), vec![range]);
    }

    #[test]
    fn capped_names_the_cap() {
        let range = DateRange::ending(date!(2024 - 12 - 31), 366).unwrap();
        assert_eq!(range.capped(366), Ok(range));
        let error = range.capped(365).unwrap_err();
        assert_eq!(
            error.to_string(),
            "date range of 366 days is longer than the maximum of 365 days"
        );
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        fn any_date() -> impl Strategy<Value = Date> {
            (1900i32..2200, 1u16..=365)
                .prop_map(|(year, ordinal)| Date::from_ordinal_date(year, ordinal).unwrap())
        }

        proptest! {
            #[test]
            fn formatted_dates_parse_back(date in any_date()) {
                prop_assert_eq!(parse_date(&format_date(date)).unwrap(), date);
            }

            #[test]
            fn split_chunks_are_contiguous_and_bounded(
                end in any_date(), days in 1u32..800, max in 1u32..100
            ) {
                let range = DateRange::ending(end, days).unwrap();
                let chunks = range.split(max);
                prop_assert_eq!(chunks.first().unwrap().start(), range.start());
                prop_assert_eq!(chunks.last().unwrap().end(), range.end());
                prop_assert_eq!(chunks.iter().map(DateRange::len_days).sum::<u32>(), days);
                for pair in chunks.windows(2) {
                    prop_assert_eq!(pair[0].end().next_day(), Some(pair[1].start()));
                }
                prop_assert!(chunks.iter().all(|chunk| chunk.len_days() <= max));
            }
        }
    }
}
