//! An in-memory cache of rendered answers, keyed by the normalised request.
//!
//! Why: a rate table for a past date is read far more often than it changes, and rendering it
//! costs a database round trip on a blocking thread plus JSON encoding; a cached answer is a
//! hash-map lookup. Correctness: the whole cache is dropped whenever the store's data version
//! changes (any insert or corrected value, by this process or another one sharing the
//! database). The version is checked at most once per `check_interval`, so an answer is never
//! more than that interval (plus one query) staler than the database; and every entry also
//! expires after `max_age` regardless. Memory is bounded by `max_bytes` (oldest entries go
//! first), so clients asking for many distinct URLs cannot grow it.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use crate::conditional::RenderedAnswer;

/// Limits and timings of the [`ResponseCache`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheConfig {
    /// Total body bytes held at most; 0 turns the cache off.
    pub max_bytes: usize,
    /// How often the store's data version is compared (the staleness bound).
    pub check_interval: Duration,
    /// Longest time any entry is served, whatever the data version says.
    pub max_age: Duration,
}

impl Default for CacheConfig {
    fn default() -> CacheConfig {
        CacheConfig {
            max_bytes: 16 * 1024 * 1024,
            check_interval: Duration::from_secs(1),
            max_age: Duration::from_secs(300),
        }
    }
}

#[derive(Debug)]
struct Entry {
    answer: Arc<RenderedAnswer>,
    stored_at: Instant,
}

#[derive(Debug, Default)]
struct Entries {
    map: HashMap<String, Entry>,
    /// Keys in insertion order, for eviction.
    order: VecDeque<String>,
    bytes: usize,
}

impl Entries {
    fn clear(&mut self) {
        self.map.clear();
        self.order.clear();
        self.bytes = 0;
    }
}

#[derive(Debug)]
struct VersionState {
    /// The data version the entries were rendered from; `None` before the first check.
    version: Option<i64>,
    checked_at: Option<Instant>,
}

/// Rendered answers keyed by normalised request; see the module docs for the invalidation rules.
#[derive(Debug)]
pub struct ResponseCache {
    config: CacheConfig,
    entries: RwLock<Entries>,
    version: Mutex<VersionState>,
    checking: AtomicBool,
}

impl ResponseCache {
    /// An empty cache.
    pub fn new(config: CacheConfig) -> ResponseCache {
        ResponseCache {
            config,
            entries: RwLock::new(Entries::default()),
            version: Mutex::new(VersionState {
                version: None,
                checked_at: None,
            }),
            checking: AtomicBool::new(false),
        }
    }

    /// The cached answer for `key`, if any and not expired.
    pub fn get(&self, key: &str) -> Option<Arc<RenderedAnswer>> {
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        let entry = entries.map.get(key)?;
        (entry.stored_at.elapsed() < self.config.max_age).then(|| Arc::clone(&entry.answer))
    }

    /// Keeps `answer` under `key`, evicting the oldest entries to stay within budget.
    /// `rendered_at_version` is the data version observed before the answer was read from the
    /// store: if the data changed since, the answer is not kept.
    pub fn insert(
        &self,
        key: String,
        answer: Arc<RenderedAnswer>,
        rendered_at_version: Option<i64>,
    ) {
        let weight = answer.weight();
        if weight > self.config.max_bytes {
            return;
        }
        if rendered_at_version != self.current_version() {
            return;
        }
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(old) = entries.map.remove(&key) {
            entries.bytes = entries.bytes.saturating_sub(old.answer.weight());
            entries.order.retain(|existing| *existing != key);
        }
        while entries.bytes + weight > self.config.max_bytes {
            let Some(oldest) = entries.order.pop_front() else {
                break;
            };
            if let Some(evicted) = entries.map.remove(&oldest) {
                entries.bytes = entries.bytes.saturating_sub(evicted.answer.weight());
            }
        }
        entries.bytes += weight;
        entries.order.push_back(key.clone());
        entries.map.insert(
            key,
            Entry {
                answer,
                stored_at: Instant::now(),
            },
        );
    }

    /// The data version the current entries belong to.
    pub fn current_version(&self) -> Option<i64> {
        self.version
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .version
    }

