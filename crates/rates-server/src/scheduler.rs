//! Scheduled ingest: with `ingest.schedule` set, the server ingests the default window
//! (`ingest.days` ending today, UTC) at start-up and then on that interval.
//!
//! Each run happens on a blocking thread, so request handling never waits for Fixer or for the
//! writes. A failed run is logged and retried at the next tick; nothing in it can stop the server.
//!
//! Several servers may share one database. Before each run a server takes the store's ingest
//! lock, a lease that lasts one interval, renewed while the run goes on. A successful run keeps
//! the lease until it lapses, so the servers between them ingest once per interval rather than
//! once each, and Fixer's quota is not spent twice; a failed run gives it back at once, so the
//! next tick of any server retries. On PostgreSQL a run also holds the store's run lock (an
//! advisory lock) throughout, so two runs never overlap even if clocks disagree.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use rates_domain::today_utc;
use rates_ingest::{DateOutcome, IngestError, IngestOptions, Report};
use rates_settings::{Schedule, Settings};
use rates_store::{IngestRunLock, Store, StoreError};
use tokio::sync::watch;
use tokio::task::{spawn_blocking, JoinHandle};
use tokio::time::{interval, interval_at, Instant, MissedTickBehavior};

/// One ingest of the default window ending today (UTC).
type IngestJob = dyn Fn() -> Result<Report, IngestError> + Send + Sync;

/// The server's own ingest loop, built from the settings by [`ScheduledIngest::from_settings`].
pub struct ScheduledIngest {
    every: Duration,
    holder: String,
    store: Store,
    ingest: Arc<IngestJob>,
}

/// What one tick did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TickOutcome {
    /// The run stored every planned date; the lease is kept until it lapses.
    Succeeded,
    /// The run failed, or some dates did; the lease was given back for the next tick.
    Failed,
    /// Another server holds the ingest lock: it ingested (or is ingesting) this interval.
    LockHeldElsewhere,
}

impl ScheduledIngest {
    /// The scheduled ingest the settings ask for, or `None` when `ingest.schedule` is off.
    ///
    /// Fails, naming the key, when the schedule is on but the ingest settings are unusable (no
    /// `fixer.access_key`, a bad base currency): the server must not start and then fail every
    /// hour.
    pub fn from_settings(settings: &Settings, store: Store) -> anyhow::Result<Option<Self>> {
        let Some((every, client, options)) = Self::job_settings(settings)? else {
            return Ok(None);
        };
        let job_store = store.clone();
        let ingest = move || {
            let plan = rates_ingest::plan(&options, today_utc(), &job_store)?;
            Ok(rates_ingest::ingest(
                &client,
                &job_store,
                &plan,
                &mut |date| {
                    // A stopped run says why once, in the summary.
                    if let DateOutcome::Failed { .. } = date.outcome {
                        log::warn!("scheduled ingest: {date}");
                    }
                },
            ))
        };
        Ok(Some(ScheduledIngest::new(every, store, Arc::new(ingest))))
    }

    /// Checks what [`ScheduledIngest::from_settings`] needs from the settings, without a store:
    /// start-up calls it before opening the database, so that settings it refuses leave no new
    /// database file behind.
    pub fn check_settings(settings: &Settings) -> anyhow::Result<()> {
        Self::job_settings(settings).map(|_| ())
    }

    /// The interval, client and options of the scheduled ingest; `None` when it is off.
    fn job_settings(
        settings: &Settings,
    ) -> anyhow::Result<Option<(Duration, rates_ingest::Client, IngestOptions)>> {
        let Schedule::Every(every) = settings.ingest.schedule else {
            return Ok(None);
        };
        let client = rates_ingest::client_from_settings(&settings.fixer)
            .context("`ingest.schedule` is set, so the server needs the Fixer settings")?;
        let options = IngestOptions::from_settings(&settings.ingest)
            .context("`ingest.schedule` is set, but the ingest settings are invalid")?;
        Ok(Some((every, client, options)))
    }

    fn new(every: Duration, store: Store, ingest: Arc<IngestJob>) -> ScheduledIngest {
        ScheduledIngest {
            every,
            holder: holder_name(),
            store,
            ingest,
        }
    }

