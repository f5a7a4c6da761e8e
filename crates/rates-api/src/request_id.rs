//! `X-Request-Id`: taken from the request when it is a sane token, generated otherwise, echoed
//! on the response and written in the request log, so one request can be followed from a
//! client or proxy (nginx's `$request_id`) through our log.
//!
//! Sane means 1 to [`MAX_REQUEST_ID_LEN`] characters of `A-Z a-z 0-9 - _ . : @ + =`: enough
//! for UUIDs, nginx's hex ids and most tracing formats, and nothing that could forge a log line
//! or a header. Anything else is replaced, never quoted back.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::web::Bytes;

/// The header carrying the id, both ways.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// Longest id accepted from a client.
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// A request's id: the client's when sane, else generated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(HeaderValue);

impl RequestId {
    /// The id in `headers` when it is sane, or a new one.
    pub(crate) fn from_headers(headers: &HeaderMap, ids: &WorkerIds) -> RequestId {
        headers
            .get(REQUEST_ID_HEADER)
            .filter(|value| is_sane(value.as_bytes()))
            .map_or_else(|| ids.next(), |value| RequestId(value.clone()))
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
/// `{prefix}-{counter}` in hex, cheaper than a random UUID per request. Workers take numbers
/// from it a block at a time ([`WorkerIds`]), so ids are unique but not in the order requests
/// arrived.
#[derive(Debug)]
pub(crate) struct IdGenerator {
    /// The prefix in hex and the `-`.
    prefix: [u8; PREFIX_LEN],
    counter: AtomicU64,
}

/// 16 hex digits and `-`.
const PREFIX_LEN: usize = 17;

impl IdGenerator {
    pub(crate) fn new() -> IdGenerator {
        let mut text = Vec::with_capacity(PREFIX_LEN);
        push_hex(&mut text, rand::random(), 16);
        text.push(b'-');
        let mut prefix = [b'-'; PREFIX_LEN];
        for (byte, digit) in prefix.iter_mut().zip(text) {
            *byte = digit;
        }
        IdGenerator {
            prefix,
            counter: AtomicU64::new(0),
        }
    }

    /// Reserves `count` numbers: the first of them.
    fn reserve(&self, count: u64) -> u64 {
        self.counter.fetch_add(count, Ordering::Relaxed)
    }

    /// The id numbered `n`.
    fn id(&self, n: u64) -> RequestId {
        // Written by hand: `format!` was a tenth of the request path's own time.
        let mut id = Vec::with_capacity(PREFIX_LEN + 16);
        id.extend_from_slice(&self.prefix);
        let digits = (16 - n.leading_zeros() / 4).max(1);
        push_hex(&mut id, n, digits);
        // Hex digits and '-' are always a valid header value.
        RequestId(
            HeaderValue::from_maybe_shared(Bytes::from(id))
                .unwrap_or(HeaderValue::from_static("-")),
        )
    }
}

/// Numbers reserved from the process's [`IdGenerator`] at a time by each worker: one worker's
/// counter is its own, where a counter shared by all would move between the cores on every
/// request.
const ID_BLOCK: u64 = 1024;

/// One worker thread's supply of generated ids.
#[derive(Debug)]
pub(crate) struct WorkerIds {
    generator: Arc<IdGenerator>,
    next: Cell<u64>,
    end: Cell<u64>,
}

impl WorkerIds {
    /// Ids drawn from `generator`.
    pub(crate) fn new(generator: Arc<IdGenerator>) -> WorkerIds {
        WorkerIds {
            generator,
            next: Cell::new(0),
            end: Cell::new(0),
        }
    }

    fn next(&self) -> RequestId {
        if self.next.get() >= self.end.get() {
            let start = self.generator.reserve(ID_BLOCK);
            self.next.set(start);
            self.end.set(start.saturating_add(ID_BLOCK));
        }
        let n = self.next.get();
        self.next.set(n.saturating_add(1));
        self.generator.id(n)
    }
}

/// Appends the last `digits` hex digits of `value`.
fn push_hex(out: &mut Vec<u8>, value: u64, digits: u32) {
    out.extend((0..digits).rev().map(|place| {
        let nibble = (value >> (4 * place)) & 0xf;
        let nibble = u8::try_from(nibble).unwrap_or(0);
        if nibble < 10 {
            b'0' + nibble
        } else {
            b'a' + nibble - 10
        }
    }));
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
        let generator = WorkerIds::new(Arc::new(IdGenerator::new()));
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
        let generator = WorkerIds::new(Arc::new(IdGenerator::new()));
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
    fn generated_ids_are_the_prefix_and_the_counter_in_hex() {
        let generator = IdGenerator::new();
        let prefix = std::str::from_utf8(&generator.prefix).unwrap().to_owned();
        assert!(prefix.ends_with('-') && prefix.len() == 17);
        let ids: Vec<String> = (0..17)
            .map(|n| generator.id(n).as_str().to_owned())
            .collect();
        assert_eq!(ids[0], format!("{prefix}0"));
        assert_eq!(ids[10], format!("{prefix}a"));
        assert_eq!(ids[16], format!("{prefix}10"));
        assert_eq!(
            generator.id(u64::MAX).as_str(),
            format!("{prefix}ffffffffffffffff")
        );
    }

    #[test]
    fn generated_ids_are_unique_across_workers() {
        let generator = Arc::new(IdGenerator::new());
        let workers = [
            WorkerIds::new(Arc::clone(&generator)),
            WorkerIds::new(Arc::clone(&generator)),
        ];
        let mut seen = std::collections::HashSet::new();
        // Interleaved, past the end of the first blocks.
        for _ in 0..(2 * ID_BLOCK + 3) {
            for worker in &workers {
                let id = RequestId::from_headers(&HeaderMap::new(), worker);
                assert!(seen.insert(id.as_str().to_owned()), "{} twice", id.as_str());
            }
        }
    }
}
