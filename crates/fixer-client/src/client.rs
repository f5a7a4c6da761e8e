//! The blocking client: building it, sending requests with retries, and checking requests
//! before they are sent.

use std::fmt;
use std::io;
use std::thread;
use std::time::{Duration, Instant};

use time::{Date, OffsetDateTime};

use crate::decode::{self, format_date};
use crate::error::{Endpoint, Error, RequestError, TransportKind};
use crate::retry::{parse_retry_after, RetryPolicy};
use crate::types::{
    Conversion, ConvertRequest, Fluctuation, Quota, Rates, RatesOptions, Symbols, Timeseries,
};
use crate::MAX_RANGE_DAYS;

/// The classic host; the free plan only answers over plain `http://` there.
pub const DEFAULT_BASE_URL: &str = "https://data.fixer.io/api";

/// The APILayer host, where keys go in the `apikey` header.
pub const APILAYER_BASE_URL: &str = "https://api.apilayer.com/fixer";

/// What stands in for the access key in URLs and messages.
pub const REDACTED: &str = "REDACTED";

/// A Fixer access key. Its `Debug` shows `AccessKey(REDACTED)`, and it has no `Display`, so it
/// cannot leak into logs by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessKey(String);

impl AccessKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> AccessKey {
        AccessKey(key.into())
    }

    /// The key itself, for sending it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccessKey({REDACTED})")
    }
}

/// How the access key is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthStyle {
    /// `?access_key=KEY`, as the classic host `data.fixer.io` expects.
    Query,
    /// An `apikey: KEY` header, as the APILayer host `api.apilayer.com` expects.
    Header,
}

impl AuthStyle {
    /// The style a base URL's host expects: `Header` for `api.apilayer.com`, else `Query`.
    pub fn for_base_url(base_url: &str) -> AuthStyle {
        if host_of(base_url).eq_ignore_ascii_case("api.apilayer.com") {
            AuthStyle::Header
        } else {
            AuthStyle::Query
        }
    }
}

fn host_of(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    host.split(':').next().unwrap_or(host)
}

/// Builds a [`Client`]; start with [`Client::builder`].
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    base_url: String,
    access_key: Option<AccessKey>,
    auth_style: Option<AuthStyle>,
    timeout: Duration,
    connect_timeout: Option<Duration>,
    retry_policy: RetryPolicy,
}

impl ClientBuilder {
    /// The base URL, e.g. `http://data.fixer.io/api`, `https://api.apilayer.com/fixer` or a mock's.
    /// Default: [`DEFAULT_BASE_URL`].
    pub fn base_url(mut self, base_url: impl Into<String>) -> ClientBuilder {
        self.base_url = base_url.into();
        self
    }

    /// The access key (required).
    pub fn access_key(mut self, key: AccessKey) -> ClientBuilder {
        self.access_key = Some(key);
        self
    }

    /// How to send the key. Default: inferred from the base URL's host ([`AuthStyle::for_base_url`]).
    pub fn auth_style(mut self, style: AuthStyle) -> ClientBuilder {
        self.auth_style = Some(style);
        self
    }

    /// The time one request may take in all, from connecting to the last byte. Default 10 s.
    pub fn timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.timeout = timeout;
        self
    }

    /// The time connecting may take. Default: the overall timeout.
    pub fn connect_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.connect_timeout = Some(timeout);
        self
    }

    /// How transient failures are retried. Default: [`RetryPolicy::default`].
    pub fn retry_policy(mut self, policy: RetryPolicy) -> ClientBuilder {
        self.retry_policy = policy;
        self
    }

    /// Checks the settings and builds the client.
    pub fn build(self) -> Result<Client, Error> {
        let base_url = self.base_url.trim().trim_end_matches('/').to_owned();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(Error::Config(format!(
                "base URL {:?} must start with http:// or https://",
                decode::excerpt(&base_url)
            )));
        }
        if base_url.contains(['?', '#']) {
            return Err(Error::Config(
                "base URL must not contain a query or fragment; give the access key with access_key()".into(),
            ));
        }
        if host_of(&base_url).is_empty() {
            return Err(Error::Config(format!("base URL {base_url:?} has no host")));
        }
        let key = self
            .access_key
            .ok_or_else(|| Error::Config("no access key given (FIXER_ACCESS_KEY)".into()))?;
        if key.0.trim().is_empty() || key.0.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(Error::Config(
                "the access key is empty or contains spaces or control characters".into(),
            ));
        }
        if self.timeout.is_zero() {
            return Err(Error::Config("the timeout must be above zero".into()));
        }
        if self.retry_policy.max_attempts == 0 {
            return Err(Error::Config(
                "the retry policy must allow at least one attempt".into(),
            ));
        }
        let auth_style = self
            .auth_style
            .unwrap_or_else(|| AuthStyle::for_base_url(&base_url));
        let agent = ureq::AgentBuilder::new()
            .timeout(self.timeout)
            .timeout_connect(self.connect_timeout.unwrap_or(self.timeout))
            .user_agent(concat!("fixer-client/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(Client {
            agent,
            base_url,
            key,
            auth_style,
            retry_policy: self.retry_policy,
        })
    }
}