    /// Runs the loop on the current Tokio runtime (actix's) until the runtime stops.
    pub fn spawn(self) -> RunningIngest {
        log::info!(
            "scheduled ingest every {} (lock holder {})",
            humane(self.every),
            self.holder
        );
        let (stop, stopped) = watch::channel(false);
        RunningIngest {
            task: tokio::spawn(self.run_until(stopped)),
            stop: Arc::new(stop),
        }
    }

    /// Ticks until `stopped` turns true.
    async fn run_until(self, mut stopped: watch::Receiver<bool>) {
        let mut ticks = interval(self.every);
        // A run that outlasts the interval is not followed by a burst of catch-up runs.
        ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                _ = stopped.wait_for(|stopped| *stopped) => return,
            }
            self.tick().await;
        }
    }

    /// One tick: take the locks, ingest on a blocking thread while renewing the lease, log the
    /// report, keep or give back the lease.
    pub async fn tick(&self) -> TickOutcome {
        let (store, holder, lease) = (self.store.clone(), self.holder.clone(), self.every);
        // The run lock (PostgreSQL's advisory lock) keeps two runs apart whatever the clocks
        // say; the lease keeps a second run out of the same interval. Both or neither: a run
        // lock taken without the lease is dropped here, on the blocking thread.
        let locks = blocking(move || -> Result<Option<IngestRunLock>, StoreError> {
            let Some(run_lock) = store.try_lock_ingest_run()? else {
                return Ok(None);
            };
            Ok(store
                .try_acquire_ingest_lock(&holder, lease)?
                .then_some(run_lock))
        });
        let run_lock = match locks.await {
            Ok(Ok(Some(run_lock))) => run_lock,
            Ok(Ok(None)) => {
                log::debug!("scheduled ingest skipped: another server holds the ingest lock");
                return TickOutcome::LockHeldElsewhere;
            }
            Ok(Err(error)) => {
                log::warn!(
                    "scheduled ingest skipped: cannot take the ingest lock: {error}; retrying at the next tick"
                );
                return TickOutcome::Failed;
            }
            Err(reason) => {
                log::error!("scheduled ingest skipped: {reason}; retrying at the next tick");
                return TickOutcome::Failed;
            }
        };

        let ingest = Arc::clone(&self.ingest);
        let result = self
            .renewing_lease(blocking(move || {
                let report = ingest();
                drop(run_lock);
                report
            }))
            .await;
        let outcome = match result {
            Ok(Ok(report)) => {
                if report.succeeded() {
                    log::info!("scheduled ingest: {}", report.summary());
                    TickOutcome::Succeeded
                } else {
                    log::warn!(
                        "scheduled ingest: {}; retrying at the next tick",
                        report.summary()
                    );
                    TickOutcome::Failed
                }
            }
            Ok(Err(error)) => {
                log::warn!("scheduled ingest failed: {error}; retrying at the next tick");
                TickOutcome::Failed
            }
            Err(reason) => {
                log::error!("scheduled ingest failed: {reason}; retrying at the next tick");
                TickOutcome::Failed
            }
        };
        if outcome == TickOutcome::Failed {
            self.release_lease().await;
        }
        outcome
    }

    /// Awaits `run`, renewing the lease every third of an interval so that a run longer than
    /// the interval is not joined by another server's.
    async fn renewing_lease<T>(&self, run: impl Future<Output = T>) -> T {
        let period = (self.every / 3).max(Duration::from_millis(10));
        let mut renewals = interval_at(Instant::now() + period, period);
        let mut run = pin!(run);
        loop {
            tokio::select! {
                done = &mut run => return done,
                _ = renewals.tick() => {
                    let (store, holder, lease) = (self.store.clone(), self.holder.clone(), self.every);
                    match blocking(move || store.try_acquire_ingest_lock(&holder, lease)).await {
                        Ok(Ok(true)) => {}
                        Ok(Ok(false)) => log::warn!(
                            "the ingest lock was taken over while ingesting (a stall longer than the lease?)"
                        ),
                        Ok(Err(error)) => log::warn!("cannot renew the ingest lock: {error}"),
                        Err(reason) => log::warn!("cannot renew the ingest lock: {reason}"),
                    }
                }
            }
        }
    }

    async fn release_lease(&self) {
        let (store, holder) = (self.store.clone(), self.holder.clone());
        match blocking(move || store.release_ingest_lock(&holder)).await {
            Ok(Ok(_)) => {}
            // The lease lapses by itself after one interval.
            Ok(Err(error)) => log::warn!("cannot release the ingest lock: {error}"),
            Err(reason) => log::warn!("cannot release the ingest lock: {reason}"),
        }
    }
}

