//! The one error type of this crate, and how each failure is classified.
//!
//! Fixer reports its own failures inside HTTP 200 bodies (`"success": false` plus a numeric
//! code); those become [`Error::Fixer`] with a [`FixerErrorKind`] per documented code. The
//! APILayer gateway answers with real HTTP statuses and a `{"message": ...}` body; those become
//! [`Error::Gateway`]. Everything else (network, other HTTP statuses, bodies that do not decode
//! or break the data rules) has its own variant. No message ever contains the access key: URLs
//! are redacted before they are stored, and text that came from the server is scrubbed.

use std::fmt;
use std::time::Duration;

use time::Date;

/// The Fixer endpoint a request was for; every error names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// `GET /symbols`
    Symbols,
    /// `GET /latest`
    Latest,
    /// `GET /{YYYY-MM-DD}`
    Historical,
    /// `GET /convert`
    Convert,
    /// `GET /timeseries`
    Timeseries,
    /// `GET /fluctuation`
    Fluctuation,
}

impl Endpoint {
    /// The endpoint's name as used in messages and in Fixer's paths (`historical` has no fixed path).
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::Symbols => "symbols",
            Endpoint::Latest => "latest",
            Endpoint::Historical => "historical",
            Endpoint::Convert => "convert",
            Endpoint::Timeseries => "timeseries",
            Endpoint::Fluctuation => "fluctuation",
        }
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every error this crate returns.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Fixer answered `"success": false` with an error code.
    #[error("{endpoint}: {error}")]
    Fixer {
        /// The endpoint called.
        endpoint: Endpoint,
        /// What Fixer sent, classified.
        error: FixerError,
    },
    /// The APILayer gateway refused the request (a real 401/403/404/429/5xx with `{"message": ...}`).
    #[error("{endpoint}: the APILayer gateway answered HTTP {status}: {message}{}", gateway_hint(*status, message))]
    Gateway {
        /// The endpoint called.
        endpoint: Endpoint,
        /// The HTTP status.
        status: u16,
        /// The gateway's `message` text.
        message: String,
        /// The `Retry-After` delay, when the gateway sent one.
        retry_after: Option<Duration>,
    },
    /// An HTTP error status whose body is neither a Fixer error nor a gateway message.
    #[error("{endpoint}: HTTP {status} from {url}{}", excerpt_suffix(body_excerpt))]
    Http {
        /// The endpoint called.
        endpoint: Endpoint,
        /// The HTTP status.
        status: u16,
        /// The request URL with the access key redacted.
        url: String,
        /// The start of the body, scrubbed of the access key.
        body_excerpt: String,
        /// The `Retry-After` delay, when the server sent one.
        retry_after: Option<Duration>,
    },
    /// The request never got an HTTP answer: DNS, connect, TLS, read/write errors, timeouts.
    #[error("{endpoint}: request to {url} failed ({kind}): {message}")]
    Transport {
        /// The endpoint called.
        endpoint: Endpoint,
        /// The request URL with the access key redacted.
        url: String,
        /// What went wrong, broadly.
        kind: TransportKind,
        /// Details from the HTTP library, scrubbed of the access key.
        message: String,
    },
    /// The body could not be decoded, or decoded into data that breaks the rules (a rate that is
    /// not a finite number > 0, a currency code that is not three letters, a missing field).
    #[error("{endpoint}: malformed response: {reason}")]
    MalformedResponse {
        /// The endpoint called.
        endpoint: Endpoint,
        /// What is wrong with the body.
        reason: String,
    },
    /// The request was refused before sending, because Fixer would reject it anyway.
    #[error("{endpoint}: invalid request: {reason}")]
    InvalidRequest {
        /// The endpoint that would have been called.
        endpoint: Endpoint,
        /// What is wrong and how to fix it.
        reason: RequestError,
    },
    /// The client could not be built.
    #[error("invalid client configuration: {0}")]
    Config(String),
    /// A transient failure persisted through every attempt the retry policy allowed.
    #[error("{endpoint}: gave up after {attempts} attempts in {:.1}s: {last}", elapsed.as_secs_f64())]
    RetriesExhausted {
        /// The endpoint called.
        endpoint: Endpoint,
        /// Requests sent, the first included.
        attempts: u32,
        /// Time from the first request to giving up.
        elapsed: Duration,
        /// The last failure.
        #[source]
        last: Box<Error>,
    },
}

