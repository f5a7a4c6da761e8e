//! Reading what a client asked for: the `{date}` path segment, currencies and query parameters.
//!
//! Query strings are first deserialised into structs of optional strings (unknown or repeated
//! parameters are rejected there, through the extractor error handlers of [`crate::configure`]); each value is then parsed
//! here so the error names the parameter and says what a valid value looks like.

use rates_domain::{parse_date, Currency, DateError, DateRange, Period};
use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};

use crate::error::{shorten, ApiError};
use crate::formats::Format;

/// Longest client text quoted back in an error message.
const MAX_QUOTED: usize = 40;

/// What the `{date}` segment of `/rates/{date}/` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RatesPath {
    /// `latest`: the most recent date held.
    Latest,
    /// One day, `YYYY-MM-DD`.
    Day(Date),
    /// An inclusive range, `YYYY-MM-DD..YYYY-MM-DD`, within the cap.
    Range(DateRange),
}

impl RatesPath {
    /// Parses the segment; a range longer than `max_range_days` is refused.
    pub fn parse(segment: &str, max_range_days: u32) -> Result<RatesPath, ApiError> {
        if segment.eq_ignore_ascii_case("latest") {
            return Ok(RatesPath::Latest);
        }
        if let Some((start, end)) = segment.split_once("..") {
            let range_error = |error: DateError| {
                ApiError::InvalidRange(format!(
                    "invalid range {:?}: {error}; write it as YYYY-MM-DD..YYYY-MM-DD",
                    shorten(segment, MAX_QUOTED)
                ))
            };
            let start = parse_date(start).map_err(range_error)?;
            let end = parse_date(end).map_err(range_error)?;
            let range = DateRange::new(start, end).map_err(range_error)?;
            return match range.capped(max_range_days) {
                Ok(range) => Ok(RatesPath::Range(range)),
                Err(_) => Err(ApiError::RangeTooLong {
                    range,
                    days: range.len_days(),
                    max_days: max_range_days,
                }),
            };
        }
        parse_date(segment)
            .map(RatesPath::Day)
            .map_err(|error| ApiError::InvalidDate(date_message(&error)))
    }
}

fn date_message(error: &DateError) -> String {
    format!("{error}; use YYYY-MM-DD or `latest`")
}

/// Parses an optional `date` query parameter: absent or `latest` means the latest date held.
pub fn parse_optional_date(value: Option<&str>) -> Result<Option<Date>, ApiError> {
    match value {
        None => Ok(None),
        Some(text) if text.eq_ignore_ascii_case("latest") => Ok(None),
        Some(text) => parse_date(text).map(Some).map_err(|error| {
            ApiError::InvalidDate(format!("parameter `date`: {}", date_message(&error)))
        }),
    }
}

/// Parses one currency code given in query parameter `parameter`.
pub fn parse_currency(parameter: &'static str, value: &str) -> Result<Currency, ApiError> {
    Currency::parse(value.trim()).map_err(|error| ApiError::InvalidCurrency {
        parameter,
        message: error.to_string(),
    })
}

/// Parses `symbols=USD,GBP`: comma-separated codes, sorted and without repeats.
/// Empty (`symbols=`) means every currency held.
pub fn parse_symbols(value: Option<&str>) -> Result<Vec<Currency>, ApiError> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    if value.trim().is_empty() {
        return Ok(Vec::new());
    }
    let mut symbols = value
        .split(',')
        .map(|code| parse_currency("symbols", code))
        .collect::<Result<Vec<_>, _>>()?;
    symbols.sort_unstable();
    symbols.dedup();
    Ok(symbols)
}

/// Parses `fallback`: only `previous` is known.
pub fn parse_fallback(value: Option<&str>) -> Result<bool, ApiError> {
    match value {
        None => Ok(false),
        Some("previous") => Ok(true),
        Some(other) => Err(ApiError::InvalidQuery(format!(
            "parameter `fallback` is {:?}; the only value is `previous`",
            shorten(other, MAX_QUOTED)
        ))),
    }
}

