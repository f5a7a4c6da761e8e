//! Running a plan: fetch from Fixer (timeseries first, one request per date after a 105),
//! validate, store each date in its own transaction, and report as dates finish.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

use fixer_client::{
    Client, CurrencyCode, Error as FixerError, FixerErrorKind, Quota, RatesOptions, TransportKind,
};
use rates_domain::{format_date, Currency, DateRange, RateTable, Source};
use rates_store::{Store, WriteCounts};
use time::Date;

use crate::cancel::Cancellation;
use crate::plan::Plan;
use crate::report::{DateOutcome, DateReport, FetchStrategy, NamesOutcome, Report, RunStop};

/// One unit of work for a fetching thread.
#[derive(Debug, Clone)]
enum Job {
    /// One `timeseries` request for the span, storing the planned dates inside it.
    Span(DateRange, Vec<Date>),
    /// One `historical` request.
    Day(Date),
    /// One `symbols` request, storing the currency names.
    Names,
}

/// What fetching threads tell the thread that reports.
enum Event {
    Date(DateReport),
    Quota(Quota),
}

/// Currency names from Fixer's `symbols`, or why they could not be fetched.
type FetchedNames = Result<Vec<(Currency, String)>, String>;

/// State shared by the fetching threads.
struct Shared<'a> {
    client: &'a Client,
    store: &'a Store,
    cancel: &'a Cancellation,
    base: Currency,
    options: RatesOptions,
    queue: Mutex<VecDeque<Job>>,
    timeseries_refused: AtomicBool,
    /// Set by a failure that every further request would repeat (bad key, quota used up, plan
    /// without this base...): the remaining dates fail without spending requests. What to fix,
    /// and the error.
    stop: Mutex<Option<(String, String)>>,
    requests: AtomicU32,
    /// The fetched names (or why they could not be fetched), stored once the dates are done.
    names: Mutex<Option<FetchedNames>>,
}