/// A blocking Fixer client. Cheap to clone; clones share one connection pool, and it can be used
/// from several threads at once.
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    base_url: String,
    key: AccessKey,
    auth_style: AuthStyle,
    retry_policy: RetryPolicy,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.scrub(&self.base_url))
            .field("access_key", &self.key)
            .field("auth_style", &self.auth_style)
            .field("retry_policy", &self.retry_policy)
            .finish()
    }
}

/// One response body with the headers the client keeps.
struct Reply {
    body: String,
    quota: Option<Quota>,
}

impl Client {
    /// A builder with the defaults: [`DEFAULT_BASE_URL`], 10 s timeout, [`RetryPolicy::default`].
    pub fn builder() -> ClientBuilder {
        ClientBuilder {
            base_url: DEFAULT_BASE_URL.to_owned(),
            access_key: None,
            auth_style: None,
            timeout: Duration::from_secs(10),
            connect_timeout: None,
            retry_policy: RetryPolicy::default(),
        }
    }

    /// The base URL requests go to (never holds the key).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// How the key is sent.
    pub fn auth_style(&self) -> AuthStyle {
        self.auth_style
    }

    /// The retry policy in force.
    pub fn retry_policy(&self) -> RetryPolicy {
        self.retry_policy
    }

    /// `GET /symbols`: every supported currency with its name.
    pub fn symbols(&self) -> Result<Symbols, Error> {
        let (mut symbols, quota) =
            self.send(Endpoint::Symbols, "symbols", Vec::new(), decode::symbols)?;
        symbols.quota = quota;
        Ok(symbols)
    }

    /// `GET /latest`: the most recent rates.
    pub fn latest(&self, options: &RatesOptions) -> Result<Rates, Error> {
        let (mut rates, quota) =
            self.send(Endpoint::Latest, "latest", rates_params(options), |body| {
                decode::rates(Endpoint::Latest, body)
            })?;
        rates.quota = quota;
        Ok(rates)
    }

    /// `GET /{date}`: the rates of a past day (weekends answer with the last business day's rates).
    ///
    /// A date after today (UTC) is refused before sending.
    pub fn historical(&self, date: Date, options: &RatesOptions) -> Result<Rates, Error> {
        let endpoint = Endpoint::Historical;
        check_not_future(endpoint, date)?;
        let (mut rates, quota) = self.send(
            endpoint,
            &format_date(date),
            rates_params(options),
            |body| decode::rates(endpoint, body),
        )?;
        rates.quota = quota;
        Ok(rates)
    }

    /// `GET /convert`: an amount in another currency, at the latest or a past rate.
    ///
    /// An amount that is not above zero, or a date after today (UTC), is refused before sending.
    pub fn convert(&self, request: &ConvertRequest) -> Result<Conversion, Error> {
        let endpoint = Endpoint::Convert;
        if !(request.amount.is_finite() && request.amount > 0.0) {
            return Err(Error::InvalidRequest {
                endpoint,
                reason: RequestError::InvalidAmount(request.amount),
            });
        }
        let mut params = vec![
            ("from", request.from.to_string()),
            ("to", request.to.to_string()),
            ("amount", request.amount.to_string()),
        ];
        if let Some(date) = request.date {
            check_not_future(endpoint, date)?;
            params.push(("date", format_date(date)));
        }
        let (mut conversion, quota) = self.send(endpoint, "convert", params, decode::conversion)?;
        conversion.quota = quota;
        Ok(conversion)
    }