fn excerpt_suffix(excerpt: &str) -> String {
    if excerpt.is_empty() {
        String::new()
    } else {
        format!(": {excerpt}")
    }
}

fn gateway_hint(status: u16, message: &str) -> &'static str {
    match status {
        401 => " (check the access key: APILayer keys go in the `apikey` header on https://api.apilayer.com/fixer)",
        403 => " (the key is not subscribed to the Fixer API on APILayer)",
        404 => " (check the base URL: it should end in /fixer)",
        429 if is_quota_message(message) => " (the plan's request quota is used up; wait for it to renew or upgrade)",
        _ => "",
    }
}

/// Whether a gateway 429 message speaks of a daily or monthly quota rather than a short burst.
pub(crate) fn is_quota_message(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    lower.contains("monthly")
        || lower.contains("daily")
        || lower.contains("quota")
        || lower.contains("subscription")
}

impl Error {
    /// Whether sending the same request again later may succeed.
    ///
    /// True for transport failures, timeouts, HTTP 5xx and 408, and HTTP 429 unless it is the
    /// gateway's quota message without a `Retry-After` (a used-up monthly quota does not come back
    /// in seconds). False for every Fixer error code (bad key, quota, restricted function, bad
    /// currency or date), malformed bodies, invalid requests and configuration errors.
    /// For [`Error::RetriesExhausted`] it is the verdict on the last failure.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::Transport { kind, .. } => kind.is_retryable(),
            Error::Http { status, .. } => is_retryable_status(*status),
            Error::Gateway {
                status,
                message,
                retry_after,
                ..
            } => match status {
                429 => retry_after.is_some() || !is_quota_message(message),
                other => is_retryable_status(*other),
            },
            Error::RetriesExhausted { last, .. } => last.is_retryable(),
            Error::Fixer { .. }
            | Error::MalformedResponse { .. }
            | Error::InvalidRequest { .. }
            | Error::Config(_) => false,
        }
    }

    /// The server's `Retry-After` delay, when it sent one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Error::Gateway { retry_after, .. } | Error::Http { retry_after, .. } => *retry_after,
            Error::RetriesExhausted { last, .. } => last.retry_after(),
            _ => None,
        }
    }

    /// The endpoint the failed request was for (`None` for configuration errors).
    pub fn endpoint(&self) -> Option<Endpoint> {
        match self {
            Error::Fixer { endpoint, .. }
            | Error::Gateway { endpoint, .. }
            | Error::Http { endpoint, .. }
            | Error::Transport { endpoint, .. }
            | Error::MalformedResponse { endpoint, .. }
            | Error::InvalidRequest { endpoint, .. }
            | Error::RetriesExhausted { endpoint, .. } => Some(*endpoint),
            Error::Config(_) => None,
        }
    }

    /// The Fixer error, when Fixer itself reported one.
    pub fn fixer_error(&self) -> Option<&FixerError> {
        match self {
            Error::Fixer { error, .. } => Some(error),
            _ => None,
        }
    }

    /// The Fixer error kind, when Fixer itself reported one.
    pub fn fixer_kind(&self) -> Option<FixerErrorKind> {
        self.fixer_error().map(|error| error.kind)
    }

    /// Fixer's 105 `function_access_restricted`: the plan lacks this endpoint (timeseries on
    /// Free or Basic, for instance). Callers can fall back to a cheaper endpoint.
    pub fn is_function_restricted(&self) -> bool {
        self.fixer_kind() == Some(FixerErrorKind::FunctionAccessRestricted)
    }

    /// Fixer's 105 `base_currency_access_restricted`: the plan only allows base EUR.
    pub fn is_base_currency_restricted(&self) -> bool {
        self.fixer_kind() == Some(FixerErrorKind::BaseCurrencyAccessRestricted)
    }

    /// The key was refused: Fixer's 101, or the gateway's 401/403.
    pub fn is_auth_failure(&self) -> bool {
        match self {
            Error::Fixer { error, .. } => matches!(
                error.kind,
                FixerErrorKind::InvalidAccessKey | FixerErrorKind::InactiveUser
            ),
            Error::Gateway { status, .. } => matches!(status, 401 | 403),
            _ => false,
        }
    }

    /// The request quota is used up: Fixer's 104, or the gateway's 429 quota message.
    pub fn is_quota_exceeded(&self) -> bool {
        match self {
            Error::Fixer { error, .. } => error.kind == FixerErrorKind::UsageLimitReached,
            Error::Gateway {
                status: 429,
                message,
                ..
            } => is_quota_message(message),
            Error::RetriesExhausted { last, .. } => last.is_quota_exceeded(),
            _ => false,
        }
    }

    /// Fixer has no rates for the request (106), e.g. a date before its coverage.
    pub fn is_no_rates_available(&self) -> bool {
        self.fixer_kind() == Some(FixerErrorKind::NoRatesAvailable)
    }
}

