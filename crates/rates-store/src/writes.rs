//! Writing rate tables: the upsert of one day and the batched bulk path share one plan —
//! read what is stored for the batch in one query, compare in memory, write only differences.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use diesel::prelude::*;
use rates_domain::{format_date, Currency, RateTable, Source};
use time::{Date, PrimitiveDateTime};

use crate::error::StoreError;
use crate::records::{BulkProgress, WriteCounts};
use crate::schema::{currencies, data_version, day_versions, rate_revisions, rates};
use crate::sql_values::{DateParam, LoadedCode, LoadedDate, LoadedTimestamp, TimestampParam};
use crate::store::Store;
use crate::timestamps;

/// Days written per transaction by [`Store::bulk_upsert`]: large enough that per-transaction
/// costs vanish, small enough that a failure loses little and readers never wait long.
pub const DEFAULT_DAYS_PER_BATCH: usize = 100;

/// Rows per multi-row INSERT: 7 bound values each stays far below SQLite's (32,766) and
/// PostgreSQL's (65,535) limits on bound parameters.
const ROWS_PER_INSERT: usize = 1_000;

#[derive(Insertable)]
#[diesel(table_name = rates)]
struct NewRate<'a> {
    date: &'a DateParam,
    base: &'a str,
    currency: &'a str,
    rate: f64,
    source: &'a str,
    first_stored_at: &'a TimestampParam,
    last_changed_at: &'a TimestampParam,
}

#[derive(Insertable)]
#[diesel(table_name = rate_revisions)]
struct NewRevision<'a> {
    date: &'a DateParam,
    base: &'a str,
    currency: &'a str,
    rate: f64,
    source: String,
    served_from: PrimitiveDateTime,
    served_until: &'a TimestampParam,
}

/// A value to replace, keyed like the row.
struct RateUpdate<'a> {
    date: &'a DateParam,
    base: &'a str,
    currency: &'a str,
    rate: f64,
}

/// What is stored for one rate: its value, source and last change.
#[derive(Debug, Clone, PartialEq)]
struct StoredValue {
    rate: f64,
    source: String,
    last_changed_at: PrimitiveDateTime,
}

type RateKey = (Date, Currency, Currency);

/// Everything one batch has to write.
struct BatchPlan<'a> {
    inserts: Vec<NewRate<'a>>,
    updates: Vec<RateUpdate<'a>>,
    revisions: Vec<NewRevision<'a>>,
    currencies: BTreeSet<Currency>,
    /// Indexes (into the batch) of the days with an insert or an update.
    changed_days: Vec<usize>,
    counts: WriteCounts,
}

/// Compares a batch with what is stored. Same value (exact `f64` equality): untouched.
/// Different value: updated, the stored one becomes a revision served until `now`.
/// The base's own rate (always 1) is not stored.
fn plan_batch<'a>(
    tables: &[&'a RateTable],
    days: &'a [DateParam],
    base_codes: &'a BTreeMap<Currency, String>,
    stored: &HashMap<RateKey, StoredValue>,
    source: &'a str,
    now: &'a TimestampParam,
) -> Result<BatchPlan<'a>, StoreError> {
    let mut plan = BatchPlan {
        inserts: Vec::new(),
        updates: Vec::new(),
        revisions: Vec::new(),
        currencies: BTreeSet::new(),
        changed_days: Vec::new(),
        counts: WriteCounts::default(),
    };
    for (index, (&table, day)) in tables.iter().zip(days).enumerate() {
        let changed_before = plan.counts.changed();
        let (date, base) = (table.date(), table.base());
        plan.currencies.insert(base);
        let base_code =
            base_codes
                .get(&base)
                .map(String::as_str)
                .ok_or_else(|| StoreError::InvalidInput {
                    reason: format!("base {base} missing from the batch's bases"),
                })?;
        for (currency, rate) in table.rates() {
            if *currency == base {
                continue;
            }
            plan.currencies.insert(*currency);
            let rate = rate.get();
            match stored.get(&(date, base, *currency)) {
                None => {
                    plan.counts.inserted += 1;
                    plan.inserts.push(NewRate {
                        date: day,
                        base: base_code,
                        currency: currency.as_str(),
                        rate,
                        source,
                        first_stored_at: now,
                        last_changed_at: now,
                    });
                }
                Some(old) if old.rate == rate => plan.counts.unchanged += 1,
                Some(old) => {
                    plan.counts.updated += 1;
                    plan.revisions.push(NewRevision {
                        date: day,
                        base: base_code,
                        currency: currency.as_str(),
                        rate: old.rate,
                        source: old.source.clone(),
                        served_from: old.last_changed_at,
                        served_until: now,
                    });
                    plan.updates.push(RateUpdate {
                        date: day,
                        base: base_code,
                        currency: currency.as_str(),
                        rate,
                    });
                }
            }
        }
        if plan.counts.changed() > changed_before {
            plan.changed_days.push(index);
        }
    }
    Ok(plan)
}

