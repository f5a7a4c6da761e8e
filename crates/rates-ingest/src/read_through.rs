//! Read-through: a request for a past date the store does not hold fetches that one date from
//! Fixer, stores it as an ingest would, and is answered from it (`fetch.on_demand`).
//!
//! What it promises:
//! - **One fetch per date.** Concurrent calls for one date share one fetch (the first caller
//!   fetches, the others wait for its outcome); servers sharing a PostgreSQL database share it
//!   too, through [`Store::try_lock_date_fetch`]: the holder re-checks the store after taking
//!   the lock, so a date another server just stored costs no request.
//! - **A budget.** At most [`ReadThroughConfig::daily_budget`] Fixer requests per UTC day (per
//!   process). Past it, calls answer [`NotHeld::BudgetSpent`] without sending anything.
//! - **Bounded waits.** No retries (a failed fetch is simply "not held"; the next request may
//!   try again), one request bounded by the client's timeout, and after a failure Fixer is left
//!   alone for [`ReadThroughConfig::failure_pause`], so an outage costs one slow answer, not one
//!   per request.
//! - **Remembered gaps.** A date Fixer has no rates for (its 106) is not asked again for
//!   [`ReadThroughConfig::no_data_ttl`] (an hour by default).
//! - **Quiet logs.** The reason a fetch could not be made (budget spent, Fixer failing) is
//!   logged once, not once per request; it is logged again after a successful fetch.
//!
//! Everything here blocks (HTTP and database); async callers run it on a bounded set of blocking
//! threads.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use fixer_client::{Client, CurrencyCode, RatesOptions, RetryPolicy};
use rates_domain::{format_date, Currency};
use rates_settings::Settings;
use rates_store::{Store, StoredRateTable};
use time::Date;

use crate::error::IngestError;
use crate::run::store_fetched_day;
use crate::{configured_client, IngestOptions};

/// How long a date Fixer had no rates for is not asked again.
pub const NO_DATA_TTL: Duration = Duration::from_secs(60 * 60);

/// How long Fixer is left alone after a failed fetch.
pub const FAILURE_PAUSE: Duration = Duration::from_secs(30);

/// How often a caller waiting for another server's fetch of the same date looks again.
const LOCK_POLL: Duration = Duration::from_millis(50);

/// Most remembered gaps; beyond that, expired ones are dropped (and, if still too many, all).
const MAX_REMEMBERED_GAPS: usize = 10_000;

/// How read-through behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReadThroughConfig {
    /// The base rates are fetched and stored in (`ingest.base`).
    pub base: Currency,
    /// The currencies asked for (`ingest.symbols`); empty means all.
    pub symbols: Vec<Currency>,
    /// Fixer requests allowed per UTC day (`fetch.daily_budget`).
    pub daily_budget: u32,
    /// How long one Fixer request may take (the client's timeout, `fixer.timeout_secs`).
    pub request_timeout: Duration,
    /// How long a date Fixer had nothing for is remembered.
    pub no_data_ttl: Duration,
    /// How long Fixer is left alone after a failure.
    pub failure_pause: Duration,
}

impl ReadThroughConfig {
    /// Base EUR, all currencies, the given budget and request timeout, [`NO_DATA_TTL`] and
    /// [`FAILURE_PAUSE`].
    pub fn new(daily_budget: u32, request_timeout: Duration) -> ReadThroughConfig {
        ReadThroughConfig {
            base: Currency::EUR,
            symbols: Vec::new(),
            daily_budget,
            request_timeout,
            no_data_ttl: NO_DATA_TTL,
            failure_pause: FAILURE_PAUSE,
        }
    }

    /// How long a caller waits for a fetch of the same date by another server: that fetch's
    /// request, plus a margin for the store's writes.
    fn lock_wait(&self) -> Duration {
        self.request_timeout + Duration::from_secs(2)
    }

    /// How long a caller waits for a fetch of the same date by another caller in this process:
    /// the fetching caller may itself first wait for another server.
    fn follower_wait(&self) -> Duration {
        self.lock_wait() + self.request_timeout + Duration::from_secs(2)
    }
}

