//! [`Cancellation`]: how another thread asks an ingest under way to stop.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A flag an ingest checks before each Fixer request: once [`Cancellation::cancel`] is called,
/// no further request starts, requests in flight finish and their days are stored whole, and
/// the dates not fetched are reported as [`DateOutcome::RunStopped`](crate::DateOutcome) with
/// [`Report::cancelled`](crate::Report) set. Clones share the flag.
#[derive(Debug, Clone, Default)]
pub struct Cancellation(Arc<AtomicBool>);

impl Cancellation {
    /// A flag not yet set.
    pub fn new() -> Cancellation {
        Cancellation::default()
    }

    /// Asks every ingest holding a clone of this flag to stop between dates.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether [`Cancellation::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}
