//! Fixer-shaped answers computed from the in-memory [`Snapshot`]: the same tables, rebasing and
//! conversion as the native API (so the values are the same), in Fixer's fields.
//!
//! Days: a date held answers with its own rates. A date that is not a business day (a weekend
//! or TARGET holiday, [`rates_domain::is_business_day`]) answers, as Fixer does, with the rates
//! of the last business day before it when that day is held, under the date asked for. Any
//! other date not held has no answer (106).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use rates_domain::{
    fluctuation, format_date, is_business_day, last_business_day, Currency, DomainError,
    Fluctuation, Rate, RateTable,
};
use rates_snapshot::Snapshot;
use rates_store::StoredRateTable;
use serde::Serialize;
use time::Date;

use super::error::FixerApiError;
use super::params::{ConvertParams, RatesParams, Timeframe};
use crate::numbers;

/// The table that answers for `date`: its own, or (on a weekend or holiday) the last business
/// day's.
pub(crate) fn day_for(snapshot: &Snapshot, date: Date) -> Option<&StoredRateTable> {
    snapshot.day(date).or_else(|| {
        if is_business_day(date) {
            None
        } else {
            snapshot.day(last_business_day(date))
        }
    })
}

/// `latest` and historical answers.
#[derive(Serialize)]
pub(crate) struct RatesBody<'a> {
    success: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    historical: Option<bool>,
    timestamp: i64,
    base: Currency,
    date: String,
    #[serde(serialize_with = "numbers::rates")]
    rates: &'a BTreeMap<Currency, Rate>,
}

/// `timeseries` answers.
#[derive(Serialize)]
pub(crate) struct TimeseriesBody {
    success: bool,
    timeseries: bool,
    start_date: String,
    end_date: String,
    base: Currency,
    #[serde(serialize_with = "numbers::rates_by_day")]
    rates: BTreeMap<String, BTreeMap<Currency, Rate>>,
}

/// `fluctuation` answers.
#[derive(Serialize)]
pub(crate) struct FluctuationBody {
    success: bool,
    fluctuation: bool,
    start_date: String,
    end_date: String,
    base: Currency,
    rates: BTreeMap<Currency, Change>,
}

#[derive(Serialize)]
struct Change {
    #[serde(serialize_with = "numbers::rate")]
    start_rate: Rate,
    #[serde(serialize_with = "numbers::rate")]
    end_rate: Rate,
    #[serde(serialize_with = "numbers::float")]
    change: f64,
    #[serde(serialize_with = "numbers::float")]
    change_pct: f64,
}

/// `convert` answers.
#[derive(Serialize)]
pub(crate) struct ConvertBody {
    success: bool,
    query: ConvertQueryEcho,
    info: ConvertInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    historical: Option<bool>,
    date: String,
    #[serde(serialize_with = "numbers::float")]
    result: f64,
}

#[derive(Serialize)]
struct ConvertQueryEcho {
    from: Currency,
    to: Currency,
    #[serde(serialize_with = "numbers::float")]
    amount: f64,
}

#[derive(Serialize)]
struct ConvertInfo {
    timestamp: i64,
    #[serde(serialize_with = "numbers::rate")]
    rate: Rate,
}

/// `symbols` answers: every currency held, named where a name is known (else by its code, as
/// Fixer's clients expect a string).
#[derive(Serialize)]
pub(crate) struct SymbolsBody {
    success: bool,
    symbols: BTreeMap<Currency, String>,
}

