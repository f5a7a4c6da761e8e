//! Logging: `log` records, filtered by env_logger's `RUST_LOG` rules (default `info`), written
//! to stderr in env_logger's default layout through a buffer flushed every [`FLUSH_INTERVAL`].
//!
//! Why not env_logger's own output: at the default level every request writes an access line,
//! and env_logger's writer costs each line an allocation, a pass through its colour-stripping
//! adapter and a lock of its own, which together were most of the cost of logging in profiles.
//! So env_logger only decides which records pass (every `RUST_LOG` rule works as documented
//! there), and this module formats the line into a buffer kept per thread — the time stamp
//! formatted once a second — and appends it to the pending lines.
//!
//! Why a buffer: one `write` system call per line — or a worker waiting while another one
//! writes — costs a busy server a large share of its throughput. A line reaches stderr at most
//! [`FLUSH_INTERVAL`] after it was logged (written by a thread of its own), at once when a
//! megabyte is pending, and when the process ends through [`LogFlusher::flush`].

use std::cell::RefCell;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Longest time a log line waits in the buffer.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(100);

/// Bytes buffered at most; past that the logging thread writes them itself.
const MAX_PENDING_BYTES: usize = 1024 * 1024;

/// Lines waiting to be written. Threads that log only append under the lock; a flush swaps
/// the buffer for the one written last time (emptied, its memory kept, so that appending does
/// not grow a fresh buffer every time) and writes it outside that lock, so a worker never waits
/// for another one's system call.
#[derive(Clone, Default)]
struct PendingLines(Arc<Buffers>);

#[derive(Default)]
struct Buffers {
    pending: Mutex<Vec<u8>>,
    /// The lines being written, then the emptied buffer kept for the next swap; its lock
    /// makes flushes go out one at a time, in order.
    writing: Mutex<Vec<u8>>,
}

impl PendingLines {
    #[cfg(test)]
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *lock(&self.0.pending))
    }

    fn write_out(&self) -> io::Result<()> {
        let mut lines = lock(&self.0.writing);
        std::mem::swap(&mut *lines, &mut *lock(&self.0.pending));
        if lines.is_empty() {
            return Ok(());
        }
        let written = {
            let mut stderr = io::stderr().lock();
            stderr.write_all(&lines).and_then(|()| stderr.flush())
        };
        lines.clear();
        written
    }

    fn append(&self, line: &[u8]) -> io::Result<()> {
        let full = {
            let mut pending = lock(&self.0.pending);
            pending.extend_from_slice(line);
            pending.len() > MAX_PENDING_BYTES
        };
        if full {
            self.write_out()?;
        }
        Ok(())
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One thread's line being formatted, kept between lines so that formatting allocates nothing
/// and the time stamp is formatted once a second.
#[derive(Default)]
struct LineFormatter {
    text: String,
    /// The second `stamp` shows, as a Unix time.
    second: Option<i64>,
    stamp: String,
}

impl LineFormatter {
    /// The record as env_logger's default layout without colours:
    /// `[2024-01-02T03:04:05Z INFO  target] message`.
    fn format(&mut self, record: &log::Record<'_>, now: OffsetDateTime) -> &str {
        let second = now.unix_timestamp();
        if self.second != Some(second) {
            self.stamp = now
                .replace_nanosecond(0)
                .ok()
                .and_then(|whole| whole.format(&Rfc3339).ok())
                .unwrap_or_else(|| second.to_string());
            self.second = Some(second);
        }
        let text = &mut self.text;
        text.clear();
        text.push('[');
        text.push_str(&self.stamp);
        text.push(' ');
        let level = record.level().as_str();
        text.push_str(level);
        text.extend(std::iter::repeat_n(
            ' ',
            5_usize.saturating_sub(level.len()),
        ));
        text.push(' ');
        text.push_str(record.target());
        text.push_str("] ");
        match record.args().as_str() {
            Some(message) => text.push_str(message),
            // Writing to a String fails only if a Display impl does; keep what was written.
            None => drop(write!(text, "{}", record.args())),
        }
        text.push('\n');
        text
    }
}

thread_local! {
    static LINE: RefCell<LineFormatter> = RefCell::default();
}

/// The installed logger: env_logger's filter, this module's output.
struct BufferedLogger {
    filter: env_logger::Logger,
    pending: PendingLines,
}

impl log::Log for BufferedLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        self.filter.enabled(metadata)
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.filter.matches(record) {
            return;
        }
        let now = OffsetDateTime::now_utc();
        let append = |line: &mut LineFormatter| {
            let _ = self.pending.append(line.format(record, now).as_bytes());
        };
        let reused = LINE.try_with(|line| match line.try_borrow_mut() {
            Ok(mut line) => {
                append(&mut line);
                true
            }
            // A record logged while another one is being formatted on this thread.
            Err(_) => false,
        });
        if reused != Ok(true) {
            append(&mut LineFormatter::default());
        }
    }

    fn flush(&self) {
        let _ = self.pending.write_out();
    }
}

/// Flushes the log buffer; keep it until the end of `main`.
pub struct LogFlusher(PendingLines);

impl std::fmt::Debug for LogFlusher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogFlusher").finish_non_exhaustive()
    }
}

impl LogFlusher {
    /// Writes out whatever is buffered.
    pub fn flush(&self) {
        let _ = self.0.write_out();
    }
}

/// The target actix-http reports broken connections under: every malformed request, header
/// section too large, slow client or reset connection is an `ERROR` "stream error" there.
const HTTP_CONNECTION_TARGET: &str = "actix_http::h1::dispatcher";

