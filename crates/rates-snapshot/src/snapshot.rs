//! [`Snapshot`]: every rate table held in one base, in date order, with the currency list and
//! the store's data version they reflect. Immutable: a change builds a new snapshot.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rates_domain::{Currency, DateRange};
use rates_store::{CurrencyRecord, DayHistory, StoredRateTable};
use time::{Date, OffsetDateTime};

use crate::error::SnapshotError;

/// Every rate table held in one base (the stored base), in date order, with the currencies
/// held (and their names) and the store's data version the contents reflect.
///
/// Immutable: readers get an `Arc<Snapshot>` from [`crate::SharedSnapshot::current`] and keep a
/// consistent view for as long as they hold it. A change ([`Snapshot::with_days`],
/// [`Snapshot::with_changes`]) builds a new snapshot that shares every unchanged day with the
/// old one (each day is an `Arc<StoredRateTable>`), so replacing a few days costs a copy of the
/// day index (about 7,000 pointers for the whole ECB history), not of the rates.
///
/// Days are looked up by binary search (`O(log n)`); a range is a contiguous slice.
#[derive(Debug, Clone)]
pub struct Snapshot {
    base: Currency,
    /// Sorted by date, one table per date, every table in `base`.
    days: Vec<Arc<StoredRateTable>>,
    /// The date of each of `days`, searched instead of the tables: some 30 KB that stay in the
    /// cache, where a search through the tables read one scattered table per step.
    dates: Vec<Date>,
    currencies: Arc<[CurrencyRecord]>,
    /// The days whose history says more than their last change (see [`crate::history`]).
    histories: Arc<BTreeMap<Date, DayHistory>>,
    version: i64,
    built_at: OffsetDateTime,
    generation: u64,
}

/// Source of [`Snapshot::generation`]: unique per snapshot built in this process.
static GENERATIONS: AtomicU64 = AtomicU64::new(1);

fn next_generation() -> u64 {
    GENERATIONS.fetch_add(1, Ordering::Relaxed)
}

/// What [`Snapshot::find`] found for a requested day.
#[derive(Debug, Clone, Copy)]
pub struct Found<'a> {
    /// The table answered with: the requested day's, the latest one, or (with `fallback`) the
    /// nearest earlier day's.
    pub stored: &'a StoredRateTable,
    /// The date the client named, when it asked for `fallback=previous` (so an answer can carry
    /// both `date` and `requested_date`); `None` for `latest` or without fallback.
    pub requested_date: Option<Date>,
}

/// Why [`Snapshot::find`] has no table to answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotHeld {
    /// No rates are held at all (`latest` of an empty snapshot).
    NothingHeld,
    /// No table for `date`, and no fallback to one: `nearest` is the nearest earlier date held.
    Date {
        /// The date asked for.
        date: Date,
        /// The latest date held before it, if any.
        nearest: Option<Date>,
    },
}

impl Snapshot {
    /// A snapshot of `tables` (any order), all in `base`, with `currencies` and the store's data
    /// `version` they were read at.
    ///
    /// A table in another base, or two tables for one date, is an error.
    pub fn new(
        base: Currency,
        tables: impl IntoIterator<Item = StoredRateTable>,
        currencies: Vec<CurrencyRecord>,
        version: i64,
    ) -> Result<Snapshot, SnapshotError> {
        let mut days: Vec<Arc<StoredRateTable>> = Vec::new();
        for stored in tables {
            check_base(base, &stored)?;
            days.push(Arc::new(stored));
        }
        days.sort_by_key(|stored| stored.table.date());
        if let Some(pair) = days
            .windows(2)
            .find(|pair| matches!(pair, [a, b] if a.table.date() == b.table.date()))
        {
            if let Some(first) = pair.first() {
                return Err(SnapshotError::DuplicateDay {
                    date: first.table.date(),
                });
            }
        }
        Ok(Snapshot {
            base,
            dates: dates_of(&days),
            days,
            currencies: currencies.into(),
            histories: Arc::default(),
            version,
            built_at: OffsetDateTime::now_utc(),
            generation: next_generation(),
        })
    }

    /// A snapshot holding nothing, at data version 0.
    pub fn empty(base: Currency) -> Snapshot {
        Snapshot {
            base,
            days: Vec::new(),
            dates: Vec::new(),
            currencies: Arc::from(Vec::new()),
            histories: Arc::default(),
            version: 0,
            built_at: OffsetDateTime::now_utc(),
            generation: next_generation(),
        }
    }

