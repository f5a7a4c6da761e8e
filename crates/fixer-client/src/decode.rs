//! Turning response bodies into typed values: lenient where Fixer is inconsistent, strict where
//! it matters.
//!
//! Lenient: `historical` may be absent, a bool or `""`; rates may be integer literals; `type` and
//! `info` in errors may be missing; `timestamp` may be missing. Strict: currency codes are three
//! letters, rates are finite numbers above zero, dates are `YYYY-MM-DD`; a body that breaks this
//! is [`Error::MalformedResponse`], never data and never a panic.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use time::{Date, OffsetDateTime};

use crate::error::{Endpoint, Error, FixerError};
use crate::types::{Change, Conversion, Fluctuation, Rates, Symbols, Timeseries};
use crate::CurrencyCode;

/// How much of a body an error message quotes.
const EXCERPT_CHARS: usize = 120;

/// The first characters of a body, for error messages.
pub(crate) fn excerpt(body: &str) -> String {
    let mut text: String = body.chars().take(EXCERPT_CHARS).collect();
    if body.chars().nth(EXCERPT_CHARS).is_some() {
        text.push('…');
    }
    text
}

struct Decoder {
    endpoint: Endpoint,
}

impl Decoder {
    fn malformed(&self, reason: impl Into<String>) -> Error {
        Error::MalformedResponse {
            endpoint: self.endpoint,
            reason: reason.into(),
        }
    }

    /// Parses the envelope: a Fixer error becomes `Err(Error::Fixer)`, success yields the object.
    fn envelope(&self, body: &str) -> Result<Map<String, Value>, Error> {
        let value: Value = serde_json::from_str(body).map_err(|e| {
            self.malformed(format!(
                "not valid JSON ({e}); body starts {:?}",
                excerpt(body)
            ))
        })?;
        let Value::Object(object) = value else {
            return Err(self.malformed(format!(
                "expected a JSON object; body starts {:?}",
                excerpt(body)
            )));
        };
        match object.get("success") {
            Some(Value::Bool(true)) => Ok(object),
            Some(Value::Bool(false)) => Err(self.fixer_error(&object)),
            Some(other) => Err(self.malformed(format!("`success` is {other}, not a bool"))),
            None if object.contains_key("error") => Err(self.fixer_error(&object)),
            None => Err(self.malformed(format!(
                "no `success` field; body starts {:?}",
                excerpt(body)
            ))),
        }
    }

    fn fixer_error(&self, object: &Map<String, Value>) -> Error {
        let Some(Value::Object(error)) = object.get("error") else {
            return self.malformed("`success` is false but there is no `error` object");
        };
        let code = match error.get("code") {
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        };
        let Some(code) = code else {
            return self.malformed("Fixer error without a numeric `code`");
        };
        let text = |name: &str| match error.get(name) {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            _ => None,
        };
        Error::Fixer {
            endpoint: self.endpoint,
            error: FixerError::new(code, text("type"), text("info")),
        }
    }

    fn field<'a>(&self, object: &'a Map<String, Value>, name: &str) -> Result<&'a Value, Error> {
        object
            .get(name)
            .ok_or_else(|| self.malformed(format!("missing field `{name}`")))
    }

    fn object<'a>(
        &self,
        object: &'a Map<String, Value>,
        name: &str,
    ) -> Result<&'a Map<String, Value>, Error> {
        match self.field(object, name)? {
            Value::Object(inner) => Ok(inner),
            other => Err(self.malformed(format!("`{name}` is {}, not an object", kind(other)))),
        }
    }

    fn date(&self, object: &Map<String, Value>, name: &str) -> Result<Date, Error> {
        match self.field(object, name)? {
            Value::String(text) => self.parse_date(text, name),
            other => Err(self.malformed(format!("`{name}` is {}, not a date", kind(other)))),
        }
    }

    fn parse_date(&self, text: &str, what: &str) -> Result<Date, Error> {
        parse_date(text)
            .ok_or_else(|| self.malformed(format!("`{what}` {text:?} is not a YYYY-MM-DD date")))
    }

    fn currency(&self, text: &str, what: &str) -> Result<CurrencyCode, Error> {
        CurrencyCode::new(text).map_err(|e| self.malformed(format!("{what}: {e}")))
    }

    fn currency_field(
        &self,
        object: &Map<String, Value>,
        name: &str,
    ) -> Result<CurrencyCode, Error> {
        match self.field(object, name)? {
            Value::String(text) => self.currency(text, &format!("`{name}`")),
            other => {
                Err(self.malformed(format!("`{name}` is {}, not a currency code", kind(other))))
            }
        }
    }

    fn number(&self, value: &Value, what: &str) -> Result<f64, Error> {
        match value {
            Value::Number(n) => n
                .as_f64()
                .filter(|x| x.is_finite())
                .ok_or_else(|| self.malformed(format!("{what} {n} is not a finite number"))),
            other => Err(self.malformed(format!("{what} is {}, not a number", kind(other)))),
        }
    }

    fn positive(&self, value: &Value, what: &str) -> Result<f64, Error> {
        let number = self.number(value, what)?;
        if number > 0.0 {
            Ok(number)
        } else {
            Err(self.malformed(format!("{what} {number} is not above zero")))
        }
    }

    fn rate_map(
        &self,
        rates: &Map<String, Value>,
        context: &str,
    ) -> Result<BTreeMap<CurrencyCode, f64>, Error> {
        let mut out = BTreeMap::new();
        for (code, value) in rates {
            let currency = self.currency(code, &format!("{context}key"))?;
            let rate = self.positive(value, &format!("{context}rate of {currency}"))?;
            out.insert(currency, rate);
        }
        Ok(out)
    }

    /// `timestamp` is optional; when present it must be Unix seconds.
    fn timestamp(&self, object: &Map<String, Value>) -> Result<Option<OffsetDateTime>, Error> {
        match object.get("timestamp") {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .and_then(|secs| OffsetDateTime::from_unix_timestamp(secs).ok())
                .map(Some)
                .ok_or_else(|| self.malformed(format!("`timestamp` {n} is not Unix seconds"))),
            Some(other) => {
                Err(self.malformed(format!("`timestamp` is {}, not a number", kind(other))))
            }
        }
    }
}

