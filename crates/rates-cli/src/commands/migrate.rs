//! `rates-cli migrate [--status]`: apply pending migrations, or list applied and pending ones by
//! name (`2026-11-28-000001_create_rates`), creating nothing.

use anyhow::Context as _;
use rates_store::Store;
use serde_json::json;

use crate::cli::{Cli, MigrateArgs};
use crate::output::Output;
use crate::{settings, CliError, Finished};

/// Runs `migrate`.
pub fn run(cli: &Cli, args: &MigrateArgs) -> Result<Finished, CliError> {
    let settings = settings::load(cli, &[])?;
    let database = rates_store::redact_database_url(&settings.database.url);
    let failure = |error: anyhow::Error| CliError::Failure(error);
    let output = Output::new(cli.json);
    if args.status {
        // Changes nothing, and creates no SQLite file where none exists.
        let status = Store::migration_status(&settings.database.url)
            .with_context(|| format!("cannot open the database {database}"))
            .map_err(failure)?;
        for name in &status.applied {
            output.line(&format!("applied  {name}"));
        }
        for name in &status.pending {
            output.line(&format!("pending  {name}"));
        }
        output.line(&format!(
            "{database}: {}{} applied, {} pending",
            if status.exists {
                ""
            } else {
                "does not exist yet; "
            },
            status.applied.len(),
            status.pending.len()
        ));
        output.json(&json!({
            "database": database,
            "exists": status.exists,
            "applied": status.applied,
            "pending": status.pending,
        }));
    } else {
        let store = Store::connect(&settings.database.url, settings.database.pool_size)
            .with_context(|| format!("cannot open the database {database}"))
            .map_err(failure)?;
        let applied = store
            .run_pending_migrations()
            .context("applying migrations")
            .map_err(failure)?;
        for name in &applied {
            output.line(&format!("applied  {name}"));
        }
        output.line(&if applied.is_empty() {
            format!("{database}: up to date, nothing to apply")
        } else {
            format!("{database}: {} migration(s) applied", applied.len())
        });
        output.json(&json!({"database": database, "applied": applied}));
    }
    Ok(Finished::Success)
}
