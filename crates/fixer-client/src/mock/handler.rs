//! How the mock answers one request: routing, auth, plan gating, strict parameter checks,
//! faults, and bodies shaped like Fixer's.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{json, Map, Value};
use time::{Date, OffsetDateTime, Time};

use super::data::{currency_name, EcbData};
use super::{normalise_path, Fault, MockHost, Plan, Settings, Shared};
use crate::decode::{format_date, parse_date};
use crate::{CurrencyCode, MAX_RANGE_DAYS};

/// What the handler decided to send.
struct Reply {
    status: u16,
    content_type: &'static str,
    body: String,
    headers: Vec<(&'static str, String)>,
}

impl Reply {
    fn json(status: u16, body: &Value) -> Reply {
        Reply {
            status,
            content_type: "application/json",
            body: body.to_string(),
            headers: Vec::new(),
        }
    }

    fn text(status: u16, content_type: &'static str, body: String) -> Reply {
        Reply {
            status,
            content_type,
            body,
            headers: Vec::new(),
        }
    }
}

/// The request, reduced to what the handler reads.
struct Incoming {
    /// The path after the host prefix, without surrounding slashes.
    path: String,
    query: Vec<(String, String)>,
    header_key: Option<String>,
}

/// Answers one request on the calling worker thread.
pub(super) fn answer(shared: &Shared, request: tiny_http::Request, prefix: &str) {
    let url = request.url().to_owned();
    let (raw_path, raw_query) = url.split_once('?').unwrap_or((url.as_str(), ""));
    let header_key = request
        .headers()
        .iter()
        .find(|header| header.field.equiv("apikey"))
        .map(|header| header.value.as_str().to_owned());
    let reply = match raw_path.strip_prefix(prefix) {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => {
            let incoming = Incoming {
                path: normalise_path(&percent_decode(rest)),
                query: parse_query(raw_query),
                header_key,
            };
            respond(shared, &incoming)
        }
        _ => {
            count(shared, &normalise_path(raw_path));
            not_found(shared.host)
        }
    };
    let mut response = tiny_http::Response::from_string(reply.body).with_status_code(reply.status);
    let mut headers = vec![("Content-Type", reply.content_type.to_owned())];
    headers.extend(reply.headers);
    for (name, value) in headers {
        if let Ok(header) = tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()) {
            response.add_header(header);
        }
    }
    if let Err(error) = request.respond(response) {
        log::debug!("mock Fixer: the client went away before the answer: {error}");
    }
}

fn count(shared: &Shared, path: &str) {
    let mut settings = shared.settings();
    *settings.counts.entry(path.to_owned()).or_insert(0) += 1;
    settings.total += 1;
}

fn not_found(host: MockHost) -> Reply {
    match host {
        MockHost::Classic => Reply::json(404, &fixer_error(404, None)),
        MockHost::ApiLayer => Reply::json(
            404,
            &json!({"message": "no Route matched with those values"}),
        ),
    }
}

/// The mock's "today".
pub(super) fn today(settings: &Settings) -> Date {
    settings
        .today
        .unwrap_or_else(|| OffsetDateTime::now_utc().date())
}

/// The EUR-based rates in force on `date` with overrides applied and EUR = 1, plus the business
/// day they come from.
pub(super) fn eur_table(
    data: &EcbData,
    settings: &Settings,
    date: Date,
) -> Option<(Date, BTreeMap<CurrencyCode, f64>)> {
    let (source, rates) = data.in_force(date)?;
    let mut table = rates.clone();
    for day in [source, date] {
        for ((override_day, code), value) in &settings.overrides {
            if *override_day == day {
                table.insert(*code, *value);
            }
        }
    }
    table.insert(CurrencyCode::EUR, 1.0);
    Some((source, table))
}

/// Everything `respond` needs from the settings, copied so the lock is not held while sleeping.
struct Snapshot {
    plan: Plan,
    today: Date,
    fault: Option<Fault>,
    delay: Duration,
    quota: Option<(u64, u64)>,
}