/// Ingests `plan` (see [`plan`](crate::plan())): fetches every planned date from Fixer with up
/// to `plan.concurrency` requests in flight, validates each day and stores it in one
/// transaction, and calls `on_date` on the calling thread for each date, in date order (a date
/// that finishes early waits for the earlier ones). Never panics.
/// A date that fails for its own reasons does not stop the others; a failure every date would
/// repeat (a refused key, a used-up quota, an unreachable Fixer) stops the run, and the report
/// says once what to fix ([`Report::stop`]). Once `cancel` is set no further request starts:
/// requests in flight finish and their days are stored whole, the dates not fetched are reported
/// [`DateOutcome::RunStopped`] and the report [`Report::cancelled`].
///
/// Blocking (it makes HTTP requests and database writes); from async code call it on a blocking
/// thread. No runtime is needed.
pub fn ingest(
    client: &Client,
    store: &Store,
    plan: &Plan,
    cancel: &Cancellation,
    on_date: &mut dyn FnMut(&DateReport),
) -> Report {
    let started = Instant::now();
    let mut collector = Collector::new(on_date, &plan.dates);
    let options = match rates_options(plan) {
        Ok(options) => options,
        Err(reason) => {
            // Every date would fail the same way: say it once.
            for date in &plan.dates {
                collector.date(stopped(*date));
            }
            let fix = "check RATES__INGEST__BASE and RATES__INGEST__SYMBOLS (ingest.base, \
                       ingest.symbols, or --base and --symbols)";
            return collector.finish(
                plan,
                0,
                FetchStrategy::Nothing,
                NamesOutcome::NotAsked,
                Some((fix.to_owned(), reason)),
                started,
            );
        }
    };
    let shared = Shared {
        client,
        store,
        cancel,
        base: plan.base,
        options,
        queue: Mutex::new(VecDeque::new()),
        timeseries_refused: AtomicBool::new(false),
        stop: Mutex::new(None),
        requests: AtomicU32::new(0),
        names: Mutex::new(None),
    };

    let spans = plan.timeseries_spans();
    let mut jobs: VecDeque<Job> = if spans.is_empty() {
        plan.dates.iter().copied().map(Job::Day).collect()
    } else {
        spans
            .into_iter()
            .map(|span| {
                let dates = plan
                    .dates
                    .iter()
                    .copied()
                    .filter(|date| span.contains(*date))
                    .collect();
                Job::Span(span, dates)
            })
            .collect()
    };
    let uses_timeseries = matches!(jobs.front(), Some(Job::Span(..)));

    // The first request goes alone: a refused timeseries, a bad key or a used-up quota then
    // costs one request, not one per thread.
    let (sender, receiver) = mpsc::channel();
    if let Some(job) = jobs.pop_front() {
        execute(&shared, job, &sender);
        // A refused span put its dates back as single days; they go first.
        let mut queue = lock(&shared.queue);
        while let Some(job) = queue.pop_back() {
            jobs.push_front(job);
        }
    }
    for event in receiver.try_iter() {
        collector.event(event);
    }
    // The names go with the rest, in parallel: after the first request they cost no extra wait.
    let names_wanted = plan.fetch_names && !plan.dates.is_empty();
    if names_wanted {
        jobs.push_front(Job::Names);
    }
    *lock(&shared.queue) = jobs;

    let workers = plan.concurrency.clamp(1, 64);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let sender = sender.clone();
            let shared = &shared;
            scope.spawn(move || {
                while let Some(job) = next_job(shared) {
                    execute(shared, job, &sender);
                }
            });
        }
        drop(sender);
        for event in receiver.iter() {
            collector.event(event);
        }
    });

    let strategy = if plan.dates.is_empty() {
        FetchStrategy::Nothing
    } else if shared.timeseries_refused.load(Ordering::SeqCst) {
        FetchStrategy::PerDateAfterTimeseriesRefused
    } else if uses_timeseries {
        FetchStrategy::Timeseries
    } else {
        FetchStrategy::PerDate
    };
    let requests = shared.requests.load(Ordering::SeqCst);
    // Stored here, after the dates, so this write never competes with the rate writes.
    let names = match lock(&shared.names).take() {
        Some(Ok(names)) => match store.upsert_currency_names(&names) {
            Ok(_) => NamesOutcome::Stored(names.len()),
            Err(error) => NamesOutcome::Failed {
                reason: error.to_string(),
            },
        },
        Some(Err(reason)) => NamesOutcome::Failed { reason },
        None if names_wanted => NamesOutcome::NotAsked,
        None => NamesOutcome::AlreadyHeld,
    };
    let stop = lock(&shared.stop).take();
    collector.cancel_requested = cancel.is_cancelled();
    collector.finish(plan, requests, strategy, names, stop, started)
}

