//! The queue between the threads that log and the one thread that writes the lines out.
//!
//! A thread that logs appends its formatted line to one shared buffer and goes on; it never
//! writes to stderr and, under load, never wakes the writer either: only the first line after
//! the buffer was emptied signals it, and the writer then waits [`BATCH_WINDOW`] for more lines
//! before taking the whole buffer and writing it with one call. So a busy server pays a mutex
//! and a copy per line, and one wake-up and one write per batch, instead of a wake-up and a
//! write per line (which, measured under load, cost more than formatting the line).
//!
//! The buffer holds at most a fixed number of bytes: while the output does not take lines (a
//! stalled pipe), further lines are dropped whole and counted, rather than blocking the threads
//! that log or growing without bound.

use std::io::{self, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

/// How long the writer gathers lines after the first one of a batch.
pub const BATCH_WINDOW: Duration = Duration::from_millis(10);

/// The shared buffer of a [`LineQueue`].
#[derive(Debug)]
struct Shared {
    state: Mutex<State>,
    /// Signalled when the buffer gets its first line, and when the queue closes.
    ready: Condvar,
    max_bytes: usize,
    dropped: AtomicUsize,
}

#[derive(Debug, Default)]
struct State {
    lines: Vec<u8>,
    closed: bool,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn push(&self, line: &[u8]) {
        let mut state = self.state();
        if state.closed || state.lines.len() + line.len() > self.max_bytes {
            drop(state);
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let first = state.lines.is_empty();
        state.lines.extend_from_slice(line);
        drop(state);
        if first {
            self.ready.notify_one();
        }
    }
}

/// Where lines are queued: a [`MakeWriter`] for `tracing-subscriber`, cheap to clone.
#[derive(Debug, Clone)]
pub struct LineQueue {
    shared: Arc<Shared>,
}

/// The writing thread of a [`LineQueue`]; [`QueueWriter::finish`] writes what is left.
#[derive(Debug)]
pub struct QueueWriter {
    shared: Arc<Shared>,
    done: mpsc::Receiver<()>,
}

impl LineQueue {
    /// A queue of at most `max_bytes` of lines, written to `out` by a thread named
    /// `thread_name`; fails only if the thread cannot be started.
    pub fn start(
        out: impl Write + Send + 'static,
        max_bytes: usize,
        thread_name: &str,
    ) -> io::Result<(LineQueue, QueueWriter)> {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            ready: Condvar::new(),
            max_bytes,
            dropped: AtomicUsize::new(0),
        });
        let (finished, done) = mpsc::channel();
        let writing = Arc::clone(&shared);
        std::thread::Builder::new()
            .name(thread_name.to_owned())
            .spawn(move || {
                write_batches(&writing, out);
                let _ = finished.send(());
            })?;
        Ok((
            LineQueue {
                shared: Arc::clone(&shared),
            },
            QueueWriter { shared, done },
        ))
    }

    /// Queues one whole `line` (line end included), or drops and counts it when the buffer is
    /// full.
    pub fn push(&self, line: &[u8]) {
        self.shared.push(line);
    }

    /// Lines dropped so far because the buffer was full.
    pub fn dropped_lines(&self) -> usize {
        self.shared.dropped.load(Ordering::Relaxed)
    }
}

impl QueueWriter {
    /// Stops taking lines, and waits at most `timeout` for the writer to write the ones queued
    /// (an output that does not take them cannot keep the process from exiting).
    pub fn finish(self, timeout: Duration) {
        self.shared.state().closed = true;
        self.shared.ready.notify_one();
        let _ = self.done.recv_timeout(timeout);
    }
}

/// The writer thread: waits for a first line, gathers for [`BATCH_WINDOW`], writes the batch;
/// until the queue is closed and empty.
fn write_batches(shared: &Shared, mut out: impl Write) {
    let mut batch = Vec::new();
    loop {
        let mut state = shared.state();
        while state.lines.is_empty() && !state.closed {
            state = shared
                .ready
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        if !state.closed {
            drop(state);
            std::thread::sleep(BATCH_WINDOW);
            state = shared.state();
        }
        std::mem::swap(&mut state.lines, &mut batch);
        let closed = state.closed;
        drop(state);
        // An output that fails loses its batch; there is nowhere else to say so.
        let _ = out.write_all(&batch).and_then(|()| out.flush());
        batch.clear();
        if closed {
            return;
        }
    }
}

/// One line on its way into the queue.
#[derive(Debug)]
pub struct QueuedLine<'a>(&'a Shared);

