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

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use hashbrown::HashTable;

use tokio::sync::OnceCell;
use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

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

    /// Whether the key hashing to `key_hash` was asked for before in snapshot `generation`, as
    /// remembered; remembers it either way.
    fn asked_before(&self, key_hash: u64, generation: u64) -> bool {
        // 0 marks an empty slot, so no key hashes to it.
        let hash = xxh3_64_with_seed(&key_hash.to_le_bytes(), generation) | 1;
        let slot = usize::try_from(hash % ASKED_ONCE_SLOTS as u64).unwrap_or_default();
        self.slots
            .get(slot)
            .is_some_and(|remembered| remembered.swap(hash, Ordering::Relaxed) == hash)
    }
}

/// A request's key with its hash, computed once per request and used by every lookup: the
/// entries and the renders in flight are found by hash, their keys compared only on a match.
struct Keyed<'a> {
    text: &'a str,
    hash: u64,
}

impl<'a> Keyed<'a> {
    fn new(text: &'a str) -> Keyed<'a> {
        Keyed {
            text,
            hash: xxh3_64(text.as_bytes()),
        }
    }
}

#[derive(Debug)]
struct Entry {
    hash: u64,
    key: String,
    answer: Arc<RenderedAnswer>,
    /// The answer's weight, kept here so that evicting does not read the answer.
    weight: usize,
    stored_at: Instant,
}

#[derive(Debug, Default)]
struct Entries {
    /// The snapshot generation every entry was computed from.
    generation: u64,
    table: HashTable<Entry>,
    /// The entries' hashes in insertion order, for eviction.
    order: VecDeque<u64>,
    bytes: usize,
}

impl Entries {
    fn find(&self, key: &Keyed<'_>) -> Option<&Entry> {
        self.table.find(key.hash, |entry| {
            entry.hash == key.hash && entry.key == key.text
        })
    }

    /// Removes the oldest entry, if any, and returns it (to be dropped outside the lock).
    fn evict_oldest(&mut self) -> Option<Option<Entry>> {
        let hash = self.order.pop_front()?;
        let Ok(found) = self.table.find_entry(hash, |entry| entry.hash == hash) else {
            return Some(None);
        };
        let (evicted, _) = found.remove();
        self.bytes = self.bytes.saturating_sub(evicted.weight);
        Some(Some(evicted))
    }
}

/// One render in progress, shared by the requests waiting for it.
type InFlight = Arc<OnceCell<Arc<RenderedAnswer>>>;

#[derive(Debug)]
struct Flight {
    generation: u64,
    hash: u64,
    key: String,
    cell: InFlight,
}

impl Flight {
    fn is(&self, key: &Keyed<'_>, generation: u64) -> bool {
        self.hash == key.hash && self.generation == generation && self.key == key.text
    }
}

/// Rendered answers keyed by normalised request; see the module docs.
#[derive(Debug)]
pub struct ResponseCache {
    config: CacheConfig,
    entries: RwLock<Entries>,
    in_flight: Mutex<HashTable<Flight>>,
    asked_once: AskedOnce,
    renders: AtomicU64,
}

impl ResponseCache {
    /// An empty cache.
    pub fn new(config: CacheConfig) -> ResponseCache {
        ResponseCache {
            config,
            entries: RwLock::new(Entries::default()),
            in_flight: Mutex::new(HashTable::new()),
            asked_once: AskedOnce::new(),
            renders: AtomicU64::new(0),
        }
    }

    /// The cached answer for `key` computed from snapshot `generation`, if any and not expired.
    /// A newer generation than the entries' drops them all.
    pub fn get(&self, key: &str, generation: u64) -> Option<Arc<RenderedAnswer>> {
        self.get_keyed(&Keyed::new(key), generation)
    }

    fn get_keyed(&self, key: &Keyed<'_>, generation: u64) -> Option<Arc<RenderedAnswer>> {
        {
            let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
            if entries.generation == generation {
                let entry = entries.find(key)?;
                return (entry.stored_at.elapsed() < self.config.max_age)
                    .then(|| Arc::clone(&entry.answer));
            }
            if entries.generation > generation {
                // This request holds an older snapshot than the cache: nothing here is for it.
                return None;
            }
        }
        let dropped = {
            let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
            if entries.generation >= generation {
                return None;
            }
            if !entries.table.is_empty() {
                log::debug!("the rates changed; response cache cleared");
            }
            let dropped = std::mem::take(&mut *entries);
            entries.generation = generation;
            dropped
        };
        // Dropped outside the lock: freeing thousands of answers is not free.
        drop(dropped);
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
        self.lookup_or_render(key, generation, render)
            .await
            .map(|(answer, _)| answer)
    }

