//! Cross-origin reads from browsers: GET and HEAD, from any origin or a configured list.
//!
//! Built on actix-cors. Two choices: an origin that is not allowed gets an ordinary answer
//! without CORS headers (the browser then hides it) rather than actix-cors' plain-text 400; and a
//! preflight actix-cors refuses is rewritten into the JSON error shape by [`crate::front`].

use std::collections::HashSet;

use actix_cors::Cors;
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