    /// The base every table is in (the stored base; other bases are computed with
    /// [`rates_domain::RateTable::rebase`]).
    pub fn base(&self) -> Currency {
        self.base
    }

    /// The store's data version ([`rates_store::Store::data_version`]) the contents reflect.
    /// Days added with [`Snapshot::with_days`] do not change it.
    pub fn version(&self) -> i64 {
        self.version
    }

    /// When this snapshot was built (its contents may be newer than the version says, never
    /// older).
    pub fn built_at(&self) -> OffsetDateTime {
        self.built_at
    }

    /// A number no other snapshot built by this process has: anything computed from a snapshot
    /// (a rendered answer) is current exactly while the shared snapshot has the same generation.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Number of days held.
    pub fn len(&self) -> usize {
        self.days.len()
    }

    /// Whether no day is held.
    pub fn is_empty(&self) -> bool {
        self.days.is_empty()
    }

    /// Number of rates held over all days.
    pub fn rate_count(&self) -> usize {
        self.days.iter().map(|stored| stored.table.len()).sum()
    }

    /// The table of `date`, if held.
    pub fn day(&self, date: Date) -> Option<&StoredRateTable> {
        self.position(date).ok().and_then(|index| self.at(index))
    }

    /// The table of the latest date held.
    pub fn latest(&self) -> Option<&StoredRateTable> {
        self.days.last().map(Arc::as_ref)
    }

    /// The table of the earliest date held.
    pub fn earliest(&self) -> Option<&StoredRateTable> {
        self.days.first().map(Arc::as_ref)
    }

    /// The table of the latest date held strictly before `date` (e.g. the Friday before a
    /// weekend).
    pub fn nearest_before(&self, date: Date) -> Option<&StoredRateTable> {
        let index = match self.position(date) {
            Ok(index) | Err(index) => index,
        };
        index.checked_sub(1).and_then(|index| self.at(index))
    }

    /// The table of `date` if held, else of the latest date before it.
    pub fn on_or_before(&self, date: Date) -> Option<&StoredRateTable> {
        self.day(date).or_else(|| self.nearest_before(date))
    }

