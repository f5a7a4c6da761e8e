//! `GET /openapi.json`: the service's OpenAPI document ([`crate::openapi`]), rendered once per
//! server, with an ETag.

use std::sync::{Arc, OnceLock};

use actix_web::{web, HttpRequest, HttpResponse};

use crate::conditional::{Freshness, RenderedAnswer};
use crate::error::ApiError;
use crate::openapi;
use crate::request::NoQuery;
use crate::state::ApiState;

pub(crate) async fn openapi_json(
    state: web::Data<ApiState>,
    request: HttpRequest,
    _query: web::Query<NoQuery>,
) -> Result<HttpResponse, ApiError> {
    let answer = state.openapi().get_or_init(|| {
        // Serialising a `Value` cannot fail.
        let body = serde_json::to_vec(&openapi::document()).unwrap_or_default();
        Arc::new(RenderedAnswer::new(body, None, Freshness::Short))
    });
    Ok(answer.respond(request.headers()))
}

/// Where the rendered document is kept: one per [`ApiState`].
pub(crate) type RenderedDocument = OnceLock<Arc<RenderedAnswer>>;
