//! From settings to a running server: logging, the store, the listener and the actix system.

use std::net::TcpListener;

use actix_web::{App, HttpServer};
use anyhow::Context;
use rates_api::{ApiConfig, ApiState, AuthMode, CorsPolicy};
use rates_domain::Currency;
use rates_settings::{CorsOrigins, ServerAuth, Settings, Sources};
use rates_store::Store;

use crate::cli::Args;
use crate::scheduler::ScheduledIngest;
use crate::shutdown;

/// Seconds requests in flight get to finish after a stop signal.
const SHUTDOWN_TIMEOUT_SECS: u64 = 30;

/// Loads the settings, opens the store, binds and serves until a stop signal.
pub fn run(args: &Args) -> anyhow::Result<()> {
    let sources = args.apply(Sources::from_process()?);
    let settings = Settings::load(&sources)?;
    let config = api_config(&settings)?;
    let store =
        Store::open(&settings.database.url, settings.database.pool_size).with_context(|| {
            format!(
                "cannot open the database {}",
                settings.database.redacted_url()
            )
        })?;
    let scheduled_ingest = ScheduledIngest::from_settings(&settings, store.clone())?;
    let bind = settings.server.bind;
    let listener = TcpListener::bind(bind).with_context(|| format!("cannot listen on {bind}"))?;
    log::info!(
        "serving {} on http://{} with {} workers",
        settings.database.redacted_url(),
        listener.local_addr().unwrap_or(bind),
        settings.server.workers
    );
    let workers = settings.server.workers;
    actix_web::rt::System::new().block_on(async move {
        if let Some(scheduled_ingest) = scheduled_ingest {
            scheduled_ingest.spawn();
        }
        serve(listener, store, config, workers).await
    })
}

/// The API's configuration from the settings.
pub fn api_config(settings: &Settings) -> anyhow::Result<ApiConfig> {
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
    Ok(config)
}

/// Serves the API on `listener` until SIGTERM or SIGINT, then lets requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    store: Store,
    config: ApiConfig,
    workers: usize,
) -> anyhow::Result<()> {
    let state = ApiState::new(store, config);
    let stopped_state = state.clone();
    let stop = shutdown::on_terminate().context("cannot install the signal handlers")?;
    HttpServer::new(move || {
        let state = state.clone();
        App::new().configure(move |cfg| rates_api::configure(cfg, state))
    })
    .workers(workers)
    .shutdown_signal(stop)
    .shutdown_timeout(SHUTDOWN_TIMEOUT_SECS)
    .listen(listener)
    .context("cannot serve on the listener")?
    .run()
    .await
    .context("the HTTP server failed")?;
    // API key uses are counted in memory; write the last ones.
    match actix_web::rt::task::spawn_blocking(move || stopped_state.flush_key_usage()).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => log::warn!("cannot record the last API key uses: {error}"),
        Err(error) => log::warn!("cannot record the last API key uses: {error}"),
    }
    log::info!("stopped");
    Ok(())
}
