//! `rates-cli ingest`: plan the dates, fetch them from Fixer, store them, report.

use std::collections::BTreeSet;

use anyhow::anyhow;
use rates_domain::{format_date, today_utc, DateRange};
use rates_ingest::{
    DateOutcome, DateReport, DateSelection, FetchStrategy, IngestOptions, NamesOutcome, Plan,
    Report,
};
use rates_store::WriteCounts;
use serde_json::{json, Value};
use time::Date;

use crate::cli::{Cli, IngestArgs};
use crate::output::{thousands, Output};
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
    let report = rates_ingest::run(&client, &store, &plan, options.concurrency, &mut |date| {
        output.line(&date_line(date));
        output.advance(1);
    });
    output.finish_progress();
    print_summary(&output, &report);
    output.json(&report_json(&report));
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

fn counts_text(counts: &WriteCounts) -> String {
    let mut parts = Vec::new();
    for (label, n) in [
        ("inserted", counts.inserted),
        ("updated", counts.updated),
        ("unchanged", counts.unchanged),
    ] {
        if n > 0 {
            parts.push(format!("{label} {}", thousands(n)));
        }
    }
    if parts.is_empty() {
        "nothing to store".to_owned()
    } else {
        parts.join(", ")
    }
}

fn date_line(report: &DateReport) -> String {
    match &report.outcome {
        DateOutcome::Stored(counts) => {
            format!("{}  {}", format_date(report.date), counts_text(counts))
        }
        DateOutcome::Failed { reason } => format!("{}  FAILED: {reason}", format_date(report.date)),
    }
}

/// Consecutive dates written as ranges: `2024-01-01..2024-01-31, 2024-03-05`.
fn compact_dates(dates: &[Date]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut iter = dates.iter().copied().peekable();
    while let Some(start) = iter.next() {
        let mut end = start;
        while let Some(next) = iter
            .peek()
            .copied()
            .filter(|next| end.next_day() == Some(*next))
        {
            end = next;
            iter.next();
        }
        parts.push(if start == end {
            format_date(start)
        } else {
            format!("{}..{}", format_date(start), format_date(end))
        });
    }
    parts.join(", ")
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

fn strategy_text(strategy: FetchStrategy) -> &'static str {
    match strategy {
        FetchStrategy::Nothing => "nothing",
        FetchStrategy::PerDate => "per-date",
        FetchStrategy::Timeseries => "timeseries",
        FetchStrategy::PerDateAfterTimeseriesRefused => "per-date-after-timeseries-refused",
    }
}

fn print_summary(output: &Output, report: &Report) {
    let failed = report.failed_dates();
    let mut summary = format!(
        "Summary: {} date(s), {} stored, {} failed",
        report.dates.len(),
        report.stored_count(),
        failed.len()
    );
    if !failed.is_empty() {
        summary.push_str(&format!(" ({})", compact_dates(&failed)));
    }
    if !report.already_held.is_empty() {
        summary.push_str(&format!(", {} already held", report.already_held.len()));
    }
    summary.push_str(&format!(
        "; rates inserted {}, updated {}, unchanged {}",
        thousands(report.totals.inserted),
        thousands(report.totals.updated),
        thousands(report.totals.unchanged)
    ));
    output.line(&summary);

    let mut requests = format!("Fixer requests: {}", report.requests);
    match report.strategy {
        FetchStrategy::Timeseries => requests.push_str(" (timeseries)"),
        FetchStrategy::PerDateAfterTimeseriesRefused => {
            requests.push_str(" (timeseries not in the plan: one request per date)");
        }
        FetchStrategy::PerDate | FetchStrategy::Nothing => {}
    }
    if let Some(quota) = report.quota {
        match (quota.remaining_month, quota.limit_month) {
            (Some(left), Some(limit)) => {
                requests.push_str(&format!("; quota left this month: {left} of {limit}"))
            }
            (Some(left), None) => requests.push_str(&format!("; quota left this month: {left}")),
            _ => {}
        }
    }
    output.line(&requests);
    match &report.names {
        NamesOutcome::Stored(count) => output.line(&format!("Currency names stored: {count}")),
        NamesOutcome::Failed { reason } => {
            output.line(&format!("Currency names not stored: {reason}"))
        }
        NamesOutcome::AlreadyHeld | NamesOutcome::NotAsked => {}
    }
}

fn counts_json(counts: &WriteCounts) -> Value {
    json!({"inserted": counts.inserted, "updated": counts.updated, "unchanged": counts.unchanged})
}

fn report_json(report: &Report) -> Value {
    let dates: Vec<Value> = report
        .dates
        .iter()
        .map(|date| match &date.outcome {
            DateOutcome::Stored(counts) => {
                let status = if counts.updated > 0 {
                    "updated"
                } else if counts.inserted > 0 {
                    "inserted"
                } else {
                    "unchanged"
                };
                json!({"date": format_date(date.date), "status": status,
                       "inserted": counts.inserted, "updated": counts.updated, "unchanged": counts.unchanged})
            }
            DateOutcome::Failed { reason } => {
                json!({"date": format_date(date.date), "status": "failed", "reason": reason})
            }
        })
        .collect();
    let names = match &report.names {
        NamesOutcome::AlreadyHeld => json!({"status": "already-held"}),
        NamesOutcome::Stored(count) => json!({"status": "stored", "count": count}),
        NamesOutcome::Failed { reason } => json!({"status": "failed", "reason": reason}),
        NamesOutcome::NotAsked => json!({"status": "not-asked"}),
    };
    json!({
        "dry_run": false,
        "succeeded": report.succeeded(),
        "base": report.base.as_str(),
        "dates": dates,
        "already_held": report.already_held.iter().map(|d| format_date(*d)).collect::<Vec<_>>(),
        "failed": report.failed_dates().iter().map(|d| format_date(*d)).collect::<Vec<_>>(),
        "totals": counts_json(&report.totals),
        "requests": report.requests,
        "strategy": strategy_text(report.strategy),
        "quota": report.quota.map(|q| json!({
            "limit_month": q.limit_month, "remaining_month": q.remaining_month,
            "limit_day": q.limit_day, "remaining_day": q.remaining_day,
        })),
        "names": names,
        "elapsed_ms": u64::try_from(report.elapsed.as_millis()).unwrap_or(u64::MAX),
    })
}

#[cfg(test)]
mod tests {
    use super::compact_dates;
    use time::macros::date;

    #[test]
    fn consecutive_dates_are_shown_as_ranges() {
        let dates = [
            date!(2024 - 01 - 30),
            date!(2024 - 01 - 31),
            date!(2024 - 02 - 01),
            date!(2024 - 02 - 05),
        ];
        assert_eq!(compact_dates(&dates), "2024-01-30..2024-02-01, 2024-02-05");
        assert_eq!(compact_dates(&[]), "");
    }
}
