//! HTTP caching of successful answers: content ETags, `Last-Modified`, `Cache-Control` and 304s.
//!
//! An answer is rendered once into a [`RenderedAnswer`] (body plus its validators, all header
//! values pre-built) and kept in the [`crate::response_cache`]; every request then only compares
//! its `If-None-Match` / `If-Modified-Since` against it. The ETag is a hash of the body (of a
//! daily range's header and its days' own hashes, see `rendered_days`), so any corrected value
//! gives a new ETag; `Last-Modified` is when the newest value in the answer was
//! last changed in the database.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::http::header::{self, HeaderMap, HeaderValue, HttpDate};
use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use actix_web::HttpResponse;
use xxhash_rust::xxh3::Xxh3;

/// How long clients and proxies may reuse an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Past dates: values change only when a source revises them.
    Long,
    /// `latest`, today and later: the next day's rates can land at any time.
    Short,
}

impl Freshness {
    /// `Cache-Control` for past dates: a day.
    pub const LONG: &'static str = "public, max-age=86400";
    /// `Cache-Control` for `latest` and today: a minute.
    pub const SHORT: &'static str = "public, max-age=60";

    fn header_value(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Freshness::Long => Freshness::LONG,
            Freshness::Short => Freshness::SHORT,
        })
    }
}

/// A successful answer, rendered once, with its caching validators.
#[derive(Debug)]
pub struct RenderedAnswer {
    body: Bytes,
    etag: HeaderValue,
    last_modified: Option<(SystemTime, HeaderValue)>,
    cache_control: HeaderValue,
}

/// The caching validators of an answer whose body is streamed rather than rendered up front:
/// the ETag is computed from what the body will be made of (see [`crate::streaming`]).
#[derive(Debug)]
pub(crate) struct StreamValidators {
    etag: HeaderValue,
    last_modified: Option<(SystemTime, HeaderValue)>,
    cache_control: HeaderValue,
}

impl StreamValidators {
    /// Validators with `etag` (quoted, from an [`EtagBuilder`] fed the body's ingredients).
    pub(crate) fn new(
        etag: &str,
        last_changed: Option<SystemTime>,
        freshness: Freshness,
    ) -> StreamValidators {
        StreamValidators {
            etag: etag_value(etag),
            last_modified: last_modified_value(last_changed),
            cache_control: freshness.header_value(),
        }
    }

    /// A 304 when the request's validators match; otherwise a 200 builder carrying the
    /// validators, for the caller to give its body.
    pub(crate) fn respond(
        &self,
        request_headers: &HeaderMap,
    ) -> Result<HttpResponse, actix_web::HttpResponseBuilder> {
        let matched = not_modified(&self.etag, self.last_modified.as_ref(), request_headers);
        let status = if matched {
            StatusCode::NOT_MODIFIED
        } else {
            StatusCode::OK
        };
        let mut response = HttpResponse::build(status);
        response.insert_header((header::ETAG, self.etag.clone()));
        response.insert_header((header::CACHE_CONTROL, self.cache_control.clone()));
        if let Some((_, value)) = &self.last_modified {
            response.insert_header((header::LAST_MODIFIED, value.clone()));
        }
        if matched {
            Ok(response.finish())
        } else {
            Err(response)
        }
    }
}

fn etag_value(etag: &str) -> HeaderValue {
    HeaderValue::from_str(etag).unwrap_or_else(|_| HeaderValue::from_static("\"0\""))
}

/// HTTP dates have whole seconds; compare on the same footing. Written on the stack and copied
/// once into the header value: every answer rendered has one.
fn last_modified_value(last_changed: Option<SystemTime>) -> Option<(SystemTime, HeaderValue)> {
    use std::io::Write as _;
    let time = truncate_to_seconds(last_changed?);
    // An IMF-fixdate is 29 bytes.
    let mut written = std::io::Cursor::new([0u8; 40]);
    write!(written, "{}", HttpDate::from(time)).ok()?;
    let length = usize::try_from(written.position()).ok()?;
    let value = HeaderValue::from_bytes(written.get_ref().get(..length)?).ok()?;
    Some((time, value))
}

impl RenderedAnswer {
    /// Renders `body` (JSON) with an ETag from its content.
    pub fn new(
        body: Vec<u8>,
        last_changed: Option<SystemTime>,
        freshness: Freshness,
    ) -> RenderedAnswer {
        let mut etag = EtagBuilder::new();
        etag.update(&body);
        RenderedAnswer::with_etag(body, etag, last_changed, freshness)
    }

