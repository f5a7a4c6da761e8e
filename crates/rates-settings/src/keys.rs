//! The table of known keys: their environment names and how a raw value becomes a typed field.

use std::fmt;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use crate::error::SettingsError;
use crate::secret::AccessKey;
use crate::sections::{
    AuthStyle, CorsOrigins, LogFormat, PerSecond, Schedule, ServerAuth, Settings,
};

/// One known setting: its dotted key and the environment variable that sets it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyInfo {
    /// The dotted key, as in the TOML files (`fixer.timeout_secs`).
    pub key: &'static str,
    /// The environment variable documented for it (`FIXER_ACCESS_KEY`, `RATES__FIXER__TIMEOUT_SECS`).
    /// The `RATES__SECTION__KEY` form is accepted for every key, including the three short ones.
    pub env_var: &'static str,
}

const fn key(key: &'static str, env_var: &'static str) -> KeyInfo {
    KeyInfo { key, env_var }
}

/// Every setting the service knows, in documentation order.
pub const KEYS: &[KeyInfo] = &[
    key("database.url", "DATABASE_URL"),
    key("database.pool_size", "RATES__DATABASE__POOL_SIZE"),
    key("fixer.access_key", "FIXER_ACCESS_KEY"),
    key("fixer.base_url", "FIXER_BASE_URL"),
    key("fixer.auth_style", "RATES__FIXER__AUTH_STYLE"),
    key("fixer.timeout_secs", "RATES__FIXER__TIMEOUT_SECS"),
    key("fixer.max_retries", "RATES__FIXER__MAX_RETRIES"),
    key("ingest.days", "RATES__INGEST__DAYS"),
    key("ingest.base", "RATES__INGEST__BASE"),
    key("ingest.symbols", "RATES__INGEST__SYMBOLS"),
    key("ingest.concurrency", "RATES__INGEST__CONCURRENCY"),
    key("ingest.schedule", "RATES__INGEST__SCHEDULE"),
    key("fetch.on_demand", "RATES__FETCH__ON_DEMAND"),
    key("fetch.daily_budget", "RATES__FETCH__DAILY_BUDGET"),
    key("ecb.download_url", "RATES__ECB__DOWNLOAD_URL"),
    key("server.bind", "RATES__SERVER__BIND"),
    key("server.workers", "RATES__SERVER__WORKERS"),
    key("server.auth", "RATES__SERVER__AUTH"),
    key("server.cors_origins", "RATES__SERVER__CORS_ORIGINS"),
    key("server.trusted_proxies", "RATES__SERVER__TRUSTED_PROXIES"),
    key("server.metrics", "RATES__SERVER__METRICS"),
    key(
        "server.rate_limit.per_second",
        "RATES__SERVER__RATE_LIMIT__PER_SECOND",
    ),
    key(
        "server.rate_limit.burst",
        "RATES__SERVER__RATE_LIMIT__BURST",
    ),
    key("log.format", "RATES__LOG__FORMAT"),
];

/// The environment variables of every setting, for the binaries' `--help`: one line each,
/// `NAME  key`, under a heading saying where else they are read from.
pub fn environment_help() -> String {
    let width = KEYS
        .iter()
        .map(|info| info.env_var.len())
        .max()
        .unwrap_or(0);
    let mut help = String::from(
        "Environment variables (also read from .env in the working directory; flags win over \
         both, and both over config/*.toml):\n",
    );
    for info in KEYS {
        help.push_str(&format!("  {:width$}  {}\n", info.env_var, info.key));
    }
    help.push_str(&format!(
        "  {:width$}  which config/<name>.toml to load over config/default.toml",
        crate::load::ENV_NAME_VAR
    ));
    help
}

/// The known key with this dotted name.
pub(crate) fn lookup(dotted: &str) -> Option<&'static KeyInfo> {
    KEYS.iter().find(|info| info.key == dotted)
}

/// Where a value came from, for error messages.
#[derive(Clone, Debug)]
pub(crate) enum Origin {
    File(PathBuf),
    DotEnv { path: PathBuf, var: String },
    Env(String),
    Flag(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File(path) => write!(f, "in {}", path.display()),
            Origin::DotEnv { path, var } => write!(f, "from {var} in {}", path.display()),
            Origin::Env(var) => write!(f, "from environment variable {var}"),
            Origin::Flag(flag) => write!(f, "from {flag}"),
        }
    }
}