fn rates_options(plan: &Plan) -> Result<RatesOptions, String> {
    let code = |currency: &Currency| {
        CurrencyCode::new(currency.as_str())
            .map_err(|error| format!("currency {currency}: {error}"))
    };
    let mut options = RatesOptions::new().base(code(&plan.base)?);
    options.symbols = plan.symbols.iter().map(code).collect::<Result<_, _>>()?;
    Ok(options)
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panicking fetch thread cannot leave the queue half-updated: keep going with its contents.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn next_job(shared: &Shared<'_>) -> Option<Job> {
    lock(&shared.queue).pop_front()
}

fn failed(date: Date, reason: String) -> DateReport {
    DateReport {
        date,
        outcome: DateOutcome::Failed { reason },
    }
}

fn stopped(date: Date) -> DateReport {
    DateReport {
        date,
        outcome: DateOutcome::RunStopped,
    }
}

/// When every further request would fail the same way (so that sending them wastes quota and
/// repeats the error once per date), what the user must change; `None` for a failure of this
/// request alone.
fn fix_for(error: &FixerError) -> Option<String> {
    let fix = if error.is_auth_failure() {
        "Fixer refused the access key: check FIXER_ACCESS_KEY (fixer.access_key); a key from \
         APILayer needs FIXER_BASE_URL=https://api.apilayer.com/fixer"
    } else if error.is_quota_exceeded() {
        "the Fixer plan's request quota is used up: wait for it to renew, or upgrade the plan"
    } else if error.is_base_currency_restricted() {
        "the Fixer plan only allows base EUR: set RATES__INGEST__BASE=EUR (ingest.base, or --base EUR)"
    } else {
        match error {
            FixerError::Config(_) => "check the fixer.* settings",
            FixerError::Gateway { status: 404, .. } | FixerError::Http { status: 404, .. } => {
                "Fixer answered 404: check FIXER_BASE_URL (fixer.base_url)"
            }
            FixerError::Transport { kind, .. } => unreachable_fix(*kind)?,
            FixerError::RetriesExhausted { last, .. } => match last.as_ref() {
                FixerError::Transport { kind, .. } => unreachable_fix(*kind)?,
                _ => return None,
            },
            _ => match error.fixer_kind()? {
                FixerErrorKind::HttpsAccessRestricted => {
                    "the Fixer plan does not allow HTTPS (the free plan): set \
                     FIXER_BASE_URL=http://data.fixer.io/api"
                }
                FixerErrorKind::AccessRestricted => {
                    "the Fixer plan does not allow these requests: upgrade it, or ingest base EUR"
                }
                FixerErrorKind::InvalidBaseCurrency => {
                    "Fixer does not know the base currency: check RATES__INGEST__BASE (ingest.base, or --base)"
                }
                FixerErrorKind::InvalidCurrencyCodes => {
                    "Fixer does not know a currency asked for: check RATES__INGEST__SYMBOLS \
                     (ingest.symbols, or --symbols)"
                }
                FixerErrorKind::InvalidApiFunction | FixerErrorKind::NotFound => {
                    "Fixer does not know the endpoint: check FIXER_BASE_URL (fixer.base_url)"
                }
                _ => return None,
            },
        }
    };
    Some(fix.to_owned())
}

/// What to fix when Fixer cannot be reached at all; `None` for failures that may be this
/// request's alone (a timeout, a reset connection).
fn unreachable_fix(kind: TransportKind) -> Option<&'static str> {
    match kind {
        TransportKind::Dns | TransportKind::Connect | TransportKind::InvalidUrl => {
            Some("cannot reach Fixer: check FIXER_BASE_URL (fixer.base_url) and the network")
        }
        _ => None,
    }
}

impl Shared<'_> {
    /// Whether no further request should start: the run was stopped by a failure every date
    /// would repeat, or cancelled.
    fn stopped(&self) -> bool {
        self.cancel.is_cancelled() || lock(&self.stop).is_some()
    }

    /// Records `error`; true when it stops the run (its dates are then reported as
    /// [`DateOutcome::RunStopped`], and the error once, in the report's stop).
    fn note_failure(&self, error: &FixerError) -> bool {
        let Some(fix) = fix_for(error) else {
            return false;
        };
        let mut stop = lock(&self.stop);
        if stop.is_none() {
            *stop = Some((fix, error.to_string()));
        }
        true
    }

    fn count_request(&self) {
        self.requests.fetch_add(1, Ordering::SeqCst);
    }
}

fn fetch_names(shared: &Shared<'_>) -> FetchedNames {
    shared.count_request();
    match shared.client.symbols() {
        Ok(symbols) => Ok(symbols
            .symbols
            .into_iter()
            // Fixer's list may hold codes our rules refuse; their names are simply not kept.
            .filter_map(|(code, name)| Some((Currency::parse(code.as_str()).ok()?, name)))
            .filter(|(_, name)| !name.trim().is_empty())
            .collect()),
        Err(error) => {
            shared.note_failure(&error);
            Err(error.to_string())
        }
    }
}