/// Rebases `table` to the requested base (201 when it cannot price it) and keeps the requested
/// symbols (202 for one it does not hold). As on Fixer, the base itself is listed with 1 unless
/// symbols leave it out.
fn shape<'a>(
    table: &'a RateTable,
    params: &RatesParams,
) -> Result<Cow<'a, RateTable>, FixerApiError> {
    let base = params.base.unwrap_or(table.base());
    let rebased = if base == table.base() {
        Cow::Borrowed(table)
    } else {
        Cow::Owned(table.rebase(base).map_err(|error| match error {
            DomainError::CurrencyNotHeld { .. } => FixerApiError::InvalidBaseCurrency,
            // A rebased value out of f64's range: nothing sensible to answer with.
            _ => FixerApiError::NoRatesAvailable,
        })?)
    };
    if !params.symbols.is_empty() {
        return rebased
            .only(&params.symbols)
            .map(Cow::Owned)
            .map_err(|_| FixerApiError::InvalidCurrencyCodes);
    }
    if rebased.rates().contains_key(&base) {
        return Ok(rebased);
    }
    let mut rates = rebased.rates().clone();
    rates.insert(base, Rate::ONE);
    RateTable::new(rebased.date(), base, rates)
        .map(Cow::Owned)
        .map_err(|_| FixerApiError::NoRatesAvailable)
}

/// Renders a body as JSON.
pub(crate) fn to_json(body: &impl Serialize) -> Result<Vec<u8>, FixerApiError> {
    // Every value is a finite number or a string: encoding cannot fail in practice.
    serde_json::to_vec(body).map_err(|_| FixerApiError::NoRatesAvailable)
}

/// `GET /api/latest`: the latest day held.
pub(crate) fn latest(snapshot: &Snapshot, params: &RatesParams) -> Result<Vec<u8>, FixerApiError> {
    let stored = snapshot.latest().ok_or(FixerApiError::NoRatesAvailable)?;
    let table = shape(&stored.table, params)?;
    to_json(&RatesBody {
        success: true,
        historical: None,
        timestamp: stored.last_changed.unix_timestamp(),
        base: table.base(),
        date: format_date(stored.table.date()),
        rates: table.rates(),
    })
}

/// `GET /api/{date}`: the day's rates under the date asked for (`day_for`).
pub(crate) fn historical(
    snapshot: &Snapshot,
    date: Date,
    params: &RatesParams,
) -> Result<Vec<u8>, FixerApiError> {
    let stored = day_for(snapshot, date).ok_or(FixerApiError::NoRatesAvailable)?;
    let table = shape(&stored.table, params)?;
    to_json(&RatesBody {
        success: true,
        historical: Some(true),
        timestamp: stored.last_changed.unix_timestamp(),
        base: table.base(),
        date: format_date(date),
        rates: table.rates(),
    })
}

/// `GET /api/timeseries`: every date of the timeframe that has an answer (`day_for`), keyed by
/// date. A day that cannot price the base is left out, and so is a symbol on a day that does
/// not hold it; 201 / 202 only when no day at all can.
pub(crate) fn timeseries(
    snapshot: &Snapshot,
    frame: Timeframe,
    params: &RatesParams,
) -> Result<Vec<u8>, FixerApiError> {
    let base = params.base.unwrap_or(snapshot.base());
    let wanted: BTreeSet<Currency> = params.symbols.iter().copied().collect();
    let every = RatesParams {
        base: params.base,
        symbols: Vec::new(),
    };
    let mut rates = BTreeMap::new();
    let mut seen = BTreeSet::new();
    let mut any_day = false;
    // Weekends repeat Friday's table: shape each stored day once.
    let mut last: Option<(Date, BTreeMap<Currency, Rate>)> = None;
    let mut date = frame.start;
    loop {
        if let Some(stored) = day_for(snapshot, date) {
            any_day = true;
            let source = stored.table.date();
            let day_rates = match &last {
                Some((shaped_from, day_rates)) if *shaped_from == source => Some(day_rates.clone()),
                _ => match shape(&stored.table, &every) {
                    Ok(table) => {
                        let mut day_rates = table.into_owned().into_rates();
                        if !wanted.is_empty() {
                            day_rates.retain(|currency, _| wanted.contains(currency));
                        }
                        last = Some((source, day_rates.clone()));
                        Some(day_rates)
                    }
                    Err(_) => None,
                },
            };
            if let Some(day_rates) = day_rates {
                seen.extend(day_rates.keys().copied());
                rates.insert(format_date(date), day_rates);
            }
        }
        match date.next_day() {
            Some(next) if next <= frame.end => date = next,
            _ => break,
        }
    }
    if !any_day {
        return Err(FixerApiError::NoRatesAvailable);
    }
    if rates.is_empty() {
        return Err(FixerApiError::InvalidBaseCurrency);
    }
    if !wanted.is_subset(&seen) {
        return Err(FixerApiError::InvalidCurrencyCodes);
    }
    to_json(&TimeseriesBody {
        success: true,
        timeseries: true,
        start_date: format_date(frame.start),
        end_date: format_date(frame.end),
        base,
        rates,
    })
}