/// Fixer's `historical` flag: absent, a bool, or (in its documentation's example) `""`.
fn historical_flag(object: &Map<String, Value>) -> bool {
    match object.get("historical") {
        Some(Value::Bool(flag)) => *flag,
        Some(Value::String(text)) => text == "true" || text == "1",
        Some(Value::Number(n)) => n.as_i64() == Some(1),
        _ => false,
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a bool",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Strict `YYYY-MM-DD`.
pub(crate) fn parse_date(text: &str) -> Option<Date> {
    const FORMAT: &[time::format_description::FormatItem<'static>] =
        time::macros::format_description!("[year]-[month]-[day]");
    if text.len() != 10 {
        return None;
    }
    Date::parse(text, FORMAT).ok()
}

/// Formats a date as `YYYY-MM-DD`.
pub(crate) fn format_date(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// Decodes the envelope only, for bodies that came with an error status.
pub(crate) fn fixer_error_in(endpoint: Endpoint, body: &str) -> Option<Error> {
    let decoder = Decoder { endpoint };
    match decoder.envelope(body) {
        Err(error @ Error::Fixer { .. }) => Some(error),
        _ => None,
    }
}

pub(crate) fn symbols(body: &str) -> Result<Symbols, Error> {
    let d = Decoder {
        endpoint: Endpoint::Symbols,
    };
    let object = d.envelope(body)?;
    let mut symbols = BTreeMap::new();
    for (code, name) in d.object(&object, "symbols")? {
        let currency = d.currency(code, "`symbols` key")?;
        let Value::String(name) = name else {
            return Err(d.malformed(format!(
                "name of {currency} is {}, not a string",
                kind(name)
            )));
        };
        symbols.insert(currency, name.clone());
    }
    Ok(Symbols {
        symbols,
        quota: None,
    })
}

pub(crate) fn rates(endpoint: Endpoint, body: &str) -> Result<Rates, Error> {
    let d = Decoder { endpoint };
    let object = d.envelope(body)?;
    Ok(Rates {
        date: d.date(&object, "date")?,
        base: d.currency_field(&object, "base")?,
        timestamp: d.timestamp(&object)?,
        historical: historical_flag(&object),
        rates: d.rate_map(d.object(&object, "rates")?, "")?,
        quota: None,
    })
}

pub(crate) fn conversion(body: &str) -> Result<Conversion, Error> {
    let d = Decoder {
        endpoint: Endpoint::Convert,
    };
    let object = d.envelope(body)?;
    let query = d.object(&object, "query")?;
    let info = d.object(&object, "info")?;
    Ok(Conversion {
        from: d.currency_field(query, "from")?,
        to: d.currency_field(query, "to")?,
        amount: d.positive(d.field(query, "amount")?, "`query.amount`")?,
        rate: d.positive(d.field(info, "rate")?, "`info.rate`")?,
        result: d.positive(d.field(&object, "result")?, "`result`")?,
        date: d.date(&object, "date")?,
        timestamp: d.timestamp(info)?,
        historical: historical_flag(&object),
        quota: None,
    })
}

pub(crate) fn timeseries(body: &str) -> Result<Timeseries, Error> {
    let d = Decoder {
        endpoint: Endpoint::Timeseries,
    };
    let object = d.envelope(body)?;
    let mut rates = BTreeMap::new();
    for (day, day_rates) in d.object(&object, "rates")? {
        let date = d.parse_date(day, "rates key")?;
        let Value::Object(day_rates) = day_rates else {
            return Err(d.malformed(format!(
                "rates of {day} are {}, not an object",
                kind(day_rates)
            )));
        };
        rates.insert(date, d.rate_map(day_rates, &format!("{day}: "))?);
    }
    Ok(Timeseries {
        start_date: d.date(&object, "start_date")?,
        end_date: d.date(&object, "end_date")?,
        base: d.currency_field(&object, "base")?,
        rates,
        quota: None,
    })
}

pub(crate) fn fluctuation(body: &str) -> Result<Fluctuation, Error> {
    let d = Decoder {
        endpoint: Endpoint::Fluctuation,
    };
    let object = d.envelope(body)?;
    let mut rates = BTreeMap::new();
    for (code, change) in d.object(&object, "rates")? {
        let currency = d.currency(code, "`rates` key")?;
        let Value::Object(change) = change else {
            return Err(d.malformed(format!(
                "change of {currency} is {}, not an object",
                kind(change)
            )));
        };
        let what = |name: &str| format!("{currency} {name}");
        rates.insert(
            currency,
            Change {
                start_rate: d.positive(d.field(change, "start_rate")?, &what("start_rate"))?,
                end_rate: d.positive(d.field(change, "end_rate")?, &what("end_rate"))?,
                change: d.number(d.field(change, "change")?, &what("change"))?,
                change_pct: d.number(d.field(change, "change_pct")?, &what("change_pct"))?,
            },
        );
    }
    Ok(Fluctuation {
        start_date: d.date(&object, "start_date")?,
        end_date: d.date(&object, "end_date")?,
        base: d.currency_field(&object, "base")?,
        rates,
        quota: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FixerErrorKind;

    #[test]
    fn historical_flag_is_lenient() {
        for (body, expected) in [
            (
                r#"{"success":true,"date":"2024-01-05","base":"EUR","rates":{"EUR":1}}"#,
                false,
            ),
            (
                r#"{"success":true,"historical":true,"date":"2024-01-05","base":"EUR","rates":{"EUR":1}}"#,
                true,
            ),
            (
                r#"{"success":true,"historical":"","date":"2024-01-05","base":"EUR","rates":{"EUR":1}}"#,
                false,
            ),
        ] {
            let rates = rates(Endpoint::Historical, body).unwrap();
            assert_eq!(rates.historical, expected, "{body}");
            assert_eq!(rates.rates[&CurrencyCode::EUR], 1.0);
        }
    }

    #[test]
    fn bad_rates_and_codes_are_errors_not_data() {
        for body in [
            r#"{"success":true,"date":"2024-01-05","base":"EUR","rates":{"USD":0}}"#,
            r#"{"success":true,"date":"2024-01-05","base":"EUR","rates":{"USD":-1.2}}"#,
            r#"{"success":true,"date":"2024-01-05","base":"EUR","rates":{"USD":"1.1"}}"#,
            r#"{"success":true,"date":"2024-01-05","base":"EUR","rates":{"US":1.1}}"#,
            r#"{"success":true,"date":"2024-01-05","base":"EURO","rates":{"USD":1.1}}"#,
            r#"{"success":true,"date":"2024-1-5","base":"EUR","rates":{"USD":1.1}}"#,
            r#"{"success":true,"date":"2024-01-05","base":"EUR","rates":{"USD":1e999}}"#,
            r#"{"success":true,"date":"2024-01-05","base":"EUR"}"#,
            r#"{"success":true,"date":"2024-01-05","base":"EUR","rates":{"USD":1.1"#,
            r#"[1,2]"#,
            "",
            r#"{"rates":{}}"#,
        ] {
            let error = rates(Endpoint::Latest, body).unwrap_err();
            assert!(
                matches!(
                    error,
                    Error::MalformedResponse {
                        endpoint: Endpoint::Latest,
                        ..
                    }
                ),
                "{body}: {error}"
            );
            assert!(
                error.to_string().starts_with("latest: malformed response"),
                "{error}"
            );
        }
    }

    #[test]
    fn error_envelope_keeps_code_type_and_info_and_tolerates_missing_ones() {
        let error = rates(
            Endpoint::Latest,
            r#"{"success":false,"error":{"code":201,"type":"invalid_base_currency"}}"#,
        )
        .unwrap_err();
        let fixer = error.fixer_error().unwrap();
        assert_eq!(
            (
                fixer.code,
                fixer.error_type.as_deref(),
                fixer.info.as_deref()
            ),
            (201, Some("invalid_base_currency"), None)
        );
        let error = rates(Endpoint::Latest, r#"{"success":false,"error":{"code":104,"info":"Your monthly API request volume has been reached."}}"#).unwrap_err();
        assert_eq!(error.fixer_kind(), Some(FixerErrorKind::UsageLimitReached));
        assert!(error.to_string().contains("monthly API request volume"));
    }

    #[test]
    fn dates_are_strict() {
        assert!(parse_date("2024-02-29").is_some());
        assert!(parse_date("2023-02-29").is_none());
        assert!(parse_date("2024-2-9").is_none());
        assert!(parse_date(" 2024-02-09").is_none());
        assert_eq!(format_date(parse_date("0999-01-02").unwrap()), "0999-01-02");
    }
}
