//! Reading an `/api` request as Fixer does: the endpoint from the path, then the parameters,
//! each failure mapped to Fixer's code for it.
//!
//! Fixer ignores parameters it does not know (clients send `format`, `callback`, `apikey`...),
//! and so does `/api`; a parameter given twice counts with its first value.

use rates_domain::{parse_date, Currency};
use time::Date;

use super::error::FixerApiError;
use crate::request::parse_amount;

/// The query string as name/value pairs, percent-decoded.
#[derive(Debug, Default)]
pub(crate) struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    /// Reads `query_string`; one that cannot be decoded counts as empty (every required
    /// parameter is then missing, which has its own Fixer error).
    pub(crate) fn parse(query_string: &str) -> Query {
        Query {
            pairs: actix_web::web::Query::<Vec<(String, String)>>::from_query(query_string)
                .map(actix_web::web::Query::into_inner)
                .unwrap_or_default(),
        }
    }

    /// The first value of `name`, trimmed; an empty value counts as absent.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.trim())
            .filter(|value| !value.is_empty())
    }
}

/// The endpoint a path under `/api` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Latest,
    Historical(Date),
    Timeseries,
    Fluctuation,
    Convert,
    Symbols,
}

impl Endpoint {
    /// Reads the part of the path after `/api` (`/latest`, `/2024-01-02/`, ...). No segment is
    /// a historical request without its date (301); a segment made of digits and dashes is a
    /// date (302 when it is not a valid `YYYY-MM-DD`); any other path is 404.
    pub(crate) fn parse(tail: &str) -> Result<Endpoint, FixerApiError> {
        let segment = tail.trim_start_matches('/');
        let segment = segment.strip_suffix('/').unwrap_or(segment);
        match segment {
            "" => Err(FixerApiError::NoDateSpecified),
            "latest" => Ok(Endpoint::Latest),
            "timeseries" => Ok(Endpoint::Timeseries),
            "fluctuation" => Ok(Endpoint::Fluctuation),
            "convert" => Ok(Endpoint::Convert),
            "symbols" => Ok(Endpoint::Symbols),
            date if date
                .bytes()
                .all(|byte| byte.is_ascii_digit() || byte == b'-') =>
            {
                parse_date(date)
                    .map(Endpoint::Historical)
                    .map_err(|_| FixerApiError::InvalidDate)
            }
            _ => Err(FixerApiError::NotFound),
        }
    }
}

/// `base` and `symbols`, shared by latest, historical, timeseries and fluctuation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RatesParams {
    /// `None`: the stored base (EUR, Fixer's default).
    pub base: Option<Currency>,
    /// Sorted, without repeats; empty means every currency.
    pub symbols: Vec<Currency>,
}

impl RatesParams {
    /// `base` that is not a currency code is 201; a code in `symbols` that is not one is 202.
    /// Whether they are held is checked against the data.
    pub(crate) fn parse(query: &Query) -> Result<RatesParams, FixerApiError> {
        let base = query
            .get("base")
            .map(|code| Currency::parse(code).map_err(|_| FixerApiError::InvalidBaseCurrency))
            .transpose()?;
        let mut symbols = match query.get("symbols") {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|code| !code.is_empty())
                .map(|code| Currency::parse(code).map_err(|_| FixerApiError::InvalidCurrencyCodes))
                .collect::<Result<Vec<_>, _>>()?,
        };
        symbols.sort_unstable();
        symbols.dedup();
        Ok(RatesParams { base, symbols })
    }
}

/// A date no later than `today`, or 302 (Fixer refuses future dates with it).
pub(crate) fn past_or_today(date: Date, today: Date) -> Result<Date, FixerApiError> {
    if date > today {
        Err(FixerApiError::InvalidDate)
    } else {
        Ok(date)
    }
}

/// `start_date` and `end_date` of timeseries and fluctuation, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Timeframe {
    pub start: Date,
    pub end: Date,
}

impl Timeframe {
    /// 501 without either date, 502 / 503 for a missing or malformed one, 504 when the end is
    /// before the start, 505 when more than `max_days` days (both ends counted).
    pub(crate) fn parse(query: &Query, max_days: u32) -> Result<Timeframe, FixerApiError> {
        let (start, end) = match (query.get("start_date"), query.get("end_date")) {
            (None, None) => return Err(FixerApiError::NoTimeframeSupplied),
            (start, end) => (start, end),
        };
        let start = start
            .and_then(|text| parse_date(text).ok())
            .ok_or(FixerApiError::InvalidStartDate)?;
        let end = end
            .and_then(|text| parse_date(text).ok())
            .ok_or(FixerApiError::InvalidEndDate)?;
        if end < start {
            return Err(FixerApiError::InvalidTimeFrame);
        }
        let days = (end - start).whole_days() + 1;
        if days > i64::from(max_days) {
            return Err(FixerApiError::TimeFrameTooLong { max_days });
        }
        Ok(Timeframe { start, end })
    }
}

/// What `/api/convert` was asked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ConvertParams {
    pub from: Currency,
    pub to: Currency,
    pub amount: f64,
    /// `None`: the latest rates (and no `historical` in the answer).
    pub date: Option<Date>,
}

