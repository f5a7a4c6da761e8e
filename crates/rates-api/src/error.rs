//! [`ApiError`]: every way a request can fail, and the one place that maps a failure to HTTP.
//!
//! Policy: a variant exists per thing a client can act on, with a stable snake_case
//! [`code`](ApiError::code). Anything a client sent wrong is a 4xx; only the database being
//! unreachable is a 5xx (503 with `Retry-After`), and that is logged here with its cause while the
//! client sees a generic message. Every error body is
//! `{"error":{"code":"...","message":"..."}}` (plus `nearest_date` where one is known) and is
//! sent with `Cache-Control: no-store`.

use std::fmt;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use rates_domain::{format_date, Currency, DateRange, DomainError};
use serde::Serialize;
use time::Date;

/// Seconds a client should wait before retrying after a 503.
pub const RETRY_AFTER_SECS: u32 = 5;

/// A failed request: what went wrong, in terms a client can act on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// A date in the path or query is not `YYYY-MM-DD` (or `latest` where allowed).
    #[error("{0}")]
    InvalidDate(String),
    /// A range is not `{start}..{end}` or its end is before its start.
    #[error("{0}")]
    InvalidRange(String),
    /// A range longer than the configured cap.
    #[error(
        "the range {range} holds {days} days; at most {max_days} days can be asked for at once"
    )]
    RangeTooLong {
        /// The range asked for.
        range: DateRange,
        /// Its length in days.
        days: u32,
        /// The cap.
        max_days: u32,
    },
    /// A currency code (`base`, `symbols`, `from`, `to`) is not three letters.
    #[error("parameter `{parameter}`: {message}")]
    InvalidCurrency {
        /// The query parameter holding the code.
        parameter: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// `amount` is not a finite number.
    #[error("{0}")]
    InvalidAmount(String),
    /// The query string cannot be read: unknown or repeated parameter, missing required one,
    /// or a value of the wrong kind.
    #[error("invalid query string: {0}")]
    InvalidQuery(String),
    /// `format` is not `csv`, `ndjson` or `json`.
    #[error("{0}")]
    InvalidFormat(String),
    /// `group` is not `week`, `month` or `year`, or is given where there is nothing to group.
    #[error("{0}")]
    InvalidGroup(String),
    /// `as_of` is not an RFC 3339 instant, or lies in the future.
    #[error("{0}")]
    InvalidAsOf(String),
    /// A path segment cannot be read (e.g. percent-encoding that is not UTF-8).
    #[error("invalid path: {0}")]
    InvalidPath(String),
    /// A request body cannot be read (no route takes one; kept so every extractor maps here).
    #[error("invalid request body: {0}")]
    InvalidBody(String),
    /// The request target is longer than the service reads.
    #[error("the request target is {length} bytes long; at most {max} bytes are accepted")]
    UriTooLong {
        /// Length of the path and query string.
        length: usize,
        /// The limit.
        max: usize,
    },
    /// The request's header lines are longer than the service reads.
    #[error("the request headers are {length} bytes long; at most {max} bytes are accepted")]
    HeadersTooLarge {
        /// Bytes of header lines (`Name: value` and the line end, summed).
        length: usize,
        /// The limit.
        max: usize,
    },
    /// No rates are held for the date asked for.
    #[error("{}", no_rates_message(*date, *nearest))]
    DateNotFound {
        /// The date asked for.
        date: Date,
        /// The nearest earlier date held, if any.
        nearest: Option<Date>,
    },
    /// No rates are held on any day of the range asked for.
    #[error("{}", no_rates_in_range_message(*range, *nearest))]
    RangeNotFound {
        /// The range asked for.
        range: DateRange,
        /// The nearest date held before the range starts, if any.
        nearest: Option<Date>,
    },
    /// `latest` was asked for but the database holds no rates at all.
    #[error("no rates are held yet; load some with `rates-cli ingest` or `rates-cli import-ecb`")]
    NoRatesHeld,
    /// A currency asked for (as base, symbol, from or to) has no rate on that date.
    #[error("no {currency} rate is held for {}", format_date(*date))]
    CurrencyNotFound {
        /// The currency asked for.
        currency: Currency,
        /// The date of the rate table searched.
        date: Date,
    },
    /// The path matches no route.
    #[error("no route matches {path}; the routes are /rates/{{date}}/, /rates/{{start}}..{{end}}/, /rates/{{date}}/revisions, /currencies/, /convert, /fluctuation, /health")]
    RouteNotFound {
        /// The path asked for (shortened when long).
        path: String,
    },
    /// The route exists but not for this method.
    #[error("method {method} is not allowed here; use GET")]
    MethodNotAllowed {
        /// The method used.
        method: Method,
    },
    /// A CORS preflight refused (origin, method or header not allowed).
    #[error("cross-origin request refused: {0}")]
    CorsRejected(String),
    /// A missing, unknown or revoked API key.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// The database did not answer; the cause is logged, not shown.
    #[error("the database is unavailable; retry in a few seconds")]
    DatabaseUnavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A computed value is outside the range of `f64`: a rebase or a conversion overflowing.
    #[error("{0}")]
    UnrepresentableValue(String),
    /// The client (API key, or address) is over its rate limit.
    #[error(
        "too many requests: this client is over its rate limit; retry in {retry_after_secs} s"
    )]
    RateLimited {
        /// Seconds until a request will be accepted again (sent as `Retry-After`).
        retry_after_secs: u64,
    },
}

