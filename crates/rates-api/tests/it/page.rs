//! `GET /`: the overview page over two years of real ECB rates ending 2026-10-30, checked over
//! HTTP and in a headless chromium (see [`crate::browser`]; the `browser_` tests are `ignored`,
//! with the reason, where chromium is not installed).

use std::collections::{BTreeMap, BTreeSet};

use rates_api::{ApiConfig, AuthMode, CONTENT_SECURITY_POLICY};
use rates_domain::ecb::parse_ecb_csv;
use rates_domain::{ApiKey, RateTable, Source, API_KEY_BYTES};
use rates_store::testing::TestDatabase;
use serde_json::{json, Value};
use time::macros::date;
use time::{Date, Duration as Days};

use crate::browser::{Browser, Script};
use crate::helpers::{spawn_app_on, test_config, TestApp, TestResult};

/// The last day of the slice, and the page's "latest".
const LAST_DAY: Date = date!(2026 - 10 - 30);

const ASSETS: [(&str, &str); 3] = [
    ("/assets/page.js", "text/javascript; charset=utf-8"),
    ("/assets/page.css", "text/css; charset=utf-8"),
    ("/assets/icon.svg", "image/svg+xml"),
];

/// Every table of the ECB file from 2024-10-30 to 2026-10-30.
fn ecb_tables() -> TestResult<Vec<RateTable>> {
    let csv = include_str!("../data/ecb-2024-10-30-to-2026-10-30.csv");
    Ok(parse_ecb_csv(csv.as_bytes())?.tables)
}

fn ecb_table(date: Date) -> TestResult<RateTable> {
    ecb_tables()?
        .into_iter()
        .find(|table| table.date() == date)
        .ok_or_else(|| format!("{date} not in the slice").into())
}

/// An app over the slice, with the names Fixer's `symbols` gives the currencies still quoted.
fn app_with(config: ApiConfig) -> TestResult<TestApp> {
    let database = TestDatabase::sqlite()?;
    let store = database.store();
    store.bulk_upsert(&ecb_tables()?, Source::EcbImport)?;
    let names = NAMES
        .iter()
        .map(|(code, name)| Ok((code.parse()?, (*name).to_owned())))
        .collect::<TestResult<Vec<_>>>()?;
    store.upsert_currency_names(&names)?;
    spawn_app_on(database, config)
}

const NAMES: [(&str, &str); 31] = [
    ("AUD", "Australian Dollar"),
    ("BGN", "Bulgarian Lev"),
    ("BRL", "Brazilian Real"),
    ("CAD", "Canadian Dollar"),
    ("CHF", "Swiss Franc"),
    ("CNY", "Chinese Yuan"),
    ("CZK", "Czech Republic Koruna"),
    ("DKK", "Danish Krone"),
    ("EUR", "Euro"),
    ("GBP", "British Pound Sterling"),
    ("HKD", "Hong Kong Dollar"),
    ("HUF", "Hungarian Forint"),
    ("IDR", "Indonesian Rupiah"),
    ("ILS", "Israeli New Sheqel"),
    ("INR", "Indian Rupee"),
    ("ISK", "Icelandic Kr\u{f3}na"),
    ("JPY", "Japanese Yen"),
    ("KRW", "South Korean Won"),
    ("MXN", "Mexican Peso"),
    ("MYR", "Malaysian Ringgit"),
    ("NOK", "Norwegian Krone"),
    ("NZD", "New Zealand Dollar"),
    ("PHP", "Philippine Peso"),
    ("PLN", "Polish Zloty"),
    ("RON", "Romanian Leu"),
    ("SEK", "Swedish Krona"),
    ("SGD", "Singapore Dollar"),
    ("THB", "Thai Baht"),
    ("TRY", "Turkish Lira"),
    ("USD", "United States Dollar"),
    ("ZAR", "South African Rand"),
];

fn app() -> TestResult<TestApp> {
    app_with(test_config())
}