/// Parses `format`: `csv`, `ndjson` or `json` (absent: chosen by `Accept`).
pub fn parse_format(value: Option<&str>) -> Result<Option<Format>, ApiError> {
    value.map(Format::parse).transpose()
}

/// Parses `group`: `week`, `month` or `year`.
pub fn parse_group(value: Option<&str>) -> Result<Option<Period>, ApiError> {
    value
        .map(|text| {
            text.parse::<Period>()
                .map_err(|error| ApiError::InvalidGroup(format!("parameter `group`: {error}")))
        })
        .transpose()
}

/// Parses `as_of`: an RFC 3339 instant (`2026-11-30T09:00:00Z`, `2026-11-30T10:00:00+01:00`)
/// no later than `now`.
///
/// A `+` in a query string reads as a space unless sent as `%2B`; an offset written
/// `10:00:00 01:00` is taken as the `+01:00` the client meant.
pub fn parse_as_of(
    value: Option<&str>,
    now: OffsetDateTime,
) -> Result<Option<OffsetDateTime>, ApiError> {
    let Some(text) = value else {
        return Ok(None);
    };
    let instant = OffsetDateTime::parse(text, &Rfc3339)
        .or_else(|error| match text.rsplit_once(' ') {
            Some((time, offset)) => OffsetDateTime::parse(&format!("{time}+{offset}"), &Rfc3339),
            None => Err(error),
        })
        .map_err(|error| {
            ApiError::InvalidAsOf(format!(
                "parameter `as_of` is {:?}: {error}; write an RFC 3339 instant such as \
                 2026-11-30T09:00:00Z",
                shorten(text, MAX_QUOTED)
            ))
        })?;
    if instant > now {
        return Err(ApiError::InvalidAsOf(format!(
            "parameter `as_of` is {:?}, which lies in the future; the values held then are not \
             known yet",
            shorten(text, MAX_QUOTED)
        )));
    }
    Ok(Some(instant))
}

/// Parses `amount`: a finite number written in decimal.
pub fn parse_amount(value: &str) -> Result<f64, ApiError> {
    let invalid = || {
        ApiError::InvalidAmount(format!(
            "parameter `amount` is {:?}; expected a finite decimal number such as 10 or 25.5",
            shorten(value, MAX_QUOTED)
        ))
    };
    // Rust's float parser also takes "inf", "NaN" and "1e400" (→ inf): only plain decimals here.
    let plain = !value.is_empty()
        && value
            .bytes()
            .all(|byte| byte.is_ascii_digit() || matches!(byte, b'.' | b'-' | b'+' | b'e' | b'E'));
    if !plain {
        return Err(invalid());
    }
    match value.parse::<f64>() {
        Ok(amount) if amount.is_finite() => Ok(amount),
        _ => Err(invalid()),
    }
}

/// The query string of `/rates/...`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RatesQuery {
    /// Currency to express the rates in (default: the stored base).
    pub base: Option<String>,
    /// Comma-separated currencies to keep (default: all).
    pub symbols: Option<String>,
    /// `previous`: answer a missing date with the nearest earlier date held.
    pub fallback: Option<String>,
    /// `csv`, `ndjson` or `json`; wins over `Accept`.
    pub format: Option<String>,
    /// `week`, `month` or `year`: period means over a range.
    pub group: Option<String>,
    /// An RFC 3339 instant: the values as held then.
    pub as_of: Option<String>,
}

/// The parsed form of [`RatesQuery`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatesParams {
    /// Requested base; `None` means the stored base.
    pub base: Option<Currency>,
    /// Requested symbols, sorted, without repeats; empty means all.
    pub symbols: Vec<Currency>,
    /// Whether `fallback=previous` was given.
    pub fallback: bool,
    /// The format asked for by `?format=`; `None` leaves it to `Accept`.
    pub format: Option<Format>,
    /// The period to average by, for ranges.
    pub group: Option<Period>,
    /// The instant whose values are asked for; `None` means the current ones.
    pub as_of: Option<OffsetDateTime>,
}

