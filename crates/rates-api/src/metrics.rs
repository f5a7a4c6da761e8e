//! Prometheus metrics (`GET /metrics`, text exposition format 0.0.4).
//!
//! One [`Metrics`] per server, owned by the [`crate::ApiState`] (no process-global registry, so
//! tests run servers side by side). The front middleware counts every answer by route and status
//! and times it; the rate limiter counts refusals; the server records ingest runs and Fixer
//! requests through the `record_*` methods; gauges about the data (latest date's age, values
//! held) are set when `/metrics` is scraped. Routes are labelled by their pattern
//! ([`route_label`]), never by the raw path, so clients cannot grow the label sets.

use std::sync::OnceLock;
use std::time::Duration;

use prometheus::{
    Encoder, Gauge, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    Opts, Registry, TextEncoder,
};

/// The content type of the text exposition format.
pub const METRICS_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Request duration buckets, in seconds: answers from memory take well under a millisecond, so
/// the buckets start at 100 µs.
const DURATION_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// Every route label, so each route's histogram exists from the start (an operator's
/// `rate()` needs a series before the first request).
const ROUTES: &[&str] = &[
    "/",
    "/assets",
    "/rates/:date",
    "/rates/:start..:end",
    "/rates/:date/revisions",
    "/currencies",
    "/convert",
    "/fluctuation",
    "/health",
    "/metrics",
    "/openapi.json",
    "/api/latest",
    "/api/:date",
    "/api/timeseries",
    "/api/fluctuation",
    "/api/convert",
    "/api/symbols",
    "/api/other",
    "other",
];

/// How an ingest run ended, for `rates_ingest_runs_total{outcome}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IngestOutcome {
    /// Every date was stored.
    Success,
    /// Some dates failed; the others were stored.
    Partial,
    /// Nothing could be stored (e.g. a bad key or Fixer unreachable).
    Failure,
    /// Stopped before the end (shutdown).
    Cancelled,
}

impl IngestOutcome {
    fn as_str(self) -> &'static str {
        match self {
            IngestOutcome::Success => "success",
            IngestOutcome::Partial => "partial",
            IngestOutcome::Failure => "failure",
            IngestOutcome::Cancelled => "cancelled",
        }
    }
}

/// A known route's duration histogram and its count of 200s.
#[derive(Debug)]
struct RouteSeries {
    route: &'static str,
    duration: Histogram,
    answered_ok: OnceLock<IntCounter>,
}

/// The server's metrics and their registry.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    http_requests: IntCounterVec,
    http_duration: HistogramVec,
    /// Each known route's series, found once: looking a series up by its labels hashes them
    /// and takes the vector's lock, on every request.
    routes: Vec<RouteSeries>,
    latest_date_age_days: Gauge,
    snapshot_values: IntGauge,
    snapshot_days: IntGauge,
    database_up: IntGauge,
    ingest_runs: IntCounterVec,
    ingest_last_success: Gauge,
    fixer_requests: IntCounterVec,
    fixer_quota_remaining: IntGauge,
    rate_limited: IntCounter,
    http_refused: IntCounter,
}

