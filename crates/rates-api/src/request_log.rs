//! One log line per request: client address, method, path (never the query string, which may
//! hold keys), status, time taken and the request id; a `tracing` event whose message is the
//! line and whose fields are its parts, for JSON logs.
//!
//! The client address is the TCP peer, unless the peer is a configured trusted proxy: then it is
//! the right-most `X-Forwarded-For` entry that is not itself a trusted proxy. Anyone else's
//! `X-Forwarded-For` is ignored, so a client cannot put a made-up address in the log.
//!
//! Where lines go is [`AccessLog`]: `tracing` events by default, or a writer of text lines the
//! program gives ([`AccessLineWriter`]), which skips the event machinery.

use std::cell::RefCell;
use std::fmt::{self, Write as _};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use actix_web::http::header::HeaderMap;
use actix_web::http::{Method, StatusCode};

use crate::request_id::RequestId;

/// The `log` target of request lines, for filtering (`RUST_LOG=rates_api::access=off`).
pub const ACCESS_LOG_TARGET: &str = "rates_api::access";

/// Longest path written to the log.
const MAX_LOGGED_PATH: usize = 200;

/// Where request lines go ([`crate::ApiConfig::access_log`]).
#[derive(Clone, Default)]
pub enum AccessLog {
    /// A `tracing` event per request, target [`ACCESS_LOG_TARGET`] at `INFO`: the line as its
    /// message and its parts as fields (client, method, path, status, duration_ms, request_id),
    /// for whatever subscriber the program installed. Filtered by that subscriber.
    #[default]
    Events,
    /// The line's text handed to a writer, with no event: for a program whose log is plain text
    /// lines, where dispatching and formatting an event cost more than the line itself. The
    /// program gives it only when it wants request lines: every request is written.
    Lines(Arc<dyn AccessLineWriter>),
}

impl AccessLog {
    /// Whether requests are logged now: always with a writer, as the subscriber says otherwise.
    pub(crate) fn enabled(&self) -> bool {
        match self {
            AccessLog::Events => tracing::enabled!(target: ACCESS_LOG_TARGET, tracing::Level::INFO),
            AccessLog::Lines(_) => true,
        }
    }
}

impl PartialEq for AccessLog {
    /// Events equal events; writers are equal when they are the same writer.
    fn eq(&self, other: &AccessLog) -> bool {
        match (self, other) {
            (AccessLog::Events, AccessLog::Events) => true,
            (AccessLog::Lines(one), AccessLog::Lines(other)) => Arc::ptr_eq(one, other),
            _ => false,
        }
    }
}

impl fmt::Debug for AccessLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AccessLog::Events => "Events",
            AccessLog::Lines(_) => "Lines",
        })
    }
}

/// Takes request lines as text, for [`AccessLog::Lines`].
pub trait AccessLineWriter: Send + Sync + 'static {
    /// Writes one request's line: `{client} "{method} {path}" {status} {milliseconds}ms
    /// id={request id}`, with no line end. Called on the thread that answered, so it should
    /// not block.
    fn write_line(&self, line: &str);
}

/// The address a request came from, honouring `X-Forwarded-For` only from `trusted_proxies`.
pub fn client_address(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted_proxies: &[IpAddr],
) -> Option<IpAddr> {
    let peer = peer?;
    if !trusted_proxies.contains(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .map(|entry| entry.parse::<IpAddr>().ok())
        .collect::<Option<Vec<_>>>()
        .unwrap_or_default();
    // Entries are appended by each hop: walk back from the nearest one past our own proxies.
    Some(
        forwarded
            .iter()
            .rev()
            .find(|address| !trusted_proxies.contains(address))
            .copied()
            .unwrap_or(peer),
    )
}

/// One request's line: what [`AccessLine::write`] logs.
pub(crate) struct AccessLine<'a> {
    pub client: Option<IpAddr>,
    pub method: &'a Method,
    /// The path, without the query string.
    pub path: &'a str,
    pub status: StatusCode,
    pub elapsed: Duration,
    pub request_id: &'a RequestId,
}