impl RatesQuery {
    /// Parses every parameter; `as_of` must not lie after `now`.
    pub fn parse(&self, now: OffsetDateTime) -> Result<RatesParams, ApiError> {
        Ok(RatesParams {
            base: self
                .base
                .as_deref()
                .map(|base| parse_currency("base", base))
                .transpose()?,
            symbols: parse_symbols(self.symbols.as_deref())?,
            fallback: parse_fallback(self.fallback.as_deref())?,
            format: parse_format(self.format.as_deref())?,
            group: parse_group(self.group.as_deref())?,
            as_of: parse_as_of(self.as_of.as_deref(), now)?,
        })
    }
}

/// The query string of `/convert`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConvertQuery {
    /// Currency converted from.
    pub from: Option<String>,
    /// Currency converted to.
    pub to: Option<String>,
    /// Amount of `from`.
    pub amount: Option<String>,
    /// Date of the rates to use (default: latest).
    pub date: Option<String>,
    /// `previous`: use the nearest earlier date held when `date` has none.
    pub fallback: Option<String>,
    /// An RFC 3339 instant: convert at the rates held then.
    pub as_of: Option<String>,
}

/// The parsed form of [`ConvertQuery`].
#[derive(Debug, Clone, PartialEq)]
pub struct ConvertParams {
    /// Currency converted from.
    pub from: Currency,
    /// Currency converted to.
    pub to: Currency,
    /// Amount of `from`.
    pub amount: f64,
    /// Date asked for; `None` means latest.
    pub date: Option<Date>,
    /// Whether `fallback=previous` was given.
    pub fallback: bool,
    /// The instant whose rates are asked for; `None` means the current ones.
    pub as_of: Option<OffsetDateTime>,
}

impl ConvertQuery {
    /// Parses every parameter; `from`, `to` and `amount` are required, and `as_of` must not lie
    /// after `now`.
    pub fn parse(&self, now: OffsetDateTime) -> Result<ConvertParams, ApiError> {
        let required = |name: &'static str, value: &Option<String>| {
            value.clone().ok_or_else(|| {
                ApiError::InvalidQuery(format!(
                    "parameter `{name}` is required, e.g. /convert?from=USD&to=GBP&amount=10"
                ))
            })
        };
        let from = required("from", &self.from)?;
        let to = required("to", &self.to)?;
        let amount = required("amount", &self.amount)?;
        Ok(ConvertParams {
            from: parse_currency("from", &from)?,
            to: parse_currency("to", &to)?,
            amount: parse_amount(amount.trim())?,
            date: parse_optional_date(self.date.as_deref())?,
            fallback: parse_fallback(self.fallback.as_deref())?,
            as_of: parse_as_of(self.as_of.as_deref(), now)?,
        })
    }
}

/// The query string of `/fluctuation`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FluctuationQuery {
    /// First day (required).
    pub start_date: Option<String>,
    /// Last day (required).
    pub end_date: Option<String>,
    /// Currency to express the rates in (default: the stored base).
    pub base: Option<String>,
    /// Comma-separated currencies to keep (default: all held on both days).
    pub symbols: Option<String>,
    /// An RFC 3339 instant: the values as held then.
    pub as_of: Option<String>,
}

/// The parsed form of [`FluctuationQuery`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FluctuationParams {
    /// The days asked for, `start_date..end_date`.
    pub range: DateRange,
    /// Requested base; `None` means the stored base.
    pub base: Option<Currency>,
    /// Requested symbols, sorted, without repeats; empty means all.
    pub symbols: Vec<Currency>,
    /// The instant whose values are asked for; `None` means the current ones.
    pub as_of: Option<OffsetDateTime>,
}

