//! Reading rate tables, dates, currencies and revisions.

use std::collections::{BTreeMap, BTreeSet};

use diesel::prelude::*;
use rates_domain::{format_date, Currency, DateRange, Rate, RateTable, Source};
use time::{Date, PrimitiveDateTime};

use crate::error::StoreError;
use crate::records::{CurrencyRecord, DayHistory, RateRevision, StoredRateTable, ValueHistory};
use crate::schema::{currencies, data_version, rate_revisions, rates};
use crate::sql_values::{LoadedCode, LoadedDate, LoadedTimestamp};
use crate::store::Store;
use crate::timestamps;

/// One rate of a day as read: code, value, last change.
type DayRow = (LoadedCode, f64, LoadedTimestamp);

fn parse_code(code: &str, context: impl FnOnce() -> String) -> Result<Currency, StoreError> {
    Currency::parse(code).map_err(|error| StoreError::corrupt(format!("{}: {error}", context())))
}

fn parse_rate(value: f64, context: impl FnOnce() -> String) -> Result<Rate, StoreError> {
    Rate::new(value).map_err(|error| StoreError::corrupt(format!("{}: {error}", context())))
}

/// Collects one day's rows into a table.
fn assemble(
    date: Date,
    base: Currency,
    rows: impl IntoIterator<Item = DayRow>,
) -> Result<Option<StoredRateTable>, StoreError> {
    let context = || format!("rates for {} in base {base}", format_date(date));
    let mut rates = BTreeMap::new();
    let mut last_changed: Option<PrimitiveDateTime> = None;
    for (code, value, LoadedTimestamp(changed)) in rows {
        let currency = match code {
            LoadedCode::Valid(currency) => currency,
            LoadedCode::Invalid(text) => parse_code(&text, context)?,
        };
        let rate = parse_rate(value, || format!("{}, {currency}", context()))?;
        rates.insert(currency, rate);
        last_changed = Some(last_changed.map_or(changed, |latest| latest.max(changed)));
    }
    let Some(last_changed) = last_changed else {
        return Ok(None);
    };
    let table = RateTable::new(date, base, rates)
        .map_err(|error| StoreError::corrupt(error.to_string()))?;
    Ok(Some(StoredRateTable {
        table,
        last_changed: timestamps::loaded(last_changed),
    }))
}

/// One rate of some day as read: date, code, value, last change.
pub(crate) type RangeRow = (LoadedDate, LoadedCode, f64, LoadedTimestamp);

/// Collects rows sorted by date into one table per date.
pub(crate) fn assemble_days(
    base: Currency,
    rows: Vec<RangeRow>,
) -> Result<Vec<StoredRateTable>, StoreError> {
    let mut tables = Vec::new();
    let mut rows = rows.into_iter().peekable();
    while let Some((LoadedDate(date), code, value, changed)) = rows.next() {
        let mut day = vec![(code, value, changed)];
        while let Some((code, value, changed)) = rows
            .next_if(|(next_date, ..)| next_date.0 == date)
            .map(|(_, c, v, t)| (c, v, t))
        {
            day.push((code, value, changed));
        }
        if let Some(table) = assemble(date, base, day)? {
            tables.push(table);
        }
    }
    Ok(tables)
}

/// One revision of some day as read: date, code, value, source, served from, served until.
pub(crate) type RevisionRow = (
    LoadedDate,
    LoadedCode,
    f64,
    String,
    LoadedTimestamp,
    LoadedTimestamp,
);