/// The rows of the latest table as the page shows them: code → rate text.
fn shown_rates(browser: &Browser) -> TestResult<BTreeMap<String, String>> {
    let rows = browser.run(
        "return Array.from(document.querySelectorAll('#latest-table tbody tr'), \
         row => [row.cells[0].textContent, row.cells[2].textContent]);",
        json!([]),
    )?;
    Ok(rows
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|row| {
            Some((
                row.get(0)?.as_str()?.to_owned(),
                row.get(1)?.as_str()?.to_owned(),
            ))
        })
        .collect())
}

/// The stored rates of `date` in EUR, as text (the way they are stored and served).
fn stored_rates(date: Date) -> TestResult<BTreeMap<String, String>> {
    Ok(ecb_table(date)?
        .rates()
        .iter()
        .map(|(code, rate)| (code.to_string(), rate.to_string()))
        .collect())
}

fn wait_until_ready(browser: &Browser) -> TestResult {
    browser.wait_for(
        "the page to load its data",
        "return document.body.getAttribute('data-ready') === 'true' \
         && !document.getElementById('chart').hasAttribute('aria-busy');",
        json!([]),
    )?;
    Ok(())
}

/// Points of the chart's line, counted in the SVG itself.
fn drawn_points(browser: &Browser) -> TestResult<usize> {
    let points = browser.run(
        "const line = document.querySelector('#chart polyline'); \
         return line ? line.getAttribute('points').trim().split(/\\s+/).length : 0;",
        json!([]),
    )?;
    Ok(usize::try_from(points.as_u64().ok_or("no point count")?)?)
}

/// Waits for the chart to show `pair` over a period starting `start`; returns its points.
fn chart_for(browser: &Browser, pair: &str, start: Date) -> TestResult<usize> {
    browser.wait_for(
        &format!("the chart of {pair} from {start}"),
        "const chart = document.getElementById('chart'); \
         return chart.getAttribute('data-pair') === arguments[0] \
         && chart.getAttribute('data-start') === arguments[1] \
         && !chart.hasAttribute('aria-busy');",
        json!([pair, start.to_string()]),
    )?;
    drawn_points(browser)
}

/// Days held in `start..=LAST_DAY`, counted through the JSON API.
fn days_held(app: &TestApp, from: &str, to: &str, start: Date) -> TestResult<usize> {
    let reply = app.get(&format!(
        "/rates/{start}..{LAST_DAY}/?base={from}&symbols={to}"
    ))?;
    assert_eq!(reply.status, 200, "{}", reply.body);
    let body = reply.json()?;
    Ok(body
        .get("rates")
        .and_then(Value::as_object)
        .ok_or("no rates")?
        .values()
        .filter(|day| day.get(to).is_some())
        .count())
}

/// No console errors or warnings, but for the page's one probe for `group` support: a server
/// without `group` answers it 400, which chromium logs as a failed load.
fn assert_no_console_errors(browser: &Browser) -> TestResult {
    let errors: Vec<_> = browser
        .console()?
        .into_iter()
        .filter(|(level, _)| level == "SEVERE" || level == "WARNING")
        .filter(|(_, message)| {
            !(message.contains("&group=week ") && message.contains("status of 400"))
        })
        .collect();
    assert!(errors.is_empty(), "console: {errors:?}");
    Ok(())
}