impl FluctuationQuery {
    /// Parses every parameter; `start_date` and `end_date` are required (no length cap: only
    /// the two ends are read), and `as_of` must not lie after `now`.
    pub fn parse(&self, now: OffsetDateTime) -> Result<FluctuationParams, ApiError> {
        let date = |name: &'static str, value: &Option<String>| {
            let text = value.as_deref().ok_or_else(|| {
                ApiError::InvalidQuery(format!(
                    "parameter `{name}` is required, e.g. \
                     /fluctuation?start_date=2024-01-01&end_date=2024-12-31"
                ))
            })?;
            parse_date(text).map_err(|error| {
                ApiError::InvalidDate(format!("parameter `{name}`: {error}; use YYYY-MM-DD"))
            })
        };
        let start = date("start_date", &self.start_date)?;
        let end = date("end_date", &self.end_date)?;
        let range = DateRange::new(start, end)
            .map_err(|error| ApiError::InvalidRange(format!("{error}")))?;
        Ok(FluctuationParams {
            range,
            base: self
                .base
                .as_deref()
                .map(|base| parse_currency("base", base))
                .transpose()?,
            symbols: parse_symbols(self.symbols.as_deref())?,
            as_of: parse_as_of(self.as_of.as_deref(), now)?,
        })
    }
}

/// The query string of `/rates/{date}/revisions`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevisionsQuery {
    /// Comma-separated currencies to list (default: all held that day).
    pub symbols: Option<String>,
}

