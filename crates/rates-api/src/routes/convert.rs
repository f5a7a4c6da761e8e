//! `GET /convert?from=USD&to=GBP&amount=10[&date=YYYY-MM-DD][&fallback=previous][&as_of=...]`.

use std::time::SystemTime;

use actix_web::{web, HttpRequest, HttpResponse};
use rates_domain::{format_date, today_utc, Currency, Rate};
use rates_snapshot::Snapshot;
use serde::Serialize;

use super::as_of::{as_of_key, find_day_at};
use super::serve_cached;
use crate::conditional::{Freshness, RenderedAnswer};
use crate::error::ApiError;
use crate::numbers;
use crate::read_through;
use crate::request::{ConvertParams, ConvertQuery};
use crate::state::ApiState;

#[derive(Serialize)]
struct ConvertBody {
    query: QueryEcho,
    date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    requested_date: Option<String>,
    #[serde(serialize_with = "numbers::rate")]
    rate: Rate,
    #[serde(serialize_with = "numbers::float")]
    result: f64,
}

#[derive(Serialize)]
struct QueryEcho {
    from: Currency,
    to: Currency,
    #[serde(serialize_with = "numbers::float")]
    amount: f64,
}

pub(super) async fn convert(
    state: web::Data<ApiState>,
    request: HttpRequest,
    query: web::Query<ConvertQuery>,
) -> Result<HttpResponse, ApiError> {
    let params = query.parse(time::OffsetDateTime::now_utc())?;
    if let Some(date) = params.date {
        read_through::bring_in(&state, date).await;
    }
    let key = format!(
        "convert?from={}&to={}&amount={}&date={}&fallback={}&as_of={}",
        params.from,
        params.to,
        params.amount,
        params.date.map(format_date).unwrap_or_default(),
        params.fallback,
        as_of_key(params.as_of),
    );
    serve_cached(&state, &request, key, |snapshot| render(snapshot, &params)).await
}

fn render(snapshot: &Snapshot, params: &ConvertParams) -> Result<RenderedAnswer, ApiError> {
    let loaded = find_day_at(snapshot, params.date, params.fallback, params.as_of)?;
    let conversion = loaded
        .stored
        .table
        .convert(params.from, params.to, params.amount)
        .map_err(ApiError::from_domain)?;
    let body = ConvertBody {
        query: QueryEcho {
            from: params.from,
            to: params.to,
            amount: params.amount,
        },
        date: format_date(loaded.stored.table.date()),
        requested_date: loaded.requested_date.map(format_date),
        rate: conversion.rate,
        result: conversion.result,
    };
    let freshness = match params.date {
        Some(date) if date < today_utc() => Freshness::Long,
        _ => Freshness::Short,
    };
    RenderedAnswer::json(
        &body,
        Some(SystemTime::from(loaded.stored.last_changed)),
        freshness,
    )
}
