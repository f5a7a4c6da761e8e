//! [`ApiState`]: the one cloneable object the routes share, and [`ApiConfig`], what it is built
//! from.

use std::net::IpAddr;
use std::sync::Arc;

use rates_domain::Currency;
use rates_store::Store;

use crate::auth::{AuthConfig, KeyChecker};
use crate::error::ApiError;
use crate::response_cache::{CacheConfig, ResponseCache};

/// Longest range `/rates/{start}..{end}/` serves: a leap year, so any calendar year fits.
pub const DEFAULT_MAX_RANGE_DAYS: u32 = 366;

/// Longest request target (path and query string) read, in bytes.
pub const DEFAULT_MAX_URI_BYTES: usize = 2048;

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
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiConfig {
    /// The base rates are stored in (what ingest asks Fixer for); other bases are computed.
    pub stored_base: Currency,
    /// Longest range served, in days.
    pub max_range_days: u32,
    /// Longest request target read, in bytes; longer ones get 414.
    pub max_uri_bytes: usize,
    /// Browser origins allowed to read answers.
    pub cors: CorsPolicy,
    /// Peers whose `X-Forwarded-For` names the client in the request log.
    pub trusted_proxies: Vec<IpAddr>,
    /// The in-memory answer cache.
    pub cache: CacheConfig,
    /// Whether an API key is needed.
    pub auth: AuthMode,
    /// How long key lookups are trusted and how often key use is written.
    pub key_checks: AuthConfig,
}

impl Default for ApiConfig {
    fn default() -> ApiConfig {
        ApiConfig {
            stored_base: Currency::EUR,
            max_range_days: DEFAULT_MAX_RANGE_DAYS,
            max_uri_bytes: DEFAULT_MAX_URI_BYTES,
            cors: CorsPolicy::AnyOrigin,
            trusted_proxies: Vec::new(),
            cache: CacheConfig::default(),
            auth: AuthMode::Off,
            key_checks: AuthConfig::default(),
        }
    }
}

/// Everything a route needs: the store, the configuration and the answer cache.
///
/// Cheap to clone (reference-counted); [`crate::configure`] puts one in `app_data` and every
/// worker shares it, so the cache is one per process.
#[derive(Debug, Clone)]
pub struct ApiState {
    store: Store,
    config: Arc<ApiConfig>,
    cache: Arc<ResponseCache>,
    keys: Arc<KeyChecker>,
}

impl ApiState {
    /// State over `store`, configured by `config`.
    pub fn new(store: Store, config: ApiConfig) -> ApiState {
        let cache = Arc::new(ResponseCache::new(config.cache));
        let keys = Arc::new(KeyChecker::new(config.key_checks));
        ApiState {
            store,
            config: Arc::new(config),
            cache,
            keys,
        }
    }

    /// The store answers are read from.
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

    /// Writes the API key uses counted in memory to the store now (blocking; the server calls
    /// it once it has stopped, so no count is lost).
    pub fn flush_key_usage(&self) -> Result<(), ApiError> {
        self.keys.flush_now(&self.store)
    }

    /// The answer cache (exposed for tests and metrics).
    pub fn cache(&self) -> &ResponseCache {
        &self.cache
    }
}