impl AccessLine<'_> {
    /// Writes the line to `log` (the caller checked [`AccessLog::enabled`]).
    pub(crate) fn write(&self, log: &AccessLog) {
        thread_local! {
            /// The line being written, kept so that each line does not allocate.
            static LINE: RefCell<String> = const { RefCell::new(String::new()) };
        }
        let write = |line: &mut String| {
            self.compose(line);
            match log {
                AccessLog::Events => self.emit(line),
                AccessLog::Lines(writer) => writer.write_line(line),
            }
        };
        LINE.with(|line| match line.try_borrow_mut() {
            Ok(mut line) => write(&mut line),
            // Only if a subscriber wrote a request line from inside this one.
            Err(_) => write(&mut String::new()),
        });
    }

    /// The line as text, and its parts as fields for structured (JSON) logs. Text lines show
    /// only the message, written by [`AccessLine::compose`]: formatted through `format_args!`,
    /// it was the largest part of the line's cost.
    fn emit(&self, line: &str) {
        tracing::info!(
            target: ACCESS_LOG_TARGET,
            client = %Client(self.client),
            method = self.method.as_str(),
            path = %Shortened(self.path),
            status = self.status.as_u16(),
            duration_ms = %Millis(self.elapsed),
            request_id = self.request_id.as_str(),
            "{line}"
        );
    }

    /// Writes the line's text into `line` (cleared first):
    /// `{client} "{method} {path}" {status} {milliseconds}ms id={request id}`.
    fn compose(&self, line: &mut String) {
        line.clear();
        push_client(line, self.client);
        line.push_str(" \"");
        line.push_str(self.method.as_str());
        line.push(' ');
        let (shown, cut) = shortened(self.path);
        line.push_str(shown);
        if cut {
            line.push('…');
        }
        line.push_str("\" ");
        line.push_str(itoa::Buffer::new().format(self.status.as_u16()));
        line.push(' ');
        push_millis(line, self.elapsed);
        line.push_str("ms id=");
        line.push_str(self.request_id.as_str());
    }
}

/// The client address, `-` when unknown.
struct Client(Option<IpAddr>);

impl fmt::Display for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(address) => write!(f, "{address}"),
            None => f.write_str("-"),
        }
    }
}

/// Appends the client address as [`Client`] shows it; IPv4 by hand, the common case.
fn push_client(line: &mut String, client: Option<IpAddr>) {
    match client {
        Some(IpAddr::V4(address)) => {
            let mut digits = itoa::Buffer::new();
            for (index, octet) in address.octets().into_iter().enumerate() {
                if index > 0 {
                    line.push('.');
                }
                line.push_str(digits.format(octet));
            }
        }
        other => {
            let _ = write!(line, "{}", Client(other));
        }
    }
}

/// Appends `elapsed` as [`Millis`] shows it.
fn push_millis(line: &mut String, elapsed: Duration) {
    let micros = micros(elapsed);
    let mut digits = itoa::Buffer::new();
    line.push_str(digits.format(micros / 1000));
    line.push('.');
    let fraction = micros % 1000;
    if fraction < 100 {
        line.push('0');
    }
    if fraction < 10 {
        line.push('0');
    }
    line.push_str(digits.format(fraction));
}

/// `elapsed` in whole microseconds, rounded.
fn micros(elapsed: Duration) -> u64 {
    elapsed
        .as_secs()
        .saturating_mul(1_000_000)
        .saturating_add(u64::from((elapsed.subsec_nanos() + 500) / 1000))
}

/// A duration in milliseconds with three decimals (`0.012`), rounded to the microsecond;
/// integer arithmetic, as floating-point formatting showed in profiles.
struct Millis(Duration);

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let micros = micros(self.0);
        write!(f, "{}.{:03}", micros / 1000, micros % 1000)
    }
}

/// `path` cut after [`MAX_LOGGED_PATH`] characters, and whether it was cut.
fn shortened(path: &str) -> (&str, bool) {
    // A path of at most that many bytes has at most that many characters.
    if path.len() <= MAX_LOGGED_PATH {
        return (path, false);
    }
    match path.char_indices().nth(MAX_LOGGED_PATH) {
        Some((cut, _)) => (path.get(..cut).unwrap_or_default(), true),
        None => (path, false),
    }
}