pub(crate) fn is_retryable_status(status: u16) -> bool {
    status == 408 || status == 429 || (500..=599).contains(&status)
}

/// What kind of transport failure happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportKind {
    /// The host name could not be resolved.
    Dns,
    /// The TCP (or TLS) connection could not be made.
    Connect,
    /// The connect or read timeout passed.
    Timeout,
    /// Reading or writing failed after connecting (reset, truncated response, bad status line).
    Io,
    /// The URL or its scheme is unusable; not worth retrying.
    InvalidUrl,
    /// Anything else the HTTP library reports (proxy, redirects); not worth retrying.
    Other,
}

impl TransportKind {
    /// Whether a failure of this kind is worth retrying.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            TransportKind::Dns
                | TransportKind::Connect
                | TransportKind::Timeout
                | TransportKind::Io
        )
    }
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportKind::Dns => "DNS lookup failed",
            TransportKind::Connect => "could not connect",
            TransportKind::Timeout => "timed out",
            TransportKind::Io => "connection error",
            TransportKind::InvalidUrl => "invalid URL",
            TransportKind::Other => "HTTP client error",
        })
    }
}

/// A request the client refused to send because Fixer would reject it anyway.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The end date is before the start date.
    #[error("end date {end} is before start date {start}")]
    EndBeforeStart {
        /// Requested start.
        start: Date,
        /// Requested end.
        end: Date,
    },
    /// The range is longer than Fixer allows.
    #[error("{start}..={end} spans {days} days; Fixer allows at most {max} days per request (split the range)")]
    RangeTooLong {
        /// Requested start.
        start: Date,
        /// Requested end.
        end: Date,
        /// Days in the range, both ends included.
        days: i64,
        /// The limit, [`crate::MAX_RANGE_DAYS`].
        max: i64,
    },
    /// A date after today in UTC, which Fixer rejects with 302.
    #[error("{date} is in the future (today is {today} in UTC, the time zone Fixer uses)")]
    FutureDate {
        /// The requested date.
        date: Date,
        /// Today's date in UTC.
        today: Date,
    },
    /// An amount that is not a finite number above zero.
    #[error("amount {0} must be a finite number above zero")]
    InvalidAmount(f64),
}

/// A Fixer error code, classified. Every code in Fixer's documentation, plus the 402/403
/// conversion codes seen in practice, has a kind; 105 is told apart by its `type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FixerErrorKind {
    /// 404: the requested resource does not exist.
    NotFound,
    /// 101: no access key, or an invalid one.
    InvalidAccessKey,
    /// 102: the account is inactive.
    InactiveUser,
    /// 103: the API function does not exist.
    InvalidApiFunction,
    /// 104: the monthly request quota is used up.
    UsageLimitReached,
    /// 105 `function_access_restricted`: the plan lacks this endpoint.
    FunctionAccessRestricted,
    /// 105 `base_currency_access_restricted`: the plan only allows base EUR.
    BaseCurrencyAccessRestricted,
    /// 105 `https_access_restricted`: the free plan on data.fixer.io is HTTP only.
    HttpsAccessRestricted,
    /// 105 with another or no `type`.
    AccessRestricted,
    /// 106: the query returned no rates (e.g. a date outside the data).
    NoRatesAvailable,
    /// 201: invalid base currency.
    InvalidBaseCurrency,
    /// 202: one or more invalid symbols.
    InvalidCurrencyCodes,
    /// 301: no date given.
    NoDateSpecified,
    /// 302: invalid date (malformed or in the future).
    InvalidDate,
    /// 402: invalid `from` or `to` currency in a conversion.
    InvalidConversionCurrency,
    /// 403: missing or invalid conversion amount.
    InvalidConversionAmount,
    /// 501: no or invalid time frame.
    NoTimeframeSupplied,
    /// 502: no or invalid start date.
    InvalidStartDate,
    /// 503: no or invalid end date.
    InvalidEndDate,
    /// 504: invalid time frame (e.g. end before start).
    InvalidTimeFrame,
    /// 505: time frame longer than 365 days.
    TimeFrameTooLong,
    /// A code not in Fixer's documentation.
    Unknown,
}

