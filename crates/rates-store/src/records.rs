//! What the store hands back: stored tables, write counts, revisions, currencies, API keys.

use std::collections::BTreeMap;
use std::ops::{Add, AddAssign};

use rates_domain::{Currency, Rate, RateTable, Source};
use time::{Date, OffsetDateTime};

/// A rate table as stored, with the time any of its rates last changed (for HTTP caching).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRateTable {
    /// The day's rates, exactly as stored.
    pub table: RateTable,
    /// The latest `last_changed` of the table's rates.
    pub last_changed: OffsetDateTime,
}

/// How many rates a write inserted, updated, or found already stored with the same value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteCounts {
    /// Rates that were not stored before.
    pub inserted: u64,
    /// Rates stored with a different value, now replaced (the old value kept as a revision).
    pub updated: u64,
    /// Rates already stored with exactly the same value, left untouched.
    pub unchanged: u64,
}

impl WriteCounts {
    /// All rates looked at.
    pub fn total(&self) -> u64 {
        self.inserted + self.updated + self.unchanged
    }

    /// Rates written (inserted or updated).
    pub fn changed(&self) -> u64 {
        self.inserted + self.updated
    }
}

impl Add for WriteCounts {
    type Output = WriteCounts;

    fn add(self, other: WriteCounts) -> WriteCounts {
        WriteCounts {
            inserted: self.inserted + other.inserted,
            updated: self.updated + other.updated,
            unchanged: self.unchanged + other.unchanged,
        }
    }
}

impl AddAssign for WriteCounts {
    fn add_assign(&mut self, other: WriteCounts) {
        *self = *self + other;
    }
}

/// Progress of a bulk write, reported after each committed batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BulkProgress {
    /// Days committed so far.
    pub days_done: usize,
    /// Days in the whole write.
    pub days_total: usize,
    /// Counts of the batches committed so far.
    pub counts: WriteCounts,
}

/// A value a rate had before an update replaced it.
#[derive(Debug, Clone, PartialEq)]
pub struct RateRevision {
    /// The day of the rate.
    pub date: Date,
    /// The base it is quoted in.
    pub base: Currency,
    /// The quoted currency.
    pub currency: Currency,
    /// The replaced value.
    pub rate: Rate,
    /// Where the replaced value came from.
    pub source: Source,
    /// When the replaced value started being served (its last change).
    pub served_from: OffsetDateTime,
    /// When it was replaced.
    pub served_until: OffsetDateTime,
}

/// How one stored value came to be: since when its current value is served, and the values it
/// replaced.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueHistory {
    /// When the current value started being served (its last change).
    pub current_since: OffsetDateTime,
    /// The values it replaced, oldest first, each with the span it was served.
    pub replaced: Vec<RateRevision>,
}

/// What one day's values have been over time, for a day where that says more than the day's
/// last change: a value of it was corrected, or its values were stored at different times.
///
/// For every other day, each value has been served unchanged since the day's `last_changed`.
#[derive(Debug, Clone, PartialEq)]
pub struct DayHistory {
    /// The day.
    pub date: Date,
    /// The base its rates are stored in.
    pub base: Currency,
    /// Every currency of the day (the base's own rate is not stored, so not listed).
    pub values: BTreeMap<Currency, ValueHistory>,
}

/// A currency held in the rates, with its name where one is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrencyRecord {
    /// The code.
    pub code: Currency,
    /// Its English name (from Fixer's symbols list), if known.
    pub name: Option<String>,
}

/// A stored API key. The key itself is never stored, only its hash, which this record omits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    /// The key's id, for listing and revoking.
    pub id: i64,
    /// A name given by the operator.
    pub name: String,
    /// When the key was created.
    pub created_at: OffsetDateTime,
    /// When the key was last used, if ever (recorded in batches, so it may lag a little).
    pub last_used_at: Option<OffsetDateTime>,
    /// When the key was revoked, if it was.
    pub revoked_at: Option<OffsetDateTime>,
    /// How many requests used the key.
    pub use_count: u64,
}

impl ApiKeyRecord {
    /// Whether the key still grants access.
    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
    }
}

/// One recorded use batch for an API key: `(id, last used, number of uses)`.
pub type ApiKeyUse = (i64, OffsetDateTime, u64);

/// Who holds the ingest lock, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestLockHolder {
    /// The holder's self-chosen name (e.g. host and process id).
    pub holder: String,
    /// When the holder acquired or last renewed the lock.
    pub acquired_at: OffsetDateTime,
    /// When the lock lapses unless renewed.
    pub expires_at: OffsetDateTime,
}
