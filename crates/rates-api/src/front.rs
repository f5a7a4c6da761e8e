//! The one middleware in front of everything: gives the request its id ([`crate::request_id`]),
//! refuses over-long request targets and header sections, checks API keys when they are
//! required ([`crate::auth`]) and rate limits ([`crate::rate_limit`]), turns a CORS preflight
//! refused by actix-cors (plain text) into the JSON error shape, counts the answer in the
//! [`crate::metrics`] and writes the request log line. A plain request for a URL answered before
//! is answered here, from the [`crate::target_cache`], without routing. One middleware rather
//! than three, because each layer costs an allocation and a boxed future on every request.

use std::net::IpAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use actix_web::body::{self, BoxBody, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::HeaderValue;
use actix_web::http::uri::PathAndQuery;
use actix_web::http::{header, Method, StatusCode, Uri};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage, ResponseError};

use crate::auth;
use crate::cors;
use crate::error::{shorten, ApiError};
use crate::metrics;
use crate::rate_limit::{self, Client, Decision};
use crate::request_id::{RequestId, WorkerIds};
use crate::request_log::{self, AccessLine, AccessLog};
use crate::state::ApiState;
use crate::target_cache::{self, ServedAnswer, TargetCache};

/// Longest piece of actix-cors' refusal quoted in the JSON error.
const MAX_QUOTED_REFUSAL: usize = 200;

/// What the front middleware needs from the configuration.
#[derive(Debug)]
pub(crate) struct FrontConfig {
    pub max_uri_bytes: usize,
    pub max_header_bytes: usize,
    pub trusted_proxies: Arc<[IpAddr]>,
    /// Whether requests need an API key.
    pub auth_required: bool,
    pub state: ApiState,
    /// This worker's answers served before; `None` while read-through is on.
    pub targets: Option<TargetCache>,
    /// This worker's request ids.
    pub request_ids: WorkerIds,
    /// Where request lines go.
    pub access_log: AccessLog,
}

pub(crate) async fn front(
    config: Rc<FrontConfig>,
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody, BoxBody>>, Error> {
    let started = Instant::now();
    let state = &config.state;
    let request_id = RequestId::from_headers(request.headers(), &config.request_ids);
    let route = metrics::route_label(request.path());
    let client = request_log::client_address(
        request.peer_addr().map(|address| address.ip()),
        request.headers(),
        &config.trusted_proxies,
    );
    // Kept for the log line and the target cache: the request itself is passed on.
    let target = request.uri().clone();
    let logged = config
        .access_log
        .enabled()
        .then(|| request.method().clone());

    let length = request
        .uri()
        .path_and_query()
        .map_or(0, |target| target.as_str().len());
    let header_bytes = header_bytes(request.headers());
    let (refusal, limit) = if length > config.max_uri_bytes {
        let refusal = ApiError::UriTooLong {
            length,
            max: config.max_uri_bytes,
        };
        (Some(refusal), None)
    } else if header_bytes > config.max_header_bytes {
        let refusal = ApiError::HeadersTooLarge {
            length: header_bytes,
            max: config.max_header_bytes,
        };
        (Some(refusal), None)
    } else {
        admit(&config, &request, client)
    };
    if limit.is_some_and(|decision| !decision.allowed) {
        if let Some(metrics) = state.metrics() {
            metrics.count_rate_limited();
        }
    }
    // A plain request for a URL answered before is answered again from memory, with no
    // routing: see `target_cache`.
    let reuse = config
        .targets
        .as_ref()
        .filter(|_| refusal.is_none() && target_cache::is_plain(&request))
        .map(|targets| Reuse {
            targets,
            target: &target,
            accept: request.headers().get(header::ACCEPT).cloned(),
            generation: state.snapshot().generation(),
        });
    let served_before = reuse.as_ref().and_then(Reuse::served_before);
    let result = if let Some(refusal) = refusal {
        Ok(request
            .into_response(refusal.error_response())
            .map_into_right_body())
    } else if let Some(served) = served_before {
        Ok(request
            .into_response(served.respond())
            .map_into_right_body())
    } else {
        request.extensions_mut().insert(request_id.clone());
        let is_options = request.method() == Method::OPTIONS;
        let cross_origin = request.headers().contains_key(header::ORIGIN);
        match next.call(request).await {
            Ok(response) if is_options && is_plain_refusal(&response) => {
                Ok(refused_preflight_as_json(response).await)
            }
            Ok(mut response) => {
                if !cross_origin && !is_options {
                    cors::drop_cross_origin_headers(response.headers_mut());
                }
                Ok(match reuse {
                    Some(reuse) if is_reusable(&response) => reuse.keep(response),
                    _ => response.map_into_left_body(),
                })
            }
            Err(error) => Err(error),
        }
    };

    let status = match &result {
        Ok(response) => response.status(),
        Err(error) => error.as_response_error().status_code(),
    };
    let result = result.map(|mut response| {
        let headers = response.headers_mut();
        request_id.echo(headers);
        if let Some(decision) = limit {
            decision.write_headers(headers);
        }
        response
    });
    let elapsed = started.elapsed();
    if let Some(metrics) = state.metrics() {
        metrics.observe_request(route, status.as_u16(), elapsed);
    }
    if let Some(method) = logged {
        AccessLine {
            client,
            method: &method,
            path: target.path(),
            status,
            elapsed,
            request_id: &request_id,
        }
        .write(&config.access_log);
    }
    result
}

/// A plain request's place in the target cache: what it is looked up, and its answer kept, by.
struct Reuse<'a> {
    targets: &'a TargetCache,
    target: &'a Uri,
    accept: Option<HeaderValue>,
    /// The snapshot generation when the request arrived: an answer kept under it is computed
    /// from it or a newer one, and a newer one drops the entry at the next lookup.
    generation: u64,
}

