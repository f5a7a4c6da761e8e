//! Command-line flags; each one overrides the setting it names.

use std::path::PathBuf;

use clap::Parser;
use rates_settings::Sources;

/// Serve exchange rates over HTTP.
///
/// Settings come from config/default.toml, config/$RATES_ENV.toml, .env, the environment
/// (DATABASE_URL, RATES__SERVER__BIND, ...) and these flags, in rising order of precedence.
#[derive(Debug, Parser)]
#[command(
    name = "rates-server",
    version,
    about,
    after_help = rates_settings::environment_help()
)]
pub struct Args {
    /// Address or host name and port to listen on, e.g. 0.0.0.0:8080 or localhost:8080
    /// (server.bind, RATES__SERVER__BIND).
    #[arg(long, value_name = "HOST:PORT")]
    pub bind: Option<String>,

    /// Number of HTTP worker threads (server.workers, RATES__SERVER__WORKERS).
    #[arg(long, value_name = "N")]
    pub workers: Option<String>,

    /// Database: a SQLite file path or a postgres:// URL (database.url, DATABASE_URL).
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,

    /// Directory holding default.toml and $RATES_ENV.toml (default: ./config).
    #[arg(long, value_name = "DIR")]
    pub config: Option<PathBuf>,
}

impl Args {
    /// Adds the flags given to `sources` as the top settings layer.
    pub fn apply(&self, mut sources: Sources) -> Sources {
        if let Some(dir) = &self.config {
            sources = sources.config_dir(dir);
        }
        let flags = [
            ("server.bind", "--bind", &self.bind),
            ("server.workers", "--workers", &self.workers),
            ("database.url", "--database-url", &self.database_url),
        ];
        for (key, name, value) in flags {
            if let Some(value) = value {
                sources = sources.flag(key, name, value.as_str());
            }
        }
        sources
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn flags_are_well_formed() {
        Args::command().debug_assert();
    }

    #[test]
    fn flags_override_the_settings_they_name() {
        let args = Args::parse_from([
            "rates-server",
            "--bind",
            "0.0.0.0:9000",
            "--workers",
            "3",
            "--database-url",
            "other.db",
        ]);
        let dir = tempfile::tempdir().unwrap();
        let sources = args.apply(Sources::new(dir.path()).env_var("RATES__SERVER__WORKERS", "7"));
        let settings = rates_settings::Settings::load(&sources).unwrap();
        assert_eq!(settings.server.bind.to_string(), "0.0.0.0:9000");
        assert_eq!(settings.server.workers, 3);
        assert_eq!(settings.database.url, "other.db");
    }
}