/// Runs one job, sending a report for each of its dates (or, for a span that must be fetched
/// day by day, queueing those days instead).
fn execute(shared: &Shared<'_>, job: Job, events: &Sender<Event>) {
    let send = |report: DateReport| {
        // The receiver lives until every fetching thread is done; a failed send cannot happen.
        let _ = events.send(Event::Date(report));
    };
    let failure = |date: Date, error: &FixerError| {
        if shared.note_failure(error) {
            stopped(date)
        } else {
            failed(date, error.to_string())
        }
    };
    if shared.stopped() {
        let dates = match job {
            Job::Span(_, dates) => dates,
            Job::Day(date) => vec![date],
            Job::Names => Vec::new(),
        };
        for date in dates {
            send(stopped(date));
        }
        return;
    }
    match job {
        Job::Names => {
            let outcome = fetch_names(shared);
            *lock(&shared.names) = Some(outcome);
        }
        Job::Day(date) => {
            shared.count_request();
            match shared.client.historical(date, &shared.options) {
                Ok(rates) => {
                    if let Some(quota) = rates.quota {
                        let _ = events.send(Event::Quota(quota));
                    }
                    send(store_day(shared, date, rates.base, &rates.rates));
                }
                Err(error) => send(failure(date, &error)),
            }
        }
        Job::Span(span, dates) => {
            if shared.timeseries_refused.load(Ordering::SeqCst) {
                requeue_as_days(shared, dates);
                return;
            }
            shared.count_request();
            match shared
                .client
                .timeseries(span.start(), span.end(), &shared.options)
            {
                Ok(series) => {
                    if let Some(quota) = series.quota {
                        let _ = events.send(Event::Quota(quota));
                    }
                    for date in dates {
                        send(match series.rates.get(&date) {
                            Some(rates) => store_day(shared, date, series.base, rates),
                            None => failed(date, format!("Fixer's timeseries answer for {span} has no rates for this date")),
                        });
                    }
                }
                Err(error) if error.is_function_restricted() => {
                    log::info!("timeseries refused ({error}); fetching one date per request for the rest of the run");
                    shared.timeseries_refused.store(true, Ordering::SeqCst);
                    requeue_as_days(shared, dates);
                }
                Err(error @ FixerError::MalformedResponse { .. }) => {
                    // One bad day spoils the whole answer; asking day by day isolates it.
                    log::warn!(
                        "{error}; fetching the {} dates of {span} one by one",
                        dates.len()
                    );
                    requeue_as_days(shared, dates);
                }
                Err(error) => {
                    for date in dates {
                        send(failure(date, &error));
                    }
                }
            }
        }
    }
}

fn requeue_as_days(shared: &Shared<'_>, dates: Vec<Date>) {
    let mut queue = lock(&shared.queue);
    for date in dates.into_iter().rev() {
        queue.push_front(Job::Day(date));
    }
}

/// Validates one day's rates and stores them in one transaction.
fn store_day(
    shared: &Shared<'_>,
    date: Date,
    base: CurrencyCode,
    rates: &BTreeMap<CurrencyCode, f64>,
) -> DateReport {
    let outcome = match store_fetched_day(shared.store, shared.base, date, base, rates) {
        Ok(counts) => DateOutcome::Stored(counts),
        Err(reason) => DateOutcome::Failed { reason },
    };
    DateReport { date, outcome }
}

/// Validates one day's rates as Fixer sent them (in base `answered_base`, which must be the
/// `requested_base`) and stores them in one transaction, as Fixer's: what every fetched day
/// goes through, by ingest or read-through. The error says why nothing was written.
pub(crate) fn store_fetched_day(
    store: &Store,
    requested_base: Currency,
    date: Date,
    answered_base: CurrencyCode,
    rates: &BTreeMap<CurrencyCode, f64>,
) -> Result<WriteCounts, String> {
    if answered_base.as_str() != requested_base.as_str() {
        return Err(format!(
            "Fixer answered in base {}, not the {} asked for",
            answered_base.as_str(),
            requested_base
        ));
    }
    let table = RateTable::from_raw(
        date,
        requested_base,
        rates.iter().map(|(code, rate)| (code.as_str(), *rate)),
    )
    .map_err(|error| format!("invalid rates from Fixer: {error}"))?;
    store
        .upsert_rate_table(&table, Source::Fixer)
        .map_err(|error| format!("not stored: {error}"))
}

