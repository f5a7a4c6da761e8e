//! The rates-server binary: wiring only. Flags and settings in, the logger installed, the
//! listener bound, [`rates_server::Application`] built and run until SIGTERM or SIGINT. Every
//! start-up failure is one line on stderr; the exit status is 2 for bad flags or settings (as
//! for rates-cli and every clap program), 1 for anything else.

mod cli;

use std::net::TcpListener;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use rates_server::{logging, shutdown, Application};
use rates_settings::{Settings, Sources};

fn main() -> ExitCode {
    let args = cli::Args::parse();
    // The settings say how to log, so they are read first; an error reading them is still one
    // line on stderr, below.
    let settings = Sources::from_process()
        .map_err(anyhow::Error::from)
        .and_then(|sources| Ok(Settings::load(&args.apply(sources))?));
    let format = match settings.as_ref().map(|settings| settings.log.format) {
        Ok(rates_settings::LogFormat::Json) => logging::LogFormat::Json,
        _ => logging::LogFormat::Text,
    };
    let log = logging::init(format);
    let result = settings.and_then(|settings| run(&settings));
    log.finish();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("rates-server: {}", one_line(&error));
            ExitCode::from(exit_status(&error))
        }
    }
}

/// 2 when the error comes from the flags or settings (an unusable value, a missing key), 1
/// otherwise (the database, the listener, the runtime).
fn exit_status(error: &anyhow::Error) -> u8 {
    let from_settings = error.chain().any(|cause| {
        cause.is::<rates_settings::SettingsError>()
            || cause.is::<rates_domain::CurrencyError>()
            || cause
                .downcast_ref::<rates_ingest::IngestError>()
                .is_some_and(rates_ingest::IngestError::is_usage_error)
    });
    if from_settings {
        2
    } else {
        1
    }
}

fn run(settings: &Settings) -> anyhow::Result<()> {
    let bind = settings.server.bind;
    let listener = TcpListener::bind(bind).with_context(|| format!("cannot listen on {bind}"))?;
    let application = Application::build(settings, listener)?;
    actix_web::rt::System::new().block_on(async move {
        let stop = shutdown::on_terminate().context("cannot install the signal handlers")?;
        application.run_until_stopped(stop).await
    })
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
