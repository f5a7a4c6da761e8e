//! What the rates were at an earlier instant (`as_of`), and every value a day has held: answered
//! from the days' histories kept beside the tables ([`rates_store::DayHistory`]).
//!
//! Only days whose history says more than their last change have one (a corrected value, or
//! values stored at different times): every value of any other day has been served unchanged
//! since the day's `last_changed`, so the revisions held stay small however long the history.

use std::collections::BTreeMap;

use rates_domain::{Currency, Rate, RateTable, Source};
use rates_store::{DayHistory, StoredRateTable};
use time::{Date, OffsetDateTime};

use crate::error::SnapshotError;
use crate::snapshot::{Found, NotHeld, Snapshot};

/// One value a rate has held, and when.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeldValue {
    /// The value.
    pub rate: Rate,
    /// Where it came from, when known (the current value's source is not kept in memory).
    pub source: Option<Source>,
    /// When it started being served.
    pub valid_from: OffsetDateTime,
    /// When it was replaced; `None` for the current value.
    pub valid_to: Option<OffsetDateTime>,
}

impl Snapshot {
    /// The history of `date`, if it has one beyond its last change.
    pub fn history(&self, date: Date) -> Option<&DayHistory> {
        self.histories().get(&date)
    }

    /// A snapshot whose histories of the days in `changed` are replaced by those in
    /// `histories` (a changed day without one loses its old one): what a load or a refresh
    /// adds after [`Snapshot::new`] / [`Snapshot::with_changes`] from the same read.
    pub fn with_histories(
        &self,
        changed: impl IntoIterator<Item = Date>,
        histories: Vec<DayHistory>,
    ) -> Result<Snapshot, SnapshotError> {
        let mut next = self.histories().clone();
        for date in changed {
            next.remove(&date);
        }
        for history in histories {
            if history.base != self.base() {
                return Err(SnapshotError::WrongBase {
                    date: history.date,
                    expected: self.base(),
                    found: history.base,
                });
            }
            next.insert(history.date, history);
        }
        Ok(self.replacing_histories(next))
    }

