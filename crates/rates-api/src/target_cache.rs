//! Answers served before, by request target: a repeated URL is answered by [`crate::front`]
//! without going through the router.
//!
//! The [`crate::response_cache`] saves computing an answer; this saves finding it. Under load on
//! one cached URL, routing, CORS, the route's parsing of path and query and the making of the
//! response-cache key took about a fifth of the server's time per request; here a request for a
//! URL answered before (same path and query, same `Accept`) gets that answer's status, headers
//! and body back from one map lookup.
//!
//! What may be kept, and for whom:
//! - only answers a route marked with [`mark_reusable`]: answers that depend on nothing but the
//!   URL, the `Accept` header and the snapshot (the routes answering through
//!   [`crate::routes::serve_cached`]), and only when they are a 200 with the whole body in
//!   memory and were found in the response cache (so a URL is kept from its second answer on:
//!   copying the answer of a URL never asked for again cost more than routing it);
//! - only plain requests use it ([`is_plain`]): GET, no `Origin` (CORS headers depend on it), no
//!   `If-None-Match`/`If-Modified-Since` (a 304 is decided per request);
//! - not at all with read-through on ([`crate::ReadThrough`]): a request for a date not held
//!   must reach its route, which may fetch it.
//!
//! The front's own work still runs on every request: request id, API key check, rate limit,
//! metrics and the request log. Entries belong to the snapshot generation they were served
//! from and go when a request sees a newer one, expire after the response cache's `max_age`,
//! and stay within a byte budget (oldest out first), as the response cache's do.
//!
//! Each worker thread has a cache of its own ([`TargetCaches::for_worker`]; the byte budget is
//! shared out evenly among them), with its own copies
//! of the headers and of bodies up to [`COPIED_BODY_MAX`]: shared ones would make every answer
//! count references on memory both workers write to, and those counts, moving between the
//! cores, cost more under load than the lookup itself. A URL is therefore routed once to be
//! rendered and once more per worker before it is answered from here.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use actix_web::body::BoxBody;
use actix_web::dev::ServiceRequest;
use actix_web::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::web::Bytes;
use actix_web::HttpResponse;

/// Bytes an entry costs besides its body and headers (key, map slot, bookkeeping).
const ENTRY_OVERHEAD: usize = 128;

/// Largest body a worker's cache copies rather than shares with the response cache: sending a
/// larger one costs far more than counting references to it.
pub(crate) const COPIED_BODY_MAX: usize = 16 * 1024;

/// The mark of an answer that may be reused for the same target ([`mark_reusable`]).
#[derive(Debug, Clone, Copy)]
struct Reusable;

/// Marks `response` as depending only on the URL, `Accept` and the snapshot.
pub(crate) fn mark_reusable(response: &mut HttpResponse) {
    response.extensions_mut().insert(Reusable);
}

/// Whether a route marked `response` with [`mark_reusable`].
pub(crate) fn is_marked<B>(response: &HttpResponse<B>) -> bool {
    response.extensions().contains::<Reusable>()
}

/// Whether `request` may be answered from, and its answer kept in, the target cache.
pub(crate) fn is_plain(request: &ServiceRequest) -> bool {
    let headers = request.headers();
    request.method() == Method::GET
        && !headers.contains_key(header::ORIGIN)
        && !headers.contains_key(header::IF_NONE_MATCH)
        && !headers.contains_key(header::IF_MODIFIED_SINCE)
}

/// One answer served before, as it left the routes.
#[derive(Debug)]
pub(crate) struct ServedAnswer {
    accept: Option<HeaderValue>,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Bytes,
    stored_at: Instant,
}

impl ServedAnswer {
    /// The answer again: 200, the same headers and body (shared, not copied).
    pub(crate) fn respond(&self) -> HttpResponse {
        let mut response = HttpResponse::with_body(StatusCode::OK, BoxBody::new(self.body.clone()));
        let headers = response.headers_mut();
        for (name, value) in &self.headers {
            headers.append(name.clone(), value.clone());
        }
        response
    }

    fn weight(&self) -> usize {
        let headers: usize = self
            .headers
            .iter()
            .map(|(name, value)| name.as_str().len() + value.len())
            .sum();
        self.body.len() + headers + ENTRY_OVERHEAD
    }
}

#[derive(Debug, Default)]
struct Targets {
    /// The snapshot generation every entry was served from.
    generation: u64,
    map: HashMap<Box<str>, Rc<ServedAnswer>>,
    /// Targets in insertion order, for eviction.
    order: VecDeque<Box<str>>,
    bytes: usize,
}