/// The filter: `rules` (`RUST_LOG`), with ureq held at `info`, and actix-http's connection
/// errors shown only when `RUST_LOG` enables that target at `debug`.
fn filter(rules: &str) -> env_logger::Logger {
    let connection_errors_wanted = env_logger::Builder::new()
        .parse_filters(rules)
        .build()
        .matches(
            &log::Record::builder()
                .level(log::Level::Debug)
                .target(HTTP_CONNECTION_TARGET)
                .build(),
        );
    // ureq logs each request's full URL at debug level, and the classic Fixer host takes
    // the access key in the query string: never below info, whatever RUST_LOG says.
    let mut builder = env_logger::Builder::new();
    builder
        .parse_filters(rules)
        .filter_module("ureq", log::LevelFilter::Info);
    // Those errors are what any client can cause (the answer was already sent, by actix-http
    // itself), so at ERROR anyone could fill the log: they are debugging material.
    if !connection_errors_wanted {
        builder.filter_module(HTTP_CONNECTION_TARGET, log::LevelFilter::Off);
    }
    builder.build()
}

/// Installs the logger and starts the thread that flushes it.
pub fn init() -> LogFlusher {
    let pending = PendingLines::default();
    let filter = filter(&std::env::var("RUST_LOG").unwrap_or_else(|_| "info".to_owned()));
    let max_level = filter.filter();
    match log::set_boxed_logger(Box::new(BufferedLogger {
        filter,
        pending: pending.clone(),
    })) {
        Ok(()) => log::set_max_level(max_level),
        Err(error) => eprintln!("rates-server: warning: cannot install the logger: {error}"),
    }
    let flusher = pending.clone();
    let spawned = std::thread::Builder::new()
        .name("log-flush".to_owned())
        .spawn(move || loop {
            std::thread::sleep(FLUSH_INTERVAL);
            let _ = flusher.write_out();
        });
    if let Err(error) = spawned {
        // Without the thread, lines still go out when the buffer fills and at exit.
        eprintln!("rates-server: warning: cannot start the log flusher: {error}");
    }
    LogFlusher(pending)
}

#[cfg(test)]
mod tests {
    use super::*;
    use log::Log as _;
    use std::fmt;
    use time::macros::datetime;

    fn logged(logger: &BufferedLogger, level: log::Level, target: &str, message: &str) {
        logger.log(
            &log::Record::builder()
                .level(level)
                .target(target)
                .args(format_args!("{message}"))
                .build(),
        );
    }

    fn pending_text(logger: &BufferedLogger) -> String {
        String::from_utf8(logger.pending.take()).unwrap()
    }

    fn formatted(
        line: &mut LineFormatter,
        level: log::Level,
        target: &str,
        message: fmt::Arguments<'_>,
        at: OffsetDateTime,
    ) -> String {
        let record = log::Record::builder()
            .level(level)
            .target(target)
            .args(message)
            .build();
        line.format(&record, at).to_owned()
    }

    #[test]
    fn lines_have_env_loggers_default_layout() {
        let mut line = LineFormatter::default();
        assert_eq!(
            formatted(
                &mut line,
                log::Level::Info,
                "rates_api::access",
                format_args!("{} \"GET /\" {}", "127.0.0.1", 200),
                datetime!(2024-01-02 03:04:05.678 UTC)
            ),
            "[2024-01-02T03:04:05Z INFO  rates_api::access] 127.0.0.1 \"GET /\" 200\n"
        );
        assert_eq!(
            formatted(
                &mut line,
                log::Level::Warn,
                "rates_server",
                format_args!("stopped"),
                datetime!(2024-01-02 03:04:06 UTC)
            ),
            "[2024-01-02T03:04:06Z WARN  rates_server] stopped\n",
            "a new second gets a new time stamp"
        );
    }

    #[test]
    fn only_records_the_filter_lets_through_are_buffered() {
        let logger = BufferedLogger {
            filter: env_logger::Builder::new()
                .parse_filters("warn,rates_api::access=info")
                .build(),
            pending: PendingLines::default(),
        };
        logged(&logger, log::Level::Info, "rates_api::access", "GET");
        logged(&logger, log::Level::Info, "rates_server", "serving");
        logged(&logger, log::Level::Warn, "rates_server", "slow");
        let text = pending_text(&logger);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(
            lines[0].ends_with(" INFO  rates_api::access] GET"),
            "{text}"
        );
        assert!(lines[1].ends_with(" WARN  rates_server] slow"), "{text}");
        assert!(!logger.enabled(
            &log::Metadata::builder()
                .level(log::Level::Info)
                .target("rates_server")
                .build()
        ));
    }

    #[test]
    fn actix_connection_errors_pass_only_when_that_target_is_at_debug() {
        let stream_error = |rules: &str| {
            let logger = BufferedLogger {
                filter: filter(rules),
                pending: PendingLines::default(),
            };
            logged(
                &logger,
                log::Level::Error,
                HTTP_CONNECTION_TARGET,
                "stream error: Request parse error: Invalid Header provided",
            );
            logged(&logger, log::Level::Error, "rates_server", "real trouble");
            let text = pending_text(&logger);
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
    fn ureq_debug_lines_are_dropped_whatever_rust_log_says() {
        let logger = BufferedLogger {
            filter: filter("debug,ureq=debug"),
            pending: PendingLines::default(),
        };
        logged(
            &logger,
            log::Level::Debug,
            "ureq::unit",
            "GET https://x/?access_key=K",
        );
        logged(&logger, log::Level::Debug, "rates_server", "debugging");
        let text = pending_text(&logger);
        assert!(!text.contains("access_key"), "{text}");
        assert!(text.contains("debugging"), "{text}");
    }
}
