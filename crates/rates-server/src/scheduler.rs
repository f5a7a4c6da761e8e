//! The scheduled ingest's loop: with `ingest.schedule` set, the server runs rates-ingest's
//! [`ScheduledIngest`] protocol (run lock, lease, the ingest of the default window) at start-up
//! and then on that interval, and logs what each run did.
//!
//! Each run happens on a thread of its own, so request handling never waits for Fixer or for
//! the writes, and a run that will not stop cannot hold up the process's exit either (the
//! runtime's blocking pool would wait for it). A failed run is logged and retried at the next
//! tick; nothing in it can stop the server. Stopping the loop ([`RunningIngest::stopper`])
//! cancels a run under way between dates: the days it stored stay, its outcome is logged and the
//! lease is given back, so another server's next tick takes over.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use rates_api::{IngestOutcome, Metrics};
use rates_domain::today_utc;
use rates_ingest::{Cancellation, FetchStrategy, Report, ScheduledIngest, ScheduledOutcome};
use rates_settings::{Schedule, Settings};
use rates_store::Store;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::{interval, MissedTickBehavior};

/// The server's ingest loop over a [`ScheduledIngest`], built by [`IngestLoop::from_settings`].
#[derive(Debug)]
pub struct IngestLoop {
    scheduled: Arc<ScheduledIngest>,
    /// Where each run's outcome and Fixer requests are counted (`/metrics`).
    metrics: Option<Arc<Metrics>>,
}

/// What one tick did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TickOutcome {
    /// The run stored every planned date; the lease is kept until it lapses.
    Succeeded,
    /// The run failed, or some dates did; the lease was given back for the next tick.
    Failed,
    /// The run was cancelled (the server is stopping); the lease was given back.
    Cancelled,
    /// Another server holds the ingest lock: it ingested (or is ingesting) this interval.
    LockHeldElsewhere,
}

impl IngestLoop {
    /// The loop the settings ask for, or `None` when `ingest.schedule` is off.
    ///
    /// Fails, naming the key, when the schedule is on but the ingest settings are unusable (no
    /// `fixer.access_key`, a bad base currency): the server must not start and then fail every
    /// hour.
    pub fn from_settings(settings: &Settings, store: Store) -> anyhow::Result<Option<IngestLoop>> {
        let scheduled = ScheduledIngest::from_settings(settings, store, holder_name()).context(
            "`ingest.schedule` is set, so the server needs working Fixer and ingest settings",
        )?;
        Ok(scheduled.map(|scheduled| IngestLoop {
            scheduled: Arc::new(scheduled),
            metrics: None,
        }))
    }

    /// Checks what [`IngestLoop::from_settings`] needs from the settings, without a store:
    /// start-up calls it before opening the database, so that settings it refuses leave no new
    /// database file behind.
    pub fn check_settings(settings: &Settings) -> anyhow::Result<()> {
        if let Schedule::Every(_) = settings.ingest.schedule {
            rates_ingest::client_from_settings(&settings.fixer)
                .context("`ingest.schedule` is set, so the server needs the Fixer settings")?;
            rates_ingest::IngestOptions::from_settings(&settings.ingest)
                .context("`ingest.schedule` is set, but the ingest settings are invalid")?;
        }
        Ok(())
    }

    /// Runs the loop on the current Tokio runtime (actix's) until [`StopIngest::stop`].
    pub fn spawn(self) -> RunningIngest {
        tracing::info!(
            "scheduled ingest every {} (lock holder {})",
            humane(self.scheduled.every()),
            self.scheduled.holder()
        );
        let (stop, stopped) = watch::channel(false);
        let cancel = Cancellation::new();
        RunningIngest {
            task: tokio::spawn(self.run_until(stopped, cancel.clone())),
            stop: StopIngest {
                stop: Arc::new(stop),
                cancel,
            },
        }
    }

