//! Each day's rates rendered once per base, as the piece of a daily range's JSON they become
//! (`"2024-01-02":{"AUD":1.6235,...}`), so that a range is written by copying days rather than
//! by computing each of its values again.
//!
//! Why: a one-year range in another base is some 8,000 values divided, rounded and written,
//! about half a millisecond of CPU, and clients asking for ranges over many different dates
//! pay that for every new URL: the answer cache keys whole answers and cannot help them. A
//! rendered day is some 600 bytes and serves every range that contains it, in that base.
//!
//! Days are kept a calendar month at a time, one after another in one buffer as a range holding
//! the month has them, so a year is a dozen copies of contiguous memory: kept one by one, the
//! lookups and scattered copies cost a cache miss per day in profiles.
//!
//! Correctness: a rendered day keeps the stored table it was rendered from (the snapshot's
//! `Arc`) and is copied only while the snapshot still holds that very table, so a corrected or
//! added day has its month rendered again and nothing has to be dropped when the snapshot
//! changes. Memory: bounded by a byte budget
//! ([`CacheConfig::rendered_days_max_bytes`](crate::CacheConfig)), the months kept longest
//! going first.

use std::collections::{HashMap, VecDeque};
use std::ops::Range;
use std::sync::{Arc, PoisonError, RwLock};

use rates_domain::{Currency, DateRange};
use rates_snapshot::Snapshot;
use rates_store::StoredRateTable;
use time::{Date, Month, OffsetDateTime};

use crate::conditional::EtagBuilder;
use crate::error::ApiError;

/// What a rendered month is kept under: the base its days are written in, and the month.
type MonthKey = (Currency, i32, Month);

/// Bytes a kept month costs besides its JSON, its hashes and its days: the map entry, its place
/// in the order and the allocations' own headers, roughly.
const MONTH_OVERHEAD: usize = 128;

/// Bytes of a day's hash as a range's ETag is fed it ([`day_hash`], little-endian).
const HASH_BYTES: usize = 8;

/// Writes one day's JSON; must depend on nothing but the table and the base.
pub(crate) type RenderDay<'a> =
    dyn FnMut(&StoredRateTable, &mut Vec<u8>) -> Result<(), ApiError> + 'a;

#[derive(Debug)]
struct RenderedDay {
    /// The table rendered; the day is current while the snapshot holds this same `Arc`.
    source: Arc<StoredRateTable>,
    /// Its `last_changed`, kept here so that a range's newest is found without reading the
    /// tables.
    last_changed: OffsetDateTime,
    /// Where its JSON is in the month's.
    at: Range<usize>,
}

/// The days of one month held when it was rendered, in date order: their JSON separated by
/// commas.
#[derive(Debug)]
struct RenderedMonth {
    days: Vec<RenderedDay>,
    json: Box<[u8]>,
    /// The days' hashes side by side, little-endian, as a range's ETag is fed them: a range
    /// feeds a month's in one call rather than one per day.
    hashes: Box<[u8]>,
    /// The newest `last_changed` of `days`: most months of a range are copied whole.
    latest: Option<OffsetDateTime>,
}

/// Days of a range copied from one rendered month.
struct Copied<'a> {
    json: &'a [u8],
    days: &'a [RenderedDay],
    hashes: &'a [u8],
    latest: Option<OffsetDateTime>,
}

impl RenderedMonth {
    fn weight(&self) -> usize {
        self.json.len()
            + self.hashes.len()
            + self.days.len() * std::mem::size_of::<RenderedDay>()
            + MONTH_OVERHEAD
    }

    /// The JSON of the leading tables of `tables` this month holds as rendered, if the first
    /// one is among them.
    fn leading(&self, tables: &[Arc<StoredRateTable>]) -> Option<Copied<'_>> {
        let first = tables.first()?;
        let start = self
            .days
            .iter()
            .position(|day| Arc::ptr_eq(&day.source, first))?;
        let count = self
            .days
            .get(start..)?
            .iter()
            .zip(tables)
            .take_while(|(day, table)| Arc::ptr_eq(&day.source, table))
            .count();
        let matching = self.days.get(start..start + count)?;
        let from = matching.first()?.at.start;
        let to = matching.last()?.at.end;
        Some(Copied {
            json: self.json.get(from..to)?,
            days: matching,
            hashes: self
                .hashes
                .get(start * HASH_BYTES..(start + count) * HASH_BYTES)?,
            latest: if matching.len() == self.days.len() {
                self.latest
            } else {
                matching.iter().map(|day| day.last_changed).max()
            },
        })
    }
}

