//! An in-memory cache of rendered answers, keyed by the normalised request, with one render per
//! key at a time.
//!
//! Why: every answer is computed from the in-memory snapshot (`rates-snapshot`), but rebasing a
//! year of rates and encoding it still costs a millisecond, and popular answers are asked for
//! far more often than the rates change; a cached answer is a hash-map lookup. Correctness: an
//! answer belongs to the snapshot generation it was computed from, and the whole cache is dropped
//! when a request sees a newer generation (any change, by this process or another one sharing
//! the database, reaches the snapshot first). Every entry also expires after `max_age`. Memory is
//! bounded by `max_bytes` (oldest entries go first), so clients asking for many distinct URLs
//! cannot grow it.
//!
//! Identical requests arriving together render once ([`ResponseCache::get_or_render`]): the
//! first renders, the others wait for its answer, so a burst on one cold URL costs one
//! computation, not one per connection.
//!
//! A big answer (over [`KEPT_FROM_SECOND_ASK_BYTES`], such as a daily range of more than a few
//! months) is kept from the second time its URL is asked for, not the first. Why: clients
//! wandering over dates and bases ask for most such URLs once, and keeping each of them for a
//! while churned the cache's whole budget through the processor's caches, evicting the days
//! those ranges are copied from (`rendered_days`); measured, one-year ranges in random bases were
//! served 27 % faster without it. A URL asked for again is kept as before, so popular ranges are
//! still answered from memory from their third ask on.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;
use xxhash_rust::xxh3::xxh3_64_with_seed;

use crate::conditional::RenderedAnswer;
use crate::error::ApiError;

/// Limits of the [`ResponseCache`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheConfig {
    /// Total body bytes held at most; 0 turns caching off (identical concurrent requests still
    /// render once).
    pub max_bytes: usize,
    /// Longest time any entry is served, whatever happens to the snapshot.
    pub max_age: Duration,
    /// Bytes of days rendered in a base kept at most for the daily ranges that contain them
    /// (the crate's `rendered_days` module), besides `max_bytes`; 0 renders every day of every
    /// range. Some 4.5 MB hold the whole ECB history in one base.
    pub rendered_days_max_bytes: usize,
}

impl Default for CacheConfig {
    fn default() -> CacheConfig {
        CacheConfig {
            max_bytes: 16 * 1024 * 1024,
            max_age: Duration::from_secs(300),
            rendered_days_max_bytes: 64 * 1024 * 1024,
        }
    }
}

/// Answers whose body is larger than this are kept from their second ask (see the module docs).
pub const KEPT_FROM_SECOND_ASK_BYTES: usize = 64 * 1024;

/// How many big answers asked for once are remembered; a URL forgotten before it is asked again
/// costs one more render, nothing else.
const ASKED_ONCE_SLOTS: usize = 4096;

/// The keys of big answers asked for once, as hashes in a table indexed by the hash itself (a
/// newer key takes over its slot): bounded memory, no lock.
#[derive(Debug)]
struct AskedOnce {
    slots: Box<[AtomicU64]>,
}