impl ConvertParams {
    /// 402 for a missing or malformed `from` / `to`, 403 for an `amount` that is missing, not a
    /// number or not above zero, 302 for a malformed or future `date`.
    pub(crate) fn parse(query: &Query, today: Date) -> Result<ConvertParams, FixerApiError> {
        let from = query
            .get("from")
            .and_then(|code| Currency::parse(code).ok())
            .ok_or(FixerApiError::InvalidFromCurrency)?;
        let to = query
            .get("to")
            .and_then(|code| Currency::parse(code).ok())
            .ok_or(FixerApiError::InvalidToCurrency)?;
        let amount = query
            .get("amount")
            .and_then(|text| parse_amount(text).ok())
            .filter(|amount| *amount > 0.0)
            .ok_or(FixerApiError::InvalidConversionAmount)?;
        let date = query
            .get("date")
            .map(|text| {
                parse_date(text)
                    .map_err(|_| FixerApiError::InvalidDate)
                    .and_then(|date| past_or_today(date, today))
            })
            .transpose()?;
        Ok(ConvertParams {
            from,
            to,
            amount,
            date,
        })
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;

    const TODAY: Date = date!(2024 - 06 - 28);

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    /// The Fixer code of a failure; `None` when it succeeded.
    fn code<T>(result: Result<T, FixerApiError>) -> Option<u16> {
        result.err().map(|error| error.code())
    }

    #[test]
    fn endpoints_dates_and_unknown_paths() -> TestResult {
        assert_eq!(Endpoint::parse("/latest"), Ok(Endpoint::Latest));
        assert_eq!(Endpoint::parse("/symbols/"), Ok(Endpoint::Symbols));
        assert_eq!(
            Endpoint::parse("/2024-01-02"),
            Ok(Endpoint::Historical(date!(2024 - 01 - 02)))
        );
        assert_eq!(code(Endpoint::parse("/2024-02-30")), Some(302));
        assert_eq!(code(Endpoint::parse("/2024-1-2")), Some(302));
        assert_eq!(code(Endpoint::parse("/-001-01-01")), Some(302));
        assert_eq!(code(Endpoint::parse("")), Some(301));
        assert_eq!(code(Endpoint::parse("/")), Some(301));
        assert_eq!(code(Endpoint::parse("/historical")), Some(404));
        assert_eq!(code(Endpoint::parse("/latest/extra")), Some(404));
        Ok(())
    }

    #[test]
    fn base_and_symbols_map_to_201_and_202() -> TestResult {
        let params = RatesParams::parse(&Query::parse("base=usd&symbols=gbp,%20JPY,,GBP&format=1"));
        assert_eq!(
            params,
            Ok(RatesParams {
                base: Some(Currency::USD),
                symbols: vec![Currency::parse("GBP")?, Currency::parse("JPY")?],
            })
        );
        assert_eq!(
            code(RatesParams::parse(&Query::parse("base=EURO"))),
            Some(201)
        );
        assert_eq!(
            code(RatesParams::parse(&Query::parse("symbols=USD,U5D"))),
            Some(202)
        );
        assert_eq!(
            RatesParams::parse(&Query::parse("base=&symbols=")),
            Ok(RatesParams::default())
        );
        Ok(())
    }

    #[test]
    fn timeframes_map_to_501_to_505() -> TestResult {
        let frame = |query: &str| Timeframe::parse(&Query::parse(query), 365);
        assert_eq!(code(frame("")), Some(501));
        assert_eq!(code(frame("end_date=2024-01-02")), Some(502));
        assert_eq!(
            code(frame("start_date=yyyy-mm-dd&end_date=2024-01-02")),
            Some(502)
        );
        assert_eq!(code(frame("start_date=2024-01-02")), Some(503));
        assert_eq!(
            code(frame("start_date=2024-01-02&end_data=2024-01-05")),
            Some(503)
        );
        assert_eq!(
            code(frame("start_date=2024-01-05&end_date=2024-01-02")),
            Some(504)
        );
        assert_eq!(
            code(frame("start_date=2023-01-01&end_date=2024-01-01")),
            Some(505)
        );
        assert_eq!(
            frame("start_date=2023-01-01&end_date=2023-12-31"),
            Ok(Timeframe {
                start: date!(2023 - 01 - 01),
                end: date!(2023 - 12 - 31)
            }),
            "365 days, both ends counted"
        );
        Ok(())
    }

    #[test]
    fn convert_maps_to_402_403_and_302() -> TestResult {
        let convert = |query: &str| ConvertParams::parse(&Query::parse(query), TODAY);
        assert_eq!(code(convert("to=USD&amount=1")), Some(402));
        assert_eq!(code(convert("from=EUR&to=US&amount=1")), Some(402));
        for amount in ["", "0", "-5", "ten", "inf"] {
            assert_eq!(
                code(convert(&format!("from=EUR&to=USD&amount={amount}"))),
                Some(403)
            );
        }
        assert_eq!(
            code(convert("from=EUR&to=USD&amount=1&date=2024-13-01")),
            Some(302)
        );
        assert_eq!(
            code(convert("from=EUR&to=USD&amount=1&date=2024-06-29")),
            Some(302)
        );
        let params = convert("from=eur&to=usd&amount=25.5&date=2024-01-02");
        assert_eq!(
            params,
            Ok(ConvertParams {
                from: Currency::EUR,
                to: Currency::USD,
                amount: 25.5,
                date: Some(date!(2024 - 01 - 02)),
            })
        );
        Ok(())
    }
}