#[derive(Debug, Default)]
struct Entries {
    months: HashMap<MonthKey, RenderedMonth>,
    /// Keys in the order they were first kept, for eviction.
    order: VecDeque<MonthKey>,
    bytes: usize,
}

/// Days rendered in a base, kept for the ranges that contain them; see the module docs.
#[derive(Debug)]
pub(crate) struct RenderedDays {
    max_bytes: usize,
    entries: RwLock<Entries>,
}

fn month_of(base: Currency, date: Date) -> MonthKey {
    (base, date.year(), date.month())
}

/// The whole calendar month `key` names.
fn month_range(key: MonthKey) -> Option<DateRange> {
    let (_, year, month) = key;
    let first = Date::from_calendar_date(year, month, 1).ok()?;
    let last = Date::from_calendar_date(year, month, month.length(year)).ok()?;
    DateRange::new(first, last).ok()
}

impl RenderedDays {
    /// Keeps at most `max_bytes` of rendered days; 0 keeps none (every day is rendered).
    pub(crate) fn new(max_bytes: usize) -> RenderedDays {
        RenderedDays {
            max_bytes,
            entries: RwLock::new(Entries::default()),
        }
    }

    /// Appends `tables` (consecutive days of `snapshot`, in date order) in `base` to `out`,
    /// separated by commas, and returns the newest `last_changed` among them: each day copied
    /// from its month as kept when the snapshot still holds the table it was rendered from,
    /// else its whole month written by `render` and kept. `etag` is fed each day's hash in
    /// order ([`day_hash`]), which stands for the day's JSON in the range's ETag: the same
    /// days give the same ETag however they were written, and any changed byte a new one.
    pub(crate) fn write(
        &self,
        snapshot: &Snapshot,
        tables: &[Arc<StoredRateTable>],
        base: Currency,
        out: &mut Vec<u8>,
        etag: &mut EtagBuilder,
        render: &mut RenderDay<'_>,
    ) -> Result<Option<OffsetDateTime>, ApiError> {
        if self.max_bytes == 0 {
            return write_each(tables, out, etag, render);
        }
        let mut fresh = Vec::new();
        let mut latest = None;
        let mut rest = tables;
        {
            let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
            while let Some(head) = rest.first() {
                if rest.len() < tables.len() {
                    out.push(b',');
                }
                let key = month_of(base, head.table.date());
                if let Some(copied) = entries
                    .months
                    .get(&key)
                    .and_then(|month| month.leading(rest))
                {
                    rest = copy(copied, rest, out, etag, &mut latest);
                    continue;
                }
                let month = render_month(snapshot, key, render);
                match month.as_ref().and_then(|month| month.leading(rest)) {
                    Some(copied) => rest = copy(copied, rest, out, etag, &mut latest),
                    // A day of the month outside the range cannot be written in this base
                    // (the base was not held that day), or `tables` are not the snapshot's:
                    // the range's days of the month are written one by one, and not kept.
                    None => {
                        let in_month = rest
                            .iter()
                            .take_while(|table| month_of(base, table.table.date()) == key)
                            .count()
                            .max(1);
                        let (these, after) = rest.split_at(in_month.min(rest.len()));
                        latest = latest.max(write_each(these, out, etag, render)?);
                        rest = after;
                    }
                }
                if let Some(month) = month {
                    fresh.push((key, month));
                }
            }
        }
        if !fresh.is_empty() {
            self.keep(fresh);
        }
        Ok(latest)
    }

    /// Calls `with` on the rates of `stored` in `base` as kept (the JSON object after the date in
    /// its piece of a range: `{"AUD":1.6235,...}`), if its month is kept and was rendered from
    /// this very table; a day answer in that base is then copied rather than computed. Never
    /// renders: one day does not pay for its month.
    pub(crate) fn with_kept_rates<R>(
        &self,
        base: Currency,
        stored: &StoredRateTable,
        with: impl FnOnce(&[u8]) -> R,
    ) -> Option<R> {
        if self.max_bytes == 0 {
            return None;
        }
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        let month = entries.months.get(&month_of(base, stored.table.date()))?;
        let day = month
            .days
            .iter()
            .find(|day| std::ptr::eq(Arc::as_ptr(&day.source), stored))?;
        let json = month.json.get(day.at.clone())?;
        // The piece is `"2024-01-02":{...}`: the rates start after the first colon.
        let colon = json.iter().position(|&byte| byte == b':')?;
        Some(with(json.get(colon + 1..)?))
    }