fn no_rates_message(date: Date, nearest: Option<Date>) -> String {
    match nearest {
        Some(nearest) => format!(
            "no rates are held for {}; the nearest earlier date held is {} (add fallback=previous to get it)",
            format_date(date),
            format_date(nearest)
        ),
        None => format!(
            "no rates are held for {} nor for any earlier date",
            format_date(date)
        ),
    }
}

fn no_rates_in_range_message(range: DateRange, nearest: Option<Date>) -> String {
    match nearest {
        Some(nearest) => format!(
            "no rates are held between {} and {}; the nearest earlier date held is {}",
            format_date(range.start()),
            format_date(range.end()),
            format_date(nearest)
        ),
        None => format!(
            "no rates are held between {} and {} nor before",
            format_date(range.start()),
            format_date(range.end())
        ),
    }
}

impl ApiError {
    /// The stable, machine-readable code of this error, sent as `error.code`.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidDate(_) => "invalid_date",
            ApiError::InvalidRange(_) => "invalid_range",
            ApiError::RangeTooLong { .. } => "range_too_long",
            ApiError::InvalidCurrency { .. } => "invalid_currency",
            ApiError::InvalidAmount(_) => "invalid_amount",
            ApiError::InvalidQuery(_) => "invalid_query",
            ApiError::InvalidFormat(_) => "invalid_format",
            ApiError::InvalidGroup(_) => "invalid_group",
            ApiError::InvalidAsOf(_) => "invalid_as_of",
            ApiError::InvalidPath(_) => "invalid_path",
            ApiError::InvalidBody(_) => "invalid_body",
            ApiError::UriTooLong { .. } => "uri_too_long",
            ApiError::HeadersTooLarge { .. } => "headers_too_large",
            ApiError::DateNotFound { .. } => "date_not_found",
            ApiError::RangeNotFound { .. } => "range_not_found",
            ApiError::NoRatesHeld => "no_rates_held",
            ApiError::CurrencyNotFound { .. } => "currency_not_found",
            ApiError::RouteNotFound { .. } => "route_not_found",
            ApiError::MethodNotAllowed { .. } => "method_not_allowed",
            ApiError::CorsRejected(_) => "cors_rejected",
            ApiError::Unauthorized(_) => "unauthorized",
            ApiError::DatabaseUnavailable(_) => "database_unavailable",
            ApiError::UnrepresentableValue(_) => "unrepresentable_value",
            ApiError::RateLimited { .. } => "rate_limited",
        }
    }

    /// Wraps a database failure (logged when the response is built, never shown).
    pub fn database(error: impl std::error::Error + Send + Sync + 'static) -> ApiError {
        ApiError::DatabaseUnavailable(Box::new(error))
    }

    /// The nearest earlier date held, for "no data" errors.
    fn nearest_date(&self) -> Option<Date> {
        match self {
            ApiError::DateNotFound { nearest, .. } | ApiError::RangeNotFound { nearest, .. } => {
                *nearest
            }
            _ => None,
        }
    }

    /// Maps a domain failure (rebasing, filtering, converting) to the client's view of it.
    pub(crate) fn from_domain(error: DomainError) -> ApiError {
        match error {
            DomainError::CurrencyNotHeld { currency, date, .. } => {
                ApiError::CurrencyNotFound { currency, date }
            }
            DomainError::InvalidAmount { .. } => ApiError::InvalidAmount(error.to_string()),
            DomainError::ComputedRateOutOfRange { .. }
            | DomainError::ConvertedAmountOutOfRange { .. } => {
                ApiError::UnrepresentableValue(error.to_string())
            }
        }
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: &'a str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    nearest_date: Option<String>,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::InvalidDate(_)
            | ApiError::InvalidRange(_)
            | ApiError::RangeTooLong { .. }
            | ApiError::InvalidCurrency { .. }
            | ApiError::InvalidAmount(_)
            | ApiError::InvalidQuery(_)
            | ApiError::InvalidFormat(_)
            | ApiError::InvalidGroup(_)
            | ApiError::InvalidAsOf(_)
            | ApiError::InvalidPath(_)
            | ApiError::InvalidBody(_)
            | ApiError::CorsRejected(_) => StatusCode::BAD_REQUEST,
            ApiError::UriTooLong { .. } => StatusCode::URI_TOO_LONG,
            ApiError::HeadersTooLarge { .. } => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ApiError::DateNotFound { .. }
            | ApiError::RangeNotFound { .. }
            | ApiError::NoRatesHeld
            | ApiError::CurrencyNotFound { .. }
            | ApiError::RouteNotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            // A value computed from stored data that does not fit is a problem with the data
            // asked for, not with the server: the client can ask for another base.
            ApiError::UnrepresentableValue(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::DatabaseUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::DatabaseUnavailable(cause) = self {
            log::error!("database unavailable: {}", ErrorChain(cause.as_ref()));
        }
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code(),
                message: self.to_string(),
                nearest_date: self.nearest_date().map(format_date),
            },
        };
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
        match self {
            ApiError::DatabaseUnavailable(_) => {
                response.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECS));
            }
            ApiError::MethodNotAllowed { .. } => {
                response.insert_header((header::ALLOW, HeaderValue::from_static("GET, HEAD")));
            }
            ApiError::RateLimited { retry_after_secs } => {
                response.insert_header((header::RETRY_AFTER, *retry_after_secs));
            }
            ApiError::Unauthorized(_) => {
                response.insert_header((
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"rates\""),
                ));
            }
            _ => {}
        }
        response.json(body)
    }
}