    /// Renders `body` (JSON) with the ETag of `etag` (an [`EtagBuilder`] fed with what the body
    /// was made of, so that it changes exactly when the body does): for a body assembled from
    /// pieces whose hashes are known, such as a daily range's days.
    pub(crate) fn with_etag(
        body: Vec<u8>,
        etag: EtagBuilder,
        last_changed: Option<SystemTime>,
        freshness: Freshness,
    ) -> RenderedAnswer {
        RenderedAnswer {
            etag: etag.finish_value(),
            body: Bytes::from(body),
            last_modified: last_modified_value(last_changed),
            cache_control: freshness.header_value(),
        }
    }

    /// The JSON body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// Encodes `body` as JSON and renders it (see [`RenderedAnswer::new`]): the one way routes
    /// turn a body into an answer.
    pub fn json(
        body: &impl serde::Serialize,
        last_changed: Option<SystemTime>,
        freshness: Freshness,
    ) -> Result<RenderedAnswer, crate::error::ApiError> {
        let encoded = serde_json::to_vec(body).map_err(|error| {
            crate::error::ApiError::UnrepresentableValue(format!(
                "cannot encode the answer: {error}"
            ))
        })?;
        Ok(RenderedAnswer::new(encoded, last_changed, freshness))
    }

    /// The quoted ETag.
    pub fn etag(&self) -> &str {
        self.etag.to_str().unwrap_or_default()
    }

    /// Bytes held, for the cache's budget.
    pub fn weight(&self) -> usize {
        self.body.len() + 256
    }

    /// 304 when the request's validators match, the full answer otherwise.
    pub fn respond(&self, request_headers: &HeaderMap) -> HttpResponse {
        let status = if self.not_modified(request_headers) {
            StatusCode::NOT_MODIFIED
        } else {
            StatusCode::OK
        };
        let mut response = HttpResponse::build(status);
        response.insert_header((header::ETAG, self.etag.clone()));
        response.insert_header((header::CACHE_CONTROL, self.cache_control.clone()));
        if let Some((_, value)) = &self.last_modified {
            response.insert_header((header::LAST_MODIFIED, value.clone()));
        }
        if status == StatusCode::NOT_MODIFIED {
            return response.finish();
        }
        response.content_type(mime_json()).body(self.body.clone())
    }

    fn not_modified(&self, headers: &HeaderMap) -> bool {
        not_modified(&self.etag, self.last_modified.as_ref(), headers)
    }
}

/// RFC 9110 §13.2.2: `If-None-Match` wins; `If-Modified-Since` only counts without it.
fn not_modified(
    etag: &HeaderValue,
    last_modified: Option<&(SystemTime, HeaderValue)>,
    headers: &HeaderMap,
) -> bool {
    let if_none_match: Vec<&HeaderValue> = headers.get_all(header::IF_NONE_MATCH).collect();
    if !if_none_match.is_empty() {
        let ours = strip_weak(etag.as_bytes());
        return if_none_match.iter().any(|value| {
            value.as_bytes().split(|byte| *byte == b',').any(|tag| {
                let tag = tag.trim_ascii();
                tag == b"*" || strip_weak(tag) == ours
            })
        });
    }
    let Some((modified, _)) = last_modified else {
        return false;
    };
    headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.parse::<HttpDate>().ok())
        .is_some_and(|since| *modified <= SystemTime::from(since))
}

fn mime_json() -> HeaderValue {
    HeaderValue::from_static("application/json")
}

/// A content ETag fed piece by piece, for answers whose body is streamed: fed with everything
/// the body is rendered from (the request's normalised form and the stored values), it changes
/// exactly when the body would.
///
/// XXH3 rather than a cryptographic hash: an ETag only has to change when the body does (a
/// client cannot gain anything by forging one), and hashing a year's 100 KB answer with SHA-256
/// took a sixth of its render.
#[derive(Clone, Default)]
pub(crate) struct EtagBuilder(Xxh3);

impl fmt::Debug for EtagBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EtagBuilder")
    }
}

impl EtagBuilder {
    pub(crate) fn new() -> EtagBuilder {
        EtagBuilder(Xxh3::new())
    }

    pub(crate) fn update(&mut self, piece: &[u8]) {
        self.0.update(piece);
    }

    /// The quoted ETag: the 128-bit hash in hex.
    pub(crate) fn finish(self) -> String {
        format!("\"{:032x}\"", self.0.digest128())
    }

