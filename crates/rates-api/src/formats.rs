//! The formats `/rates` answers in (JSON, CSV, NDJSON), how a request picks one (`?format=`
//! first, then `Accept`), and the CSV and NDJSON encodings of rate tables.
//!
//! CSV has one row per value, `date,base,currency,rate`; NDJSON one object per day,
//! `{"date","base","rates"}` (plus `"group"` for period means). Numbers are written as in the
//! JSON answers ([`crate::numbers`]): stored values exactly as stored, whole numbers without a
//! fraction.

use std::collections::BTreeMap;
use std::fmt;

use actix_web::http::header::{self, HeaderMap, HeaderValue};
use rates_domain::{format_date, Currency, Period, Rate, RateTable};
use serde::Serialize;

use crate::error::{shorten, ApiError};
use crate::numbers::{self, Plain};

/// An encoding of `/rates` answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// `application/json`: one JSON document (the default).
    Json,
    /// `text/csv; charset=utf-8`: a header row, then `date,base,currency,rate` per value.
    Csv,
    /// `application/x-ndjson`: one JSON object per day, one per line.
    Ndjson,
}

/// The header row of every CSV answer.
pub const CSV_HEADER: &str = "date,base,currency,rate\n";

impl Format {
    /// Every format, in the order `?format=` documents them.
    pub const ALL: [Format; 3] = [Format::Csv, Format::Ndjson, Format::Json];

    /// The name `?format=` takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Ndjson => "ndjson",
        }
    }

    /// The `Content-Type` of answers in this format.
    pub fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Format::Json => "application/json",
            Format::Csv => "text/csv; charset=utf-8",
            Format::Ndjson => "application/x-ndjson",
        })
    }

    /// Media types in `Accept` that ask for this format.
    fn media_types(self) -> &'static [&'static str] {
        match self {
            Format::Json => &["application/json"],
            Format::Csv => &["text/csv"],
            Format::Ndjson => &["application/x-ndjson", "application/ndjson"],
        }
    }

    /// Parses `?format=`: `csv`, `ndjson` or `json`.
    pub fn parse(text: &str) -> Result<Format, ApiError> {
        Format::ALL
            .into_iter()
            .find(|format| format.as_str() == text)
            .ok_or_else(|| {
                ApiError::InvalidFormat(format!(
                    "parameter `format` is {:?}; use csv, ndjson or json",
                    shorten(text, 40)
                ))
            })
    }

    /// The format to answer in: `explicit` (from `?format=`) when given, else the best match for
    /// the request's `Accept` header, else JSON.
    ///
    /// Among the media ranges in `Accept`, each format takes the quality of the most specific
    /// range matching it (`text/csv` over `text/*` over `*/*`); the format with the highest
    /// quality above zero wins, ties going to the more specific match, then to the range listed
    /// first, then to JSON. An `Accept` naming none of the three (e.g. `text/html`) gets JSON,
    /// not a 406: every client can read an error-free default.
    pub fn negotiate(explicit: Option<Format>, headers: &HeaderMap) -> Format {
        if let Some(format) = explicit {
            return format;
        }
        let ranges: Vec<MediaRange> = headers
            .get_all(header::ACCEPT)
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .enumerate()
            .filter_map(|(position, text)| MediaRange::parse(text, position))
            .collect();
        let mut best: Option<(Format, Match)> = None;
        // JSON first, so it wins a complete tie.
        for format in [Format::Json, Format::Csv, Format::Ndjson] {
            let Some(found) = ranges
                .iter()
                .filter_map(|range| range.matches(format))
                .max_by(|a, b| {
                    a.specificity
                        .cmp(&b.specificity)
                        .then(b.position.cmp(&a.position))
                })
            else {
                continue;
            };
            if found.quality == 0 {
                continue;
            }
            let better = match &best {
                None => true,
                Some((_, current)) => found.ranks_above(current),
            };
            if better {
                best = Some((format, found));
            }
        }
        best.map_or(Format::Json, |(format, _)| format)
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One media range of an `Accept` header.
#[derive(Debug)]
struct MediaRange {
    kind: String,
    subtype: String,
    /// Quality in thousandths (`q=0.5` is 500), as RFC 9110 allows three decimals.
    quality: u16,
    position: usize,
}

/// How well a media range matches a format.
#[derive(Debug, Clone, Copy)]
struct Match {
    quality: u16,
    /// 2 for `type/subtype`, 1 for `type/*`, 0 for `*/*`.
    specificity: u8,
    position: usize,
}

impl Match {
    fn ranks_above(&self, other: &Match) -> bool {
        (
            self.quality,
            self.specificity,
            std::cmp::Reverse(self.position),
        ) > (
            other.quality,
            other.specificity,
            std::cmp::Reverse(other.position),
        )
    }
}

impl MediaRange {
    /// Reads `type/subtype;q=0.8;...`; anything unreadable is skipped rather than refused.
    fn parse(text: &str, position: usize) -> Option<MediaRange> {
        let mut parts = text.split(';');
        let (kind, subtype) = parts.next()?.trim().split_once('/')?;
        let mut quality = 1000;
        for parameter in parts {
            let Some((name, value)) = parameter.split_once('=') else {
                continue;
            };
            if name.trim().eq_ignore_ascii_case("q") {
                quality = parse_quality(value.trim())?;
            }
        }
        Some(MediaRange {
            kind: kind.trim().to_ascii_lowercase(),
            subtype: subtype.trim().to_ascii_lowercase(),
            quality,
            position,
        })
    }

    fn matches(&self, format: Format) -> Option<Match> {
        let specificity = format
            .media_types()
            .iter()
            .filter_map(|media_type| {
                let (kind, subtype) = media_type.split_once('/')?;
                match (self.kind.as_str(), self.subtype.as_str()) {
                    ("*", "*") => Some(0),
                    (k, "*") if k == kind => Some(1),
                    (k, s) if k == kind && s == subtype => Some(2),
                    _ => None,
                }
            })
            .max()?;
        Some(Match {
            quality: self.quality,
            specificity,
            position: self.position,
        })
    }
}

/// `0`, `0.5`, `1`, `1.000`: a weight between 0 and 1 with at most three decimals.
fn parse_quality(text: &str) -> Option<u16> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let thousandths = format!("{fraction:0<3}").parse::<u16>().ok()?;
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// One NDJSON line: a day (or a period's means) in one base.
#[derive(Serialize)]
struct NdjsonLine<'a> {
    date: String,
    base: Currency,
    #[serde(skip_serializing_if = "Option::is_none")]
    group: Option<&'static str>,
    #[serde(serialize_with = "numbers::rates")]
    rates: &'a BTreeMap<Currency, Rate>,
}