/// Gathers events on the reporting thread and passes each date to the caller's callback, in
/// date order: dates finish out of order (several requests are in flight), and a date's line
/// waits until every earlier planned date has had its own.
struct Collector<'a> {
    on_date: &'a mut dyn FnMut(&DateReport),
    dates: BTreeMap<Date, DateReport>,
    /// Planned dates not passed to `on_date` yet, ascending.
    waiting: VecDeque<Date>,
    quota: Option<Quota>,
    /// Whether the run was asked to stop ([`Cancellation`]) before it finished.
    cancel_requested: bool,
}

impl<'a> Collector<'a> {
    fn new(on_date: &'a mut dyn FnMut(&DateReport), planned: &[Date]) -> Collector<'a> {
        let mut waiting: Vec<Date> = planned.to_vec();
        waiting.sort();
        waiting.dedup();
        Collector {
            on_date,
            dates: BTreeMap::new(),
            waiting: waiting.into(),
            quota: None,
            cancel_requested: false,
        }
    }

    /// Passes on the waiting dates that are done and have no earlier date still pending.
    fn flush(&mut self) {
        while let Some(report) = self.waiting.front().and_then(|date| self.dates.get(date)) {
            (self.on_date)(report);
            self.waiting.pop_front();
        }
    }

    fn event(&mut self, event: Event) {
        match event {
            Event::Date(report) => self.date(report),
            Event::Quota(quota) => {
                // Answers arrive out of order: the lowest remaining count is the latest truth.
                let lower = match (
                    self.quota.and_then(|q| q.remaining_month),
                    quota.remaining_month,
                ) {
                    (Some(held), Some(new)) => new <= held,
                    _ => true,
                };
                if lower {
                    self.quota = Some(quota);
                }
            }
        }
    }

    fn date(&mut self, report: DateReport) {
        if let DateOutcome::Failed { reason } = &report.outcome {
            // Callers report failed dates from the report or the callback; this is for tracing.
            log::debug!("{}: {reason}", format_date(report.date));
        }
        self.dates.insert(report.date, report);
        self.flush();
    }

    fn finish(
        mut self,
        plan: &Plan,
        requests: u32,
        strategy: FetchStrategy,
        names: NamesOutcome,
        stop: Option<(String, String)>,
        started: Instant,
    ) -> Report {
        // Every planned date gets a line, even one a fetching thread never reported (it can only
        // happen if a thread panicked).
        for date in &plan.dates {
            self.dates.entry(*date).or_insert_with(|| {
                failed(*date, "not fetched: the fetching thread stopped".to_owned())
            });
        }
        self.flush();
        let dates = self.dates;
        let totals = dates
            .values()
            .filter_map(|report| match report.outcome {
                DateOutcome::Stored(counts) => Some(counts),
                DateOutcome::Failed { .. } | DateOutcome::RunStopped => None,
            })
            .fold(WriteCounts::default(), |total, counts| total + counts);
        let not_fetched = dates
            .values()
            .filter(|report| report.outcome == DateOutcome::RunStopped)
            .count();
        // A failure that stops the run is what to fix; a cancellation only says why dates are
        // missing, and only if some are.
        let cancelled = self.cancel_requested && stop.is_none() && not_fetched > 0;
        let stop = stop.map(|(fix, error)| RunStop {
            fix,
            error,
            dates: not_fetched,
        });
        Report {
            base: plan.base,
            dates: dates.into_values().collect(),
            already_held: plan.already_held.clone(),
            totals,
            requests,
            quota: self.quota,
            strategy,
            names,
            stop,
            cancelled,
            elapsed: started.elapsed(),
        }
    }
}
