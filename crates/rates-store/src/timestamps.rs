//! Timestamps are stored as UTC without an offset (the same column type on both backends),
//! at microsecond precision so they read back exactly on both.

use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// The current time, truncated to microseconds, as stored.
pub(crate) fn now() -> PrimitiveDateTime {
    stored(OffsetDateTime::now_utc())
}

/// A point in time as it is stored: UTC, microseconds.
pub(crate) fn stored(moment: OffsetDateTime) -> PrimitiveDateTime {
    let utc = moment.to_offset(UtcOffset::UTC);
    let truncated = utc
        .replace_nanosecond(utc.nanosecond() / 1_000 * 1_000)
        .unwrap_or(utc);
    PrimitiveDateTime::new(truncated.date(), truncated.time())
}

/// A stored timestamp read back.
pub(crate) fn loaded(stored: PrimitiveDateTime) -> OffsetDateTime {
    stored.assume_utc()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn stored_converts_to_utc_and_drops_nanoseconds() {
        let moment = datetime!(2024-01-02 10:00:00.123456789 +02:00);
        assert_eq!(stored(moment), datetime!(2024-01-02 08:00:00.123456));
        assert_eq!(
            loaded(stored(moment)),
            datetime!(2024-01-02 08:00:00.123456 UTC)
        );
    }
}