    /// Keeps the months just rendered, evicting the oldest to stay within budget.
    fn keep(&self, fresh: Vec<(MonthKey, RenderedMonth)>) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        for (key, month) in fresh {
            let weight = month.weight();
            if weight > self.max_bytes {
                continue;
            }
            match entries.months.insert(key, month) {
                // A month rendered again (a day of it changed, or another request rendered it
                // at the same time): it keeps its place in the order.
                Some(replaced) => {
                    entries.bytes = entries.bytes.saturating_sub(replaced.weight());
                }
                None => entries.order.push_back(key),
            }
            entries.bytes += weight;
            while entries.bytes > self.max_bytes {
                let Some(oldest) = entries.order.pop_front() else {
                    break;
                };
                if let Some(evicted) = entries.months.remove(&oldest) {
                    entries.bytes = entries.bytes.saturating_sub(evicted.weight());
                }
            }
        }
    }

    /// How many days are kept, and the bytes counted for them.
    #[cfg(test)]
    pub(crate) fn kept(&self) -> (usize, usize) {
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        let days = entries.months.values().map(|month| month.days.len()).sum();
        (days, entries.bytes)
    }
}

/// Appends the days `copied` to `out` and their hashes to `etag`; what is left of `rest`.
fn copy<'a>(
    copied: Copied<'_>,
    rest: &'a [Arc<StoredRateTable>],
    out: &mut Vec<u8>,
    etag: &mut EtagBuilder,
    latest: &mut Option<OffsetDateTime>,
) -> &'a [Arc<StoredRateTable>] {
    out.extend_from_slice(copied.json);
    etag.update(copied.hashes);
    *latest = (*latest).max(copied.latest);
    rest.get(copied.days.len()..).unwrap_or_default()
}

/// What stands for a day's JSON in a range's ETag.
fn day_hash(json: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(json)
}

/// Every table of the month `key` in `snapshot`, rendered; `None` when a day cannot be.
fn render_month(
    snapshot: &Snapshot,
    key: MonthKey,
    render: &mut RenderDay<'_>,
) -> Option<RenderedMonth> {
    let tables = snapshot.range(month_range(key)?).shared();
    let mut json = Vec::new();
    let mut days = Vec::with_capacity(tables.len());
    let mut hashes = Vec::with_capacity(tables.len() * HASH_BYTES);
    for table in tables {
        if !days.is_empty() {
            json.push(b',');
        }
        let start = json.len();
        render(table, &mut json).ok()?;
        hashes.extend_from_slice(&day_hash(json.get(start..).unwrap_or_default()).to_le_bytes());
        days.push(RenderedDay {
            source: Arc::clone(table),
            last_changed: table.last_changed,
            at: start..json.len(),
        });
    }
    Some(RenderedMonth {
        latest: days.iter().map(|day| day.last_changed).max(),
        days,
        json: json.into(),
        hashes: hashes.into(),
    })
}

