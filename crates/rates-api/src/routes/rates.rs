//! `GET /rates/{date}/` and `GET /rates/{start}..{end}/`.

use std::collections::BTreeMap;
use std::time::SystemTime;

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::Method;
use actix_web::{web, HttpRequest, HttpResponse};
use rates_domain::{
    format_date, today_utc, Currency, DateRange, Period, PeriodMeans, Rate, RateTable,
};
use rates_snapshot::Snapshot;
use rates_store::StoredRateTable;
use serde::Serialize;
use time::{Date, OffsetDateTime};

use super::as_of::{as_of_key, find_day_at, nearest_before_at, range_at, DayFound};
use super::days::{shape, shaped_rates};
use super::{export, revisions, serve_cached};
use crate::conditional::{EtagBuilder, Freshness, RenderedAnswer};
use crate::error::{shorten, ApiError};
use crate::formats::Format;
use crate::numbers;
use crate::read_through;
use crate::rendered_days::RenderedDays;
use crate::request::{parse_symbols, RatesParams, RatesPath, RatesQuery, RevisionsQuery};
use crate::state::ApiState;

/// Rates for each day held in a range, keyed by date.
#[derive(Serialize)]
struct RangeBody {
    base: Currency,
    start_date: String,
    end_date: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    group: Option<&'static str>,
    #[serde(serialize_with = "numbers::rates_by_day")]
    rates: BTreeMap<String, BTreeMap<Currency, Rate>>,
}

/// Every request under `/rates`: the method, the path segments and the query are checked
/// here (see [`super::register`] for why this is not an actix path pattern).
pub(super) async fn rates(
    state: web::Data<ApiState>,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return Err(ApiError::MethodNotAllowed {
            method: request.method().clone(),
        });
    }
    let (when, listing_revisions) = rates_segments(&request)?;
    if listing_revisions {
        return day_revisions(&state, &request, &when).await;
    }
    let query = web::Query::<RatesQuery>::from_query(request.query_string())
        .map_err(|error| ApiError::InvalidQuery(shorten(&error.to_string(), 200)))?;
    let params = query.parse(OffsetDateTime::now_utc())?;
    let format = Format::negotiate(params.format, request.headers());
    // Only a daily JSON range is rendered whole in memory; streamed formats and period means
    // have no length cap.
    let max_days = if format == Format::Json && params.group.is_none() {
        state.config().max_range_days
    } else {
        u32::MAX
    };
    let path = RatesPath::parse(&when, max_days)?;
    if params.group.is_some() && !matches!(path, RatesPath::Range(_)) {
        return Err(ApiError::InvalidGroup(
            "parameter `group` averages the days of a range; ask for /rates/{start}..{end}/"
                .to_owned(),
        ));
    }
    if let RatesPath::Day(date) = path {
        read_through::bring_in(&state, date).await;
    }
    let mut response = if format == Format::Json {
        let key = cache_key(path, &params);
        serve_cached(&state, &request, key, |snapshot| {
            render(snapshot, path, &params, today_utc(), state.rendered_days())
        })
        .await?
    } else {
        export::serve(&state, &request, path, params, format)?
    };
    response
        .headers_mut()
        .insert(header::VARY, HeaderValue::from_static("accept"));
    Ok(response)
}

/// `GET /rates/{date}/revisions`.
async fn day_revisions(
    state: &ApiState,
    request: &HttpRequest,
    when: &str,
) -> Result<HttpResponse, ApiError> {
    let query = web::Query::<RevisionsQuery>::from_query(request.query_string())
        .map_err(|error| ApiError::InvalidQuery(shorten(&error.to_string(), 200)))?;
    let symbols = parse_symbols(query.symbols.as_deref())?;
    let date = match RatesPath::parse(when, 1)? {
        RatesPath::Latest => None,
        RatesPath::Day(date) => Some(date),
        RatesPath::Range(_) => {
            return Err(ApiError::InvalidDate(
                "revisions are listed for one day: /rates/{date}/revisions".to_owned(),
            ))
        }
    };
    let codes: Vec<&str> = symbols.iter().map(Currency::as_str).collect();
    let key = format!(
        "revisions/{}?symbols={}",
        date.map_or_else(|| "latest".to_owned(), format_date),
        codes.join(",")
    );
    serve_cached(state, request, key, |snapshot| {
        revisions::render(snapshot, date, &symbols)
    })
    .await
}

