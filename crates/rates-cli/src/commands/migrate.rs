//! `rates-cli migrate [--status]`: apply pending migrations, or list them.

use anyhow::Context as _;
use rates_store::Store;
use serde_json::json;

use crate::cli::{Cli, MigrateArgs};
use crate::output::Output;
use crate::{settings, CliError, Finished};

/// Runs `migrate`.
pub fn run(cli: &Cli, args: &MigrateArgs) -> Result<Finished, CliError> {
    let settings = settings::load(cli, &[])?;
    let database = settings.database.redacted_url();
    let failure = |error: anyhow::Error| CliError::Failure(error);
    let store = Store::connect(&settings.database.url, settings.database.pool_size)
        .with_context(|| format!("cannot open the database {database}"))
        .map_err(failure)?;
    let output = Output::new(cli.json);
    if args.status {
        let applied = store
            .applied_migrations()
            .context("reading the applied migrations")
            .map_err(failure)?;
        let pending = store
            .pending_migrations()
            .context("reading the pending migrations")
            .map_err(failure)?;
        for name in &applied {
            output.line(&format!("applied  {name}"));
        }
        for name in &pending {
            output.line(&format!("pending  {name}"));
        }
        output.line(&format!(
            "{database}: {} applied, {} pending",
            applied.len(),
            pending.len()
        ));
        output.json(&json!({"database": database, "applied": applied, "pending": pending}));
    } else {
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