impl FixerErrorKind {
    /// Classifies a code and its optional `type` string.
    pub fn classify(code: i64, error_type: Option<&str>) -> FixerErrorKind {
        match code {
            404 => FixerErrorKind::NotFound,
            101 => FixerErrorKind::InvalidAccessKey,
            102 => FixerErrorKind::InactiveUser,
            103 => FixerErrorKind::InvalidApiFunction,
            104 => FixerErrorKind::UsageLimitReached,
            105 => match error_type {
                Some("function_access_restricted") => FixerErrorKind::FunctionAccessRestricted,
                Some("base_currency_access_restricted") => {
                    FixerErrorKind::BaseCurrencyAccessRestricted
                }
                Some("https_access_restricted") => FixerErrorKind::HttpsAccessRestricted,
                _ => FixerErrorKind::AccessRestricted,
            },
            106 => FixerErrorKind::NoRatesAvailable,
            201 => FixerErrorKind::InvalidBaseCurrency,
            202 => FixerErrorKind::InvalidCurrencyCodes,
            301 => FixerErrorKind::NoDateSpecified,
            302 => FixerErrorKind::InvalidDate,
            402 => FixerErrorKind::InvalidConversionCurrency,
            403 => FixerErrorKind::InvalidConversionAmount,
            501 => FixerErrorKind::NoTimeframeSupplied,
            502 => FixerErrorKind::InvalidStartDate,
            503 => FixerErrorKind::InvalidEndDate,
            504 => FixerErrorKind::InvalidTimeFrame,
            505 => FixerErrorKind::TimeFrameTooLong,
            _ => FixerErrorKind::Unknown,
        }
    }

    /// What the code means and what to do about it.
    pub fn explanation(self) -> &'static str {
        match self {
            FixerErrorKind::NotFound => "the requested resource does not exist",
            FixerErrorKind::InvalidAccessKey => "the access key is missing or invalid; check it (keys from APILayer only work on https://api.apilayer.com/fixer with the `apikey` header)",
            FixerErrorKind::InactiveUser => "the Fixer account is inactive; contact Fixer support",
            FixerErrorKind::InvalidApiFunction => "the API function does not exist; check the base URL",
            FixerErrorKind::UsageLimitReached => "the plan's monthly request quota is used up; wait for it to renew or upgrade the plan",
            FixerErrorKind::FunctionAccessRestricted => "the subscription plan does not include this endpoint; upgrade the plan or use another endpoint",
            FixerErrorKind::BaseCurrencyAccessRestricted => "the subscription plan only allows base EUR; request EUR and rebase locally, or upgrade the plan",
            FixerErrorKind::HttpsAccessRestricted => "the subscription plan does not support HTTPS; on the free plan use an http:// base URL (http://data.fixer.io/api), or upgrade to a paid plan",
            FixerErrorKind::AccessRestricted => "the subscription plan does not allow this request; upgrade the plan",
            FixerErrorKind::NoRatesAvailable => "Fixer has no rates for this query (a date outside its data?)",
            FixerErrorKind::InvalidBaseCurrency => "the base currency is not one Fixer knows",
            FixerErrorKind::InvalidCurrencyCodes => "one or more symbols are not currencies Fixer knows",
            FixerErrorKind::NoDateSpecified => "no date was given",
            FixerErrorKind::InvalidDate => "the date is invalid or in the future (Fixer reads dates in UTC)",
            FixerErrorKind::InvalidConversionCurrency => "the `from` or `to` currency is not one Fixer knows",
            FixerErrorKind::InvalidConversionAmount => "the amount to convert is missing or not above zero",
            FixerErrorKind::NoTimeframeSupplied => "no time frame (start_date and end_date) was given",
            FixerErrorKind::InvalidStartDate => "the start date is missing or invalid",
            FixerErrorKind::InvalidEndDate => "the end date is missing or invalid",
            FixerErrorKind::InvalidTimeFrame => "the time frame is invalid (end before start?)",
            FixerErrorKind::TimeFrameTooLong => "the time frame is longer than Fixer allows (365 days)",
            FixerErrorKind::Unknown => "an error code Fixer does not document",
        }
    }
}