/// The `{date}` of `/rates/{date}` (or `/rates/{date}/`), percent-decoded, and whether it is
/// followed by `/revisions`; any other shape under `/rates` is an unknown route.
fn rates_segments(request: &HttpRequest) -> Result<(String, bool), ApiError> {
    let tail = request.match_info().unprocessed();
    let not_found = || ApiError::RouteNotFound {
        path: shorten(request.path(), 80),
    };
    let inner = tail
        .strip_prefix('/')
        .map(|rest| rest.strip_suffix('/').unwrap_or(rest))
        .ok_or_else(not_found)?;
    let (segment, revisions) = match inner.split_once('/') {
        None => (inner, false),
        Some((segment, "revisions")) => (segment, true),
        Some(_) => return Err(not_found()),
    };
    if segment.is_empty() {
        return Err(not_found());
    }
    Ok((percent_decode(segment)?, revisions))
}

/// Decodes `%XX` escapes; a malformed escape or bytes that are not UTF-8 are a bad path.
fn percent_decode(segment: &str) -> Result<String, ApiError> {
    if !segment.contains('%') {
        return Ok(segment.to_owned());
    }
    let invalid =
        |reason: &str| ApiError::InvalidPath(format!("{:?}: {reason}", shorten(segment, 40)));
    let mut bytes = Vec::with_capacity(segment.len());
    let mut rest = segment.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        if byte == b'%' {
            let hex = tail
                .get(..2)
                .and_then(|digits| std::str::from_utf8(digits).ok())
                .and_then(|digits| u8::from_str_radix(digits, 16).ok())
                .ok_or_else(|| invalid("a % must be followed by two hexadecimal digits"))?;
            bytes.push(hex);
            rest = tail.get(2..).unwrap_or_default();
        } else {
            bytes.push(byte);
            rest = tail;
        }
    }
    String::from_utf8(bytes).map_err(|_| invalid("the decoded bytes are not UTF-8"))
}

/// The normalised request: equal keys get equal answers from one snapshot.
pub(super) fn cache_key(path: RatesPath, params: &RatesParams) -> String {
    let when = match path {
        RatesPath::Latest => "latest".to_owned(),
        RatesPath::Day(date) => format_date(date),
        RatesPath::Range(range) => range.to_string(),
    };
    let base = params.base.map(|base| base.to_string()).unwrap_or_default();
    let symbols: Vec<&str> = params.symbols.iter().map(Currency::as_str).collect();
    format!(
        "rates/{when}?base={base}&symbols={}&fallback={}&group={}&as_of={}",
        symbols.join(","),
        params.fallback,
        params.group.map(Period::as_str).unwrap_or_default(),
        as_of_key(params.as_of),
    )
}

/// Computes and renders the answer from the snapshot.
fn render(
    snapshot: &Snapshot,
    path: RatesPath,
    params: &RatesParams,
    today: Date,
    rendered: &RenderedDays,
) -> Result<RenderedAnswer, ApiError> {
    match path {
        RatesPath::Latest => render_day(snapshot, None, params, Freshness::Short, rendered),
        RatesPath::Day(date) => render_day(
            snapshot,
            Some(date),
            params,
            freshness_of(date, today),
            rendered,
        ),
        RatesPath::Range(range) => render_range(
            snapshot,
            range,
            params,
            freshness_of(range.end(), today),
            rendered,
        ),
    }
}

