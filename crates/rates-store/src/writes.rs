//! Writing rate tables: the upsert of one day and the batched bulk path share one plan —
//! read the stored values for the batch in one query, compare in memory, write only differences.
//!
//! The writes themselves take each backend's fastest route (see [`BatchWriter`]): new rows go
//! to SQLite as multi-row INSERTs through one prepared statement and to PostgreSQL by binary
//! `COPY`; replaced values become revisions inside the database (`INSERT ... SELECT` from the
//! row being replaced), so a re-import reads back only keys and values, never sources or
//! timestamps.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use diesel::prelude::*;
use diesel::sql_types::{Array, Date as SqlDate, Double, Text, Timestamp};
use rates_domain::{format_date, Currency, RateTable, Source};
use time::Date;

use crate::error::StoreError;
use crate::records::{BulkProgress, WriteCounts};
use crate::schema::{currencies, data_version, day_versions, rate_revisions, rates};
use crate::sql_values::{CodeParam, DateParam, LoadedCode, LoadedDate, TimestampParam};
use crate::store::{Flush, Store};
use crate::timestamps;

/// Days written per transaction by [`Store::bulk_upsert`]: large enough that per-transaction
/// costs (a commit is an fsync on PostgreSQL) vanish, small enough that a failure loses little,
/// readers never wait long and a batch's plan stays a few MB.
pub const DEFAULT_DAYS_PER_BATCH: usize = 500;

/// Rows per multi-row INSERT on SQLite. A fixed-size array of rows has a static query id, so
/// diesel prepares this statement once per connection and reuses it (a statement built from a
/// slice is prepared afresh every time); 7 bound values a row stays far below SQLite's limit of
/// 32,766. The remainder of a batch goes in one statement built from the slice.
const SQLITE_ROWS_PER_INSERT: usize = 256;

/// Rows per multi-row INSERT into `day_versions`: 3 bound values each stays far below SQLite's
/// (32,766) and PostgreSQL's (65,535) limits on bound parameters, whatever the batch size.
const DAY_ROWS_PER_INSERT: usize = 1_000;

/// A row to insert. Owned `Copy` fields without borrows: only then does an array of rows have
/// the static query id that lets diesel reuse the prepared statement.
#[derive(Insertable)]
#[diesel(table_name = rates)]
#[diesel(treat_none_as_default_value = false)]
struct NewRate {
    date: DateParam,
    base: CodeParam,
    currency: CodeParam,
    rate: f64,
    source: &'static str,
    first_stored_at: TimestampParam,
    last_changed_at: TimestampParam,
}

/// A value to replace, keyed like the row.
struct RateUpdate<'a> {
    date: &'a DateParam,
    base: &'a str,
    currency: &'a str,
    rate: f64,
}

type RateKey = (Date, Currency, Currency);

/// Everything one batch has to write.
struct BatchPlan<'a> {
    inserts: Vec<NewRate>,
    updates: Vec<RateUpdate<'a>>,
    currencies: BTreeSet<Currency>,
    /// Indexes (into the batch) of the days with an insert or an update.
    changed_days: Vec<usize>,
    counts: WriteCounts,
}