/// Renders each of `tables`, separated by commas, each day's hash fed to `etag`; returns the
/// newest `last_changed`.
fn write_each(
    tables: &[Arc<StoredRateTable>],
    out: &mut Vec<u8>,
    etag: &mut EtagBuilder,
    render: &mut RenderDay<'_>,
) -> Result<Option<OffsetDateTime>, ApiError> {
    for (index, table) in tables.iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        let start = out.len();
        render(table, out)?;
        etag.update(&day_hash(out.get(start..).unwrap_or_default()).to_le_bytes());
    }
    Ok(tables.iter().map(|table| table.last_changed).max())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use rates_domain::{Rate, RateTable};
    use time::macros::date;

    use super::*;

    /// A snapshot of `dates`, each with one USD rate.
    fn snapshot(dates: &[Date]) -> Snapshot {
        let tables = dates.iter().map(|&date| {
            let rates = BTreeMap::from([(Currency::USD, Rate::new(1.1).unwrap())]);
            StoredRateTable {
                table: RateTable::new(date, Currency::EUR, rates).unwrap(),
                last_changed: OffsetDateTime::UNIX_EPOCH,
            }
        });
        Snapshot::new(Currency::EUR, tables, Vec::new(), 1).unwrap()
    }

    /// Writes the days of `range` in `base` as their dates, counting the days rendered.
    fn write(days: &RenderedDays, snapshot: &Snapshot, range: DateRange) -> (String, usize) {
        let mut out = Vec::new();
        let mut renders = 0;
        let tables = snapshot.range(range).shared();
        days.write(
            snapshot,
            tables,
            Currency::USD,
            &mut out,
            &mut EtagBuilder::new(),
            &mut |stored, out| {
                renders += 1;
                out.extend_from_slice(stored.table.date().to_string().as_bytes());
                Ok(())
            },
        )
        .unwrap();
        (String::from_utf8(out).unwrap(), renders)
    }

    fn range(start: Date, end: Date) -> DateRange {
        DateRange::new(start, end).unwrap()
    }

    #[test]
    fn a_month_is_rendered_whole_once_and_copied_after() {
        let held = [
            date!(2024 - 01 - 30),
            date!(2024 - 01 - 31),
            date!(2024 - 02 - 01),
            date!(2024 - 02 - 02),
            date!(2024 - 02 - 05),
        ];
        let snapshot = snapshot(&held);
        let days = RenderedDays::new(1 << 20);
        let (text, renders) = write(&days, &snapshot, range(held[1], held[3]));
        assert_eq!(text, "2024-01-31,2024-02-01,2024-02-02");
        assert_eq!(renders, 5, "both months rendered whole");
        assert_eq!(days.kept().0, 5);
        let (text, renders) = write(&days, &snapshot, range(held[0], held[4]));
        assert_eq!(
            text,
            "2024-01-30,2024-01-31,2024-02-01,2024-02-02,2024-02-05"
        );
        assert_eq!(renders, 0);
    }

    #[test]
    fn a_day_added_to_a_kept_month_renders_the_month_again() {
        let days = RenderedDays::new(1 << 20);
        let before = snapshot(&[date!(2024 - 02 - 01), date!(2024 - 02 - 02)]);
        write(
            &days,
            &before,
            range(date!(2024 - 02 - 01), date!(2024 - 02 - 29)),
        );
        let after = snapshot(&[
            date!(2024 - 02 - 01),
            date!(2024 - 02 - 02),
            date!(2024 - 02 - 05),
        ]);
        let whole = range(date!(2024 - 02 - 01), date!(2024 - 02 - 29));
        assert_eq!(
            write(&days, &after, whole),
            ("2024-02-01,2024-02-02,2024-02-05".to_owned(), 3)
        );
        assert_eq!(write(&days, &after, whole).1, 0);
        assert_eq!(
            days.kept().0,
            3,
            "the month rendered again replaced the old one"
        );
    }

    #[test]
    fn kept_bytes_stay_within_budget_oldest_month_out_first() {
        let held: Vec<Date> = (1..=12)
            .map(|month| {
                Date::from_calendar_date(2024, Month::try_from(month).unwrap(), 1).unwrap()
            })
            .collect();
        let snapshot = snapshot(&held);
        let one_month =
            "2024-01-01".len() + HASH_BYTES + std::mem::size_of::<RenderedDay>() + MONTH_OVERHEAD;
        let days = RenderedDays::new(3 * one_month);
        let year = range(held[0], held[11]);
        assert_eq!(write(&days, &snapshot, year).1, 12);
        let (count, bytes) = days.kept();
        assert_eq!(count, 3);
        assert!(bytes <= 3 * one_month, "{bytes}");
        // The last three months were kept.
        assert_eq!(write(&days, &snapshot, range(held[9], held[11])).1, 0);
        assert_eq!(write(&days, &snapshot, range(held[0], held[0])).1, 1);
    }

    #[test]
    fn nothing_is_kept_without_a_budget_or_from_a_month_that_fails() {
        let held = [date!(2024 - 02 - 01), date!(2024 - 02 - 02)];
        let snapshot = snapshot(&held);
        let none = RenderedDays::new(0);
        let whole = range(held[0], held[1]);
        assert_eq!(write(&none, &snapshot, whole).1, 2);
        assert_eq!(write(&none, &snapshot, whole).1, 2);
        assert_eq!(none.kept(), (0, 0));

        // The month's first day cannot be written: a range of the second day still is.
        let days = RenderedDays::new(1 << 20);
        let mut out = Vec::new();
        let tables = snapshot.range(range(held[1], held[1])).shared();
        let mut failing = |stored: &StoredRateTable, out: &mut Vec<u8>| {
            if stored.table.date() == held[0] {
                return Err(ApiError::NoRatesHeld);
            }
            out.extend_from_slice(b"x");
            Ok(())
        };
        let latest = days
            .write(
                &snapshot,
                tables,
                Currency::USD,
                &mut out,
                &mut EtagBuilder::new(),
                &mut failing,
            )
            .unwrap();
        assert_eq!(out, b"x");
        assert_eq!(latest, Some(OffsetDateTime::UNIX_EPOCH));
        assert_eq!(days.kept(), (0, 0));
        // A range holding the day that fails is an error.
        let tables = snapshot.range(whole).shared();
        let failed = days.write(
            &snapshot,
            tables,
            Currency::USD,
            &mut Vec::new(),
            &mut EtagBuilder::new(),
            &mut failing,
        );
        assert!(failed.is_err());
    }
}
