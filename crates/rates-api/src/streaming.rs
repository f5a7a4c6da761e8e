//! Streamed answers: CSV and NDJSON rendered a few days at a time, as the client reads them.
//!
//! [`DaysBody`] pulls days from an iterator only when actix asks for the next chunk, and actix
//! asks only when the connection has taken the previous one; so a slow client holds one chunk,
//! not the whole answer, and the full history goes out in constant memory whatever its length.
//! With a `group`, days are folded into [`PeriodMeans`] on the way, one period at a time.

use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::body::{BodySize, MessageBody};
use actix_web::web::Bytes;
use rates_domain::{Period, PeriodMeans, RateTable};

use crate::error::ApiError;
use crate::formats::{encode_day, Format, CSV_HEADER};

/// Bytes rendered per chunk: large enough that per-chunk costs vanish, small enough that many
/// concurrent downloads hold little.
pub(crate) const CHUNK_BYTES: usize = 32 * 1024;

/// A body rendering `days` (shaped, in date order) in `format`, chunk by chunk.
pub(crate) struct DaysBody<I> {
    days: I,
    format: Format,
    group: Option<Period>,
    means: Option<PeriodMeans>,
    header_pending: bool,
    done: bool,
}

impl<I> DaysBody<I>
where
    I: Iterator<Item = Result<RateTable, ApiError>>,
{
    /// Renders `days` in `format` (CSV or NDJSON), as period means when `group` is given.
    pub(crate) fn new(format: Format, group: Option<Period>, days: I) -> DaysBody<I> {
        DaysBody {
            days,
            format,
            group,
            means: group.map(PeriodMeans::new),
            header_pending: format == Format::Csv,
            done: false,
        }
    }

    /// Renders the next chunk: at least [`CHUNK_BYTES`] unless the days run out first. After
    /// an error the body is over.
    fn next_chunk(&mut self) -> Result<Option<Bytes>, ApiError> {
        if self.done {
            return Ok(None);
        }
        let chunk = self.render_chunk();
        if chunk.is_err() {
            self.done = true;
        }
        chunk
    }

    fn render_chunk(&mut self) -> Result<Option<Bytes>, ApiError> {
        let mut out = Vec::with_capacity(CHUNK_BYTES + CHUNK_BYTES / 4);
        if self.header_pending {
            out.extend_from_slice(CSV_HEADER.as_bytes());
            self.header_pending = false;
        }
        while out.len() < CHUNK_BYTES {
            let Some(day) = self.days.next() else {
                if let Some(last) = self.means.take().and_then(PeriodMeans::finish) {
                    encode_day(self.format, &last, self.group, &mut out)?;
                }
                self.done = true;
                break;
            };
            let day = day?;
            match &mut self.means {
                Some(means) => {
                    let finished = means.push(&day).map_err(|error| {
                        ApiError::UnrepresentableValue(format!("cannot group the days: {error}"))
                    })?;
                    if let Some(period) = finished {
                        encode_day(self.format, &period, self.group, &mut out)?;
                    }
                }
                None => encode_day(self.format, &day, None, &mut out)?,
            }
        }
        Ok((!out.is_empty()).then(|| Bytes::from(out)))
    }
}

impl<I> MessageBody for DaysBody<I>
where
    I: Iterator<Item = Result<RateTable, ApiError>> + Unpin,
{
    type Error = ApiError;

    fn size(&self) -> BodySize {
        BodySize::Stream
    }

    fn poll_next(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, ApiError>>> {
        let this = self.get_mut();
        Poll::Ready(match this.next_chunk() {
            Ok(chunk) => chunk.map(Ok),
            Err(error) => {
                // The status line is gone: all that is left is to cut the answer short, so the
                // client sees a truncated transfer rather than a body that looks complete.
                log::error!("streamed answer cut short: {error}");
                Some(Err(error))
            }
        })
    }
}

/// Renders a whole streamed body into memory (for tests and small answers).
#[cfg(test)]
pub(crate) fn render_all<I>(mut body: DaysBody<I>) -> Result<Vec<u8>, ApiError>
where
    I: Iterator<Item = Result<RateTable, ApiError>>,
{
    let mut all = Vec::new();
    while let Some(chunk) = body.next_chunk()? {
        all.extend_from_slice(&chunk);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rates_domain::Currency;
    use time::{Date, Duration};

    fn days(count: i64) -> Vec<Result<RateTable, ApiError>> {
        let first = time::macros::date!(2024 - 01 - 01);
        (0..count)
            .map(|offset| {
                let date: Date = first + Duration::days(offset);
                #[allow(clippy::cast_precision_loss)]
                let value = 1.0 + offset as f64 / 100.0;
                Ok(
                    RateTable::from_raw(date, Currency::EUR, [("USD", value), ("GBP", 0.8)])
                        .unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn csv_has_one_header_and_a_row_per_value_across_chunks() {
        let body = DaysBody::new(Format::Csv, None, days(3000).into_iter());
        let text = String::from_utf8(render_all(body).unwrap()).unwrap();
        let mut lines = text.lines();
        assert_eq!(lines.next(), Some("date,base,currency,rate"));
        assert_eq!(lines.next(), Some("2024-01-01,EUR,GBP,0.8"));
        assert_eq!(lines.next(), Some("2024-01-01,EUR,USD,1"));
        assert_eq!(text.lines().count(), 1 + 6000);
        assert_eq!(text.matches("date,base").count(), 1);
        assert!(text.len() > 3 * CHUNK_BYTES);
    }

    #[test]
    fn chunks_stay_near_the_chunk_size() {
        let mut body = DaysBody::new(Format::Ndjson, None, days(3000).into_iter());
        let mut chunks = 0;
        while let Some(chunk) = body.next_chunk().unwrap() {
            assert!(chunk.len() < CHUNK_BYTES + 200, "{}", chunk.len());
            chunks += 1;
        }
        assert!(chunks > 3);
    }

    #[test]
    fn grouped_days_become_one_line_per_period() {
        let body = DaysBody::new(Format::Ndjson, Some(Period::Month), days(61).into_iter());
        let text = String::from_utf8(render_all(body).unwrap()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        // January: USD 1.00 .. 1.30, mean 1.15.
        assert_eq!(
            lines.first().copied(),
            Some(
                r#"{"date":"2024-01-01","base":"EUR","group":"month","rates":{"GBP":0.8,"USD":1.15}}"#
            )
        );
        assert!(lines.get(2).unwrap().starts_with(r#"{"date":"2024-03-01""#));
    }

    #[test]
    fn an_error_mid_stream_ends_the_body_with_that_error() {
        let mut items = days(3);
        items.insert(1, Err(ApiError::NoRatesHeld));
        let mut body = DaysBody::new(Format::Csv, None, items.into_iter());
        assert!(body.next_chunk().is_err());
        assert!(body.next_chunk().unwrap().is_none());
    }
}