fn take_snapshot(shared: &Shared, path: &str) -> Snapshot {
    let mut settings = shared.settings();
    *settings.counts.entry(path.to_owned()).or_insert(0) += 1;
    settings.total += 1;
    settings.in_flight += 1;
    settings.peak_in_flight = settings.peak_in_flight.max(settings.in_flight);
    let mut fault = None;
    if let Some(index) = settings
        .faults
        .iter()
        .position(|rule| rule.path.as_deref().is_none_or(|p| p == path))
    {
        if let Some(rule) = settings.faults.get_mut(index) {
            rule.remaining = rule.remaining.saturating_sub(1);
            fault = Some(rule.fault.clone());
            if rule.remaining == 0 {
                settings.faults.remove(index);
            }
        }
    }
    Snapshot {
        plan: settings.plan,
        today: today(&settings),
        fault,
        delay: settings.delay,
        quota: settings
            .monthly_quota
            .map(|limit| (limit, settings.quota_used)),
    }
}

fn respond(shared: &Shared, incoming: &Incoming) -> Reply {
    let snapshot = take_snapshot(shared, &incoming.path);
    let reply = respond_with(shared, incoming, &snapshot);
    let mut settings = shared.settings();
    settings.in_flight = settings.in_flight.saturating_sub(1);
    reply
}

fn respond_with(shared: &Shared, incoming: &Incoming, snapshot: &Snapshot) -> Reply {
    std::thread::sleep(snapshot.delay);
    let mut truncate = false;
    match &snapshot.fault {
        Some(Fault::Delay(delay)) => std::thread::sleep(*delay),
        Some(Fault::TruncatedBody) => truncate = true,
        Some(fault) => return fault_reply(fault),
        None => {}
    }
    let mut reply = respond_normally(shared, incoming, snapshot);
    if truncate {
        let half = reply.body.len() / 2;
        let cut = (0..=half)
            .rev()
            .find(|i| reply.body.is_char_boundary(*i))
            .unwrap_or(0);
        reply.body.truncate(cut);
    }
    reply
}

fn fault_reply(fault: &Fault) -> Reply {
    let retry_header = |retry_after: &Option<u64>| {
        retry_after
            .map(|secs| vec![("Retry-After", secs.to_string())])
            .unwrap_or_default()
    };
    match fault {
        Fault::Status {
            status,
            retry_after,
        } => Reply {
            headers: retry_header(retry_after),
            ..Reply::text(
                *status,
                "text/plain",
                format!("mock Fixer: injected HTTP {status}"),
            )
        },
        Fault::Gateway {
            status,
            message,
            retry_after,
        } => Reply {
            headers: retry_header(retry_after),
            ..Reply::json(*status, &json!({ "message": message }))
        },
        Fault::FixerError { code, error_type } => {
            Reply::json(200, &fixer_error(*code, error_type.as_deref()))
        }
        Fault::MalformedBody => Reply::text(
            200,
            "text/html",
            "<html><body>502 Bad Gateway</body></html>".to_owned(),
        ),
        Fault::Body { status, body } => Reply::text(*status, "application/json", body.clone()),
        // Handled before the answer is built.
        Fault::Delay(_) | Fault::TruncatedBody => Reply::json(200, &json!({"success": true})),
    }
}

