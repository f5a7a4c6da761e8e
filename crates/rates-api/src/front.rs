//! The one middleware in front of everything: refuses over-long request targets and header
//! sections, checks API
//! keys when they are required ([`crate::auth`]), turns a CORS
//! preflight refused by actix-cors (plain text) into the JSON error shape, and writes the
//! request log line. One middleware rather than three, because each layer costs an allocation
//! and a boxed future on every request.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use actix_web::body::{self, BoxBody, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{Error, ResponseError};

use crate::auth;
use crate::error::{shorten, ApiError};
use crate::request_log::{self, ACCESS_LOG_TARGET};
use crate::state::ApiState;

/// Longest piece of actix-cors' refusal quoted in the JSON error.
const MAX_QUOTED_REFUSAL: usize = 200;

/// What the front middleware needs from the configuration.
#[derive(Debug, Clone)]
pub(crate) struct FrontConfig {
    pub max_uri_bytes: usize,
    pub max_header_bytes: usize,
    pub trusted_proxies: Arc<[IpAddr]>,
    /// Set when requests need an API key.
    pub auth: Option<ApiState>,
}

pub(crate) async fn front(
    config: FrontConfig,
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody, BoxBody>>, Error> {
    let started = Instant::now();
    let logged = log::log_enabled!(target: ACCESS_LOG_TARGET, log::Level::Info).then(|| {
        (
            request_log::client_address(
                request.peer_addr().map(|address| address.ip()),
                request.headers(),
                &config.trusted_proxies,
            ),
            request.method().clone(),
            request.path().to_owned(),
        )
    });

    let length = request
        .uri()
        .path_and_query()
        .map_or(0, |target| target.as_str().len());
    let header_bytes = header_bytes(request.headers());
    let refusal = if length > config.max_uri_bytes {
        Some(ApiError::UriTooLong {
            length,
            max: config.max_uri_bytes,
        })
    } else if header_bytes > config.max_header_bytes {
        Some(ApiError::HeadersTooLarge {
            length: header_bytes,
            max: config.max_header_bytes,
        })
    } else {
        match &config.auth {
            Some(state)
                if request.method() != Method::OPTIONS && !auth::is_open(request.path()) =>
            {
                state
                    .keys()
                    .check(&state.snapshot().keys(), state.store(), request.headers())
                    .err()
            }
            _ => None,
        }
    };
    let result = if let Some(refusal) = refusal {
        Ok(request
            .into_response(refusal.error_response())
            .map_into_right_body())
    } else {
        let is_options = request.method() == Method::OPTIONS;
        match next.call(request).await {
            Ok(response) if is_options && is_plain_refusal(&response) => {
                Ok(refused_preflight_as_json(response).await)
            }
            Ok(response) => Ok(response.map_into_left_body()),
            Err(error) => Err(error),
        }
    };

    if let Some((client, method, path)) = logged {
        let status = match &result {
            Ok(response) => response.status(),
            Err(error) => error.as_response_error().status_code(),
        };
        request_log::write_line(client, &method, &path, status, started.elapsed());
    }
    result
}

/// Bytes the header lines took on the wire: `Name: value` and the line end, each.
fn header_bytes(headers: &header::HeaderMap) -> usize {
    headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + ": \r\n".len())
        .sum()
}

/// A client error that is not already in the JSON shape (actix-cors answers in plain text).
fn is_plain_refusal<B>(response: &ServiceResponse<B>) -> bool {
    response.status().is_client_error()
        && !response
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|value| value.as_bytes().starts_with(b"application/json"))
}

async fn refused_preflight_as_json<B: MessageBody>(
    response: ServiceResponse<B>,
) -> ServiceResponse<EitherBody<B, BoxBody>> {
    let (request, response) = response.into_parts();
    let text = body::to_bytes(response.into_body())
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default();
    let error = ApiError::CorsRejected(shorten(&text, MAX_QUOTED_REFUSAL));
    debug_assert_eq!(error.status_code(), StatusCode::BAD_REQUEST);
    ServiceResponse::new(request, error.error_response()).map_into_right_body()
}