/// Appends `table` to `out` in `format` (CSV rows or one NDJSON line; JSON has no per-day
/// encoding and writes nothing). `group` names the period when `table` holds period means.
pub(crate) fn encode_day(
    format: Format,
    table: &RateTable,
    group: Option<Period>,
    out: &mut Vec<u8>,
) -> Result<(), ApiError> {
    let encoding_failed = |error: serde_json::Error| {
        ApiError::UnrepresentableValue(format!("cannot encode: {error}"))
    };
    match format {
        Format::Csv => {
            let date = format_date(table.date());
            let base = table.base();
            for (currency, rate) in table.rates() {
                out.extend_from_slice(date.as_bytes());
                out.push(b',');
                out.extend_from_slice(base.as_str().as_bytes());
                out.push(b',');
                out.extend_from_slice(currency.as_str().as_bytes());
                out.push(b',');
                serde_json::to_writer(&mut *out, &Plain(rate.get())).map_err(encoding_failed)?;
                out.push(b'\n');
            }
        }
        Format::Ndjson => {
            let line = NdjsonLine {
                date: format_date(table.date()),
                base: table.base(),
                group: group.map(Period::as_str),
                rates: table.rates(),
            };
            serde_json::to_writer(&mut *out, &line).map_err(encoding_failed)?;
            out.push(b'\n');
        }
        Format::Json => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn accept(values: &[&str]) -> Format {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        }
        Format::negotiate(None, &headers)
    }

    #[test]
    fn format_parameter_knows_three_names_and_wins_over_accept() {
        for format in Format::ALL {
            assert_eq!(Format::parse(format.as_str()).unwrap(), format);
        }
        for bad in ["CSV", "xml", "", "csv "] {
            assert_eq!(Format::parse(bad).unwrap_err().code(), "invalid_format");
        }
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_static("text/csv"));
        assert_eq!(
            Format::negotiate(Some(Format::Ndjson), &headers),
            Format::Ndjson
        );
    }

    #[test]
    fn accept_picks_the_best_supported_type() {
        assert_eq!(accept(&[]), Format::Json);
        assert_eq!(accept(&["text/csv"]), Format::Csv);
        assert_eq!(accept(&["application/x-ndjson"]), Format::Ndjson);
        assert_eq!(accept(&["application/ndjson"]), Format::Ndjson);
        assert_eq!(accept(&["TEXT/CSV; charset=utf-8"]), Format::Csv);
        assert_eq!(accept(&["*/*"]), Format::Json);
        assert_eq!(accept(&["text/html"]), Format::Json);
        assert_eq!(
            accept(&["text/html,application/xhtml+xml,*/*;q=0.8"]),
            Format::Json
        );
        assert_eq!(accept(&["text/csv, */*;q=0.1"]), Format::Csv);
        assert_eq!(accept(&["text/*"]), Format::Csv);
        assert_eq!(
            accept(&["application/json;q=0.5, text/csv;q=0.9"]),
            Format::Csv
        );
        assert_eq!(accept(&["text/csv, application/json"]), Format::Csv);
        assert_eq!(accept(&["application/json", "text/csv"]), Format::Json);
        assert_eq!(accept(&["text/csv;q=0"]), Format::Json);
        assert_eq!(accept(&["*/*, application/json;q=0"]), Format::Csv);
        assert_eq!(
            accept(&["text/csv;q=2, application/x-ndjson"]),
            Format::Ndjson
        );
        assert_eq!(accept(&["garbage, ,;;/"]), Format::Json);
    }

    #[test]
    fn quality_values_are_zero_to_one_with_three_decimals() {
        assert_eq!(parse_quality("0"), Some(0));
        assert_eq!(parse_quality("0.5"), Some(500));
        assert_eq!(parse_quality("0.125"), Some(125));
        assert_eq!(parse_quality("1"), Some(1000));
        assert_eq!(parse_quality("1.000"), Some(1000));
        for bad in ["1.5", "0.1234", "-0", "", "x", "2"] {
            assert_eq!(parse_quality(bad), None, "{bad}");
        }
    }

    #[test]
    fn days_encode_as_csv_rows_and_ndjson_lines() {
        let table = RateTable::from_raw(
            date!(2024 - 01 - 02),
            Currency::EUR,
            [("USD", 1.0956), ("JPY", 155.0)],
        )
        .unwrap();
        let mut out = Vec::new();
        encode_day(Format::Csv, &table, None, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "2024-01-02,EUR,JPY,155\n2024-01-02,EUR,USD,1.0956\n"
        );
        let mut out = Vec::new();
        encode_day(Format::Ndjson, &table, Some(Period::Month), &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"date\":\"2024-01-02\",\"base\":\"EUR\",\"group\":\"month\",\"rates\":{\"JPY\":155,\"USD\":1.0956}}\n"
        );
    }
}