    /// Ticks until `stopped` turns true; `cancel` is set at the same moment, ending a run under
    /// way between dates.
    async fn run_until(self, mut stopped: watch::Receiver<bool>, cancel: Cancellation) {
        let mut ticks = interval(self.scheduled.every());
        // A run that outlasts the interval is not followed by a burst of catch-up runs.
        ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                biased;
                _ = stopped.wait_for(|stopped| *stopped) => return,
                _ = ticks.tick() => {}
            }
            self.tick(&cancel).await;
        }
    }

    /// Counts each run's outcome, Fixer requests and quota in `metrics`.
    pub fn with_metrics(mut self, metrics: Option<Arc<Metrics>>) -> IngestLoop {
        self.metrics = metrics;
        self
    }

    /// Records a run in the metrics: its outcome, the Fixer requests it made and the quota left.
    fn record(&self, outcome: IngestOutcome, report: Option<&Report>) {
        let Some(metrics) = &self.metrics else {
            return;
        };
        #[allow(clippy::cast_precision_loss)]
        let now = time::OffsetDateTime::now_utc().unix_timestamp() as f64;
        metrics.record_ingest(outcome, now);
        let Some(report) = report else {
            return;
        };
        let endpoint = match report.strategy {
            FetchStrategy::Timeseries => "timeseries",
            _ => "historical",
        };
        let result = if report.stop.is_some() { "error" } else { "ok" };
        metrics.record_fixer_requests(endpoint, result, u64::from(report.requests));
        if let Some(remaining) = report
            .quota
            .as_ref()
            .and_then(|quota| quota.remaining_month)
        {
            metrics.set_fixer_quota_remaining(i64::try_from(remaining).unwrap_or(i64::MAX));
        }
    }

    /// One run of the protocol on a thread of its own, and its outcome logged.
    pub async fn tick(&self, cancel: &Cancellation) -> TickOutcome {
        let (done, outcome) = oneshot::channel();
        let scheduled = Arc::clone(&self.scheduled);
        let cancel = cancel.clone();
        let spawned = std::thread::Builder::new()
            .name("scheduled-ingest".to_owned())
            .spawn(move || {
                let outcome = scheduled.run_once(today_utc(), &cancel, &mut |date| {
                    // A stopped run says why once, in the summary.
                    if let rates_ingest::DateOutcome::Failed { .. } = date.outcome {
                        tracing::warn!("scheduled ingest: {date}");
                    }
                });
                let _ = done.send(outcome);
            });
        if let Err(error) = spawned {
            tracing::error!(
                "scheduled ingest skipped: cannot start its thread: {error}; retrying at the next tick"
            );
            return TickOutcome::Failed;
        }
        match outcome.await {
            Ok(ScheduledOutcome::Ran(report)) if report.succeeded() => {
                tracing::info!("scheduled ingest: {}", report.summary());
                self.record(IngestOutcome::Success, Some(&report));
                TickOutcome::Succeeded
            }
            Ok(ScheduledOutcome::Ran(report)) if report.cancelled => {
                self.record(IngestOutcome::Cancelled, Some(&report));
                tracing::info!(
                    "scheduled ingest: {}; the ingest lock is given back for the next server",
                    report.summary()
                );
                TickOutcome::Cancelled
            }
            Ok(ScheduledOutcome::Ran(report)) => {
                let outcome = if report.stored_count() > 0 {
                    IngestOutcome::Partial
                } else {
                    IngestOutcome::Failure
                };
                self.record(outcome, Some(&report));
                tracing::warn!(
                    "scheduled ingest: {}; retrying at the next tick",
                    report.summary()
                );
                TickOutcome::Failed
            }
            Ok(ScheduledOutcome::LockHeldElsewhere) => {
                tracing::debug!("scheduled ingest skipped: another server holds the ingest lock");
                TickOutcome::LockHeldElsewhere
            }
            Ok(ScheduledOutcome::LockFailed(error)) => {
                tracing::warn!(
                    "scheduled ingest skipped: cannot take the ingest lock: {error}; retrying at the next tick"
                );
                TickOutcome::Failed
            }
            Ok(ScheduledOutcome::PlanFailed(error)) => {
                self.record(IngestOutcome::Failure, None);
                tracing::warn!("scheduled ingest failed: {error}; retrying at the next tick");
                TickOutcome::Failed
            }
            Err(_) => {
                tracing::error!(
                    "scheduled ingest failed: its thread panicked; retrying at the next tick"
                );
                TickOutcome::Failed
            }
        }
    }
}

/// The scheduled ingest's loop, running; [`RunningIngest::stopper`] ends it.
#[derive(Debug)]
pub struct RunningIngest {
    task: JoinHandle<()>,
    stop: StopIngest,
}

/// Stops a [`RunningIngest`] from another task.
#[derive(Debug, Clone)]
pub struct StopIngest {
    stop: Arc<watch::Sender<bool>>,
    cancel: Cancellation,
}

impl StopIngest {
    /// No further tick starts, and a run under way stops between dates.
    pub fn stop(&self) {
        self.cancel.cancel();
        self.stop.send_replace(true);
    }
}

impl RunningIngest {
    /// A handle that stops the loop.
    pub fn stopper(&self) -> StopIngest {
        self.stop.clone()
    }