impl Write for QueuedLine<'_> {
    /// Queues `line` whole, or drops it whole when the buffer is full: `tracing-subscriber`
    /// writes each formatted line with one call.
    fn write(&mut self, line: &[u8]) -> io::Result<usize> {
        self.0.push(line);
        Ok(line.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LineQueue {
    type Writer = QueuedLine<'a>;

    fn make_writer(&'a self) -> QueuedLine<'a> {
        QueuedLine(&self.shared)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    /// An output shared with the test; blocks writes while `stalled` is held.
    #[derive(Clone, Default)]
    struct Output {
        written: Arc<Mutex<Vec<u8>>>,
        /// Writes begun, stalled or not.
        attempts: Arc<AtomicUsize>,
        writes: Arc<AtomicUsize>,
        stalled: Arc<Mutex<()>>,
    }

    impl Write for Output {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.attempts.fetch_add(1, Ordering::Relaxed);
            let _stalled = self.stalled.lock().unwrap_or_else(PoisonError::into_inner);
            self.writes.fetch_add(1, Ordering::Relaxed);
            self.written
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Output {
        fn text(&self) -> String {
            String::from_utf8_lossy(&self.written.lock().unwrap_or_else(PoisonError::into_inner))
                .into_owned()
        }
    }

    fn log(queue: &LineQueue, line: &str) {
        let _ = queue.make_writer().write_all(line.as_bytes());
    }

    #[test]
    fn lines_arrive_whole_in_order_in_few_writes_and_all_of_them_at_finish() {
        let output = Output::default();
        let (queue, writer) = LineQueue::start(output.clone(), 1 << 20, "test-log").unwrap();
        let lines: Vec<String> = (0..1000).map(|n| format!("line {n}\n")).collect();
        for line in &lines {
            log(&queue, line);
        }
        writer.finish(Duration::from_secs(5));
        assert_eq!(output.text(), lines.concat());
        let writes = output.writes.load(Ordering::Relaxed);
        assert!(
            writes < 10,
            "1,000 lines queued at once took {writes} writes"
        );
        assert_eq!(queue.dropped_lines(), 0);
    }

    #[test]
    fn a_line_reaches_the_output_soon_without_finish() {
        let output = Output::default();
        let (queue, _writer) = LineQueue::start(output.clone(), 1 << 20, "test-log").unwrap();
        log(&queue, "hello\n");
        let deadline = Instant::now() + Duration::from_secs(5);
        while output.text().is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(output.text(), "hello\n");
    }

    #[test]
    fn a_stalled_output_drops_and_counts_whole_lines_beyond_the_budget_without_blocking() {
        let output = Output::default();
        let stall = Arc::clone(&output.stalled);
        let stalled = stall.lock().unwrap();
        let (queue, writer) = LineQueue::start(output.clone(), 100, "test-log").unwrap();
        // The writer takes the first line as a batch and blocks on the stalled output with it.
        log(&queue, "0123456789\n");
        let deadline = Instant::now() + Duration::from_secs(5);
        while output.attempts.load(Ordering::Relaxed) == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        let started = Instant::now();
        for _ in 0..20 {
            log(&queue, "0123456789\n");
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "logging blocked"
        );
        // 100 bytes hold 9 lines of 11 bytes; the other 11 are dropped.
        assert_eq!(queue.dropped_lines(), 11);
        drop(stalled);
        writer.finish(Duration::from_secs(5));
        assert_eq!(output.text(), "0123456789\n".repeat(10));
    }

    #[test]
    fn finish_returns_even_when_the_output_never_takes_the_lines() {
        let output = Output::default();
        let stall = Arc::clone(&output.stalled);
        let _stalled = stall.lock().unwrap();
        let (queue, writer) = LineQueue::start(output, 1 << 20, "test-log").unwrap();
        log(&queue, "stuck\n");
        let started = Instant::now();
        writer.finish(Duration::from_millis(200));
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}