/// Past dates change only when a source revises them; today's may still arrive or change.
pub(super) fn freshness_of_path(path: RatesPath, today: Date) -> Freshness {
    match path {
        RatesPath::Latest => Freshness::Short,
        RatesPath::Day(date) => freshness_of(date, today),
        RatesPath::Range(range) => freshness_of(range.end(), today),
    }
}

fn freshness_of(last_date: Date, today: Date) -> Freshness {
    if last_date < today {
        Freshness::Long
    } else {
        Freshness::Short
    }
}

/// One day's answer ([`day_json`]); with every currency and current values, its rates are copied
/// from the days kept for ranges in that base when its month is kept (see [`RenderedDays`]),
/// else written from the stored table by [`write_rates`], without a shaped table or serde.
fn render_day(
    snapshot: &Snapshot,
    date: Option<Date>,
    params: &RatesParams,
    freshness: Freshness,
    rendered: &RenderedDays,
) -> Result<RenderedAnswer, ApiError> {
    let found = find_day_at(snapshot, date, params.fallback, params.as_of)?;
    let last_changed = Some(SystemTime::from(found.stored.last_changed));
    if params.symbols.is_empty() && params.as_of.is_none() {
        let base = params.base.unwrap_or(snapshot.base());
        let kept =
            rendered.with_kept_rates(base, &found.stored, |rates| day_json(base, &found, rates));
        if let Some(body) = kept {
            return Ok(RenderedAnswer::new(body, last_changed, freshness));
        }
    }
    let base = params.base.unwrap_or(found.stored.table.base());
    let mut rates = Vec::with_capacity(24 * found.stored.table.len() + 2);
    write_rates(&mut rates, &found.stored.table, params)?;
    Ok(RenderedAnswer::new(
        day_json(base, &found, &rates),
        last_changed,
        freshness,
    ))
}

/// A day's answer, `{"base":"EUR","date":"2024-01-02",["requested_date":...,]"timestamp":...,
/// "rates":{...}}`, around `rates` (a JSON object, from [`write_rates`] or as kept by
/// [`RenderedDays`]); checked byte for byte against the serde encoding it replaced.
fn day_json(base: Currency, found: &DayFound<'_>, rates: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(96 + rates.len());
    out.extend_from_slice(b"{\"base\":\"");
    out.extend_from_slice(base.as_str().as_bytes());
    out.extend_from_slice(b"\",\"date\":\"");
    out.extend_from_slice(format_date(found.stored.table.date()).as_bytes());
    if let Some(requested) = found.requested_date {
        out.extend_from_slice(b"\",\"requested_date\":\"");
        out.extend_from_slice(format_date(requested).as_bytes());
    }
    out.extend_from_slice(b"\",\"timestamp\":");
    out.extend_from_slice(
        itoa::Buffer::new()
            .format(found.stored.last_changed.unix_timestamp())
            .as_bytes(),
    );
    out.extend_from_slice(b",\"rates\":");
    out.extend_from_slice(rates);
    out.push(b'}');
    out
}

fn render_range(
    snapshot: &Snapshot,
    range: DateRange,
    params: &RatesParams,
    freshness: Freshness,
    rendered: &RenderedDays,
) -> Result<RenderedAnswer, ApiError> {
    let not_found = || ApiError::RangeNotFound {
        range,
        nearest: nearest_before_at(snapshot, range.start(), params.as_of),
    };
    let Some(group) = params.group else {
        let range = range_json(snapshot, range, params, rendered)?;
        let last_changed = Some(SystemTime::from(range.latest.ok_or_else(not_found)?));
        return Ok(match range.etag {
            Some(etag) => RenderedAnswer::with_etag(range.body, etag, last_changed, freshness),
            None => RenderedAnswer::new(range.body, last_changed, freshness),
        });
    };
    let days = range_at(snapshot, range, params.as_of);
    let last_changed = days
        .clone()
        .map(|stored| stored.last_changed)
        .max()
        .ok_or_else(not_found)?;
    let mut rates = BTreeMap::new();
    let mut means = PeriodMeans::new(group);
    for stored in days {
        let table = shape(&stored.table, params)?;
        if let Some(period) = means.push(&table).map_err(grouping_failed)? {
            rates.insert(format_date(period.date()), period.into_rates());
        }
    }
    if let Some(period) = means.finish() {
        rates.insert(format_date(period.date()), period.into_rates());
    }
    let body = RangeBody {
        base: params.base.unwrap_or(snapshot.base()),
        start_date: format_date(range.start()),
        end_date: format_date(range.end()),
        group: Some(group.as_str()),
        rates,
    };
    RenderedAnswer::json(&body, Some(SystemTime::from(last_changed)), freshness)
}

