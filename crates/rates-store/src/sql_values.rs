//! Dates, timestamps and codes as they cross the database boundary on the hot paths.
//!
//! Diesel formats and parses SQLite dates and timestamps with `time`'s generic format
//! machinery, once per row and value; a bulk load binds hundreds of thousands of them and a
//! range read decodes thousands. These types format once per day or batch, parse the one
//! layout this store writes with a direct reader (falling back to diesel's for anything else),
//! and decode currency codes without allocating. PostgreSQL's binary encodings are already
//! cheap, so there they delegate to diesel.

use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::pg::{Pg, PgValue};
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::{Date as SqlDate, Text, Timestamp as SqlTimestamp};
use diesel::sqlite::{Sqlite, SqliteValue};
use rates_domain::{format_date, parse_date, Currency};
use time::macros::format_description;
use time::{Date, PrimitiveDateTime, Time};

/// A date bound as a parameter, its SQLite text (`YYYY-MM-DD`, as diesel writes it) made once.
///
/// `Copy` and free of borrows, so rows built from it have a static query id and diesel can
/// prepare a multi-row INSERT once and reuse it.
#[derive(Debug, Clone, Copy, AsExpression)]
#[diesel(sql_type = SqlDate)]
pub(crate) struct DateParam {
    date: Date,
    /// Empty (all zero) for a date that does not fit; `to_sql` then uses diesel's own.
    text: [u8; DATE_TEXT_LEN],
}

/// `YYYY-MM-DD`: the length of every date the store writes (years 0000-9999).
const DATE_TEXT_LEN: usize = 10;

impl DateParam {
    pub(crate) fn new(date: Date) -> DateParam {
        let mut text = [0; DATE_TEXT_LEN];
        let formatted = format_date(date);
        // Years outside 0000-9999 do not fit; they are written as diesel would write them.
        if formatted.len() == DATE_TEXT_LEN {
            text.copy_from_slice(formatted.as_bytes());
        }
        DateParam { date, text }
    }

    pub(crate) fn date(&self) -> Date {
        self.date
    }

    fn text(&self) -> Option<&str> {
        std::str::from_utf8(&self.text)
            .ok()
            .filter(|text| !text.starts_with('\0'))
    }
}

impl ToSql<SqlDate, Sqlite> for DateParam {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        match self.text() {
            Some(text) => {
                out.set_value(text);
                Ok(IsNull::No)
            }
            None => <Date as ToSql<SqlDate, Sqlite>>::to_sql(&self.date, out),
        }
    }
}

impl ToSql<SqlDate, Pg> for DateParam {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        <Date as ToSql<SqlDate, Pg>>::to_sql(&self.date, out)
    }
}

/// The longest timestamp text: `YYYY-MM-DD HH:MM:SS.fffffffff`.
const TIMESTAMP_TEXT_MAX: usize = 29;

/// A timestamp bound as a parameter, its SQLite text made once, in diesel's own layout
/// (`YYYY-MM-DD HH:MM:SS[.fraction]`) so values written either way compare correctly as text.
/// `Copy` and free of borrows, like [`DateParam`].
#[derive(Debug, Clone, Copy, AsExpression)]
#[diesel(sql_type = SqlTimestamp)]
pub(crate) struct TimestampParam {
    moment: PrimitiveDateTime,
    text: [u8; TIMESTAMP_TEXT_MAX],
    len: u8,
}

impl TimestampParam {
    pub(crate) fn new(moment: PrimitiveDateTime) -> TimestampParam {
        let text = if moment.nanosecond() == 0 {
            moment.format(format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second]"
            ))
        } else {
            moment.format(format_description!(
                "[year]-[month]-[day] [hour]:[minute]:[second].[subsecond]"
            ))
        };
        let mut param = TimestampParam {
            moment,
            text: [0; TIMESTAMP_TEXT_MAX],
            len: 0,
        };
        // Formatting a valid PrimitiveDateTime with these layouts cannot fail, and only years
        // beyond 9999 are longer; either way an empty text makes `to_sql` use diesel's own.
        if let Ok(text) = text {
            if let (Some(target), Ok(len)) =
                (param.text.get_mut(..text.len()), u8::try_from(text.len()))
            {
                target.copy_from_slice(text.as_bytes());
                param.len = len;
            }
        }
        param
    }

    pub(crate) fn moment(&self) -> PrimitiveDateTime {
        self.moment
    }

    fn text(&self) -> Option<&str> {
        self.text
            .get(..usize::from(self.len))
            .filter(|text| !text.is_empty())
            .and_then(|text| std::str::from_utf8(text).ok())
    }
}

impl ToSql<SqlTimestamp, Sqlite> for TimestampParam {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        match self.text() {
            Some(text) => {
                out.set_value(text);
                Ok(IsNull::No)
            }
            None => <PrimitiveDateTime as ToSql<SqlTimestamp, Sqlite>>::to_sql(&self.moment, out),
        }
    }
}

impl ToSql<SqlTimestamp, Pg> for TimestampParam {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        <PrimitiveDateTime as ToSql<SqlTimestamp, Pg>>::to_sql(&self.moment, out)
    }
}

/// A currency code bound as text, without allocating.
#[derive(Debug, Clone, Copy, AsExpression)]
#[diesel(sql_type = Text)]
pub(crate) struct CodeParam(pub(crate) Currency);

impl ToSql<Text, Sqlite> for CodeParam {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Sqlite>) -> serialize::Result {
        out.set_value(self.0.as_str());
        Ok(IsNull::No)
    }
}

