//! The routes, and what they share: running store work off the async workers, and serving
//! rendered answers through the [`crate::response_cache`].

mod convert;
mod currencies;
mod fallback;
mod health;
mod loading;
mod rates;

use std::sync::Arc;

use actix_web::{guard, web, HttpRequest, HttpResponse, Resource};
use rates_store::Store;

use crate::conditional::RenderedAnswer;
use crate::error::ApiError;
use crate::state::ApiState;

pub(crate) use fallback::route_not_found;

/// Registers every route on `scope`.
///
/// Each path is its own static resource (`/health` and `/health/`), and `/rates/...` is a prefix
/// scope whose handler reads its one segment itself: actix matches static paths and prefixes by
/// comparing strings, while `{param}` patterns and multi-path resources go through a regex
/// engine that cost a tenth of the server's time under load.
pub(crate) fn register(scope: actix_web::Scope) -> actix_web::Scope {
    scope
        .service(web::scope("/rates").default_service(web::to(rates::rates)))
        .service(get_resource("/currencies").answered_by(currencies::currencies))
        .service(get_resource("/currencies/").answered_by(currencies::currencies))
        .service(get_resource("/convert").answered_by(convert::convert))
        .service(get_resource("/convert/").answered_by(convert::convert))
        .service(get_resource("/health").answered_by(health::health))
        .service(get_resource("/health/").answered_by(health::health))
}

/// A resource answering GET (and HEAD, which actix answers without the body); any other method
/// is a 405 through [`ApiError`].
struct GetResource(Resource);

fn get_resource(path: &str) -> GetResource {
    GetResource(web::resource(path).default_service(web::to(fallback::method_not_allowed)))
}

impl GetResource {
    fn answered_by<F, Args>(self, handler: F) -> Resource
    where
        F: actix_web::Handler<Args>,
        Args: actix_web::FromRequest + 'static,
        F::Output: actix_web::Responder + 'static,
    {
        self.0.route(
            web::route()
                .guard(guard::Any(guard::Get()).or(guard::Head()))
                .to(handler),
        )
    }
}

/// Runs blocking store work on the blocking thread pool, never on an async worker.
pub(crate) async fn blocking<T, F>(work: F) -> Result<T, ApiError>
where
    F: FnOnce() -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    web::block(work).await.map_err(ApiError::database)?
}

/// Compares the store's data version when due (see [`crate::response_cache`]).
async fn refresh_data_version(state: &ApiState) {
    let cache = state.cache();
    if cache.is_disabled() || !cache.begin_version_check() {
        return;
    }
    let store = state.store().clone();
    match web::block(move || store.data_version()).await {
        Ok(Ok(version)) => cache.record_version(version),
        Ok(Err(error)) => {
            log::warn!("cannot read the data version; answers are not cached until it can be read: {error}");
            cache.check_failed();
        }
        Err(error) => {
            log::warn!("cannot read the data version: {error}");
            cache.check_failed();
        }
    }
}

/// Serves the answer cached under `key`, or renders it with `render` on a blocking thread, keeps
/// it and serves it; conditional request headers are honoured either way.
pub(crate) async fn serve_cached<F>(
    state: &ApiState,
    request: &HttpRequest,
    key: String,
    render: F,
) -> Result<HttpResponse, ApiError>
where
    F: FnOnce(&Store) -> Result<RenderedAnswer, ApiError> + Send + 'static,
{
    refresh_data_version(state).await;
    let cache = state.cache();
    let usable = cache.is_usable();
    if usable {
        if let Some(answer) = cache.get(&key) {
            return Ok(answer.respond(request.headers()));
        }
    }
    let version = cache.current_version();
    let store = state.store().clone();
    let answer = Arc::new(blocking(move || render(&store)).await?);
    if usable {
        cache.insert(key, Arc::clone(&answer), version);
    }
    Ok(answer.respond(request.headers()))
}
