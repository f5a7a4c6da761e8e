//! `/api/...`: a Fixer-compatible API, so an existing Fixer client switches to this server by
//! changing its base URL (`https://data.fixer.io/api` → `https://rates.example/api`).
//!
//! Endpoints, parameters, fields and errors are Fixer's (`FIXER-API.md`): `latest`,
//! `{YYYY-MM-DD}`, `timeseries`, `fluctuation`, `convert` and `symbols`, with `base`, `symbols`,
//! `start_date`/`end_date`, `from`/`to`/`amount`/`date` and `access_key`; answers carry
//! `success` and Fixer's other fields; every failure is a [`FixerApiError`] in HTTP 200 with
//! Fixer's code, type and info, never a 5xx and never the native error shape.
//!
//! - Answers are computed from the same in-memory snapshot, with the same rebasing and
//!   conversion, as the native API: the values are the same ([`answers`]).
//! - With `server.auth = "api-key"` the key is `access_key` (Fixer's classic host), or the
//!   `apikey` parameter or header (APILayer's host): one of this server's API keys, checked
//!   against the same in-memory copy as the native API's; 101 when missing, unknown or revoked.
//!   Query strings are never logged (the access log has the path only).
//! - A past date not held is read through (fetched from Fixer once, stored, answered) when
//!   `fetch.on_demand` is on: see [`crate::read_through`].

mod answers;
mod error;
mod params;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse};
use rates_domain::today_utc;
use time::Date;

pub use error::{FixerApiError, FIXER_MAX_RANGE_DAYS};
use params::{past_or_today, ConvertParams, Endpoint, Query, RatesParams, Timeframe};

use crate::read_through;
use crate::state::{ApiState, AuthMode};

/// Registers `/api` and everything under it on `scope`: one prefix, whose handler reads the
/// endpoint from the rest of the path (see [`crate::routes`] for why not actix patterns).
pub(crate) fn register(scope: actix_web::Scope) -> actix_web::Scope {
    scope.service(web::scope("/api").default_service(web::to(api)))
}

/// Every request under `/api`.
async fn api(
    state: web::Data<ApiState>,
    request: HttpRequest,
) -> Result<HttpResponse, FixerApiError> {
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return Err(FixerApiError::MethodNotAllowed);
    }
    let query = Query::parse(request.query_string());
    if state.config().auth == AuthMode::ApiKey {
        check_key(&state, &request, &query)?;
    }
    let endpoint = Endpoint::parse(request.match_info().unprocessed())?;
    let today = today_utc();
    let body = match endpoint {
        Endpoint::Latest => {
            let params = RatesParams::parse(&query)?;
            answers::latest(&state.snapshot().current(), &params)?
        }
        Endpoint::Historical(date) => {
            let params = RatesParams::parse(&query)?;
            let date = past_or_today(date, today)?;
            read_through_if_missing(&state, date).await;
            answers::historical(&state.snapshot().current(), date, &params)?
        }
        Endpoint::Timeseries => {
            let params = RatesParams::parse(&query)?;
            let frame = Timeframe::parse(&query, max_range_days(&state))?;
            answers::timeseries(&state.snapshot().current(), frame, &params)?
        }
        Endpoint::Fluctuation => {
            let params = RatesParams::parse(&query)?;
            let frame = Timeframe::parse(&query, max_range_days(&state))?;
            answers::fluctuation_between(&state.snapshot().current(), frame, &params)?
        }
        Endpoint::Convert => {
            let params = ConvertParams::parse(&query, today)?;
            if let Some(date) = params.date {
                read_through_if_missing(&state, date).await;
            }
            answers::convert(&state.snapshot().current(), &params)?
        }
        Endpoint::Symbols => answers::symbols(&state.snapshot().current())?,
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-cache")))
        .content_type("application/json")
        .body(body))
}

/// The longest timeframe served: Fixer's 365 days, or the server's range cap when it is lower.
fn max_range_days(state: &ApiState) -> u32 {
    FIXER_MAX_RANGE_DAYS.min(state.config().max_range_days)
}

/// Fetches `date` when it has no answer in the snapshot and read-through is on; the answer is
/// then computed from the snapshot as it is afterwards, whatever the fetch came to.
async fn read_through_if_missing(state: &ApiState, date: Date) {
    if answers::day_for(&state.snapshot().current(), date).is_none() {
        read_through::bring_in(state, date).await;
    }
}

/// The key a Fixer client sends: `access_key` (classic host), `apikey` as parameter or header
/// (APILayer host), or the native API's headers.
fn check_key(state: &ApiState, request: &HttpRequest, query: &Query) -> Result<(), FixerApiError> {
    let presented = query
        .get("access_key")
        .or_else(|| query.get("apikey"))
        .or_else(|| {
            request
                .headers()
                .get("apikey")
                .and_then(|value| value.to_str().ok())
                .map(str::trim)
                .filter(|key| !key.is_empty())
        })
        .or_else(|| crate::auth::presented_key(request.headers()));
    let Some(presented) = presented else {
        return Err(FixerApiError::MissingAccessKey);
    };
    state
        .keys()
        .check_presented(&state.snapshot().keys(), state.store(), presented)
        .map_err(|_| FixerApiError::InvalidAccessKey)
}