/// The scheduled ingest's loop, running; [`RunningIngest::stopper`] ends it.
#[derive(Debug)]
pub struct RunningIngest {
    task: JoinHandle<()>,
    stop: Arc<watch::Sender<bool>>,
}

/// Stops a [`RunningIngest`] from another task.
#[derive(Debug, Clone)]
pub struct StopIngest(Arc<watch::Sender<bool>>);

impl StopIngest {
    /// No further tick starts.
    pub fn stop(&self) {
        self.0.send_replace(true);
    }
}

impl RunningIngest {
    /// A handle that stops the loop.
    pub fn stopper(&self) -> StopIngest {
        StopIngest(Arc::clone(&self.stop))
    }

    /// Waits up to `grace` for the loop to end (after [`StopIngest::stop`]).
    pub async fn wait(self, grace: Duration) {
        match tokio::time::timeout(grace, self.task).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => log::error!("the scheduled ingest's loop failed: {error}"),
            Err(_) => log::warn!(
                "the scheduled ingest did not stop within {}; stopping without it",
                humane(grace)
            ),
        }
    }
}

impl std::fmt::Debug for ScheduledIngest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScheduledIngest")
            .field("every", &self.every)
            .field("holder", &self.holder)
            .finish_non_exhaustive()
    }
}

