//! Logging: `tracing` events and `log` records (what the libraries use), filtered by `RUST_LOG`
//! (default `info`), formatted as text or JSON by `tracing-subscriber` and written to stderr by
//! a thread of their own.
//!
//! Logging never makes a request, a signal handler or shutdown wait for stderr. Threads that log
//! only format the line and append it to a bounded queue ([`QUEUED_BYTES`],
//! [`crate::log_queue`]); the writing thread empties it into stderr in batches. When stderr is
//! slower than the lines come (a reader that stalls, a pipe nobody reads), the queue fills and
//! further lines are **dropped and counted** rather than blocking the threads that log;
//! [`Logging::dropped_lines`] says how many, and a warning says so once stderr takes lines
//! again. [`Logging::finish`] gives the queue a bounded time to drain at exit.
//!
//! `RUST_LOG` takes a default level and `target=level` rules, comma-separated, as env_logger does
//! (`info`, `warn,rates_api::access=info`, `info,rates_api::access=off`). Whatever it says, the
//! `ureq` target is held at `info`: ureq logs each request's URL at `debug`, and the classic Fixer
//! host takes the access key in the query string.
//!
//! Request lines in the text format skip `tracing`: [`access_log`] hands the API a writer that
//! puts the time, level and target in front of the line and queues it, as the subscriber would
//! have written it. Dispatching and formatting an event per request cost more than a tenth of a
//! cached answer's time; the JSON format keeps the events, for their fields.

use std::cell::RefCell;
use std::io::{self, Write};
use std::str::FromStr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prometheus::IntCounter;
use rates_api::{AccessLineWriter, AccessLog, ACCESS_LOG_TARGET};
use tracing::level_filters::LevelFilter;
use tracing::Subscriber;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::format::{debug_fn, Writer};
use tracing_subscriber::fmt::time::FormatTime;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer as _, SubscriberExt as _};

use crate::log_queue::{LineQueue, QueueWriter};

/// Bytes of lines waiting for stderr at most (some ten thousand access lines); past that, new
/// lines are dropped and counted.
pub const QUEUED_BYTES: usize = 1024 * 1024;

/// How often the count of dropped lines is checked, and reported if it grew.
const DROP_REPORT_INTERVAL: Duration = Duration::from_secs(5);

/// Longest wait at exit for the queued lines to reach stderr.
const FINISH_TIMEOUT: Duration = Duration::from_secs(2);

/// The target of the logger's own lines (dropped-line reports).
const LOGGING_TARGET: &str = "rates_server::logging";

/// The target ureq logs under, capped at `info`.
const HTTP_CLIENT_TARGET: &str = "ureq";

/// The target actix-http reports broken connections under: every malformed request, header
/// section too large, slow client or reset connection is an `ERROR` "stream error" there.
const HTTP_CONNECTION_TARGET: &str = "actix_http::h1::dispatcher";

/// How lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// One line of text per event: `2024-01-02T03:04:05.678901Z  INFO target: message`.
    #[default]
    Text,
    /// One JSON object per line: `timestamp`, `level`, `target`, `message` and the event's fields.
    Json,
}

/// Where the API's request lines go, once [`init`] decided: see [`access_log`].
static ACCESS_LOG: OnceLock<AccessLog> = OnceLock::new();

/// Where the API should send its request lines: straight into the log queue when the logger
/// writes text and its rules let `rates_api::access` through at `info`; `tracing` events
/// otherwise (JSON lines, no logger installed, or before [`init`]).
pub fn access_log() -> AccessLog {
    ACCESS_LOG.get().cloned().unwrap_or_default()
}

/// Whether request lines skip `tracing` ([`QueuedAccessLines`]): in the text format, when the
/// rules let them through.
fn writes_request_lines_itself(format: LogFormat, filter: &Targets) -> bool {
    format == LogFormat::Text && filter.would_enable(ACCESS_LOG_TARGET, &tracing::Level::INFO)
}

/// Request lines written into the log queue as the text subscriber writes events:
/// `{time}  INFO rates_api::access: {line}`.
struct QueuedAccessLines(LineQueue);

impl AccessLineWriter for QueuedAccessLines {
    fn write_line(&self, line: &str) {
        thread_local! {
            /// The whole line being queued, kept so that each line does not allocate.
            static TEXT: RefCell<String> = const { RefCell::new(String::new()) };
        }
        let write = |text: &mut String| {
            text.clear();
            let _ = write_time(text);
            text.push_str("  INFO ");
            text.push_str(ACCESS_LOG_TARGET);
            text.push_str(": ");
            text.push_str(line);
            text.push('\n');
            self.0.push(text.as_bytes());
        };
        TEXT.with(|text| match text.try_borrow_mut() {
            Ok(mut text) => write(&mut text),
            Err(_) => write(&mut String::new()),
        });
    }
}