#[test]
fn page_is_html_with_a_strict_content_security_policy() -> TestResult {
    let app = app()?;
    let reply = app.get("/")?;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(
        reply.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    let policy = reply.header("content-security-policy").ok_or("no CSP")?;
    assert_eq!(policy, CONTENT_SECURITY_POLICY);
    let directives: BTreeMap<&str, &str> = policy
        .split(';')
        .filter_map(|directive| directive.trim().split_once(' '))
        .collect();
    assert_eq!(directives.get("default-src"), Some(&"'self'"));
    assert_eq!(directives.get("script-src"), Some(&"'self'"));
    assert_eq!(directives.get("style-src"), Some(&"'self'"));
    assert_eq!(directives.get("object-src"), Some(&"'none'"));
    assert_eq!(directives.get("frame-ancestors"), Some(&"'none'"));
    for loose in ["unsafe", "http:", "https:", "data:", "*"] {
        assert!(!policy.contains(loose), "{loose} in {policy}");
    }
    assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
    // Nothing inline for the policy to refuse, and nothing from elsewhere.
    let html = &reply.body;
    assert_eq!(html.matches("<script").count(), 1);
    assert!(html.contains("<script src=\"/assets/page.js\" defer></script>"));
    for inline in [
        "<style",
        " style=",
        " onclick=",
        " onload=",
        "javascript:",
        "http:",
        "https:",
        "=\"//",
    ] {
        assert!(!html.contains(inline), "{inline} in the page");
    }
    Ok(())
}

#[test]
fn page_and_assets_are_cached_with_etags() -> TestResult {
    let app = app()?;
    for (path, content_type) in [("/", "text/html; charset=utf-8")]
        .into_iter()
        .chain(ASSETS)
    {
        let reply = app.get(path)?;
        assert_eq!(reply.status, 200, "{path}");
        assert_eq!(reply.header("content-type"), Some(content_type), "{path}");
        assert!(reply.header("content-security-policy").is_some(), "{path}");
        assert_eq!(reply.header("cache-control"), Some("public, max-age=60"));
        let etag = reply.header("etag").ok_or("no etag")?;
        let again = app.get_with(path, &[("If-None-Match", etag)])?;
        assert_eq!(again.status, 304, "{path}");
        assert!(again.body.is_empty());
        let head = app.request("HEAD", path, &[])?;
        assert_eq!((head.status, head.body.as_str()), (200, ""), "{path}");
        assert_eq!(head.header("etag"), Some(etag), "{path}");
        assert_eq!(
            app.get_with(path, &[("If-None-Match", "\"other\"")])?
                .status,
            200
        );
    }
    // The page's tag follows the data it shows.
    let before = app.get("/")?;
    let mut corrected = ecb_table(LAST_DAY)?.rates().clone();
    corrected.insert("USD".parse()?, 1.2.try_into()?);
    let table = RateTable::new(LAST_DAY, "EUR".parse()?, corrected)?;
    app.store().bulk_upsert(&[table], Source::Fixer)?;
    app.wait_until_current()?;
    let after = app.get("/")?;
    assert_ne!(before.header("etag"), after.header("etag"));
    assert!(after.body.contains("<td class=\"num\">1.2</td>"));
    Ok(())
}

#[test]
fn page_weighs_under_100_kb() -> TestResult {
    let app = app()?;
    let mut total = 0;
    for path in ["/"].into_iter().chain(ASSETS.map(|(path, _)| path)) {
        let bytes = app.get(path)?.body.len();
        println!("{path}: {bytes} bytes");
        total += bytes;
    }
    println!("total: {total} bytes");
    assert!(
        total < 100 * 1024,
        "the page with its assets weighs {total} bytes"
    );
    assert!(rates_api::embedded_page_bytes() < total);
    Ok(())
}

#[test]
fn page_table_holds_the_latest_stored_values_and_follows_base() -> TestResult {
    let app = app()?;
    let html = app.get("/")?.body;
    assert!(html.contains("1 EUR in other currencies on 2026-10-30"));
    for (code, rate) in stored_rates(LAST_DAY)? {
        let row = format!("<th scope=\"row\">{code}</th>");
        let cell = format!("<td class=\"num\">{rate}</td>");
        let at = html.find(&row).ok_or(format!("no row for {code}"))?;
        let rest = html.get(at..).unwrap_or_default();
        let end = rest.find("</tr>").unwrap_or(rest.len());
        assert!(
            rest.get(..end).unwrap_or_default().contains(&cell),
            "{code} {rate}"
        );
    }
    // `?base=` rebases, as `/rates/latest/?base=` does.
    let usd = app.get("/?base=USD")?.body;
    let api = app.get("/rates/latest/?base=USD&symbols=JPY")?.json()?;
    let jpy = api.pointer("/rates/JPY").ok_or("no JPY")?;
    assert!(usd.contains(&format!("<td class=\"num\">{jpy}</td>")));
    assert!(usd.contains("<option value=\"USD\" selected>"));
    let bad = app.get("/?base=US")?;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.error_code()?, "invalid_currency");
    assert_eq!(app.get("/?base=XYZ")?.error_code()?, "currency_not_found");
    assert_eq!(app.get("/?colour=red")?.error_code()?, "invalid_query");
    assert_eq!(
        app.request("POST", "/", &[])?.error_code()?,
        "method_not_allowed"
    );
    Ok(())
}

