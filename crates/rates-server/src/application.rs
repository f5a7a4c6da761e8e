//! [`Application`]: the server built from settings on a listener the caller bound, run until a
//! stop future completes.
//!
//! `main` binds the listener from `server.bind` and passes SIGTERM/SIGINT as the stop future;
//! tests bind `127.0.0.1:0` and pass a channel, so every test gets its own port without a
//! bind-drop-rebind race and runs in its own process or in-process alike.

use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use actix_web::{App, HttpServer};
use anyhow::Context;
use rates_api::{ApiConfig, ApiState, AuthMode, CorsPolicy, RateLimitConfig};
use rates_domain::Currency;
use rates_ingest::ReadThrough;
use rates_settings::{CorsOrigins, ServerAuth, Settings};
use rates_store::Store;

use crate::read_through::IngestReadThrough;
use crate::scheduler::IngestLoop;

/// How long requests in flight, and a scheduled ingest under way, get to finish after the stop
/// future completes.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// The server: the API on its listener and, when `ingest.schedule` asks for one, the scheduled
/// ingest. Built by [`Application::build`], run by [`Application::run_until_stopped`].
pub struct Application {
    server: actix_web::dev::Server,
    local_addr: SocketAddr,
    state: ApiState,
    scheduled_ingest: Option<IngestLoop>,
}

impl Application {
    /// Opens the store named by `database.url` (applying pending migrations), checks the
    /// settings the API and the scheduled ingest need, and sets the HTTP server up on
    /// `listener`. Nothing is served until [`Application::run_until_stopped`] runs.
    ///
    /// Blocking (it opens the database); call it before entering the async runtime or on a
    /// blocking thread. Fails, with the setting or the database named, on anything that would
    /// stop the server from working.
    pub fn build(settings: &Settings, listener: TcpListener) -> anyhow::Result<Application> {
        // A refused start-up must not leave a new, empty SQLite file behind: what the settings
        // can get wrong is checked before the database is opened, and a file this start-up
        // created is removed again if a later step fails.
        let new_file = Store::sqlite_file(&settings.database.url).filter(|path| !path.exists());
        let built = Application::build_on(settings, listener);
        if let (Err(_), Some(path)) = (&built, new_file) {
            for suffix in ["", "-wal", "-shm"] {
                let mut file = path.clone().into_os_string();
                file.push(suffix);
                // Only what this start-up created; a file that is not there is fine.
                let _ = std::fs::remove_file(file);
            }
        }
        built
    }

    fn build_on(settings: &Settings, listener: TcpListener) -> anyhow::Result<Application> {
        let config = api_config(settings)?;
        IngestLoop::check_settings(settings)?;
        let store = Store::open(&settings.database.url, settings.database.pool_size).with_context(
            || {
                format!(
                    "cannot open the database {}",
                    rates_store::redact_database_url(&settings.database.url)
                )
            },
        )?;
        let scheduled_ingest = IngestLoop::from_settings(settings, store.clone())?;
        let read_through = ReadThrough::from_settings(settings, store.clone())
            .context("cannot set up read-through (fetch.on_demand)")?;
        let local_addr = listener
            .local_addr()
            .context("cannot read the listener's address")?;
        // Every read is answered from memory: without the rates loaded there is nothing to
        // serve.
        let mut state = ApiState::start(store, config)?;
        if let Some(metrics) = state.metrics() {
            crate::logging::count_refusals_in(metrics.http_refused());
        }
        if let Some(read_through) = read_through {
            let metrics = state.metrics().cloned();
            state = state.with_read_through(Arc::new(IngestReadThrough {
                read_through,
                metrics,
            }));
        }
        let app_state = state.clone();
        let server = HttpServer::new(move || {
            let state = app_state.clone();
            App::new().configure(move |cfg| rates_api::configure(cfg, state))
        })
        .workers(settings.server.workers)
        // The caller's stop future decides when to stop; actix's own signal handling would treat
        // SIGINT as a forced stop.
        .disable_signals()
        .shutdown_timeout(SHUTDOWN_GRACE.as_secs())
        .listen(listener)
        .context("cannot serve on the listener")?
        .run();
        log::info!(
            "serving {} on http://{local_addr} with {} workers",
            rates_store::redact_database_url(&settings.database.url),
            settings.server.workers
        );
        Ok(Application {
            server,
            local_addr,
            state,
            scheduled_ingest,
        })
    }

    /// The address the server listens on (the real port when the listener was bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Serves until `stop` completes, then stops gracefully: no new connections, requests in
    /// flight and a scheduled ingest under way get [`SHUTDOWN_GRACE`] to finish (the ingest
    /// stops between dates and gives its lease back), and the last API key uses are written.
    ///
    /// Must run inside actix's runtime (`actix_web::rt::System`).
    pub async fn run_until_stopped(
        self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let Application {
            server,
            state,
            scheduled_ingest,
            ..
        } = self;
        let metrics = state.metrics().cloned();
        let ingest = scheduled_ingest.map(|ingest| ingest.with_metrics(metrics).spawn());
        let stopping = ingest.as_ref().map(|ingest| ingest.stopper());
        let handle = server.handle();
        actix_web::rt::spawn(async move {
            stop.await;
            if let Some(stopping) = stopping {
                stopping.stop();
            }
            handle.stop(true).await;
        });
        let served = server.await.context("the HTTP server failed");
        if let Some(ingest) = ingest {
            ingest.wait(SHUTDOWN_GRACE).await;
        }
        // API key uses are counted in memory; write the last ones.
        match actix_web::rt::task::spawn_blocking(move || state.flush_key_usage()).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => log::warn!("cannot record the last API key uses: {error}"),
            Err(error) => log::warn!("cannot record the last API key uses: {error}"),
        }
        served?;
        log::info!("stopped");
        Ok(())
    }
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("local_addr", &self.local_addr)
            .field("scheduled_ingest", &self.scheduled_ingest)
            .finish_non_exhaustive()
    }
}

/// The API's configuration from the settings.
fn api_config(settings: &Settings) -> anyhow::Result<ApiConfig> {
    let mut config = ApiConfig::default();
    config.stored_base = Currency::parse(&settings.ingest.base)
        .with_context(|| "invalid value for `ingest.base`".to_owned())?;
    config.cors = match &settings.server.cors_origins {
        CorsOrigins::Any => CorsPolicy::AnyOrigin,
        CorsOrigins::List(origins) => CorsPolicy::Origins(origins.clone()),
    };
    config.trusted_proxies = settings.server.trusted_proxies.clone();
    config.auth = match settings.server.auth {
        ServerAuth::Off => AuthMode::Off,
        ServerAuth::ApiKey => AuthMode::ApiKey,
    };
    config.metrics = settings.server.metrics;
    config.access_log = crate::logging::access_log();
    config.rate_limit = settings
        .server
        .rate_limit
        .per_second
        .map(|per_second| RateLimitConfig {
            per_second: per_second.get(),
            burst: settings.server.rate_limit.burst,
        });
    Ok(config)
}
