//! Logging: env_logger (filtered by `RUST_LOG`, default `info`) writing to stderr through a
//! buffer flushed every [`FLUSH_INTERVAL`].
//!
//! Why a buffer: at the default level every request writes an access line, and one `write`
//! system call per line costs a busy server a large share of its throughput. A line therefore
//! reaches stderr at most [`FLUSH_INTERVAL`] after it was logged, and at once when the buffer
//! fills or the process ends through [`LogFlusher::flush`].

use std::io::{self, BufWriter, Stderr, Write};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// Longest time a log line waits in the buffer.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(100);

/// Buffer size: a few dozen access lines.
const BUFFER_BYTES: usize = 16 * 1024;

/// A shared handle on the buffered stderr.
#[derive(Clone)]
struct BufferedStderr(Arc<Mutex<BufWriter<Stderr>>>);

impl Write for BufferedStderr {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .write(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .flush()
    }
}

/// Flushes the log buffer; keep it until the end of `main`.
pub struct LogFlusher(BufferedStderr);

impl LogFlusher {
    /// Writes out whatever is buffered.
    pub fn flush(&self) {
        let _ = self.0.clone().flush();
    }
}

/// Installs the logger and starts the thread that flushes it.
pub fn init() -> LogFlusher {
    let stderr = BufferedStderr(Arc::new(Mutex::new(BufWriter::with_capacity(
        BUFFER_BYTES,
        io::stderr(),
    ))));
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
    let mut flusher = stderr.clone();
    let spawned = std::thread::Builder::new()
        .name("log-flush".to_owned())
        .spawn(move || loop {
            std::thread::sleep(FLUSH_INTERVAL);
            let _ = flusher.flush();
        });
    if let Err(error) = spawned {
        // Without the thread, lines still go out when the buffer fills and at exit.
        eprintln!("rates-server: warning: cannot start the log flusher: {error}");
    }
    LogFlusher(stderr)
}