    /// The tables held within `range`, in date order (days not held are skipped).
    pub fn range(&self, range: DateRange) -> Days<'_> {
        let start = match self.position(range.start()) {
            Ok(index) | Err(index) => index,
        };
        let end = match self.position(range.end()) {
            Ok(index) => index + 1,
            Err(index) => index,
        };
        Days {
            inner: self
                .days
                .get(start..end.max(start))
                .unwrap_or_default()
                .iter(),
        }
    }

    /// Every table held, in date order.
    pub fn days(&self) -> Days<'_> {
        Days {
            inner: self.days.iter(),
        }
    }

    /// The table answering a request for `date` (`None`: the latest date held), with the
    /// `fallback=previous` rule: a date not held answers with the nearest earlier date held
    /// when `fallback` is set, and is [`NotHeld::Date`] (naming that nearest date) otherwise.
    pub fn find(&self, date: Option<Date>, fallback: bool) -> Result<Found<'_>, NotHeld> {
        let Some(date) = date else {
            return self
                .latest()
                .map(|stored| Found {
                    stored,
                    requested_date: None,
                })
                .ok_or(NotHeld::NothingHeld);
        };
        let requested_date = fallback.then_some(date);
        if let Some(stored) = self.day(date) {
            return Ok(Found {
                stored,
                requested_date,
            });
        }
        let nearest = self.nearest_before(date);
        match nearest {
            Some(stored) if fallback => Ok(Found {
                stored,
                requested_date,
            }),
            _ => Err(NotHeld::Date {
                date,
                nearest: nearest.map(|stored| stored.table.date()),
            }),
        }
    }

    /// The currencies held (as base or quoted), in code order, with names where known.
    pub fn currencies(&self) -> &[CurrencyRecord] {
        &self.currencies
    }

    /// A snapshot with `tables` added, each replacing the day of the same date if held; the
    /// data version and currency list stay as they are. For a day just stored by this process
    /// (a read-through fetch), so it is served before the next refresh confirms it.
    pub fn with_days(
        &self,
        tables: impl IntoIterator<Item = StoredRateTable>,
    ) -> Result<Snapshot, SnapshotError> {
        let mut next = self.clone();
        next.merge_days(tables)?;
        next.built_at = OffsetDateTime::now_utc();
        next.generation = next_generation();
        Ok(next)
    }

    /// A snapshot with `tables` added or replaced (see [`Snapshot::with_days`]), the currency
    /// list replaced by `currencies` and the data version set to `version`: what a refresh
    /// builds from the days that changed since [`Snapshot::version`].
    pub fn with_changes(
        &self,
        tables: impl IntoIterator<Item = StoredRateTable>,
        currencies: Vec<CurrencyRecord>,
        version: i64,
    ) -> Result<Snapshot, SnapshotError> {
        let mut next = self.clone();
        next.merge_days(tables)?;
        next.currencies = currencies.into();
        next.version = version;
        next.built_at = OffsetDateTime::now_utc();
        next.generation = next_generation();
        Ok(next)
    }

    fn merge_days(
        &mut self,
        tables: impl IntoIterator<Item = StoredRateTable>,
    ) -> Result<(), SnapshotError> {
        let mut added: Vec<Arc<StoredRateTable>> = Vec::new();
        for stored in tables {
            check_base(self.base, &stored)?;
            added.push(Arc::new(stored));
        }
        // A later table for the same date wins, like a later write.
        added.reverse();
        added.sort_by_key(|stored| stored.table.date());
        added.dedup_by_key(|stored| stored.table.date());
        let appends_only = match (self.days.last(), added.first()) {
            (Some(last), Some(first)) => last.table.date() < first.table.date(),
            _ => true,
        };
        if appends_only {
            // The usual case (a new day at the end): no merge needed.
            self.dates
                .extend(added.iter().map(|stored| stored.table.date()));
            self.days.extend(added);
            return Ok(());
        }
        let old = std::mem::take(&mut self.days);
        let mut merged = Vec::with_capacity(old.len() + added.len());
        let mut old = old.into_iter().peekable();
        let mut added = added.into_iter().peekable();
        loop {
            let take_added = match (old.peek(), added.peek()) {
                (Some(a), Some(b)) => b.table.date() <= a.table.date(),
                (None, Some(_)) => true,
                (Some(_), None) => false,
                (None, None) => break,
            };
            if take_added {
                if let Some(day) = added.next() {
                    if old
                        .peek()
                        .is_some_and(|existing| existing.table.date() == day.table.date())
                    {
                        old.next();
                    }
                    merged.push(day);
                }
            } else if let Some(day) = old.next() {
                merged.push(day);
            }
        }
        self.dates = dates_of(&merged);
        self.days = merged;
        Ok(())
    }

    pub(crate) fn histories(&self) -> &BTreeMap<Date, DayHistory> {
        &self.histories
    }

    /// This snapshot with `histories` instead of its own.
    pub(crate) fn replacing_histories(&self, histories: BTreeMap<Date, DayHistory>) -> Snapshot {
        let mut next = self.clone();
        next.histories = Arc::new(histories);
        next.built_at = OffsetDateTime::now_utc();
        next.generation = next_generation();
        next
    }

    /// The tables held strictly before `date`, in date order.
    pub(crate) fn days_before(&self, date: Date) -> Days<'_> {
        let end = match self.position(date) {
            Ok(index) | Err(index) => index,
        };
        Days {
            inner: self.days.get(..end).unwrap_or_default().iter(),
        }
    }

    fn position(&self, date: Date) -> Result<usize, usize> {
        self.dates.binary_search(&date)
    }

    fn at(&self, index: usize) -> Option<&StoredRateTable> {
        self.days.get(index).map(Arc::as_ref)
    }
}

fn dates_of(days: &[Arc<StoredRateTable>]) -> Vec<Date> {
    days.iter().map(|stored| stored.table.date()).collect()
}

fn check_base(base: Currency, stored: &StoredRateTable) -> Result<(), SnapshotError> {
    if stored.table.base() == base {
        Ok(())
    } else {
        Err(SnapshotError::WrongBase {
            date: stored.table.date(),
            expected: base,
            found: stored.table.base(),
        })
    }
}

/// Tables of a [`Snapshot`] in date order: from [`Snapshot::range`] or [`Snapshot::days`].
#[derive(Debug, Clone)]
pub struct Days<'a> {
    inner: std::slice::Iter<'a, Arc<StoredRateTable>>,
}

impl<'a> Days<'a> {
    /// The tables still to come, as the snapshot shares them: for keeping something derived
    /// from a table and knowing, by [`Arc::ptr_eq`], whether a later snapshot still holds that
    /// very table (a day replaced by a correction is a new `Arc`).
    pub fn shared(&self) -> &'a [Arc<StoredRateTable>] {
        self.inner.as_slice()
    }
}

impl<'a> Iterator for Days<'a> {
    type Item = &'a StoredRateTable;