/// The [`DayHistory`] of every day in `rows` (sorted by date) that has a revision in `revisions`
/// (sorted oldest first) or whose values were last changed at different times; the other days'
/// values have all been served since the day's last change, which the table already says.
pub(crate) fn day_histories(
    base: Currency,
    rows: &[RangeRow],
    revisions: Vec<RevisionRow>,
) -> Result<Vec<DayHistory>, StoreError> {
    let currency = |code: &LoadedCode, date: Date| match code {
        LoadedCode::Valid(currency) => Ok(*currency),
        LoadedCode::Invalid(text) => parse_code(text, || {
            format!("rates for {} in base {base}", format_date(date))
        }),
    };
    let mut replaced: BTreeMap<(Date, Currency), Vec<RateRevision>> = BTreeMap::new();
    for (LoadedDate(date), code, value, source, LoadedTimestamp(from), LoadedTimestamp(until)) in
        revisions
    {
        let quoted = currency(&code, date)?;
        let context = || {
            format!(
                "revision of {quoted} on {} in base {base}",
                format_date(date)
            )
        };
        replaced
            .entry((date, quoted))
            .or_default()
            .push(RateRevision {
                date,
                base,
                currency: quoted,
                rate: parse_rate(value, context)?,
                source: source
                    .parse::<Source>()
                    .map_err(|error| StoreError::corrupt(format!("{}: {error}", context())))?,
                served_from: timestamps::loaded(from),
                served_until: timestamps::loaded(until),
            });
    }
    let revised_days: BTreeSet<Date> = replaced.keys().map(|(date, _)| *date).collect();
    let mut histories = Vec::new();
    for day in rows.chunk_by(|a, b| a.0 .0 == b.0 .0) {
        let Some((LoadedDate(date), ..)) = day.first() else {
            continue;
        };
        let date = *date;
        let uniform = day.windows(2).all(|pair| match pair {
            [a, b] => a.3 .0 == b.3 .0,
            _ => true,
        });
        if uniform && !revised_days.contains(&date) {
            continue;
        }
        let mut values = BTreeMap::new();
        for (_, code, _, LoadedTimestamp(changed)) in day {
            let quoted = currency(code, date)?;
            values.insert(
                quoted,
                ValueHistory {
                    current_since: timestamps::loaded(*changed),
                    replaced: replaced.remove(&(date, quoted)).unwrap_or_default(),
                },
            );
        }
        histories.push(DayHistory { date, base, values });
    }
    Ok(histories)
}

/// Turns `(code, name)` rows of the currencies table into records.
pub(crate) fn currency_records(
    rows: Vec<(String, Option<String>)>,
) -> Result<Vec<CurrencyRecord>, StoreError> {
    rows.into_iter()
        .map(|(code, name)| {
            Ok(CurrencyRecord {
                code: parse_code(&code, || "currencies row".to_owned())?,
                name,
            })
        })
        .collect()
}

impl Store {
    /// The rate table stored for `date` in `base`, or `None` when that day is not held in that
    /// base (rates are stored in the base they were fetched in; other bases are computed with
    /// [`RateTable::rebase`]). One indexed query.
    pub fn rate_table(
        &self,
        date: Date,
        base: Currency,
    ) -> Result<Option<StoredRateTable>, StoreError> {
        let rows: Vec<DayRow> = with_connection!(self, |conn| {
            rates::table
                .filter(rates::date.eq(date))
                .filter(rates::base.eq(base.as_str()))
                .select((rates::currency, rates::rate, rates::last_changed_at))
                .load(conn)
                .map_err(StoreError::query("reading a rate table"))
        })?;
        assemble(date, base, rows)
    }

    /// Every table held in `base` within `range`, in date order; days not held are absent.
    /// One query for the whole range.
    pub fn rate_tables_between(
        &self,
        range: DateRange,
        base: Currency,
    ) -> Result<Vec<StoredRateTable>, StoreError> {
        let rows: Vec<RangeRow> = with_connection!(self, |conn| {
            rates::table
                .filter(rates::date.between(range.start(), range.end()))
                .filter(rates::base.eq(base.as_str()))
                .select((
                    rates::date,
                    rates::currency,
                    rates::rate,
                    rates::last_changed_at,
                ))
                .order(rates::date.asc())
                .load(conn)
                .map_err(StoreError::query("reading rate tables for a date range"))
        })?;
        assemble_days(base, rows)
    }

    /// The latest date held in `base`.
    pub fn latest_date(&self, base: Currency) -> Result<Option<Date>, StoreError> {
        with_connection!(self, |conn| {
            rates::table
                .filter(rates::base.eq(base.as_str()))
                .select(rates::date)
                .order(rates::date.desc())
                .first::<Date>(conn)
                .optional()
                .map_err(StoreError::query("finding the latest date"))
        })
    }

    /// The latest date held in `base` strictly before `date` (e.g. the last business day before
    /// a weekend).
    pub fn nearest_date_before(
        &self,
        date: Date,
        base: Currency,
    ) -> Result<Option<Date>, StoreError> {
        with_connection!(self, |conn| {
            rates::table
                .filter(rates::base.eq(base.as_str()))
                .filter(rates::date.lt(date))
                .select(rates::date)
                .order(rates::date.desc())
                .first::<Date>(conn)
                .optional()
                .map_err(StoreError::query("finding the nearest earlier date"))
        })
    }

    /// The dates within `range` for which a table is held in `base`.
    pub fn dates_held(
        &self,
        range: DateRange,
        base: Currency,
    ) -> Result<BTreeSet<Date>, StoreError> {
        let dates: Vec<Date> = with_connection!(self, |conn| {
            rates::table
                .filter(rates::date.between(range.start(), range.end()))
                .filter(rates::base.eq(base.as_str()))
                .select(rates::date)
                .distinct()
                .load(conn)
                .map_err(StoreError::query("listing the dates held"))
        })?;
        Ok(dates.into_iter().collect())
    }