/// What a read-through call came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Fetched {
    /// The date is held now (fetched and stored by this call, by a concurrent one, or by
    /// another server); here is its table as stored.
    Held(StoredRateTable),
    /// The date is still not held; the request gets the normal "not held" answer.
    NotHeld(NotHeld),
}

/// Why a date could not be read through.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NotHeld {
    /// Only past dates are read through (today's rates come from the scheduled ingest).
    NotPast {
        /// The date asked for.
        date: Date,
    },
    /// Fixer had no rates for the date, now or within the last [`ReadThroughConfig::no_data_ttl`].
    NoData,
    /// Today's budget of Fixer requests is spent.
    BudgetSpent {
        /// The budget.
        budget: u32,
    },
    /// Fixer failed (now, or recently enough that it is left alone for now).
    FixerFailing(String),
    /// Another server has been fetching the date for longer than a request may take.
    Busy,
    /// Fixer's answer could not be stored, or the store could not be read.
    Unusable(String),
}

impl fmt::Display for NotHeld {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotHeld::NotPast { date } => {
                write!(f, "{} is not a past date", format_date(*date))
            }
            NotHeld::NoData => f.write_str("Fixer has no rates for this date"),
            NotHeld::BudgetSpent { budget } => write!(
                f,
                "today's read-through budget of {budget} Fixer requests is spent (fetch.daily_budget)"
            ),
            NotHeld::FixerFailing(reason) => write!(f, "Fixer is failing: {reason}"),
            NotHeld::Busy => f.write_str("another server is still fetching this date"),
            NotHeld::Unusable(reason) => f.write_str(reason),
        }
    }
}

/// Fetches missing past dates on demand; see the module docs. Share one per process (it is
/// `Sync`; wrap it in an `Arc`).
pub struct ReadThrough {
    client: Client,
    store: Store,
    options: RatesOptions,
    config: ReadThroughConfig,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Fetches under way in this process, by date.
    in_flight: HashMap<Date, Arc<Flight>>,
    /// Dates Fixer had no rates for, and when it said so.
    gaps: HashMap<Date, Instant>,
    /// The UTC day `spent` counts requests for.
    budget_day: Option<Date>,
    spent: u32,
    /// When Fixer last failed, and how.
    failed: Option<(Instant, String)>,
    /// The kind of the last reason logged, so each is logged once.
    logged: Option<&'static str>,
}