    fn next(&mut self) -> Option<&'a StoredRateTable> {
        self.inner.next().map(Arc::as_ref)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl DoubleEndedIterator for Days<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        self.inner.next_back().map(Arc::as_ref)
    }
}

impl ExactSizeIterator for Days<'_> {}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use rates_domain::{Rate, RateTable};
    use time::macros::{date, datetime};

    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    fn stored(date: Date, usd: f64) -> Result<StoredRateTable, Box<dyn std::error::Error>> {
        let rates = BTreeMap::from([(Currency::USD, Rate::new(usd)?)]);
        Ok(StoredRateTable {
            table: RateTable::new(date, Currency::EUR, rates)?,
            last_changed: datetime!(2024-01-05 16:00 UTC),
        })
    }

    /// Tuesday 2, Wednesday 3 and Friday 5 January 2024.
    fn sample() -> Result<Snapshot, Box<dyn std::error::Error>> {
        Ok(Snapshot::new(
            Currency::EUR,
            vec![
                stored(date!(2024 - 01 - 05), 1.0921)?,
                stored(date!(2024 - 01 - 02), 1.0956)?,
                stored(date!(2024 - 01 - 03), 1.0919)?,
            ],
            Vec::new(),
            7,
        )?)
    }

    fn dates<'a>(days: impl Iterator<Item = &'a StoredRateTable>) -> Vec<Date> {
        days.map(|stored| stored.table.date()).collect()
    }

    #[test]
    fn days_are_found_by_date_and_by_nearest_earlier_date() -> TestResult {
        let snapshot = sample()?;
        assert_eq!(snapshot.len(), 3);
        assert_eq!(snapshot.version(), 7);
        let day = snapshot.day(date!(2024 - 01 - 03)).ok_or("no day")?;
        assert_eq!(day.table.rate(Currency::USD), Some(Rate::new(1.0919)?));
        assert!(snapshot.day(date!(2024 - 01 - 04)).is_none());
        let before = |d| snapshot.nearest_before(d).map(|s| s.table.date());
        assert_eq!(before(date!(2024 - 01 - 04)), Some(date!(2024 - 01 - 03)));
        assert_eq!(before(date!(2024 - 01 - 03)), Some(date!(2024 - 01 - 02)));
        assert_eq!(before(date!(2024 - 01 - 02)), None);
        assert_eq!(before(date!(2030 - 01 - 01)), Some(date!(2024 - 01 - 05)));
        let on_or_before = |d| snapshot.on_or_before(d).map(|s| s.table.date());
        assert_eq!(
            on_or_before(date!(2024 - 01 - 03)),
            Some(date!(2024 - 01 - 03))
        );
        assert_eq!(on_or_before(date!(2024 - 01 - 01)), None);
        assert_eq!(
            snapshot.latest().map(|s| s.table.date()),
            Some(date!(2024 - 01 - 05))
        );
        assert_eq!(
            snapshot.earliest().map(|s| s.table.date()),
            Some(date!(2024 - 01 - 02))
        );
        Ok(())
    }

    #[test]
    fn ranges_iterate_the_days_held_in_order() -> TestResult {
        let snapshot = sample()?;
        let range = |a, b| -> Result<Vec<Date>, Box<dyn std::error::Error>> {
            Ok(dates(snapshot.range(DateRange::new(a, b)?)))
        };
        assert_eq!(
            range(date!(2024 - 01 - 01), date!(2024 - 01 - 31))?,
            [
                date!(2024 - 01 - 02),
                date!(2024 - 01 - 03),
                date!(2024 - 01 - 05)
            ]
        );
        assert_eq!(
            range(date!(2024 - 01 - 03), date!(2024 - 01 - 04))?,
            [date!(2024 - 01 - 03)]
        );
        assert_eq!(
            range(date!(2024 - 01 - 02), date!(2024 - 01 - 02))?,
            [date!(2024 - 01 - 02)]
        );
        assert!(range(date!(2024 - 01 - 04), date!(2024 - 01 - 04))?.is_empty());
        assert!(range(date!(2023 - 01 - 01), date!(2023 - 12 - 31))?.is_empty());
        let all = snapshot.range(DateRange::new(Date::MIN, Date::MAX)?);
        assert_eq!(all.len(), 3);
        assert_eq!(
            all.clone().next_back().map(|s| s.table.date()),
            Some(date!(2024 - 01 - 05))
        );
        Ok(())
    }

    #[test]
    fn find_applies_latest_and_the_fallback_rule() -> TestResult {
        let snapshot = sample()?;
        let latest = snapshot.find(None, false).map_err(|e| format!("{e:?}"))?;
        assert_eq!(latest.stored.table.date(), date!(2024 - 01 - 05));
        assert_eq!(latest.requested_date, None);
        let saturday = date!(2024 - 01 - 06);
        assert_eq!(
            snapshot.find(Some(saturday), false).err(),
            Some(NotHeld::Date {
                date: saturday,
                nearest: Some(date!(2024 - 01 - 05))
            })
        );
        let fell_back = snapshot
            .find(Some(saturday), true)
            .map_err(|e| format!("{e:?}"))?;
        assert_eq!(fell_back.stored.table.date(), date!(2024 - 01 - 05));
        assert_eq!(fell_back.requested_date, Some(saturday));
        let too_early = date!(2024 - 01 - 01);
        assert_eq!(
            snapshot.find(Some(too_early), true).err(),
            Some(NotHeld::Date {
                date: too_early,
                nearest: None
            })
        );
        assert_eq!(
            Snapshot::empty(Currency::EUR).find(None, false).err(),
            Some(NotHeld::NothingHeld)
        );
        Ok(())
    }

    #[test]
    fn with_days_adds_and_replaces_days_and_shares_the_rest() -> TestResult {
        let snapshot = sample()?;
        let next = snapshot.with_days(vec![
            stored(date!(2024 - 01 - 04), 1.0950)?,
            stored(date!(2024 - 01 - 03), 1.2)?,
            stored(date!(2024 - 01 - 08), 1.0945)?,
        ])?;
        assert_eq!(
            dates(next.days()),
            [
                date!(2024 - 01 - 02),
                date!(2024 - 01 - 03),
                date!(2024 - 01 - 04),
                date!(2024 - 01 - 05),
                date!(2024 - 01 - 08)
            ]
        );
        // Every day is found by its date after a merge, the ones added in the middle too.
        for date in dates(next.days()) {
            assert_eq!(next.day(date).map(|stored| stored.table.date()), Some(date));
        }
        let replaced = next.day(date!(2024 - 01 - 03)).ok_or("no day")?;
        assert_eq!(replaced.table.rate(Currency::USD), Some(Rate::new(1.2)?));
        assert_eq!(next.version(), 7, "added days do not move the version");
        // The old snapshot is untouched, and unchanged days are shared, not copied.
        let old = snapshot.day(date!(2024 - 01 - 03)).ok_or("no day")?;
        assert_eq!(old.table.rate(Currency::USD), Some(Rate::new(1.0919)?));
        let (Some(a), Some(b)) = (snapshot.days.first(), next.days.first()) else {
            return Err("no first day".into());
        };
        assert!(Arc::ptr_eq(a, b));

        let appended = next.with_changes(
            vec![stored(date!(2024 - 01 - 09), 1.09)?],
            vec![CurrencyRecord {
                code: Currency::USD,
                name: Some("United States Dollar".to_owned()),
            }],
            9,
        )?;
        assert_eq!(appended.len(), 6);
        for date in dates(appended.days()) {
            assert_eq!(
                appended.day(date).map(|stored| stored.table.date()),
                Some(date)
            );
        }
        assert_eq!(
            appended
                .nearest_before(date!(2024 - 01 - 10))
                .map(|stored| stored.table.date()),
            Some(date!(2024 - 01 - 09))
        );
        assert_eq!(appended.version(), 9);
        assert_eq!(appended.currencies().len(), 1);
        Ok(())
    }

    #[test]
    fn a_table_in_another_base_or_a_repeated_day_is_refused() -> TestResult {
        let mut other = stored(date!(2024 - 01 - 02), 1.0)?;
        other.table = RateTable::new(
            date!(2024 - 01 - 02),
            Currency::USD,
            BTreeMap::from([(Currency::EUR, Rate::new(0.9)?)]),
        )?;
        let error = Snapshot::new(Currency::EUR, vec![other.clone()], Vec::new(), 1)
            .err()
            .ok_or("accepted another base")?;
        assert!(error.to_string().contains("USD"), "{error}");
        assert!(sample()?.with_days(vec![other]).is_err());
        let twice = vec![
            stored(date!(2024 - 01 - 02), 1.0)?,
            stored(date!(2024 - 01 - 02), 1.1)?,
        ];
        let error = Snapshot::new(Currency::EUR, twice, Vec::new(), 1)
            .err()
            .ok_or("accepted a repeated day")?;
        assert!(error.to_string().contains("2024-01-02"), "{error}");
        Ok(())
    }
}