    /// The currencies held in the rates (as base or quoted), in code order, with names where
    /// known.
    pub fn currencies(&self) -> Result<Vec<CurrencyRecord>, StoreError> {
        let rows: Vec<(String, Option<String>)> = with_connection!(self, |conn| {
            currencies::table
                .filter(currencies::held.eq(true))
                .select((currencies::code, currencies::name))
                .order(currencies::code.asc())
                .load(conn)
                .map_err(StoreError::query("listing the currencies"))
        })?;
        currency_records(rows)
    }

    /// Stores currency names (e.g. from Fixer's symbols list), for codes held or not.
    /// Returns how many names were added or changed; names already stored as given are skipped.
    pub fn upsert_currency_names(&self, names: &[(Currency, String)]) -> Result<usize, StoreError> {
        if let Some((code, _)) = names.iter().find(|(_, name)| name.trim().is_empty()) {
            return Err(StoreError::InvalidInput {
                reason: format!("the name given for {code} is empty"),
            });
        }
        // Read, then write: a deferred SQLite transaction could not upgrade its read to a write
        // while rates are being written ("database is locked"), so take the write lock first.
        in_rates_write_transaction!(self, |conn| {
            let stored: BTreeMap<String, Option<String>> = currencies::table
                .select((currencies::code, currencies::name))
                .load::<(String, Option<String>)>(conn)
                .map_err(StoreError::query("reading currency names"))?
                .into_iter()
                .collect();
            let mut changed = 0;
            for (code, name) in names {
                let name = name.trim();
                if stored.get(code.as_str()).and_then(Option::as_deref) == Some(name) {
                    continue;
                }
                diesel::insert_into(currencies::table)
                    .values((
                        currencies::code.eq(code.as_str()),
                        currencies::name.eq(Some(name)),
                        currencies::held.eq(false),
                    ))
                    .on_conflict(currencies::code)
                    .do_update()
                    .set(currencies::name.eq(Some(name)))
                    .execute(conn)
                    .map_err(StoreError::query("storing currency names"))?;
                changed += 1;
            }
            if changed > 0 {
                // Names are part of what readers serve (the in-memory snapshot, cached
                // answers): a new version tells them to reload.
                diesel::update(data_version::table.find(1))
                    .set((
                        data_version::version.eq(data_version::version + 1),
                        data_version::changed_at.eq(Some(timestamps::now())),
                    ))
                    .execute(conn)
                    .map_err(StoreError::query("bumping the data version"))?;
            }
            Ok(changed)
        })
    }

    /// How many currencies have a stored name (0 means the names were never loaded).
    pub fn currency_names_known(&self) -> Result<usize, StoreError> {
        let count: i64 = with_connection!(self, |conn| {
            currencies::table
                .filter(currencies::name.is_not_null())
                .count()
                .get_result(conn)
                .map_err(StoreError::query("counting currency names"))
        })?;
        Ok(usize::try_from(count).unwrap_or(0))
    }

    /// The values a rate had before updates replaced them, oldest first.
    pub fn revisions(
        &self,
        date: Date,
        base: Currency,
        currency: Currency,
    ) -> Result<Vec<RateRevision>, StoreError> {
        type Row = (f64, String, PrimitiveDateTime, PrimitiveDateTime);
        let rows: Vec<Row> = with_connection!(self, |conn| {
            rate_revisions::table
                .filter(rate_revisions::date.eq(date))
                .filter(rate_revisions::base.eq(base.as_str()))
                .filter(rate_revisions::currency.eq(currency.as_str()))
                .select((
                    rate_revisions::rate,
                    rate_revisions::source,
                    rate_revisions::served_from,
                    rate_revisions::served_until,
                ))
                .order(rate_revisions::id.asc())
                .load(conn)
                .map_err(StoreError::query("reading rate revisions"))
        })?;
        let context = || {
            format!(
                "revision of {currency} on {} in base {base}",
                format_date(date)
            )
        };
        rows.into_iter()
            .map(|(value, source, served_from, served_until)| {
                Ok(RateRevision {
                    date,
                    base,
                    currency,
                    rate: parse_rate(value, context)?,
                    source: source
                        .parse::<Source>()
                        .map_err(|error| StoreError::corrupt(format!("{}: {error}", context())))?,
                    served_from: timestamps::loaded(served_from),
                    served_until: timestamps::loaded(served_until),
                })
            })
            .collect()
    }
}