/// A value before it is checked: TOML keeps its type, the environment and flags give text.
#[derive(Clone, Debug)]
pub(crate) enum RawValue {
    Toml(toml::Value),
    Text(String),
}

/// A value and where it came from.
#[derive(Clone, Debug)]
pub(crate) struct Raw {
    pub(crate) value: RawValue,
    pub(crate) origin: Origin,
}

/// Sets the field of `settings` named by `key` from `raw`, or says why the value is unusable.
pub(crate) fn apply(settings: &mut Settings, key: &str, raw: &Raw) -> Result<(), SettingsError> {
    if lookup(key).is_none() {
        return Err(SettingsError::UnknownKey {
            key: key.to_owned(),
            origin: raw.origin.to_string(),
        });
    }
    set(settings, key, &raw.value).map_err(|reason| SettingsError::InvalidValue {
        key: key.to_owned(),
        origin: raw.origin.to_string(),
        reason,
    })
}

/// Why a value is unusable and what is accepted; [`apply`] adds the key and origin.
type Reason = String;

fn set(settings: &mut Settings, key: &str, value: &RawValue) -> Result<(), Reason> {
    match key {
        "database.url" => {
            let url = text(value)?.trim().to_owned();
            if url.is_empty() {
                return Err(
                    "expected a SQLite file path or a postgres:// URL, got an empty string".into(),
                );
            }
            settings.database.url = url;
        }
        "database.pool_size" => settings.database.pool_size = Some(to_u32(number(value, 1, 256)?)),
        "fixer.access_key" => settings.fixer.access_key = Some(access_key(value)?),
        "fixer.base_url" => settings.fixer.base_url = base_url(value)?,
        "fixer.auth_style" => {
            settings.fixer.auth_style = match text(value)?.trim().to_ascii_lowercase().as_str() {
                "auto" => None,
                "query" => Some(AuthStyle::Query),
                "header" => Some(AuthStyle::Header),
                other => {
                    return Err(format!(
                        "expected `query`, `header` or `auto`, got {other:?}"
                    ))
                }
            }
        }
        "fixer.timeout_secs" => settings.fixer.timeout_secs = number(value, 1, 600)?,
        "fixer.max_retries" => settings.fixer.max_retries = to_u32(number(value, 0, 10)?),
        "ingest.days" => settings.ingest.days = to_u32(number(value, 1, 36_500)?),
        "ingest.base" => settings.ingest.base = currency(&text(value)?)?,
        "ingest.symbols" => settings.ingest.symbols = symbols(value)?,
        "ingest.concurrency" => settings.ingest.concurrency = to_usize(number(value, 1, 32)?),
        "ingest.schedule" => settings.ingest.schedule = schedule(&text(value)?)?,
        "fetch.on_demand" => settings.fetch.on_demand = boolean(value)?,
        "fetch.daily_budget" => settings.fetch.daily_budget = to_u32(number(value, 0, 100_000)?),
        "ecb.download_url" => settings.ecb.download_url = http_url(value)?,
        "server.bind" => settings.server.bind = bind_address(&text(value)?)?,
        "server.workers" => settings.server.workers = to_usize(number(value, 1, 1024)?),
        "server.auth" => {
            settings.server.auth = match text(value)?.trim().to_ascii_lowercase().as_str() {
                "off" => ServerAuth::Off,
                "api-key" => ServerAuth::ApiKey,
                other => return Err(format!("expected `off` or `api-key`, got {other:?}")),
            }
        }
        "server.cors_origins" => settings.server.cors_origins = cors_origins(value)?,
        "server.trusted_proxies" => {
            settings.server.trusted_proxies = list(value)?
                .iter()
                .map(|item| {
                    item.parse::<IpAddr>().map_err(|_| {
                        format!("expected IP addresses such as 127.0.0.1, got {item:?}")
                    })
                })
                .collect::<Result<_, _>>()?;
        }
        "server.metrics" => settings.server.metrics = boolean(value)?,
        "log.format" => {
            settings.log.format = match text(value)?.trim().to_ascii_lowercase().as_str() {
                "text" => LogFormat::Text,
                "json" => LogFormat::Json,
                other => return Err(format!("expected `text` or `json`, got {other:?}")),
            }
        }
        "server.rate_limit.per_second" => {
            settings.server.rate_limit.per_second = per_second(value)?
        }
        "server.rate_limit.burst" => {
            settings.server.rate_limit.burst = to_u32(number(value, 1, 1_000_000)?);
        }
        other => return Err(format!("{other} is not a setting")),
    }
    Ok(())
}