/// One fetch under way: its outcome once known, and the callers waiting for it.
#[derive(Default)]
struct Flight {
    outcome: Mutex<Option<Fetched>>,
    done: Condvar,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every critical section leaves the state consistent; a panic elsewhere cannot break it.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl ReadThrough {
    /// Read-through with `client` (used as it is: give it the timeout wanted and no retries),
    /// storing into `store`.
    pub fn new(client: Client, store: Store, config: ReadThroughConfig) -> ReadThrough {
        let code = |currency: &Currency| CurrencyCode::new(currency.as_str()).ok();
        let options = RatesOptions {
            base: code(&config.base),
            symbols: config.symbols.iter().filter_map(code).collect(),
        };
        ReadThrough {
            client,
            store,
            options,
            config,
            state: Mutex::new(State::default()),
        }
    }

    /// The read-through the settings ask for: `None` when `fetch.on_demand` is off; otherwise
    /// a client like the ingest's (base URL, key, auth style, timeout) but without retries,
    /// asking for `ingest.base` and `ingest.symbols`, within `fetch.daily_budget`. A missing
    /// access key is an error naming `fixer.access_key`.
    pub fn from_settings(
        settings: &Settings,
        store: Store,
    ) -> Result<Option<ReadThrough>, IngestError> {
        if !settings.fetch.on_demand {
            return Ok(None);
        }
        let client = configured_client(&settings.fixer, RetryPolicy::none())?;
        let ingest = IngestOptions::from_settings(&settings.ingest)?;
        let mut config =
            ReadThroughConfig::new(settings.fetch.daily_budget, settings.fixer.timeout());
        config.base = ingest.base;
        config.symbols = ingest.symbols;
        Ok(Some(ReadThrough::new(client, store, config)))
    }

    /// The configuration in force.
    pub fn config(&self) -> &ReadThroughConfig {
        &self.config
    }

    /// Fixer requests spent on `today` (UTC).
    pub fn requests_spent(&self, today: Date) -> u32 {
        let state = lock(&self.state);
        if state.budget_day == Some(today) {
            state.spent
        } else {
            0
        }
    }

    /// Makes `date` held if it can: answers at once when the store already holds it, else
    /// fetches it from Fixer (once, however many callers ask at the same time) and stores it.
    /// `today` is the current UTC date; only earlier dates are fetched. Blocking.
    pub fn fetch(&self, date: Date, today: Date) -> Fetched {
        if date >= today {
            return Fetched::NotHeld(NotHeld::NotPast { date });
        }
        let (flight, leads) = {
            let mut state = lock(&self.state);
            if let Some(since) = state.gaps.get(&date) {
                if since.elapsed() < self.config.no_data_ttl {
                    return Fetched::NotHeld(NotHeld::NoData);
                }
                state.gaps.remove(&date);
            }
            match state.in_flight.get(&date) {
                Some(flight) => (Arc::clone(flight), false),
                None => {
                    let flight = Arc::new(Flight::default());
                    state.in_flight.insert(date, Arc::clone(&flight));
                    (flight, true)
                }
            }
        };
        if !leads {
            return self.follow(&flight);
        }
        let landing = Landing {
            read_through: self,
            date,
            flight: &flight,
        };
        let outcome = self.lead(date, today);
        landing.land(outcome.clone());
        outcome
    }

    /// Waits for the outcome of a fetch another caller is making.
    fn follow(&self, flight: &Flight) -> Fetched {
        let deadline = Instant::now() + self.config.follower_wait();
        let mut outcome = lock(&flight.outcome);
        loop {
            if let Some(outcome) = outcome.as_ref() {
                return outcome.clone();
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Fetched::NotHeld(NotHeld::Busy);
            }
            outcome = flight
                .done
                .wait_timeout(outcome, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// The fetch itself, by the first caller for `date`.
    fn lead(&self, date: Date, today: Date) -> Fetched {
        if let Some(held) = self.held(date) {
            return held;
        }
        if let Some(reason) = self.pausing() {
            return Fetched::NotHeld(NotHeld::FixerFailing(reason));
        }
        // Another server may be fetching the same date: wait for it, then look again.
        let deadline = Instant::now() + self.config.lock_wait();
        let _date_lock = loop {
            match self.store.try_lock_date_fetch(date) {
                Ok(Some(date_lock)) => break date_lock,
                Ok(None) if Instant::now() < deadline => std::thread::sleep(LOCK_POLL),
                Ok(None) => return Fetched::NotHeld(NotHeld::Busy),
                Err(error) => {
                    return Fetched::NotHeld(NotHeld::Unusable(format!(
                        "cannot take the fetch lock: {error}"
                    )))
                }
            }
        };
        if let Some(held) = self.held(date) {
            return held;
        }
        if !self.spend_request(today) {
            let budget = self.config.daily_budget;
            self.log_once(
                "budget",
                &format!(
                    "read-through: {}; missing dates are answered as not held until the next UTC day",
                    NotHeld::BudgetSpent { budget }
                ),
            );
            return Fetched::NotHeld(NotHeld::BudgetSpent { budget });
        }
        match self.client.historical(date, &self.options) {
            Ok(rates) => {
                match store_fetched_day(
                    &self.store,
                    self.config.base,
                    date,
                    rates.base,
                    &rates.rates,
                ) {
                    Ok(counts) => {
                        log::info!(
                            "read-through: fetched {} from Fixer ({} rates inserted, {} updated)",
                            format_date(date),
                            counts.inserted,
                            counts.updated
                        );
                        lock(&self.state).logged = None;
                        self.held(date).unwrap_or_else(|| {
                            Fetched::NotHeld(NotHeld::Unusable(
                                "the stored date could not be read back".to_owned(),
                            ))
                        })
                    }
                    Err(reason) => {
                        self.log_once(
                            "unusable",
                            &format!("read-through of {}: {reason}", format_date(date)),
                        );
                        Fetched::NotHeld(NotHeld::Unusable(reason))
                    }
                }
            }
            Err(error) if error.is_no_rates_available() => {
                log::info!(
                    "read-through: Fixer has no rates for {}; not asking again for {} s",
                    format_date(date),
                    self.config.no_data_ttl.as_secs()
                );
                self.remember_gap(date);
                Fetched::NotHeld(NotHeld::NoData)
            }
            Err(error) => {
                let reason = error.to_string();
                self.log_once(
                    "fixer",
                    &format!(
                        "read-through: Fixer failed ({reason}); missing dates are answered as not held, and Fixer is left alone for {} s",
                        self.config.failure_pause.as_secs()
                    ),
                );
                lock(&self.state).failed = Some((Instant::now(), reason.clone()));
                Fetched::NotHeld(NotHeld::FixerFailing(reason))
            }
        }
    }

    /// The stored table of `date`, if held (a store failure counts as not held, and is logged
    /// once).
    fn held(&self, date: Date) -> Option<Fetched> {
        match self.store.rate_table(date, self.config.base) {
            Ok(stored) => stored.map(Fetched::Held),
            Err(error) => {
                self.log_once(
                    "store",
                    &format!("read-through: cannot read the store: {error}"),
                );
                None
            }
        }
    }

    /// The last failure's reason while Fixer is being left alone after it.
    fn pausing(&self) -> Option<String> {
        let state = lock(&self.state);
        state
            .failed
            .as_ref()
            .filter(|(at, _)| at.elapsed() < self.config.failure_pause)
            .map(|(_, reason)| reason.clone())
    }

    /// Counts one request against today's budget; false when it is spent.
    fn spend_request(&self, today: Date) -> bool {
        let mut state = lock(&self.state);
        if state.budget_day != Some(today) {
            state.budget_day = Some(today);
            state.spent = 0;
            if state.logged == Some("budget") {
                state.logged = None;
            }
        }
        if state.spent >= self.config.daily_budget {
            return false;
        }
        state.spent += 1;
        true
    }

    fn remember_gap(&self, date: Date) {
        let mut state = lock(&self.state);
        if state.gaps.len() >= MAX_REMEMBERED_GAPS {
            let ttl = self.config.no_data_ttl;
            state.gaps.retain(|_, since| since.elapsed() < ttl);
            if state.gaps.len() >= MAX_REMEMBERED_GAPS {
                state.gaps.clear();
            }
        }
        state.gaps.insert(date, Instant::now());
    }

    /// Logs `message` unless a reason of this `kind` was the last one logged.
    fn log_once(&self, kind: &'static str, message: &str) {
        let mut state = lock(&self.state);
        if state.logged != Some(kind) {
            state.logged = Some(kind);
            drop(state);
            log::warn!("{message}");
        }
    }
}

impl fmt::Debug for ReadThrough {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadThrough")
            .field("client", &self.client)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Publishes a fetch's outcome to the callers waiting for it and forgets the flight, also when
/// the fetching caller unwinds (then the waiters hear "not held").
struct Landing<'a> {
    read_through: &'a ReadThrough,
    date: Date,
    flight: &'a Flight,
}

impl Landing<'_> {
    fn land(self, outcome: Fetched) {
        *lock(&self.flight.outcome) = Some(outcome);
        // Drop removes the flight and wakes the waiters.
    }
}

impl Drop for Landing<'_> {
    fn drop(&mut self) {
        {
            let mut outcome = lock(&self.flight.outcome);
            if outcome.is_none() {
                *outcome = Some(Fetched::NotHeld(NotHeld::Unusable(
                    "the fetch stopped unexpectedly".to_owned(),
                )));
            }
        }
        self.flight.done.notify_all();
        lock(&self.read_through.state).in_flight.remove(&self.date);
    }
}