    /// [`EtagBuilder::finish`] as a header value, written on the stack and copied once into the
    /// value: every answer rendered has one.
    pub(crate) fn finish_value(self) -> HeaderValue {
        let digest = self.0.digest128();
        let mut quoted = [b'"'; 34];
        for (position, slot) in quoted.iter_mut().skip(1).take(32).enumerate() {
            let nibble = (digest >> (4 * (31 - position))) & 0xf;
            *slot = char::from_digit(u32::try_from(nibble).unwrap_or_default(), 16)
                .map_or(b'0', |digit| digit as u8);
        }
        HeaderValue::from_bytes(&quoted).unwrap_or_else(|_| HeaderValue::from_static("\"0\""))
    }
}

/// Weak comparison (RFC 9110 §8.8.3.2): `W/"x"` matches `"x"`.
fn strip_weak(tag: &[u8]) -> &[u8] {
    tag.strip_prefix(b"W/").unwrap_or(tag)
}

fn truncate_to_seconds(time: SystemTime) -> SystemTime {
    match time.duration_since(UNIX_EPOCH) {
        Ok(since) => UNIX_EPOCH + Duration::from_secs(since.as_secs()),
        Err(_) => UNIX_EPOCH,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderName;

    fn answer() -> RenderedAnswer {
        RenderedAnswer::new(
            br#"{"base":"EUR"}"#.to_vec(),
            Some(UNIX_EPOCH + Duration::from_millis(1_700_000_000_500)),
            Freshness::Long,
        )
    }

    /// The ETag of a rendered `body`.
    fn content_etag(body: &[u8]) -> String {
        let mut builder = EtagBuilder::new();
        builder.update(body);
        builder.finish()
    }

    fn headers(pairs: &[(HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn an_etag_as_a_header_value_is_the_etag_as_text() {
        for body in [&b""[..], b"a", br#"{"base":"EUR","rates":{"USD":1.1172}}"#] {
            let mut text = EtagBuilder::new();
            text.update(body);
            let value = text.clone().finish_value();
            assert_eq!(value.to_str().unwrap(), text.finish());
        }
        let answer = answer();
        let (_, last_modified) = answer.last_modified.as_ref().unwrap();
        assert_eq!(last_modified, "Tue, 14 Nov 2023 22:13:20 GMT");
    }

    #[test]
    fn etag_follows_the_content() {
        assert_eq!(content_etag(b"a"), content_etag(b"a"));
        assert_ne!(
            content_etag(br#"{"USD":1.1172}"#),
            content_etag(br#"{"USD":1.1173}"#)
        );
        assert_eq!(content_etag(b"a").len(), 34);
    }

    #[test]
    fn full_answer_carries_validators() {
        let answer = answer();
        let response = answer.respond(&HeaderMap::new());
        assert_eq!(response.status(), StatusCode::OK);
        let got = response.headers();
        assert_eq!(
            got.get(header::ETAG).unwrap().to_str().unwrap(),
            answer.etag()
        );
        assert_eq!(got.get(header::CACHE_CONTROL).unwrap(), Freshness::LONG);
        assert_eq!(
            got.get(header::LAST_MODIFIED).unwrap(),
            "Tue, 14 Nov 2023 22:13:20 GMT"
        );
    }

    #[test]
    fn if_none_match_matches_lists_weak_tags_and_star() {
        let answer = answer();
        let etag = answer.etag().to_owned();
        for value in [
            etag.clone(),
            format!("W/{etag}"),
            format!("\"x\", {etag}"),
            "*".into(),
        ] {
            let response = answer.respond(&headers(&[(header::IF_NONE_MATCH, &value)]));
            assert_eq!(response.status(), StatusCode::NOT_MODIFIED, "{value}");
        }
        let response = answer.respond(&headers(&[(header::IF_NONE_MATCH, "\"other\"")]));
        assert_eq!(response.status(), StatusCode::OK);
    }

    #[test]
    fn if_modified_since_compares_whole_seconds_and_yields_to_if_none_match() {
        let answer = answer();
        let same = "Tue, 14 Nov 2023 22:13:20 GMT";
        let earlier = "Tue, 14 Nov 2023 22:13:19 GMT";
        let status = |pairs: &[(HeaderName, &str)]| answer.respond(&headers(pairs)).status();
        assert_eq!(
            status(&[(header::IF_MODIFIED_SINCE, same)]),
            StatusCode::NOT_MODIFIED
        );
        assert_eq!(
            status(&[(header::IF_MODIFIED_SINCE, earlier)]),
            StatusCode::OK
        );
        assert_eq!(
            status(&[(header::IF_MODIFIED_SINCE, "garbage")]),
            StatusCode::OK
        );
        assert_eq!(
            status(&[
                (header::IF_MODIFIED_SINCE, same),
                (header::IF_NONE_MATCH, "\"other\"")
            ]),
            StatusCode::OK
        );
    }
}