fn describe(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => format!("{s:?}"),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(x) => x.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        other => format!("a {}", other.type_str()),
    }
}

fn text(value: &RawValue) -> Result<String, Reason> {
    match value {
        RawValue::Text(s) | RawValue::Toml(toml::Value::String(s)) => Ok(s.clone()),
        RawValue::Toml(other) => Err(format!("expected a string, got {}", describe(other))),
    }
}

fn number(value: &RawValue, min: u64, max: u64) -> Result<u64, Reason> {
    let expected = || format!("expected a whole number from {min} to {max}");
    let n = match value {
        RawValue::Toml(toml::Value::Integer(i)) => {
            u64::try_from(*i).map_err(|_| format!("{}, got {i}", expected()))?
        }
        RawValue::Text(s) | RawValue::Toml(toml::Value::String(s)) => s
            .trim()
            .parse::<u64>()
            .map_err(|_| format!("{}, got {s:?}", expected()))?,
        RawValue::Toml(other) => return Err(format!("{}, got {}", expected(), describe(other))),
    };
    if (min..=max).contains(&n) {
        Ok(n)
    } else {
        Err(format!("{}, got {n}", expected()))
    }
}

fn boolean(value: &RawValue) -> Result<bool, Reason> {
    let expected = "expected true or false";
    match value {
        RawValue::Toml(toml::Value::Boolean(b)) => Ok(*b),
        RawValue::Text(s) | RawValue::Toml(toml::Value::String(s)) => {
            match s.trim().to_ascii_lowercase().as_str() {
                "true" | "on" | "yes" | "1" => Ok(true),
                "false" | "off" | "no" | "0" => Ok(false),
                _ => Err(format!("{expected}, got {s:?}")),
            }
        }
        RawValue::Toml(other) => Err(format!("{expected}, got {}", describe(other))),
    }
}

/// `off`, or requests per second (a number > 0; fractions allowed).
fn per_second(value: &RawValue) -> Result<Option<PerSecond>, Reason> {
    let expected = "expected `off` or requests per second, a number > 0 such as 10 or 0.5";
    let rate = match value {
        RawValue::Toml(toml::Value::Integer(i)) => *i as f64,
        RawValue::Toml(toml::Value::Float(x)) => *x,
        RawValue::Text(s) | RawValue::Toml(toml::Value::String(s)) => {
            let trimmed = s.trim();
            if trimmed.eq_ignore_ascii_case("off") {
                return Ok(None);
            }
            trimmed
                .parse::<f64>()
                .map_err(|_| format!("{expected}, got {s:?}"))?
        }
        RawValue::Toml(other) => return Err(format!("{expected}, got {}", describe(other))),
    };
    match PerSecond::new(rate) {
        Some(rate) if rate.get() <= 1_000_000.0 => Ok(Some(rate)),
        _ => Err(format!("{expected} and at most 1000000, got {rate}")),
    }
}

