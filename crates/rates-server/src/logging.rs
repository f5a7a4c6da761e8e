//! Logging: env_logger (filtered by `RUST_LOG`, default `info`) writing to stderr through a
//! buffer flushed every [`FLUSH_INTERVAL`].
//!
//! Why a buffer: at the default level every request writes an access line, and one `write`
//! system call per line — or a worker waiting while another one writes — costs a busy server a
//! large share of its throughput. A line reaches stderr at most [`FLUSH_INTERVAL`] after it was
//! logged (written by a thread of its own), at once when a megabyte is pending, and when the
//! process ends through [`LogFlusher::flush`].

use std::io::{self, Write};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// Longest time a log line waits in the buffer.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(100);

/// Bytes buffered at most; past that the logging thread writes them itself.
const MAX_PENDING_BYTES: usize = 1024 * 1024;

/// Lines waiting to be written. Threads that log only append under the lock; the flushing
/// thread takes the whole buffer and writes it outside the lock, so a worker never waits for
/// another one's system call.
#[derive(Clone, Default)]
struct PendingLines(Arc<Mutex<Vec<u8>>>);

impl PendingLines {
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn write_out(&self) -> io::Result<()> {
        let lines = self.take();
        if lines.is_empty() {
            return Ok(());
        }
        let mut stderr = io::stderr().lock();
        stderr.write_all(&lines)?;
        stderr.flush()
    }
}

impl Write for PendingLines {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        let overflow = {
            let mut pending = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            pending.extend_from_slice(bytes);
            (pending.len() > MAX_PENDING_BYTES).then(|| std::mem::take(&mut *pending))
        };
        if let Some(lines) = overflow {
            io::stderr().lock().write_all(&lines)?;
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        // Lines go out on the flushing thread's schedule; see `LogFlusher::flush` for exit.
        Ok(())
    }
}

/// Flushes the log buffer; keep it until the end of `main`.
pub struct LogFlusher(PendingLines);

impl LogFlusher {
    /// Writes out whatever is buffered.
    pub fn flush(&self) {
        let _ = self.0.write_out();
    }
}

/// Installs the logger and starts the thread that flushes it.
pub fn init() -> LogFlusher {
    let stderr = PendingLines::default();
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        // ureq logs each request's full URL at debug level, and the classic Fixer host takes
        // the access key in the query string: never below info, whatever RUST_LOG says.
        .filter_module("ureq", log::LevelFilter::Info)
        .target(env_logger::Target::Pipe(Box::new(stderr.clone())))
        .write_style(env_logger::WriteStyle::Never)
        // The default layout, written directly: env_logger's own formatter runs every line
        // through its styling and indentation adapters, which showed in profiles.
        .format(|buf, record| {
            writeln!(
                buf,
                "[{} {:<5} {}] {}",
                buf.timestamp_seconds(),
                record.level(),
                record.target(),
                record.args()
            )
        })
        .init();
    let flusher = stderr.clone();
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
    LogFlusher(stderr)
}
