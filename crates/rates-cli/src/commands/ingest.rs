//! `rates-cli ingest`: plan the dates, fetch them from Fixer, store them, report.

use std::collections::BTreeSet;

use anyhow::anyhow;
use rates_domain::{format_date, today_utc, DateRange};
use rates_ingest::{compact_dates, DateOutcome, DateSelection, IngestOptions, Plan};
use serde_json::json;
use time::Date;

use crate::cli::{Cli, IngestArgs};
use crate::output::Output;
use crate::{settings, CliError, Finished};

/// Runs `ingest`.
pub fn run(cli: &Cli, args: &IngestArgs) -> Result<Finished, CliError> {
    let mut flags = Vec::new();
    if let Some(days) = args.days {
        flags.push(("ingest.days", "--days", days.to_string()));
    }
    if let Some(base) = &args.base {
        flags.push(("ingest.base", "--base", base.clone()));
    }
    if let Some(symbols) = &args.symbols {
        flags.push(("ingest.symbols", "--symbols", symbols.clone()));
    }
    let settings = settings::load(cli, &flags)?;
    let usage = |error: rates_ingest::IngestError| {
        if error.is_usage_error() {
            CliError::Usage(error.into())
        } else {
            CliError::Failure(error.into())
        }
    };
    let mut options = IngestOptions::from_settings(&settings.ingest).map_err(usage)?;
    options.only_missing = args.only_missing;
    if let Some(selection) = explicit_selection(args)? {
        options.selection = selection;
    }
    // A dry run sends nothing, so it needs no access key.
    let client = if args.dry_run {
        None
    } else {
        Some(rates_ingest::client_from_settings(&settings.fixer).map_err(usage)?)
    };
    let store = settings::open_store(&settings)?;
    let plan = rates_ingest::plan(&options, today_utc(), &store).map_err(usage)?;

    let mut output = Output::new(cli.json);
    let Some(client) = client else {
        print_plan(&output, &plan);
        return Ok(Finished::Success);
    };
    output.start_progress(plan.dates.len() as u64, "ingesting");
    // Not cancelled from here: Ctrl-C ends the process, and each date is stored whole or not at all.
    let cancel = rates_ingest::Cancellation::new();
    let report = rates_ingest::ingest(&client, &store, &plan, &cancel, &mut |date| {
        // A stopped run's reason is said once, in the summary, not once per date.
        if date.outcome != DateOutcome::RunStopped {
            output.line(&date.to_string());
        }
        output.advance(1);
    });
    output.finish_progress();
    output.line(&format!("Summary: {}", report.summary()));
    output.json(&report);
    Ok(if report.succeeded() {
        Finished::Success
    } else {
        Finished::PartlyFailed
    })
}

/// `--date` and `--from/--to`, merged; `None` when neither was given.
fn explicit_selection(args: &IngestArgs) -> Result<Option<DateSelection>, CliError> {
    let mut dates: BTreeSet<Date> = args.dates.iter().copied().collect();
    if let (Some(from), Some(to)) = (args.from, args.to) {
        let range = DateRange::new(from, to)
            .map_err(|error| CliError::Usage(anyhow!("--from/--to: {error}")))?;
        dates.extend(range.iter());
    }
    Ok((!dates.is_empty()).then_some(DateSelection::Dates(dates)))
}

fn symbols_text(plan: &Plan) -> String {
    if plan.symbols.is_empty() {
        "all currencies".to_owned()
    } else {
        plan.symbols
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }
}

fn print_plan(output: &Output, plan: &Plan) {
    let cost = plan.request_cost();
    output.line(&format!(
        "Plan: {} date(s) in base {} ({}): {}",
        plan.dates.len(),
        plan.base,
        symbols_text(plan),
        if plan.dates.is_empty() {
            "nothing to fetch".to_owned()
        } else {
            compact_dates(&plan.dates)
        }
    ));
    if !plan.already_held.is_empty() {
        output.line(&format!(
            "Already held, skipped: {}",
            compact_dates(&plan.already_held)
        ));
    }
    output.line(&format!(
        "Cost: {} Fixer request(s) where the plan has the timeseries endpoint (Professional and up); {} with one request per date (Free, Basic){}",
        cost.with_timeseries,
        cost.per_date,
        if cost.names > 0 { "; both include 1 for currency names" } else { "" }
    ));
    output.json(&json!({
        "dry_run": true,
        "base": plan.base.as_str(),
        "symbols": plan.symbols.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        "dates": plan.dates.iter().map(|d| format_date(*d)).collect::<Vec<_>>(),
        "already_held": plan.already_held.iter().map(|d| format_date(*d)).collect::<Vec<_>>(),
        "fetch_names": plan.fetch_names,
        "cost": {
            "with_timeseries": cost.with_timeseries,
            "per_date": cost.per_date,
            "names": cost.names,
        },
    }));
}
