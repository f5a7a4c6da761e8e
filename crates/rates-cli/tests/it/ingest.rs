//! `rates-cli ingest` against the mock Fixer.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use fixer_client::mock::{Fault, Plan};
use fixer_client::CurrencyCode;
use rates_domain::{format_date, parse_date, today_utc, Currency, DateRange};
use time::macros::date;
use time::Date;

use crate::helpers::{Run, TestResult, World, KEY};

fn held(world: &World, from: Date, to: Date) -> Result<BTreeSet<Date>, Box<dyn std::error::Error>> {
    Ok(world
        .store()
        .dates_held(DateRange::new(from, to)?, Currency::EUR)?)
}

fn usd() -> Result<Currency, Box<dyn std::error::Error>> {
    Ok(Currency::parse("USD")?)
}

#[test]
fn the_default_window_is_the_ten_days_ending_today() -> TestResult {
    for world in World::all(Plan::ProfessionalPlus)? {
        let run = world.run(&["ingest"])?.expect_code(0)?;
        let today = today_utc();
        let window = DateRange::ending(today, 10)?;
        for date in window.iter() {
            let line = run
                .date_line(&format_date(date))
                .ok_or(format!("no line for {date}\n{}", run.stdout))?;
            assert!(line.contains("inserted"), "{line}");
        }
        assert_eq!(held(&world, window.start(), window.end())?.len(), 10);
        assert!(
            run.stdout.contains(&format!(
                "Summary: 10 date(s) {}..{}: 10 stored, 0 failed",
                format_date(window.start()),
                format_date(window.end())
            )),
            "{}",
            run.stdout
        );
        // One timeseries request for the window, one for the currency names.
        assert_eq!(world.mock.request_count("timeseries"), 1);
        assert_eq!(world.mock.request_count("symbols"), 1);
        assert_eq!(world.mock.total_requests(), 2);
    }
    Ok(())
}

#[test]
fn explicit_dates_and_ranges_are_merged() -> TestResult {
    let world = World::sqlite(Plan::ProfessionalPlus)?;
    world
        .run(&[
            "ingest",
            "--date",
            "2024-01-05",
            "--date",
            "2024-01-10",
            "--from",
            "2024-02-01",
            "--to",
            "2024-02-03",
        ])?
        .expect_code(0)?;
    let expected: BTreeSet<Date> = [
        date!(2024 - 01 - 05),
        date!(2024 - 01 - 10),
        date!(2024 - 02 - 01),
        date!(2024 - 02 - 02),
        date!(2024 - 02 - 03),
    ]
    .into();
    assert_eq!(
        held(&world, date!(2024 - 01 - 01), date!(2024 - 03 - 01))?,
        expected
    );
    // A lone --date costs one historical request.
    let world = World::sqlite(Plan::ProfessionalPlus)?;
    world
        .run(&["ingest", "--date", "2024-03-05"])?
        .expect_code(0)?;
    assert_eq!(world.mock.request_count("2024-03-05"), 1);
    assert_eq!(world.mock.request_count("timeseries"), 0);
    Ok(())
}

#[test]
fn only_missing_skips_dates_already_held_and_spends_no_request_on_them() -> TestResult {
    let world = World::sqlite(Plan::Free)?;
    world
        .run(&["ingest", "--date", "2024-01-03", "--date", "2024-01-05"])?
        .expect_code(0)?;
    world.mock.reset_counts();
    let run = world
        .run(&[
            "ingest",
            "--from",
            "2024-01-02",
            "--to",
            "2024-01-06",
            "--only-missing",
        ])?
        .expect_code(0)?;
    assert!(run.date_line("2024-01-03").is_none(), "{}", run.stdout);
    assert!(run.date_line("2024-01-02").is_some(), "{}", run.stdout);
    assert!(run.stdout.contains("2 already held"), "{}", run.stdout);
    assert_eq!(world.mock.request_count("2024-01-03"), 0);
    assert_eq!(world.mock.request_count("2024-01-05"), 0);
    for date in ["2024-01-02", "2024-01-04", "2024-01-06"] {
        assert_eq!(world.mock.request_count(date), 1, "{date}");
    }
    assert_eq!(
        held(&world, date!(2024 - 01 - 02), date!(2024 - 01 - 06))?.len(),
        5
    );
    Ok(())
}

