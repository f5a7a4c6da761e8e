//! [`FixerApiError`]: every way an `/api` request fails, with Fixer's own code, type and info.
//!
//! Fixer answers its errors in HTTP 200 with `{"success":false,"error":{"code","type","info"}}`;
//! so does `/api`, so Fixer clients see what they know. The one exception is a method other
//! than GET or HEAD, which no Fixer client sends: HTTP 405 (with the same body shape). The
//! native API's [`crate::ApiError`] is never used here, nor its body shape.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

/// The longest range `/api/timeseries` and `/api/fluctuation` serve, as on Fixer.
pub const FIXER_MAX_RANGE_DAYS: u32 = 365;

/// A failed `/api` request, as Fixer would report it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FixerApiError {
    /// 404: no such endpoint.
    #[error("the requested resource does not exist")]
    NotFound,
    /// 101 `missing_access_key`: no `access_key` while keys are required.
    #[error("no access key")]
    MissingAccessKey,
    /// 101 `invalid_access_key`: an unknown or revoked key.
    #[error("invalid access key")]
    InvalidAccessKey,
    /// 106: nothing held for what was asked.
    #[error("no rates available")]
    NoRatesAvailable,
    /// 201: `base` is not a currency held.
    #[error("invalid base currency")]
    InvalidBaseCurrency,
    /// 202: a code in `symbols` is not a currency held.
    #[error("invalid currency codes")]
    InvalidCurrencyCodes,
    /// 301: no date given.
    #[error("no date specified")]
    NoDateSpecified,
    /// 302: a date that is not `YYYY-MM-DD`, or is in the future.
    #[error("invalid date")]
    InvalidDate,
    /// 402 `invalid_from_currency`.
    #[error("invalid from currency")]
    InvalidFromCurrency,
    /// 402 `invalid_to_currency`.
    #[error("invalid to currency")]
    InvalidToCurrency,
    /// 403: `amount` missing, not a number, or not above zero.
    #[error("invalid conversion amount")]
    InvalidConversionAmount,
    /// 501: neither `start_date` nor `end_date`.
    #[error("no time frame supplied")]
    NoTimeframeSupplied,
    /// 502: `start_date` missing or not a date.
    #[error("invalid start date")]
    InvalidStartDate,
    /// 503: `end_date` missing or not a date.
    #[error("invalid end date")]
    InvalidEndDate,
    /// 504: `end_date` before `start_date`.
    #[error("invalid time frame")]
    InvalidTimeFrame,
    /// 505: a range longer than the cap.
    #[error("time frame too long")]
    TimeFrameTooLong {
        /// The cap, in days (both ends counted).
        max_days: u32,
    },
    /// A method other than GET or HEAD (HTTP 405).
    #[error("method not allowed")]
    MethodNotAllowed,
}

impl FixerApiError {
    /// Fixer's numeric code.
    pub fn code(&self) -> u16 {
        match self {
            FixerApiError::NotFound => 404,
            FixerApiError::MissingAccessKey | FixerApiError::InvalidAccessKey => 101,
            FixerApiError::NoRatesAvailable => 106,
            FixerApiError::InvalidBaseCurrency => 201,
            FixerApiError::InvalidCurrencyCodes => 202,
            FixerApiError::NoDateSpecified => 301,
            FixerApiError::InvalidDate => 302,
            FixerApiError::InvalidFromCurrency | FixerApiError::InvalidToCurrency => 402,
            FixerApiError::InvalidConversionAmount => 403,
            FixerApiError::NoTimeframeSupplied => 501,
            FixerApiError::InvalidStartDate => 502,
            FixerApiError::InvalidEndDate => 503,
            FixerApiError::InvalidTimeFrame => 504,
            FixerApiError::TimeFrameTooLong { .. } => 505,
            FixerApiError::MethodNotAllowed => 405,
        }
    }

