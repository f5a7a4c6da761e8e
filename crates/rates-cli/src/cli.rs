//! The command line: every command, flag and its help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use rates_domain::parse_date;
use time::Date;

/// Loads exchange rates into the rates database: migrations, Fixer ingests and backfills, ECB
/// history imports, and API keys.
#[derive(Debug, Parser)]
#[command(
    name = "rates-cli",
    version,
    about,
    propagate_version = true,
    after_help = rates_settings::environment_help()
)]
pub struct Cli {
    /// Database URL: a SQLite file path or postgres://... (overrides DATABASE_URL and database.url).
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// Directory of the TOML configuration files (default: config/ in the working directory).
    #[arg(long = "config", global = true, value_name = "DIR")]
    pub config_dir: Option<PathBuf>,
    /// Print a machine-readable JSON report on standard output instead of lines.
    #[arg(long, global = true)]
    pub json: bool,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply pending database migrations (or list them with --status).
    Migrate(MigrateArgs),
    /// Fetch rates from Fixer and store them (default: the 10 days ending today, UTC).
    Ingest(IngestArgs),
    /// Bulk-load the ECB's reference-rate history (eurofxref-hist.csv or its .zip, or --download
    /// it), base EUR.
    ImportEcb(ImportEcbArgs),
    /// Manage the API keys rates-server accepts when server.auth = "api-key".
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Print a shell completion script, e.g. `rates-cli completions bash >
    /// /etc/bash_completion.d/rates-cli`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `rates-cli man > /usr/local/share/man/man1/rates-cli.1`.
    Man,
}

/// `migrate`
#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// List applied and pending migrations without applying anything.
    #[arg(long)]
    pub status: bool,
}

/// `ingest`
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// The N calendar days ending today, UTC (default: ingest.days, 10).
    #[arg(long, value_name = "N", conflicts_with_all = ["dates", "from"], value_parser = clap::value_parser!(u32).range(1..=36_500))]
    pub days: Option<u32>,
    /// A date to ingest, YYYY-MM-DD; repeat for several (combines with --from/--to).
    #[arg(long = "date", value_name = "DATE", value_parser = date_arg)]
    pub dates: Vec<Date>,
    /// First date of a range, YYYY-MM-DD (with --to).
    #[arg(long, value_name = "DATE", requires = "to", value_parser = date_arg)]
    pub from: Option<Date>,
    /// Last date of a range, YYYY-MM-DD (with --from).
    #[arg(long, value_name = "DATE", requires = "from", value_parser = date_arg)]
    pub to: Option<Date>,
    /// Base currency to request (default: ingest.base, EUR; other bases need a paid Fixer plan).
    #[arg(long, value_name = "CODE")]
    pub base: Option<String>,
    /// Currencies to request, comma-separated (default: ingest.symbols, all).
    #[arg(long, value_name = "CODES")]
    pub symbols: Option<String>,
    /// Skip dates already stored.
    #[arg(long)]
    pub only_missing: bool,
    /// Print the plan and the Fixer requests it would cost, and stop.
    #[arg(long)]
    pub dry_run: bool,
}

/// `import-ecb`
#[derive(Debug, Args)]
pub struct ImportEcbArgs {
    /// The ECB history file: eurofxref-hist.csv, or the eurofxref-hist.zip holding it.
    #[arg(value_name = "FILE", required_unless_present = "download")]
    pub file: Option<PathBuf>,
    /// Download the history from ecb.download_url (RATES__ECB__DOWNLOAD_URL; default the ECB's
    /// eurofxref-hist.zip) instead of reading a file.
    #[arg(long, conflicts_with = "file")]
    pub download: bool,
}

/// `keys ...`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a key and print it once; only its SHA-256 hash is stored.
    Create {
        /// A name to recognise the key by (who or what uses it).
        #[arg(long)]
        name: String,
    },
    /// List keys: id, name, created, last used, revoked.
    List,
    /// Revoke a key by id; requests with it are refused from then on.
    Revoke {
        /// The key's id, as `keys list` shows it.
        id: i64,
    },
}

fn date_arg(text: &str) -> Result<Date, String> {
    parse_date(text).map_err(|error| error.to_string())
}
