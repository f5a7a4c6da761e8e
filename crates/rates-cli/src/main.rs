#![doc = include_str!("../README.md")]

mod cli;
mod commands;
mod output;
mod settings;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

/// How a command ended, when it did not end in success.
#[derive(Debug)]
pub enum CliError {
    /// Bad arguments or configuration: exit 2.
    Usage(anyhow::Error),
    /// Something failed while running: exit 1.
    Failure(anyhow::Error),
}

impl CliError {
    fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => 2,
            CliError::Failure(_) => 1,
        }
    }

    fn error(&self) -> &anyhow::Error {
        match self {
            CliError::Usage(error) | CliError::Failure(error) => error,
        }
    }
}

/// What a command that ran to its end reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finished {
    /// Everything succeeded: exit 0.
    Success,
    /// It ran, but part of it failed (named in its output): exit 1.
    PartlyFailed,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(u8::try_from(error.exit_code()).unwrap_or(2));
        }
    };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn"))
        // The HTTP library logs request lines, access key included, at debug: cap it whatever
        // RUST_LOG says (a directive added after the environment's replaces its own).
        .filter_module(rates_ingest::HTTP_LOG_TARGET, log::LevelFilter::Info)
        .format_timestamp(None)
        .init();

    let result = match &cli.command {
        Command::Completions { shell } => commands::docs::completions(*shell),
        Command::Man => commands::docs::man(),
        Command::Migrate(args) => commands::migrate::run(&cli, args),
        Command::Ingest(args) => commands::ingest::run(&cli, args),
        Command::ImportEcb(args) => commands::import_ecb::run(&cli, args),
        Command::Keys(command) => commands::keys::run(&cli, command),
    };
    match result {
        Ok(Finished::Success) => ExitCode::SUCCESS,
        Ok(Finished::PartlyFailed) => ExitCode::from(1),
        Err(error) => {
            eprintln!("error: {}", one_line(error.error()));
            ExitCode::from(error.exit_code())
        }
    }
}

/// The error and its causes on one line, leaving out a cause whose text the message before it
/// already includes (many errors quote their source).
fn one_line(error: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line.replace('\n', " ")
}