// `number` has already bounded the value far below these types' limits.
fn to_u32(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn to_usize(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

/// A list from a TOML array of strings, or from one comma-separated string.
fn list(value: &RawValue) -> Result<Vec<String>, Reason> {
    let items: Vec<String> = match value {
        RawValue::Text(s) | RawValue::Toml(toml::Value::String(s)) => {
            s.split(',').map(|item| item.trim().to_owned()).collect()
        }
        RawValue::Toml(toml::Value::Array(values)) => values
            .iter()
            .map(|v| match v {
                toml::Value::String(s) => Ok(s.trim().to_owned()),
                other => Err(format!(
                    "expected a list of strings, found {}",
                    describe(other)
                )),
            })
            .collect::<Result<_, _>>()?,
        RawValue::Toml(other) => {
            return Err(format!(
                "expected a list of strings, got {}",
                describe(other)
            ))
        }
    };
    Ok(items.into_iter().filter(|item| !item.is_empty()).collect())
}

fn access_key(value: &RawValue) -> Result<AccessKey, Reason> {
    // The value itself must never appear in a message: describe the problem only.
    let key = match value {
        RawValue::Text(s) | RawValue::Toml(toml::Value::String(s)) => s.trim(),
        RawValue::Toml(other) => {
            return Err(format!("expected a string, got a {}", other.type_str()))
        }
    };
    if key.is_empty() {
        return Err("the access key is empty".into());
    }
    if key.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("the access key contains whitespace or control characters".into());
    }
    if key.len() > 256 {
        return Err("the access key is longer than 256 characters".into());
    }
    Ok(AccessKey::new(key))
}

fn base_url(value: &RawValue) -> Result<String, Reason> {
    http_url(value).map_err(|_| {
        format!(
            "expected an http:// or https:// URL such as https://data.fixer.io/api, got {:?}",
            text(value).unwrap_or_default()
        )
    })
}

/// An `http://` or `https://` URL with a host, without a trailing slash.
fn http_url(value: &RawValue) -> Result<String, Reason> {
    let url = text(value)?;
    let trimmed = url.trim().trim_end_matches('/');
    let rest = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"));
    match rest {
        Some(host)
            if !host.is_empty()
                && !host.starts_with('/')
                && !trimmed.contains(char::is_whitespace) =>
        {
            Ok(trimmed.to_owned())
        }
        _ => Err(format!("expected an http:// or https:// URL, got {url:?}")),
    }
}

/// `ADDRESS:PORT`, or `HOST:PORT` with a host name resolved now (`localhost:8080`); of a name's
/// addresses the first IPv4 one is taken, as `localhost` means 127.0.0.1 to most people.
fn bind_address(text: &str) -> Result<SocketAddr, Reason> {
    let trimmed = text.trim();
    if let Ok(address) = trimmed.parse::<SocketAddr>() {
        return Ok(address);
    }
    let expected = || {
        format!("expected an address or host name and a port such as 127.0.0.1:8080 or localhost:8080, got {text:?}")
    };
    let (host, port) = trimmed.rsplit_once(':').ok_or_else(expected)?;
    if host.is_empty() || port.parse::<u16>().is_err() {
        return Err(expected());
    }
    let addresses: Vec<SocketAddr> = trimmed
        .to_socket_addrs()
        .map_err(|error| format!("cannot resolve the host name {host:?}: {error}"))?
        .collect();
    addresses
        .iter()
        .find(|address| address.is_ipv4())
        .or(addresses.first())
        .copied()
        .ok_or_else(|| format!("the host name {host:?} has no address"))
}

/// A currency code: three ASCII letters, upper-cased.
fn currency(code: &str) -> Result<String, Reason> {
    let trimmed = code.trim();
    if trimmed.len() == 3 && trimmed.bytes().all(|b| b.is_ascii_alphabetic()) {
        Ok(trimmed.to_ascii_uppercase())
    } else {
        Err(format!(
            "expected a three-letter currency code such as EUR, got {code:?}"
        ))
    }
}

fn symbols(value: &RawValue) -> Result<Vec<String>, Reason> {
    let items = list(value)?;
    if items.len() == 1 && items.iter().all(|item| item.eq_ignore_ascii_case("all")) {
        return Ok(Vec::new());
    }
    let mut codes: Vec<String> = Vec::with_capacity(items.len());
    for item in &items {
        let code = currency(item)?;
        if !codes.contains(&code) {
            codes.push(code);
        }
    }
    Ok(codes)
}

/// The shortest schedule accepted: anything tighter only burns Fixer's quota.
const MIN_SCHEDULE: Duration = Duration::from_secs(60);

fn schedule(text: &str) -> Result<Schedule, Reason> {
    let trimmed = text.trim();
    if trimmed.eq_ignore_ascii_case("off") {
        return Ok(Schedule::Off);
    }
    let every = humantime::parse_duration(trimmed)
        .map_err(|_| format!("expected `off` or a duration such as 1h or 30m, got {text:?}"))?;
    if every < MIN_SCHEDULE {
        return Err(format!("the shortest schedule is 1m, got {text:?}"));
    }
    Ok(Schedule::Every(every))
}

fn cors_origins(value: &RawValue) -> Result<CorsOrigins, Reason> {
    let items = list(value)?;
    if items.iter().any(|item| item == "*") {
        return if items.len() == 1 {
            Ok(CorsOrigins::Any)
        } else {
            Err("`*` allows every origin and cannot be combined with others".into())
        };
    }
    for origin in &items {
        let rest = origin
            .strip_prefix("https://")
            .or_else(|| origin.strip_prefix("http://"));
        match rest {
            Some(host) if !host.is_empty() && !host.contains(['/', '?', '#', ' ']) => {}
            _ => {
                return Err(format!(
                    "expected `*` or origins such as https://example.com (scheme, host and optional port, no path), got {origin:?}"
                ))
            }
        }
    }
    Ok(CorsOrigins::List(items))
}