impl Metrics {
    /// A fresh set of metrics in a registry of its own.
    pub fn new() -> Result<Metrics, prometheus::Error> {
        let registry = Registry::new();
        let http_requests = IntCounterVec::new(
            Opts::new(
                "rates_http_requests_total",
                "HTTP answers sent, by route and status.",
            ),
            &["route", "status"],
        )?;
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "rates_http_request_duration_seconds",
                "Time from receiving a request to its answer, by route.",
            )
            .buckets(DURATION_BUCKETS.to_vec()),
            &["route"],
        )?;
        let latest_date_age_days = Gauge::new(
            "rates_latest_date_age_days",
            "Days between today (UTC) and the latest date held; -1 when nothing is held.",
        )?;
        let snapshot_values = IntGauge::new(
            "rates_snapshot_values",
            "Rate values held in the in-memory snapshot.",
        )?;
        let snapshot_days = IntGauge::new(
            "rates_snapshot_days",
            "Days held in the in-memory snapshot.",
        )?;
        let database_up = IntGauge::new(
            "rates_database_up",
            "1 while the database answers, 0 while reads are served from the snapshot alone.",
        )?;
        let ingest_runs = IntCounterVec::new(
            Opts::new(
                "rates_ingest_runs_total",
                "Ingest runs by this server, by outcome.",
            ),
            &["outcome"],
        )?;
        let ingest_last_success = Gauge::new(
            "rates_ingest_last_success_timestamp_seconds",
            "When this server's last fully successful ingest finished (Unix time); 0 if never.",
        )?;
        let fixer_requests = IntCounterVec::new(
            Opts::new(
                "rates_fixer_requests_total",
                "Requests sent to Fixer by this server, by endpoint and outcome.",
            ),
            &["endpoint", "outcome"],
        )?;
        let fixer_quota_remaining = IntGauge::new(
            "rates_fixer_quota_remaining",
            "Fixer requests left this month, as Fixer last reported it; -1 until it does.",
        )?;
        fixer_quota_remaining.set(-1);
        let rate_limited = IntCounter::new(
            "rates_rate_limited_total",
            "Requests refused with 429 because their client was over its rate limit.",
        )?;
        registry.register(Box::new(http_requests.clone()))?;
        registry.register(Box::new(http_duration.clone()))?;
        registry.register(Box::new(latest_date_age_days.clone()))?;
        registry.register(Box::new(snapshot_values.clone()))?;
        registry.register(Box::new(snapshot_days.clone()))?;
        registry.register(Box::new(database_up.clone()))?;
        registry.register(Box::new(ingest_runs.clone()))?;
        registry.register(Box::new(ingest_last_success.clone()))?;
        registry.register(Box::new(fixer_requests.clone()))?;
        registry.register(Box::new(fixer_quota_remaining.clone()))?;
        let http_refused = IntCounter::new(
            "rates_http_refused_total",
            "Requests the HTTP layer refused before any route saw them (malformed, too large, too slow), counted from its connection errors.",
        )?;
        registry.register(Box::new(rate_limited.clone()))?;
        registry.register(Box::new(http_refused.clone()))?;
        #[cfg(target_os = "linux")]
        registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;
        let routes = ROUTES
            .iter()
            .map(|route| {
                Ok(RouteSeries {
                    route,
                    duration: http_duration.get_metric_with_label_values(&[route])?,
                    answered_ok: OnceLock::new(),
                })
            })
            .collect::<Result<Vec<_>, prometheus::Error>>()?;
        for outcome in [
            IngestOutcome::Success,
            IngestOutcome::Partial,
            IngestOutcome::Failure,
            IngestOutcome::Cancelled,
        ] {
            ingest_runs.with_label_values(&[outcome.as_str()]);
        }
        Ok(Metrics {
            registry,
            http_requests,
            http_duration,
            routes,
            latest_date_age_days,
            snapshot_values,
            snapshot_days,
            database_up,
            ingest_runs,
            ingest_last_success,
            fixer_requests,
            fixer_quota_remaining,
            rate_limited,
            http_refused,
        })
    }

    /// Counts and times one answer.
    pub(crate) fn observe_request(&self, route: &'static str, status: u16, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        let Some(series) = self.routes.iter().find(|series| series.route == route) else {
            self.http_requests
                .with_label_values(&[route, status_label(status)])
                .inc();
            self.http_duration
                .with_label_values(&[route])
                .observe(seconds);
            return;
        };
        series.duration.observe(seconds);
        if status == 200 {
            // Created at the first 200, so that a route never answered shows no series.
            series
                .answered_ok
                .get_or_init(|| self.http_requests.with_label_values(&[route, "200"]))
                .inc();
        } else {
            self.http_requests
                .with_label_values(&[route, status_label(status)])
                .inc();
        }
    }

    /// The counter of requests refused by the HTTP layer itself (before routing): the server's
    /// logger increments it for each connection error actix-http reports.
    pub fn http_refused(&self) -> IntCounter {
        self.http_refused.clone()
    }

    /// Counts one request refused by the rate limit.
    pub(crate) fn count_rate_limited(&self) {
        self.rate_limited.inc();
    }

    /// Records the end of an ingest run; `finished_at` is its Unix time in seconds.
    pub fn record_ingest(&self, outcome: IngestOutcome, finished_at: f64) {
        self.ingest_runs
            .with_label_values(&[outcome.as_str()])
            .inc();
        if outcome == IngestOutcome::Success {
            self.ingest_last_success.set(finished_at);
        }
    }

    /// Counts `count` requests to Fixer's `endpoint` (`latest`, `historical`, `timeseries`,
    /// `symbols`, ...) that ended as `outcome` (`ok` or an error kind such as `error`).
    pub fn record_fixer_requests(&self, endpoint: &str, outcome: &str, count: u64) {
        self.fixer_requests
            .with_label_values(&[endpoint, outcome])
            .inc_by(count);
    }

    /// The monthly quota left, as Fixer last reported it.
    pub fn set_fixer_quota_remaining(&self, remaining: i64) {
        self.fixer_quota_remaining.set(remaining);
    }

    /// Sets the gauges that describe the data held, just before a scrape.
    pub(crate) fn set_data_gauges(
        &self,
        latest_date_age_days: Option<i64>,
        days: usize,
        values: usize,
        database_up: bool,
    ) {
        #[allow(clippy::cast_precision_loss)]
        self.latest_date_age_days
            .set(latest_date_age_days.map_or(-1.0, |days| days as f64));
        self.snapshot_days
            .set(i64::try_from(days).unwrap_or(i64::MAX));
        self.snapshot_values
            .set(i64::try_from(values).unwrap_or(i64::MAX));
        self.database_up.set(i64::from(database_up));
    }

    /// Every metric in the text exposition format. The encoder fails only on a malformed metric
    /// family (a bug, logged); what it wrote until then is still served.
    pub fn render(&self) -> String {
        let mut buffer = Vec::with_capacity(16 * 1024);
        if let Err(error) = TextEncoder::new().encode(&self.registry.gather(), &mut buffer) {
            log::error!("cannot encode the metrics: {error}");
        }
        String::from_utf8_lossy(&buffer).into_owned()
    }
}