/// Runs blocking work (HTTP, diesel) on Tokio's blocking pool; a panic in it becomes an error
/// message instead of taking the loop down.
async fn blocking<T, F>(work: F) -> Result<T, String>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    spawn_blocking(work).await.map_err(|error| {
        if error.is_panic() {
            "the ingest thread panicked".to_owned()
        } else {
            "the ingest thread was cancelled".to_owned()
        }
    })
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

    use super::*;

    const DAYS: u32 = 3;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    /// A server's scheduled ingest of the last [`DAYS`] days from `mock` into the database at
    /// `url`, on its own connection pool, as a separate process would have.
    fn scheduled(
        mock: &MockFixer,
        url: &str,
        every: Duration,
        holder: &str,
    ) -> anyhow::Result<ScheduledIngest> {
        let mut settings = Settings::default();
        settings.database.url = url.to_owned();
        settings.fixer.base_url = mock.base_url().to_owned();
        settings.fixer.access_key = Some(AccessKey::new(DEFAULT_MOCK_KEY));
        settings.fixer.max_retries = 0;
        settings.ingest.days = DAYS;
        settings.ingest.schedule = Schedule::Every(every);
        let store = Store::open(url, Some(2))?;
        let mut scheduled = ScheduledIngest::from_settings(&settings, store)?
            .context("the schedule is on, so there is a scheduled ingest")?;
        holder.clone_into(&mut scheduled.holder);
        Ok(scheduled)
    }

    fn window() -> Result<DateRange, Box<dyn std::error::Error>> {
        Ok(DateRange::ending(today_utc(), DAYS)?)
    }

    /// How many dates of the window are stored.
    fn dates_held(store: &Store) -> Result<usize, Box<dyn std::error::Error>> {
        Ok(store.dates_held(window()?, Currency::EUR)?.len())
    }

    #[test]
    fn no_schedule_means_no_scheduled_ingest() -> TestResult {
        let database = TestDatabase::sqlite()?;
        let settings = Settings::default();
        assert!(ScheduledIngest::from_settings(&settings, database.store().clone())?.is_none());
        Ok(())
    }

    #[test]
    fn a_schedule_without_an_access_key_stops_start_up_naming_the_key() -> TestResult {
        let database = TestDatabase::sqlite()?;
        let mut settings = Settings::default();
        settings.ingest.schedule = Schedule::Every(Duration::from_secs(3600));
        let Err(error) = ScheduledIngest::from_settings(&settings, database.store().clone()) else {
            return Err("a schedule without a Fixer key was accepted".into());
        };
        assert!(
            format!("{error:#}").contains("fixer.access_key"),
            "{error:#}"
        );
        Ok(())
    }

    #[tokio::test]
    async fn a_successful_run_stores_the_window_and_keeps_the_lease_for_the_interval() -> TestResult
    {
        for database in TestDatabase::all()? {
            let mock = MockFixer::start();
            let every = Duration::from_secs(60);
            let first = scheduled(&mock, database.url(), every, "server-a")?;
            let second = scheduled(&mock, database.url(), every, "server-b")?;

            assert_eq!(first.tick().await, TickOutcome::Succeeded);
            assert_eq!(dates_held(database.store())?, DAYS as usize);
            let holder = database.store().ingest_lock_holder()?;
            assert_eq!(holder.map(|lock| lock.holder).as_deref(), Some("server-a"));

            // Another server's tick within the interval spends no Fixer request.
            let requests = mock.total_requests();
            assert_eq!(second.tick().await, TickOutcome::LockHeldElsewhere);
            assert_eq!(mock.total_requests(), requests);
            // The holder's own next tick renews the lease and runs.
            assert_eq!(first.tick().await, TickOutcome::Succeeded);
            assert!(mock.total_requests() > requests);
        }
        Ok(())
    }

    #[tokio::test]
    async fn a_failed_run_gives_the_lease_back_so_any_server_retries() -> TestResult {
        for database in TestDatabase::all()? {
            let mock = MockFixer::start();
            let every = Duration::from_secs(60);
            let first = scheduled(&mock, database.url(), every, "server-a")?;
            let second = scheduled(&mock, database.url(), every, "server-b")?;

            // 104: the monthly quota is used up, a permanent failure.
            mock.fail_next(100, Fault::fixer(104));
            assert_eq!(first.tick().await, TickOutcome::Failed);
            assert_eq!(dates_held(database.store())?, 0);
            assert!(database.store().ingest_lock_holder()?.is_none());

            mock.clear_faults();
            assert_eq!(second.tick().await, TickOutcome::Succeeded);
            assert_eq!(dates_held(database.store())?, DAYS as usize);
        }
        Ok(())
    }

    #[tokio::test]
    #[cfg_attr(
        not(rates_test_postgres),
        ignore = "PostgreSQL skipped: RATES_TEST_POSTGRES_URL is not set"
    )]
    async fn on_postgres_a_run_in_progress_elsewhere_is_never_joined_whatever_the_lease_says(
    ) -> TestResult {
        let Some(database) = TestDatabase::postgres()? else {
            return Ok(());
        };
        let mock = MockFixer::start();
        let scheduled = scheduled(&mock, database.url(), Duration::from_secs(60), "server-a")?;
        // Another process is ingesting, and its lease has lapsed (a stall, a skewed clock).
        let elsewhere = Store::open(database.url(), Some(1))?;
        let run_lock = spawn_blocking(move || elsewhere.try_lock_ingest_run()).await??;
        let run_lock = run_lock.ok_or("the run lock was free")?;
        assert!(database.store().ingest_lock_holder()?.is_none());

        assert_eq!(scheduled.tick().await, TickOutcome::LockHeldElsewhere);
        assert_eq!(mock.total_requests(), 0);

        spawn_blocking(move || drop(run_lock)).await?;
        assert_eq!(scheduled.tick().await, TickOutcome::Succeeded);
        assert_eq!(dates_held(database.store())?, DAYS as usize);
        Ok(())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_loop_runs_at_start_up_and_retries_a_failed_run_at_the_next_tick() -> TestResult {
        let database = TestDatabase::sqlite()?;
        let mock = MockFixer::start();
        mock.fail_next(100, Fault::fixer(104));
        let every = Duration::from_millis(200);
        let scheduled = scheduled(&mock, database.url(), every, "server-a")?;
        let started = Instant::now();
        let task = scheduled.spawn();

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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn servers_sharing_a_database_fetch_each_date_once_per_interval() -> TestResult {
        for database in TestDatabase::all()? {
            // Basic plan: no timeseries, so every run costs one `historical` request per date,
            // and a slow Fixer, so the runs of the two servers would overlap without the lock.
            let mock = MockFixer::builder().plan(Plan::Basic).start();
            mock.set_delay(Duration::from_millis(40));
            let every = Duration::from_millis(400);
            let servers = [
                scheduled(&mock, database.url(), every, "server-a")?,
                scheduled(&mock, database.url(), every, "server-b")?,
            ];
            let started = Instant::now();
            let tasks: Vec<_> = servers.into_iter().map(ScheduledIngest::spawn).collect();
            tokio::time::sleep(Duration::from_millis(2_300)).await;
            for task in &tasks {
                task.stopper().stop();
            }
            let elapsed = started.elapsed();
            // A run already under way when the loops stop still finishes and counts.
            tokio::time::sleep(Duration::from_millis(500)).await;

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
