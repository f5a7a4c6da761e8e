//! The European Central Bank's reference-rate history format (`eurofxref-hist.csv`): a header
//! `Date,USD,JPY,...` (every line ends with a comma), one row per day, rates against EUR, `N/A`
//! where a currency did not exist yet (or any more).
//!
//! Parsing only: the caller opens the file (or the ZIP archive holding it) and hands over a
//! reader. The whole text is checked before anything is returned, so a bad row yields an error
//! naming its line and never part of the history.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;

use time::Date;

use crate::{parse_date, Currency, Rate, RateTable};

/// The rates read from an ECB history file.
#[derive(Debug, Clone)]
pub struct EcbHistory {
    /// One table per date, base EUR, in the file's order (newest first in the ECB's file).
    pub tables: Vec<RateTable>,
    /// Cells left out because they held `N/A` or nothing.
    pub skipped_cells: usize,
}

impl EcbHistory {
    /// The number of rates read.
    pub fn rate_count(&self) -> usize {
        self.tables.iter().map(RateTable::len).sum()
    }
}

/// Why a text is not a readable ECB history.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EcbError {
    /// The first line is not the ECB's header (`Date,USD,JPY,...`).
    #[error("line 1: {reason}")]
    Header {
        /// What is wrong with it.
        reason: String,
    },
    /// A data row that cannot be read.
    #[error("line {line}: {reason}")]
    Row {
        /// The 1-based line number in the CSV text.
        line: u64,
        /// What is wrong with it.
        reason: String,
    },
    /// The text has a header but no rows, or nothing at all.
    #[error("the file holds no rates (only a header, or nothing at all)")]
    Empty,
}

/// Parses the CSV text of an ECB history file (pass `text.as_bytes()` for a string).
///
/// The header must start with `Date`; every other non-empty header is a currency code. In the
/// rows, `N/A` and empty cells are skipped; anything else must be a rate (a finite number > 0).
/// A row with the wrong number of cells, a bad date, a repeated date or a bad rate is an error
/// naming its line, and so is a failure of the reader.
pub fn parse_ecb_csv(reader: impl Read) -> Result<EcbHistory, EcbError> {
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(reader);
    let mut records = csv.records();
    let header = match records.next() {
        None => return Err(EcbError::Empty),
        Some(record) => record.map_err(|error| EcbError::Header {
            reason: csv_reason(&error),
        })?,
    };
    let columns = header_columns(&header)?;

    let mut tables = Vec::new();
    let mut first_line_of: HashMap<Date, u64> = HashMap::new();
    let mut skipped_cells = 0;
    for record in records {
        let record = record.map_err(|error| EcbError::Row {
            line: error.position().map_or(0, |position| position.line()),
            reason: csv_reason(&error),
        })?;
        let line = record.position().map_or(0, |position| position.line());
        let row_error = |reason: String| EcbError::Row { line, reason };
        if record.iter().all(|cell| cell.trim().is_empty()) {
            continue;
        }
        if record.len() != header.len() {
            return Err(row_error(format!(
                "expected {} cells like the header, found {}",
                header.len(),
                record.len()
            )));
        }
        let mut cells = record.iter();
        let date_text = cells.next().unwrap_or_default().trim();
        let date = parse_date(date_text).map_err(|error| row_error(error.to_string()))?;
        if let Some(first) = first_line_of.insert(date, line) {
            return Err(row_error(format!(
                "{date_text} is listed again (first on line {first})"
            )));
        }
        let mut rates = BTreeMap::new();
        for (cell, column) in cells.zip(&columns) {
            let cell = cell.trim();
            if cell.is_empty() || cell.eq_ignore_ascii_case("N/A") {
                skipped_cells += usize::from(column.is_some());
                continue;
            }
            let Some(currency) = column else {
                return Err(row_error(format!(
                    "unexpected value {cell:?} in a column without a header"
                )));
            };
            let rate = cell
                .parse::<f64>()
                .map_err(|_| "not a number".to_owned())
                .and_then(|value| Rate::new(value).map_err(|error| error.to_string()))
                .map_err(|reason| row_error(format!("{currency} {cell:?}: {reason}")))?;
            rates.insert(*currency, rate);
        }
        let table = RateTable::new(date, Currency::EUR, rates)
            .map_err(|error| row_error(error.to_string()))?;
        tables.push(table);
    }
    if tables.is_empty() {
        return Err(EcbError::Empty);
    }
    Ok(EcbHistory {
        tables,
        skipped_cells,
    })
}