#[test]
fn page_with_api_keys_is_open_but_holds_no_rates() -> TestResult {
    let mut config = test_config();
    config.auth = AuthMode::ApiKey;
    let app = app_with(config)?;
    let reply = app.get("/")?;
    assert_eq!(reply.status, 200);
    assert!(reply.body.contains("data-auth=\"api-key\""));
    assert!(!reply.body.contains("<th scope=\"row\">"));
    assert!(!reply.body.contains("1.1172"));
    for (path, _) in ASSETS {
        assert_eq!(app.get(path)?.status, 200, "{path}");
    }
    assert_eq!(app.get("/rates/latest/")?.status, 401);
    assert_eq!(app.get("/assets/")?.status, 401);
    Ok(())
}

#[test]
#[cfg_attr(
    not(rates_test_browser),
    ignore = "chromium or chromedriver is not installed (Debian: apt-get install chromium chromium-driver; .ci/run installs them)"
)]
fn browser_page_loads_without_console_errors_and_shows_the_stored_table() -> TestResult {
    let browser = Browser::start(Script::Enabled, 1280, 900)?;
    let app = app()?;
    browser.goto(&app.url("/"))?;
    wait_until_ready(&browser)?;
    assert_eq!(shown_rates(&browser)?, stored_rates(LAST_DAY)?);
    let ready = browser.run(
        "return document.body.getAttribute('data-ready-ms');",
        json!([]),
    )?;
    println!("ready after {ready} ms");
    assert_eq!(
        browser.text("#latest-caption")?,
        "1 EUR in other currencies on 2026-10-30"
    );
    assert!(browser.displayed("#converter")?);
    assert!(browser.displayed("#chart")?);
    assert!(!browser.displayed("#base-submit")?);
    // Choosing a base redraws the table from `/rates/latest/?base=`.
    browser.click("#base option[value=\"USD\"]")?;
    browser.wait_for(
        "the table in USD",
        "return document.getElementById('latest-caption').textContent.startsWith('1 USD');",
        json!([]),
    )?;
    let api = app.get("/rates/latest/?base=USD")?.json()?;
    let expected: BTreeMap<String, String> = api
        .get("rates")
        .and_then(Value::as_object)
        .ok_or("no rates")?
        .iter()
        .filter(|(code, _)| *code != "USD")
        .map(|(code, rate)| (code.clone(), rate.to_string()))
        .collect();
    assert_eq!(shown_rates(&browser)?, expected);
    assert_no_console_errors(&browser)?;
    Ok(())
}