/// The target caches of every worker: their budget and their counts of answers reused.
#[derive(Debug)]
pub(crate) struct TargetCaches {
    max_bytes: usize,
    max_age: Duration,
    /// How many workers share `max_bytes`.
    workers: Arc<AtomicUsize>,
    /// Each worker's count of hits, summed by [`TargetCaches::hits`].
    hits: Mutex<Vec<Arc<AtomicU64>>>,
}

impl TargetCaches {
    /// Caches holding at most `max_bytes` in all (0 keeps nothing), entries kept at most
    /// `max_age`.
    pub(crate) fn new(max_bytes: usize, max_age: Duration) -> TargetCaches {
        TargetCaches {
            max_bytes,
            max_age,
            workers: Arc::new(AtomicUsize::new(0)),
            hits: Mutex::new(Vec::new()),
        }
    }

    /// A new, empty cache for one worker thread.
    pub(crate) fn for_worker(&self) -> TargetCache {
        let hits = Arc::new(AtomicU64::new(0));
        self.hits
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Arc::clone(&hits));
        self.workers.fetch_add(1, Ordering::Relaxed);
        TargetCache {
            all_workers_bytes: self.max_bytes,
            workers: Arc::clone(&self.workers),
            max_age: self.max_age,
            targets: RefCell::new(Targets::default()),
            hits,
        }
    }

    /// How many requests the workers answered from their caches, since start.
    pub(crate) fn hits(&self) -> u64 {
        self.hits
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|hits| hits.load(Ordering::Relaxed))
            .sum()
    }
}

/// One worker's answers served before, keyed by request target; see the module docs.
#[derive(Debug)]
pub(crate) struct TargetCache {
    /// The budget of all workers' caches together.
    all_workers_bytes: usize,
    /// How many workers share it (set at start, read only afterwards).
    workers: Arc<AtomicUsize>,
    max_age: Duration,
    targets: RefCell<Targets>,
    /// Written by this worker only.
    hits: Arc<AtomicU64>,
}

impl TargetCache {
    /// An empty cache holding at most `max_bytes`, each entry for at most `max_age`; 0 bytes
    /// keeps nothing. Not counted in any [`TargetCaches`].
    #[cfg(test)]
    fn new(max_bytes: usize, max_age: Duration) -> TargetCache {
        TargetCaches::new(max_bytes, max_age).for_worker()
    }

    /// The answer served before for `target` (path and query) with the same `accept`, from
    /// snapshot `generation`, if any and not expired. A newer generation drops every entry.
    pub(crate) fn get(
        &self,
        target: &str,
        accept: Option<&HeaderValue>,
        generation: u64,
    ) -> Option<Rc<ServedAnswer>> {
        if self.all_workers_bytes == 0 {
            return None;
        }
        let mut targets = self.targets.borrow_mut();
        if targets.generation == generation {
            let served = targets.map.get(target)?;
            let reusable =
                served.accept.as_ref() == accept && served.stored_at.elapsed() < self.max_age;
            if reusable {
                self.hits.fetch_add(1, Ordering::Relaxed);
            }
            return reusable.then(|| Rc::clone(served));
        }
        if targets.generation < generation {
            *targets = Targets {
                generation,
                ..Targets::default()
            };
        }
        None
    }

    /// Keeps the answer served for `target` with `accept` from snapshot `generation`: its
    /// `headers` as the routes set them and its `body`. An answer from an older generation than
    /// the entries', or larger than the whole budget, is not kept; a newer one drops them.
    pub(crate) fn keep(
        &self,
        target: &str,
        accept: Option<HeaderValue>,
        headers: &HeaderMap,
        body: Bytes,
        generation: u64,
    ) {
        let served = ServedAnswer {
            accept,
            headers: headers
                .iter()
                .map(|(name, value)| (name.clone(), own_copy(value)))
                .collect(),
            body: if body.len() <= COPIED_BODY_MAX {
                Bytes::copy_from_slice(&body)
            } else {
                body
            },
            stored_at: Instant::now(),
        };
        let weight = served.weight();
        let max_bytes = self.max_bytes();
        if weight > max_bytes {
            return;
        }
        let mut targets = self.targets.borrow_mut();
        if targets.generation < generation {
            *targets = Targets {
                generation,
                ..Targets::default()
            };
        } else if targets.generation > generation {
            return;
        }
        if let Some(old) = targets.map.remove(target) {
            targets.bytes = targets.bytes.saturating_sub(old.weight());
            targets.order.retain(|kept| &**kept != target);
        }
        while targets.bytes + weight > max_bytes {
            let Some(oldest) = targets.order.pop_front() else {
                break;
            };
            if let Some(evicted) = targets.map.remove(&oldest) {
                targets.bytes = targets.bytes.saturating_sub(evicted.weight());
            }
        }
        targets.bytes += weight;
        targets.order.push_back(target.into());
        targets.map.insert(target.into(), Rc::new(served));
    }

