//! The runner: fires requests on their schedules and events, runs them through the engine
//! with one worker per connection, and hands every reading and failure to the store.
//!
//! * A link carries one request at a time: each connection has one worker that runs its jobs
//!   in the order they were fired; several connections run in parallel.
//! * A fire that comes while the previous run of the same request on the same connection is
//!   still queued or running is coalesced and counted as skipped, so queues never grow
//!   without bound.
//! * A meter that fails is retried (up to its `retries`, with backoff) within the request's
//!   timeout; what still fails becomes failure rows with the error as status.
//! * Every run's rows are written in one transaction; "stored" is logged only after commit.

mod action;
mod budget;
pub mod control;
mod error;
mod fire;
mod handle;
mod held;
mod job;
mod listen;
mod mailbox;
pub mod parked;
mod passive;
mod sink;
mod status;
mod steps;
mod trace;
mod worker;

pub use budget::{LinkBudget, RESERVE as LINK_RESERVE};
pub use error::RunnerError;
use fire::*;
pub use handle::RunnerHandle;
pub use held::{LeaseGate, LEASE_MARGIN};
use sink::*;
pub use status::{Cause, MeterStatus, RequestStatus, Status};
use worker::*;

use crate::engine::{read, TraceEntry};
use crate::queue::{Config, Request};
use crate::schedule::Schedule;
use crate::store::{Record, WriterHandle};
use chrono::{DateTime, Local, Utc};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// How the runner keeps rows the store refuses.
#[derive(Debug, Clone)]
pub struct RunnerOptions {
    /// The spill file (default: `<db>.unstored.jsonl` beside the database).
    pub spill: Option<std::path::PathBuf>,
    /// Most refused rows kept in memory before they go to the spill file.
    pub max_parked_rows: usize,
    /// The invocation counter store (default: the user's, `counters::default_path`).
    pub counters: Option<Arc<crate::counters::CounterStore>>,
    /// Where polls, failures and latencies are counted (`--metrics`).
    pub metrics: Option<Arc<crate::metrics::Metrics>>,
    /// Start no connection by itself: only those started through
    /// [`RunnerHandle::start_connection`] run (a logger in a fleet, `fleet/`).
    pub leased: bool,
    /// Most links (sockets, serial ports) held at once (`run --link-budget`); default: the
    /// open-file limit less [`LINK_RESERVE`] (`budget.rs`).
    pub link_budget: Option<usize>,
}

impl Default for RunnerOptions {
    fn default() -> Self {
        RunnerOptions {
            spill: None,
            max_parked_rows: parked::MAX_PARKED_ROWS,
            counters: None,
            metrics: None,
            leased: false,
            link_budget: None,
        }
    }
}

pub use trace::{TRACE_BUDGET, TRACE_FRAMES};

struct Shared {
    config: RwLock<Arc<Config>>,
    start: DateTime<Local>,
    writer: WriterHandle,
    poll: AtomicI64,
    /// Each connection's job queue (`mailbox.rs`).
    workers: Mutex<HashMap<String, mailbox::Sender>>,
    in_flight: Mutex<HashSet<(String, String)>>,
    status: Mutex<Status>,
    trace: Mutex<trace::TraceStore>,
    /// Associations over links that meters opened (listening connections), per meter.
    dialed_in: Mutex<Links>,
    /// A read connection to the log, for incremental profile reads.
    query: Mutex<Option<crate::store::Database>>,
    /// Rows the store refused (locked, full): written before the next batch.
    parked: Mutex<parked::Parked>,
    /// Our invocation counters and the meters' floors (shared with every other process).
    counters: Arc<crate::counters::CounterStore>,
    /// True once the runner is shutting down: no retry starts, runs in progress get
    /// [`STOP_GRACE`] to finish.
    stopping: watch::Sender<bool>,
    /// Repeated failures of a meter are logged once, then at most once a minute.
    failure_log: Mutex<HashMap<String, crate::transport::retry::LogLimiter>>,
    /// Where rows beyond the in-memory bound go.
    spill: std::path::PathBuf,
    /// When the store last refused rows: for a moment after, new rows are parked without
    /// asking it again, so a full disk costs no time per run.
    refused_at: Mutex<Option<std::time::Instant>>,
    /// Store and spill warnings, said once and then at most once a minute.
    store_log: Mutex<crate::transport::retry::LogLimiter>,
    /// The store's refusals, said once and then at most once a minute.
    refuse_log: Mutex<crate::transport::retry::LogLimiter>,
    /// Meters found to answer GET-with-list broken: read one by one for as long as the logger
    /// runs, so the fallback happens once per meter, not once per run.
    no_with_list: Mutex<HashSet<String>>,
    /// Where stored rows go besides the log (MQTT brokers); `None` once shut down.
    sinks: Mutex<Option<crate::sink::Sinks>>,
    /// Polls, failures and latencies (`--metrics`).
    metrics: Option<Arc<crate::metrics::Metrics>>,
    /// When each poll in flight was fired (for the queue lag; only with metrics).
    fired_at: Mutex<HashMap<(String, String), std::time::Instant>>,
    /// Connections start only when started one by one (`held.rs`).
    leased: bool,
    /// The connections started one by one, with their tasks.
    held: Mutex<HashMap<String, held::Held>>,
    /// How many links may be open and kept at once (`budget.rs`).
    link_budget: budget::Budget,
}