#[test]
#[cfg_attr(
    not(rates_test_browser),
    ignore = "chromium or chromedriver is not installed (Debian: apt-get install chromium chromium-driver; .ci/run installs them)"
)]
fn browser_converter_shows_what_convert_answers_with_the_fallback_day() -> TestResult {
    let browser = Browser::start(Script::Enabled, 1280, 900)?;
    let app = app()?;
    browser.goto(&app.url("/"))?;
    wait_until_ready(&browser)?;
    browser.type_into("#amount", "250")?;
    browser.click("#from option[value=\"GBP\"]")?;
    browser.click("#to option[value=\"JPY\"]")?;
    // A Sunday: no rates, so the Friday before is used and said so.
    browser.run(
        "document.getElementById('date').value = '2026-11-01';",
        json!([]),
    )?;
    browser.click("#convert-form button")?;
    let shown = browser.wait_for(
        "the conversion",
        "const result = document.getElementById('convert-result'); \
         return result.textContent.startsWith('250 GBP') && result.getAttribute('data-result');",
        json!([]),
    )?;
    let api = app
        .get("/convert?from=GBP&to=JPY&amount=250&date=2026-11-01&fallback=previous")?
        .json()?;
    let result = api.get("result").ok_or("no result")?;
    assert_eq!(shown.as_str(), Some(result.to_string().as_str()));
    assert_eq!(
        browser.text("#convert-result")?,
        format!("250 GBP = {result} JPY")
    );
    let note = browser.text("#convert-note")?;
    assert!(
        note.contains("No rates were published on 2026-11-01")
            && note.contains("2026-10-30, was used"),
        "{note}"
    );
    assert_no_console_errors(&browser)?;
    Ok(())
}

#[test]
#[cfg_attr(
    not(rates_test_browser),
    ignore = "chromium or chromedriver is not installed (Debian: apt-get install chromium chromium-driver; .ci/run installs them)"
)]
fn browser_chart_redraws_for_each_pair_and_period() -> TestResult {
    let browser = Browser::start(Script::Enabled, 1280, 900)?;
    let app = app()?;
    browser.goto(&app.url("/"))?;
    wait_until_ready(&browser)?;
    let year_ago = LAST_DAY - Days::days(365);
    assert_eq!(
        chart_for(&browser, "EUR/USD", year_ago)?,
        days_held(&app, "EUR", "USD", year_ago)?
    );
    browser.click("#chart-to option[value=\"GBP\"]")?;
    assert_eq!(
        chart_for(&browser, "EUR/GBP", year_ago)?,
        days_held(&app, "EUR", "GBP", year_ago)?
    );
    browser.click("#chart-from option[value=\"USD\"]")?;
    browser.click("#period option[value=\"31\"]")?;
    let month_ago = LAST_DAY - Days::days(31);
    let points = chart_for(&browser, "USD/GBP", month_ago)?;
    assert_eq!(points, days_held(&app, "USD", "GBP", month_ago)?);
    assert!(points >= 20, "{points} points for a month");

    // The keyboard reads values: Home is the first day of the period, End the last.
    browser.keys("#chart", "\u{E011}")?;
    let first = browser.text("#chart-readout")?;
    browser.keys("#chart", "\u{E010}")?;
    let last = browser.text("#chart-readout")?;
    let api = app.get("/rates/2026-10-30/?base=USD&symbols=GBP")?.json()?;
    let gbp = api.pointer("/rates/GBP").ok_or("no GBP")?;
    assert_eq!(last, format!("2026-10-30: 1 USD = {gbp} GBP"));
    let first_day = ecb_tables()?
        .iter()
        .map(RateTable::date)
        .filter(|day| *day >= month_ago)
        .min()
        .ok_or("no day in the last month")?;
    assert!(
        first.starts_with(&format!("{first_day}: 1 USD = ")),
        "{first}"
    );

    // Two years are more than one JSON range: weekly means, one point per week held.
    browser.click("#period option[value=\"730\"]")?;
    let two_years_ago = LAST_DAY - Days::days(730);
    let weeks: BTreeSet<Date> = ecb_tables()?
        .iter()
        .map(RateTable::date)
        .filter(|day| *day >= two_years_ago)
        .map(|day| day - Days::days(i64::from(day.weekday().number_days_from_monday())))
        .collect();
    assert_eq!(chart_for(&browser, "USD/GBP", two_years_ago)?, weeks.len());
    assert_no_console_errors(&browser)?;

    // The whole history from 1999: monthly means of the months held, found by walking back from
    // the last day (the slice begins in 2024, which the empty range before it says).
    browser.click("#period option[value=\"all\"]")?;
    let months: BTreeSet<(i32, u8)> = ecb_tables()?
        .iter()
        .map(|table| (table.date().year(), u8::from(table.date().month())))
        .collect();
    assert_eq!(
        chart_for(&browser, "USD/GBP", date!(1999 - 01 - 01))?,
        months.len()
    );
    let status = browser.text("#chart-status")?;
    assert_eq!(
        status,
        format!(
            "USD to GBP: {} monthly means from 2024-10-01 to 2026-10-01.",
            months.len()
        )
    );
    Ok(())
}

