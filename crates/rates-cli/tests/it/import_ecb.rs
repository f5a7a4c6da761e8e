//! `rates-cli import-ecb` with a slice of the real ECB history file.

use std::collections::BTreeMap;

use fixer_client::mock::Plan;
use rates_domain::{parse_date, Currency, DateRange};
use time::macros::date;
use time::Date;

use crate::helpers::{data, FakeEcb, TestResult, World};

/// The slice, read independently of the code under test: date → currency → value, `N/A` left out.
fn expected() -> Result<BTreeMap<Date, BTreeMap<String, f64>>, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(data("eurofxref-hist-slice.csv"))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().ok_or("empty")?.split(',').collect();
    let mut days = BTreeMap::new();
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        let date = parse_date(cells.first().ok_or("empty line")?)?;
        let mut rates = BTreeMap::new();
        for (code, cell) in header.iter().zip(&cells).skip(1) {
            if !code.is_empty() && *cell != "N/A" && !cell.is_empty() {
                rates.insert((*code).to_owned(), cell.parse::<f64>()?);
            }
        }
        days.insert(date, rates);
    }
    Ok(days)
}

fn assert_matches_the_file(world: &World) -> TestResult {
    let expected = expected()?;
    let stored = world.store().rate_tables_between(
        DateRange::new(date!(1999 - 01 - 01), date!(2024 - 12 - 31))?,
        Currency::EUR,
    )?;
    assert_eq!(stored.len(), expected.len());
    for table in stored {
        let want = expected
            .get(&table.table.date())
            .ok_or("a date not in the file")?;
        let got: BTreeMap<String, f64> = table
            .table
            .rates()
            .iter()
            .map(|(code, rate)| (code.as_str().to_owned(), rate.get()))
            .collect();
        assert_eq!(&got, want, "{}", table.table.date());
    }
    Ok(())
}

#[test]
fn the_csv_and_the_zip_import_value_for_value() -> TestResult {
    for world in World::all(Plan::ProfessionalPlus)? {
        let csv = data("eurofxref-hist-slice.csv");
        let run = world
            .run(&["import-ecb", csv.to_str().ok_or("path")?])?
            .expect_code(0)?;
        assert!(
            run.stdout
                .contains("Summary: 25 dates (1999-01-04..2024-03-28)"),
            "{}",
            run.stdout
        );
        assert_matches_the_file(&world)?;
        let rates: usize = expected()?.values().map(BTreeMap::len).sum();

        // The zipped copy finds everything already stored.
        let zip = data("eurofxref-hist-slice.zip");
        let run = world
            .run(&["--json", "import-ecb", zip.to_str().ok_or("path")?])?
            .expect_code(0)?;
        let report = run.json()?;
        assert_eq!(report["dates"], 25);
        assert_eq!(report["totals"]["inserted"], 0);
        assert_eq!(report["totals"]["unchanged"].as_u64(), Some(rates as u64));
        assert!(report["skipped_cells"].as_u64() > Some(0));
        assert_matches_the_file(&world)?;
    }
    // Into an empty database, the zip alone gives the same result.
    let world = World::sqlite(Plan::ProfessionalPlus)?;
    let zip = data("eurofxref-hist-slice.zip");
    world
        .run(&["import-ecb", zip.to_str().ok_or("path")?])?
        .expect_code(0)?;
    assert_matches_the_file(&world)
}

