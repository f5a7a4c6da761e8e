//! Cross-origin reads from browsers: GET and HEAD, from any origin or a configured list.
//!
//! Built on actix-cors. Two choices: an origin that is not allowed gets an ordinary answer
//! without CORS headers (the browser then hides it) rather than actix-cors' plain-text 400; and a
//! preflight actix-cors refuses is rewritten into the JSON error shape.

use std::collections::HashSet;

use actix_cors::Cors;
use actix_web::body::{self, BoxBody, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::{Error, ResponseError};

use crate::error::{shorten, ApiError};
use crate::state::CorsPolicy;

/// How long browsers may keep a preflight answer, in seconds.
const PREFLIGHT_MAX_AGE_SECS: usize = 3600;

pub(crate) fn cors(policy: &CorsPolicy) -> Cors {
    let cors = Cors::default()
        .allowed_methods([Method::GET, Method::HEAD])
        .allowed_headers([
            header::AUTHORIZATION,
            header::ACCEPT,
            header::IF_NONE_MATCH,
            header::IF_MODIFIED_SINCE,
            header::HeaderName::from_static("x-api-key"),
        ])
        .expose_headers([header::ETAG, header::LAST_MODIFIED, header::RETRY_AFTER])
        .max_age(PREFLIGHT_MAX_AGE_SECS)
        .block_on_origin_mismatch(false);
    match policy {
        CorsPolicy::AnyOrigin => cors.allow_any_origin().send_wildcard(),
        CorsPolicy::Origins(origins) => {
            // Compared as given (`scheme://host[:port]`), which is how browsers send `Origin`;
            // a predicate instead of `allowed_origin` so no configured text can fail start-up.
            let allowed: HashSet<Vec<u8>> = origins
                .iter()
                .map(|origin| origin.trim_end_matches('/').as_bytes().to_vec())
                .collect();
            cors.allowed_origin_fn(move |origin, _head| allowed.contains(origin.as_bytes()))
        }
    }
}

/// Rewrites a refused preflight (plain text from actix-cors) into the JSON error shape.
pub(crate) async fn preflight_errors_as_json(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<BoxBody>>, Error> {
    let is_options = request.method() == Method::OPTIONS;
    let response = next.call(request).await?;
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"application/json"));
    if !is_options || !response.status().is_client_error() || is_json {
        return Ok(response
            .map_body(|_, body| body.boxed())
            .map_into_left_body());
    }
    let (request, response) = response.into_parts();
    let text = body::to_bytes(response.into_body())
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default();
    let error = ApiError::CorsRejected(shorten(&text, 200));
    Ok(ServiceResponse::new(request, error.error_response()).map_into_right_body())
}
