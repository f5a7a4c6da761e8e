//! Rate limits (`server.rate_limit`): a token bucket per API key, or per client address when
//! keys are not required.
//!
//! Each client has a bucket of `burst` tokens refilled at `per_second`; a request takes one, and
//! a request finding the bucket empty is answered 429 `rate_limited` with `Retry-After` (seconds
//! until a token is back). Every answer carries `RateLimit-Limit` (the burst), `RateLimit-Remaining`
//! (whole tokens left) and `RateLimit-Reset` (seconds until the bucket is full again), as in the
//! IETF `RateLimit` header fields draft.
//!
//! A failed key check (missing, unknown or revoked key) takes a token from the client address's
//! bucket, so guessing keys is throttled like any other traffic. The buckets live in this process:
//! several servers behind a balancer each apply the limit (docs/operations.md shows nginx's
//! `limit_req` for a shared one).
//!
//! Memory is bounded: a bucket that has refilled completely is the same as no bucket, so when
//! the table reaches [`MAX_TRACKED_CLIENTS`] full buckets are dropped; if every bucket is still in
//! use, the oldest half are dropped (their clients get a fresh burst, which errs on the side of
//! serving them).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER};

/// Most clients whose buckets are tracked at once.
pub const MAX_TRACKED_CLIENTS: usize = 100_000;

/// `server.rate_limit`: how fast each client may send requests.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimitConfig {
    /// Tokens added per second (the sustained request rate), > 0.
    pub per_second: f64,
    /// Bucket size (the most requests sent at once after a quiet spell), >= 1.
    pub burst: u32,
}

/// Whether `path` is outside the limit: the probes of load balancers and Prometheus.
pub(crate) fn is_unlimited(path: &str) -> bool {
    matches!(path, "/health" | "/health/" | "/metrics")
}

/// Who a bucket belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Client {
    /// A valid API key, by its id.
    Key(i64),
    /// A client address (auth off, or a failed key check).
    Address(IpAddr),
    /// A request whose address is unknown (no peer address): one shared bucket.
    Unknown,
}

impl Client {
    pub(crate) fn address(address: Option<IpAddr>) -> Client {
        address.map_or(Client::Unknown, Client::Address)
    }
}

/// The result of taking a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Decision {
    /// Whether the request may go on.
    pub allowed: bool,
    /// `RateLimit-Limit`.
    pub limit: u32,
    /// `RateLimit-Remaining`: whole tokens left after this request.
    pub remaining: u32,
    /// `RateLimit-Reset`: seconds until the bucket is full again.
    pub reset_secs: u64,
    /// `Retry-After` for a refused request: seconds until one token is back (at least 1).
    pub retry_after_secs: u64,
}