/// The installed logger; keep it until the end of `main` and call [`Logging::finish`] there.
#[must_use = "dropping it stops the log writer; call `finish` at the end of main"]
pub struct Logging {
    /// `None` when the writing thread could not start (lines then go to stderr directly).
    queue: Option<(LineQueue, QueueWriter)>,
}

impl std::fmt::Debug for Logging {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Logging")
            .field("dropped_lines", &self.dropped_lines())
            .finish_non_exhaustive()
    }
}

impl Logging {
    /// Lines dropped so far because stderr did not take them fast enough.
    pub fn dropped_lines(&self) -> usize {
        self.queue
            .as_ref()
            .map_or(0, |(queue, _)| queue.dropped_lines())
    }

    /// Reports any dropped lines, then waits at most a couple of seconds for the queued lines to
    /// reach stderr: a stderr nobody reads cannot keep the process from exiting.
    pub fn finish(mut self) {
        let dropped = self.dropped_lines();
        if dropped > 0 {
            tracing::warn!(
                target: LOGGING_TARGET,
                "{dropped} log lines were dropped in all because stderr did not take them"
            );
        }
        if let Some((_, writer)) = self.queue.take() {
            writer.finish(FINISH_TIMEOUT);
        }
    }
}

/// The `RUST_LOG` rules as a filter, `ureq` held at `info` at most, actix-http's connection
/// errors off unless the rules enable that target at `debug`. Rules that do not parse are
/// replaced by `info` and the reason is returned, to be logged once the logger is installed.
pub fn filter(rules: Option<&str>) -> (Targets, Option<String>) {
    let (parsed, complaint) = match rules.map(str::trim).filter(|rules| !rules.is_empty()) {
        None => (Targets::new().with_default(LevelFilter::INFO), None),
        Some(rules) => match Targets::from_str(rules) {
            Ok(targets) => (targets, None),
            Err(error) => (
                Targets::new().with_default(LevelFilter::INFO),
                Some(format!("RUST_LOG is not valid ({error}); logging at info")),
            ),
        },
    };
    let default = parsed.default_level().unwrap_or(LevelFilter::OFF);
    let mut capped = Targets::new().with_default(default);
    let mut names_http_client = false;
    for (target, level) in parsed.iter() {
        let is_http_client =
            target == HTTP_CLIENT_TARGET || target.starts_with(&format!("{HTTP_CLIENT_TARGET}::"));
        names_http_client |= target == HTTP_CLIENT_TARGET;
        let level = if is_http_client {
            level.min(LevelFilter::INFO)
        } else {
            level
        };
        capped = capped.with_target(target, level);
    }
    if !names_http_client {
        capped = capped.with_target(HTTP_CLIENT_TARGET, default.min(LevelFilter::INFO));
    }
    // Those errors are what any client can cause (the answer was already sent, by actix-http
    // itself), so at ERROR anyone could fill the log: they are debugging material, shown only
    // when the rules enable that target at debug.
    if !parsed.would_enable(HTTP_CONNECTION_TARGET, &tracing::Level::DEBUG) {
        capped = capped.with_target(HTTP_CONNECTION_TARGET, LevelFilter::OFF);
    }
    (capped, complaint)
}

/// Where connection errors of the HTTP layer are counted, once the server has its metrics
/// ([`count_refusals_in`]). Process-wide, as the logger is.
static REFUSALS: OnceLock<IntCounter> = OnceLock::new();

/// Counts, from now on, every connection error actix-http reports (a request it refused before
/// any route saw it: malformed, too large, too slow) in `counter` (`rates_http_refused_total`).
/// The first call wins.
pub fn count_refusals_in(counter: IntCounter) {
    let _ = REFUSALS.set(counter);
}

/// Counts actix-http's connection errors into [`REFUSALS`].
struct RefusalCounter;

impl<S: Subscriber> tracing_subscriber::Layer<S> for RefusalCounter {
    fn on_event(&self, _event: &tracing::Event<'_>, _context: Context<'_, S>) {
        if let Some(counter) = REFUSALS.get() {
            counter.inc();
        }
    }
}

