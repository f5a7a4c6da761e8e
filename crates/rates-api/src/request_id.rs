//! `X-Request-Id`: taken from the request when it is a sane token, generated otherwise, echoed
//! on the response and written in the request log, so one request can be followed from a
//! client or proxy (nginx's `$request_id`) through our log.
//!
//! Sane means 1 to [`MAX_REQUEST_ID_LEN`] characters of `A-Z a-z 0-9 - _ . : @ + =`: enough
//! for UUIDs, nginx's hex ids and most tracing formats, and nothing that could forge a log line
//! or a header. Anything else is replaced, never quoted back.

use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};

/// The header carrying the id, both ways.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Longest id accepted from a client.
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// A request's id: the client's when sane, else generated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(HeaderValue);

impl RequestId {
    /// The id in `headers` when it is sane, or a new one.
    pub(crate) fn from_headers(headers: &HeaderMap, generator: &IdGenerator) -> RequestId {
        headers
            .get(REQUEST_ID_HEADER)
            .filter(|value| is_sane(value.as_bytes()))
            .map_or_else(|| generator.next(), |value| RequestId(value.clone()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        // Sane ids and generated ones are ASCII.
        self.0.to_str().unwrap_or("-")
    }

    /// Sets the id on a response's headers.
    pub(crate) fn echo(&self, headers: &mut HeaderMap) {
        headers.insert(HeaderName::from_static(REQUEST_ID_HEADER), self.0.clone());
    }
}

fn is_sane(id: &[u8]) -> bool {
    !id.is_empty()
        && id.len() <= MAX_REQUEST_ID_LEN
        && id
            .iter()
            .all(|&byte| byte.is_ascii_alphanumeric() || b"-_.:@+=".contains(&byte))
}

/// Makes ids unique within the process and, with a random prefix per process, across servers:
/// `{prefix}-{counter}` in hex, cheaper than a random UUID per request.
#[derive(Debug)]
pub(crate) struct IdGenerator {
    prefix: u64,
    counter: AtomicU64,
}

impl IdGenerator {
    pub(crate) fn new() -> IdGenerator {
        IdGenerator {
            prefix: rand::random(),
            counter: AtomicU64::new(0),
        }
    }

    fn next(&self) -> RequestId {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        let text = format!("{:016x}-{n:x}", self.prefix);
        // Hex digits and '-' are always a valid header value.
        RequestId(HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static("-")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_id(value: &[u8]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            HeaderName::from_static(REQUEST_ID_HEADER),
            HeaderValue::from_bytes(value).unwrap(),
        );
        headers
    }

    #[test]
    fn a_sane_client_id_is_kept() {
        let generator = IdGenerator::new();
        for id in [
            "abc",
            "3f2c9a1e-0b7d-4c1e-9f00-1234567890ab",
            "req:42@edge+1=x",
        ] {
            let kept = RequestId::from_headers(&with_id(id.as_bytes()), &generator);
            assert_eq!(kept.as_str(), id);
        }
    }

    #[test]
    fn anything_else_is_replaced_by_a_generated_id() {
        let generator = IdGenerator::new();
        let long = "a".repeat(MAX_REQUEST_ID_LEN + 1);
        for id in [
            &b"two words"[..],
            b"x\"y",
            b"a/b",
            long.as_bytes(),
            b"caf\xc3\xa9",
        ] {
            let replaced = RequestId::from_headers(&with_id(id), &generator);
            assert_ne!(replaced.as_str().as_bytes(), id);
            assert!(
                is_sane(replaced.as_str().as_bytes()),
                "{}",
                replaced.as_str()
            );
        }
        let none = RequestId::from_headers(&HeaderMap::new(), &generator);
        assert!(is_sane(none.as_str().as_bytes()));
    }

    #[test]
    fn generated_ids_are_unique() {
        let generator = IdGenerator::new();
        let first = RequestId::from_headers(&HeaderMap::new(), &generator);
        let second = RequestId::from_headers(&HeaderMap::new(), &generator);
        assert_ne!(first, second);
    }
}