impl Decision {
    /// Adds the `RateLimit-*` headers (and `Retry-After` when refused) to `headers`.
    pub(crate) fn write_headers(&self, headers: &mut HeaderMap) {
        headers.insert(
            HeaderName::from_static("ratelimit-limit"),
            HeaderValue::from(self.limit),
        );
        headers.insert(
            HeaderName::from_static("ratelimit-remaining"),
            HeaderValue::from(self.remaining),
        );
        headers.insert(
            HeaderName::from_static("ratelimit-reset"),
            HeaderValue::from(self.reset_secs),
        );
        if !self.allowed {
            headers.insert(RETRY_AFTER, HeaderValue::from(self.retry_after_secs));
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// The buckets of every client, shared by all workers.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    config: RateLimitConfig,
    buckets: Mutex<HashMap<Client, Bucket>>,
}

impl RateLimiter {
    pub(crate) fn new(config: RateLimitConfig) -> RateLimiter {
        RateLimiter {
            config,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token from `client`'s bucket (now).
    pub(crate) fn take(&self, client: Client) -> Decision {
        self.take_at(client, Instant::now())
    }

    fn take_at(&self, client: Client, now: Instant) -> Decision {
        let burst = f64::from(self.config.burst.max(1));
        let rate = self.config.per_second;
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if buckets.len() >= MAX_TRACKED_CLIENTS && !buckets.contains_key(&client) {
            Self::make_room(&mut buckets, now, rate, burst);
        }
        let bucket = buckets.entry(client).or_insert(Bucket {
            tokens: burst,
            updated: now,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate).min(burst);
        bucket.updated = now;
        let allowed = bucket.tokens >= 1.0;
        if allowed {
            bucket.tokens -= 1.0;
        }
        let tokens = bucket.tokens;
        drop(buckets);
        Decision {
            allowed,
            limit: self.config.burst.max(1),
            remaining: whole_tokens(tokens),
            reset_secs: seconds_until(burst - tokens, rate),
            retry_after_secs: seconds_until(1.0 - tokens, rate).max(1),
        }
    }

    fn make_room(buckets: &mut HashMap<Client, Bucket>, now: Instant, rate: f64, burst: f64) {
        buckets.retain(|_, bucket| {
            let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
            bucket.tokens + elapsed * rate < burst
        });
        if buckets.len() >= MAX_TRACKED_CLIENTS / 2 {
            let mut ages: Vec<Instant> = buckets.values().map(|bucket| bucket.updated).collect();
            ages.sort_unstable();
            if let Some(&cut) = ages.get(ages.len() / 2) {
                buckets.retain(|_, bucket| bucket.updated > cut);
            }
        }
    }

    /// Clients tracked now (for tests).
    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.buckets
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }
}

fn whole_tokens(tokens: f64) -> u32 {
    // Tokens never exceed the burst (a u32), so the cast cannot overflow.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let whole = tokens.max(0.0).floor() as u32;
    whole
}

/// Whole seconds (rounded up) until `missing` tokens have been added at `rate` per second.
fn seconds_until(missing: f64, rate: f64) -> u64 {
    if missing <= 0.0 {
        return 0;
    }
    let seconds = (missing / rate).ceil();
    Duration::try_from_secs_f64(seconds).map_or(u64::MAX, |duration| duration.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn limiter(per_second: f64, burst: u32) -> RateLimiter {
        RateLimiter::new(RateLimitConfig { per_second, burst })
    }

    fn address(last: u8) -> Client {
        Client::Address(IpAddr::V4(Ipv4Addr::new(10, 0, 0, last)))
    }

    #[test]
    fn a_burst_is_allowed_then_refused_until_a_token_is_back() {
        let limiter = limiter(2.0, 3);
        let start = Instant::now();
        for remaining in [2, 1, 0] {
            let decision = limiter.take_at(address(1), start);
            assert!(decision.allowed);
            assert_eq!(decision.remaining, remaining);
            assert_eq!(decision.limit, 3);
        }
        let refused = limiter.take_at(address(1), start);
        assert!(!refused.allowed);
        assert_eq!(refused.remaining, 0);
        // 1 token at 2/s: 0.5 s, rounded up to 1 s; full again after 1.5 s -> 2 s.
        assert_eq!(refused.retry_after_secs, 1);
        assert_eq!(refused.reset_secs, 2);
        // Half a second later one token is back.
        let later = limiter.take_at(address(1), start + Duration::from_millis(500));
        assert!(later.allowed, "{later:?}");
        assert_eq!(later.remaining, 0);
    }

    #[test]
    fn clients_have_their_own_buckets() {
        let limiter = limiter(1.0, 1);
        let now = Instant::now();
        assert!(limiter.take_at(address(1), now).allowed);
        assert!(!limiter.take_at(address(1), now).allowed);
        assert!(limiter.take_at(address(2), now).allowed);
        assert!(limiter.take_at(Client::Key(7), now).allowed);
    }

    #[test]
    fn a_full_bucket_reports_reset_zero_and_refills_to_the_burst_only() {
        let limiter = limiter(10.0, 5);
        let now = Instant::now();
        let first = limiter.take_at(address(1), now);
        assert_eq!((first.remaining, first.reset_secs), (4, 1));
        let much_later = limiter.take_at(address(1), now + Duration::from_secs(3600));
        assert_eq!(much_later.remaining, 4, "refill is capped at the burst");
    }

    #[test]
    fn headers_carry_the_decision() {
        let limiter = limiter(1.0, 1);
        let now = Instant::now();
        limiter.take_at(address(1), now);
        let refused = limiter.take_at(address(1), now);
        let mut headers = HeaderMap::new();
        refused.write_headers(&mut headers);
        assert_eq!(
            headers.get("ratelimit-limit").map(|v| v.as_bytes()),
            Some(&b"1"[..])
        );
        assert_eq!(
            headers.get("ratelimit-remaining").map(|v| v.as_bytes()),
            Some(&b"0"[..])
        );
        assert_eq!(
            headers.get("ratelimit-reset").map(|v| v.as_bytes()),
            Some(&b"1"[..])
        );
        assert_eq!(
            headers.get(RETRY_AFTER).map(|v| v.as_bytes()),
            Some(&b"1"[..])
        );
    }

    #[test]
    fn the_table_stays_bounded() {
        let limiter = limiter(0.001, 2);
        let now = Instant::now();
        for n in 0..(MAX_TRACKED_CLIENTS as u32 + 10) {
            let client = Client::Address(IpAddr::V4(Ipv4Addr::from(n)));
            limiter.take_at(client, now + Duration::from_nanos(u64::from(n)));
        }
        assert!(
            limiter.tracked() <= MAX_TRACKED_CLIENTS,
            "{}",
            limiter.tracked()
        );
    }
}