/// `GET /api/fluctuation`: how each rate moved from the start date's table to the end date's
/// (`day_for`; when one has no answer, the first or last day held inside the timeframe), with
/// `change` and `change_pct` rounded to 4 decimals as Fixer rounds them.
pub(crate) fn fluctuation_between(
    snapshot: &Snapshot,
    frame: Timeframe,
    params: &RatesParams,
) -> Result<Vec<u8>, FixerApiError> {
    let range = rates_domain::DateRange::new(frame.start, frame.end)
        .map_err(|_| FixerApiError::InvalidTimeFrame)?;
    let start = day_for(snapshot, frame.start)
        .or_else(|| snapshot.range(range).next())
        .ok_or(FixerApiError::NoRatesAvailable)?;
    let end = day_for(snapshot, frame.end)
        .or_else(|| snapshot.range(range).next_back())
        .ok_or(FixerApiError::NoRatesAvailable)?;
    let start_table = shape(&start.table, params)?;
    let end_table = shape(&end.table, params)?;
    let moves = fluctuation(&start_table, &end_table).map_err(|error| match error {
        DomainError::CurrencyNotHeld { .. } => FixerApiError::InvalidBaseCurrency,
        _ => FixerApiError::NoRatesAvailable,
    })?;
    if !params
        .symbols
        .iter()
        .all(|symbol| moves.contains_key(symbol))
    {
        return Err(FixerApiError::InvalidCurrencyCodes);
    }
    let rates = moves
        .into_iter()
        .map(|(currency, movement)| {
            let rounded: Fluctuation = movement.fixer_rounded();
            (
                currency,
                Change {
                    start_rate: rounded.start_rate,
                    end_rate: rounded.end_rate,
                    change: rounded.change,
                    change_pct: rounded.change_pct,
                },
            )
        })
        .collect();
    to_json(&FluctuationBody {
        success: true,
        fluctuation: true,
        start_date: format_date(frame.start),
        end_date: format_date(frame.end),
        base: start_table.base(),
        rates,
    })
}

/// `GET /api/convert`: `amount` of `from` in `to` at the latest rates or the date's (`day_for`),
/// with the native API's rate and result.
pub(crate) fn convert(
    snapshot: &Snapshot,
    params: &ConvertParams,
) -> Result<Vec<u8>, FixerApiError> {
    let stored = match params.date {
        Some(date) => day_for(snapshot, date),
        None => snapshot.latest(),
    }
    .ok_or(FixerApiError::NoRatesAvailable)?;
    let table = &stored.table;
    if !table.holds(params.from) {
        return Err(FixerApiError::InvalidFromCurrency);
    }
    if !table.holds(params.to) {
        return Err(FixerApiError::InvalidToCurrency);
    }
    let conversion = table
        .convert(params.from, params.to, params.amount)
        .map_err(|_| FixerApiError::InvalidConversionAmount)?;
    to_json(&ConvertBody {
        success: true,
        query: ConvertQueryEcho {
            from: params.from,
            to: params.to,
            amount: params.amount,
        },
        info: ConvertInfo {
            timestamp: stored.last_changed.unix_timestamp(),
            rate: conversion.rate,
        },
        historical: params.date.map(|_| true),
        date: format_date(params.date.unwrap_or(table.date())),
        result: conversion.result,
    })
}