impl ToSql<Text, Pg> for CodeParam {
    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
        <str as ToSql<Text, Pg>>::to_sql(self.0.as_str(), out)
    }
}

/// A date read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, FromSqlRow)]
pub(crate) struct LoadedDate(pub(crate) Date);

impl FromSql<SqlDate, Sqlite> for LoadedDate {
    fn from_sql(mut value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        if let Ok(date) = parse_date(value.read_text()) {
            return Ok(LoadedDate(date));
        }
        <Date as FromSql<SqlDate, Sqlite>>::from_sql(value).map(LoadedDate)
    }
}

impl FromSql<SqlDate, Pg> for LoadedDate {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        <Date as FromSql<SqlDate, Pg>>::from_sql(value).map(LoadedDate)
    }
}

/// A timestamp read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, FromSqlRow)]
pub(crate) struct LoadedTimestamp(pub(crate) PrimitiveDateTime);

impl FromSql<SqlTimestamp, Sqlite> for LoadedTimestamp {
    fn from_sql(mut value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        if let Some(moment) = parse_stored_timestamp(value.read_text()) {
            return Ok(LoadedTimestamp(moment));
        }
        <PrimitiveDateTime as FromSql<SqlTimestamp, Sqlite>>::from_sql(value).map(LoadedTimestamp)
    }
}

impl FromSql<SqlTimestamp, Pg> for LoadedTimestamp {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        <PrimitiveDateTime as FromSql<SqlTimestamp, Pg>>::from_sql(value).map(LoadedTimestamp)
    }
}

/// Reads `YYYY-MM-DD HH:MM:SS` with an optional `.fraction` of 1 to 9 digits; `None` for
/// anything else.
fn parse_stored_timestamp(text: &str) -> Option<PrimitiveDateTime> {
    let date = parse_date(text.get(..10)?).ok()?;
    let clock = text.get(10..)?;
    let (whole, fraction) = match clock.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (clock, None),
    };
    let whole = whole.strip_prefix(' ')?.as_bytes();
    let [h1, h2, b':', m1, m2, b':', s1, s2] = *whole else {
        return None;
    };
    let two = |tens: u8, ones: u8| {
        (tens.is_ascii_digit() && ones.is_ascii_digit()).then(|| (tens - b'0') * 10 + (ones - b'0'))
    };
    let nanosecond = match fraction {
        None => 0,
        Some(digits)
            if (1..=9).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()) =>
        {
            let value: u32 = digits.parse().ok()?;
            let scale = 10u32.pow(9 - u32::try_from(digits.len()).ok()?);
            value * scale
        }
        Some(_) => return None,
    };
    let time = Time::from_hms_nano(two(h1, h2)?, two(m1, m2)?, two(s1, s2)?, nanosecond).ok()?;
    Some(PrimitiveDateTime::new(date, time))
}

/// A currency code read back: valid, or the stored text for the error message.
#[derive(Debug, Clone, PartialEq, Eq, FromSqlRow)]
pub(crate) enum LoadedCode {
    Valid(Currency),
    Invalid(String),
}

impl LoadedCode {
    fn from_text(text: &str) -> LoadedCode {
        Currency::parse(text)
            .map_or_else(|_| LoadedCode::Invalid(text.to_owned()), LoadedCode::Valid)
    }
}

impl FromSql<Text, Sqlite> for LoadedCode {
    fn from_sql(mut value: SqliteValue<'_, '_, '_>) -> deserialize::Result<Self> {
        Ok(LoadedCode::from_text(value.read_text()))
    }
}

impl FromSql<Text, Pg> for LoadedCode {
    fn from_sql(value: PgValue<'_>) -> deserialize::Result<Self> {
        Ok(LoadedCode::from_text(std::str::from_utf8(
            value.as_bytes(),
        )?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn stored_timestamps_parse_directly() {
        assert_eq!(
            parse_stored_timestamp("2024-01-02 16:05:09"),
            Some(datetime!(2024-01-02 16:05:09))
        );
        assert_eq!(
            parse_stored_timestamp("2024-01-02 16:05:09.5"),
            Some(datetime!(2024-01-02 16:05:09.5))
        );
        assert_eq!(
            parse_stored_timestamp("2024-01-02 16:05:09.123456"),
            Some(datetime!(2024-01-02 16:05:09.123456))
        );
        for other in [
            "2024-01-02T16:05:09",
            "2024-01-02 16:05",
            "2024-01-02 16:05:09.",
            "2024-01-02 16:05:09.1234567890",
            "2024-01-02 25:05:09",
            "2024-01-02 16:05:09Z",
        ] {
            assert_eq!(parse_stored_timestamp(other), None, "{other}");
        }
    }

    #[test]
    fn timestamp_params_use_diesels_layout() {
        assert_eq!(
            TimestampParam::new(datetime!(2024-01-02 16:05:09)).text(),
            Some("2024-01-02 16:05:09")
        );
        assert_eq!(
            TimestampParam::new(datetime!(2024-01-02 16:05:09.120)).text(),
            Some("2024-01-02 16:05:09.12")
        );
        let param = TimestampParam::new(datetime!(2024-01-02 16:05:09.123456789));
        assert_eq!(param.text(), Some("2024-01-02 16:05:09.123456789"));
        let param = TimestampParam::new(datetime!(2024-01-02 16:05:09.123456));
        assert_eq!(
            parse_stored_timestamp(param.text().unwrap_or_default()),
            Some(param.moment())
        );
    }

    #[test]
    fn date_params_use_diesels_layout() {
        assert_eq!(
            DateParam::new(time::macros::date!(2024 - 01 - 02)).text(),
            Some("2024-01-02")
        );
    }
}
