//! [`ApiState`]: the one cloneable object the routes share, and [`ApiConfig`], what it is built
//! from.

use std::net::IpAddr;
use std::sync::Arc;

use rates_domain::Currency;
use rates_snapshot::{RefreshConfig, SharedSnapshot, SnapshotError};
use rates_store::Store;

use crate::auth::{AuthConfig, KeyChecker};
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::rate_limit::{RateLimitConfig, RateLimiter};
use crate::read_through::{ReadThrough, ReadThroughSlot};
use crate::rendered_days::RenderedDays;
use crate::request_id::{IdGenerator, WorkerIds};
use crate::request_log::AccessLog;
use crate::response_cache::{CacheConfig, ResponseCache};
use crate::routes::RenderedDocument;
use crate::target_cache::{TargetCache, TargetCaches};

/// Longest range `/rates/{start}..{end}/` serves: a leap year, so any calendar year fits.
pub const DEFAULT_MAX_RANGE_DAYS: u32 = 366;

/// Longest request target (path and query string) read, in bytes.
pub const DEFAULT_MAX_URI_BYTES: usize = 2048;

/// Most bytes of header lines (`Name: value` and its line end, summed) read: 32 KiB. actix-http
/// reads heads of up to 128 KiB, far more than any client of this API needs.
pub const DEFAULT_MAX_HEADER_BYTES: usize = 32 * 1024;

/// The share of the response cache's byte budget ([`CacheConfig::max_bytes`]) the caches of
/// answers by request target may hold besides: 1 in 4, shared out evenly among the workers.
const TARGET_CACHE_SHARE: usize = 4;

/// Which browser origins may read the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsPolicy {
    /// Any origin (`Access-Control-Allow-Origin: *`).
    AnyOrigin,
    /// Only these origins (`scheme://host[:port]`); an empty list allows none.
    Origins(Vec<String>),
}

/// Whether requests need an API key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// Every route is open.
    Off,
    /// Every route but `/health` and the overview page (`/`, `/assets/...`) needs a key
    /// (`Authorization: Bearer KEY` or `X-API-Key: KEY`).
    ApiKey,
}

/// How the API behaves; [`ApiConfig::default`] is what `rates-server` runs with when nothing is
/// configured.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ApiConfig {
    /// The base rates are stored in (what ingest asks Fixer for); other bases are computed.
    pub stored_base: Currency,
    /// Longest range served, in days.
    pub max_range_days: u32,
    /// Longest request target read, in bytes; longer ones get 414.
    pub max_uri_bytes: usize,
    /// Most bytes of header lines read; more get 431.
    pub max_header_bytes: usize,
    /// Browser origins allowed to read answers.
    pub cors: CorsPolicy,
    /// Peers whose `X-Forwarded-For` names the client in the request log.
    pub trusted_proxies: Vec<IpAddr>,
    /// The in-memory answer cache.
    pub cache: CacheConfig,
    /// Whether an API key is needed.
    pub auth: AuthMode,
    /// How often key use is written.
    pub key_checks: AuthConfig,
    /// How the in-memory snapshot of the rates and API keys is kept current (and so how soon a
    /// write or a revoked key takes effect).
    pub refresh: RefreshConfig,
    /// Requests allowed per client (API key, or address when keys are off); `None`: no limit.
    pub rate_limit: Option<RateLimitConfig>,
    /// Whether metrics are counted and `GET /metrics` is served.
    pub metrics: bool,
    /// Where the line logged for each request goes.
    pub access_log: AccessLog,
}

impl Default for ApiConfig {
    fn default() -> ApiConfig {
        ApiConfig {
            stored_base: Currency::EUR,
            max_range_days: DEFAULT_MAX_RANGE_DAYS,
            max_uri_bytes: DEFAULT_MAX_URI_BYTES,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
            cors: CorsPolicy::AnyOrigin,
            trusted_proxies: Vec::new(),
            cache: CacheConfig::default(),
            auth: AuthMode::Off,
            key_checks: AuthConfig::default(),
            refresh: RefreshConfig::default(),
            rate_limit: None,
            metrics: true,
            access_log: AccessLog::Events,
        }
    }
}

/// Everything a route needs: the in-memory snapshot answers are computed from, the store
/// (for writes only), the configuration and the answer cache.
///
/// Cheap to clone (reference-counted); [`crate::configure`] puts one in `app_data` and every
/// worker shares it, so the snapshot and the cache are one per process.
#[derive(Debug, Clone)]
pub struct ApiState {
    store: Store,
    snapshot: SharedSnapshot,
    config: Arc<ApiConfig>,
    cache: Arc<ResponseCache>,
    rendered_days: Arc<RenderedDays>,
    targets: Arc<TargetCaches>,
    keys: Arc<KeyChecker>,
    read_through: Option<Arc<ReadThroughSlot>>,
    /// `None` with `server.metrics = false` (nothing is counted), or if the metrics could not be
    /// registered (a bug, logged at start).
    metrics: Option<Arc<Metrics>>,
    limiter: Option<Arc<RateLimiter>>,
    request_ids: Arc<IdGenerator>,
    openapi: Arc<RenderedDocument>,
}

