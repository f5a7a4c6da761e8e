//! What answers when no route does: 404 for an unknown path, 405 for a known path with another
//! method — both through [`ApiError`].

use actix_web::{HttpRequest, HttpResponse};

use crate::error::{shorten, ApiError};

/// Longest piece of an unknown path quoted back.
const MAX_QUOTED_PATH: usize = 80;

pub(crate) async fn route_not_found(request: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::RouteNotFound {
        path: shorten(request.path(), MAX_QUOTED_PATH),
    })
}

pub(super) async fn method_not_allowed(request: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed {
        method: request.method().clone(),
    })
}