fn respond_normally(shared: &Shared, incoming: &Incoming, snapshot: &Snapshot) -> Reply {
    let given_key = incoming
        .header_key
        .as_deref()
        .or_else(|| param(incoming, "access_key"))
        .or_else(|| param(incoming, "apikey"));
    let key_ok = given_key == Some(shared.key.as_str());
    if !key_ok {
        return match (shared.host, given_key) {
            (MockHost::Classic, None) => {
                Reply::json(200, &fixer_error_typed(101, "missing_access_key"))
            }
            (MockHost::Classic, Some(_)) => {
                Reply::json(200, &fixer_error_typed(101, "invalid_access_key"))
            }
            (MockHost::ApiLayer, None) => {
                Reply::json(401, &json!({"message": "No API key found in request"}))
            }
            (MockHost::ApiLayer, Some(_)) => Reply::json(
                401,
                &json!({"message": "Invalid authentication credentials"}),
            ),
        };
    }
    let mut headers = Vec::new();
    if let Some((limit, used)) = snapshot.quota {
        if used >= limit {
            return match shared.host {
                MockHost::Classic => Reply::json(200, &fixer_error(104, None)),
                MockHost::ApiLayer => Reply::json(
                    429,
                    &json!({"message": "You have exceeded your monthly API rate limit. Please review and upgrade your subscription plan."}),
                ),
            };
        }
        let used = {
            let mut settings = shared.settings();
            settings.quota_used += 1;
            settings.quota_used
        };
        if shared.host == MockHost::ApiLayer {
            let remaining = limit.saturating_sub(used).to_string();
            headers = vec![
                ("X-RateLimit-Limit-Month", limit.to_string()),
                ("X-RateLimit-Remaining-Month", remaining.clone()),
                ("X-RateLimit-Limit-Day", limit.to_string()),
                ("X-RateLimit-Remaining-Day", remaining),
            ];
        }
    }
    let body = match route(shared, incoming, snapshot) {
        Ok(body) => match unexpected_parameter(incoming) {
            Some(problem) => {
                return Reply {
                    headers,
                    ..Reply::json(400, &problem)
                }
            }
            None => body,
        },
        Err(error) => error,
    };
    Reply {
        headers,
        ..Reply::json(200, &body)
    }
}

/// Parameters each endpoint takes, besides the key.
fn allowed_parameters(path: &str) -> &'static [&'static str] {
    match path {
        "symbols" => &[],
        "latest" => &["base", "symbols"],
        "convert" => &["from", "to", "amount", "date"],
        "timeseries" | "fluctuation" => &["start_date", "end_date", "base", "symbols"],
        _ => &["base", "symbols"],
    }
}

fn unexpected_parameter(incoming: &Incoming) -> Option<Value> {
    let allowed = allowed_parameters(&incoming.path);
    let mut seen: Vec<&str> = Vec::new();
    for (name, _) in &incoming.query {
        let name = name.as_str();
        if seen.contains(&name) {
            return Some(mock_error(
                "duplicate_parameter",
                &format!("The parameter `{name}` is given twice."),
            ));
        }
        seen.push(name);
        if !(allowed.contains(&name) || matches!(name, "access_key" | "apikey" | "format")) {
            return Some(mock_error(
                "unknown_parameter",
                &format!(
                    "The {} endpoint takes no parameter `{name}` (allowed: {}).",
                    incoming.path,
                    allowed.join(", ")
                ),
            ));
        }
    }
    None
}

fn mock_error(error_type: &str, info: &str) -> Value {
    json!({"success": false, "error": {"code": 400, "type": error_type, "info": info}})
}

type Answer = Result<Value, Value>;

fn route(shared: &Shared, incoming: &Incoming, snapshot: &Snapshot) -> Answer {
    let plan = snapshot.plan;
    let needs = |least: Plan| {
        if plan >= least {
            Ok(())
        } else {
            Err(fixer_error_typed(105, "function_access_restricted"))
        }
    };
    let data = Endpoint {
        shared,
        incoming,
        today: snapshot.today,
        plan,
    };
    match incoming.path.as_str() {
        "" => Err(fixer_error(103, None)),
        "symbols" => data.symbols(),
        "latest" => data.rates_on(snapshot.today, false),
        "convert" => {
            needs(Plan::Basic)?;
            data.convert()
        }
        "timeseries" => {
            needs(Plan::Professional)?;
            data.timeseries()
        }
        "fluctuation" => {
            needs(Plan::ProfessionalPlus)?;
            data.fluctuation()
        }
        other => match parse_date(other) {
            Some(date) if date <= snapshot.today => data.rates_on(date, true),
            _ => Err(fixer_error(302, None)),
        },
    }
}

/// One request's view of the data.
struct Endpoint<'a> {
    shared: &'a Shared,
    incoming: &'a Incoming,
    today: Date,
    plan: Plan,
}