impl ApiState {
    /// Loads every rate held in `config.stored_base` and the active API keys from `store` into
    /// memory and starts keeping them current ([`SharedSnapshot::start`]); every read route then
    /// answers from memory. Blocks on the database for the load (the whole ECB history takes
    /// well under a second); an error means the server has nothing to serve and should not
    /// start.
    pub fn start(store: Store, config: ApiConfig) -> Result<ApiState, SnapshotError> {
        let snapshot = SharedSnapshot::start(store.clone(), config.stored_base, config.refresh)?;
        Ok(ApiState::with_snapshot(store, snapshot, config))
    }

    /// State answering from `snapshot` (kept current by whoever built it), writing to `store`.
    pub fn with_snapshot(store: Store, snapshot: SharedSnapshot, config: ApiConfig) -> ApiState {
        let cache = Arc::new(ResponseCache::new(config.cache));
        let rendered_days = Arc::new(RenderedDays::new(config.cache.rendered_days_max_bytes));
        // Its entries mostly share their bodies with the response cache's.
        let targets = Arc::new(TargetCaches::new(
            config.cache.max_bytes / TARGET_CACHE_SHARE,
            config.cache.max_age,
        ));
        let keys = Arc::new(KeyChecker::new(config.key_checks));
        let limiter = config
            .rate_limit
            .map(|limit| Arc::new(RateLimiter::new(limit)));
        let metrics = config
            .metrics
            .then(|| {
                Metrics::new()
                    .map(Arc::new)
                    .map_err(|error| log::error!("cannot register the metrics: {error}"))
                    .ok()
            })
            .flatten();
        ApiState {
            store,
            snapshot,
            config: Arc::new(config),
            cache,
            rendered_days,
            targets,
            keys,
            read_through: None,
            metrics,
            limiter,
            request_ids: Arc::new(IdGenerator::new()),
            openapi: Arc::default(),
        }
    }

    /// The same state with read-through on (`fetch.on_demand`): a request for a past date that
    /// is not held, on either API, has `fetcher` fetch and store it first, and the stored day is
    /// put into the snapshot at once (see [`crate::ReadThrough`]).
    pub fn with_read_through(mut self, fetcher: Arc<dyn ReadThrough>) -> ApiState {
        self.read_through = Some(Arc::new(ReadThroughSlot::new(fetcher)));
        self
    }

    pub(crate) fn read_through(&self) -> Option<&ReadThroughSlot> {
        self.read_through.as_deref()
    }

    /// The in-memory snapshot every read is answered from. A route takes
    /// [`SharedSnapshot::current`] once and computes its whole answer from it; a route that
    /// stores a day (a read-through fetch) adds it with [`SharedSnapshot::insert_days`].
    pub fn snapshot(&self) -> &SharedSnapshot {
        &self.snapshot
    }

    /// The store, for writes (never read on the request path).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The configuration.
    pub fn config(&self) -> &ApiConfig {
        &self.config
    }

    pub(crate) fn keys(&self) -> &Arc<KeyChecker> {
        &self.keys
    }

    /// The server's metrics, for recording what happens outside the API (ingest runs, Fixer
    /// requests) so `/metrics` shows it.
    pub fn metrics(&self) -> Option<&Arc<Metrics>> {
        self.metrics.as_ref()
    }

    pub(crate) fn limiter(&self) -> Option<&RateLimiter> {
        self.limiter.as_deref()
    }

    /// A new supply of request ids for one worker thread.
    pub(crate) fn worker_request_ids(&self) -> WorkerIds {
        WorkerIds::new(Arc::clone(&self.request_ids))
    }

    pub(crate) fn openapi(&self) -> &RenderedDocument {
        &self.openapi
    }

    /// Writes the API key uses counted in memory to the store now (blocking; the server calls
    /// it once it has stopped, so no count is lost).
    pub fn flush_key_usage(&self) -> Result<(), ApiError> {
        self.keys.flush_now(&self.store)
    }

    /// The answer cache (exposed for tests and metrics).
    pub fn cache(&self) -> &ResponseCache {
        &self.cache
    }

    /// Days rendered in a base, kept for the daily ranges that contain them.
    pub(crate) fn rendered_days(&self) -> &RenderedDays {
        &self.rendered_days
    }

    /// A new cache of answers served before, by request target, for one worker thread; `None`
    /// while read-through is on (a request for a date not held must reach its route).
    pub(crate) fn worker_targets(&self) -> Option<TargetCache> {
        self.read_through
            .is_none()
            .then(|| self.targets.for_worker())
    }

    /// Requests answered again from an answer served before for the same URL, without routing
    /// (see the crate's `target_cache` module), since start.
    pub fn reused_answers(&self) -> u64 {
        self.targets.hits()
    }
}