/// The label of a status code (the common ones without allocating).
fn status_label(status: u16) -> &'static str {
    match status {
        200 => "200",
        204 => "204",
        304 => "304",
        400 => "400",
        401 => "401",
        404 => "404",
        405 => "405",
        406 => "406",
        414 => "414",
        422 => "422",
        429 => "429",
        500 => "500",
        503 => "503",
        _ => match status / 100 {
            1 => "1xx",
            2 => "2xx",
            3 => "3xx",
            4 => "4xx",
            _ => "5xx",
        },
    }
}

/// The route pattern a path belongs to: a small fixed set, whatever clients send.
pub(crate) fn route_label(path: &str) -> &'static str {
    let path = path.strip_suffix('/').unwrap_or(path);
    match path {
        "" => return "/",
        "/currencies" => return "/currencies",
        "/convert" => return "/convert",
        "/fluctuation" => return "/fluctuation",
        "/health" => return "/health",
        "/metrics" => return "/metrics",
        "/openapi.json" => return "/openapi.json",
        _ => {}
    }
    if path.starts_with("/assets/") {
        return "/assets";
    }
    if let Some(rest) = path.strip_prefix("/rates/") {
        return if rest.ends_with("/revisions") {
            "/rates/:date/revisions"
        } else if rest.contains("..") {
            "/rates/:start..:end"
        } else if rest.contains('/') {
            "other"
        } else {
            "/rates/:date"
        };
    }
    if let Some(rest) = path.strip_prefix("/api/") {
        return match rest {
            "latest" => "/api/latest",
            "timeseries" => "/api/timeseries",
            "fluctuation" => "/api/fluctuation",
            "convert" => "/api/convert",
            "symbols" => "/api/symbols",
            _ if looks_like_date(rest) => "/api/:date",
            _ => "/api/other",
        };
    }
    "other"
}

fn looks_like_date(text: &str) -> bool {
    text.len() == 10
        && text.bytes().enumerate().all(|(i, byte)| {
            if i == 4 || i == 7 {
                byte == b'-'
            } else {
                byte.is_ascii_digit()
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_labelled_by_pattern() {
        let cases = [
            ("/", "/"),
            ("/rates/2024-01-02/", "/rates/:date"),
            ("/rates/latest", "/rates/:date"),
            ("/rates/2024-01-01..2024-02-01/", "/rates/:start..:end"),
            ("/rates/2024-01-02/revisions", "/rates/:date/revisions"),
            ("/rates/a/b/c", "other"),
            ("/currencies/", "/currencies"),
            ("/convert", "/convert"),
            ("/health/", "/health"),
            ("/api/latest", "/api/latest"),
            ("/api/2024-01-02", "/api/:date"),
            ("/api/nope", "/api/other"),
            ("/wp-admin.php", "other"),
            ("/assets/app.js", "/assets"),
        ];
        for (path, label) in cases {
            assert_eq!(route_label(path), label, "{path}");
            assert!(ROUTES.contains(&label), "{label} is pre-registered");
        }
    }

    #[test]
    fn counters_and_histograms_are_rendered() {
        let metrics = Metrics::new().unwrap();
        metrics.observe_request("/convert", 200, Duration::from_micros(300));
        metrics.observe_request("/convert", 404, Duration::from_millis(2));
        metrics.record_ingest(IngestOutcome::Success, 1_700_000_000.0);
        metrics.record_fixer_requests("historical", "ok", 3);
        metrics.count_rate_limited();
        let text = metrics.render();
        for line in [
            "rates_http_requests_total{route=\"/convert\",status=\"200\"} 1",
            "rates_http_requests_total{route=\"/convert\",status=\"404\"} 1",
            "rates_http_request_duration_seconds_count{route=\"/convert\"} 2",
            "rates_ingest_runs_total{outcome=\"success\"} 1",
            "rates_ingest_last_success_timestamp_seconds 1700000000",
            "rates_fixer_requests_total{endpoint=\"historical\",outcome=\"ok\"} 3",
            "rates_rate_limited_total 1",
            "rates_fixer_quota_remaining -1",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing {line:?} in\n{text}"
            );
        }
    }
}