/// Displays an error with its chain of causes, for the log.
struct ErrorChain<'a>(&'a (dyn std::error::Error + 'static));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

/// Shortens client-supplied text quoted back in an error message.
pub(crate) fn shorten(input: &str, max_chars: usize) -> String {
    match input.char_indices().nth(max_chars) {
        Some((cut, _)) => format!("{}…", input.get(..cut).unwrap_or_default()),
        None => input.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::to_bytes;
    use time::macros::date;

    async fn body_of(error: ApiError) -> (StatusCode, serde_json::Value) {
        let response = error.error_response();
        let status = response.status();
        let bytes = to_bytes(response.into_body()).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[actix_web::test]
    async fn body_has_code_and_message_and_nearest_date() {
        let (status, body) = body_of(ApiError::DateNotFound {
            date: date!(2024 - 01 - 06),
            nearest: Some(date!(2024 - 01 - 05)),
        })
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["error"]["code"], "date_not_found");
        assert_eq!(body["error"]["nearest_date"], "2024-01-05");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("2024-01-06") && message.contains("2024-01-05"),
            "{message}"
        );
    }

    #[actix_web::test]
    async fn database_errors_are_503_with_retry_after_and_hide_the_cause() {
        let cause = std::io::Error::other("password=hunter2 at db host");
        let response = ApiError::database(cause).error_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers().get(header::RETRY_AFTER).unwrap(), "5");
        assert_eq!(
            response.headers().get(header::CACHE_CONTROL).unwrap(),
            "no-store"
        );
        let bytes = to_bytes(response.into_body()).await.unwrap();
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("database_unavailable"), "{text}");
    }

    #[test]
    fn codes_are_snake_case() {
        let errors = [
            ApiError::InvalidDate(String::new()),
            ApiError::NoRatesHeld,
            ApiError::MethodNotAllowed {
                method: Method::POST,
            },
            ApiError::UriTooLong { length: 1, max: 0 },
            ApiError::HeadersTooLarge { length: 1, max: 0 },
        ];
        for error in errors {
            let code = error.code();
            assert!(
                code.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{code}"
            );
        }
    }

    #[test]
    fn shorten_cuts_on_char_boundaries() {
        assert_eq!(shorten("ééééé", 2), "éé…");
        assert_eq!(shorten("abc", 5), "abc");
    }
}
