//! The settings type: one struct per section of the configuration, with the built-in defaults.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use crate::error::SettingsError;
use crate::secret::AccessKey;

/// Fixer's classic host, the default `fixer.base_url`.
pub const DEFAULT_FIXER_BASE_URL: &str = "https://data.fixer.io/api";

/// Every setting of the service, as both binaries use it. Build it with
/// [`Settings::load`](crate::Settings::load) (or start from [`Settings::default`] in tests) and
/// pass it on: nothing reads settings from a global.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Settings {
    /// `database.*`
    pub database: DatabaseSettings,
    /// `fixer.*`
    pub fixer: FixerSettings,
    /// `ingest.*`
    pub ingest: IngestSettings,
    /// `fetch.*`
    pub fetch: FetchSettings,
    /// `ecb.*`
    pub ecb: EcbSettings,
    /// `server.*`
    pub server: ServerSettings,
    /// `log.*`
    pub log: LogSettings,
}

/// `database.*`: where the rates are stored.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DatabaseSettings {
    /// `database.url`: a SQLite file path (`sqlite://` prefix allowed) or a `postgres://` URL.
    /// Default `rates.db`. It may hold a password: show it only through
    /// `rates_store::redact_database_url`, which masks every form of it; `Debug` hides it.
    pub url: String,
    /// `database.pool_size`: connections in the pool; `None` lets the store pick per backend.
    pub pool_size: Option<u32>,
}

impl Default for DatabaseSettings {
    fn default() -> Self {
        DatabaseSettings {
            url: "rates.db".to_owned(),
            pool_size: None,
        }
    }
}

impl fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseSettings")
            // Masking needs the store's knowledge of URL forms; here it is simply hidden.
            .field("url", &format_args!("<redacted>"))
            .field("pool_size", &self.pool_size)
            .finish()
    }
}

/// How the access key is sent to Fixer (`fixer.auth_style`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthStyle {
    /// `access_key=` query parameter, as the classic `data.fixer.io` host expects.
    Query,
    /// `apikey:` header, as the APILayer host expects.
    Header,
}

/// `fixer.*`: the upstream API.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FixerSettings {
    /// `fixer.access_key`: required to ingest, never printed. See
    /// [`FixerSettings::require_access_key`].
    pub access_key: Option<AccessKey>,
    /// `fixer.base_url`, without a trailing slash. Default [`DEFAULT_FIXER_BASE_URL`].
    pub base_url: String,
    /// `fixer.auth_style`; `None` means "infer from the host" (APILayer → header, else query).
    pub auth_style: Option<AuthStyle>,
    /// `fixer.timeout_secs`: per request, default 10.
    pub timeout_secs: u64,
    /// `fixer.max_retries`: retries of transient failures, default 4.
    pub max_retries: u32,
}

impl FixerSettings {
    /// The access key, or the error that stops an ingest without one.
    pub fn require_access_key(&self) -> Result<&AccessKey, SettingsError> {
        self.access_key.as_ref().ok_or(SettingsError::MissingValue {
            key: "fixer.access_key",
            hint: "ingesting needs a Fixer access key; set FIXER_ACCESS_KEY in the environment or in .env",
        })
    }

    /// `timeout_secs` as a duration.
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs)
    }
}

impl Default for FixerSettings {
    fn default() -> Self {
        FixerSettings {
            access_key: None,
            base_url: DEFAULT_FIXER_BASE_URL.to_owned(),
            auth_style: None,
            timeout_secs: 10,
            max_retries: 4,
        }
    }
}

/// When the server ingests on its own (`ingest.schedule`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Schedule {
    /// Never: ingests are run with `rates-cli ingest` (the default).
    Off,
    /// Every so often, e.g. `1h`.
    Every(Duration),
}

/// `ingest.*`: what an ingest asks Fixer for.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct IngestSettings {
    /// `ingest.days`: the default window, the N calendar days ending today (UTC). Default 10.
    pub days: u32,
    /// `ingest.base`: the base currency requested, three upper-case letters. Default `EUR`.
    pub base: String,
    /// `ingest.symbols`: the currencies requested, upper case; empty means all. Default all.
    pub symbols: Vec<String>,
    /// `ingest.concurrency`: Fixer requests in flight during a multi-day ingest. Default 4.
    pub concurrency: usize,
    /// `ingest.schedule`: the server's own ingest interval. Default off.
    pub schedule: Schedule,
}

impl Default for IngestSettings {
    fn default() -> Self {
        IngestSettings {
            days: 10,
            base: "EUR".to_owned(),
            symbols: Vec::new(),
            concurrency: 4,
            schedule: Schedule::Off,
        }
    }
}

