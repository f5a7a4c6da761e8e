//! `GET /rates/{date}/` and `GET /rates/{start}..{end}/`.

use std::collections::BTreeMap;
use std::time::SystemTime;

use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse};
use rates_domain::{format_date, today_utc, Currency, DateRange, Rate};
use rates_snapshot::Snapshot;
use serde::Serialize;
use time::Date;

use super::days::{find_day, shape};
use super::serve_cached;
use crate::conditional::{Freshness, RenderedAnswer};
use crate::error::{shorten, ApiError};
use crate::numbers;
use crate::read_through;
use crate::request::{RatesParams, RatesPath, RatesQuery};
use crate::state::ApiState;

/// One day's rates.
#[derive(Serialize)]
struct DayBody<'a> {
    base: Currency,
    date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    requested_date: Option<String>,
    timestamp: i64,
    #[serde(serialize_with = "numbers::rates")]
    rates: &'a BTreeMap<Currency, Rate>,
}

/// Rates for each day held in a range, keyed by date.
#[derive(Serialize)]
struct RangeBody {
    base: Currency,
    start_date: String,
    end_date: String,
    #[serde(serialize_with = "numbers::rates_by_day")]
    rates: BTreeMap<String, BTreeMap<Currency, Rate>>,
}

/// Every request under `/rates`: the method, the one path segment and the query are checked
/// here (see [`super::register`] for why this is not an actix path pattern).
pub(super) async fn rates(
    state: web::Data<ApiState>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return Err(ApiError::MethodNotAllowed {
            method: request.method().clone(),
        });
    }
    let when = rates_segment(&request)?;
    let query = web::Query::<RatesQuery>::from_query(request.query_string())
        .map_err(|error| ApiError::InvalidQuery(shorten(&error.to_string(), 200)))?;
    let config = state.config();
    let path = RatesPath::parse(&when, config.max_range_days)?;
    let params = query.parse()?;
    if let RatesPath::Day(date) = path {
        read_through::bring_in(&state, date).await;
    }
    let key = cache_key(path, &params);
    serve_cached(&state, &request, key, |snapshot| {
        render(snapshot, path, &params, today_utc())
    })
    .await
}

/// The `{date}` of `/rates/{date}` or `/rates/{date}/`, percent-decoded; any other shape under
/// `/rates` is an unknown route.
fn rates_segment(request: &HttpRequest) -> Result<String, ApiError> {
    let tail = request.match_info().unprocessed();
    let segment = tail
        .strip_prefix('/')
        .map(|rest| rest.strip_suffix('/').unwrap_or(rest))
        .filter(|segment| !segment.is_empty() && !segment.contains('/'));
    let Some(segment) = segment else {
        return Err(ApiError::RouteNotFound {
            path: shorten(request.path(), 80),
        });
    };
    percent_decode(segment)
}

/// Decodes `%XX` escapes; a malformed escape or bytes that are not UTF-8 are a bad path.
fn percent_decode(segment: &str) -> Result<String, ApiError> {
    if !segment.contains('%') {
        return Ok(segment.to_owned());
    }
    let invalid =
        |reason: &str| ApiError::InvalidPath(format!("{:?}: {reason}", shorten(segment, 40)));
    let mut bytes = Vec::with_capacity(segment.len());
    let mut rest = segment.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        if byte == b'%' {
            let hex = tail
                .get(..2)
                .and_then(|digits| std::str::from_utf8(digits).ok())
                .and_then(|digits| u8::from_str_radix(digits, 16).ok())
                .ok_or_else(|| invalid("a % must be followed by two hexadecimal digits"))?;
            bytes.push(hex);
            rest = tail.get(2..).unwrap_or_default();
        } else {
            bytes.push(byte);
            rest = tail;
        }
    }
    String::from_utf8(bytes).map_err(|_| invalid("the decoded bytes are not UTF-8"))
}

fn cache_key(path: RatesPath, params: &RatesParams) -> String {
    let when = match path {
        RatesPath::Latest => "latest".to_owned(),
        RatesPath::Day(date) => format_date(date),
        RatesPath::Range(range) => range.to_string(),
    };
    let base = params.base.map(|base| base.to_string()).unwrap_or_default();
    let symbols: Vec<&str> = params.symbols.iter().map(Currency::as_str).collect();
    format!(
        "rates/{when}?base={base}&symbols={}&fallback={}",
        symbols.join(","),
        params.fallback
    )
}

/// Computes and renders the answer from the snapshot.
fn render(
    snapshot: &Snapshot,
    path: RatesPath,
    params: &RatesParams,
    today: Date,
) -> Result<RenderedAnswer, ApiError> {
    match path {
        RatesPath::Latest => render_day(snapshot, None, params, Freshness::Short),
        RatesPath::Day(date) => render_day(snapshot, Some(date), params, freshness_of(date, today)),
        RatesPath::Range(range) => {
            render_range(snapshot, range, params, freshness_of(range.end(), today))
        }
    }
}

/// Past dates change only when a source revises them; today's may still arrive or change.
fn freshness_of(last_date: Date, today: Date) -> Freshness {
    if last_date < today {
        Freshness::Long
    } else {
        Freshness::Short
    }
}

fn render_day(
    snapshot: &Snapshot,
    date: Option<Date>,
    params: &RatesParams,
    freshness: Freshness,
) -> Result<RenderedAnswer, ApiError> {
    let found = find_day(snapshot, date, params.fallback)?;
    let table = shape(&found.stored.table, params)?;
    let body = DayBody {
        base: table.base(),
        date: format_date(table.date()),
        requested_date: found.requested_date.map(format_date),
        timestamp: found.stored.last_changed.unix_timestamp(),
        rates: table.rates(),
    };
    RenderedAnswer::json(
        &body,
        Some(SystemTime::from(found.stored.last_changed)),
        freshness,
    )
}

fn render_range(
    snapshot: &Snapshot,
    range: DateRange,
    params: &RatesParams,
    freshness: Freshness,
) -> Result<RenderedAnswer, ApiError> {
    let days = snapshot.range(range);
    if days.len() == 0 {
        let nearest = snapshot
            .nearest_before(range.start())
            .map(|stored| stored.table.date());
        return Err(ApiError::RangeNotFound { range, nearest });
    }
    let last_changed = days.clone().map(|stored| stored.last_changed).max();
    let mut rates = BTreeMap::new();
    for stored in days {
        let table = shape(&stored.table, params)?;
        rates.insert(format_date(table.date()), table.into_owned().into_rates());
    }
    let body = RangeBody {
        base: params.base.unwrap_or(snapshot.base()),
        start_date: format_date(range.start()),
        end_date: format_date(range.end()),
        rates,
    };
    RenderedAnswer::json(&body, last_changed.map(SystemTime::from), freshness)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_is_strict() {
        assert_eq!(percent_decode("2024-01-02").unwrap(), "2024-01-02");
        assert_eq!(percent_decode("%32024-01-02").unwrap(), "2024-01-02");
        assert_eq!(percent_decode("%00").unwrap(), "\0");
        assert_eq!(percent_decode("%C3%9C").unwrap(), "Ü");
        for bad in ["%", "%2", "%zz", "%FF%FE", "%C3"] {
            assert_eq!(
                percent_decode(bad).unwrap_err().code(),
                "invalid_path",
                "{bad}"
            );
        }
    }
}