    /// Every value each currency of `stored` (a day of this snapshot) has held, oldest first;
    /// the last one is the current value.
    pub fn held_values(&self, stored: &StoredRateTable) -> BTreeMap<Currency, Vec<HeldValue>> {
        let history = self.history(stored.table.date());
        stored
            .table
            .rates()
            .iter()
            .map(|(&currency, &rate)| {
                let value = history.and_then(|history| history.values.get(&currency));
                let mut held: Vec<HeldValue> = value
                    .map(|value| {
                        value
                            .replaced
                            .iter()
                            .map(|old| HeldValue {
                                rate: old.rate,
                                source: Some(old.source),
                                valid_from: old.served_from,
                                valid_to: Some(old.served_until),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                held.push(HeldValue {
                    rate,
                    source: None,
                    valid_from: value.map_or(stored.last_changed, |value| value.current_since),
                    valid_to: None,
                });
                (currency, held)
            })
            .collect()
    }

    /// `stored` (a day of this snapshot) as it was served at `instant`: each currency with the
    /// value it had then, those not stored yet left out, and `last_changed` the latest change
    /// among those values. `None` when none of the day's values was stored yet.
    pub fn as_of(
        &self,
        stored: &StoredRateTable,
        instant: OffsetDateTime,
    ) -> Option<StoredRateTable> {
        let Some(history) = self.history(stored.table.date()) else {
            return (stored.last_changed <= instant).then(|| stored.clone());
        };
        let mut rates = BTreeMap::new();
        let mut last_changed: Option<OffsetDateTime> = None;
        for (&currency, &rate) in stored.table.rates() {
            let held = match history.values.get(&currency) {
                Some(value) if value.current_since <= instant => Some((rate, value.current_since)),
                Some(value) => value
                    .replaced
                    .iter()
                    .find(|old| old.served_from <= instant && instant < old.served_until)
                    .map(|old| (old.rate, old.served_from)),
                // Not in the history: served since the day's last change.
                None => (stored.last_changed <= instant).then_some((rate, stored.last_changed)),
            };
            if let Some((rate, since)) = held {
                rates.insert(currency, rate);
                last_changed = Some(last_changed.map_or(since, |latest| latest.max(since)));
            }
        }
        let table = RateTable::new(stored.table.date(), stored.table.base(), rates).ok()?;
        Some(StoredRateTable {
            table,
            last_changed: last_changed?,
        })
    }

    /// [`Snapshot::find`] as the rates were served at `instant`: `latest` is the latest day
    /// with values then, and a day is held only if some of its values were stored by then.
    pub fn find_as_of(
        &self,
        date: Option<Date>,
        fallback: bool,
        instant: OffsetDateTime,
    ) -> Result<AsOfFound, NotHeld> {
        let held_then = |stored: &StoredRateTable| self.as_of(stored, instant);
        let Some(date) = date else {
            return self
                .days()
                .rev()
                .find_map(held_then)
                .map(|stored| AsOfFound {
                    stored,
                    requested_date: None,
                })
                .ok_or(NotHeld::NothingHeld);
        };
        let requested_date = fallback.then_some(date);
        if let Some(stored) = self.day(date).and_then(held_then) {
            return Ok(AsOfFound {
                stored,
                requested_date,
            });
        }
        let nearest = self.days_before(date).rev().find_map(held_then);
        match nearest {
            Some(stored) if fallback => Ok(AsOfFound {
                stored,
                requested_date,
            }),
            _ => Err(NotHeld::Date {
                date,
                nearest: nearest.map(|stored| stored.table.date()),
            }),
        }
    }
}

/// What [`Snapshot::find_as_of`] found: like [`Found`], with the table rebuilt as it was.
#[derive(Debug, Clone, PartialEq)]
pub struct AsOfFound {
    /// The day's table as served at the instant asked about.
    pub stored: StoredRateTable,
    /// The date the client named, when it asked for `fallback=previous`.
    pub requested_date: Option<Date>,
}

impl From<Found<'_>> for AsOfFound {
    fn from(found: Found<'_>) -> AsOfFound {
        AsOfFound {
            stored: found.stored.clone(),
            requested_date: found.requested_date,
        }
    }
}

#[cfg(test)]
mod tests {
    use rates_store::{RateRevision, ValueHistory};
    use time::macros::{date, datetime};

    use super::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    const GBP: &str = "GBP";

    fn gbp() -> Currency {
        Currency::parse(GBP).unwrap_or(Currency::USD)
    }

    /// 2024-01-02 stored at 10:00 with USD 1.0956 and GBP 0.86645; USD corrected to 1.1 at
    /// 12:00; JPY added at 11:00. 2024-01-03 stored at 10:00, never changed.
    fn sample() -> Result<Snapshot, Box<dyn std::error::Error>> {
        let day = date!(2024 - 01 - 02);
        let jpy = Currency::parse("JPY")?;
        let table = RateTable::new(
            day,
            Currency::EUR,
            BTreeMap::from([
                (Currency::USD, Rate::new(1.1)?),
                (gbp(), Rate::new(0.86645)?),
                (jpy, Rate::new(155.0)?),
            ]),
        )?;
        let next_day = RateTable::new(
            date!(2024 - 01 - 03),
            Currency::EUR,
            BTreeMap::from([(Currency::USD, Rate::new(1.0919)?)]),
        )?;
        let snapshot = Snapshot::new(
            Currency::EUR,
            vec![
                StoredRateTable {
                    table,
                    last_changed: datetime!(2026-11-30 12:00 UTC),
                },
                StoredRateTable {
                    table: next_day,
                    last_changed: datetime!(2026-11-30 10:00 UTC),
                },
            ],
            Vec::new(),
            3,
        )?;
        let history = DayHistory {
            date: day,
            base: Currency::EUR,
            values: BTreeMap::from([
                (
                    Currency::USD,
                    ValueHistory {
                        current_since: datetime!(2026-11-30 12:00 UTC),
                        replaced: vec![RateRevision {
                            date: day,
                            base: Currency::EUR,
                            currency: Currency::USD,
                            rate: Rate::new(1.0956)?,
                            source: Source::EcbImport,
                            served_from: datetime!(2026-11-30 10:00 UTC),
                            served_until: datetime!(2026-11-30 12:00 UTC),
                        }],
                    },
                ),
                (
                    gbp(),
                    ValueHistory {
                        current_since: datetime!(2026-11-30 10:00 UTC),
                        replaced: Vec::new(),
                    },
                ),
                (
                    jpy,
                    ValueHistory {
                        current_since: datetime!(2026-11-30 11:00 UTC),
                        replaced: Vec::new(),
                    },
                ),
            ]),
        };
        Ok(snapshot.with_histories([], vec![history])?)
    }

    fn usd_as_of(snapshot: &Snapshot, instant: OffsetDateTime) -> Option<f64> {
        let stored = snapshot.day(date!(2024 - 01 - 02))?;
        snapshot
            .as_of(stored, instant)
            .and_then(|then| then.table.rate(Currency::USD))
            .map(Rate::get)
    }

    #[test]
    fn as_of_answers_the_value_served_at_that_instant() -> TestResult {
        let snapshot = sample()?;
        assert_eq!(usd_as_of(&snapshot, datetime!(2026-11-30 09:59 UTC)), None);
        assert_eq!(
            usd_as_of(&snapshot, datetime!(2026-11-30 10:00 UTC)),
            Some(1.0956)
        );
        assert_eq!(
            usd_as_of(&snapshot, datetime!(2026-11-30 11:59:59.999999 UTC)),
            Some(1.0956)
        );
        assert_eq!(
            usd_as_of(&snapshot, datetime!(2026-11-30 12:00 UTC)),
            Some(1.1)
        );
        let day = snapshot.day(date!(2024 - 01 - 02)).ok_or("no day")?;
        let at_half_past_ten = snapshot
            .as_of(day, datetime!(2026-11-30 10:30 UTC))
            .ok_or("nothing held")?;
        assert_eq!(at_half_past_ten.table.len(), 2, "JPY came at 11:00");
        assert_eq!(
            at_half_past_ten.last_changed,
            datetime!(2026-11-30 10:00 UTC)
        );
        let now = snapshot
            .as_of(day, datetime!(2026-11-30 13:00 UTC))
            .ok_or("nothing held")?;
        assert_eq!(&now, day);
        Ok(())
    }

    #[test]
    fn days_without_a_history_are_held_from_their_last_change() -> TestResult {
        let snapshot = sample()?;
        let day = snapshot.day(date!(2024 - 01 - 03)).ok_or("no day")?;
        assert!(snapshot
            .as_of(day, datetime!(2026-11-30 09:00 UTC))
            .is_none());
        assert_eq!(
            snapshot
                .as_of(day, datetime!(2026-11-30 10:00 UTC))
                .as_ref(),
            Some(day)
        );
        Ok(())
    }

    #[test]
    fn find_as_of_skips_the_days_not_held_yet() -> TestResult {
        let snapshot = sample()?;
        // At 09:00 nothing was held.
        assert_eq!(
            snapshot
                .find_as_of(None, false, datetime!(2026-11-30 09:00 UTC))
                .err(),
            Some(NotHeld::NothingHeld)
        );
        let latest = snapshot
            .find_as_of(None, false, datetime!(2026-11-30 10:30 UTC))
            .map_err(|e| format!("{e:?}"))?;
        assert_eq!(latest.stored.table.date(), date!(2024 - 01 - 03));
        let fell_back = snapshot
            .find_as_of(
                Some(date!(2024 - 01 - 05)),
                true,
                datetime!(2026-11-30 10:30 UTC),
            )
            .map_err(|e| format!("{e:?}"))?;
        assert_eq!(fell_back.stored.table.date(), date!(2024 - 01 - 03));
        assert_eq!(fell_back.requested_date, Some(date!(2024 - 01 - 05)));
        Ok(())
    }

    #[test]
    fn held_values_list_every_value_with_its_span() -> TestResult {
        let snapshot = sample()?;
        let day = snapshot.day(date!(2024 - 01 - 02)).ok_or("no day")?;
        let held = snapshot.held_values(day);
        let usd = held.get(&Currency::USD).ok_or("no USD")?;
        assert_eq!(usd.len(), 2);
        assert_eq!(usd[0].rate.get(), 1.0956);
        assert_eq!(usd[0].valid_to, Some(datetime!(2026-11-30 12:00 UTC)));
        assert_eq!(usd[1].rate.get(), 1.1);
        assert_eq!(usd[1].valid_from, datetime!(2026-11-30 12:00 UTC));
        assert_eq!(usd[1].valid_to, None);
        let plain = snapshot.day(date!(2024 - 01 - 03)).ok_or("no day")?;
        let held = snapshot.held_values(plain);
        let usd = held.get(&Currency::USD).ok_or("no USD")?;
        assert_eq!(usd.len(), 1);
        assert_eq!(usd[0].valid_from, datetime!(2026-11-30 10:00 UTC));
        Ok(())
    }

    #[test]
    fn changed_days_lose_or_replace_their_history() -> TestResult {
        let snapshot = sample()?;
        let cleared = snapshot.with_histories([date!(2024 - 01 - 02)], Vec::new())?;
        assert!(cleared.history(date!(2024 - 01 - 02)).is_none());
        assert!(snapshot.history(date!(2024 - 01 - 02)).is_some());
        let mut other = snapshot
            .history(date!(2024 - 01 - 02))
            .ok_or("no history")?
            .clone();
        other.base = Currency::USD;
        assert!(snapshot.with_histories([], vec![other]).is_err());
        Ok(())
    }
}