    /// Waits up to `grace` for the loop, and a run under way, to end (after [`StopIngest::stop`]).
    pub async fn wait(self, grace: Duration) {
        match tokio::time::timeout(grace, self.task).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => tracing::error!("the scheduled ingest's loop failed: {error}"),
            Err(_) => tracing::warn!(
                "the scheduled ingest did not stop within {}; stopping without it",
                humane(grace)
            ),
        }
    }
}

/// Names this process in the lock table: host, process id and start time, so that two
/// processes never share a name even across containers with recycled process ids.
fn holder_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown-host".to_owned());
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |since| since.as_nanos());
    format!(
        "rates-server {host} pid {} ({started:x})",
        std::process::id()
    )
}

/// `3600s` as `1h`, for the start-up line.
fn humane(every: Duration) -> String {
    let secs = every.as_secs();
    if every.subsec_nanos() != 0 || secs == 0 {
        format!("{every:?}")
    } else if secs % 3600 == 0 {
        format!("{}h", secs / 3600)
    } else if secs % 60 == 0 {
        format!("{}m", secs / 60)
    } else {
        format!("{secs}s")
    }
}

#[cfg(test)]
mod tests {
    use fixer_client::mock::{Fault, MockFixer, Plan, DEFAULT_MOCK_KEY};
    use rates_domain::{format_date, Currency, DateRange};
    use rates_settings::AccessKey;
    use rates_store::testing::TestDatabase;
    use tokio::time::Instant;

    use super::*;

    const DAYS: u32 = 3;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    /// A server's ingest loop over the last [`DAYS`] days from `mock` into the database at
    /// `url`, on its own connection pool, as a separate process would have.
    fn ingest_loop(mock: &MockFixer, url: &str, every: Duration) -> anyhow::Result<IngestLoop> {
        let mut settings = Settings::default();
        settings.database.url = url.to_owned();
        settings.fixer.base_url = mock.base_url().to_owned();
        settings.fixer.access_key = Some(AccessKey::new(DEFAULT_MOCK_KEY));
        settings.fixer.max_retries = 0;
        settings.ingest.days = DAYS;
        settings.ingest.schedule = Schedule::Every(every);
        let store = Store::open(url, Some(2))?;
        IngestLoop::from_settings(&settings, store)?
            .context("the schedule is on, so there is an ingest loop")
    }

    fn window() -> Result<DateRange, Box<dyn std::error::Error>> {
        Ok(DateRange::ending(today_utc(), DAYS)?)
    }

    /// How many dates of the window are stored.
    fn dates_held(store: &Store) -> Result<usize, Box<dyn std::error::Error>> {
        Ok(store.dates_held(window()?, Currency::EUR)?.len())
    }