impl Endpoint<'_> {
    fn base(&self) -> Result<CurrencyCode, Value> {
        let Some(text) = param(self.incoming, "base") else {
            return Ok(CurrencyCode::EUR);
        };
        let base = CurrencyCode::new(text)
            .ok()
            .filter(|code| self.shared.data.currencies().contains(code))
            .ok_or_else(|| fixer_error(201, None))?;
        if base != CurrencyCode::EUR && self.plan == Plan::Free {
            return Err(fixer_error_typed(105, "base_currency_access_restricted"));
        }
        Ok(base)
    }

    fn symbols_filter(&self) -> Result<Option<Vec<CurrencyCode>>, Value> {
        let Some(text) = param(self.incoming, "symbols") else {
            return Ok(None);
        };
        let known = self.shared.data.currencies();
        text.split(',')
            .map(|item| {
                CurrencyCode::new(item.trim())
                    .ok()
                    .filter(|code| known.contains(code))
                    .ok_or_else(|| fixer_error(202, None))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }

    /// Rates for `date` in `base`, or 106 when the data has none.
    fn table(
        &self,
        date: Date,
        base: CurrencyCode,
    ) -> Result<BTreeMap<CurrencyCode, Value>, Value> {
        let settings = self.shared.settings();
        let (_, eur) =
            eur_table(&self.shared.data, &settings, date).ok_or_else(|| fixer_error(106, None))?;
        let base_rate = *eur.get(&base).ok_or_else(|| fixer_error(106, None))?;
        Ok(eur
            .iter()
            .map(|(code, rate)| {
                let value = if *code == base {
                    json!(1)
                } else {
                    json!(round(rate / base_rate, 6))
                };
                (*code, value)
            })
            .collect())
    }

    fn filtered(
        &self,
        mut table: BTreeMap<CurrencyCode, Value>,
        symbols: &Option<Vec<CurrencyCode>>,
    ) -> Map<String, Value> {
        if let Some(wanted) = symbols {
            table.retain(|code, _| wanted.contains(code));
        }
        table
            .into_iter()
            .map(|(code, value)| (code.to_string(), value))
            .collect()
    }

    fn symbols(&self) -> Answer {
        let symbols: Map<String, Value> = self
            .shared
            .data
            .currencies()
            .into_iter()
            .map(|code| (code.to_string(), json!(currency_name(code))))
            .collect();
        Ok(json!({"success": true, "symbols": symbols}))
    }

    fn rates_on(&self, date: Date, historical: bool) -> Answer {
        let base = self.base()?;
        let symbols = self.symbols_filter()?;
        let table = self.table(date, base)?;
        let mut body = json!({
            "success": true,
            "timestamp": timestamp(date, self.today),
            "base": base.as_str(),
            "date": format_date(date),
            "rates": self.filtered(table, &symbols),
        });
        if historical {
            if let Value::Object(object) = &mut body {
                object.insert("historical".into(), json!(true));
            }
        }
        Ok(body)
    }

    fn convert(&self) -> Answer {
        let known = self.shared.data.currencies();
        let currency = |name: &str| {
            param(self.incoming, name)
                .and_then(|text| CurrencyCode::new(text).ok())
                .filter(|code| known.contains(code))
                .ok_or_else(|| {
                    json!({"success": false, "error": {"code": 402, "type": format!("invalid_{name}_currency"),
                        "info": format!("You have entered an invalid \"{name}\" property. [Example: {name}=GBP]")}})
                })
        };
        let from = currency("from")?;
        let to = currency("to")?;
        let amount = param(self.incoming, "amount")
            .and_then(|text| text.trim().parse::<f64>().ok())
            .filter(|amount| amount.is_finite() && *amount > 0.0)
            .ok_or_else(|| fixer_error(403, None))?;
        let date = match param(self.incoming, "date") {
            None => None,
            Some(text) => Some(
                parse_date(text)
                    .filter(|date| *date <= self.today)
                    .ok_or_else(|| fixer_error(302, None))?,
            ),
        };
        let day = date.unwrap_or(self.today);
        let table = self.table(day, from)?;
        let rate = table
            .get(&to)
            .and_then(Value::as_f64)
            .ok_or_else(|| fixer_error(106, None))?;
        let mut body = json!({
            "success": true,
            "query": {"from": from.as_str(), "to": to.as_str(), "amount": amount},
            "info": {"timestamp": timestamp(day, self.today), "rate": rate},
            "date": format_date(day),
            "result": round(amount * rate, 6),
        });
        if date.is_some() {
            if let Value::Object(object) = &mut body {
                object.insert("historical".into(), json!(true));
            }
        }
        Ok(body)
    }

    /// Checks `start_date`/`end_date` like Fixer (501–505) and clamps the range to the data and today.
    fn range(&self) -> Result<(Date, Date), Value> {
        let start_text = param(self.incoming, "start_date");
        let end_text = param(self.incoming, "end_date");
        if start_text.is_none() && end_text.is_none() {
            return Err(fixer_error(501, None));
        }
        let start = start_text
            .and_then(parse_date)
            .ok_or_else(|| fixer_error(502, None))?;
        let end = end_text
            .and_then(parse_date)
            .ok_or_else(|| fixer_error(503, None))?;
        if end < start {
            return Err(fixer_error(504, None));
        }
        if (end - start).whole_days() + 1 > MAX_RANGE_DAYS {
            return Err(fixer_error(505, None));
        }
        Ok((start, end))
    }

    fn timeseries(&self) -> Answer {
        let (start, end) = self.range()?;
        let base = self.base()?;
        let symbols = self.symbols_filter()?;
        let first = self.shared.data.first_date().unwrap_or(Date::MAX);
        let mut rates = Map::new();
        let mut day = start.max(first);
        while day <= end.min(self.today) {
            let table = self.table(day, base)?;
            rates.insert(
                format_date(day),
                Value::Object(self.filtered(table, &symbols)),
            );
            match day.next_day() {
                Some(next) => day = next,
                None => break,
            }
        }
        if rates.is_empty() {
            return Err(fixer_error(106, None));
        }
        Ok(json!({
            "success": true,
            "timeseries": true,
            "start_date": format_date(start),
            "end_date": format_date(end),
            "base": base.as_str(),
            "rates": rates,
        }))
    }

    fn fluctuation(&self) -> Answer {
        let (start, end) = self.range()?;
        let base = self.base()?;
        let symbols = self.symbols_filter()?;
        if start > self.today {
            return Err(fixer_error(106, None));
        }
        let first = self.filtered(self.table(start, base)?, &symbols);
        let last = self.filtered(self.table(end.min(self.today), base)?, &symbols);
        let mut rates = Map::new();
        for (code, start_rate) in &first {
            let (Some(start_rate), Some(end_rate)) =
                (start_rate.as_f64(), last.get(code).and_then(Value::as_f64))
            else {
                continue;
            };
            rates.insert(
                code.clone(),
                json!({
                    "start_rate": start_rate,
                    "end_rate": end_rate,
                    "change": round(end_rate - start_rate, 4),
                    "change_pct": round((end_rate - start_rate) / start_rate * 100.0, 4),
                }),
            );
        }
        Ok(json!({
            "success": true,
            "fluctuation": true,
            "start_date": format_date(start),
            "end_date": format_date(end),
            "base": base.as_str(),
            "rates": rates,
        }))
    }
}

fn param<'a>(incoming: &'a Incoming, name: &str) -> Option<&'a str> {
    incoming
        .query
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// Rounds to `decimals` places, as Fixer's figures are.
fn round(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

/// Fixer's `timestamp`: now for today, else the day's last second (as historical answers have).
fn timestamp(date: Date, today: Date) -> i64 {
    let now = OffsetDateTime::now_utc();
    if date == today && now.date() == today {
        now.unix_timestamp()
    } else {
        date.with_time(Time::MIDNIGHT).assume_utc().unix_timestamp() + 86_399
    }
}

/// Fixer's error envelope with the usual `type` and `info` for `code`.
fn fixer_error(code: i64, error_type: Option<&str>) -> Value {
    let (usual_type, info) = usual_error(code);
    let error_type = error_type.unwrap_or(usual_type);
    let mut error = json!({"code": code, "type": error_type});
    // Fixer leaves `info` out for some errors (201, 105 base); the mock does the same.
    if let (Some(info), Value::Object(object)) = (info, &mut error) {
        let info = if error_type == "https_access_restricted" {
            "Access Restricted - Your current Subscription Plan does not support HTTPS Encryption."
        } else {
            info
        };
        object.insert("info".into(), json!(info));
    }
    json!({"success": false, "error": error})
}

fn fixer_error_typed(code: i64, error_type: &str) -> Value {
    fixer_error(code, Some(error_type))
}

fn usual_error(code: i64) -> (&'static str, Option<&'static str>) {
    match code {
        404 => ("404_not_found", Some("The requested resource does not exist.")),
        101 => ("invalid_access_key", Some("You have not supplied a valid API Access Key. [Technical Support: support@apilayer.com]")),
        102 => ("inactive_user", Some("The current user account is not active.")),
        103 => ("invalid_api_function", Some("The requested API endpoint does not exist.")),
        104 => ("usage_limit_reached", Some("Your monthly usage limit has been reached. Please upgrade your Subscription Plan.")),
        105 => ("function_access_restricted", Some("Access Restricted - Your current Subscription Plan does not support this API Function.")),
        106 => ("no_rates_available", Some("Your query did not return any results. Please try again.")),
        201 => ("invalid_base_currency", None),
        202 => ("invalid_currency_codes", Some("You have provided one or more invalid Currency Codes. [Required format: currencies=EUR,USD,GBP,...]")),
        301 => ("no_date_specified", Some("You have not specified a date. [Required format: date=YYYY-MM-DD]")),
        302 => ("invalid_date", Some("You have entered an invalid date. [Required format: date=YYYY-MM-DD]")),
        402 => ("invalid_to_currency", Some("You have entered an invalid \"to\" property. [Example: to=GBP]")),
        403 => ("invalid_conversion_amount", Some("You have not specified an amount to be converted. [Example: amount=5]")),
        501 => ("no_timeframe_supplied", Some("You have not specified a Time-Frame. [Required format: start_date=YYYY-MM-DD&end_date=YYYY-MM-DD]")),
        502 => ("invalid_start_date", Some("You have specified an invalid start date. Please try again.")),
        503 => ("invalid_end_date", Some("You have specified an invalid end date. Please try again.")),
        504 => ("invalid_time_frame", Some("You have entered an invalid Time-Frame. [Required format: ...&start_date=YYYY-MM-DD&end_date=YYYY-MM-DD]")),
        505 => ("time_frame_too_long", Some("The Time-Frame you entered is too long. [max. 365 days]")),
        _ => ("unknown_error", Some("An unknown error occurred.")),
    }
}

fn parse_query(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(name), percent_decode(value))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        let hex = |offset: usize| {
            bytes
                .get(index + offset)
                .and_then(|b| (*b as char).to_digit(16))
        };
        match byte {
            b'%' => match (hex(1), hex(2)) {
                (Some(high), Some(low)) => {
                    out.push(u8::try_from(high * 16 + low).unwrap_or(b'?'));
                    index += 3;
                    continue;
                }
                _ => out.push(byte),
            },
            b'+' => out.push(b' '),
            _ => out.push(byte),
        }
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_percent_decoded() {
        assert_eq!(
            parse_query("symbols=USD%2CGBP&base=eur&x=a+b&flag"),
            vec![
                ("symbols".into(), "USD,GBP".into()),
                ("base".into(), "eur".into()),
                ("x".into(), "a b".into()),
                ("flag".into(), String::new())
            ]
        );
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }

    #[test]
    fn error_envelopes_follow_fixer() {
        let base = fixer_error(201, None);
        assert_eq!(base["error"]["type"], "invalid_base_currency");
        assert!(base["error"].get("info").is_none());
        let https = fixer_error_typed(105, "https_access_restricted");
        assert!(https["error"]["info"].as_str().unwrap().contains("HTTPS"));
    }

    #[test]
    fn rounding_matches_fixer_examples() {
        assert_eq!(round(1.232735 - 1.228952, 4), 0.0038);
        assert_eq!(round((1.232735 - 1.228952) / 1.228952 * 100.0, 4), 0.3078);
    }
}