    /// `GET /timeseries`: daily rates from `start` to `end`, both included.
    ///
    /// Refused before sending: `end` before `start`, more than [`MAX_RANGE_DAYS`] days, or a date
    /// after today (UTC).
    pub fn timeseries(
        &self,
        start: Date,
        end: Date,
        options: &RatesOptions,
    ) -> Result<Timeseries, Error> {
        let endpoint = Endpoint::Timeseries;
        check_range(endpoint, start, end)?;
        let (mut series, quota) = self.send(
            endpoint,
            "timeseries",
            range_params(start, end, options),
            decode::timeseries,
        )?;
        series.quota = quota;
        Ok(series)
    }

    /// `GET /fluctuation`: how each rate changed from `start` to `end`.
    ///
    /// Refused before sending on the same grounds as [`Client::timeseries`].
    pub fn fluctuation(
        &self,
        start: Date,
        end: Date,
        options: &RatesOptions,
    ) -> Result<Fluctuation, Error> {
        let endpoint = Endpoint::Fluctuation;
        check_range(endpoint, start, end)?;
        let (mut fluctuation, quota) = self.send(
            endpoint,
            "fluctuation",
            range_params(start, end, options),
            decode::fluctuation,
        )?;
        fluctuation.quota = quota;
        Ok(fluctuation)
    }

