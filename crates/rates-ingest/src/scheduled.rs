//! The scheduled ingest's protocol, for a process that ingests on a timer (`rates-server`):
//! [`ScheduledIngest::run_once`] takes the store's run lock and lease, ingests the default window
//! while renewing the lease, and keeps or gives back the lease by the outcome.
//!
//! Several processes may share one database. The lease (the store's `ingest_lock` row) lasts one
//! interval: a successful run keeps it until it lapses, so the processes between them ingest once
//! per interval rather than once each and Fixer's quota is not spent twice; a run that failed or
//! was cancelled gives it back at once, so the next tick of any of them retries. The run lock (on
//! PostgreSQL an advisory lock held for the whole run) keeps two runs apart whatever the clocks
//! say. A run longer than a third of the interval renews the lease as it goes.
//!
//! Blocking throughout (database and HTTP) and needing no runtime: the caller runs it on a
//! thread of its own and may cancel it through a [`Cancellation`]; a cancelled run stops between
//! dates, keeps the days it stored whole, and gives the lease back.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::Duration;

use rates_settings::{Schedule, Settings};
use rates_store::{Store, StoreError};
use time::Date;

use crate::{
    client_from_settings, ingest, plan, Cancellation, Client, DateReport, IngestError,
    IngestOptions, Report,
};

/// One process's scheduled ingest: the window to fetch, from where, into which store, how often,
/// and the name it holds the lease under.
pub struct ScheduledIngest {
    client: Client,
    store: Store,
    options: IngestOptions,
    every: Duration,
    holder: String,
}

/// What one [`ScheduledIngest::run_once`] did.
#[derive(Debug)]
pub enum ScheduledOutcome {
    /// The run went ahead under the locks. When [`Report::succeeded`] the lease is kept until it
    /// lapses; otherwise (failed dates, a stopped or cancelled run) it was given back.
    Ran(Report),
    /// Another process holds the lease or the run lock: it ingested, or is ingesting, this
    /// interval. Nothing was fetched.
    LockHeldElsewhere,
    /// The locks could not be taken (the database did not answer). Nothing was fetched.
    LockFailed(StoreError),
    /// The run could not be planned (the database did not answer); the lease was given back.
    PlanFailed(IngestError),
}

impl ScheduledIngest {
    /// The scheduled ingest the settings ask for, or `None` when `ingest.schedule` is off: the
    /// window of `ingest.*`, from the Fixer of `fixer.*`, every `ingest.schedule`, holding the
    /// lease as `holder` (a name unique to this process).
    ///
    /// Fails, naming the setting, when the schedule is on but the settings cannot work (no
    /// `fixer.access_key`, a bad `ingest.base`): better at start-up than at every tick.
    pub fn from_settings(
        settings: &Settings,
        store: Store,
        holder: impl Into<String>,
    ) -> Result<Option<ScheduledIngest>, IngestError> {
        let Schedule::Every(every) = settings.ingest.schedule else {
            return Ok(None);
        };
        Ok(Some(ScheduledIngest {
            client: client_from_settings(&settings.fixer)?,
            store,
            options: IngestOptions::from_settings(&settings.ingest)?,
            every,
            holder: holder.into(),
        }))
    }

    /// How often a run is due (and how long a lease lasts).
    pub fn every(&self) -> Duration {
        self.every
    }

    /// The name this process holds the lease under.
    pub fn holder(&self) -> &str {
        &self.holder
    }

    /// One run of the protocol for the window ending `today`: takes the run lock and the lease
    /// (or finds another process holding one), plans and ingests while renewing the lease, and
    /// gives the lease back unless every date was stored. `on_date` is called as each date
    /// finishes, as [`ingest`] does. Blocking; see the module docs.
    pub fn run_once(
        &self,
        today: Date,
        cancel: &Cancellation,
        on_date: &mut dyn FnMut(&DateReport),
    ) -> ScheduledOutcome {
        // The run lock keeps two runs apart whatever the clocks say; the lease keeps a second run
        // out of the same interval. Both or neither: a run lock taken without the lease is
        // dropped at once.
        let run_lock = match self.store.try_lock_ingest_run() {
            Ok(Some(run_lock)) => run_lock,
            Ok(None) => return ScheduledOutcome::LockHeldElsewhere,
            Err(error) => return ScheduledOutcome::LockFailed(error),
        };
        match self.store.try_acquire_ingest_lock(&self.holder, self.every) {
            Ok(true) => {}
            Ok(false) => return ScheduledOutcome::LockHeldElsewhere,
            Err(error) => return ScheduledOutcome::LockFailed(error),
        }
        let (finished, run_over) = mpsc::channel::<()>();
        let planned = std::thread::scope(|scope| {
            scope.spawn(move || self.renew_lease_until(&run_over));
            let planned = plan(&self.options, today, &self.store)
                .map(|plan| ingest(&self.client, &self.store, &plan, cancel, on_date));
            drop(finished);
            planned
        });
        drop(run_lock);
        let keep_lease = matches!(&planned, Ok(report) if report.succeeded());
        if !keep_lease {
            self.release_lease();
        }
        match planned {
            Ok(report) => ScheduledOutcome::Ran(report),
            Err(error) => ScheduledOutcome::PlanFailed(error),
        }
    }

    /// Renews the lease every third of an interval until `run_over` says the run ended, so that
    /// a run longer than the interval is not joined by another process's.
    fn renew_lease_until(&self, run_over: &mpsc::Receiver<()>) {
        let period = (self.every / 3).max(Duration::from_millis(10));
        while let Err(RecvTimeoutError::Timeout) = run_over.recv_timeout(period) {
            match self.store.try_acquire_ingest_lock(&self.holder, self.every) {
                Ok(true) => {}
                Ok(false) => log::warn!(
                    "the ingest lock was taken over while ingesting (a stall longer than the lease?)"
                ),
                Err(error) => log::warn!("cannot renew the ingest lock: {error}"),
            }
        }
    }

    fn release_lease(&self) {
        // A lease not given back lapses by itself after one interval.
        if let Err(error) = self.store.release_ingest_lock(&self.holder) {
            log::warn!("cannot release the ingest lock: {error}");
        }
    }
}

impl std::fmt::Debug for ScheduledIngest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScheduledIngest")
            .field("every", &self.every)
            .field("holder", &self.holder)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}
