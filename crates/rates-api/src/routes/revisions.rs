//! `GET /rates/{date}/revisions`: every value each currency of a day has held, with
//! `valid_from` and `valid_to` (`null` for the value served now).

use std::collections::BTreeMap;
use std::time::SystemTime;

use rates_domain::{format_date, Currency};
use rates_snapshot::{HeldValue, Snapshot};
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime};

use super::days::find_day;
use crate::conditional::{Freshness, RenderedAnswer};
use crate::error::ApiError;
use crate::numbers::Plain;

#[derive(Serialize)]
struct RevisionsBody {
    base: Currency,
    date: String,
    revisions: BTreeMap<Currency, Vec<Held>>,
}

/// One value with its span, instants in RFC 3339 (UTC, microseconds as stored).
struct Held(HeldValue);

fn instant(moment: OffsetDateTime) -> String {
    moment
        .format(&Rfc3339)
        .unwrap_or_else(|_| moment.unix_timestamp().to_string())
}

impl Serialize for Held {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut fields = serializer.serialize_struct("HeldValue", 3)?;
        fields.serialize_field("rate", &Plain(self.0.rate.get()))?;
        fields.serialize_field("valid_from", &instant(self.0.valid_from))?;
        fields.serialize_field("valid_to", &self.0.valid_to.map(instant))?;
        fields.end()
    }
}

/// Renders the revisions of `date` (`None`: the latest day), for `symbols` (empty: every
/// currency of the day). A currency not held that day is a 404, as for `/rates/{date}/`.
pub(super) fn render(
    snapshot: &Snapshot,
    date: Option<Date>,
    symbols: &[Currency],
) -> Result<RenderedAnswer, ApiError> {
    let found = find_day(snapshot, date, false)?;
    let stored = found.stored;
    if let Some(&currency) = symbols
        .iter()
        .find(|&&currency| !stored.table.rates().contains_key(&currency))
    {
        return Err(ApiError::CurrencyNotFound {
            currency,
            date: stored.table.date(),
        });
    }
    let revisions = snapshot
        .held_values(stored)
        .into_iter()
        .filter(|(currency, _)| symbols.is_empty() || symbols.contains(currency))
        .map(|(currency, held)| (currency, held.into_iter().map(Held).collect()))
        .collect();
    let body = RevisionsBody {
        base: stored.table.base(),
        date: format_date(stored.table.date()),
        revisions,
    };
    // A correction can come at any time, whatever the day's age.
    RenderedAnswer::json(
        &body,
        Some(SystemTime::from(stored.last_changed)),
        Freshness::Short,
    )
}
