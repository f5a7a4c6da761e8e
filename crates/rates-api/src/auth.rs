//! API keys (`server.auth = "api-key"`): every route but `/health` and the overview page (which
//! then holds no rates) needs `Authorization: Bearer KEY` or `X-API-Key: KEY`; `/api` takes
//! Fixer's `access_key` parameter instead and checks it itself ([`crate::fixer_api`]), with the
//! same keys.
//!
//! - A presented key is hashed (`rates_domain::hash_api_key`, SHA-256) and looked up by that hash
//!   in the in-memory copy of the active keys (`rates_snapshot::ApiKeys`): no stored secret is
//!   ever compared with the presented one, so nothing leaks through comparison timing, and no
//!   check waits for the database.
//! - The copy is read again every `RefreshConfig::keys_interval` (1 s by default) by the
//!   snapshot's refresher, so a revoked key stops working about that long after
//!   `rates-cli keys revoke`, without a restart. While the database is unreachable the copy stays
//!   as it was.
//! - Uses are counted in memory and written with one `record_api_key_use` call at most once per
//!   [`AuthConfig::usage_flush_interval`] (10 s), and when the server stops: never a database
//!   write per request.
//! - Keys are never logged: the access log has the path only, and no error quotes a key.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use actix_web::http::header::{HeaderMap, AUTHORIZATION};
use rates_domain::hash_api_key;
use rates_snapshot::ApiKeys;
use rates_store::Store;
use time::OffsetDateTime;

use crate::error::ApiError;

/// Timings of key use recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthConfig {
    /// How often counted uses are written to the store.
    pub usage_flush_interval: Duration,
}

impl Default for AuthConfig {
    fn default() -> AuthConfig {
        AuthConfig {
            usage_flush_interval: Duration::from_secs(10),
        }
    }
}

/// Counted uses, shared by every worker.
#[derive(Debug)]
pub(crate) struct KeyChecker {
    config: AuthConfig,
    /// Key id → (last use, uses) since the last flush.
    uses: Mutex<HashMap<i64, (OffsetDateTime, u64)>>,
    last_flush: Mutex<Instant>,
    flushing: AtomicBool,
}

const MISSING: &str =
    "an API key is required: send it as `Authorization: Bearer KEY` or `X-API-Key: KEY`";
const INVALID: &str = "the API key is not valid: it is unknown or has been revoked";

impl KeyChecker {
    pub(crate) fn new(config: AuthConfig) -> KeyChecker {
        KeyChecker {
            config,
            uses: Mutex::new(HashMap::new()),
            last_flush: Mutex::new(Instant::now()),
            flushing: AtomicBool::new(false),
        }
    }

    /// Checks the key in `headers` against the active `keys`; on success the use is counted and
    /// the key's id returned.
    pub(crate) fn check(
        self: &Arc<Self>,
        keys: &ApiKeys,
        store: &Store,
        headers: &HeaderMap,
    ) -> Result<i64, ApiError> {
        let presented = presented_key(headers).ok_or(ApiError::Unauthorized(MISSING))?;
        self.check_presented(keys, store, presented)
    }

    /// Checks a key as presented (by `check`, or by `/api` from its `access_key` parameter)
    /// against the active `keys`; on success the use is counted and the key's id returned.
    pub(crate) fn check_presented(
        self: &Arc<Self>,
        keys: &ApiKeys,
        store: &Store,
        presented: &str,
    ) -> Result<i64, ApiError> {
        let id = keys
            .id_of(&hash_api_key(presented))
            .ok_or(ApiError::Unauthorized(INVALID))?;
        self.count_use(id);
        self.flush_if_due(store);
        Ok(id)
    }

    fn count_use(&self, id: i64) {
        let mut uses = self.uses.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = uses.entry(id).or_insert((OffsetDateTime::now_utc(), 0));
        entry.0 = OffsetDateTime::now_utc();
        entry.1 += 1;
    }

