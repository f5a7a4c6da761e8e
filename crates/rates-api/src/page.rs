//! `GET /`: the overview page for people, and its assets under `/assets/`.
//!
//! The page is one HTML document, one script, one style sheet and one icon, all embedded in the
//! binary, so it works with no network beyond this server and is served with a strict
//! Content-Security-Policy (nothing inline, nothing from elsewhere). The HTML carries the latest
//! rates as a server-rendered table, so it is useful without script; the script then reads the
//! JSON API (`/currencies/`, `/rates/...`, `/convert`) for the converter and the chart.
//!
//! With `server.auth = "api-key"` the page and its assets stay open (they hold no rates: the
//! table is left empty and the script asks for a key, which it keeps in the tab's
//! `sessionStorage` and sends as `X-API-Key`), while every API route still needs the key.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Arc;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{guard, web, HttpRequest, HttpResponse, Resource};
use rates_domain::{format_date, Currency};
use rates_snapshot::Snapshot;
use serde::Deserialize;

use crate::conditional::{Freshness, RenderedAnswer};
use crate::error::ApiError;
use crate::state::{ApiState, AuthMode};

/// The page's Content-Security-Policy: everything from this server only, nothing inline, no
/// plugins, no framing, no form posts elsewhere.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self'; connect-src 'self'; font-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const INDEX_TEMPLATE: &str = include_str!("../assets/page/index.html");
const SCRIPT: &[u8] = include_bytes!("../assets/page/page.js");
const STYLE: &[u8] = include_bytes!("../assets/page/page.css");
const ICON: &[u8] = include_bytes!("../assets/page/icon.svg");

/// The embedded assets: path, content type and body.
const ASSETS: [(&str, &str, &[u8]); 3] = [
    ("/assets/page.js", "text/javascript; charset=utf-8", SCRIPT),
    ("/assets/page.css", "text/css; charset=utf-8", STYLE),
    ("/assets/icon.svg", "image/svg+xml", ICON),
];

/// Bytes of everything the page loads: the HTML template (before the table is filled in), the
/// script, the style sheet and the icon.
pub fn embedded_page_bytes() -> usize {
    INDEX_TEMPLATE.len() + ASSETS.iter().map(|(_, _, body)| body.len()).sum::<usize>()
}

/// Whether `path` is the page or one of its assets, which need no API key.
pub(crate) fn is_open(path: &str) -> bool {
    path == "/" || ASSETS.iter().any(|(asset, _, _)| *asset == path)
}

/// Registers `/` and the assets on `scope`.
pub(crate) fn register(scope: actix_web::Scope) -> actix_web::Scope {
    let scope = scope.service(get_only("/", index));
    ASSETS
        .iter()
        .fold(scope, |scope, (path, content_type, body)| {
            let answer = Arc::new(RenderedAnswer::new(body.to_vec(), None, Freshness::Short));
            let content_type = HeaderValue::from_static(content_type);
            scope.service(get_only(path, move |request: HttpRequest| {
                let answer = Arc::clone(&answer);
                let content_type = content_type.clone();
                async move { with_page_headers(answer.respond(request.headers()), content_type) }
            }))
        })
}

/// A resource answering GET and HEAD with `handler`; any other method is a 405 through
/// [`ApiError`].
fn get_only<F, Args>(path: &str, handler: F) -> Resource
where
    F: actix_web::Handler<Args>,
    Args: actix_web::FromRequest + 'static,
    F::Output: actix_web::Responder + 'static,
{
    web::resource(path)
        .route(
            web::route()
                .guard(guard::Any(guard::Get()).or(guard::Head()))
                .to(handler),
        )
        .default_service(web::to(|request: HttpRequest| async move {
            Err::<HttpResponse, _>(ApiError::MethodNotAllowed {
                method: request.method().clone(),
            })
        }))
}

/// `?base=XXX` picks the table's base for readers without script.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    base: Option<String>,
}

async fn index(
    state: web::Data<ApiState>,
    request: HttpRequest,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let base = query
        .base
        .as_deref()
        .filter(|base| !base.is_empty())
        .map(|base| {
            Currency::parse(base).map_err(|error| ApiError::InvalidCurrency {
                parameter: "base",
                message: error.to_string(),
            })
        })
        .transpose()?;
    let html = if state.config().auth == AuthMode::ApiKey {
        fill(INDEX_TEMPLATE, &PageContent::locked())
    } else {
        let content = PageContent::read(&state.snapshot().current(), base)?;
        fill(INDEX_TEMPLATE, &content)
    };
    let answer = RenderedAnswer::new(html.into_bytes(), None, Freshness::Short);
    Ok(with_page_headers(
        answer.respond(request.headers()),
        HeaderValue::from_static("text/html; charset=utf-8"),
    ))
}