/// An error Fixer reported, with everything it sent: the numeric code, the `type` string and
/// the `info` text (both often missing), plus the kind this crate derived from them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixerError {
    /// Fixer's numeric code, e.g. 105.
    pub code: i64,
    /// Fixer's `type` string, e.g. `function_access_restricted`, when sent.
    pub error_type: Option<String>,
    /// Fixer's `info` text, when sent (scrubbed of the access key).
    pub info: Option<String>,
    /// The classified kind.
    pub kind: FixerErrorKind,
}

impl FixerError {
    /// Builds a classified error from the raw fields.
    pub fn new(code: i64, error_type: Option<String>, info: Option<String>) -> FixerError {
        let kind = FixerErrorKind::classify(code, error_type.as_deref());
        FixerError {
            code,
            error_type,
            info,
            kind,
        }
    }
}

impl fmt::Display for FixerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fixer error {}", self.code)?;
        if let Some(error_type) = &self.error_type {
            write!(f, " ({error_type})")?;
        }
        if let Some(info) = &self.info {
            write!(f, ": {info}")?;
        }
        write!(f, " — {}", self.kind.explanation())
    }
}

impl std::error::Error for FixerError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_105_cases_are_told_apart() {
        let cases = [
            (
                "function_access_restricted",
                FixerErrorKind::FunctionAccessRestricted,
            ),
            (
                "base_currency_access_restricted",
                FixerErrorKind::BaseCurrencyAccessRestricted,
            ),
            (
                "https_access_restricted",
                FixerErrorKind::HttpsAccessRestricted,
            ),
            ("something_new", FixerErrorKind::AccessRestricted),
        ];
        for (error_type, kind) in cases {
            assert_eq!(FixerErrorKind::classify(105, Some(error_type)), kind);
        }
        assert_eq!(
            FixerErrorKind::classify(105, None),
            FixerErrorKind::AccessRestricted
        );
    }

    #[test]
    fn https_message_says_how_to_fix_it() {
        let error = FixerError::new(105, Some("https_access_restricted".into()), None);
        let text = error.to_string();
        assert!(text.contains("http://"), "{text}");
        assert!(text.contains("upgrade"), "{text}");
    }

    #[test]
    fn every_documented_code_has_its_own_kind() {
        let codes = [
            404, 101, 102, 103, 104, 106, 201, 202, 301, 302, 402, 403, 501, 502, 503, 504, 505,
        ];
        let kinds: std::collections::HashSet<_> = codes
            .iter()
            .map(|c| FixerErrorKind::classify(*c, None))
            .collect();
        assert_eq!(kinds.len(), codes.len());
        assert!(!kinds.contains(&FixerErrorKind::Unknown));
        assert_eq!(FixerErrorKind::classify(999, None), FixerErrorKind::Unknown);
    }

    #[test]
    fn fixer_errors_are_never_retryable_but_5xx_are() {
        let fixer = Error::Fixer {
            endpoint: Endpoint::Latest,
            error: FixerError::new(104, None, None),
        };
        assert!(!fixer.is_retryable());
        assert!(fixer.is_quota_exceeded());
        let http = Error::Http {
            endpoint: Endpoint::Latest,
            status: 503,
            url: String::new(),
            body_excerpt: String::new(),
            retry_after: None,
        };
        assert!(http.is_retryable());
    }

    #[test]
    fn gateway_429_quota_without_retry_after_is_permanent() {
        let quota = Error::Gateway {
            endpoint: Endpoint::Latest,
            status: 429,
            message: "You have exceeded your monthly API rate limit.".into(),
            retry_after: None,
        };
        assert!(!quota.is_retryable());
        assert!(quota.is_quota_exceeded());
        let burst = Error::Gateway {
            endpoint: Endpoint::Latest,
            status: 429,
            message: "Too many requests".into(),
            retry_after: Some(Duration::from_secs(1)),
        };
        assert!(burst.is_retryable());
    }
}
