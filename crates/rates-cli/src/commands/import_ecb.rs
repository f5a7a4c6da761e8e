//! `rates-cli import-ecb FILE` / `import-ecb --download`: bulk-load the ECB's reference-rate
//! history through [`rates_ingest::ecb::EcbImport`], printing a line per committed batch and a
//! summary. `--download` fetches it from `ecb.download_url` first, with a progress bar on a
//! terminal.
//!
//! The whole file is read and checked before the database is even opened: a bad file or a
//! failed download writes nothing and creates nothing.

use anyhow::Context as _;
use rates_ingest::ecb::{EcbImport, EcbSource};

use crate::cli::{Cli, ImportEcbArgs};
use crate::output::Output;
use crate::{settings, CliError, Finished};

/// Runs `import-ecb`.
pub fn run(cli: &Cli, args: &ImportEcbArgs) -> Result<Finished, CliError> {
    let settings = settings::load(cli, &[])?;
    let source = match (&args.file, args.download) {
        (Some(file), false) => EcbSource::File(file.clone()),
        (None, true) => EcbSource::Download(settings.ecb.download_url.clone()),
        // clap lets exactly one of them through.
        _ => {
            return Err(CliError::Usage(anyhow::anyhow!(
                "give either FILE or --download"
            )))
        }
    };
    let mut output = Output::new(cli.json);
    if let EcbSource::Download(url) = &source {
        output.line(&format!("Downloading {url}"));
    }
    let import = EcbImport::read(source, &mut |bytes, total| {
        output.download_progress(bytes, total);
    });
    output.finish_progress();
    let import = import.map_err(|error| CliError::Failure(error.into()))?;
    let store = settings::open_store(&settings)?;

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
