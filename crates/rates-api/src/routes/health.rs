//! `GET /health`: 200 when the database answers, 503 otherwise; never cached.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpResponse};
use rates_domain::format_date;
use serde::Serialize;

use super::blocking;
use crate::error::ApiError;
use crate::request::NoQuery;
use crate::state::ApiState;

#[derive(Serialize)]
struct HealthBody {
    status: &'static str,
    /// The most recent date with rates; `null` on an empty database.
    latest_date: Option<String>,
}

pub(super) async fn health(
    state: web::Data<ApiState>,
    _query: web::Query<NoQuery>,
) -> Result<HttpResponse, ApiError> {
    let store = state.store().clone();
    let latest = blocking(move || store.health().map_err(ApiError::database)).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .json(HealthBody {
            status: "ok",
            latest_date: latest.map(format_date),
        }))
}
