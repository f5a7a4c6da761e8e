//! When and how long to wait before sending a failed request again.

use std::time::Duration;

use rand::Rng;

/// How transient failures are retried: exponential back-off with jitter, bounded both in
/// attempts and in total time.
///
/// Only failures for which [`crate::Error::is_retryable`] is true are retried. The delay before
/// retry *n* (1-based) is drawn uniformly from `[d/2, d]` where
/// `d = min(initial_backoff × 2^(n−1), max_backoff)`. A `Retry-After` from the server replaces
/// that delay (it is not capped by `max_backoff`); if waiting would pass `max_elapsed`, the
/// client gives up at once instead of sleeping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Requests sent at most, the first included (1 = never retry).
    pub max_attempts: u32,
    /// The back-off before the first retry (before jitter).
    pub initial_backoff: Duration,
    /// The largest back-off between two attempts (before jitter).
    pub max_backoff: Duration,
    /// The most time spent on one call, waits included; no retry starts after this.
    pub max_elapsed: Duration,
}

impl Default for RetryPolicy {
    /// Five attempts (four retries), 250 ms doubling up to 8 s, at most 60 s in all.
    fn default() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(8),
            max_elapsed: Duration::from_secs(60),
        }
    }
}

impl RetryPolicy {
    /// Never retry.
    pub fn none() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// The default policy with `retries` retries after the first attempt.
    pub fn with_max_retries(retries: u32) -> RetryPolicy {
        RetryPolicy {
            max_attempts: retries.saturating_add(1),
            ..RetryPolicy::default()
        }
    }

    /// The back-off before retry `retry` (1-based), before jitter.
    pub fn backoff_ceiling(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.saturating_sub(1));
        self.initial_backoff
            .checked_mul(factor)
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff)
    }

    /// The back-off before retry `retry` (1-based), with jitter: uniform in `[ceiling/2, ceiling]`.
    pub fn backoff(&self, retry: u32) -> Duration {
        let ceiling = self.backoff_ceiling(retry);
        let half = ceiling / 2;
        let spread = u64::try_from((ceiling - half).as_micros()).unwrap_or(u64::MAX);
        let jitter = if spread == 0 {
            0
        } else {
            rand::rng().random_range(0..=spread)
        };
        half + Duration::from_micros(jitter)
    }
}

/// Reads a `Retry-After` header: delta-seconds, or an HTTP date (RFC 7231 IMF-fixdate).
pub(crate) fn parse_retry_after(value: &str, now: time::OffsetDateTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    let when = time::PrimitiveDateTime::parse(value, format)
        .ok()?
        .assume_utc();
    let wait = when - now;
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_and_jitters_within_half() {
        let policy = RetryPolicy {
            max_attempts: 10,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(700),
            max_elapsed: Duration::from_secs(10),
        };
        let ceilings: Vec<u128> = (1..=5)
            .map(|n| policy.backoff_ceiling(n).as_millis())
            .collect();
        assert_eq!(ceilings, [100, 200, 400, 700, 700]);
        for retry in 1..=5 {
            let ceiling = policy.backoff_ceiling(retry);
            for _ in 0..200 {
                let delay = policy.backoff(retry);
                assert!(
                    delay >= ceiling / 2 && delay <= ceiling,
                    "{delay:?} vs {ceiling:?}"
                );
            }
        }
        assert_eq!(policy.backoff_ceiling(u32::MAX), Duration::from_millis(700));
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let now = time::macros::datetime!(2024-03-01 12:00:00 UTC);
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Fri, 01 Mar 2024 12:00:05 GMT", now),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            parse_retry_after("Fri, 01 Mar 2024 11:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