/// `fetch.*`: read-through, fetching a past date a request asks for and the store lacks.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FetchSettings {
    /// `fetch.on_demand`: whether a request for a past date that is not held fetches it from
    /// Fixer (once), stores it and answers it. Default off.
    pub on_demand: bool,
    /// `fetch.daily_budget`: the most Fixer requests read-through may send per UTC day, per
    /// server process. Default 50.
    pub daily_budget: u32,
}

impl Default for FetchSettings {
    fn default() -> Self {
        FetchSettings {
            on_demand: false,
            daily_budget: 50,
        }
    }
}

/// The European Central Bank's reference-rate history, the default `ecb.download_url`.
pub const DEFAULT_ECB_DOWNLOAD_URL: &str =
    "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-hist.zip";

/// `ecb.*`: where `rates-cli import-ecb --download` gets the ECB's history.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct EcbSettings {
    /// `ecb.download_url`: the ZIP (or CSV) of the whole history. Default
    /// [`DEFAULT_ECB_DOWNLOAD_URL`], the ECB's own.
    pub download_url: String,
}

impl Default for EcbSettings {
    fn default() -> Self {
        EcbSettings {
            download_url: DEFAULT_ECB_DOWNLOAD_URL.to_owned(),
        }
    }
}

/// Whether the HTTP API asks for a key (`server.auth`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerAuth {
    /// Every route is open (the default).
    Off,
    /// Every route but `/health` and the overview page needs a valid API key.
    ApiKey,
}

/// Which origins may read the API from a browser (`server.cors_origins`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CorsOrigins {
    /// Any origin (`*`, the default).
    Any,
    /// Only these origins (`scheme://host[:port]`); an empty list sends no CORS headers.
    List(Vec<String>),
}

/// `server.*`: the HTTP server.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServerSettings {
    /// `server.bind`: the address to listen on. Default `127.0.0.1:8080`.
    pub bind: SocketAddr,
    /// `server.workers`: HTTP worker threads. Default: the number of CPUs.
    pub workers: usize,
    /// `server.auth`: `off` or `api-key`. Default off.
    pub auth: ServerAuth,
    /// `server.cors_origins`: `*` (default) or a list of origins.
    pub cors_origins: CorsOrigins,
    /// `server.trusted_proxies`: peers whose `X-Forwarded-For` is believed (e.g. the local
    /// nginx). Default none.
    pub trusted_proxies: Vec<IpAddr>,
    /// `server.metrics`: whether metrics are counted and `GET /metrics` is served. Default on.
    pub metrics: bool,
    /// `server.rate_limit.*`: requests allowed per API key (or client address). Default off.
    pub rate_limit: RateLimitSettings,
}

/// `server.rate_limit.*`: a token bucket per API key, or per client address when keys are off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimitSettings {
    /// `server.rate_limit.per_second`: the sustained rate; `None` (`off`, the default) turns
    /// rate limiting off.
    pub per_second: Option<PerSecond>,
    /// `server.rate_limit.burst`: requests allowed at once after a quiet spell. Default 10.
    pub burst: u32,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        RateLimitSettings {
            per_second: None,
            burst: 10,
        }
    }
}

/// A rate in requests per second: finite and > 0 (fractions allowed, `0.5` is one every 2 s).
#[derive(Clone, Copy, Debug)]
pub struct PerSecond(f64);

impl PerSecond {
    /// The rate, or `None` unless it is finite and > 0.
    pub fn new(rate: f64) -> Option<PerSecond> {
        (rate.is_finite() && rate > 0.0).then_some(PerSecond(rate))
    }

    /// The rate as a number.
    pub fn get(self) -> f64 {
        self.0
    }
}

impl PartialEq for PerSecond {
    fn eq(&self, other: &Self) -> bool {
        self.0.to_bits() == other.0.to_bits()
    }
}

// Never NaN (checked in `new`), so equality is reflexive.
impl Eq for PerSecond {}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            bind: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8080),
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            auth: ServerAuth::Off,
            cors_origins: CorsOrigins::Any,
            trusted_proxies: Vec::new(),
            metrics: true,
            rate_limit: RateLimitSettings::default(),
        }
    }
}

/// How log lines are written (`log.format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// One line of text per event (the default).
    #[default]
    Text,
    /// One JSON object per line: time, level, target, message and the event's fields (the
    /// access line's client, method, path, status, duration and request id).
    Json,
}

/// `log.*`: the server's log.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct LogSettings {
    /// `log.format`: `text` (default) or `json`.
    pub format: LogFormat,
}
