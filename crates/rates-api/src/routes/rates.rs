//! `GET /rates/{date}/` and `GET /rates/{start}..{end}/`.

use std::collections::BTreeMap;
use std::time::SystemTime;

use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse};
use rates_domain::{format_date, today_utc, Currency, DateRange, Rate, RateTable};
use rates_store::{Store, StoredRateTable};
use serde::Serialize;
use time::Date;

use super::loading::load_day;
use super::serve_cached;
use crate::conditional::{Freshness, RenderedAnswer};
use crate::error::{shorten, ApiError};
use crate::numbers;
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
    let key = cache_key(path, &params);
    let stored_base = config.stored_base;
    serve_cached(&state, &request, key, move |store| {
        render(store, stored_base, path, &params, today_utc())
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

/// Reads and renders the answer; runs on a blocking thread.
fn render(
    store: &Store,
    stored_base: Currency,
    path: RatesPath,
    params: &RatesParams,
    today: Date,
) -> Result<RenderedAnswer, ApiError> {
    match path {
        RatesPath::Latest => render_day(store, stored_base, None, params, Freshness::Short),
        RatesPath::Day(date) => render_day(
            store,
            stored_base,
            Some(date),
            params,
            freshness_of(date, today),
        ),
        RatesPath::Range(range) => render_range(
            store,
            stored_base,
            range,
            params,
            freshness_of(range.end(), today),
        ),
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

/// Rebases the table to the requested base and keeps the requested symbols.
pub(super) fn shape(table: &RateTable, params: &RatesParams) -> Result<RateTable, ApiError> {
    let rebased = match params.base {
        Some(base) if base != table.base() => table.rebase(base).map_err(ApiError::from_domain)?,
        _ => table.clone(),
    };
    rebased.only(&params.symbols).map_err(ApiError::from_domain)
}

fn render_day(
    store: &Store,
    stored_base: Currency,
    date: Option<Date>,
    params: &RatesParams,
    freshness: Freshness,
) -> Result<RenderedAnswer, ApiError> {
    let loaded = load_day(store, stored_base, date, params.fallback)?;
    let table = shape(&loaded.stored.table, params)?;
    let body = DayBody {
        base: table.base(),
        date: format_date(table.date()),
        requested_date: loaded.requested_date.map(format_date),
        timestamp: loaded.stored.last_changed.unix_timestamp(),
        rates: table.rates(),
    };
    Ok(RenderedAnswer::new(
        to_json(&body)?,
        Some(SystemTime::from(loaded.stored.last_changed)),
        freshness,
    ))
}

fn render_range(
    store: &Store,
    stored_base: Currency,
    range: DateRange,
    params: &RatesParams,
    freshness: Freshness,
) -> Result<RenderedAnswer, ApiError> {
    let tables: Vec<StoredRateTable> = store
        .rate_tables_between(range, stored_base)
        .map_err(ApiError::database)?;
    if tables.is_empty() {
        let nearest = store
            .nearest_date_before(range.start(), stored_base)
            .map_err(ApiError::database)?;
        return Err(ApiError::RangeNotFound { range, nearest });
    }
    let last_changed = tables.iter().map(|stored| stored.last_changed).max();
    let mut rates = BTreeMap::new();
    for stored in &tables {
        let table = shape(&stored.table, params)?;
        rates.insert(format_date(table.date()), table.into_rates());
    }
    let body = RangeBody {
        base: params.base.unwrap_or(stored_base),
        start_date: format_date(range.start()),
        end_date: format_date(range.end()),
        rates,
    };
    Ok(RenderedAnswer::new(
        to_json(&body)?,
        last_changed.map(SystemTime::from),
        freshness,
    ))
}

pub(super) fn to_json(body: &impl Serialize) -> Result<Vec<u8>, ApiError> {
    serde_json::to_vec(body).map_err(|error| {
        ApiError::UnrepresentableValue(format!("cannot encode the answer: {error}"))
    })
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