impl AskedOnce {
    fn new() -> AskedOnce {
        AskedOnce {
            slots: (0..ASKED_ONCE_SLOTS).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    /// Whether `key` was asked for before, as remembered; remembers it either way.
    fn asked_before(&self, key: &str, generation: u64) -> bool {
        // 0 marks an empty slot, so no key hashes to it.
        let hash = xxh3_64_with_seed(key.as_bytes(), generation) | 1;
        let slot = usize::try_from(hash % ASKED_ONCE_SLOTS as u64).unwrap_or_default();
        self.slots
            .get(slot)
            .is_some_and(|remembered| remembered.swap(hash, Ordering::Relaxed) == hash)
    }
}

#[derive(Debug)]
struct Entry {
    answer: Arc<RenderedAnswer>,
    stored_at: Instant,
}

#[derive(Debug, Default)]
struct Entries {
    /// The snapshot generation every entry was computed from.
    generation: u64,
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

/// One render in progress, shared by the requests waiting for it.
type InFlight = Arc<OnceCell<Arc<RenderedAnswer>>>;

/// Rendered answers keyed by normalised request; see the module docs.
#[derive(Debug)]
pub struct ResponseCache {
    config: CacheConfig,
    entries: RwLock<Entries>,
    in_flight: Mutex<HashMap<(u64, String), InFlight>>,
    asked_once: AskedOnce,
    renders: AtomicU64,
}

impl ResponseCache {
    /// An empty cache.
    pub fn new(config: CacheConfig) -> ResponseCache {
        ResponseCache {
            config,
            entries: RwLock::new(Entries::default()),
            in_flight: Mutex::new(HashMap::new()),
            asked_once: AskedOnce::new(),
            renders: AtomicU64::new(0),
        }
    }

    /// The cached answer for `key` computed from snapshot `generation`, if any and not expired.
    /// A newer generation than the entries' drops them all.
    pub fn get(&self, key: &str, generation: u64) -> Option<Arc<RenderedAnswer>> {
        {
            let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
            if entries.generation == generation {
                let entry = entries.map.get(key)?;
                return (entry.stored_at.elapsed() < self.config.max_age)
                    .then(|| Arc::clone(&entry.answer));
            }
            if entries.generation > generation {
                // This request holds an older snapshot than the cache: nothing here is for it.
                return None;
            }
        }
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if entries.generation < generation {
            if !entries.map.is_empty() {
                log::debug!("the rates changed; response cache cleared");
            }
            entries.clear();
            entries.generation = generation;
        }
        None
    }

    /// The answer for `key` from the cache, or rendered by `render` (computed from snapshot
    /// `generation`) and kept. While one request renders a key, identical ones wait for its
    /// answer instead of rendering it again; a render that fails is not shared (each waiter then
    /// renders for itself, which for an error is cheap). A big answer is kept only when its key
    /// was rendered before (see the module docs).
    pub async fn get_or_render(
        &self,
        key: String,
        generation: u64,
        render: impl FnOnce() -> Result<RenderedAnswer, ApiError>,
    ) -> Result<Arc<RenderedAnswer>, ApiError> {
        if let Some(answer) = self.get(&key, generation) {
            return Ok(answer);
        }
        let flight_key = (generation, key);
        let cell: InFlight = Arc::clone(
            self.in_flight
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(flight_key.clone())
                .or_default(),
        );
        let rendered = cell
            .get_or_try_init(|| async {
                self.renders.fetch_add(1, Ordering::Relaxed);
                let answer = Arc::new(render()?);
                if answer.body().len() <= KEPT_FROM_SECOND_ASK_BYTES
                    || self.asked_once.asked_before(&flight_key.1, generation)
                {
                    self.insert(flight_key.1.clone(), Arc::clone(&answer), generation);
                }
                Ok::<_, ApiError>(answer)
            })
            .await
            .map(Arc::clone);
        let mut in_flight = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if in_flight
            .get(&flight_key)
            .is_some_and(|current| Arc::ptr_eq(current, &cell))
        {
            in_flight.remove(&flight_key);
        }
        rendered
    }

    /// Keeps `answer` under `key`, evicting the oldest entries to stay within budget; an answer
    /// from another snapshot generation than the entries' is not kept.
    pub fn insert(&self, key: String, answer: Arc<RenderedAnswer>, generation: u64) {
        let weight = answer.weight();
        if weight > self.config.max_bytes {
            return;
        }
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if entries.generation != generation {
            return;
        }
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

    /// How many answers were rendered (cache misses that computed), since start.
    pub fn renders(&self) -> u64 {
        self.renders.load(Ordering::Relaxed)
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
    fn entries_are_kept_only_for_the_generation_they_were_computed_from() {
        let cache = ResponseCache::new(config(10_000));
        assert!(cache.get("a", 1).is_none());
        cache.insert("a".into(), answer(10), 1);
        assert!(cache.get("a", 1).is_some());
        cache.insert("stale".into(), answer(10), 0);
        assert!(cache.get("stale", 1).is_none());
        assert!(
            cache.get("a", 0).is_none(),
            "an older snapshot gets nothing"
        );
        assert!(cache.get("a", 1).is_some(), "and clears nothing");
        assert!(
            cache.get("a", 2).is_none(),
            "a newer snapshot clears the cache"
        );
        assert!(cache.get("a", 1).is_none());
        assert!(cache.is_empty());
    }

    #[test]
    fn memory_stays_within_budget_oldest_out_first() {
        let cache = ResponseCache::new(config(3 * answer(100).weight()));
        for key in ["a", "b", "c", "d"] {
            cache.insert(key.into(), answer(100), 0);
        }
        assert_eq!(cache.len(), 3);
        assert!(cache.get("a", 0).is_none());
        assert!(cache.get("d", 0).is_some());
        cache.insert("huge".into(), answer(10_000), 0);
        assert!(cache.get("huge", 0).is_none());
    }

    #[test]
    fn entries_expire_after_max_age() {
        let cache = ResponseCache::new(CacheConfig {
            max_bytes: 10_000,
            max_age: Duration::ZERO,
            rendered_days_max_bytes: 0,
        });
        cache.insert("a".into(), answer(10), 0);
        assert!(cache.get("a", 0).is_none());
    }

    #[actix_web::test]
    async fn a_miss_renders_once_then_serves_the_kept_answer() {
        let cache = ResponseCache::new(config(10_000));
        for _ in 0..3 {
            let rendered = cache
                .get_or_render("k".into(), 0, || {
                    Ok(RenderedAnswer::new(b"{}".to_vec(), None, Freshness::Long))
                })
                .await;
            assert!(rendered.is_ok());
        }
        assert_eq!(cache.renders(), 1);
        let failed = cache
            .get_or_render("bad".into(), 0, || Err(ApiError::NoRatesHeld))
            .await;
        assert!(failed.is_err());
        assert_eq!(cache.len(), 1, "errors are never kept");
    }

    #[actix_web::test]
    async fn a_big_answer_is_kept_from_its_second_ask() {
        let cache = ResponseCache::new(config(1 << 20));
        let big = || {
            Ok(RenderedAnswer::new(
                vec![b'x'; KEPT_FROM_SECOND_ASK_BYTES + 1],
                None,
                Freshness::Long,
            ))
        };
        let small = || Ok(RenderedAnswer::new(vec![b'x'; 10], None, Freshness::Long));
        assert!(cache.get_or_render("small".into(), 0, small).await.is_ok());
        assert!(cache.get_or_render("big".into(), 0, big).await.is_ok());
        assert_eq!(
            cache.len(),
            1,
            "a small answer is kept at once, a big one is not"
        );
        assert!(cache.get("big", 0).is_none());
        for _ in 0..3 {
            assert!(cache.get_or_render("big".into(), 0, big).await.is_ok());
        }
        assert_eq!(cache.renders(), 3, "rendered on its first two asks only");
        assert!(cache.get("big", 0).is_some());
        // In a newer generation it is a new answer: asked once again first.
        assert!(cache.get_or_render("big".into(), 1, big).await.is_ok());
        assert!(cache.get("big", 1).is_none());
        assert_eq!(cache.renders(), 4);
    }

    #[test]
    fn a_request_arriving_during_a_render_waits_for_it_instead_of_rendering() {
        // No caching at all: only the sharing of the render in progress can save the second.
        let cache = Arc::new(ResponseCache::new(config(0)));
        let render_on_thread = |delay_before: Duration, render_time: Duration| {
            let cache = Arc::clone(&cache);
            std::thread::spawn(move || {
                std::thread::sleep(delay_before);
                actix_web::rt::System::new().block_on(async move {
                    cache
                        .get_or_render("slow".into(), 7, || {
                            std::thread::sleep(render_time);
                            Ok(RenderedAnswer::new(b"{}".to_vec(), None, Freshness::Long))
                        })
                        .await
                        .ok()
                })
            })
        };
        let first = render_on_thread(Duration::ZERO, Duration::from_millis(400));
        let second = render_on_thread(Duration::from_millis(100), Duration::ZERO);
        let (Ok(Some(a)), Ok(Some(b))) = (first.join(), second.join()) else {
            panic!("a render failed");
        };
        assert!(Arc::ptr_eq(&a, &b), "the second got the first's answer");
        assert_eq!(cache.renders(), 1);
    }
}
