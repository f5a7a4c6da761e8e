//! `GET /metrics`: the server's metrics in Prometheus' text format, open without a key (keep it
//! off the public side of a proxy; docs/operations.md shows how), 404 when `server.metrics` is
//! off.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};

use rates_domain::today_utc;
use rates_snapshot::DatabaseState;

use crate::error::ApiError;
use crate::metrics::METRICS_CONTENT_TYPE;
use crate::state::ApiState;

pub(crate) async fn metrics(
    state: web::Data<ApiState>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let metrics = match state.metrics() {
        Some(metrics) => metrics,
        None => {
            return Err(ApiError::RouteNotFound {
                path: request.path().to_owned(),
            })
        }
    };
    let snapshot = state.snapshot();
    let current = snapshot.current();
    let age_days = current
        .latest()
        .map(|latest| (today_utc() - latest.table.date()).whole_days());
    metrics.set_data_gauges(
        age_days,
        current.len(),
        current.rate_count(),
        snapshot.status().database == DatabaseState::Ok,
    );
    let text = metrics.render();
    Ok(HttpResponse::Ok()
        .insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static(METRICS_CONTENT_TYPE),
        ))
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .body(text))
}
