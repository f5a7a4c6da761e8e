//! Cross-origin reads from browsers: GET and HEAD, from any origin or a configured list.
//!
//! Built on actix-cors. Two choices: an origin that is not allowed gets an ordinary answer
//! without CORS headers (the browser then hides it) rather than actix-cors' plain-text 400; and a
//! preflight actix-cors refuses is rewritten into the JSON error shape by [`crate::front`].
//! An answer to a request that is not cross-origin loses what actix-cors adds for browsers
//! only ([`drop_cross_origin_headers`]).

use std::collections::HashSet;

use actix_cors::Cors;
use actix_web::http::header::{HeaderMap, HeaderValue};
use actix_web::http::{header, Method};

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

/// Takes out of an answer to a request without `Origin` what actix-cors adds to every answer but
/// only a browser's cross-origin request uses: `Access-Control-Expose-Headers`, and the
/// preflight's request headers in `Vary`. `Vary: Origin` stays, so that a shared cache does not
/// give this answer to a cross-origin request. Some 130 bytes of a day's 800 on the wire.
pub(crate) fn drop_cross_origin_headers(headers: &mut HeaderMap) {
    headers.remove(header::ACCESS_CONTROL_EXPOSE_HEADERS);
    // The two values actix-cors writes: after the routes' `Vary: accept`, or alone.
    let trimmed = match headers.get(header::VARY).map(HeaderValue::as_bytes) {
        Some(b"accept, Origin, Access-Control-Request-Method, Access-Control-Request-Headers") => {
            HeaderValue::from_static("accept, Origin")
        }
        Some(b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers") => {
            HeaderValue::from_static("Origin")
        }
        _ => return,
    };
    headers.insert(header::VARY, trimmed);
}