/// Line times as `2024-01-02T03:04:05.678901Z` (UTC, microseconds), as `tracing-subscriber`'s
/// default timer writes them, but with the date and time of day formatted once a second per
/// thread: formatting the whole time for every line was a quarter of an access line's cost.
struct UtcMicros;

impl FormatTime for UtcMicros {
    fn format_time(&self, writer: &mut Writer<'_>) -> std::fmt::Result {
        write_time(writer)
    }
}

/// Writes the time now as [`UtcMicros`] shows it.
fn write_time(writer: &mut impl std::fmt::Write) -> std::fmt::Result {
    thread_local! {
        /// The second last formatted, and its text up to the fraction's point.
        static SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let (seconds, mut micros) = (now.as_secs(), now.subsec_micros());
    // Six digits by hand: `format_args!` showed in profiles of the request lines.
    let mut fraction = [b'0'; 6];
    for digit in fraction.iter_mut().rev() {
        *digit = b'0' + (micros % 10) as u8;
        micros /= 10;
    }
    SECOND.with(|second| {
        let mut second = second.borrow_mut();
        if second.0 != seconds {
            *second = (seconds, second_text(seconds));
        }
        writer.write_str(&second.1)?;
        writer.write_str(std::str::from_utf8(&fraction).unwrap_or("000000"))?;
        writer.write_char('Z')
    })
}

/// `2024-01-02T03:04:05.` for `seconds` since the Unix epoch.
fn second_text(seconds: u64) -> String {
    let time = i64::try_from(seconds)
        .ok()
        .and_then(|seconds| time::OffsetDateTime::from_unix_timestamp(seconds).ok())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.",
        time.year(),
        u8::from(time.month()),
        time.day(),
        time.hour(),
        time.minute(),
        time.second()
    )
}

