//! `rates-cli import-ecb FILE`: bulk-load the ECB's reference-rate history.
//!
//! The whole file is read and checked first: a malformed row aborts the import before anything
//! is written, with an error naming its line (a partial history would look complete to a reader
//! of the API while missing days). The tables are then written through the store's bulk path,
//! in batches of whole days.

use std::time::Instant;

use anyhow::{anyhow, Context as _};
use rates_domain::{format_date, Source};
use rates_ingest::ecb::{read_ecb_file, EcbFileError};
use rates_store::{WriteCounts, DEFAULT_DAYS_PER_BATCH};
use serde_json::json;

use crate::cli::{Cli, ImportEcbArgs};
use crate::output::{thousands, Output};
use crate::{settings, CliError, Finished};

/// Runs `import-ecb`.
pub fn run(cli: &Cli, args: &ImportEcbArgs) -> Result<Finished, CliError> {
    let settings = settings::load(cli, &[])?;
    let started = Instant::now();
    let history = read_ecb_file(&args.file).map_err(|error| match error {
        // These already name the file.
        EcbFileError::Read { .. } | EcbFileError::Zip { .. } => CliError::Failure(error.into()),
        other => CliError::Failure(anyhow!("{}: {other}", args.file.display())),
    })?;
    let store = settings::open_store(&settings)?;

    let mut output = Output::new(cli.json);
    output.start_progress(history.tables.len() as u64, "importing");
    let mut tables = history.tables;
    // The store writes oldest first; sorting the same way lets each batch's line name its dates.
    tables.sort_by_key(|table| table.date());
    let mut written = 0;
    let mut counts_so_far = WriteCounts::default();
    let totals = store
        .bulk_upsert_with_progress(
            &tables,
            Source::EcbImport,
            DEFAULT_DAYS_PER_BATCH,
            |progress| {
                let batch = tables.get(written..progress.days_done).unwrap_or_default();
                let counts = WriteCounts {
                    inserted: progress.counts.inserted - counts_so_far.inserted,
                    updated: progress.counts.updated - counts_so_far.updated,
                    unchanged: progress.counts.unchanged - counts_so_far.unchanged,
                };
                if let (Some(first), Some(last)) = (batch.first(), batch.last()) {
                    output.line(&format!(
                        "{}..{}  {} dates: inserted {}, updated {}, unchanged {}",
                        format_date(first.date()),
                        format_date(last.date()),
                        batch.len(),
                        thousands(counts.inserted),
                        thousands(counts.updated),
                        thousands(counts.unchanged),
                    ));
                }
                output.advance((progress.days_done - written) as u64);
                written = progress.days_done;
                counts_so_far = progress.counts;
            },
        )
        .context("writing the rates (days before the failing batch are stored, whole)")
        .map_err(CliError::Failure)?;
    output.finish_progress();

    let elapsed = started.elapsed();
    let (first, last) = (
        tables.first().map(|t| t.date()),
        tables.last().map(|t| t.date()),
    );
    output.line(&format!(
        "Summary: {} dates ({}..{}), rates inserted {}, updated {}, unchanged {}; {} N/A cells skipped; {:.2}s",
        thousands(tables.len() as u64),
        first.map(format_date).unwrap_or_default(),
        last.map(format_date).unwrap_or_default(),
        thousands(totals.inserted),
        thousands(totals.updated),
        thousands(totals.unchanged),
        thousands(history.skipped_cells as u64),
        elapsed.as_secs_f64(),
    ));
    output.json(&json!({
        "file": args.file.display().to_string(),
        "dates": tables.len(),
        "first_date": first.map(format_date),
        "last_date": last.map(format_date),
        "totals": {"inserted": totals.inserted, "updated": totals.updated, "unchanged": totals.unchanged},
        "skipped_cells": history.skipped_cells,
        "elapsed_ms": u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX),
    }));
    Ok(Finished::Success)
}