/// `GET /api/symbols`.
pub(crate) fn symbols(snapshot: &Snapshot) -> Result<Vec<u8>, FixerApiError> {
    let symbols = snapshot
        .currencies()
        .iter()
        .map(|record| {
            let name = record
                .name
                .clone()
                .filter(|name| !name.trim().is_empty())
                .unwrap_or_else(|| record.code.to_string());
            (record.code, name)
        })
        .collect();
    to_json(&SymbolsBody {
        success: true,
        symbols,
    })
}

#[cfg(test)]
mod tests {
    use rates_store::CurrencyRecord;
    use time::macros::{date, datetime};

    use super::*;
    use crate::fixer_api::params::Query;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    fn stored(
        date: Date,
        usd: f64,
        gbp: f64,
    ) -> Result<StoredRateTable, Box<dyn std::error::Error>> {
        let rates = BTreeMap::from([
            (Currency::USD, Rate::new(usd)?),
            (Currency::parse("GBP")?, Rate::new(gbp)?),
        ]);
        Ok(StoredRateTable {
            table: RateTable::new(date, Currency::EUR, rates)?,
            last_changed: datetime!(2024-01-05 16:00 UTC),
        })
    }

    /// Thursday 4 and Friday 5 January 2024, then Tuesday 9 (Monday 8 missing).
    fn sample() -> Result<Snapshot, Box<dyn std::error::Error>> {
        Ok(Snapshot::new(
            Currency::EUR,
            vec![
                stored(date!(2024 - 01 - 04), 1.0944, 0.8612)?,
                stored(date!(2024 - 01 - 05), 1.0921, 0.86)?,
                stored(date!(2024 - 01 - 09), 1.0946, 0.8591)?,
            ],
            vec![
                CurrencyRecord {
                    code: Currency::USD,
                    name: Some("United States Dollar".to_owned()),
                },
                CurrencyRecord {
                    code: Currency::EUR,
                    name: None,
                },
            ],
            1,
        )?)
    }

    fn json(
        bytes: Result<Vec<u8>, FixerApiError>,
    ) -> Result<serde_json::Value, Box<dyn std::error::Error>> {
        let bytes = bytes.map_err(|error| format!("{} {}", error.code(), error.type_name()))?;
        Ok(serde_json::from_slice(&bytes)?)
    }

    fn params(query: &str) -> Result<RatesParams, Box<dyn std::error::Error>> {
        RatesParams::parse(&Query::parse(query)).map_err(|error| error.info().into())
    }

    #[test]
    fn weekends_answer_with_fridays_rates_under_the_date_asked_for() -> TestResult {
        let snapshot = sample()?;
        let body = json(historical(&snapshot, date!(2024 - 01 - 07), &params("")?))?;
        assert_eq!(body["success"], true);
        assert_eq!(body["historical"], true);
        assert_eq!(body["date"], "2024-01-07");
        assert_eq!(body["base"], "EUR");
        assert_eq!(body["rates"]["USD"], 1.0921);
        assert_eq!(
            body["rates"]["EUR"], 1,
            "the base is listed with 1, as Fixer does"
        );
        // A business day not held has no answer, nor has a day before everything.
        for missing in [date!(2024 - 01 - 08), date!(2023 - 01 - 06)] {
            let error = historical(&snapshot, missing, &params("")?).err();
            assert_eq!(error, Some(FixerApiError::NoRatesAvailable), "{missing}");
        }
        Ok(())
    }