/// The content type of the body (the shared renderer writes JSON's) and the page's security
/// headers.
fn with_page_headers(mut response: HttpResponse, content_type: HeaderValue) -> HttpResponse {
    let headers = response.headers_mut();
    if headers.contains_key(header::CONTENT_TYPE) {
        headers.insert(header::CONTENT_TYPE, content_type);
    }
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// What the server fills into the HTML.
struct PageContent {
    auth: &'static str,
    status: String,
    caption: String,
    base_options: String,
    rows: String,
    /// `no-names` hides the name column when no currency name is known.
    table_class: &'static str,
}

impl PageContent {
    /// With API keys on, the page holds no rates: the script fetches them with the reader's key.
    fn locked() -> PageContent {
        PageContent {
            auth: "api-key",
            status: "This server needs an API key. Enter one above (JavaScript is needed), or \
                     send it to the JSON API as X-API-Key."
                .to_owned(),
            caption: "Latest rates".to_owned(),
            base_options: String::new(),
            rows: String::new(),
            table_class: "",
        }
    }

    /// The latest table in `base` (the stored base when `None`), from the snapshot.
    fn read(snapshot: &Snapshot, base: Option<Currency>) -> Result<PageContent, ApiError> {
        let Some(stored) = snapshot.latest() else {
            return Ok(PageContent {
                auth: "off",
                status: "No rates are held yet.".to_owned(),
                caption: "Latest rates".to_owned(),
                base_options: String::new(),
                rows: String::new(),
                table_class: "",
            });
        };
        let names: BTreeMap<Currency, &str> = snapshot
            .currencies()
            .iter()
            .filter_map(|record| Some((record.code, record.name.as_deref()?)))
            .collect();
        let base = base.unwrap_or(snapshot.base());
        let table = stored.table.rebase(base).map_err(ApiError::from_domain)?;
        let mut codes: Vec<Currency> = table.rates().keys().copied().collect();
        if !codes.contains(&base) {
            codes.push(base);
            codes.sort();
        }
        let mut base_options = String::new();
        for code in &codes {
            let selected = if *code == base { " selected" } else { "" };
            let _ = write!(
                base_options,
                "<option value=\"{code}\"{selected}>{code}</option>"
            );
        }
        let mut rows = String::new();
        for (code, rate) in table.rates() {
            if *code == base {
                continue;
            }
            let name = names.get(code).copied().unwrap_or_default();
            let _ = write!(
                rows,
                "<tr><th scope=\"row\">{code}</th><td>{}</td><td class=\"num\">{rate}</td></tr>",
                escape(name)
            );
        }
        let date = format_date(table.date());
        Ok(PageContent {
            auth: "off",
            status: format!("Rates of {date}."),
            caption: format!("1 {base} in other currencies on {date}"),
            base_options,
            rows,
            table_class: if names.is_empty() { "no-names" } else { "" },
        })
    }
}

/// Replaces each `{{name}}` of the template; values are already HTML.
fn fill(template: &str, content: &PageContent) -> String {
    template
        .replace("{{auth}}", content.auth)
        .replace("{{status}}", &escape(&content.status))
        .replace("{{caption}}", &escape(&content.caption))
        .replace("{{base_options}}", &content.base_options)
        .replace("{{rows}}", &content.rows)
        .replace("{{table_class}}", content.table_class)
}

/// Escapes text for HTML content and quoted attribute values.
fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escape("<a href=\"x\">O'Neil & co</a>"),
            "&lt;a href=&quot;x&quot;&gt;O&#39;Neil &amp; co&lt;/a&gt;"
        );
    }

    #[test]
    fn open_paths_are_the_page_and_its_assets_only() {
        assert!(is_open("/"));
        assert!(is_open("/assets/page.js"));
        assert!(!is_open("/assets/"));
        assert!(!is_open("/rates/latest"));
        assert!(!is_open("/currencies/"));
    }

    #[test]
    fn template_has_every_placeholder() {
        for name in [
            "{{auth}}",
            "{{status}}",
            "{{caption}}",
            "{{base_options}}",
            "{{rows}}",
            "{{table_class}}",
        ] {
            assert!(INDEX_TEMPLATE.contains(name), "{name}");
        }
    }
}
