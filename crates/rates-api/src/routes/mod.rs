//! The routes, and what they share: answers computed from the in-memory snapshot and served
//! through the [`crate::response_cache`] ([`serve_cached`]), finding and shaping days
//! ([`days`]), and the GET-only resources ([`get_resource`]).

mod as_of;
mod convert;
mod currencies;
mod days;
mod export;
mod fallback;
mod fluctuation;
mod health;
mod metrics;
mod openapi;
mod rates;
mod revisions;

use actix_web::{guard, web, HttpRequest, HttpResponse, Resource};
use rates_snapshot::Snapshot;

use crate::conditional::RenderedAnswer;
use crate::error::ApiError;
use crate::state::ApiState;

pub(crate) use fallback::route_not_found;
pub(crate) use openapi::RenderedDocument;

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
        .service(get_resource("/fluctuation").answered_by(fluctuation::fluctuation_route))
        .service(get_resource("/fluctuation/").answered_by(fluctuation::fluctuation_route))
        .service(get_resource("/health").answered_by(health::health))
        .service(get_resource("/health/").answered_by(health::health))
        .service(get_resource("/metrics").answered_by(metrics::metrics))
        .service(get_resource("/openapi.json").answered_by(openapi::openapi_json))
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

/// Serves the answer cached under `key`, or computes it with `render` from the current
/// snapshot, keeps it and serves it; identical requests arriving together compute once, and
/// conditional request headers are honoured either way. A 200 found in the cache is marked
/// reusable for the same URL ([`crate::target_cache`]): `key` and the snapshot decide it. One
/// just rendered is not, so that URLs asked for once (most of them, when clients wander over
/// dates and bases) are not copied into every worker's cache of targets.
///
/// `render` runs on the async worker itself: it only reads memory (a year of rates rebased and
/// encoded takes about a millisecond), so no blocking pool is involved and the work in progress
/// is bounded by the number of workers. `key` must name everything the answer depends on besides
/// the snapshot.
pub(crate) async fn serve_cached<F>(
    state: &ApiState,
    request: &HttpRequest,
    key: String,
    render: F,
) -> Result<HttpResponse, ApiError>
where
    F: FnOnce(&Snapshot) -> Result<RenderedAnswer, ApiError>,
{
    let snapshot = state.snapshot().current();
    let (answer, asked_before) = state
        .cache()
        .lookup_or_render(key, snapshot.generation(), || render(&snapshot))
        .await?;
    let mut response = answer.respond(request.headers());
    if asked_before && response.status() == actix_web::http::StatusCode::OK {
        crate::target_cache::mark_reusable(&mut response);
    }
    Ok(response)
}