/// WCAG contrast of every visible piece of text against the background it is drawn on, and
/// the controls without a label; run in the page.
const ACCESSIBILITY_AUDIT: &str = r#"
const rgb = (text) => (text.match(/[\d.]+/g) || []).map(Number);
const luminance = ([r, g, b]) => {
  const channel = (value) => {
    const c = value / 255;
    return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
  };
  return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
};
const background = (node) => {
  for (let at = node; at && at.nodeType === 1; at = at.parentElement) {
    const colour = rgb(getComputedStyle(at).backgroundColor);
    if (colour.length === 3 || colour[3] > 0) { return colour.slice(0, 3); }
  }
  return [255, 255, 255];
};
const lowest = [];
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
for (let text = walker.nextNode(); text; text = walker.nextNode()) {
  const node = text.parentElement;
  if (!text.textContent.trim() || !node.getClientRects().length) { continue; }
  if (node.closest('title, option')) { continue; }
  const style = getComputedStyle(node);
  if (style.visibility === 'hidden') { continue; }
  const ink = rgb(node.closest('svg') ? style.fill : style.color).slice(0, 3);
  const [a, b] = [luminance(ink), luminance(background(node))];
  const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
  if (ratio < 4.5) {
    lowest.push(node.tagName + ' ' + text.textContent.trim().slice(0, 30) + ': ' + ratio.toFixed(2));
  }
}
const unlabelled = Array.from(document.querySelectorAll('input, select'))
  .filter((control) => control.getClientRects().length && !control.labels.length)
  .map((control) => control.id);
return [lowest, unlabelled];
"#;

#[test]
#[cfg_attr(
    not(rates_test_browser),
    ignore = "chromium or chromedriver is not installed (Debian: apt-get install chromium chromium-driver; .ci/run installs them)"
)]
fn browser_page_is_labelled_legible_and_fits_a_phone() -> TestResult {
    let browser = Browser::start(Script::Enabled, 390, 844)?;
    let app = app()?;
    browser.goto(&app.url("/"))?;
    wait_until_ready(&browser)?;
    // Chart values under the keyboard's cursor, so its readout is audited too.
    browser.keys("#chart", "\u{E010}")?;
    let audit = browser.run(ACCESSIBILITY_AUDIT, json!([]))?;
    assert_eq!(
        audit,
        json!([[], []]),
        "[text under 4.5:1, unlabelled controls]"
    );
    let layout = browser.run(
        "const chart = document.getElementById('chart'); \
         return [document.documentElement.scrollWidth <= window.innerWidth, \
         chart.getBoundingClientRect().right <= window.innerWidth, chart.tabIndex];",
        json!([]),
    )?;
    assert_eq!(
        layout,
        json!([true, true, 0]),
        "[no sideways scroll, chart fits, chart focusable]"
    );
    assert_no_console_errors(&browser)?;
    Ok(())
}

