//! Loading the settings with the command line's own flags as the top layer, and opening the store.

use anyhow::Context as _;
use rates_settings::{Settings, Sources};
use rates_store::Store;

use crate::cli::Cli;
use crate::CliError;

/// Settings from every layer, with `--config`, `--database-url` and the command's `extra`
/// flags (`(key, flag, value)`) on top. Any problem is a usage error (exit 2).
pub fn load(cli: &Cli, extra: &[(&str, &str, String)]) -> Result<Settings, CliError> {
    let mut sources = Sources::from_process().map_err(|error| CliError::Usage(error.into()))?;
    if let Some(dir) = &cli.config_dir {
        sources = sources.config_dir(dir);
    }
    if let Some(url) = &cli.database_url {
        sources = sources.flag("database.url", "--database-url", url.as_str());
    }
    for (key, flag, value) in extra {
        sources = sources.flag(*key, *flag, value.as_str());
    }
    Settings::load(&sources).map_err(|error| CliError::Usage(error.into()))
}

/// Opens the database and applies pending migrations, as every command but `migrate` does.
pub fn open_store(settings: &Settings) -> Result<Store, CliError> {
    Store::open(&settings.database.url, settings.database.pool_size)
        .with_context(|| {
            format!(
                "cannot open the database {}",
                rates_store::redact_database_url(&settings.database.url)
            )
        })
        .map_err(CliError::Failure)
}
