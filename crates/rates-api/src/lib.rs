#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

mod auth;
mod conditional;
#[cfg(feature = "contract")]
pub mod contract;
mod cors;
mod error;
mod fixer_api;
mod formats;
mod front;
mod metrics;
mod numbers;
pub mod openapi;
mod page;
mod rate_limit;
mod read_through;
mod rendered_days;
mod request;
mod request_id;
mod request_log;
mod response_cache;
mod routes;
mod state;
mod streaming;
mod target_cache;

use actix_web::middleware::from_fn;
use actix_web::web;

pub use auth::AuthConfig;
pub use conditional::RenderedAnswer;
pub use error::ApiError;
pub use fixer_api::{FixerApiError, FIXER_MAX_RANGE_DAYS};
pub use metrics::{IngestOutcome, Metrics};
pub use page::{embedded_page_bytes, CONTENT_SECURITY_POLICY};
pub use rate_limit::RateLimitConfig;
pub use read_through::{ReadThrough, MAX_FETCHES_IN_FLIGHT};
pub use request_log::{AccessLineWriter, AccessLog, ACCESS_LOG_TARGET};
pub use response_cache::{CacheConfig, ResponseCache, KEPT_FROM_SECOND_ASK_BYTES};
pub use state::{ApiConfig, ApiState, AuthMode, CorsPolicy};

/// Registers the whole API on an app: routes, the 404/405 answers, JSON errors for actix's own
/// extractors, CORS, the request-target limit and the request log, all sharing `state`.
///
/// ```no_run
/// # fn demo(state: rates_api::ApiState) {
/// use actix_web::{App, HttpServer};
/// HttpServer::new(move || {
///     let state = state.clone();
///     App::new().configure(move |cfg| rates_api::configure(cfg, state))
/// });
/// # }
/// ```
pub fn configure(cfg: &mut web::ServiceConfig, state: ApiState) {
    let config = state.config().clone();
    // Shared by reference count within the worker: cloning the configuration itself (the state's
    // handles) for each request showed in profiles.
    let front_config = std::rc::Rc::new(front::FrontConfig {
        max_uri_bytes: config.max_uri_bytes,
        max_header_bytes: config.max_header_bytes,
        trusted_proxies: config.trusted_proxies.clone().into(),
        auth_required: config.auth == AuthMode::ApiKey,
        targets: state.worker_targets(),
        request_ids: state.worker_request_ids(),
        access_log: config.access_log.clone(),
        state: state.clone(),
    });
    let scope = web::scope("")
        .app_data(web::Data::new(state))
        .app_data(extractor_errors::query_config())
        .app_data(extractor_errors::path_config())
        .app_data(extractor_errors::json_config())
        .default_service(web::to(routes::route_not_found));
    let scope = fixer_api::register(page::register(routes::register(scope)))
        .wrap(cors::cors(&config.cors))
        .wrap(from_fn(move |request, next| {
            front::front(std::rc::Rc::clone(&front_config), request, next)
        }));
    cfg.service(scope);
    // Targets the scope cannot match (`OPTIONS *`, anything not starting with `/`) reach the
    // app's own default service, which would answer a bare 404.
    cfg.default_service(web::to(routes::route_not_found));
}

mod extractor_errors {
    //! actix's own extractor failures, turned into [`ApiError`]s so they answer in JSON.

    use actix_web::web;

    use crate::error::{shorten, ApiError};

    /// Longest extractor message passed on (they can quote the client's input).
    const MAX_MESSAGE: usize = 200;

    pub(crate) fn query_config() -> web::QueryConfig {
        web::QueryConfig::default().error_handler(|error, _request| {
            ApiError::InvalidQuery(shorten(&error.to_string(), MAX_MESSAGE)).into()
        })
    }

    pub(crate) fn path_config() -> web::PathConfig {
        web::PathConfig::default().error_handler(|error, _request| {
            ApiError::InvalidPath(shorten(&error.to_string(), MAX_MESSAGE)).into()
        })
    }

    pub(crate) fn json_config() -> web::JsonConfig {
        web::JsonConfig::default().error_handler(|error, _request| {
            ApiError::InvalidBody(shorten(&error.to_string(), MAX_MESSAGE)).into()
        })
    }
}