#[test]
#[cfg_attr(
    not(rates_test_browser),
    ignore = "chromium or chromedriver is not installed (Debian: apt-get install chromium chromium-driver; .ci/run installs them)"
)]
fn browser_without_script_shows_the_table() -> TestResult {
    let browser = Browser::start(Script::Disabled, 1280, 900)?;
    let app = app()?;
    browser.goto(&app.url("/"))?;
    // Element commands only: page script is off, and so the page never un-hides its parts.
    for (index, (code, rate)) in stored_rates(LAST_DAY)?.into_iter().enumerate() {
        let row = format!("#latest-table tbody tr:nth-child({})", index + 1);
        assert_eq!(browser.text(&format!("{row} th"))?, code);
        assert_eq!(browser.text(&format!("{row} td.num"))?, rate, "{code}");
    }
    assert_eq!(
        browser.text("#latest-caption")?,
        "1 EUR in other currencies on 2026-10-30"
    );
    assert!(browser.displayed("#base-submit")?);
    assert!(!browser.displayed("#converter")?);
    assert!(!browser.displayed("#history")?);
    Ok(())
}

#[test]
#[cfg_attr(
    not(rates_test_browser),
    ignore = "chromium or chromedriver is not installed (Debian: apt-get install chromium chromium-driver; .ci/run installs them)"
)]
fn browser_asks_for_a_key_and_keeps_it_in_the_tab() -> TestResult {
    let browser = Browser::start(Script::Enabled, 1280, 900)?;
    let mut config = test_config();
    config.auth = AuthMode::ApiKey;
    let app = app_with(config)?;
    let key = ApiKey::from_random_bytes([7; API_KEY_BYTES]);
    app.store().insert_api_key("page", key.hash().as_str())?;
    app.wait_until_keys_current()?;
    browser.goto(&app.url("/"))?;
    assert!(browser.displayed("#key-section")?);
    browser.type_into("#key", "not-a-key")?;
    browser.click("#key-form button")?;
    browser.wait_for(
        "the refusal",
        "return document.getElementById('key-error').textContent.includes('not accepted');",
        json!([]),
    )?;
    browser.type_into("#key", key.expose_secret())?;
    browser.click("#key-form button")?;
    wait_until_ready(&browser)?;
    assert!(!browser.displayed("#key-section")?);
    assert_eq!(shown_rates(&browser)?, stored_rates(LAST_DAY)?);
    let kept = browser.run(
        "return [sessionStorage.getItem('rates-api-key'), localStorage.length, document.cookie];",
        json!([]),
    )?;
    assert_eq!(kept, json!([key.expose_secret(), 0, ""]));
    Ok(())
}

/// Screenshots at desktop and phone widths, written to the target directory
/// (`scripts/page-screenshots.sh` copies them to `docs/`).
#[test]
#[cfg_attr(
    not(rates_test_browser),
    ignore = "chromium or chromedriver is not installed (Debian: apt-get install chromium chromium-driver; .ci/run installs them)"
)]
fn browser_screenshots_at_desktop_and_phone_widths() -> TestResult {
    let app = app()?;
    for (name, width, height) in [
        ("page-desktop.png", 1280, 900),
        ("page-phone.png", 390, 844),
    ] {
        let browser = Browser::start(Script::Enabled, width, height)?;
        browser.goto(&app.url("/"))?;
        wait_until_ready(&browser)?;
        // Show the values under the cursor, as a reader moving along the chart sees them.
        browser.keys("#chart", "\u{E010}\u{E012}\u{E012}")?;
        let png = browser.screenshot(width)?;
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "{name} is not a PNG");
        let wide = u32::from_be_bytes(png.get(16..20).ok_or("short PNG")?.try_into()?);
        assert_eq!(wide, width, "{name}");
        let overflow = browser.run(
            "return document.documentElement.scrollWidth > window.innerWidth;",
            json!([]),
        )?;
        assert_eq!(
            overflow,
            json!(false),
            "{name}: the page is wider than the window"
        );
        std::fs::write(
            std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(name),
            png,
        )?;
    }
    Ok(())
}
