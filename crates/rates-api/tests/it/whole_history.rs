//! The whole ECB history (1999-2026, the ECB's own `eurofxref-hist.zip`) through the API: the
//! streamed CSV and NDJSON give back every value exactly, and period means match means computed
//! here from the file, on both backends.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};

use rates_domain::ecb::parse_ecb_csv;
use rates_domain::{RateTable, Source};
use time::{Date, Duration, Month};

use crate::helpers::{databases, spawn_app_on, test_config, TestApp, TestResult};

/// Every value of the file: `(date, currency) -> rate`, as the ECB wrote it.
type Values = BTreeMap<(String, String), f64>;

fn ecb_history() -> TestResult<Vec<RateTable>> {
    let zipped = include_bytes!("../data/eurofxref-hist.zip");
    let mut archive = zip::ZipArchive::new(Cursor::new(&zipped[..]))?;
    let mut text = String::new();
    archive.by_index(0)?.read_to_string(&mut text)?;
    Ok(parse_ecb_csv(text.as_bytes())?.tables)
}

fn values_of(tables: &[RateTable]) -> Values {
    tables
        .iter()
        .flat_map(|table| {
            let date = table.date().to_string();
            table
                .rates()
                .iter()
                .map(move |(currency, rate)| ((date.clone(), currency.to_string()), rate.get()))
        })
        .collect()
}

fn app_with_history(tables: &[RateTable]) -> TestResult<Vec<TestApp>> {
    let mut apps = Vec::new();
    for database in databases()? {
        database.store().bulk_upsert(tables, Source::EcbImport)?;
        apps.push(spawn_app_on(database, test_config())?);
    }
    Ok(apps)
}

#[test]
fn the_whole_history_streams_back_value_for_value_as_csv_and_ndjson() -> TestResult {
    let tables = ecb_history()?;
    let expected = values_of(&tables);
    assert_eq!(expected.len(), 221_702, "the file's value count");
    for app in app_with_history(&tables)? {
        let csv = app.get("/rates/1999-01-04..2026-10-30/?format=csv")?;
        assert_eq!(csv.status, 200, "{}", csv.body);
        let mut lines = csv.body.lines();
        assert_eq!(lines.next(), Some("date,base,currency,rate"));
        let mut got = Values::new();
        for line in lines {
            let cells: Vec<&str> = line.split(',').collect();
            let [date, "EUR", currency, rate] = cells.as_slice() else {
                return Err(format!("unexpected row {line:?}").into());
            };
            let previous = got.insert(((*date).to_owned(), (*currency).to_owned()), rate.parse()?);
            assert!(previous.is_none(), "row twice: {line}");
        }
        assert_eq!(got.len(), expected.len());
        assert!(got == expected, "the CSV differs from the ECB file");

        let ndjson = app.get_with(
            "/rates/1990-01-01..2030-12-31/",
            &[("Accept", "application/x-ndjson")],
        )?;
        assert_eq!(ndjson.status, 200);
        let mut got = Values::new();
        let mut days = 0;
        for line in ndjson.body.lines() {
            let day: serde_json::Value = serde_json::from_str(line)?;
            let date = day["date"].as_str().ok_or("no date")?.to_owned();
            assert_eq!(day["base"], "EUR");
            for (currency, rate) in day["rates"].as_object().ok_or("no rates")? {
                got.insert(
                    (date.clone(), currency.clone()),
                    rate.as_f64().ok_or("not a number")?,
                );
            }
            days += 1;
        }
        assert_eq!(days, 7_126);
        assert!(got == expected, "the NDJSON differs from the ECB file");
    }
    Ok(())
}

/// The mean of every currency in every period, computed from the file with plain sums.
fn means_by(
    tables: &[RateTable],
    start_of: impl Fn(Date) -> Date,
) -> BTreeMap<(String, String), f64> {
    let mut sums: BTreeMap<(String, String), (f64, u32)> = BTreeMap::new();
    for table in tables {
        let period = start_of(table.date()).to_string();
        for (currency, rate) in table.rates() {
            let entry = sums
                .entry((period.clone(), currency.to_string()))
                .or_default();
            entry.0 += rate.get();
            entry.1 += 1;
        }
    }
    sums.into_iter()
        .map(|(key, (sum, days))| (key, sum / f64::from(days)))
        .collect()
}

fn assert_close(
    got: &BTreeMap<(String, String), f64>,
    expected: &BTreeMap<(String, String), f64>,
) -> TestResult {
    assert_eq!(got.len(), expected.len());
    for (key, want) in expected {
        let have = got.get(key).ok_or_else(|| format!("{key:?} missing"))?;
        // Both are the same mean, rounded to 10 significant digits on one side.
        assert!(
            ((have - want) / want).abs() < 1e-9,
            "{key:?}: {have} vs {want}"
        );
    }
    Ok(())
}

#[test]
fn period_means_of_the_whole_history_match_means_computed_from_the_file() -> TestResult {
    let tables = ecb_history()?;
    let months = means_by(&tables, |date| date.replace_day(1).unwrap_or(date));
    let weeks = means_by(&tables, |date| {
        date - Duration::days(i64::from(date.weekday().number_days_from_monday()))
    });
    let years = means_by(&tables, |date| {
        Date::from_calendar_date(date.year(), Month::January, 1).unwrap_or(date)
    });
    assert_eq!(
        months
            .keys()
            .map(|(month, _)| month)
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        334
    );
    for app in app_with_history(&tables)? {
        // Monthly, as JSON: no range cap when grouped.
        let reply = app.get("/rates/1999-01-01..2026-12-31/?group=month")?;
        assert_eq!(reply.status, 200, "{}", reply.body);
        let body = reply.json()?;
        assert_eq!(body["group"], "month");
        assert_eq!(body["base"], "EUR");
        let mut got = BTreeMap::new();
        for (month, rates) in body["rates"].as_object().ok_or("no rates")? {
            for (currency, mean) in rates.as_object().ok_or("no day")? {
                got.insert(
                    (month.clone(), currency.clone()),
                    mean.as_f64().ok_or("NaN")?,
                );
            }
        }
        assert_close(&got, &months)?;

        // Weekly (ISO weeks from Monday), as NDJSON.
        let reply = app.get("/rates/1999-01-01..2026-12-31/?group=week&format=ndjson")?;
        let mut got = BTreeMap::new();
        for line in reply.body.lines() {
            let week: serde_json::Value = serde_json::from_str(line)?;
            assert_eq!(week["group"], "week");
            let start = week["date"].as_str().ok_or("no date")?.to_owned();
            for (currency, mean) in week["rates"].as_object().ok_or("no rates")? {
                got.insert(
                    (start.clone(), currency.clone()),
                    mean.as_f64().ok_or("NaN")?,
                );
            }
        }
        assert_close(&got, &weeks)?;

        // Yearly, as CSV.
        let reply = app.get("/rates/1999-01-01..2026-12-31/?group=year&format=csv")?;
        let mut got = BTreeMap::new();
        for line in reply.body.lines().skip(1) {
            let cells: Vec<&str> = line.split(',').collect();
            let [year, "EUR", currency, mean] = cells.as_slice() else {
                return Err(format!("unexpected row {line:?}").into());
            };
            got.insert(((*year).to_owned(), (*currency).to_owned()), mean.parse()?);
        }
        assert_close(&got, &years)?;
    }
    Ok(())
}