/// After the store refused rows, new rows are parked without asking it for this long.
const STORE_PAUSE: Duration = Duration::from_secs(2);

/// How long a run in progress may still take after the runner was told to stop; what it has
/// not read by then is stored as failures ("the logger stopped…").
pub const STOP_GRACE: Duration = Duration::from_millis(1500);

impl Shared {
    fn config(&self) -> Arc<Config> {
        self.config
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// The running logger.
pub struct Runner {
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
    /// Tasks of replaced configurations finishing their runs in progress.
    draining: Vec<JoinSet<()>>,
}

impl Runner {
    /// Starts schedulers and workers for `config`; poll ids start at `first_poll`; ciphered
    /// sessions take their counters from the user's counter store.
    pub fn start(config: Config, writer: WriterHandle, first_poll: i64) -> Runner {
        Runner::start_with(config, writer, first_poll, RunnerOptions::default())
    }

    /// [`Runner::start`] with a spill file, in-memory bound and counter store of its own.
    pub fn start_with(
        config: Config,
        writer: WriterHandle,
        first_poll: i64,
        options: RunnerOptions,
    ) -> Runner {
        let spill = options
            .spill
            .clone()
            .unwrap_or_else(|| parked::spill_path(writer.path()));
        let counters = options
            .counters
            .clone()
            .unwrap_or_else(crate::counters::CounterStore::at_default);
        import_legacy_counters(&writer, &counters);
        let sinks = crate::sink::Sinks::start(
            &config.sinks,
            &crate::store::outbox::outbox_path(writer.path()),
        );
        let shared = Arc::new(Shared {
            config: RwLock::new(Arc::new(config)),
            start: Local::now(),
            writer,
            poll: AtomicI64::new(first_poll),
            workers: Mutex::new(HashMap::new()),
            in_flight: Mutex::new(HashSet::new()),
            status: Mutex::new(Status::default()),
            trace: Mutex::new(trace::TraceStore::default()),
            dialed_in: Mutex::new(HashMap::new()),
            query: Mutex::new(None),
            parked: Mutex::new(parked::Parked::with_bound(options.max_parked_rows)),
            stopping: watch::channel(false).0,
            failure_log: Mutex::new(HashMap::new()),
            spill: spill.clone(),
            refused_at: Mutex::new(None),
            store_log: Mutex::new(crate::transport::retry::LogLimiter::new(
                Duration::from_secs(60),
            )),
            refuse_log: Mutex::new(crate::transport::retry::LogLimiter::new(
                Duration::from_secs(60),
            )),
            counters,
            no_with_list: Mutex::new(HashSet::new()),
            sinks: Mutex::new(Some(sinks)),
            metrics: options.metrics.clone(),
            fired_at: Mutex::new(HashMap::new()),
            leased: options.leased,
            held: Mutex::new(HashMap::new()),
            link_budget: budget::Budget::new(options.link_budget),
        });
        shared.link_budget.announce();
        // Rows an earlier run could not store wait in the spill file: store them first.
        let w = shared.writer.clone();
        let default_spill = parked::spill_path(w.path());
        let to_sinks = shared.clone();
        tokio::task::spawn_blocking(move || {
            let mut files = vec![default_spill];
            if !files.contains(&spill) {
                files.push(spill);
            }
            for file in files {
                // Stored now, so the sinks get them now.
                let hand = |rows: Vec<Record>| feed(&to_sinks, Some(rows));
                match parked::import_and_hand(&w, &file, &hand) {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(
                        "stored {n} rows left unstored by an earlier run (from {})",
                        file.display()
                    ),
                    Err(e) => tracing::error!("{e}"),
                }
            }
        });
        let (stop, tasks) = spawn_generation(&shared, true);
        Runner {
            shared,
            stop,
            tasks,
            draining: Vec::new(),
        }
    }

    /// Switches to a new queue without a restart: runs in progress finish under the old one,
    /// schedules continue from the original start (a `once` request does not fire again).
    pub fn reload(&mut self, config: Config) {
        let _ = self.stop.send(true);
        restart_sinks(&self.shared, &config);
        *self
            .shared
            .config
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Arc::new(config);
        let (stop, tasks) = spawn_generation(&self.shared, false);
        self.stop = stop;
        self.draining
            .push(std::mem::replace(&mut self.tasks, tasks));
        self.draining.retain(|t| !t.is_empty());
    }

    /// A handle for firing events and reading status from other tasks (control socket, UI).
    pub fn handle(&self) -> RunnerHandle {
        RunnerHandle {
            shared: self.shared.clone(),
        }
    }

    /// Stops firing; lets every worker finish the run in progress (its rows are written), then
    /// returns. Queued runs that have not started are dropped.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        self.shared.stopping.send_replace(true);
        let mut stops = JoinSet::new();
        for name in held::names(&self.shared) {
            let shared = self.shared.clone();
            stops.spawn(async move {
                held::stop(&shared, &name, STOP_GRACE + Duration::from_millis(500)).await
            });
        }
        while stops.join_next().await.is_some() {}
        while self.tasks.join_next().await.is_some() {}
        for mut d in self.draining.drain(..) {
            while d.join_next().await.is_some() {}
        }
        // One last try for rows the store refused; what still fails goes to the spill file.
        let rows = lock(&self.shared.parked).take();
        if !rows.is_empty() {
            let n = rows.len();
            let failed = rows.iter().filter(|r| r.is_failure()).count() as u64;
            let feeding = lock(&self.shared.sinks)
                .as_ref()
                .is_some_and(|s| !s.is_empty());
            let copy = feeding.then(|| rows.clone());
            let w = self.shared.writer.clone();
            let spill = self.shared.spill.clone();
            let outcome = tokio::task::spawn_blocking(move || match w.write_or_return(rows) {
                Ok(_) => Ok(None),
                Err(refused) => match parked::spill_rows(&spill, &refused.rows) {
                    Ok(p) => Ok(Some((refused.error, p))),
                    Err(s) => Err((refused.error, Box::new(s))),
                },
            })
            .await;
            match outcome {
                Ok(Ok(None)) => {
                    let mut st = lock(&self.shared.status);
                    st.rows_stored += n as u64;
                    st.failures_stored += failed;
                    drop(st);
                    feed(&self.shared, copy);
                    tracing::info!("stored {n} rows kept from a store failure")
                }
                Ok(Ok(Some((e, path)))) => tracing::warn!(
                    "{n} rows could not be stored ({e}); kept in {}, stored at the next start",
                    path.display()
                ),
                Ok(Err((e, s))) => {
                    lock(&self.shared.status).rows_dropped += n as u64;
                    tracing::error!("{n} rows DROPPED: not stored ({e}) and not spilled: {s}")
                }
                Err(e) => {
                    lock(&self.shared.status).rows_dropped += n as u64;
                    tracing::error!("{n} rows DROPPED: the final write failed: {e}")
                }
            }
        }
        // The sinks deliver what waits for a moment; the rest stays in their outbox.
        let sinks = lock(&self.shared.sinks).take();
        if let Some(sinks) = sinks {
            let _ = tokio::task::spawn_blocking(move || sinks.shutdown()).await;
        }
    }
}

/// A reloaded queue with other sinks: the old ones stop (what waits stays in the outbox,
/// which the new ones deliver), the new ones start.
fn restart_sinks(shared: &Arc<Shared>, config: &Config) {
    let mut slot = lock(&shared.sinks);
    let enabled: Vec<_> = config.sinks.iter().filter(|s| s.enabled).cloned().collect();
    if slot.as_ref().is_some_and(|s| s.configs() == enabled) {
        return;
    }
    let path = crate::store::outbox::outbox_path(shared.writer.path());
    if let Some(old) = slot.take() {
        // Joined on a thread of its own: up to STOP_FLUSH of delivering.
        std::thread::spawn(move || old.shutdown());
    }
    *slot = Some(crate::sink::Sinks::start(&config.sinks, &path));
}

/// Starts the workers and schedulers of the current config; `startup` sends the fires due at
/// the start instant, in queue order, so that a link runs them in the order listed.
fn spawn_generation(shared: &Arc<Shared>, startup: bool) -> (watch::Sender<bool>, JoinSet<()>) {
    let (stop, stop_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let config = shared.config();
    let mut workers = HashMap::new();
    // In a fleet, connections start one by one as their leases are granted (`held.rs`).
    let own = !shared.leased;
    for c in config.connections.iter().filter(|c| c.enabled && own) {
        if c.passive {
            // No worker: nothing is ever sent on it, fires for its meter find nobody to run them.
            tasks.spawn(passive::run(
                shared.clone(),
                c.name.clone(),
                stop_rx.clone(),
            ));
            continue;
        }
        let (tx, rx) = mailbox::channel();
        workers.insert(c.name.clone(), tx);
        tasks.spawn(worker(
            shared.clone(),
            c.name.clone(),
            rx,
            stop_rx.clone(),
            None,
        ));
        if let crate::queue::Link::Listen { host, port } = &c.link {
            tasks.spawn(listen::serve(
                shared.clone(),
                c.name.clone(),
                host.clone(),
                *port,
                stop_rx.clone(),
            ));
        }
    }
    if own {
        *lock(&shared.workers) = workers;
    }
    let start = shared.start;
    let before = start - chrono::Duration::milliseconds(1);
    let mut scheduled = Vec::new();
    for r in config.requests.iter().filter(|r| r.enabled) {
        if matches!(r.schedule, Schedule::Event(_)) {
            continue;
        }
        if startup && r.schedule.next_after(&before, &start) == Some(start) {
            fire(shared, &r.name, Cause::Schedule, None);
        }
        scheduled.push((r.name.clone(), r.schedule.clone()));
    }
    let after = if startup { start } else { Local::now() };
    tasks.spawn(scheduler(shared.clone(), scheduled, after, stop_rx.clone()));
    (stop, tasks)
}

/// Counters older versions kept in the log database: ours start above them (once, before any
/// session; a log without that table or rows costs one read).
fn import_legacy_counters(writer: &WriterHandle, counters: &crate::counters::CounterStore) {
    let rows = crate::store::Database::open(writer.location()).and_then(|s| s.legacy_counters());
    match rows.map(|rows| counters.import_legacy(&rows)) {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!("{e}"),
        Err(e) => tracing::warn!("older invocation counters not read: {e}"),
    }
}

fn trace_sink(shared: &Arc<Shared>, meter: &str) -> crate::engine::TraceSink {
    let shared = shared.clone();
    let meter: Arc<str> = Arc::from(meter);
    Box::new(move |e| lock(&shared.trace).push(&meter, e))
}

/// Opens the log for a run (an SQLite file, or a PostgreSQL database given as
/// [`crate::store::StoreLocation`]): returns the writer, its handle and the first poll id.
pub fn open_store(
    at: impl Into<crate::store::StoreLocation>,
) -> Result<(crate::store::Writer, WriterHandle, i64), crate::store::StoreError> {
    let at = at.into();
    let first_poll = {
        let mut store = crate::store::Database::open(&at)?;
        let id = store.next_poll_id()?;
        store.close()?;
        id
    };
    let (writer, handle) =
        crate::store::Writer::spawn_at(&at, crate::store::RetryPolicy::default())?;
    Ok((writer, handle, first_poll))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic elsewhere must not stop the logger: the data under the lock is plain counters.
    m.lock().unwrap_or_else(|e| e.into_inner())
}