    /// Starts a background write of the counted uses when one is due (never waited for).
    fn flush_if_due(self: &Arc<Self>, store: &Store) {
        if !self.is_due() || self.flushing.swap(true, Ordering::AcqRel) {
            return;
        }
        let batch = self.take_uses();
        if batch.is_empty() {
            self.flushing.store(false, Ordering::Release);
            return;
        }
        let store = store.clone();
        let checker = Arc::clone(self);
        actix_web::rt::spawn(async move {
            let mut batch = batch;
            loop {
                let writer = store.clone();
                let written = actix_web::rt::task::spawn_blocking(move || {
                    let result = writer.record_api_key_use(&batch);
                    (batch, result)
                })
                .await;
                let failed = match written {
                    Ok((_, Ok(()))) => false,
                    Ok((batch, Err(error))) => {
                        // Counted again with the next flush rather than lost (the database may
                        // be down for a while; reads go on meanwhile).
                        log::warn!("cannot record API key use: {error}");
                        checker.restore_uses(batch);
                        true
                    }
                    Err(error) => {
                        log::warn!("cannot record API key use: {error}");
                        true
                    }
                };
                checker.flushing.store(false, Ordering::Release);
                // Uses counted while this write ran found it busy and skipped theirs: write
                // them now if due, so none waits for a request that may never come.
                if failed
                    || !checker.has_uses()
                    || !checker.is_due()
                    || checker.flushing.swap(true, Ordering::AcqRel)
                {
                    break;
                }
                batch = checker.take_uses();
            }
        });
    }

    /// Whether a write of the counted uses is due; if so, the next one is due an interval later.
    fn is_due(&self) -> bool {
        let mut last = self
            .last_flush
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if last.elapsed() < self.config.usage_flush_interval {
            return false;
        }
        *last = Instant::now();
        true
    }

    fn has_uses(&self) -> bool {
        !self
            .uses
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty()
    }

    fn take_uses(&self) -> Vec<(i64, OffsetDateTime, u64)> {
        let mut uses = self.uses.lock().unwrap_or_else(PoisonError::into_inner);
        uses.drain()
            .map(|(id, (last_used, count))| (id, last_used, count))
            .collect()
    }

    fn restore_uses(&self, batch: Vec<(i64, OffsetDateTime, u64)>) {
        let mut uses = self.uses.lock().unwrap_or_else(PoisonError::into_inner);
        for (id, last_used, count) in batch {
            let entry = uses.entry(id).or_insert((last_used, 0));
            entry.0 = entry.0.max(last_used);
            entry.1 += count;
        }
    }

    /// Writes every counted use now (blocking): for shutdown and tests.
    pub(crate) fn flush_now(&self, store: &Store) -> Result<(), ApiError> {
        let batch = self.take_uses();
        store.record_api_key_use(&batch).map_err(ApiError::database)
    }
}

/// The key in `Authorization: Bearer KEY` (scheme case-insensitive) or `X-API-Key: KEY`.
pub(crate) fn presented_key(headers: &HeaderMap) -> Option<&str> {
    if let Some(value) = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
    {
        let (scheme, key) = value.trim().split_once(' ')?;
        return (scheme.eq_ignore_ascii_case("bearer") && !key.trim().is_empty())
            .then(|| key.trim());
    }
    headers
        .get("x-api-key")
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|key| !key.is_empty())
}

/// Whether `path` is let through without a key by the front middleware: `/health`, `/metrics`,
/// the overview page, and `/api`, which checks Fixer's `access_key` itself and answers Fixer's
/// 101.
pub(crate) fn is_open(path: &str) -> bool {
    matches!(path, "/health" | "/health/" | "/metrics" | "/api")
        || path.starts_with("/api/")
        || crate::page::is_open(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    #[test]
    fn keys_are_read_from_bearer_or_x_api_key() {
        assert_eq!(
            presented_key(&headers(&[("authorization", "Bearer rk_abc")])),
            Some("rk_abc")
        );
        assert_eq!(
            presented_key(&headers(&[("authorization", "bearer  rk_abc ")])),
            Some("rk_abc")
        );
        assert_eq!(
            presented_key(&headers(&[("x-api-key", "rk_abc")])),
            Some("rk_abc")
        );
        assert_eq!(
            presented_key(&headers(&[("authorization", "Basic dXNlcg==")])),
            None
        );
        assert_eq!(
            presented_key(&headers(&[("authorization", "Bearer ")])),
            None
        );
        assert_eq!(presented_key(&headers(&[])), None);
    }
}