/// Compares a batch with what is stored. Same value (exact `f64` equality): untouched.
/// Different value: updated (the stored one becomes a revision when written).
/// The base's own rate (always 1) is not stored.
fn plan_batch<'a>(
    tables: &[&'a RateTable],
    days: &'a [DateParam],
    base_codes: &'a BTreeMap<Currency, String>,
    stored: &HashMap<RateKey, f64>,
    source: &'static str,
    now: &'a TimestampParam,
) -> Result<BatchPlan<'a>, StoreError> {
    let mut plan = BatchPlan {
        inserts: Vec::with_capacity(tables.iter().map(|table| table.len()).sum()),
        updates: Vec::new(),
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
                        date: *day,
                        base: CodeParam(base),
                        currency: CodeParam(*currency),
                        rate,
                        source,
                        first_stored_at: *now,
                        last_changed_at: *now,
                    });
                }
                Some(&old) if old == rate => plan.counts.unchanged += 1,
                Some(_) => {
                    plan.counts.updated += 1;
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

type StoredRow = (LoadedDate, LoadedCode, LoadedCode, f64);

fn index_stored(rows: Vec<StoredRow>) -> Result<HashMap<RateKey, f64>, StoreError> {
    let mut index = HashMap::with_capacity(rows.len());
    for (LoadedDate(date), base, currency, rate) in rows {
        let valid = |code: LoadedCode| match code {
            LoadedCode::Valid(currency) => Ok(currency),
            LoadedCode::Invalid(text) => Err(StoreError::corrupt(format!(
                "rates row for {}: {text:?} is not a currency code",
                format_date(date)
            ))),
        };
        index.insert((date, valid(base)?, valid(currency)?), rate);
    }
    Ok(index)
}

/// The part of a batch's writes that differs by backend. Both run inside the batch's write
/// transaction, after the plan was made against what that transaction read.
trait BatchWriter {
    /// Inserts rows known not to be stored (the write lock is held since they were looked up).
    fn insert_rates(&mut self, rows: &[NewRate]) -> Result<(), StoreError>;

    /// Keeps each stored value as a revision served until `now`, then replaces it.
    fn replace_rates(
        &mut self,
        updates: &[RateUpdate<'_>],
        source: &str,
        now: &TimestampParam,
    ) -> Result<(), StoreError>;
}

impl BatchWriter for SqliteConnection {
    fn insert_rates(&mut self, rows: &[NewRate]) -> Result<(), StoreError> {
        for chunk in rows.chunks(SQLITE_ROWS_PER_INSERT) {
            let inserted = match <&[NewRate; SQLITE_ROWS_PER_INSERT]>::try_from(chunk) {
                Ok(full) => diesel::insert_into(rates::table).values(full).execute(self),
                Err(_) => diesel::insert_into(rates::table)
                    .values(chunk)
                    .execute(self),
            };
            inserted.map_err(StoreError::query("inserting rates"))?;
        }
        Ok(())
    }

    fn replace_rates(
        &mut self,
        updates: &[RateUpdate<'_>],
        source: &str,
        now: &TimestampParam,
    ) -> Result<(), StoreError> {
        // One row at a time: both statements are prepared once and SQLite runs them in-process,
        // so there is no round trip to save.
        for update in updates {
            let key = (update.date, update.base, update.currency);
            diesel::insert_into(rate_revisions::table)
                .values(rates::table.find(key).select((
                    rates::date,
                    rates::base,
                    rates::currency,
                    rates::rate,
                    rates::source,
                    rates::last_changed_at,
                    now.into_sql::<Timestamp>(),
                )))
                .into_columns((
                    rate_revisions::date,
                    rate_revisions::base,
                    rate_revisions::currency,
                    rate_revisions::rate,
                    rate_revisions::source,
                    rate_revisions::served_from,
                    rate_revisions::served_until,
                ))
                .execute(self)
                .map_err(StoreError::query("keeping replaced rates as revisions"))?;
            diesel::update(rates::table.find(key))
                .set((
                    rates::rate.eq(update.rate),
                    rates::source.eq(source),
                    rates::last_changed_at.eq(now),
                ))
                .execute(self)
                .map_err(StoreError::query("updating rates"))?;
        }
        Ok(())
    }
}

impl BatchWriter for PgConnection {
    fn insert_rates(&mut self, rows: &[NewRate]) -> Result<(), StoreError> {
        if rows.is_empty() {
            return Ok(());
        }
        diesel::copy_from(rates::table)
            .from_insertable(rows)
            .execute(self)
            .map_err(StoreError::query("copying rates"))?;
        Ok(())
    }

    fn replace_rates(
        &mut self,
        updates: &[RateUpdate<'_>],
        source: &str,
        now: &TimestampParam,
    ) -> Result<(), StoreError> {
        if updates.is_empty() {
            return Ok(());
        }
        // Set-based: the batch's changes travel as four arrays, so two statements do the work of
        // two per rate (and of as many round trips).
        let dates: Vec<Date> = updates.iter().map(|update| update.date.date()).collect();
        let bases: Vec<&str> = updates.iter().map(|update| update.base).collect();
        let codes: Vec<&str> = updates.iter().map(|update| update.currency).collect();
        let values: Vec<f64> = updates.iter().map(|update| update.rate).collect();
        diesel::sql_query(
            "INSERT INTO rate_revisions \
                 (date, base, currency, rate, source, served_from, served_until) \
             SELECT r.date, r.base, r.currency, r.rate, r.source, r.last_changed_at, $4 \
             FROM rates r \
             JOIN unnest($1, $2, $3) AS u(date, base, currency) \
               ON r.date = u.date AND r.base = u.base AND r.currency = u.currency",
        )
        .bind::<Array<SqlDate>, _>(&dates)
        .bind::<Array<Text>, _>(&bases)
        .bind::<Array<Text>, _>(&codes)
        .bind::<Timestamp, _>(now)
        .execute(self)
        .map_err(StoreError::query("keeping replaced rates as revisions"))?;
        diesel::sql_query(
            "UPDATE rates r SET rate = u.rate, source = $5, last_changed_at = $6 \
             FROM unnest($1, $2, $3, $4) AS u(date, base, currency, rate) \
             WHERE r.date = u.date AND r.base = u.base AND r.currency = u.currency",
        )
        .bind::<Array<SqlDate>, _>(&dates)
        .bind::<Array<Text>, _>(&bases)
        .bind::<Array<Text>, _>(&codes)
        .bind::<Array<Double>, _>(&values)
        .bind::<Text, _>(source)
        .bind::<Timestamp, _>(now)
        .execute(self)
        .map_err(StoreError::query("updating rates"))?;
        Ok(())
    }
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
        self.write_batch(&[table], source, Flush::OnCommit)
    }

    /// Stores many days at once (e.g. an ECB history import): days are written in batches of
    /// [`DEFAULT_DAYS_PER_BATCH`], one transaction per batch, with the same rules as
    /// [`Store::upsert_rate_table`]; the stored values of a batch are read in one query, new rows
    /// go in by multi-row INSERT (SQLite) or `COPY` (PostgreSQL) and changed ones set-based.
    /// Each day is stored whole or not at all; on an error, batches committed before it stay
    /// stored and the failing batch is rolled back. Everything is on disk when this returns;
    /// batches before the last commit without waiting for the disk (the last one's flush
    /// covers them).
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
        let batches = ordered.chunks(days_per_batch.max(1));
        let last = batches.len().saturating_sub(1);
        for (index, batch) in batches.enumerate() {
            let flush = if index == last {
                Flush::OnCommit
            } else {
                Flush::WithLaterCommit
            };
            progress.counts += self.write_batch(batch, source, flush)?;
            progress.days_done += batch.len();
            on_batch(progress);
        }
        Ok(progress.counts)
    }

    /// Writes one batch of days (sorted by date, no duplicates) in one transaction.
    fn write_batch(
        &self,
        batch: &[&RateTable],
        source: Source,
        flush: Flush,
    ) -> Result<WriteCounts, StoreError> {
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

        in_rates_write_transaction!(self, flush, |conn| {
            let stored: Vec<StoredRow> = rates::table
                .filter(rates::date.between(first_date, last_date))
                .filter(rates::base.eq_any(&bases))
                .select((rates::date, rates::base, rates::currency, rates::rate))
                .load(conn)
                .map_err(StoreError::query("reading the stored rates"))?;
            let stored = index_stored(stored)?;
            let plan = plan_batch(batch, &days, &base_codes, &stored, source, now)?;
            drop(stored);

            BatchWriter::insert_rates(conn, &plan.inserts)?;
            BatchWriter::replace_rates(conn, &plan.updates, source, now)?;

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
                for rows in changed.chunks(DAY_ROWS_PER_INSERT) {
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