    /// Fixer's `type`.
    pub fn type_name(&self) -> &'static str {
        match self {
            FixerApiError::NotFound => "404_not_found",
            FixerApiError::MissingAccessKey => "missing_access_key",
            FixerApiError::InvalidAccessKey => "invalid_access_key",
            FixerApiError::NoRatesAvailable => "no_rates_available",
            FixerApiError::InvalidBaseCurrency => "invalid_base_currency",
            FixerApiError::InvalidCurrencyCodes => "invalid_currency_codes",
            FixerApiError::NoDateSpecified => "no_date_specified",
            FixerApiError::InvalidDate => "invalid_date",
            FixerApiError::InvalidFromCurrency => "invalid_from_currency",
            FixerApiError::InvalidToCurrency => "invalid_to_currency",
            FixerApiError::InvalidConversionAmount => "invalid_conversion_amount",
            FixerApiError::NoTimeframeSupplied => "no_timeframe_supplied",
            FixerApiError::InvalidStartDate => "invalid_start_date",
            FixerApiError::InvalidEndDate => "invalid_end_date",
            FixerApiError::InvalidTimeFrame => "invalid_time_frame",
            FixerApiError::TimeFrameTooLong { .. } => "time_frame_too_long",
            FixerApiError::MethodNotAllowed => "method_not_allowed",
        }
    }

    /// Fixer's `info` text (Fixer's own wording where it is known).
    pub fn info(&self) -> String {
        match self {
            FixerApiError::NotFound => "The requested resource does not exist. [Endpoints: latest, YYYY-MM-DD, timeseries, fluctuation, convert, symbols]".to_owned(),
            FixerApiError::MissingAccessKey => "You have not supplied an API Access Key. [Required format: access_key=YOUR_ACCESS_KEY]".to_owned(),
            FixerApiError::InvalidAccessKey => "You have not supplied a valid API Access Key.".to_owned(),
            FixerApiError::NoRatesAvailable => "Your query did not return any results. Please try again.".to_owned(),
            FixerApiError::InvalidBaseCurrency => "You have entered an invalid base currency. [Example: base=EUR]".to_owned(),
            FixerApiError::InvalidCurrencyCodes => "You have provided one or more invalid Currency Codes. [Required format: currencies=EUR,USD,GBP,...]".to_owned(),
            FixerApiError::NoDateSpecified => "You have not specified a date. [Required format: date=YYYY-MM-DD]".to_owned(),
            FixerApiError::InvalidDate => "You have entered an invalid date. [Required format: date=YYYY-MM-DD]".to_owned(),
            FixerApiError::InvalidFromCurrency => "You have entered an invalid \"from\" property. [Example: from=EUR]".to_owned(),
            FixerApiError::InvalidToCurrency => "You have entered an invalid \"to\" property. [Example: to=GBP]".to_owned(),
            FixerApiError::InvalidConversionAmount => "You have not specified an amount to be converted. [Example: amount=5]".to_owned(),
            FixerApiError::NoTimeframeSupplied => "You have not specified a Time-Frame. [Required format: ...&start_date=YYYY-MM-DD&end_date=YYYY-MM-DD]".to_owned(),
            FixerApiError::InvalidStartDate => "You have specified an invalid start date. [Required format: start_date=YYYY-MM-DD]".to_owned(),
            FixerApiError::InvalidEndDate => "You have specified an invalid end date. [Required format: end_date=YYYY-MM-DD]".to_owned(),
            FixerApiError::InvalidTimeFrame => "You have entered an invalid Time-Frame. [Required format: ...&start_date=YYYY-MM-DD&end_date=YYYY-MM-DD]".to_owned(),
            FixerApiError::TimeFrameTooLong { max_days } => format!("The Time-Frame you entered is too long. [max. {max_days} days]"),
            FixerApiError::MethodNotAllowed => "Only GET requests are answered.".to_owned(),
        }
    }
}

#[derive(Serialize)]
struct ErrorBody {
    success: bool,
    error: ErrorDetail,
}

#[derive(Serialize)]
struct ErrorDetail {
    code: u16,
    #[serde(rename = "type")]
    error_type: &'static str,
    info: String,
}

impl ResponseError for FixerApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            FixerApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            _ => StatusCode::OK,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let body = ErrorBody {
            success: false,
            error: ErrorDetail {
                code: self.code(),
                error_type: self.type_name(),
                info: self.info(),
            },
        };
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
        if *self == FixerApiError::MethodNotAllowed {
            response.insert_header((header::ALLOW, HeaderValue::from_static("GET, HEAD")));
        }
        response.json(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::to_bytes;

    #[actix_web::test]
    async fn errors_are_http_200_with_fixers_envelope() -> Result<(), Box<dyn std::error::Error>> {
        let response = FixerApiError::TimeFrameTooLong { max_days: 365 }.error_response();
        assert_eq!(response.status(), StatusCode::OK);
        let bytes = to_bytes(response.into_body())
            .await
            .map_err(|error| error.to_string())?;
        let body: serde_json::Value = serde_json::from_slice(&bytes)?;
        assert_eq!(body["success"], false);
        assert_eq!(body["error"]["code"], 505);
        assert_eq!(body["error"]["type"], "time_frame_too_long");
        assert_eq!(
            body["error"]["info"],
            "The Time-Frame you entered is too long. [max. 365 days]"
        );
        assert_eq!(
            FixerApiError::MethodNotAllowed.error_response().status(),
            StatusCode::METHOD_NOT_ALLOWED
        );
        Ok(())
    }
}