/// The JSON of a daily range (what [`RangeBody`] without `group` serialises to), written
/// straight from the stored tables: a year in another base is some 8,000 values, and building
/// a rebased table per day before encoding took most of the time. With every currency asked for
/// and current values, each day is copied from `rendered` once it has been rendered in this
/// base (see [`RenderedDays`]).
fn range_json(
    snapshot: &Snapshot,
    range: DateRange,
    params: &RatesParams,
    rendered: &RenderedDays,
) -> Result<RangeJson, ApiError> {
    /// Bytes per day of a full table (`"2024-01-02":{` and up to some 40 `"USD":1.095600000,`
    /// in another base), to size the buffer once: growing it copied the whole body again.
    const DAY_BYTES: usize = 800;
    let base = params.base.unwrap_or(snapshot.base());
    let current = snapshot.range(range);
    let mut out = Vec::with_capacity(128 + DAY_BYTES * current.len());
    out.extend_from_slice(b"{\"base\":\"");
    out.extend_from_slice(base.as_str().as_bytes());
    out.extend_from_slice(b"\",\"start_date\":\"");
    out.extend_from_slice(format_date(range.start()).as_bytes());
    out.extend_from_slice(b"\",\"end_date\":\"");
    out.extend_from_slice(format_date(range.end()).as_bytes());
    out.extend_from_slice(b"\",\"rates\":{");
    if params.as_of.is_none() && params.symbols.is_empty() {
        // The ETag from the header and the days' hashes: the body is not hashed again.
        let mut etag = EtagBuilder::new();
        etag.update(&out);
        let latest = rendered.write(
            snapshot,
            current.shared(),
            base,
            &mut out,
            &mut etag,
            &mut |stored, out| write_day(out, stored, params),
        )?;
        out.extend_from_slice(b"}}");
        etag.update(b"}}");
        return Ok(RangeJson {
            body: out,
            latest,
            etag: Some(etag),
        });
    }
    let latest = {
        let mut latest = None;
        for (index, stored) in range_at(snapshot, range, params.as_of).enumerate() {
            if index > 0 {
                out.push(b',');
            }
            write_day(&mut out, &stored, params)?;
            latest = latest.max(Some(stored.last_changed));
        }
        latest
    };
    out.extend_from_slice(b"}}");
    Ok(RangeJson {
        body: out,
        latest,
        etag: None,
    })
}

/// What [`range_json`] wrote.
struct RangeJson {
    body: Vec<u8>,
    /// The newest `last_changed` of the days written (`None`: no day of the range is held).
    latest: Option<OffsetDateTime>,
    /// The ETag, when computed as the body was written (else it is the body's hash).
    etag: Option<EtagBuilder>,
}

/// One day of a daily range: `"2024-01-02":{"AUD":1.6235,...}`, shaped by `params`.
fn write_day(
    out: &mut Vec<u8>,
    stored: &StoredRateTable,
    params: &RatesParams,
) -> Result<(), ApiError> {
    out.push(b'"');
    out.extend_from_slice(format_date(stored.table.date()).as_bytes());
    out.extend_from_slice(b"\":");
    write_rates(out, &stored.table, params)
}