#[test]
fn a_bad_row_aborts_the_import_naming_its_line_and_writes_nothing() -> TestResult {
    let world = World::sqlite(Plan::ProfessionalPlus)?;
    let text = std::fs::read_to_string(data("eurofxref-hist-slice.csv"))?;
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let row = lines.get_mut(5).ok_or("short slice")?;
    *row = row.replacen(",1.0", ",1,0x", 1);
    let bad = world.dir.path().join("bad.csv");
    std::fs::write(&bad, lines.join("\n"))?;
    let run = world
        .run(&["import-ecb", bad.to_str().ok_or("path")?])?
        .expect_code(1)?;
    assert!(run.stderr.contains("bad.csv: line 6: "), "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 1);
    run.assert_no_panic();
    let range = DateRange::new(date!(1999 - 01 - 01), date!(2024 - 12 - 31))?;
    assert!(world.store().dates_held(range, Currency::EUR)?.is_empty());

    for (name, content) in [
        ("empty.csv", &b""[..]),
        ("not-ecb.csv", b"a,b\n1,2\n"),
        ("broken.zip", b"PK\x03\x04garbage"),
    ] {
        let path = world.dir.path().join(name);
        std::fs::write(&path, content)?;
        let run = world
            .run(&["import-ecb", path.to_str().ok_or("path")?])?
            .expect_code(1)?;
        assert!(run.stderr.starts_with("error: "), "{name}: {}", run.stderr);
        run.assert_no_panic();
    }
    let run = world.run(&["import-ecb", "missing.csv"])?.expect_code(1)?;
    assert!(
        run.stderr.contains("cannot read missing.csv"),
        "{}",
        run.stderr
    );
    Ok(())
}

#[test]
fn download_fetches_the_history_from_the_configured_url_and_imports_it() -> TestResult {
    for world in World::all(Plan::ProfessionalPlus)? {
        let ecb = FakeEcb::start(200, std::fs::read(data("eurofxref-hist-slice.zip"))?, None)?;
        let run = world
            .run_with(
                &["import-ecb", "--download"],
                &[("RATES__ECB__DOWNLOAD_URL", &ecb.url)],
            )?
            .expect_code(0)?;
        assert_eq!(ecb.requests(), 1);
        assert!(
            run.stdout.contains(&format!("Downloading {}", ecb.url)),
            "{}",
            run.stdout
        );
        assert!(
            run.stdout
                .contains("Summary: 25 dates (1999-01-04..2024-03-28)"),
            "{}",
            run.stdout
        );
        assert_matches_the_file(&world)?;
        let report = world
            .run_with(
                &["--json", "import-ecb", "--download"],
                &[("RATES__ECB__DOWNLOAD_URL", &ecb.url)],
            )?
            .expect_code(0)?
            .json()?;
        assert_eq!(report["source"], ecb.url.as_str());
        assert_eq!(report["totals"]["inserted"], 0);
    }
    // FILE and --download exclude each other, and one of them is needed.
    let world = World::sqlite(Plan::ProfessionalPlus)?;
    for args in [&["import-ecb"][..], &["import-ecb", "x.csv", "--download"]] {
        world.run(args)?.expect_code(2)?.assert_no_panic();
    }
    Ok(())
}

#[test]
fn a_failed_or_garbage_download_is_one_line_and_creates_no_database() -> TestResult {
    let world = World::sqlite(Plan::ProfessionalPlus)?;
    let zip = std::fs::read(data("eurofxref-hist-slice.zip"))?;
    let cases: Vec<(FakeEcb, &str)> = vec![
        (
            FakeEcb::start(404, b"Not Found".to_vec(), None)?,
            "HTTP 404",
        ),
        (
            FakeEcb::start(200, b"<html>maintenance</html>".to_vec(), None)?,
            "line 1",
        ),
        (
            FakeEcb::start(200, b"PK\x03\x04garbage".to_vec(), None)?,
            "not a readable ZIP archive",
        ),
        (
            FakeEcb::start(
                200,
                zip.get(..zip.len() / 2).unwrap_or_default().to_vec(),
                Some(zip.len()),
            )?,
            "cannot download",
        ),
    ];
    let database = world.dir.path().join("fresh.db");
    let database_url = database.to_str().ok_or("path")?;
    for (ecb, expected) in &cases {
        let run = world
            .run_with(
                &["import-ecb", "--download"],
                &[
                    ("RATES__ECB__DOWNLOAD_URL", ecb.url.as_str()),
                    ("DATABASE_URL", database_url),
                ],
            )?
            .expect_code(1)?;
        assert_eq!(run.stderr.lines().count(), 1, "{}", run.stderr);
        assert!(run.stderr.starts_with("error: "), "{}", run.stderr);
        assert!(run.stderr.contains(&ecb.url), "{}", run.stderr);
        assert!(run.stderr.contains(expected), "{expected}: {}", run.stderr);
        run.assert_no_panic();
        assert!(!database.exists(), "{expected}: a database was created");
    }
    // Nothing listening at all.
    let run = world
        .run_with(
            &["import-ecb", "--download"],
            &[
                (
                    "RATES__ECB__DOWNLOAD_URL",
                    "http://127.0.0.1:1/eurofxref-hist.zip",
                ),
                ("DATABASE_URL", database_url),
            ],
        )?
        .expect_code(1)?;
    assert!(run.stderr.contains("cannot download"), "{}", run.stderr);
    assert!(!database.exists());
    Ok(())
}

/// Currencies of the generated history below.
const GENERATED_CODES: [&str; 20] = [
    "USD", "JPY", "BGN", "CZK", "DKK", "GBP", "HUF", "PLN", "RON", "SEK", "CHF", "ISK", "NOK",
    "TRY", "AUD", "BRL", "CAD", "CNY", "HKD", "ZAR",
];

/// An ECB-format history of `days` consecutive dates from 1980-01-01, newest first like the
/// ECB's file, every cell a rate; long enough that an import takes many batches.
fn generated_history(days: u16) -> Result<(String, Vec<Date>), Box<dyn std::error::Error>> {
    let mut text = format!("Date,{},\n", GENERATED_CODES.join(","));
    let mut dates = Vec::new();
    for offset in (0..days).rev() {
        let date = date!(1980 - 01 - 01)
            .checked_add(time::Duration::days(i64::from(offset)))
            .ok_or("date out of range")?;
        dates.push(date);
        text.push_str(&rates_domain::format_date(date));
        for column in 0..GENERATED_CODES.len() {
            text.push_str(&format!(
                ",{}.{:04}",
                column + 1,
                (u32::from(offset) * 7) % 10_000
            ));
        }
        text.push_str(",\n");
    }
    dates.sort();
    Ok((text, dates))
}

#[test]
fn an_import_killed_at_any_moment_leaves_whole_days_and_a_rerun_completes_it() -> TestResult {
    let (text, dates) = generated_history(6_000)?;
    let (first, last) = (
        *dates.first().ok_or("no dates")?,
        *dates.last().ok_or("no dates")?,
    );
    let range = DateRange::new(first, last)?;
    for world in World::all(Plan::ProfessionalPlus)? {
        let file = world.dir.path().join("long-history.csv");
        std::fs::write(&file, &text)?;
        let file = file.to_str().ok_or("path")?;
        // Kill -9 as soon as the first days appear, then again once more are stored.
        let mut held_before = 0;
        for round in 0..2 {
            let mut child = world
                .command(&["import-ecb", file])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()?;
            let started = std::time::Instant::now();
            while world.store().dates_held(range, Currency::EUR)?.len() <= held_before
                && started.elapsed() < std::time::Duration::from_secs(60)
            {
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            child.kill()?;
            child.wait()?;
            let stored = world.store().rate_tables_between(range, Currency::EUR)?;
            assert!(
                stored.len() > held_before && stored.len() < dates.len(),
                "round {round}: {} of {} days held; the kill did not land mid-import",
                stored.len(),
                dates.len()
            );
            for table in &stored {
                assert_eq!(
                    table.table.len(),
                    GENERATED_CODES.len(),
                    "{} is partial",
                    table.table.date()
                );
            }
            held_before = stored.len();
        }
        let run = world.run(&["--json", "import-ecb", file])?.expect_code(0)?;
        let report = run.json()?;
        let rates_per_day = GENERATED_CODES.len() as u64;
        assert_eq!(
            report["totals"]["unchanged"].as_u64(),
            Some(held_before as u64 * rates_per_day)
        );
        assert_eq!(
            report["totals"]["inserted"].as_u64(),
            Some((dates.len() - held_before) as u64 * rates_per_day)
        );
        let held: Vec<Date> = world
            .store()
            .dates_held(range, Currency::EUR)?
            .into_iter()
            .collect();
        assert_eq!(held, dates, "the rerun completed the history");
    }
    Ok(())
}
