//! `GET /fluctuation?start_date=...&end_date=...[&base=...][&symbols=...][&as_of=...]`: how
//! each currency moved between the held days nearest the two dates.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::SystemTime;

use actix_web::{web, HttpRequest, HttpResponse};
use rates_domain::{fluctuation, format_date, today_utc, Currency, DateRange, Fluctuation};
use rates_snapshot::Snapshot;
use rates_store::StoredRateTable;
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};
use time::{Date, OffsetDateTime};

use super::as_of::{as_of_key, day_on_or_before, range_at};
use super::days::shape;
use super::serve_cached;
use crate::conditional::{Freshness, RenderedAnswer};
use crate::error::ApiError;
use crate::numbers::Plain;
use crate::request::{FluctuationParams, FluctuationQuery, RatesParams};
use crate::state::ApiState;

#[derive(Serialize)]
struct FluctuationBody {
    base: Currency,
    /// The held day whose rates start the comparison.
    start_date: String,
    /// The held day whose rates end it.
    end_date: String,
    requested_start_date: String,
    requested_end_date: String,
    rates: BTreeMap<Currency, Move>,
}

/// One currency's movement, numbers written as the other answers write them.
struct Move(Fluctuation);

impl Serialize for Move {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut fields = serializer.serialize_struct("Fluctuation", 4)?;
        fields.serialize_field("start_rate", &Plain(self.0.start_rate.get()))?;
        fields.serialize_field("end_rate", &Plain(self.0.end_rate.get()))?;
        fields.serialize_field("change", &Plain(self.0.change))?;
        fields.serialize_field("change_pct", &Plain(self.0.change_pct))?;
        fields.end()
    }
}

pub(super) async fn fluctuation_route(
    state: web::Data<ApiState>,
    request: HttpRequest,
    query: web::Query<FluctuationQuery>,
) -> Result<HttpResponse, ApiError> {
    let params = query.parse(OffsetDateTime::now_utc())?;
    let symbols: Vec<&str> = params.symbols.iter().map(Currency::as_str).collect();
    let key = format!(
        "fluctuation/{}?base={}&symbols={}&as_of={}",
        params.range,
        params.base.map(|base| base.to_string()).unwrap_or_default(),
        symbols.join(","),
        as_of_key(params.as_of),
    );
    serve_cached(&state, &request, key, move |snapshot| {
        render(snapshot, &params, today_utc())
    })
    .await
}

/// The held day standing for the start of `range`: its first day or the nearest earlier one;
/// when the history begins later, its first day within the range.
fn start_day(
    snapshot: &Snapshot,
    range: DateRange,
    as_of: Option<OffsetDateTime>,
) -> Option<Cow<'_, StoredRateTable>> {
    day_on_or_before(snapshot, range.start(), as_of)
        .or_else(|| range_at(snapshot, range, as_of).next())
}

fn render(
    snapshot: &Snapshot,
    params: &FluctuationParams,
    today: Date,
) -> Result<RenderedAnswer, ApiError> {
    let range = params.range;
    let not_found = || ApiError::RangeNotFound {
        range,
        nearest: snapshot
            .nearest_before(range.start())
            .map(|stored| stored.table.date()),
    };
    let start = start_day(snapshot, range, params.as_of).ok_or_else(not_found)?;
    let end = day_on_or_before(snapshot, range.end(), params.as_of).ok_or_else(not_found)?;
    let shaping = RatesParams {
        base: params.base,
        symbols: params.symbols.clone(),
        fallback: false,
        format: None,
        group: None,
        as_of: params.as_of,
    };
    let start_table = shape(&start.table, &shaping)?;
    let end_table = shape(&end.table, &shaping)?;
    let moves = fluctuation(&start_table, &end_table).map_err(ApiError::from_domain)?;
    let body = FluctuationBody {
        base: start_table.base(),
        start_date: format_date(start.table.date()),
        end_date: format_date(end.table.date()),
        requested_start_date: format_date(range.start()),
        requested_end_date: format_date(range.end()),
        rates: moves
            .into_iter()
            .map(|(currency, moved)| (currency, Move(moved)))
            .collect(),
    };
    let freshness = if range.end() < today {
        Freshness::Long
    } else {
        Freshness::Short
    };
    let last_changed = start.last_changed.max(end.last_changed);
    RenderedAnswer::json(&body, Some(SystemTime::from(last_changed)), freshness)
}