    #[test]
    fn rebasing_and_symbols_use_the_domain_rules() -> TestResult {
        let snapshot = sample()?;
        let body = json(latest(&snapshot, &params("base=USD&symbols=GBP,EUR")?))?;
        assert_eq!(body["date"], "2024-01-09");
        assert!(body.get("historical").is_none());
        let expected = snapshot
            .day(date!(2024 - 01 - 09))
            .ok_or("held")?
            .table
            .rebase(Currency::USD)?;
        assert_eq!(
            body["rates"]["GBP"].as_f64(),
            expected.rate(Currency::parse("GBP")?).map(Rate::get)
        );
        assert_eq!(body["rates"].as_object().map(|rates| rates.len()), Some(2));
        assert_eq!(
            latest(&snapshot, &params("base=JPY")?).err(),
            Some(FixerApiError::InvalidBaseCurrency)
        );
        assert_eq!(
            latest(&snapshot, &params("symbols=USD,JPY")?).err(),
            Some(FixerApiError::InvalidCurrencyCodes)
        );
        Ok(())
    }

    #[test]
    fn timeseries_covers_every_answerable_date() -> TestResult {
        let snapshot = sample()?;
        let frame = Timeframe {
            start: date!(2024 - 01 - 03),
            end: date!(2024 - 01 - 09),
        };
        let body = json(timeseries(&snapshot, frame, &params("symbols=USD")?))?;
        assert_eq!(body["timeseries"], true);
        let days: Vec<&String> = body["rates"].as_object().ok_or("rates")?.keys().collect();
        assert_eq!(
            days,
            [
                "2024-01-04",
                "2024-01-05",
                "2024-01-06",
                "2024-01-07",
                "2024-01-09"
            ]
        );
        assert_eq!(body["rates"]["2024-01-06"]["USD"], 1.0921);
        assert_eq!(
            timeseries(&snapshot, frame, &params("symbols=JPY")?).err(),
            Some(FixerApiError::InvalidCurrencyCodes)
        );
        let before = Timeframe {
            start: date!(2023 - 01 - 02),
            end: date!(2023 - 01 - 03),
        };
        assert_eq!(
            timeseries(&snapshot, before, &params("")?).err(),
            Some(FixerApiError::NoRatesAvailable)
        );
        Ok(())
    }

    #[test]
    fn fluctuation_rounds_as_fixer_and_convert_names_the_side_not_held() -> TestResult {
        let snapshot = sample()?;
        let frame = Timeframe {
            start: date!(2024 - 01 - 04),
            end: date!(2024 - 01 - 09),
        };
        let body = json(fluctuation_between(
            &snapshot,
            frame,
            &params("symbols=USD")?,
        ))?;
        assert_eq!(body["fluctuation"], true);
        assert_eq!(body["rates"]["USD"]["start_rate"], 1.0944);
        assert_eq!(body["rates"]["USD"]["end_rate"], 1.0946);
        assert_eq!(body["rates"]["USD"]["change"], 0.0002);
        assert_eq!(body["rates"]["USD"]["change_pct"], 0.0183);

        let query = Query::parse("from=USD&to=GBP&amount=10&date=2024-01-06");
        let convert_params =
            ConvertParams::parse(&query, date!(2024 - 01 - 09)).map_err(|error| error.info())?;
        let body = json(convert(&snapshot, &convert_params))?;
        let expected = snapshot
            .day(date!(2024 - 01 - 05))
            .ok_or("held")?
            .table
            .convert(Currency::USD, Currency::parse("GBP")?, 10.0)?;
        assert_eq!(body["info"]["rate"].as_f64(), Some(expected.rate.get()));
        assert_eq!(body["result"].as_f64(), Some(expected.result));
        assert_eq!(body["historical"], true);
        assert_eq!(body["date"], "2024-01-06");
        assert_eq!(body["query"]["amount"], 10);
        let mut from_jpy = convert_params;
        from_jpy.from = Currency::parse("JPY")?;
        assert_eq!(
            convert(&snapshot, &from_jpy).err(),
            Some(FixerApiError::InvalidFromCurrency)
        );

        let body = json(symbols(&snapshot))?;
        assert_eq!(body["symbols"]["USD"], "United States Dollar");
        assert_eq!(body["symbols"]["EUR"], "EUR");
        Ok(())
    }
}