    /// [`ResponseCache::get_or_render`], and whether the answer was found in the cache (rather
    /// than rendered by this request or one it waited for).
    pub(crate) async fn lookup_or_render(
        &self,
        key: String,
        generation: u64,
        render: impl FnOnce() -> Result<RenderedAnswer, ApiError>,
    ) -> Result<(Arc<RenderedAnswer>, bool), ApiError> {
        let keyed = Keyed::new(&key);
        if let Some(answer) = self.get_keyed(&keyed, generation) {
            return Ok((answer, true));
        }
        let cell: InFlight = {
            let mut in_flight = self
                .in_flight
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let found = in_flight
                .find(keyed.hash, |flight| flight.is(&keyed, generation))
                .map(|flight| Arc::clone(&flight.cell));
            found.unwrap_or_else(|| {
                let cell = InFlight::default();
                in_flight.insert_unique(
                    keyed.hash,
                    Flight {
                        generation,
                        hash: keyed.hash,
                        key: key.clone(),
                        cell: Arc::clone(&cell),
                    },
                    |flight| flight.hash,
                );
                cell
            })
        };
        let rendered = cell
            .get_or_try_init(|| async {
                self.renders.fetch_add(1, Ordering::Relaxed);
                let answer = Arc::new(render()?);
                if answer.body().len() <= KEPT_FROM_SECOND_ASK_BYTES
                    || self.asked_once.asked_before(keyed.hash, generation)
                {
                    self.insert_keyed(&keyed, Arc::clone(&answer), generation);
                }
                Ok::<_, ApiError>(answer)
            })
            .await
            .map(Arc::clone);
        let finished = {
            let mut in_flight = self
                .in_flight
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            in_flight
                .find_entry(keyed.hash, |flight| {
                    flight.is(&keyed, generation) && Arc::ptr_eq(&flight.cell, &cell)
                })
                .ok()
                .map(|found| found.remove().0)
        };
        drop(finished);
        rendered.map(|answer| (answer, false))
    }

    /// Keeps `answer` under `key`, evicting the oldest entries to stay within budget; an answer
    /// from another snapshot generation than the entries' is not kept.
    pub fn insert(&self, key: String, answer: Arc<RenderedAnswer>, generation: u64) {
        self.insert_keyed(&Keyed::new(&key), answer, generation);
    }

    fn insert_keyed(&self, key: &Keyed<'_>, answer: Arc<RenderedAnswer>, generation: u64) {
        let weight = answer.weight();
        if weight > self.config.max_bytes {
            return;
        }
        let mut evicted = Vec::new();
        {
            let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
            if entries.generation != generation {
                return;
            }
            if let Ok(found) = entries.table.find_entry(key.hash, |entry| {
                entry.hash == key.hash && entry.key == key.text
            }) {
                // Rendered again (it had expired): it goes to the back of the order. The order
                // holds one hash per entry, whichever of the entries sharing a hash it names.
                let (old, _) = found.remove();
                entries.bytes = entries.bytes.saturating_sub(old.weight);
                if let Some(at) = entries.order.iter().position(|hash| *hash == key.hash) {
                    entries.order.remove(at);
                }
                evicted.push(Some(old));
            }
            while entries.bytes + weight > self.config.max_bytes {
                let Some(oldest) = entries.evict_oldest() else {
                    break;
                };
                evicted.push(oldest);
            }
            entries.bytes += weight;
            entries.order.push_back(key.hash);
            entries.table.insert_unique(
                key.hash,
                Entry {
                    hash: key.hash,
                    key: key.text.to_owned(),
                    answer,
                    weight,
                    stored_at: Instant::now(),
                },
                |entry| entry.hash,
            );
        }
        // Freed outside the lock, so that the other workers' lookups do not wait for it.
        drop(evicted);
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
            .table
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
    fn keys_sharing_a_hash_keep_their_own_answers_and_the_budget() {
        let cache = ResponseCache::new(config(2 * answer(100).weight()));
        let a = Keyed { text: "a", hash: 7 };
        let b = Keyed { text: "b", hash: 7 };
        let (for_a, for_b) = (answer(100), answer(100));
        cache.insert_keyed(&a, Arc::clone(&for_a), 0);
        cache.insert_keyed(&b, Arc::clone(&for_b), 0);
        assert!(cache
            .get_keyed(&a, 0)
            .is_some_and(|got| Arc::ptr_eq(&got, &for_a)));
        assert!(cache
            .get_keyed(&b, 0)
            .is_some_and(|got| Arc::ptr_eq(&got, &for_b)));
        assert!(cache.get_keyed(&Keyed { text: "c", hash: 7 }, 0).is_none());
        // `a` again, then a third entry: one of the two goes, the budget holds.
        cache.insert_keyed(&a, answer(100), 0);
        cache.insert("c".into(), answer(100), 0);
        assert_eq!(cache.len(), 2);
        assert!(cache.get("c", 0).is_some());
        let entries = cache.entries.read().unwrap();
        assert_eq!(entries.order.len(), 2);
        assert_eq!(entries.bytes, 2 * answer(100).weight());
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
