//! `GET /currencies/`: the codes held, with names where known.

use std::collections::BTreeMap;

use actix_web::{web, HttpRequest, HttpResponse};
use rates_domain::Currency;
use serde::Serialize;

use super::serve_cached;
use crate::conditional::{Freshness, RenderedAnswer};
use crate::error::ApiError;
use crate::request::NoQuery;
use crate::state::ApiState;

/// `symbols` as in Fixer's own list of currencies; a name is `null` where none is known.
#[derive(Serialize)]
struct CurrenciesBody {
    symbols: BTreeMap<Currency, Option<String>>,
}

pub(super) async fn currencies(
    state: web::Data<ApiState>,
    request: HttpRequest,
    _query: web::Query<NoQuery>,
) -> Result<HttpResponse, ApiError> {
    serve_cached(&state, &request, "currencies".to_owned(), |snapshot| {
        let symbols = snapshot
            .currencies()
            .iter()
            .map(|record| (record.code, record.name.clone()))
            .collect();
        RenderedAnswer::json(&CurrenciesBody { symbols }, None, Freshness::Short)
    })
    .await
}
