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

use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse};
use rates_domain::{format_date, today_utc};
use rates_snapshot::Snapshot;
use time::Date;

pub use error::{FixerApiError, FIXER_MAX_RANGE_DAYS};
use params::{past_or_today, ConvertParams, Endpoint, Query, RatesParams, Timeframe};

use crate::conditional::{Freshness, RenderedAnswer};
use crate::error::ApiError;
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
    match endpoint {
        Endpoint::Latest => {
            let params = RatesParams::parse(&query)?;
            let key = format!("latest?{}", params_key(&params));
            answer(&state, &request, key, Freshness::Short, |snapshot| {
                answers::latest(snapshot, &params)
            })
            .await
        }
        Endpoint::Historical(date) => {
            let params = RatesParams::parse(&query)?;
            let date = past_or_today(date, today)?;
            read_through_if_missing(&state, date).await;
            let key = format!("{}?{}", format_date(date), params_key(&params));
            answer(&state, &request, key, freshness(date, today), |snapshot| {
                answers::historical(snapshot, date, &params)
            })
            .await
        }
        Endpoint::Timeseries | Endpoint::Fluctuation => {
            let params = RatesParams::parse(&query)?;
            let frame = Timeframe::parse(&query, max_range_days(&state))?;
            let key = format!(
                "{endpoint:?}?{}..{}&{}",
                format_date(frame.start),
                format_date(frame.end),
                params_key(&params)
            );
            answer(
                &state,
                &request,
                key,
                freshness(frame.end, today),
                |snapshot| {
                    if endpoint == Endpoint::Timeseries {
                        answers::timeseries(snapshot, frame, &params)
                    } else {
                        answers::fluctuation_between(snapshot, frame, &params)
                    }
                },
            )
            .await
        }
        Endpoint::Convert => {
            let params = ConvertParams::parse(&query, today)?;
            if let Some(date) = params.date {
                read_through_if_missing(&state, date).await;
            }
            let key = format!(
                "convert?from={}&to={}&amount={}&date={}",
                params.from,
                params.to,
                params.amount,
                params.date.map(format_date).unwrap_or_default()
            );
            let fresh = params
                .date
                .map_or(Freshness::Short, |date| freshness(date, today));
            answer(&state, &request, key, fresh, |snapshot| {
                answers::convert(snapshot, &params)
            })
            .await
        }
        Endpoint::Symbols => {
            answer(
                &state,
                &request,
                "symbols".to_owned(),
                Freshness::Short,
                answers::symbols,
            )
            .await
        }
    }
}

/// Serves the answer `compute` gives from the current snapshot through the response cache
/// (under `api/{key}`, which must name everything the answer depends on besides the snapshot):
/// identical requests arriving together compute once, and later ones are served from memory
/// until the snapshot changes. Fixer errors are never cached.
async fn answer(
    state: &ApiState,
    request: &HttpRequest,
    key: String,
    freshness: Freshness,
    compute: impl FnOnce(&Snapshot) -> Result<Vec<u8>, FixerApiError>,
) -> Result<HttpResponse, FixerApiError> {
    let snapshot = state.snapshot().current();
    // The cache speaks `ApiError`; the Fixer error is kept aside, and the placeholder handed to
    // the cache (which only passes it back to this request, uncached) is never shown.
    let mut failed = None;
    let rendered = state
        .cache()
        .get_or_render(format!("api/{key}"), snapshot.generation(), || {
            compute(&snapshot)
                .map(|body| RenderedAnswer::new(body, None, freshness))
                .map_err(|error| {
                    failed = Some(error);
                    ApiError::NoRatesHeld
                })
        })
        .await;
    match rendered {
        Ok(answer) => Ok(answer.respond(request.headers())),
        Err(_) => Err(failed.unwrap_or(FixerApiError::NoRatesAvailable)),
    }
}

/// `base` and `symbols` as they go into a cache key.
fn params_key(params: &RatesParams) -> String {
    let symbols: Vec<&str> = params.symbols.iter().map(|code| code.as_str()).collect();
    format!(
        "base={}&symbols={}",
        params.base.map(|base| base.to_string()).unwrap_or_default(),
        symbols.join(",")
    )
}

/// Past dates change only when a source revises them; today's may still arrive or change.
fn freshness(last_date: Date, today: Date) -> Freshness {
    if last_date < today {
        Freshness::Long
    } else {
        Freshness::Short
    }
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
        .map(|_| ())
        .map_err(|_| FixerApiError::InvalidAccessKey)
}