    /// Sends a request, retrying transient failures under the policy, and decodes the answer.
    fn send<T>(
        &self,
        endpoint: Endpoint,
        path: &str,
        params: Vec<(&'static str, String)>,
        decode: impl Fn(&str) -> Result<T, Error>,
    ) -> Result<(T, Option<Quota>), Error> {
        let policy = self.retry_policy;
        let started = Instant::now();
        let mut attempt: u32 = 1;
        loop {
            let outcome = self
                .attempt(endpoint, path, &params)
                .and_then(|reply| Ok((decode(&reply.body)?, reply.quota)));
            let error = match outcome {
                Ok(done) => return Ok(done),
                Err(error) => error,
            };
            if !error.is_retryable() {
                return Err(error);
            }
            let give_up = |last: Error, attempts: u32| {
                if attempts <= 1 {
                    last
                } else {
                    Error::RetriesExhausted {
                        endpoint,
                        attempts,
                        elapsed: started.elapsed(),
                        last: Box::new(last),
                    }
                }
            };
            if attempt >= policy.max_attempts {
                return Err(give_up(error, attempt));
            }
            let wait = error
                .retry_after()
                .unwrap_or_else(|| policy.backoff(attempt));
            if started.elapsed() + wait > policy.max_elapsed {
                log::warn!(
                    "{error}; not retrying: waiting {wait:?} would pass the {:?} limit",
                    policy.max_elapsed
                );
                return Err(give_up(error, attempt));
            }
            log::warn!(
                "{error}; retry {attempt} of {} in {wait:?}",
                policy.max_attempts - 1
            );
            thread::sleep(wait);
            attempt += 1;
        }
    }

    /// One HTTP request, classified.
    fn attempt(
        &self,
        endpoint: Endpoint,
        path: &str,
        params: &[(&'static str, String)],
    ) -> Result<Reply, Error> {
        let url = format!("{}/{}", self.base_url, path);
        let shown_url = self.shown_url(&url, params);
        log::debug!("GET {shown_url}");
        let mut request = self.agent.get(&url);
        for (name, value) in params {
            request = request.query(name, value);
        }
        request = match self.auth_style {
            AuthStyle::Query => request.query("access_key", self.key.expose()),
            AuthStyle::Header => request.set("apikey", self.key.expose()),
        };
        match request.call() {
            Ok(response) => {
                let quota = quota_from(&response);
                let body = response
                    .into_string()
                    .map_err(|e| self.read_error(endpoint, &shown_url, &e))?;
                Ok(Reply {
                    body: self.scrub(&body),
                    quota,
                })
            }
            Err(ureq::Error::Status(status, response)) => {
                let retry_after = response
                    .header("retry-after")
                    .and_then(|value| parse_retry_after(value, OffsetDateTime::now_utc()));
                // A body that cannot be read is left empty: the status says enough.
                let body = self.scrub(&response.into_string().unwrap_or_default());
                if let Some(error) = decode::fixer_error_in(endpoint, &body) {
                    return Err(error);
                }
                if let Some(message) = gateway_message(&body) {
                    return Err(Error::Gateway {
                        endpoint,
                        status,
                        message,
                        retry_after,
                    });
                }
                Err(Error::Http {
                    endpoint,
                    status,
                    url: shown_url,
                    body_excerpt: decode::excerpt(&body),
                    retry_after,
                })
            }
            Err(ureq::Error::Transport(transport)) => {
                Err(self.transport_error(endpoint, shown_url, &transport))
            }
        }
    }

    fn read_error(&self, endpoint: Endpoint, shown_url: &str, error: &io::Error) -> Error {
        let kind = match error.kind() {
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => TransportKind::Timeout,
            _ => TransportKind::Io,
        };
        Error::Transport {
            endpoint,
            url: shown_url.to_owned(),
            kind,
            message: format!(
                "reading the body failed: {}",
                self.scrub(&error.to_string())
            ),
        }
    }

    fn transport_error(
        &self,
        endpoint: Endpoint,
        shown_url: String,
        transport: &ureq::Transport,
    ) -> Error {
        let io_kind = std::error::Error::source(transport)
            .and_then(|source| source.downcast_ref::<io::Error>())
            .map(io::Error::kind);
        let kind = match (transport.kind(), io_kind) {
            (_, Some(io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock)) => {
                TransportKind::Timeout
            }
            (ureq::ErrorKind::Dns, _) => TransportKind::Dns,
            (ureq::ErrorKind::ConnectionFailed, _) => TransportKind::Connect,
            (ureq::ErrorKind::Io | ureq::ErrorKind::BadStatus | ureq::ErrorKind::BadHeader, _) => {
                TransportKind::Io
            }
            (ureq::ErrorKind::InvalidUrl | ureq::ErrorKind::UnknownScheme, _) => {
                TransportKind::InvalidUrl
            }
            _ => TransportKind::Other,
        };
        // The library's own Display includes the full URL, key and all; only its parts are kept.
        let mut message = transport.message().unwrap_or_default().to_owned();
        if let Some(source) = std::error::Error::source(transport) {
            if !message.is_empty() {
                message.push_str(": ");
            }
            message.push_str(&source.to_string());
        }
        Error::Transport {
            endpoint,
            url: shown_url,
            kind,
            message: self.scrub(&message),
        }
    }

    /// The URL as shown in messages and logs: parameters visible, key replaced.
    fn shown_url(&self, url: &str, params: &[(&'static str, String)]) -> String {
        let mut shown = self.scrub(url);
        let mut pairs: Vec<String> = params
            .iter()
            .map(|(k, v)| format!("{k}={}", self.scrub(v)))
            .collect();
        if self.auth_style == AuthStyle::Query {
            pairs.push(format!("access_key={REDACTED}"));
        }
        if !pairs.is_empty() {
            shown.push('?');
            shown.push_str(&pairs.join("&"));
        }
        shown
    }

    /// Removes the key from text that came from outside (bodies, library messages).
    fn scrub(&self, text: &str) -> String {
        let key = self.key.expose();
        if key.is_empty() {
            text.to_owned()
        } else {
            text.replace(key, REDACTED)
        }
    }
}

fn rates_params(options: &RatesOptions) -> Vec<(&'static str, String)> {
    let mut params = Vec::new();
    if let Some(base) = options.base {
        params.push(("base", base.to_string()));
    }
    if !options.symbols.is_empty() {
        let list: Vec<&str> = options.symbols.iter().map(|code| code.as_str()).collect();
        params.push(("symbols", list.join(",")));
    }
    params
}

fn range_params(start: Date, end: Date, options: &RatesOptions) -> Vec<(&'static str, String)> {
    let mut params = vec![
        ("start_date", format_date(start)),
        ("end_date", format_date(end)),
    ];
    params.extend(rates_params(options));
    params
}

fn today_utc() -> Date {
    OffsetDateTime::now_utc().date()
}

fn check_not_future(endpoint: Endpoint, date: Date) -> Result<(), Error> {
    let today = today_utc();
    if date > today {
        return Err(Error::InvalidRequest {
            endpoint,
            reason: RequestError::FutureDate { date, today },
        });
    }
    Ok(())
}

fn check_range(endpoint: Endpoint, start: Date, end: Date) -> Result<(), Error> {
    if end < start {
        return Err(Error::InvalidRequest {
            endpoint,
            reason: RequestError::EndBeforeStart { start, end },
        });
    }
    let days = (end - start).whole_days() + 1;
    if days > MAX_RANGE_DAYS {
        return Err(Error::InvalidRequest {
            endpoint,
            reason: RequestError::RangeTooLong {
                start,
                end,
                days,
                max: MAX_RANGE_DAYS,
            },
        });
    }
    check_not_future(endpoint, end)
}

fn gateway_message(body: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    match value.get("message")? {
        serde_json::Value::String(message) => Some(message.clone()),
        _ => None,
    }
}

fn quota_from(response: &ureq::Response) -> Option<Quota> {
    let read = |name: &str| {
        response
            .header(name)
            .and_then(|v| v.trim().parse::<u64>().ok())
    };
    let quota = Quota {
        limit_month: read("x-ratelimit-limit-month"),
        remaining_month: read("x-ratelimit-remaining-month"),
        limit_day: read("x-ratelimit-limit-day"),
        remaining_day: read("x-ratelimit-remaining-day"),
    };
    (quota != Quota::default()).then_some(quota)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn client_can_be_shared_between_threads() {
        fn shareable<T: Send + Sync + Clone>() {}
        shareable::<Client>();
    }

    #[test]
    fn auth_style_follows_the_host() {
        assert_eq!(
            AuthStyle::for_base_url(APILAYER_BASE_URL),
            AuthStyle::Header
        );
        assert_eq!(
            AuthStyle::for_base_url("https://API.apilayer.com:443/fixer"),
            AuthStyle::Header
        );
        assert_eq!(AuthStyle::for_base_url(DEFAULT_BASE_URL), AuthStyle::Query);
        assert_eq!(
            AuthStyle::for_base_url("http://127.0.0.1:9/api"),
            AuthStyle::Query
        );
    }

    #[test]
    fn builder_refuses_bad_settings() {
        let key = || AccessKey::new("k123");
        assert!(Client::builder().build().is_err(), "missing key");
        assert!(Client::builder()
            .access_key(AccessKey::new(" "))
            .build()
            .is_err());
        assert!(Client::builder()
            .access_key(key())
            .base_url("ftp://x")
            .build()
            .is_err());
        assert!(Client::builder()
            .access_key(key())
            .base_url("http://x/api?access_key=1")
            .build()
            .is_err());
        assert!(Client::builder()
            .access_key(key())
            .timeout(Duration::ZERO)
            .build()
            .is_err());
        let client = Client::builder()
            .access_key(key())
            .base_url("http://x/api/")
            .build()
            .unwrap();
        assert_eq!(client.base_url(), "http://x/api");
    }

    #[test]
    fn debug_hides_the_key() {
        let client = Client::builder()
            .access_key(AccessKey::new("sekrit-key-42"))
            .build()
            .unwrap();
        let text = format!("{client:?}");
        assert!(!text.contains("sekrit-key-42"), "{text}");
        assert!(text.contains(REDACTED));
    }

    #[test]
    fn ranges_are_checked_like_fixer_does() {
        let check = |s, e| check_range(Endpoint::Timeseries, s, e);
        assert!(check(date!(2024 - 01 - 01), date!(2024 - 12 - 30)).is_ok());
        assert!(matches!(
            check(date!(2024 - 01 - 01), date!(2024 - 12 - 31)),
            Err(Error::InvalidRequest {
                reason: RequestError::RangeTooLong { days: 366, .. },
                ..
            })
        ));
        assert!(matches!(
            check(date!(2024 - 01 - 02), date!(2024 - 01 - 01)),
            Err(Error::InvalidRequest {
                reason: RequestError::EndBeforeStart { .. },
                ..
            })
        ));
        let tomorrow = today_utc().next_day().unwrap();
        assert!(matches!(
            check(today_utc() - time::Duration::days(3), tomorrow),
            Err(Error::InvalidRequest {
                reason: RequestError::FutureDate { .. },
                ..
            })
        ));
    }

    #[test]
    fn shown_url_redacts_the_key() {
        let client = Client::builder()
            .access_key(AccessKey::new("abc123secret"))
            .base_url("http://h/api")
            .build()
            .unwrap();
        let shown = client.shown_url("http://h/api/latest", &[("base", "USD".into())]);
        assert_eq!(shown, "http://h/api/latest?base=USD&access_key=REDACTED");
    }
}