/// The path, cut after [`MAX_LOGGED_PATH`] characters (`…` marks the cut).
struct Shortened<'a>(&'a str);

impl fmt::Display for Shortened<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (shown, cut) = shortened(self.0);
        f.write_str(shown)?;
        if cut {
            f.write_str("…")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn forwarded(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            HeaderName::from_static("x-forwarded-for"),
            HeaderValue::from_str(value).unwrap(),
        );
        headers
    }

    #[test]
    fn lines_written_by_hand_read_as_the_formatted_ones_did() {
        let mut headers = HeaderMap::new();
        headers.insert(
            HeaderName::from_static("x-request-id"),
            HeaderValue::from_static("abc-1"),
        );
        let ids = crate::request_id::WorkerIds::new(std::sync::Arc::new(
            crate::request_id::IdGenerator::new(),
        ));
        let id = RequestId::from_headers(&headers, &ids);
        assert_eq!(id.as_str(), "abc-1");
        let long = format!("/rates/{}", "é".repeat(300));
        let clients = [
            None,
            Some(ip("127.0.0.1")),
            Some(ip("10.200.3.45")),
            Some(ip("::1")),
            Some(ip("2001:db8::8a2e:370:7334")),
        ];
        let paths = ["/", "/rates/2024-01-02/", long.as_str(), &"x".repeat(200)];
        let durations = [0, 999, 1_500, 12_345, 1_234_567, 61_000_000_000];
        let mut line = String::new();
        for client in clients {
            for path in paths {
                for nanos in durations {
                    let elapsed = Duration::from_nanos(nanos);
                    AccessLine {
                        client,
                        method: &Method::GET,
                        path,
                        status: StatusCode::NOT_FOUND,
                        elapsed,
                        request_id: &id,
                    }
                    .compose(&mut line);
                    let formatted = format!(
                        "{} \"{} {}\" {} {}ms id={}",
                        Client(client),
                        "GET",
                        Shortened(path),
                        404,
                        Millis(elapsed),
                        id.as_str()
                    );
                    assert_eq!(line, formatted);
                }
            }
        }
        AccessLine {
            client: None,
            method: &Method::GET,
            path: &long,
            status: StatusCode::OK,
            elapsed: Duration::ZERO,
            request_id: &id,
        }
        .compose(&mut line);
        assert!(line.contains(&format!("{}…\"", "é".repeat(193))), "{line}");
    }

    #[test]
    fn durations_are_milliseconds_with_three_decimals() {
        let shown = |nanos| Millis(Duration::from_nanos(nanos)).to_string();
        assert_eq!(shown(0), "0.000");
        assert_eq!(shown(12_345), "0.012");
        assert_eq!(shown(12_500), "0.013");
        assert_eq!(shown(1_234_567), "1.235");
        assert_eq!(shown(61_000_000_000), "61000.000");
    }

    #[test]
    fn forwarded_for_is_ignored_from_untrusted_peers() {
        let headers = forwarded("1.2.3.4");
        assert_eq!(
            client_address(Some(ip("10.0.0.9")), &headers, &[]),
            Some(ip("10.0.0.9"))
        );
        assert_eq!(
            client_address(Some(ip("10.0.0.9")), &headers, &[ip("127.0.0.1")]),
            Some(ip("10.0.0.9"))
        );
    }

    #[test]
    fn forwarded_for_names_the_client_behind_trusted_proxies() {
        let proxy = ip("127.0.0.1");
        let headers = forwarded("6.6.6.6, 1.2.3.4, 127.0.0.1");
        assert_eq!(
            client_address(Some(proxy), &headers, &[proxy]),
            Some(ip("1.2.3.4")),
            "the right-most untrusted hop, not the spoofable left-most"
        );
        assert_eq!(
            client_address(Some(proxy), &HeaderMap::new(), &[proxy]),
            Some(proxy)
        );
        assert_eq!(
            client_address(Some(proxy), &forwarded("not an address"), &[proxy]),
            Some(proxy)
        );
    }
}