    /// This worker's share of the budget.
    fn max_bytes(&self) -> usize {
        self.all_workers_bytes / self.workers.load(Ordering::Relaxed).max(1)
    }

    /// How many requests were answered from this cache, since start.
    #[cfg(test)]
    fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }
}

/// A copy of `value` in memory of its own.
fn own_copy(value: &HeaderValue) -> HeaderValue {
    let mut copy = HeaderValue::from_maybe_shared(Bytes::copy_from_slice(value.as_bytes()))
        .unwrap_or_else(|_| value.clone());
    copy.set_sensitive(value.is_sensitive());
    copy
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers() -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ETAG, HeaderValue::from_static("\"abc\""));
        headers.append(header::VARY, HeaderValue::from_static("accept"));
        headers.append(header::VARY, HeaderValue::from_static("Origin"));
        headers
    }

    fn keep(cache: &TargetCache, target: &str, accept: Option<&'static str>, generation: u64) {
        cache.keep(
            target,
            accept.map(HeaderValue::from_static),
            &headers(),
            Bytes::from_static(b"{\"a\":1}"),
            generation,
        );
    }

    #[test]
    fn an_answer_comes_back_with_its_headers_and_body_for_the_same_target_and_accept() {
        let cache = TargetCache::new(10_000, Duration::from_secs(60));
        keep(&cache, "/rates/2024-01-02/", None, 3);
        let served = cache.get("/rates/2024-01-02/", None, 3);
        let response = served.map(|served| served.respond());
        let Some(response) = response else {
            panic!("nothing kept");
        };
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers().get(header::ETAG),
            headers().get(header::ETAG)
        );
        let vary: Vec<_> = response.headers().get_all(header::VARY).collect();
        assert_eq!(vary, ["accept", "Origin"]);
        assert_eq!(cache.hits(), 1);
        assert!(cache.get("/rates/2024-01-03/", None, 3).is_none());
        let csv = HeaderValue::from_static("text/csv");
        assert!(
            cache.get("/rates/2024-01-02/", Some(&csv), 3).is_none(),
            "another Accept is another answer"
        );
        assert_eq!(cache.hits(), 1);
    }

    #[test]
    fn entries_are_kept_only_for_the_generation_they_were_served_from() {
        let cache = TargetCache::new(10_000, Duration::from_secs(60));
        keep(&cache, "/a", None, 1);
        keep(&cache, "/stale", None, 0);
        assert!(cache.get("/stale", None, 1).is_none());
        assert!(
            cache.get("/a", None, 0).is_none(),
            "an older snapshot gets nothing"
        );
        assert!(cache.get("/a", None, 1).is_some(), "and clears nothing");
        assert!(
            cache.get("/a", None, 2).is_none(),
            "a newer snapshot clears all"
        );
        assert!(cache.get("/a", None, 1).is_none());
    }

    #[test]
    fn memory_stays_within_budget_oldest_out_first_and_expired_entries_are_not_served() {
        let one = ServedAnswer {
            accept: None,
            headers: headers()
                .iter()
                .map(|(name, value)| (name.clone(), value.clone()))
                .collect(),
            body: Bytes::from_static(b"{\"a\":1}"),
            stored_at: Instant::now(),
        }
        .weight();
        let cache = TargetCache::new(3 * one, Duration::from_secs(60));
        for target in ["/a", "/b", "/c", "/d"] {
            keep(&cache, target, None, 0);
        }
        assert!(cache.get("/a", None, 0).is_none());
        assert!(["/b", "/c", "/d"]
            .iter()
            .all(|target| cache.get(target, None, 0).is_some()));

        let shared = TargetCaches::new(4 * one, Duration::from_secs(60));
        let workers = [shared.for_worker(), shared.for_worker()];
        for worker in &workers {
            for target in ["/a", "/b", "/c"] {
                keep(worker, target, None, 0);
            }
            assert!(
                worker.get("/a", None, 0).is_none(),
                "two each: half the budget"
            );
            assert!(worker.get("/b", None, 0).is_some());
            assert!(worker.get("/c", None, 0).is_some());
        }
        assert_eq!(shared.hits(), 4);

        let expiring = TargetCache::new(10_000, Duration::ZERO);
        keep(&expiring, "/a", None, 0);
        assert!(expiring.get("/a", None, 0).is_none());
        let off = TargetCache::new(0, Duration::from_secs(60));
        keep(&off, "/a", None, 0);
        assert!(off.get("/a", None, 0).is_none());
    }
}
