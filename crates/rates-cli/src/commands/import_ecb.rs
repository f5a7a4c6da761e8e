//! `rates-cli import-ecb FILE`: bulk-load the ECB's reference-rate history through
//! [`rates_ingest::ecb::EcbImport`], printing a line per committed batch and a summary.
//!
//! The whole file is read and checked before the database is even opened: a bad file writes
//! nothing and creates nothing.

use anyhow::Context as _;
use rates_ingest::ecb::{EcbImport, EcbSource};

use crate::cli::{Cli, ImportEcbArgs};
use crate::output::Output;
use crate::{settings, CliError, Finished};

/// Runs `import-ecb`.
pub fn run(cli: &Cli, args: &ImportEcbArgs) -> Result<Finished, CliError> {
    let settings = settings::load(cli, &[])?;
    let source = EcbSource::File(args.file.clone());
    let import =
        EcbImport::read(source, &mut |_, _| {}).map_err(|error| CliError::Failure(error.into()))?;
    let store = settings::open_store(&settings)?;

    let mut output = Output::new(cli.json);
    output.start_progress(import.dates() as u64, "importing");
    let report = import.write(&store, &mut |batch| {
        output.line(&batch.to_string());
        output.advance(batch.dates as u64);
    });
    output.finish_progress();
    let report = report
        .context("writing the rates (days before the failing batch are stored, whole)")
        .map_err(CliError::Failure)?;
    output.line(&format!("Summary: {}", report.summary()));
    output.json(&report);
    Ok(Finished::Success)
}
