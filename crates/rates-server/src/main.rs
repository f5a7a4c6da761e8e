//! The rates-server binary: configuration, logging, the HTTP server, scheduled ingest and
//! graceful shutdown.
//!
//! Thin on purpose: it reads the settings (`rates-settings`), opens the store (applying
//! migrations), builds the API (`rates-api`) on a listener it binds itself, starts the scheduled
//! ingest when `ingest.schedule` asks for one, and stops gracefully on SIGTERM or SIGINT. Every start-up failure is one line on stderr and exit status 1.

mod cli;
mod logging;
mod scheduler;
mod shutdown;
mod startup;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    let log = logging::init();
    let result = startup::run(&args);
    log.flush();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("rates-server: {}", one_line(&error));
            ExitCode::FAILURE
        }
    }
}

/// The error and its causes on one line: a cause already quoted by the message above it (many
/// errors repeat their source) is not repeated, and line breaks inside messages (libpq writes
/// several lines) become spaces.
fn one_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if line.contains(text.trim()) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_skips_repeated_causes_and_joins_lines() {
        let source = std::io::Error::other("refused\n\tIs the server running?\n");
        let error = anyhow::Error::new(std::io::Error::other(format!("cannot connect: {source}")))
            .context("cannot open the database");
        assert_eq!(
            one_line(&error),
            "cannot open the database: cannot connect: refused Is the server running?"
        );
    }
}