    /// Whether the data version is due for a check; at most one caller at a time gets `true`
    /// and must then call [`ResponseCache::record_version`] (or [`ResponseCache::check_failed`]).
    pub fn begin_version_check(&self) -> bool {
        let due = {
            let state = self.version.lock().unwrap_or_else(PoisonError::into_inner);
            state
                .checked_at
                .is_none_or(|checked| checked.elapsed() >= self.config.check_interval)
        };
        due && self
            .checking
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// Records the store's data version; a change drops every entry.
    pub fn record_version(&self, version: i64) {
        {
            let mut state = self.version.lock().unwrap_or_else(PoisonError::into_inner);
            if state.version != Some(version) {
                if state.version.is_some() {
                    log::debug!("data version changed to {version}; response cache cleared");
                }
                self.entries
                    .write()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clear();
                state.version = Some(version);
            }
            state.checked_at = Some(Instant::now());
        }
        self.checking.store(false, Ordering::Release);
    }

    /// The version could not be read: drop everything (nothing is known to be current) and let
    /// the next request try again.
    pub fn check_failed(&self) {
        {
            let mut state = self.version.lock().unwrap_or_else(PoisonError::into_inner);
            state.version = None;
            state.checked_at = None;
            self.entries
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .clear();
        }
        self.checking.store(false, Ordering::Release);
    }

    /// Whether the cache was configured off (`max_bytes` 0).
    pub fn is_disabled(&self) -> bool {
        self.config.max_bytes == 0
    }

    /// Whether entries are served at all (a version has been read successfully).
    pub fn is_usable(&self) -> bool {
        self.config.max_bytes > 0 && self.current_version().is_some()
    }

    /// Number of entries held.
    pub fn len(&self) -> usize {
        self.entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .map
            .len()
    }

    /// Whether no entry is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conditional::Freshness;

    fn answer(size: usize) -> Arc<RenderedAnswer> {
        Arc::new(RenderedAnswer::new(vec![b'x'; size], None, Freshness::Long))
    }

    fn config(max_bytes: usize) -> CacheConfig {
        CacheConfig {
            max_bytes,
            ..CacheConfig::default()
        }
    }

    #[test]
    fn entries_are_kept_only_for_the_version_they_were_read_at() {
        let cache = ResponseCache::new(config(10_000));
        assert!(cache.begin_version_check());
        cache.record_version(1);
        cache.insert("a".into(), answer(10), Some(1));
        assert!(cache.get("a").is_some());
        cache.insert("stale".into(), answer(10), Some(0));
        assert!(cache.get("stale").is_none());
        cache.record_version(2);
        assert!(
            cache.get("a").is_none(),
            "a version change clears the cache"
        );
    }

    #[test]
    fn only_one_caller_checks_at_a_time_and_not_before_the_interval() {
        let cache = ResponseCache::new(config(10_000));
        assert!(cache.begin_version_check());
        assert!(!cache.begin_version_check(), "a check is already running");
        cache.record_version(1);
        assert!(
            !cache.begin_version_check(),
            "checked less than a second ago"
        );
    }

    #[test]
    fn a_failed_check_clears_and_disables_until_the_next_success() {
        let cache = ResponseCache::new(config(10_000));
        assert!(cache.begin_version_check());
        cache.record_version(1);
        cache.insert("a".into(), answer(10), Some(1));
        cache.check_failed();
        assert!(!cache.is_usable());
        assert!(cache.get("a").is_none());
        assert!(cache.begin_version_check());
    }

    #[test]
    fn memory_stays_within_budget_oldest_out_first() {
        let cache = ResponseCache::new(config(3 * answer(100).weight()));
        cache.record_version(1);
        for key in ["a", "b", "c", "d"] {
            cache.insert(key.into(), answer(100), Some(1));
        }
        assert_eq!(cache.len(), 3);
        assert!(cache.get("a").is_none());
        assert!(cache.get("d").is_some());
        cache.insert("huge".into(), answer(10_000), Some(1));
        assert!(cache.get("huge").is_none());
    }

    #[test]
    fn entries_expire_after_max_age() {
        let cache = ResponseCache::new(CacheConfig {
            max_bytes: 10_000,
            check_interval: Duration::from_secs(1),
            max_age: Duration::ZERO,
        });
        cache.record_version(1);
        cache.insert("a".into(), answer(10), Some(1));
        assert!(cache.get("a").is_none());
    }
}