impl Reuse<'_> {
    fn target(&self) -> &str {
        self.target
            .path_and_query()
            .map_or_else(|| self.target.path(), PathAndQuery::as_str)
    }

    fn served_before(&self) -> Option<Rc<ServedAnswer>> {
        self.targets
            .get(self.target(), self.accept.as_ref(), self.generation)
    }

    /// Keeps `response` for the next request for the same target, when its whole body is in
    /// memory, and passes it on.
    fn keep<B: MessageBody>(
        self,
        response: ServiceResponse<B>,
    ) -> ServiceResponse<EitherBody<B, BoxBody>> {
        let (request, response) = response.into_parts();
        let (head, body) = response.into_parts();
        match body.try_into_bytes() {
            Ok(bytes) => {
                let target = self.target().to_owned();
                self.targets.keep(
                    &target,
                    self.accept,
                    head.headers(),
                    bytes.clone(),
                    self.generation,
                );
                ServiceResponse::new(request, head.set_body(BoxBody::new(bytes)))
                    .map_into_right_body()
            }
            Err(body) => ServiceResponse::new(request, head.set_body(body)).map_into_left_body(),
        }
    }
}

/// A 200 its route marked as depending only on the URL, `Accept` and the snapshot.
fn is_reusable<B>(response: &ServiceResponse<B>) -> bool {
    response.status() == StatusCode::OK && target_cache::is_marked(response.response())
}

/// Bytes the header lines took on the wire: `Name: value` and the line end, each.
fn header_bytes(headers: &header::HeaderMap) -> usize {
    headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + ": \r\n".len())
        .sum()
}

/// Checks the API key (when required) and the rate limit: the refusal to answer with, if any,
/// and the rate-limit decision whose headers the answer carries.
///
/// A valid key is limited by its own bucket; a missing or bad key takes a token from the client
/// address's bucket, so guessing keys is throttled (and answered 429 once that bucket is empty).
/// Routes open without a key (the page, `/api`, which checks `access_key` itself) are limited
/// by address.
fn admit(
    config: &FrontConfig,
    request: &ServiceRequest,
    client: Option<IpAddr>,
) -> (Option<ApiError>, Option<Decision>) {
    let state = &config.state;
    if request.method() == Method::OPTIONS || rate_limit::is_unlimited(request.path()) {
        return (None, None);
    }
    let limiter = state.limiter();
    let by_address = || limiter.map(|limiter| limiter.take(Client::address(client)));
    let (failure, decision) = if config.auth_required && !auth::is_open(request.path()) {
        let keys = state.snapshot().keys();
        match state.keys().check(&keys, state.store(), request.headers()) {
            Ok(key) => (None, limiter.map(|limiter| limiter.take(Client::Key(key)))),
            Err(failure) => (Some(failure), by_address()),
        }
    } else {
        (None, by_address())
    };
    match decision {
        Some(decision) if !decision.allowed => (
            Some(ApiError::RateLimited {
                retry_after_secs: decision.retry_after_secs,
            }),
            Some(decision),
        ),
        decision => (failure, decision),
    }
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