    #[test]
    fn a_schedule_without_an_access_key_stops_start_up_naming_the_key() -> TestResult {
        let database = TestDatabase::sqlite()?;
        let mut settings = Settings::default();
        settings.ingest.schedule = Schedule::Every(Duration::from_secs(3600));
        let Err(error) = IngestLoop::from_settings(&settings, database.store().clone()) else {
            return Err("a schedule without a Fixer key was accepted".into());
        };
        assert!(
            format!("{error:#}").contains("fixer.access_key"),
            "{error:#}"
        );
        Ok(())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn stopping_the_loop_cancels_the_run_under_way_and_gives_the_lease_back() -> TestResult {
        let database = TestDatabase::sqlite()?;
        // One `historical` request per date, each slow: the run takes seconds.
        let mock = MockFixer::builder().plan(Plan::Basic).start();
        mock.set_delay(Duration::from_millis(300));
        let mut settings = Settings::default();
        settings.database.url = database.url().to_owned();
        settings.fixer.base_url = mock.base_url().to_owned();
        settings.fixer.access_key = Some(AccessKey::new(DEFAULT_MOCK_KEY));
        settings.ingest.days = 60;
        settings.ingest.schedule = Schedule::Every(Duration::from_secs(60));
        let ingest_loop =
            IngestLoop::from_settings(&settings, database.store().clone())?.ok_or("no loop")?;
        let running = ingest_loop.spawn();
        let started = Instant::now();
        while mock.total_requests() < 4 && started.elapsed() < Duration::from_secs(10) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let stopping = Instant::now();
        running.stopper().stop();
        running.wait(Duration::from_secs(10)).await;
        assert!(
            stopping.elapsed() < Duration::from_secs(2),
            "the run took {:?} to stop",
            stopping.elapsed()
        );
        assert!(
            mock.total_requests() < 30,
            "{} requests",
            mock.total_requests()
        );
        assert!(database.store().ingest_lock_holder()?.is_none());
        Ok(())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_loop_runs_at_start_up_and_retries_a_failed_run_at_the_next_tick() -> TestResult {
        let database = TestDatabase::sqlite()?;
        let mock = MockFixer::start();
        mock.fail_next(100, Fault::fixer(104));
        let every = Duration::from_millis(200);
        let ingest_loop = ingest_loop(&mock, database.url(), every)?;
        let started = Instant::now();
        let task = ingest_loop.spawn();

        // The first tick comes at once and fails on the faults.
        while mock.total_requests() == 0 && started.elapsed() < Duration::from_secs(10) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(mock.total_requests() > 0, "no run at start-up");
        assert_eq!(dates_held(database.store())?, 0);
        mock.clear_faults();

        // A later tick succeeds, without the server doing anything.
        while dates_held(database.store())? < DAYS as usize
            && started.elapsed() < Duration::from_secs(20)
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        task.stopper().stop();
        assert_eq!(dates_held(database.store())?, DAYS as usize);
        Ok(())
    }

    /// The value of one sample line (`name{labels} value`) in a scrape.
    fn sample(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn each_run_is_counted_in_the_metrics_with_its_fixer_requests() -> TestResult {
        let database = TestDatabase::sqlite()?;
        let mock = MockFixer::start();
        let metrics = Arc::new(Metrics::new()?);
        let ingest_loop = ingest_loop(&mock, database.url(), Duration::from_secs(3600))?
            .with_metrics(Some(Arc::clone(&metrics)));

        // A failing run (a refused key) is a failure, with the request it cost.
        mock.fail_next(1, Fault::fixer(101));
        assert_eq!(
            ingest_loop.tick(&Cancellation::new()).await,
            TickOutcome::Failed
        );
        let text = metrics.render();
        assert_eq!(
            sample(&text, "rates_ingest_runs_total{outcome=\"failure\"}"),
            Some(1.0),
            "{text}"
        );
        assert_eq!(
            sample(&text, "rates_ingest_last_success_timestamp_seconds"),
            Some(0.0)
        );

        // A run that stores every date is a success, stamped, with its requests counted.
        let before = mock.total_requests();
        assert_eq!(
            ingest_loop.tick(&Cancellation::new()).await,
            TickOutcome::Succeeded
        );
        let sent = (mock.total_requests() - before) as f64;
        let text = metrics.render();
        assert_eq!(
            sample(&text, "rates_ingest_runs_total{outcome=\"success\"}"),
            Some(1.0),
            "{text}"
        );
        assert!(
            sample(&text, "rates_ingest_last_success_timestamp_seconds").unwrap_or(0.0) > 1.7e9
        );
        let ok = ["timeseries", "historical"]
            .iter()
            .filter_map(|endpoint| {
                sample(
                    &text,
                    &format!(
                        "rates_fixer_requests_total{{endpoint=\"{endpoint}\",outcome=\"ok\"}}"
                    ),
                )
            })
            .sum::<f64>();
        assert_eq!(ok, sent, "{text}");
        Ok(())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn servers_sharing_a_database_fetch_each_date_once_per_interval() -> TestResult {
        for database in TestDatabase::all()? {
            // Basic plan: no timeseries, so every run costs one `historical` request per date,
            // and a slow Fixer, so the runs of the two servers would overlap without the lock.
            let mock = MockFixer::builder().plan(Plan::Basic).start();
            mock.set_delay(Duration::from_millis(40));
            let every = Duration::from_millis(400);
            let servers = [
                ingest_loop(&mock, database.url(), every)?,
                ingest_loop(&mock, database.url(), every)?,
            ];
            let started = Instant::now();
            let tasks: Vec<_> = servers.into_iter().map(IngestLoop::spawn).collect();
            tokio::time::sleep(Duration::from_millis(2_300)).await;
            for task in &tasks {
                task.stopper().stop();
            }
            let elapsed = started.elapsed();
            for task in tasks {
                task.wait(Duration::from_secs(5)).await;
            }

            let intervals = u64::try_from(elapsed.as_millis() / every.as_millis())?;
            for date in window()?.iter() {
                let fetched = mock.request_count(&format_date(date));
                assert!(
                    (1..=intervals + 1).contains(&fetched),
                    "{date} fetched {fetched} times in {intervals} intervals by two servers ({:?})",
                    database.backend()
                );
            }
            assert_eq!(dates_held(database.store())?, DAYS as usize);
        }
        Ok(())
    }
}
