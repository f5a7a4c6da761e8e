//! One log line per request: client address, method, path (never the query string, which may
//! hold keys), status, time taken and the request id; a `tracing` event whose message is the
//! line and whose fields are its parts, for JSON logs.
//!
//! The client address is the TCP peer, unless the peer is a configured trusted proxy: then it is
//! the right-most `X-Forwarded-For` entry that is not itself a trusted proxy. Anyone else's
//! `X-Forwarded-For` is ignored, so a client cannot put a made-up address in the log.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use actix_web::http::header::HeaderMap;
use actix_web::http::{Method, StatusCode};

use crate::request_id::RequestId;

/// The `log` target of request lines, for filtering (`RUST_LOG=rates_api::access=off`).
pub const ACCESS_LOG_TARGET: &str = "rates_api::access";

/// Longest path written to the log.
const MAX_LOGGED_PATH: usize = 200;

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

/// Writes the request line (the caller checked the target is enabled).
pub(crate) fn write_line(
    client: Option<IpAddr>,
    method: &Method,
    path: &str,
    status: StatusCode,
    elapsed: Duration,
    request_id: &RequestId,
) {
    struct Client(Option<IpAddr>);
    impl fmt::Display for Client {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            match self.0 {
                Some(address) => write!(f, "{address}"),
                None => f.write_str("-"),
            }
        }
    }
    // The line as text, and its parts as fields for structured (JSON) logs.
    tracing::info!(
        target: ACCESS_LOG_TARGET,
        client = %Client(client),
        method = method.as_str(),
        path = %Shortened(path),
        status = status.as_u16(),
        duration_ms = %Millis(elapsed),
        request_id = request_id.as_str(),
        "{} \"{} {}\" {} {}ms id={}",
        Client(client),
        method.as_str(),
        Shortened(path),
        status.as_u16(),
        Millis(elapsed),
        request_id.as_str()
    );
}

/// A duration in milliseconds with three decimals (`0.012`), rounded to the microsecond;
/// integer arithmetic, as floating-point formatting showed in profiles.
struct Millis(Duration);

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let micros = self
            .0
            .as_secs()
            .saturating_mul(1_000_000)
            .saturating_add(u64::from((self.0.subsec_nanos() + 500) / 1000));
        write!(f, "{}.{:03}", micros / 1000, micros % 1000)
    }
}

/// The path, cut after [`MAX_LOGGED_PATH`] characters.
struct Shortened<'a>(&'a str);

impl fmt::Display for Shortened<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.char_indices().nth(MAX_LOGGED_PATH) {
            Some((cut, _)) => write!(f, "{}…", self.0.get(..cut).unwrap_or_default()),
            None => f.write_str(self.0),
        }
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
