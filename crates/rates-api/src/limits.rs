//! Refusing request targets longer than the service reads, before any routing or parsing.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, ResponseError};

use crate::error::ApiError;

/// Middleware answering 414 for a path plus query string longer than `max_bytes`.
pub(crate) async fn limit_uri_length(
    max_bytes: usize,
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let length = request
        .uri()
        .path_and_query()
        .map_or(0, |target| target.as_str().len());
    if length > max_bytes {
        let response = ApiError::UriTooLong {
            length,
            max: max_bytes,
        }
        .error_response();
        return Ok(request.into_response(response).map_into_right_body());
    }
    Ok(next.call(request).await?.map_into_left_body())
}
