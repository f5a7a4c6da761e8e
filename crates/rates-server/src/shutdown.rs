//! Waiting for SIGTERM or SIGINT.
//!
//! actix treats SIGINT as a forced stop; here both signals start a graceful one (requests in
//! flight finish, then the process exits 0), since an operator's Ctrl-C and an orchestrator's
//! SIGTERM mean the same thing for this service.

use std::io;

use tokio::signal::unix::{signal, SignalKind};

/// A future that completes on the first SIGTERM or SIGINT. Must be called inside a Tokio runtime.
pub fn on_terminate() -> io::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    Ok(async move {
        let name = tokio::select! {
            _ = terminate.recv() => "SIGTERM",
            _ = interrupt.recv() => "SIGINT",
        };
        log::info!("{name} received: finishing requests in flight, then stopping");
    })
}