type StoredRow = (
    LoadedDate,
    LoadedCode,
    LoadedCode,
    f64,
    String,
    LoadedTimestamp,
);

fn index_stored(rows: Vec<StoredRow>) -> Result<HashMap<RateKey, StoredValue>, StoreError> {
    let mut index = HashMap::with_capacity(rows.len());
    for (LoadedDate(date), base, currency, rate, source, LoadedTimestamp(last_changed_at)) in rows {
        let valid = |code: LoadedCode| match code {
            LoadedCode::Valid(currency) => Ok(currency),
            LoadedCode::Invalid(text) => Err(StoreError::corrupt(format!(
                "rates row for {}: {text:?} is not a currency code",
                format_date(date)
            ))),
        };
        index.insert(
            (date, valid(base)?, valid(currency)?),
            StoredValue {
                rate,
                source,
                last_changed_at,
            },
        );
    }
    Ok(index)
}

impl Store {
    /// Stores one day's rate table in one transaction: new rates are inserted, rates stored with
    /// exactly the same value are left untouched, and rates with a different value are updated
    /// (newer data wins) with the replaced value kept in the revisions. Rates stored for that
    /// day but absent from `table` are kept. The base's own rate (always 1) is not stored.
    pub fn upsert_rate_table(
        &self,
        table: &RateTable,
        source: Source,
    ) -> Result<WriteCounts, StoreError> {
        self.write_batch(&[table], source)
    }

    /// Stores many days at once (e.g. an ECB history import): days are written in batches of
    /// [`DEFAULT_DAYS_PER_BATCH`], one transaction per batch with multi-row inserts, with the
    /// same rules as [`Store::upsert_rate_table`]. Each day is stored whole or not at all; on an
    /// error, batches committed before it stay stored and the failing batch is rolled back.
    pub fn bulk_upsert(
        &self,
        tables: &[RateTable],
        source: Source,
    ) -> Result<WriteCounts, StoreError> {
        self.bulk_upsert_with_progress(tables, source, DEFAULT_DAYS_PER_BATCH, |_| {})
    }

    /// [`Store::bulk_upsert`] with a chosen batch size (0 counts as 1) and a callback after each
    /// committed batch, for progress reporting.
    pub fn bulk_upsert_with_progress(
        &self,
        tables: &[RateTable],
        source: Source,
        days_per_batch: usize,
        mut on_batch: impl FnMut(BulkProgress),
    ) -> Result<WriteCounts, StoreError> {
        let mut ordered: Vec<&RateTable> = tables.iter().collect();
        ordered.sort_by_key(|table| (table.date(), table.base()));
        if let Some(pair) = ordered
            .windows(2)
            .find(|pair| matches!(pair, [a, b] if (a.date(), a.base()) == (b.date(), b.base())))
        {
            if let Some(table) = pair.first() {
                return Err(StoreError::InvalidInput {
                    reason: format!(
                        "the rate table for {} in base {} is given more than once",
                        format_date(table.date()),
                        table.base()
                    ),
                });
            }
        }
        let mut progress = BulkProgress {
            days_done: 0,
            days_total: ordered.len(),
            counts: WriteCounts::default(),
        };
        for batch in ordered.chunks(days_per_batch.max(1)) {
            progress.counts += self.write_batch(batch, source)?;
            progress.days_done += batch.len();
            on_batch(progress);
        }
        Ok(progress.counts)
    }