/// The currency of each column after `Date`; `None` for a blank header (the ECB's file ends
/// every line with a comma).
fn header_columns(header: &csv::StringRecord) -> Result<Vec<Option<Currency>>, EcbError> {
    let mut names = header.iter();
    let first = names
        .next()
        .unwrap_or_default()
        .trim()
        .trim_start_matches('\u{feff}');
    if !first.eq_ignore_ascii_case("date") {
        return Err(EcbError::Header {
            reason: format!("expected the ECB history header starting with Date, found {first:?}"),
        });
    }
    let mut seen = Vec::new();
    names
        .enumerate()
        .map(|(index, name)| {
            let name = name.trim();
            if name.is_empty() {
                return Ok(None);
            }
            let currency = Currency::parse(name).map_err(|error| EcbError::Header {
                reason: format!("column {}: {error}", index + 2),
            })?;
            if seen.contains(&currency) {
                return Err(EcbError::Header {
                    reason: format!("column {}: {currency} appears twice", index + 2),
                });
            }
            seen.push(currency);
            Ok(Some(currency))
        })
        .collect()
}

fn csv_reason(error: &csv::Error) -> String {
    match error.kind() {
        csv::ErrorKind::Utf8 { .. } => "the text is not valid UTF-8".to_owned(),
        csv::ErrorKind::Io(error) => format!("read error: {error}"),
        _ => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    const SAMPLE: &str =
        "Date,USD,JPY,CYP,\n2026-10-30,1.1172,175.68,N/A,\n2026-10-29,1.113,175.92,N/A,\n";

    fn parse(text: &str) -> Result<EcbHistory, EcbError> {
        parse_ecb_csv(text.as_bytes())
    }

    fn error_of(text: &str) -> String {
        match parse(text) {
            Ok(history) => panic!("parsed {} tables from a bad file", history.tables.len()),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn reads_rows_skipping_na_and_the_trailing_blank_column() {
        let history = parse(SAMPLE).unwrap();
        assert_eq!(history.tables.len(), 2);
        assert_eq!(history.skipped_cells, 2);
        assert_eq!(history.rate_count(), 4);
        let first = &history.tables[0];
        assert_eq!(first.date(), date!(2026 - 10 - 30));
        assert_eq!(first.base(), Currency::EUR);
        assert_eq!(
            first.rate(Currency::parse("USD").unwrap()).unwrap().get(),
            1.1172
        );
        assert_eq!(
            first.rate(Currency::parse("JPY").unwrap()).unwrap().get(),
            175.68
        );
        assert!(!first.holds(Currency::parse("CYP").unwrap()));
    }

    #[test]
    fn a_byte_order_mark_and_blank_lines_are_tolerated() {
        let history = parse("\u{feff}Date,USD,\n\n2026-10-30,1.1172,\n\n").unwrap();
        assert_eq!(history.tables.len(), 1);
        assert_eq!(history.rate_count(), 1);
    }

    #[test]
    fn bad_rows_are_named_by_line() {
        let bad_rate = "Date,USD,JPY,\n2026-10-30,1.1172,175.68,\n2026-10-29,1.113,abc,\n";
        assert_eq!(error_of(bad_rate), "line 3: JPY \"abc\": not a number");
        let negative = "Date,USD,\n2026-10-30,-1.2,\n";
        assert!(error_of(negative).starts_with("line 2: USD \"-1.2\": "));
        let bad_date = "Date,USD,\n2026-13-30,1.2,\n";
        assert!(error_of(bad_date).starts_with("line 2: invalid date"));
        let short = "Date,USD,JPY,\n2026-10-30,1.2,\n";
        assert_eq!(
            error_of(short),
            "line 2: expected 4 cells like the header, found 3"
        );
        let repeated = "Date,USD,\n2026-10-30,1.2,\n2026-10-30,1.3,\n";
        assert_eq!(
            error_of(repeated),
            "line 3: 2026-10-30 is listed again (first on line 2)"
        );
        let all_missing = "Date,USD,\n2026-10-30,N/A,\n";
        assert!(error_of(all_missing).starts_with("line 2: "));
        let stray = "Date,USD,\n2026-10-30,1.2,7\n";
        assert_eq!(
            error_of(stray),
            "line 2: unexpected value \"7\" in a column without a header"
        );
        let not_utf8 = b"Date,USD,\n2026-10-30,1.2\xff,\n";
        assert_eq!(
            parse_ecb_csv(&not_utf8[..]).unwrap_err().to_string(),
            "line 2: the text is not valid UTF-8"
        );
    }

    #[test]
    fn a_bad_row_anywhere_returns_no_tables() {
        let late_error = "Date,USD,\n2026-10-30,1.2,\n2026-10-29,1.3,\n2026-10-28,x,\n";
        assert!(matches!(
            parse(late_error),
            Err(EcbError::Row { line: 4, .. })
        ));
    }

    #[test]
    fn a_text_that_is_not_the_ecb_history_is_refused() {
        assert!(error_of("Day,USD\n2026-10-30,1.2\n")
            .starts_with("line 1: expected the ECB history header"));
        assert!(error_of("Date,US,\n").starts_with("line 1: column 2: "));
        assert_eq!(
            error_of("Date,USD,USD,\n"),
            "line 1: column 3: USD appears twice"
        );
        assert_eq!(
            error_of(""),
            "the file holds no rates (only a header, or nothing at all)"
        );
        assert_eq!(
            error_of("Date,USD,\n"),
            "the file holds no rates (only a header, or nothing at all)"
        );
    }
}