/// `/currencies/` and `/health` take no parameters.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoQuery {}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    #[test]
    fn path_reads_latest_days_and_ranges() {
        assert_eq!(RatesPath::parse("latest", 366).unwrap(), RatesPath::Latest);
        assert_eq!(
            RatesPath::parse("2024-01-02", 366).unwrap(),
            RatesPath::Day(date!(2024 - 01 - 02))
        );
        let RatesPath::Range(range) = RatesPath::parse("2024-01-01..2024-12-31", 366).unwrap()
        else {
            panic!("not a range");
        };
        assert_eq!(range.len_days(), 366);
    }

    #[test]
    fn path_rejects_bad_dates_and_ranges_with_their_codes() {
        for bad in [
            "2024-13-01",
            "2024-02-30",
            "99999-01-01",
            "",
            "\0",
            "2024-1-1",
            "é",
        ] {
            let error = RatesPath::parse(bad, 366).unwrap_err();
            assert_eq!(error.code(), "invalid_date", "{bad:?}");
        }
        for bad in [
            "..",
            "2024-01-01..",
            "..2024-01-01",
            "2024-01-02..2024-01-01",
            "a..b",
        ] {
            let error = RatesPath::parse(bad, 366).unwrap_err();
            assert_eq!(error.code(), "invalid_range", "{bad:?}");
        }
        let error = RatesPath::parse("2023-01-01..2024-12-31", 366).unwrap_err();
        assert_eq!(error.code(), "range_too_long");
        assert!(error.to_string().contains("731 days"), "{error}");
        assert!(error.to_string().contains("366"), "{error}");
    }

    #[test]
    fn symbols_are_normalised_sorted_and_deduplicated() {
        let symbols = parse_symbols(Some("usd,GBP, usd")).unwrap();
        let codes: Vec<_> = symbols.iter().map(Currency::as_str).collect();
        assert_eq!(codes, ["GBP", "USD"]);
        assert!(parse_symbols(Some("")).unwrap().is_empty());
        let error = parse_symbols(Some(";DROP TABLE rates")).unwrap_err();
        assert_eq!(error.code(), "invalid_currency");
        assert!(error.to_string().contains("symbols"), "{error}");
        assert_eq!(
            parse_symbols(Some("USD,,GBP")).unwrap_err().code(),
            "invalid_currency"
        );
    }

    #[test]
    fn amounts_are_plain_finite_decimals() {
        assert_eq!(parse_amount("10").unwrap(), 10.0);
        assert_eq!(parse_amount("-2.5").unwrap(), -2.5);
        assert_eq!(parse_amount("1e3").unwrap(), 1000.0);
        for bad in ["", "inf", "NaN", "1e400", "ten", "0x10", "1,5"] {
            assert_eq!(
                parse_amount(bad).unwrap_err().code(),
                "invalid_amount",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn fallback_knows_only_previous() {
        assert!(parse_fallback(Some("previous")).unwrap());
        assert!(!parse_fallback(None).unwrap());
        assert_eq!(
            parse_fallback(Some("next")).unwrap_err().code(),
            "invalid_query"
        );
    }

    #[test]
    fn as_of_is_an_rfc3339_instant_not_in_the_future() {
        let now = datetime!(2026-11-30 10:00 UTC);
        let parsed = |text: &str| parse_as_of(Some(text), now);
        assert_eq!(
            parsed("2026-11-30T09:00:00Z").unwrap(),
            Some(datetime!(2026-11-30 09:00 UTC))
        );
        assert_eq!(
            parsed("2026-11-30T10:30:00+01:00").unwrap(),
            Some(datetime!(2026-11-30 09:30 UTC))
        );
        assert_eq!(
            parsed("2026-11-30T10:30:00 01:00").unwrap(),
            Some(datetime!(2026-11-30 09:30 UTC))
        );
        assert_eq!(parsed("2026-11-30T10:00:00Z").unwrap(), Some(now));
        assert_eq!(parse_as_of(None, now).unwrap(), None);
        for bad in [
            "2026-11-30",
            "yesterday",
            "2026-11-30T09:00:00",
            "1700000000",
            "",
        ] {
            let error = parsed(bad).unwrap_err();
            assert_eq!(error.code(), "invalid_as_of", "{bad:?}");
            assert!(error.to_string().contains("RFC 3339"), "{error}");
        }
        let error = parsed("2026-11-30T10:00:01Z").unwrap_err();
        assert_eq!(error.code(), "invalid_as_of");
        assert!(error.to_string().contains("future"), "{error}");
    }

    #[test]
    fn group_knows_week_month_year_and_refuses_day() {
        assert_eq!(parse_group(Some("month")).unwrap(), Some(Period::Month));
        assert_eq!(parse_group(None).unwrap(), None);
        let error = parse_group(Some("day")).unwrap_err();
        assert_eq!(error.code(), "invalid_group");
        assert!(error.to_string().contains("week, month or year"), "{error}");
        assert_eq!(
            parse_format(Some("xml")).unwrap_err().code(),
            "invalid_format"
        );
        assert_eq!(parse_format(Some("csv")).unwrap(), Some(Format::Csv));
    }

    #[test]
    fn fluctuation_requires_both_dates_in_order() {
        let query = |start: Option<&str>, end: Option<&str>| FluctuationQuery {
            start_date: start.map(str::to_owned),
            end_date: end.map(str::to_owned),
            ..FluctuationQuery::default()
        };
        let now = datetime!(2026-11-30 10:00 UTC);
        let params = query(Some("1999-01-04"), Some("2026-10-30"))
            .parse(now)
            .unwrap();
        assert_eq!(params.range.len_days(), 10_162);
        let error = query(Some("2024-01-01"), None).parse(now).unwrap_err();
        assert_eq!(error.code(), "invalid_query");
        assert!(error.to_string().contains("end_date"), "{error}");
        let error = query(Some("2024-01-02"), Some("2024-01-01"))
            .parse(now)
            .unwrap_err();
        assert_eq!(error.code(), "invalid_range");
        let error = query(Some("2024-1-2"), Some("2024-01-03"))
            .parse(now)
            .unwrap_err();
        assert_eq!(error.code(), "invalid_date");
        assert!(error.to_string().contains("start_date"), "{error}");
    }

    #[test]
    fn convert_requires_from_to_and_amount() {
        let query = ConvertQuery {
            from: Some("USD".into()),
            to: None,
            amount: Some("1".into()),
            ..ConvertQuery::default()
        };
        let error = query.parse(OffsetDateTime::now_utc()).unwrap_err();
        assert_eq!(error.code(), "invalid_query");
        assert!(error.to_string().contains("`to`"), "{error}");
    }
}