    /// Writes one batch of days (sorted by date, no duplicates) in one transaction.
    fn write_batch(&self, batch: &[&RateTable], source: Source) -> Result<WriteCounts, StoreError> {
        let (Some(first), Some(last)) = (batch.first(), batch.last()) else {
            return Ok(WriteCounts::default());
        };
        let (first_date, last_date) =
            (first.date().min(last.date()), first.date().max(last.date()));
        let base_codes: BTreeMap<Currency, String> = batch
            .iter()
            .map(|table| (table.base(), table.base().as_str().to_owned()))
            .collect();
        let bases: Vec<&str> = base_codes.values().map(String::as_str).collect();
        let now = TimestampParam::new(timestamps::now());
        let now = &now;
        let days: Vec<DateParam> = batch
            .iter()
            .map(|table| DateParam::new(table.date()))
            .collect();
        let source = source.as_str();

        in_rates_write_transaction!(self, |conn| {
            let stored: Vec<StoredRow> = rates::table
                .filter(rates::date.between(first_date, last_date))
                .filter(rates::base.eq_any(&bases))
                .select((
                    rates::date,
                    rates::base,
                    rates::currency,
                    rates::rate,
                    rates::source,
                    rates::last_changed_at,
                ))
                .load(conn)
                .map_err(StoreError::query("reading the stored rates"))?;
            let stored = index_stored(stored)?;
            let plan = plan_batch(batch, &days, &base_codes, &stored, source, now)?;

            for rows in plan.inserts.chunks(ROWS_PER_INSERT) {
                diesel::insert_into(rates::table)
                    .values(rows)
                    .execute(conn)
                    .map_err(StoreError::query("inserting rates"))?;
            }
            for rows in plan.revisions.chunks(ROWS_PER_INSERT) {
                diesel::insert_into(rate_revisions::table)
                    .values(rows)
                    .execute(conn)
                    .map_err(StoreError::query("keeping replaced rates as revisions"))?;
            }
            for update in &plan.updates {
                diesel::update(rates::table.find((update.date, update.base, update.currency)))
                    .set((
                        rates::rate.eq(update.rate),
                        rates::source.eq(source),
                        rates::last_changed_at.eq(now),
                    ))
                    .execute(conn)
                    .map_err(StoreError::query("updating rates"))?;
            }

            let held: BTreeSet<String> = currencies::table
                .filter(currencies::held.eq(true))
                .select(currencies::code)
                .load::<String>(conn)
                .map_err(StoreError::query("reading the currencies"))?
                .into_iter()
                .collect();
            for currency in plan
                .currencies
                .iter()
                .filter(|c| !held.contains(c.as_str()))
            {
                diesel::insert_into(currencies::table)
                    .values((
                        currencies::code.eq(currency.as_str()),
                        currencies::held.eq(true),
                    ))
                    .on_conflict(currencies::code)
                    .do_update()
                    .set(currencies::held.eq(true))
                    .execute(conn)
                    .map_err(StoreError::query("recording the currencies"))?;
            }

            if plan.counts.changed() > 0 {
                let version: i64 = diesel::update(data_version::table.find(1))
                    .set((
                        data_version::version.eq(data_version::version + 1),
                        data_version::changed_at.eq(Some(now.moment())),
                    ))
                    .returning(data_version::version)
                    .get_result(conn)
                    .map_err(StoreError::query("bumping the data version"))?;
                // Keep in every write path that changes rates: the days changed, at the new
                // data version, so each server's in-memory snapshot (rates-snapshot) reloads
                // only these days instead of everything.
                let changed: Vec<_> = plan
                    .changed_days
                    .iter()
                    .filter_map(|&index| {
                        let table = batch.get(index)?;
                        let base = base_codes.get(&table.base())?;
                        Some((
                            day_versions::date.eq(days.get(index)?),
                            day_versions::base.eq(base.as_str()),
                            day_versions::version.eq(version),
                        ))
                    })
                    .collect();
                for rows in changed.chunks(ROWS_PER_INSERT) {
                    diesel::insert_into(day_versions::table)
                        .values(rows)
                        .on_conflict((day_versions::date, day_versions::base))
                        .do_update()
                        .set(day_versions::version.eq(version))
                        .execute(conn)
                        .map_err(StoreError::query("recording the days changed"))?;
                }
            }
            Ok(plan.counts)
        })
    }
}