#[test]
fn a_range_costs_one_timeseries_request() -> TestResult {
    let world = World::sqlite(Plan::Professional)?;
    let run = world
        .run(&[
            "--json",
            "ingest",
            "--from",
            "2024-01-02",
            "--to",
            "2024-03-31",
        ])?
        .expect_code(0)?;
    let report = run.json()?;
    assert_eq!(report["strategy"], "timeseries");
    assert_eq!(report["requests"], 2, "timeseries + symbols");
    assert_eq!(report["dates"].as_array().map(Vec::len), Some(90));
    assert_eq!(world.mock.request_count("timeseries"), 1);
    assert_eq!(world.mock.total_requests(), 2);
    assert_eq!(
        held(&world, date!(2024 - 01 - 02), date!(2024 - 03 - 31))?.len(),
        90
    );
    Ok(())
}

#[test]
fn a_plan_without_timeseries_falls_back_to_one_request_per_date() -> TestResult {
    let world = World::sqlite(Plan::Free)?;
    let run = world
        .run(&[
            "--json",
            "ingest",
            "--from",
            "2024-01-02",
            "--to",
            "2024-01-11",
        ])?
        .expect_code(0)?;
    let report = run.json()?;
    assert_eq!(report["strategy"], "per-date-after-timeseries-refused");
    assert_eq!(report["names"]["status"], "stored", "{report}");
    // One refused timeseries, one symbols, one per date.
    assert_eq!(report["requests"], 12);
    assert_eq!(world.mock.request_count("timeseries"), 1);
    for date in DateRange::new(date!(2024 - 01 - 02), date!(2024 - 01 - 11))?.iter() {
        assert_eq!(world.mock.request_count(&format_date(date)), 1, "{date}");
    }
    assert_eq!(world.mock.total_requests(), 12);
    assert_eq!(
        held(&world, date!(2024 - 01 - 02), date!(2024 - 01 - 11))?.len(),
        10
    );

    // The dry run says what each path costs and sends nothing.
    world.mock.reset_counts();
    let run = world
        .run(&[
            "ingest",
            "--from",
            "2024-02-01",
            "--to",
            "2024-02-10",
            "--dry-run",
        ])?
        .expect_code(0)?;
    assert!(
        run.stdout
            .contains("Cost: 1 Fixer request(s) where the plan has the timeseries endpoint"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("10 with one request per date"),
        "{}",
        run.stdout
    );
    assert_eq!(world.mock.total_requests(), 0);
    Ok(())
}

#[test]
fn a_revised_upstream_value_is_reported_as_updated_and_the_old_one_kept() -> TestResult {
    for world in World::all(Plan::ProfessionalPlus)? {
        let day = date!(2024 - 02 - 07);
        world
            .run(&["ingest", "--date", "2024-02-07"])?
            .expect_code(0)?;
        let usd = usd()?;
        let before = world
            .store()
            .rate_table(day, Currency::EUR)?
            .ok_or("not stored")?;
        let old = before.table.rate(usd).ok_or("no USD")?.get();

        world
            .mock
            .override_rate(day, CurrencyCode::new("USD")?, 1.2345);
        let run = world
            .run(&["--json", "ingest", "--date", "2024-02-07"])?
            .expect_code(0)?;
        let report = run.json()?;
        let line = &report["dates"][0];
        assert_eq!(line["status"], "updated");
        assert_eq!(line["updated"], 1);
        assert_eq!(line["inserted"], 0);
        assert!(line["unchanged"].as_u64() > Some(20), "{line}");

        let after = world
            .store()
            .rate_table(day, Currency::EUR)?
            .ok_or("not stored")?;
        assert_eq!(after.table.rate(usd).map(|rate| rate.get()), Some(1.2345));
        let revisions = world.store().revisions(day, Currency::EUR, usd)?;
        assert_eq!(
            revisions.iter().map(|r| r.rate.get()).collect::<Vec<_>>(),
            [old]
        );

        // The plain output says so too, and ingesting again changes nothing.
        let run = world
            .run(&["ingest", "--date", "2024-02-07"])?
            .expect_code(0)?;
        let line = run.date_line("2024-02-07").ok_or("no line")?;
        assert!(
            line.contains("unchanged") && !line.contains("updated"),
            "{line}"
        );
    }
    Ok(())
}

#[test]
fn transient_faults_are_retried() -> TestResult {
    let world = World::sqlite(Plan::Free)?;
    world.mock.fail_next_on("2024-01-05", 2, Fault::status(503));
    world
        .mock
        .fail_next_on("2024-01-04", 1, Fault::too_many_requests(0));
    let run = world
        .run(&["ingest", "--from", "2024-01-03", "--to", "2024-01-05"])?
        .expect_code(0)?;
    assert!(run.stdout.contains("3 stored, 0 failed"), "{}", run.stdout);
    assert_eq!(world.mock.request_count("2024-01-05"), 3);
    assert_eq!(world.mock.request_count("2024-01-04"), 2);
    Ok(())
}

/// The output of a run that stopped on a failure every date would repeat: one line, the
/// summary, naming the error once and what to fix.
fn assert_stopped_in_one_line(run: &Run, error: &str, fix: &str) -> TestResult {
    let output = format!("{}{}", run.stdout, run.stderr);
    assert_eq!(output.lines().count(), 1, "{output}");
    assert_eq!(output.matches(error).count(), 1, "{output}");
    assert!(run.stdout.starts_with("Summary: "), "{output}");
    assert!(run.stdout.contains(fix), "{output}");
    Ok(())
}

#[test]
fn a_failure_every_date_would_repeat_stops_after_one_request_with_one_line_saying_what_to_fix(
) -> TestResult {
    let world = World::sqlite(Plan::Free)?;
    let run = world
        .run_with(
            &["ingest", "--from", "2024-01-02", "--to", "2024-01-08"],
            &[("FIXER_ACCESS_KEY", "wrong-key-0000")],
        )?
        .expect_code(1)?;
    assert_eq!(world.mock.total_requests(), 1, "{}", run.stdout);
    assert!(
        run.stdout.contains("7 failed (2024-01-02..2024-01-08)"),
        "{}",
        run.stdout
    );
    assert_stopped_in_one_line(&run, "Fixer error 101", "check FIXER_ACCESS_KEY")?;
    assert!(!run.stdout.contains("wrong-key-0000") && !run.stderr.contains("wrong-key-0000"));

    // A used-up quota stops the run the same way, whatever the concurrency.
    let world = World::sqlite(Plan::Free)?;
    world
        .run(&["ingest", "--date", "2024-01-02"])?
        .expect_code(0)?;
    world.mock.reset_counts();
    world.mock.fail_next(1, Fault::fixer(104));
    let run = world
        .run(&["ingest", "--from", "2024-01-03", "--to", "2024-01-12"])?
        .expect_code(1)?;
    assert_eq!(world.mock.total_requests(), 1, "{}", run.stdout);
    assert_stopped_in_one_line(&run, "Fixer error 104", "quota is used up")?;
    assert!(held(&world, date!(2024 - 01 - 03), date!(2024 - 01 - 12))?.is_empty());

    // The free plan's answer to HTTPS, for a year of dates: one line naming the setting.
    let world = World::sqlite(Plan::Free)?;
    world
        .mock
        .fail_next(1, Fault::fixer_typed(105, "https_access_restricted"));
    let run = world
        .run(&["ingest", "--from", "2023-01-01", "--to", "2023-12-31"])?
        .expect_code(1)?;
    assert_eq!(world.mock.total_requests(), 1, "{}", run.stdout);
    assert_stopped_in_one_line(
        &run,
        "Fixer error 105",
        "set FIXER_BASE_URL=http://data.fixer.io/api",
    )?;
    assert!(
        run.stdout.contains("365 date(s) not stored"),
        "{}",
        run.stdout
    );

    // Nothing listening where Fixer should be.
    let world = World::sqlite(Plan::Free)?;
    let run = world
        .run_with(
            &["ingest", "--days", "30"],
            &[
                ("FIXER_BASE_URL", "http://127.0.0.1:1/api"),
                ("RATES__FIXER__MAX_RETRIES", "0"),
            ],
        )?
        .expect_code(1)?;
    assert_stopped_in_one_line(
        &run,
        "could not connect",
        "cannot reach Fixer: check FIXER_BASE_URL",
    )?;
    Ok(())
}

#[test]
fn one_malformed_day_fails_alone() -> TestResult {
    let world = World::sqlite(Plan::Free)?;
    world
        .mock
        .fail_next_on("2024-01-04", 1, Fault::MalformedBody);
    let run = world
        .run(&["ingest", "--from", "2024-01-02", "--to", "2024-01-06"])?
        .expect_code(1)?;
    let line = run.date_line("2024-01-04").ok_or("no line")?;
    assert!(
        line.contains("FAILED") && line.contains("malformed"),
        "{line}"
    );
    assert!(
        run.stdout.contains("4 stored, 1 failed (2024-01-04)"),
        "{}",
        run.stdout
    );
    let expected: BTreeSet<Date> = [
        date!(2024 - 01 - 02),
        date!(2024 - 01 - 03),
        date!(2024 - 01 - 05),
        date!(2024 - 01 - 06),
    ]
    .into();
    assert_eq!(
        held(&world, date!(2024 - 01 - 02), date!(2024 - 01 - 06))?,
        expected
    );
    // Not retried: a malformed answer is not transient.
    assert_eq!(world.mock.request_count("2024-01-04"), 1);

    // A bad value inside a day is refused by validation, and again only that day fails.
    let world = World::sqlite(Plan::Free)?;
    world.mock.fail_next_on(
        "2024-01-03",
        1,
        Fault::Body {
            status: 200,
            body: r#"{"success":true,"historical":true,"date":"2024-01-03","timestamp":1704326399,"base":"EUR","rates":{"USD":1.09,"GBP":-0.86}}"#.to_owned(),
        },
    );
    let run = world
        .run(&["ingest", "--from", "2024-01-02", "--to", "2024-01-04"])?
        .expect_code(1)?;
    assert!(
        run.date_line("2024-01-03")
            .is_some_and(|line| line.contains("FAILED")),
        "{}",
        run.stdout
    );
    assert_eq!(
        held(&world, date!(2024 - 01 - 02), date!(2024 - 01 - 04))?.len(),
        2
    );
    Ok(())
}

#[test]
fn the_access_key_appears_in_no_output() -> TestResult {
    let world = World::sqlite(Plan::Free)?;
    let debug = [("RUST_LOG", "trace")];
    let mut runs = vec![
        world.run_with(
            &["ingest", "--from", "2024-01-02", "--to", "2024-01-04"],
            &debug,
        )?,
        world.run_with(&["--json", "ingest", "--date", "2024-01-05"], &debug)?,
        world.run_with(&["ingest", "--dry-run"], &debug)?,
    ];
    world.mock.fail_next(3, Fault::status(500));
    runs.push(world.run_with(
        &["ingest", "--date", "2024-01-08"],
        &[("RUST_LOG", "trace"), ("RATES__FIXER__MAX_RETRIES", "2")],
    )?);
    runs.push(world.run_with(
        &["ingest", "--date", "2024-01-09"],
        &[
            ("RUST_LOG", "trace"),
            ("FIXER_BASE_URL", "http://127.0.0.1:9/api"),
            ("RATES__FIXER__MAX_RETRIES", "0"),
        ],
    )?);
    runs.push(world.run_with(
        &["ingest"],
        &[
            ("RATES__FIXER__ACCESS_KEY", "x"),
            ("RATES__FIXER__TIMEOUT_SECS", "zero"),
        ],
    )?);
    for run in &runs {
        assert!(
            !run.stdout.contains(KEY) && !run.stderr.contains(KEY),
            "{run:?}"
        );
        run.assert_no_panic();
    }
    assert!(
        runs.iter()
            .any(|run| run.stderr.contains(" INFO ") || run.stderr.contains("DEBUG")),
        "logs were on: {runs:?}"
    );
    Ok(())
}

#[test]
fn an_ingest_killed_midway_leaves_only_whole_days() -> TestResult {
    for world in World::all(Plan::Free)? {
        world.mock.set_delay(Duration::from_millis(150));
        let mut child = world
            .command(&["ingest", "--from", "2024-01-02", "--to", "2024-02-29"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()?;
        let started = Instant::now();
        let (from, to) = (date!(2024 - 01 - 02), date!(2024 - 02 - 29));
        while held(&world, from, to)?.len() < 5 && started.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(20));
        }
        child.kill()?;
        child.wait()?;
        let held_dates = held(&world, from, to)?;
        assert!(
            held_dates.len() >= 5 && held_dates.len() < 59,
            "{} dates held",
            held_dates.len()
        );
        // Every day held is complete: as many rates as Fixer serves for it.
        let client = world.mock.client();
        for date in held_dates {
            let stored = world
                .store()
                .rate_table(date, Currency::EUR)?
                .ok_or("held but unreadable")?;
            let served = client.historical(date, &fixer_client::RatesOptions::new())?;
            let served_count = served
                .rates
                .keys()
                .filter(|code| code.as_str() != "EUR")
                .count();
            assert_eq!(stored.table.len(), served_count, "{date} is partial");
        }
    }
    Ok(())
}

#[test]
fn concurrency_keeps_several_requests_in_flight() -> TestResult {
    let world = World::sqlite(Plan::Free)?;
    world.mock.set_delay(Duration::from_millis(50));
    world
        .run_with(
            &["ingest", "--from", "2024-01-02", "--to", "2024-01-13"],
            &[("RATES__INGEST__CONCURRENCY", "4")],
        )?
        .expect_code(0)?;
    assert_eq!(world.mock.peak_concurrency(), 4);
    Ok(())
}

#[test]
fn dates_parse_back_from_the_json_report() -> TestResult {
    let world = World::sqlite(Plan::ProfessionalPlus)?;
    let run = world
        .run(&["--json", "ingest", "--days", "3"])?
        .expect_code(0)?;
    let report = run.json()?;
    let dates: Vec<Date> = report["dates"]
        .as_array()
        .ok_or("no dates")?
        .iter()
        .map(|line| parse_date(line["date"].as_str().unwrap_or_default()))
        .collect::<Result<_, _>>()?;
    assert_eq!(
        dates,
        DateRange::ending(today_utc(), 3)?
            .iter()
            .collect::<Vec<_>>()
    );
    assert_eq!(report["succeeded"], true);
    assert!(report["totals"]["inserted"].as_u64() > Some(0));
    assert_eq!(report["names"]["status"], "stored");
    Ok(())
}

#[test]
fn the_quota_left_is_reported_when_fixer_sends_it() -> TestResult {
    let world = World::apilayer(Plan::Basic, 100)?;
    let run = world
        .run(&["ingest", "--from", "2024-01-02", "--to", "2024-01-05"])?
        .expect_code(0)?;
    // A refused timeseries, four dates and the names: six of the hundred.
    assert!(
        run.stdout.contains("Fixer requests: 6 (timeseries not in the plan: one request per date); quota left this month: 94 of 100"),
        "{}",
        run.stdout
    );
    let report = world
        .run(&["--json", "ingest", "--date", "2024-01-08"])?
        .expect_code(0)?
        .json()?;
    assert_eq!(report["quota"]["remaining_month"], 93);
    assert_eq!(report["quota"]["limit_month"], 100);
    Ok(())
}