/// The subscriber: `filter`, then lines in `format` to `writer`. Separate from [`init`] so tests
/// can write into a buffer.
pub fn subscriber<W>(
    filter: Targets,
    format: LogFormat,
    writer: W,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
{
    // Connection errors are counted whatever the log shows of them: the counting layer has a
    // filter of its own, and `filter` applies to the lines only.
    let refusals = Targets::new().with_target(HTTP_CONNECTION_TARGET, LevelFilter::ERROR);
    let registry = tracing_subscriber::registry().with(RefusalCounter.with_filter(refusals));
    let lines = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_timer(UtcMicros)
        .with_writer(writer);
    match format {
        // Text lines are the message alone: events that also carry their parts as fields (the
        // access line) show them once, as JSON keys, not again after the message.
        LogFormat::Text => Box::new(
            registry.with(
                lines
                    .fmt_fields(debug_fn(|writer, field, value| {
                        if field.name() == "message" {
                            write!(writer, "{value:?}")
                        } else {
                            Ok(())
                        }
                    }))
                    .with_filter(filter),
            ),
        ),
        LogFormat::Json => Box::new(
            registry.with(
                lines
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_filter(filter),
            ),
        ),
    }
}

/// Installs the logger for the whole process (`RUST_LOG` from the environment), starts the
/// thread that writes to stderr, and routes `log` records into it.
pub fn init(format: LogFormat) -> Logging {
    let rules = std::env::var("RUST_LOG").ok();
    let (filter, complaint) = filter(rules.as_deref());
    let max_level = max_level(&filter);
    let queue = match LineQueue::start(io::stderr(), QUEUED_BYTES, "log-writer") {
        Ok(queue) => queue,
        Err(error) => {
            // Without its thread, lines are written by the threads that log.
            let _ = writeln!(
                io::stderr(),
                "rates-server: warning: cannot start the log writer ({error}); writing directly"
            );
            let _ = tracing::subscriber::set_global_default(subscriber(filter, format, io::stderr));
            return Logging { queue: None };
        }
    };
    let writer = queue.0.clone();
    let dropped = queue.0.clone();
    let access_lines = writes_request_lines_itself(format, &filter).then(|| queue.0.clone());
    let logging = Logging { queue: Some(queue) };
    if let Err(error) = tracing::subscriber::set_global_default(subscriber(filter, format, writer))
    {
        let _ = writeln!(
            io::stderr(),
            "rates-server: warning: cannot install the logger: {error}"
        );
        return logging;
    }
    if let Some(queue) = access_lines {
        let _ = ACCESS_LOG.set(AccessLog::Lines(Arc::new(QueuedAccessLines(queue))));
    }
    // `log` records (actix, rates-api, rates-ingest...) become events of the same subscriber; the
    // level cap lets records no rule wants cost one comparison.
    if let Err(error) = tracing_log::LogTracer::builder()
        .with_max_level(max_level)
        .init()
    {
        tracing::warn!(target: LOGGING_TARGET, "cannot route `log` records: {error}");
    }
    if let Some(complaint) = complaint {
        tracing::warn!(target: LOGGING_TARGET, "{complaint}");
    }
    let spawned = std::thread::Builder::new()
        .name("log-drops".to_owned())
        .spawn(move || report_drops(&dropped));
    if let Err(error) = spawned {
        tracing::warn!(target: LOGGING_TARGET, "cannot start the dropped-line reports: {error}");
    }
    logging
}

/// The most verbose level any rule of `filter` lets through, for `log`'s global cap.
fn max_level(filter: &Targets) -> log::LevelFilter {
    let most = filter
        .iter()
        .map(|(_, level)| level)
        .chain(filter.default_level())
        .max()
        .unwrap_or(LevelFilter::OFF);
    match most.into_level() {
        None => log::LevelFilter::Off,
        Some(tracing::Level::ERROR) => log::LevelFilter::Error,
        Some(tracing::Level::WARN) => log::LevelFilter::Warn,
        Some(tracing::Level::INFO) => log::LevelFilter::Info,
        Some(tracing::Level::DEBUG) => log::LevelFilter::Debug,
        Some(tracing::Level::TRACE) => log::LevelFilter::Trace,
    }
}

/// Every [`DROP_REPORT_INTERVAL`], logs how many lines were dropped since the last report, if
/// any. While stderr is still stuck the report is dropped too, and counted in the next one.
fn report_drops(dropped: &LineQueue) {
    let mut reported = 0;
    loop {
        std::thread::sleep(DROP_REPORT_INTERVAL);
        let total = dropped.dropped_lines();
        if total > reported {
            tracing::warn!(
                target: LOGGING_TARGET,
                "{} log lines dropped: stderr did not take them fast enough",
                total - reported
            );
            reported = total;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex, PoisonError};

    /// Lines written, shared with the test.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Captured {
        fn text(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner))
                .into_owned()
        }
    }

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Captured {
            self.clone()
        }
    }

    /// What `emit` logs through a subscriber built from `rules` and `format`.
    fn logged(rules: &str, format: LogFormat, emit: impl FnOnce()) -> String {
        let captured = Captured::default();
        let (filter, complaint) = filter(Some(rules));
        assert_eq!(complaint, None);
        tracing::subscriber::with_default(subscriber(filter, format, captured.clone()), emit);
        captured.text()
    }

    #[test]
    fn line_times_are_utc_with_microseconds_as_before() {
        assert_eq!(second_text(0), "1970-01-01T00:00:00.");
        assert_eq!(second_text(1_704_164_645), "2024-01-02T03:04:05.");
        let mut text = String::new();
        UtcMicros.format_time(&mut Writer::new(&mut text)).unwrap();
        let mut default = String::new();
        tracing_subscriber::fmt::time::SystemTime
            .format_time(&mut Writer::new(&mut default))
            .unwrap();
        assert_eq!(text.len(), "2024-01-02T03:04:05.678901Z".len(), "{text}");
        assert_eq!(text.len(), default.len(), "{text} / {default}");
        assert!(text.ends_with('Z') && text.as_bytes()[19] == b'.', "{text}");
        // The same second (unless this ran across a second's end).
        assert_eq!(text[..17], default[..17], "{text} / {default}");
    }

    #[test]
    fn request_lines_queued_directly_read_as_the_text_subscriber_writes_them() {
        let message = "127.0.0.1 \"GET /rates/2024-01-02/\" 200 0.012ms id=abc-1";
        let by_subscriber = logged("info", LogFormat::Text, || {
            tracing::info!(target: ACCESS_LOG_TARGET, client = "127.0.0.1", "{message}");
        });
        let output = Captured::default();
        let (queue, writer) = LineQueue::start(output.clone(), 1 << 20, "test-log").unwrap();
        QueuedAccessLines(queue).write_line(message);
        writer.finish(Duration::from_secs(5));
        let direct = output.text();
        assert_eq!(direct.lines().count(), 1, "{direct}");
        let time = "2024-01-02T03:04:05.678901Z".len();
        assert_eq!(direct.get(time..), by_subscriber.get(time..), "{direct}");
        let parsed = time::OffsetDateTime::parse(
            &direct[..time],
            &time::format_description::well_known::Rfc3339,
        );
        assert!(parsed.is_ok(), "{direct}");
    }

    #[test]
    fn request_lines_skip_tracing_only_in_text_and_when_the_rules_want_them() {
        let wanted = |format, rules| writes_request_lines_itself(format, &filter(Some(rules)).0);
        assert!(wanted(LogFormat::Text, "info"));
        assert!(wanted(LogFormat::Text, "warn,rates_api::access=info"));
        assert!(!wanted(LogFormat::Text, "info,rates_api::access=off"));
        assert!(!wanted(LogFormat::Text, "warn"));
        assert!(!wanted(LogFormat::Json, "info"));
    }

    #[test]
    fn text_lines_carry_time_level_target_and_message() {
        let text = logged("info", LogFormat::Text, || {
            tracing::info!(target: "rates_api::access", "127.0.0.1 \"GET /\" 200");
        });
        let line = text.lines().next().unwrap_or_default();
        assert!(
            line.ends_with(" INFO rates_api::access: 127.0.0.1 \"GET /\" 200"),
            "{text}"
        );
        assert!(line.starts_with("20") && line.contains('T'), "{text}");
        assert!(!text.contains('\u{1b}'), "no colours: {text}");
    }

    #[test]
    fn json_lines_are_one_object_each_with_the_message_and_fields() -> Result<(), serde_json::Error>
    {
        let text = logged("info", LogFormat::Json, || {
            tracing::warn!(target: "rates_server::scheduler", dates = 3, "scheduled ingest: done");
        });
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1, "{text}");
        let line: serde_json::Value = serde_json::from_str(lines.first().copied().unwrap_or(""))?;
        assert_eq!(line["level"], "WARN");
        assert_eq!(line["target"], "rates_server::scheduler");
        assert_eq!(line["message"], "scheduled ingest: done");
        assert_eq!(line["dates"], 3);
        assert!(line["timestamp"].is_string());
        Ok(())
    }

    #[test]
    fn only_what_the_rules_let_through_is_written() {
        let text = logged("warn,rates_api::access=info", LogFormat::Text, || {
            tracing::info!(target: "rates_api::access", "GET");
            tracing::info!(target: "rates_server", "serving");
            tracing::warn!(target: "rates_server", "slow");
        });
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines
            .iter()
            .any(|line| line.ends_with("rates_api::access: GET")));
        assert!(lines
            .iter()
            .any(|line| line.ends_with("rates_server: slow")));
    }

    #[test]
    fn ureq_debug_lines_are_dropped_whatever_rust_log_says() {
        for rules in [
            "debug",
            "debug,ureq=debug",
            "info,ureq::unit=trace",
            "trace",
        ] {
            let text = logged(rules, LogFormat::Text, || {
                tracing::debug!(target: "ureq::unit", "GET https://x/?access_key=K");
                tracing::debug!(target: "ureq", "GET https://x/?access_key=K");
                tracing::info!(target: "ureq::unit", "kept");
                tracing::debug!(target: "rates_server", "debugging");
            });
            assert!(!text.contains("access_key"), "{rules}: {text}");
            assert!(text.contains("kept"), "{rules}: {text}");
            assert_eq!(text.contains("debugging"), rules != "info,ureq::unit=trace");
        }
    }

    #[test]
    fn actix_connection_errors_pass_only_when_that_target_is_at_debug() {
        let stream_error = |rules: &str| {
            let text = logged(rules, LogFormat::Text, || {
                tracing::error!(
                    target: "actix_http::h1::dispatcher",
                    "stream error: Request parse error: Invalid Header provided"
                );
                tracing::error!(target: "rates_server", "real trouble");
            });
            assert!(text.contains("real trouble"), "{rules}: {text}");
            text.contains("stream error")
        };
        assert!(!stream_error("info"));
        assert!(!stream_error("error"));
        assert!(!stream_error("info,actix_http=info"));
        assert!(stream_error("debug"));
        assert!(stream_error("info,actix_http::h1::dispatcher=debug"));
    }

    #[test]
    fn invalid_rules_fall_back_to_info_and_say_why() {
        let (filter, complaint) = filter(Some("info,rates_api=loud"));
        assert!(complaint.is_some_and(|complaint| complaint.contains("RUST_LOG")));
        assert_eq!(filter.default_level(), Some(LevelFilter::INFO));
        assert_eq!(max_level(&filter), log::LevelFilter::Info);
        let (filter, complaint) = filter_of("warn,rates_server=debug");
        assert_eq!(complaint, None);
        assert_eq!(max_level(&filter), log::LevelFilter::Debug);
    }

    fn filter_of(rules: &str) -> (Targets, Option<String>) {
        filter(Some(rules))
    }
}
