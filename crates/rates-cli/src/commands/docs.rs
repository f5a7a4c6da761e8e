//! `rates-cli completions SHELL` and `rates-cli man`: the shell completion script and the manual
//! page, generated from the same command definition as `--help`, so they never fall behind it.

use std::io::Write as _;

use anyhow::Context as _;
use clap::CommandFactory as _;

use crate::cli::Cli;
use crate::{CliError, Finished};

/// Prints the completion script for `shell` on standard output.
pub fn completions(shell: clap_complete::Shell) -> Result<Finished, CliError> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "rates-cli", &mut script);
    print(&script)
}

/// Prints the manual page, `rates-cli(1)` in roff, on standard output.
pub fn man() -> Result<Finished, CliError> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut page)
        .context("rendering the manual page")
        .map_err(CliError::Failure)?;
    print(&page)
}

fn print(bytes: &[u8]) -> Result<Finished, CliError> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => Ok(Finished::Success),
        // `| head` closing the pipe is not a failure worth reporting.
        Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => Ok(Finished::Success),
        Err(error) => Err(CliError::Failure(
            anyhow::Error::new(error).context("writing to standard output"),
        )),
    }
}
