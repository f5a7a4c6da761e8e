//! `GET /health`: answered from memory in microseconds, whatever the database does; never
//! cached.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpResponse};
use rates_domain::format_date;
use serde::Serialize;

use crate::error::ApiError;
use crate::request::NoQuery;
use crate::state::ApiState;

#[derive(Serialize)]
struct HealthBody {
    /// `ok`: the server answers reads (from its snapshot).
    status: &'static str,
    /// The most recent date with rates; `null` when none are held.
    latest_date: Option<String>,
    /// `ok` when the database answered the last check (every 200 ms), `unavailable` otherwise.
    database: &'static str,
    /// How long ago the snapshot was last confirmed to match the database, in milliseconds.
    snapshot_age_ms: u64,
    /// The database's data version the snapshot reflects.
    snapshot_version: i64,
}

pub(super) async fn health(
    state: web::Data<ApiState>,
    _query: web::Query<NoQuery>,
) -> Result<HttpResponse, ApiError> {
    let snapshot = state.snapshot();
    let status = snapshot.status();
    let latest = snapshot
        .current()
        .latest()
        .map(|stored| stored.table.date());
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .json(HealthBody {
            status: "ok",
            latest_date: latest.map(format_date),
            database: status.database.as_str(),
            snapshot_age_ms: u64::try_from(status.age.as_millis()).unwrap_or(u64::MAX),
            snapshot_version: status.version,
        }))
}
