#![doc = include_str!("../README.md")]
#![deny(missing_docs)]

mod error;
mod keys;
mod load;
mod secret;
mod sections;
mod sources;

pub use error::SettingsError;
pub use keys::{environment_help, KeyInfo, KEYS};
pub use load::{DEFAULT_CONFIG_DIR, ENV_NAME_VAR};
pub use secret::AccessKey;
pub use sections::{
    AuthStyle, CorsOrigins, DatabaseSettings, EcbSettings, FetchSettings, FixerSettings,
    IngestSettings, LogFormat, LogSettings, PerSecond, RateLimitSettings, Schedule, ServerAuth,
    ServerSettings, Settings, DEFAULT_ECB_DOWNLOAD_URL, DEFAULT_FIXER_BASE_URL,
};
pub use sources::Sources;