/// A day's rates as a JSON object, `{"AUD":1.6235,...}`, shaped by `params`.
fn write_rates(out: &mut Vec<u8>, table: &RateTable, params: &RatesParams) -> Result<(), ApiError> {
    out.push(b'{');
    for (position, rate) in shaped_rates(table, params)?.enumerate() {
        let (currency, rate) = rate?;
        if position > 0 {
            out.push(b',');
        }
        // Currency codes are three ASCII letters: nothing to escape.
        out.push(b'"');
        out.extend_from_slice(currency.as_str().as_bytes());
        out.extend_from_slice(b"\":");
        numbers::write_plain(out, rate.get());
    }
    out.push(b'}');
    Ok(())
}

/// Days come from the snapshot in date order and one base, so grouping cannot fail; kept as an
/// error rather than a panic all the same.
pub(super) fn grouping_failed(error: rates_domain::PeriodError) -> ApiError {
    ApiError::UnrepresentableValue(format!("cannot group the days: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rates_domain::ecb::parse_ecb_csv;
    use rates_domain::{Rate, RateTable};

    /// One day's rates, as the answer was serialised before it was written by hand.
    #[derive(Serialize)]
    struct DayBody<'a> {
        base: Currency,
        date: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        requested_date: Option<String>,
        timestamp: i64,
        #[serde(serialize_with = "numbers::rates")]
        rates: &'a BTreeMap<Currency, Rate>,
    }

    /// What a day's JSON was before it was written by hand: the shaped table, serialised.
    fn day_json_by_serde(
        snapshot: &Snapshot,
        date: Date,
        params: &RatesParams,
    ) -> Result<Vec<u8>, String> {
        let found = find_day_at(snapshot, Some(date), params.fallback, params.as_of)
            .map_err(|error| error.to_string())?;
        let table = shape(&found.stored.table, params).map_err(|error| error.to_string())?;
        let body = DayBody {
            base: table.base(),
            date: format_date(table.date()),
            requested_date: found.requested_date.map(format_date),
            timestamp: found.stored.last_changed.unix_timestamp(),
            rates: table.rates(),
        };
        Ok(serde_json::to_vec(&body).unwrap())
    }

    #[test]
    fn a_day_written_by_hand_is_what_serde_wrote() {
        let snapshot = sample_snapshot();
        let dates: Vec<Date> = snapshot.days().map(|stored| stored.table.date()).collect();
        let code = |code: &str| Currency::parse(code).unwrap();
        let bases = [
            None,
            Some(Currency::EUR),
            Some(Currency::USD),
            Some(code("INR")),
        ];
        let symbol_sets = [
            vec![],
            vec![Currency::USD],
            vec![Currency::EUR, code("GBP"), code("JPY")],
            vec![code("INR"), Currency::USD],
            vec![code("SKK")],
        ];
        let as_ofs = [
            None,
            Some(OffsetDateTime::UNIX_EPOCH + time::Duration::minutes(2)),
        ];
        let nothing_kept = RenderedDays::new(0);
        let mut compared = 0;
        let asked = dates
            .iter()
            .copied()
            .chain([time::macros::date!(2024 - 01 - 07)]);
        for date in asked {
            for base in bases {
                for symbols in &symbol_sets {
                    for as_of in as_ofs {
                        for fallback in [false, true] {
                            let params = RatesParams {
                                base,
                                symbols: symbols.clone(),
                                fallback,
                                as_of,
                                ..params_in(None)
                            };
                            let by_hand = render_day(
                                &snapshot,
                                Some(date),
                                &params,
                                Freshness::Long,
                                &nothing_kept,
                            )
                            .map(|answer| answer.body().to_vec())
                            .map_err(|error| error.to_string());
                            let by_serde = day_json_by_serde(&snapshot, date, &params);
                            assert_eq!(
                                by_hand.as_deref().map(String::from_utf8_lossy),
                                by_serde.as_deref().map(String::from_utf8_lossy),
                                "{date} {base:?} {symbols:?} {as_of:?} {fallback}"
                            );
                            compared += usize::from(by_serde.is_ok());
                        }
                    }
                }
            }
        }
        assert!(compared > 100, "{compared} answers compared");
    }

    /// What the range's JSON was before it was written by hand: rebased tables, serialised.
    fn range_json_by_serde(
        stored_base: Currency,
        range: DateRange,
        days: &[StoredRateTable],
        params: &RatesParams,
    ) -> Result<Vec<u8>, ApiError> {
        let mut rates = BTreeMap::new();
        for stored in days {
            let table = shape(&stored.table, params)?;
            rates.insert(format_date(table.date()), table.into_owned().into_rates());
        }
        let body = RangeBody {
            base: params.base.unwrap_or(stored_base),
            start_date: format_date(range.start()),
            end_date: format_date(range.end()),
            group: None,
            rates,
        };
        Ok(serde_json::to_vec(&body).unwrap())
    }

    #[test]
    fn a_range_written_by_hand_is_what_serde_wrote() {
        let snapshot = sample_snapshot();
        let days: Vec<StoredRateTable> = snapshot.days().cloned().collect();
        let newest = days.iter().map(|stored| stored.last_changed).max();
        let range =
            DateRange::new(days[0].table.date(), days[days.len() - 1].table.date()).unwrap();
        // Every day rendered each time, and days kept: written cold, then copied.
        let rendered_every_time = RenderedDays::new(0);
        let kept = RenderedDays::new(usize::MAX);
        let mut bases: Vec<Option<Currency>> = vec![None, Some(Currency::EUR)];
        bases.extend(days[0].table.rates().keys().copied().map(Some));
        // Held on some days of the sample only, or never: the same error either way.
        bases.extend(["CYP", "ISK", "XAU"].map(|code| Some(Currency::parse(code).unwrap())));
        let symbol_lists = [
            vec![],
            vec![Currency::USD],
            vec![Currency::EUR, Currency::parse("JPY").unwrap()],
        ];
        let mut compared = 0;
        let mut full_bases = std::collections::BTreeSet::new();
        for base in bases {
            for symbols in &symbol_lists {
                let params = RatesParams {
                    base,
                    symbols: symbols.clone(),
                    fallback: false,
                    format: None,
                    group: None,
                    as_of: None,
                };
                let by_hand = written(&snapshot, range, &params, &rendered_every_time);
                let cold = written(&snapshot, range, &params, &kept);
                let copied = written(&snapshot, range, &params, &kept);
                if let Ok((_, latest, etag)) = &by_hand {
                    assert_eq!(*latest, newest);
                    assert_eq!(etag.is_some(), symbols.is_empty(), "{base:?} {symbols:?}");
                }
                for other in [cold, copied] {
                    assert_eq!(other, by_hand, "{base:?} {symbols:?}");
                }
                let by_serde = range_json_by_serde(Currency::EUR, range, &days, &params);
                if symbols.is_empty() && by_hand.is_ok() {
                    full_bases.insert(base.unwrap_or(Currency::EUR));
                }
                match (by_hand.map(|(body, _, _)| body), by_serde) {
                    (Ok(by_hand), Ok(by_serde)) => {
                        assert_eq!(
                            by_hand,
                            String::from_utf8(by_serde).unwrap(),
                            "{base:?} {symbols:?}"
                        );
                        compared += 1;
                    }
                    (Err(by_hand), Err(by_serde)) => {
                        assert_eq!(by_hand, by_serde.to_string(), "{base:?} {symbols:?}");
                    }
                    (by_hand, by_serde) => panic!(
                        "{base:?} {symbols:?}: by hand {:?}, by serde {:?}",
                        by_hand.map(|_| ()),
                        by_serde.map(|_| ())
                    ),
                }
            }
        }
        assert!(compared > 60, "{compared}");
        // Every day of every base a full range could be written in was kept; none of the
        // others (a base missing on some day fails the whole range).
        assert_eq!(kept.kept().0, full_bases.len() * days.len());
    }

    /// What [`range_json`] wrote: the body, the newest change and the ETag if computed.
    fn written(
        snapshot: &Snapshot,
        range: DateRange,
        params: &RatesParams,
        rendered: &RenderedDays,
    ) -> Result<(String, Option<OffsetDateTime>, Option<String>), String> {
        let written = range_json(snapshot, range, params, rendered).map_err(|e| e.to_string())?;
        Ok((
            String::from_utf8(written.body).unwrap(),
            written.latest,
            written.etag.map(EtagBuilder::finish),
        ))
    }

    /// The sample's days, each last changed at a different instant, as a snapshot.
    fn sample_snapshot() -> Snapshot {
        let csv = include_str!("../../tests/data/ecb-sample.csv");
        let tables = parse_ecb_csv(csv.as_bytes()).unwrap().tables;
        let days = tables
            .into_iter()
            .enumerate()
            .map(|(index, table)| StoredRateTable {
                table,
                last_changed: OffsetDateTime::UNIX_EPOCH
                    + time::Duration::minutes(i64::try_from(index * 7 % 5).unwrap()),
            });
        Snapshot::new(Currency::EUR, days, Vec::new(), 1).unwrap()
    }

    fn params_in(base: Option<Currency>) -> RatesParams {
        RatesParams {
            base,
            symbols: Vec::new(),
            fallback: false,
            format: None,
            group: None,
            as_of: None,
        }
    }

    #[test]
    fn every_range_copied_from_kept_months_is_what_rendering_each_day_wrote() {
        let snapshot = sample_snapshot();
        let dates: Vec<Date> = snapshot.days().map(|stored| stored.table.date()).collect();
        let kept = RenderedDays::new(usize::MAX);
        let every_time = RenderedDays::new(0);
        let held_on_some_days = ["SKK", "INR"].map(|code| Some(Currency::parse(code).unwrap()));
        let bases = [
            None,
            Some(Currency::USD),
            held_on_some_days[0],
            held_on_some_days[1],
        ];
        // Shortest ranges first, so that later ones find months kept for earlier ones, and
        // ranges starting and ending in the middle of months.
        for length in 0..dates.len() {
            for (start, end) in dates.iter().zip(&dates[length..]) {
                for base in bases {
                    let range = DateRange::new(*start, *end).unwrap();
                    let params = params_in(base);
                    let expected = written(&snapshot, range, &params, &every_time);
                    let copied = written(&snapshot, range, &params, &kept);
                    assert_eq!(copied, expected, "{range} {base:?}");
                }
            }
        }
        // SKK is held on 2008-12-31 only and INR on every day but that one: the months whose
        // every day can be written in the base are kept, the others not.
        assert_eq!(kept.kept().0, 2 * dates.len() + 1 + (dates.len() - 1));
    }

    #[test]
    fn a_corrected_day_is_served_from_its_new_table() {
        let snapshot = sample_snapshot();
        let range = DateRange::new(
            Date::from_calendar_date(2023, time::Month::December, 1).unwrap(),
            Date::from_calendar_date(2024, time::Month::January, 31).unwrap(),
        )
        .unwrap();
        let kept = RenderedDays::new(usize::MAX);
        let params = params_in(Some(Currency::USD));
        let (before, _, before_etag) = written(&snapshot, range, &params, &kept).unwrap();
        let day = snapshot
            .day(Date::from_calendar_date(2024, time::Month::January, 9).unwrap())
            .unwrap()
            .clone();
        let mut rates = day.table.rates().clone();
        rates.insert(Currency::parse("JPY").unwrap(), Rate::new(170.0).unwrap());
        let corrected = StoredRateTable {
            table: RateTable::new(day.table.date(), Currency::EUR, rates).unwrap(),
            last_changed: OffsetDateTime::UNIX_EPOCH + time::Duration::days(1),
        };
        let snapshot = snapshot.with_days([corrected]).unwrap();
        let (after, latest, after_etag) = written(&snapshot, range, &params, &kept).unwrap();
        let fresh = written(&snapshot, range, &params, &RenderedDays::new(0)).unwrap();
        assert_ne!(after, before);
        assert_ne!(after_etag, before_etag);
        assert_eq!((&after, &after_etag), (&fresh.0, &fresh.2));
        assert_eq!(
            latest,
            Some(OffsetDateTime::UNIX_EPOCH + time::Duration::days(1))
        );
        let text = after;
        // 170 JPY a euro at 1.094 USD a euro: 155.393053 JPY a dollar, to ten digits.
        assert!(text.contains("\"2024-01-09\":{"), "{text}");
        assert!(text.contains("\"JPY\":155.393053,"), "{text}");
    }

    #[test]
    fn a_day_copied_from_kept_rates_is_what_serde_wrote() {
        let snapshot = sample_snapshot();
        let dates: Vec<Date> = snapshot.days().map(|stored| stored.table.date()).collect();
        let whole = DateRange::new(dates[0], dates[dates.len() - 1]).unwrap();
        let kept = RenderedDays::new(usize::MAX);
        let nothing_kept = RenderedDays::new(0);
        let bases = [
            None,
            Some(Currency::EUR),
            Some(Currency::USD),
            Some(Currency::parse("INR").unwrap()),
        ];
        for base in &bases[..3] {
            range_json(&snapshot, whole, &params_in(*base), &kept).unwrap();
        }
        // INR is missing on the first day: its other months.
        let but_the_first = DateRange::new(dates[1], dates[dates.len() - 1]).unwrap();
        range_json(&snapshot, but_the_first, &params_in(bases[3]), &kept).unwrap();
        let mut copied = 0;
        // Held days, and a Sunday answered with the Friday before.
        let asked = dates
            .iter()
            .copied()
            .chain([time::macros::date!(2024 - 01 - 07)]);
        for date in asked {
            for base in bases {
                for fallback in [false, true] {
                    let params = RatesParams {
                        fallback,
                        ..params_in(base)
                    };
                    let answer = |rendered: &RenderedDays| {
                        render_day(&snapshot, Some(date), &params, Freshness::Long, rendered)
                            .map(|answer| (answer.body().clone(), answer.etag().to_owned()))
                            .map_err(|error| error.to_string())
                    };
                    let expected = answer(&nothing_kept);
                    assert_eq!(answer(&kept), expected, "{date} {base:?} {fallback}");
                    let found = snapshot.find(Some(date), fallback);
                    let base = base.unwrap_or(Currency::EUR);
                    if let Ok(found) = found {
                        copied +=
                            usize::from(kept.with_kept_rates(base, found.stored, |_| ()).is_some());
                    }
                }
            }
        }
        // Every held day in the stored base (by default and by name) and in USD, and INR's days
        // outside its incomplete month, each with and without fallback; the Sunday's Friday, with
        // fallback, in all four.
        assert_eq!(copied, 3 * 2 * dates.len() + 2 * (dates.len() - 1) + 4);
    }

    #[test]
    fn percent_decoding_is_strict() {
        assert_eq!(percent_decode("2024-01-02").unwrap(), "2024-01-02");
        assert_eq!(percent_decode("%32024-01-02").unwrap(), "2024-01-02");
        assert_eq!(percent_decode("%00").unwrap(), "\0");
        assert_eq!(percent_decode("%C3%9C").unwrap(), "Ü");
        for bad in ["%", "%2", "%zz", "%FF%FE", "%C3"] {
            assert_eq!(
                percent_decode(bad).unwrap_err().code(),
                "invalid_path",
                "{bad}"
            );
        }
    }
}
