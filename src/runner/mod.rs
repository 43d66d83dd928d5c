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

pub mod control;
mod listen;
pub mod objects;
pub mod parked;
pub mod probe;
pub mod profile;
pub mod read;
pub mod secure;
mod trace;

use crate::engine::TraceEntry;
use crate::queue::{Config, Request};
use crate::schedule::Schedule;
use crate::store::{Reading, WriterHandle};
use chrono::{DateTime, Local, Utc};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

/// Health of one meter, for the UI.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MeterStatus {
    /// When the meter last answered a whole request.
    pub last_success: Option<DateTime<Utc>>,
    /// The last error and when it happened.
    pub last_error: Option<(DateTime<Utc>, String)>,
    /// Round-trip time of the last request.
    pub rtt: Option<Duration>,
    /// Runs that succeeded / failed.
    pub ok: u64,
    /// Runs that failed.
    pub failed: u64,
}

/// Counters of one request, for the UI.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestStatus {
    /// Times the request was fired (per connection).
    pub fired: u64,
    /// Fires dropped because the previous run was still going.
    pub skipped: u64,
    /// Runs finished.
    pub completed: u64,
    /// The next time-based fire.
    pub next_fire: Option<DateTime<Local>>,
}

/// A snapshot of the runner's state.
#[derive(Debug, Clone, Default)]
pub struct Status {
    /// Per meter.
    pub meters: HashMap<String, MeterStatus>,
    /// Per request.
    pub requests: HashMap<String, RequestStatus>,
    /// Rows written and failures written since start.
    pub rows_stored: u64,
    /// Failure rows among them.
    pub failures_stored: u64,
    /// The last store error, if writes are failing.
    pub store_error: Option<String>,
    /// A key whose invocation counters passed 90 % of their space (plan new keys).
    pub counter_warning: Option<String>,
    /// Rows neither stored nor kept (the store refused them, memory was at its bound and the
    /// spill file could not take them).
    pub rows_dropped: u64,
}

/// How the runner keeps rows the store refuses.
#[derive(Debug, Clone)]
pub struct RunnerOptions {
    /// The spill file (default: `<db>.unstored.jsonl` beside the database).
    pub spill: Option<std::path::PathBuf>,
    /// Most refused rows kept in memory before they go to the spill file.
    pub max_parked_rows: usize,
    /// The invocation counter store (default: the user's, `counters::default_path`).
    pub counters: Option<Arc<crate::counters::CounterStore>>,
}

impl Default for RunnerOptions {
    fn default() -> Self {
        RunnerOptions {
            spill: None,
            max_parked_rows: parked::MAX_PARKED_ROWS,
            counters: None,
        }
    }
}

/// Why a request was fired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// Its schedule.
    Schedule,
    /// An event (`trigger`, another request, the UI).
    Event(String),
    /// "Read now" from the UI.
    Manual,
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cause::Schedule => f.write_str("its schedule"),
            Cause::Event(name) => write!(f, "event \"{name}\""),
            Cause::Manual => f.write_str("read now"),
        }
    }
}

#[derive(Debug)]
struct Job {
    request: String,
    meters: Vec<String>,
    /// Its entry in `in_flight`, freed when the run ends.
    key: (String, String),
    /// Where to send a one-line summary when the run is done (the UI's test action).
    reply: Option<tokio::sync::oneshot::Sender<Result<String, String>>>,
}

pub use trace::{TRACE_BUDGET, TRACE_FRAMES};

struct Shared {
    config: RwLock<Arc<Config>>,
    start: DateTime<Local>,
    writer: WriterHandle,
    poll: AtomicI64,
    /// Jobs are boxed: a channel allocates slots 32 at a time, and there is one per connection.
    workers: Mutex<HashMap<String, mpsc::UnboundedSender<Box<Job>>>>,
    in_flight: Mutex<HashSet<(String, String)>>,
    status: Mutex<Status>,
    trace: Mutex<trace::TraceStore>,
    /// Associations over links that meters opened (listening connections), per meter.
    dialed_in: Mutex<Links>,
    /// A read connection to the log, for incremental profile reads.
    query: Mutex<Option<crate::store::Store>>,
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
        });
        // Rows an earlier run could not store wait in the spill file: store them first.
        let w = shared.writer.clone();
        let default_spill = parked::spill_path(w.path());
        tokio::task::spawn_blocking(move || {
            let mut files = vec![default_spill];
            if !files.contains(&spill) {
                files.push(spill);
            }
            for file in files {
                match parked::import_from(&w, &file) {
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
        while self.tasks.join_next().await.is_some() {}
        for mut d in self.draining.drain(..) {
            while d.join_next().await.is_some() {}
        }
        // One last try for rows the store refused; what still fails goes to the spill file.
        let rows = lock(&self.shared.parked).take();
        if !rows.is_empty() {
            let n = rows.len();
            let failed = rows.iter().filter(|r| r.is_failure()).count() as u64;
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
    }
}

/// Starts the workers and schedulers of the current config; `startup` sends the fires due at
/// the start instant, in queue order, so that a link runs them in the order listed.
fn spawn_generation(shared: &Arc<Shared>, startup: bool) -> (watch::Sender<bool>, JoinSet<()>) {
    let (stop, stop_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let config = shared.config();
    let mut workers = HashMap::new();
    for c in config.connections.iter().filter(|c| c.enabled) {
        let (tx, rx) = mpsc::unbounded_channel();
        workers.insert(c.name.clone(), tx);
        tasks.spawn(worker(shared.clone(), c.name.clone(), rx, stop_rx.clone()));
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
    *lock(&shared.workers) = workers;
    let start = shared.start;
    let before = start - chrono::Duration::milliseconds(1);
    for r in config.requests.iter().filter(|r| r.enabled) {
        if matches!(r.schedule, Schedule::Event(_)) {
            continue;
        }
        if startup && r.schedule.next_after(&before, &start) == Some(start) {
            fire(shared, &r.name, Cause::Schedule, None);
        }
        let after = if startup { start } else { Local::now() };
        tasks.spawn(scheduler(
            shared.clone(),
            r.name.clone(),
            after,
            stop_rx.clone(),
        ));
    }
    (stop, tasks)
}

/// Fires events and reads status of a running [`Runner`]; cheap to clone.
#[derive(Clone)]
pub struct RunnerHandle {
    shared: Arc<Shared>,
}

impl RunnerHandle {
    /// Fires every enabled request listening to event `name`; returns how many.
    pub fn fire_event(&self, name: &str) -> usize {
        fire_event(&self.shared, name)
    }

    /// Runs a request now (the UI's "read now"); false when there is no such enabled request.
    pub fn run_now(&self, request: &str) -> bool {
        fire(&self.shared, request, Cause::Manual, None)
    }

    /// Runs a request now through its link's worker and waits for a one-line result.
    pub async fn test_request(&self, request: &str) -> Result<String, String> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if !fire(&self.shared, request, Cause::Manual, Some(tx)) {
            return Err(format!(
                "request {request:?} is not in the running queue or is disabled"
            ));
        }
        rx.await
            .unwrap_or_else(|_| Err("the run was skipped: the previous run is still going".into()))
    }

    /// Opens a TCP connection to a configured connection, and closes it.
    pub async fn test_connection(&self, name: &str) -> Result<String, String> {
        let config = self.shared.config();
        let c = config
            .connection(name)
            .ok_or_else(|| format!("no connection {name:?}"))?;
        match &c.link {
            crate::queue::Link::Tcp { host, port, .. } => {
                let t = std::time::Instant::now();
                crate::transport::tcp::connect(host, *port, Duration::from_secs(5))
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(format!(
                    "connected to {host}:{port} in {} ms",
                    t.elapsed().as_millis()
                ))
            }
            crate::queue::Link::Serial(s) => {
                crate::transport::serial::open(s).map_err(|e| e.to_string())?;
                Ok(format!("opened serial port {} at {} baud", s.port, s.baud))
            }
            crate::queue::Link::Listen { host, port } => {
                let connected = lock(&self.shared.dialed_in).len();
                Ok(format!(
                    "listening on {host}:{port}; {connected} meter(s) dialed in"
                ))
            }
        }
    }

    /// Opens a traced session to a configured meter, outside the link's worker.
    async fn open_meter(
        &self,
        name: &str,
    ) -> Result<crate::engine::Session<crate::transport::BoxStream>, String> {
        let config = self.shared.config();
        let m = config
            .meter(name)
            .ok_or_else(|| format!("no meter {name:?}"))?;
        let c = config
            .connection(&m.connection)
            .ok_or_else(|| format!("no connection {:?}", m.connection))?;
        // Tests and object reads take counters from the same store as runs, so none is reused.
        read::open_secure(c, m, &self.shared.counters, Some(self.trace_sink(&m.name)))
            .await
            .map_err(|e| e.to_string())
    }

    /// Probes a configured connection for a meter (interface, addresses, referencing) and
    /// returns it as a new meter on that connection, named `name`.
    pub async fn probe_connection(
        &self,
        connection: &str,
        name: &str,
    ) -> Result<(crate::queue::Meter, String), String> {
        let config = self.shared.config();
        let c = config
            .connection(connection)
            .ok_or_else(|| format!("no connection {connection:?}"))?
            .clone();
        let found = probe::probe(
            || {
                let c = c.clone();
                async move { read::connect(&c, Duration::from_secs(3)).await }
            },
            &probe::candidates(None, None),
            Duration::from_millis(600),
            |_, _, _, _| {},
        )
        .await?;
        let p = &found.candidate;
        let mut m = crate::queue::Meter::new(name, connection);
        m.interface = match p.interface {
            crate::engine::Interface::Wrapper => crate::queue::InterfaceKind::Wrapper,
            crate::engine::Interface::Hdlc => crate::queue::InterfaceKind::Hdlc,
        };
        m.client = p.client;
        m.physical = p.physical;
        m.logical = p.logical;
        m.address_size = p.address_size;
        m.serial_number = p.serial_number;
        m.referencing = match p.referencing {
            crate::dlms::client::Referencing::Ln => crate::queue::ReferencingKind::Ln,
            crate::dlms::client::Referencing::Sn => crate::queue::ReferencingKind::Sn,
        };
        Ok((m, found.note.clone()))
    }

    /// Associates with a configured meter and reads its clock.
    pub async fn test_meter(&self, name: &str) -> Result<String, String> {
        let mut s = self.open_meter(name).await?;
        let clock = crate::dlms::client::AttributeRef::new(
            8,
            crate::dlms::obis::Obis::new(0, 0, 1, 0, 0, 255),
            2,
        );
        let r = s.read(&[clock]).await.map_err(|e| e.to_string())?;
        let rtt = s.last_rtt;
        let _ = s.close().await;
        match r.into_iter().next() {
            Some(Ok(d)) => Ok(format!(
                "associated; meter clock {d}; round trip {} ms",
                rtt.as_millis()
            )),
            Some(Err(e)) => Ok(format!("associated, but the clock could not be read: {e}")),
            None => Err("no answer".into()),
        }
    }

    /// Reads a configured meter's object list as a preset (progress: bytes received so far).
    pub async fn read_objects(
        &self,
        name: &str,
        progress: impl FnMut(usize) + Send + 'static,
    ) -> Result<crate::queue::Preset, String> {
        let mut s = self.open_meter(name).await?;
        let preset = objects::read_preset(&mut s, &format!("meter {name}"), progress)
            .await
            .map_err(|e| e.to_string())?;
        let _ = s.close().await;
        Ok(preset)
    }

    /// The last frames exchanged with a meter (at most [`TRACE_FRAMES`]), oldest first. A
    /// meter asked for keeps all of them from then on; others share [`TRACE_BUDGET`] bytes.
    pub fn trace(&self, meter: &str) -> Vec<TraceEntry> {
        lock(&self.shared.trace).get(meter)
    }

    fn trace_sink(&self, meter: &str) -> crate::engine::TraceSink {
        trace_sink(&self.shared, meter)
    }

    /// The queue being run.
    pub fn config(&self) -> Arc<Config> {
        self.shared.config()
    }

    /// When the runner started (the `?` of cron schedules).
    pub fn start_time(&self) -> DateTime<Local> {
        self.shared.start
    }

    /// A snapshot of meters, requests and store counters.
    pub fn status(&self) -> Status {
        let mut st = lock(&self.shared.status).clone();
        st.counter_warning = self.shared.counters.warnings().into_iter().next();
        st
    }
}

/// Counters older versions kept in the log database: ours start above them (once, before any
/// session; a log without that table or rows costs one read).
fn import_legacy_counters(writer: &WriterHandle, counters: &crate::counters::CounterStore) {
    let rows = crate::store::Store::open(writer.path()).and_then(|s| s.legacy_counters());
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

/// Opens the log database for a run: returns the writer, its handle and the first poll id.
pub fn open_store(
    db: &std::path::Path,
) -> Result<(crate::store::Writer, WriterHandle, i64), crate::store::StoreError> {
    let first_poll = {
        let mut store = crate::store::Store::open(db)?;
        let id = store.next_poll_id()?;
        store.close()?;
        id
    };
    let (writer, handle) = crate::store::Writer::spawn(db)?;
    Ok((writer, handle, first_poll))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic elsewhere must not stop the logger: the data under the lock is plain counters.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn fire_event(shared: &Arc<Shared>, name: &str) -> usize {
    let names: Vec<String> = shared
        .config()
        .requests
        .iter()
        .filter(|r| r.enabled && matches!(&r.schedule, Schedule::Event(e) if e == name))
        .map(|r| r.name.clone())
        .collect();
    for n in &names {
        fire(shared, n, Cause::Event(name.to_string()), None);
    }
    names.len()
}

/// Queues a run of `request` on each connection its meters use; coalesces with runs in flight.
fn fire(
    shared: &Arc<Shared>,
    request: &str,
    cause: Cause,
    reply: Option<tokio::sync::oneshot::Sender<Result<String, String>>>,
) -> bool {
    fire_where(shared, request, cause, reply, None)
}

/// Fires `request` for one of its meters only (a meter that dialed in). Runs for different
/// meters of one listening connection do not coalesce: each meter's call is answered.
fn fire_for_meter(shared: &Arc<Shared>, request: &str, meter: &str, cause: Cause) -> bool {
    fire_where(shared, request, cause, None, Some(meter))
}

fn fire_where(
    shared: &Arc<Shared>,
    request: &str,
    cause: Cause,
    mut reply: Option<tokio::sync::oneshot::Sender<Result<String, String>>>,
    only: Option<&str>,
) -> bool {
    let config = shared.config();
    let Some(req) = config
        .requests
        .iter()
        .find(|r| r.name == request && r.enabled)
    else {
        return false;
    };
    let mut by_conn: Vec<(String, Vec<String>)> = Vec::new();
    for mname in req.meters.iter().filter(|m| only.is_none_or(|o| o == *m)) {
        let Some(m) = config.meter(mname).filter(|m| m.enabled) else {
            continue;
        };
        match by_conn.iter_mut().find(|(c, _)| *c == m.connection) {
            Some((_, ms)) => ms.push(m.name.clone()),
            None => by_conn.push((m.connection.clone(), vec![m.name.clone()])),
        }
    }
    for (conn, meters) in by_conn {
        let Some(tx) = lock(&shared.workers).get(&conn).cloned() else {
            continue;
        };
        let key = match only {
            Some(meter) => (req.name.clone(), format!("{conn}\u{0}{meter}")),
            None => (req.name.clone(), conn.clone()),
        };
        let fresh = lock(&shared.in_flight).insert(key.clone());
        let mut st = lock(&shared.status);
        let rs = st.requests.entry(req.name.clone()).or_default();
        rs.fired += 1;
        if !fresh {
            rs.skipped += 1;
            tracing::info!(
                "request {} on {conn}: still running, fire by {cause} skipped",
                req.name
            );
            continue;
        }
        drop(st);
        // A reply (the UI's test) goes with the first connection's run.
        let job = Box::new(Job {
            request: req.name.clone(),
            meters,
            key: key.clone(),
            reply: reply.take(),
        });
        if tx.send(job).is_err() {
            lock(&shared.in_flight).remove(&key);
        }
    }
    true
}

async fn scheduler(
    shared: Arc<Shared>,
    request: String,
    mut after: DateTime<Local>,
    mut stop: watch::Receiver<bool>,
) {
    let config = shared.config();
    let Some(schedule) = config
        .requests
        .iter()
        .find(|r| r.name == request)
        .map(|r| r.schedule.clone())
    else {
        return;
    };
    let start = shared.start;
    loop {
        let Some(next) = schedule.next_after(&after, &start) else {
            if !matches!(schedule, Schedule::Once) {
                tracing::warn!("request {request}: schedule \"{schedule}\" fires no more");
            }
            lock(&shared.status)
                .requests
                .entry(request.clone())
                .or_default()
                .next_fire = None;
            return;
        };
        lock(&shared.status)
            .requests
            .entry(request.clone())
            .or_default()
            .next_fire = Some(next);
        let wait = (next - Local::now()).to_std().unwrap_or(Duration::ZERO);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
        fire(&shared, &request, Cause::Schedule, None);
        // After a stall (suspend, overload) resume from now rather than replaying every
        // missed fire; coalescing would skip them anyway.
        let now = Local::now();
        after = if now - next > chrono::Duration::seconds(1) {
            now
        } else {
            next
        };
    }
}

async fn worker(
    shared: Arc<Shared>,
    connection: String,
    mut jobs: mpsc::UnboundedReceiver<Box<Job>>,
    mut stop: watch::Receiver<bool>,
) {
    let mut links = Links::new();
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let listening = shared
        .config()
        .connection(&connection)
        .is_some_and(|c| matches!(c.link, crate::queue::Link::Listen { .. }));
    loop {
        let job = tokio::select! {
            j = jobs.recv() => match j { Some(j) => j, None => break },
            _ = tick.tick() => {
                // Most workers keep nothing alive: no allocation, config or global lock on
                // their tick.
                if listening || links.values().any(|k| k.keepalive.is_some()) {
                    Box::pin(keep_alive(&shared, &connection, &mut links)).await;
                }
                continue;
            }
            _ = stop.changed() => break,
        };
        if *stop.borrow() {
            break;
        }
        // Boxed: the run's state exists only while it runs, so 10,000 idle workers stay small.
        let (ok, summary) = Box::pin(run_job(&shared, &connection, &job, &mut links)).await;
        lock(&shared.in_flight).remove(&job.key);
        if let Some(reply) = job.reply {
            let _ = reply.send(if ok { Ok(summary) } else { Err(summary) });
        }
        let config = shared.config();
        if let Some(req) = config.requests.iter().find(|r| r.name == job.request) {
            lock(&shared.status)
                .requests
                .entry(req.name.clone())
                .or_default()
                .completed += 1;
            let event = if ok { &req.on_success } else { &req.on_failure };
            if let Some(e) = event {
                fire_event(&shared, e);
            }
        }
    }
    for (meter, k) in links {
        Box::pin(close_link(*k.session, &meter)).await;
    }
}

/// Runs one job (a request on the meters of one connection); returns true if all was read,
/// and a one-line summary.
async fn run_job(
    shared: &Arc<Shared>,
    connection: &str,
    job: &Job,
    links: &mut Links,
) -> (bool, String) {
    let config = shared.config();
    let Some(req) = config.requests.iter().find(|r| r.name == job.request) else {
        return (
            false,
            format!("request {:?} is no longer in the queue", job.request),
        );
    };
    let Some(conn) = config.connection(connection) else {
        return (
            false,
            format!("connection {connection:?} is no longer in the queue"),
        );
    };
    let mut summaries = Vec::new();
    let poll = shared.poll.fetch_add(1, Ordering::Relaxed);
    let mut rows = Vec::new();
    let mut all_ok = true;
    for mname in &job.meters {
        let Some(m) = config.meter(mname) else {
            continue;
        };
        let run = run_meter(
            req,
            conn,
            m,
            poll,
            trace_sink(shared, &m.name),
            shared,
            links,
        )
        .await;
        all_ok &= run.error.is_none() && read::all_ok(&run.rows);
        let now = Utc::now();
        let mut st = lock(&shared.status);
        let ms = st.meters.entry(m.name.clone()).or_default();
        match &run.error {
            None => {
                ms.last_success = Some(now);
                ms.rtt = run.rtt;
                ms.ok += 1;
            }
            Some(e) => {
                ms.last_error = Some((now, e.clone()));
                ms.failed += 1;
            }
        }
        drop(st);
        match &run.error {
            None => {
                let s = summary(&run.rows);
                tracing::info!("{} {}: {s}", req.name, m.name);
                summaries.push(format!("{}: {s}", m.name));
            }
            Some(e) => summaries.push(format!("{}: {e}", m.name)),
        }
        rows.extend(run.rows);
    }
    store(shared, req, poll, rows).await;
    (all_ok, summaries.join("; "))
}

/// `voltage L1 = 229.3 V, serial number = 12345678, load: 96 rows`, for the log.
fn summary(rows: &[Reading]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let profile_rows = rows.iter().filter(|r| r.profile).count();
    for r in rows.iter().filter(|r| !r.profile).take(8) {
        let value = match (&r.value, &r.text) {
            _ if r.is_failure() => format!("error: {}", r.status),
            (Some(v), _) => format!(
                "{v}{}",
                r.unit
                    .as_deref()
                    .map(|u| format!(" {u}"))
                    .unwrap_or_default()
            ),
            (None, Some(t)) => t.chars().take(40).collect(),
            (None, None) => "-".into(),
        };
        parts.push(format!("{} = {value}", r.item));
    }
    if profile_rows > 0 {
        parts.push(format!("{profile_rows} profile values"));
    }
    parts.join(", ")
}

/// An association kept open between runs (persistent connections, meters that dialed in).
struct Kept {
    /// Boxed: the map of kept links (one per worker) then holds pointers, not sessions.
    session: Box<crate::engine::Session<crate::transport::BoxStream>>,
    /// How often to touch the link so the meter's HDLC inactivity timeout never expires.
    keepalive: Option<Duration>,
    last_used: std::time::Instant,
}

/// Kept associations, per meter.
type Links = HashMap<String, Kept>;

/// Half the meter's HDLC inactivity timeout (IEC HDLC setup, attribute 8), when it has one.
async fn keepalive_of(
    session: &mut crate::engine::Session<crate::transport::BoxStream>,
    m: &crate::queue::Meter,
) -> Option<Duration> {
    if m.interface != crate::queue::InterfaceKind::Hdlc {
        return None;
    }
    let setup = crate::dlms::client::AttributeRef::new(
        23,
        crate::dlms::obis::Obis::new(0, 0, 22, 0, 0, 255),
        8,
    );
    let secs = session
        .read(&[setup])
        .await
        .ok()?
        .into_iter()
        .next()?
        .ok()?
        .as_i128()?;
    // 0 means "no inactivity timeout".
    (secs > 0).then(|| Duration::from_millis((secs as u64 * 1000 / 2).max(500)))
}

/// Touches every kept link whose keep-alive is due (a clock read); drops those that fail.
async fn keep_alive(shared: &Arc<Shared>, connection: &str, links: &mut Links) {
    let config = shared.config();
    let due = |k: &Kept| {
        k.keepalive
            .is_some_and(|every| k.last_used.elapsed() >= every)
    };
    let mut names: Vec<String> = links
        .iter()
        .filter(|(_, k)| due(k))
        .map(|(n, _)| n.clone())
        .collect();
    let incoming: Vec<String> = lock(&shared.dialed_in)
        .iter()
        .filter(|(n, k)| due(k) && config.meter(n).is_some_and(|m| m.connection == connection))
        .map(|(n, _)| n.clone())
        .collect();
    names.extend(incoming.iter().cloned());
    for name in names {
        let from_dial = incoming.contains(&name);
        let taken = if from_dial {
            lock(&shared.dialed_in).remove(&name)
        } else {
            links.remove(&name)
        };
        let Some(mut k) = taken else { continue };
        let timeout = config.meter(&name).map_or(5000, |m| m.timeout_ms);
        let clock = crate::dlms::client::AttributeRef::new(
            8,
            crate::dlms::obis::Obis::new(0, 0, 1, 0, 0, 255),
            2,
        );
        match tokio::time::timeout(Duration::from_millis(timeout), k.session.read(&[clock])).await {
            Ok(Ok(_)) => {
                k.last_used = std::time::Instant::now();
                let poll = shared.poll.fetch_add(1, Ordering::Relaxed);
                let pushes = listen::session_pushes(&mut k.session, &name, poll);
                if !pushes.is_empty() {
                    if let Err(e) = persist(shared, pushes).await {
                        tracing::error!("push from meter {name}: rows not stored yet: {e}");
                    }
                }
                if from_dial {
                    lock(&shared.dialed_in).insert(name, k);
                } else {
                    links.insert(name, k);
                }
            }
            _ => {
                tracing::info!(
                    "meter {name}: keep-alive failed; the link will be reopened when needed"
                );
                close_link(*k.session, &name).await;
            }
        }
    }
}

/// Releases an association (which keeps the meter's counter floor).
async fn close_link(session: crate::engine::Session<crate::transport::BoxStream>, meter: &str) {
    if let Err(e) = session.close().await {
        tracing::debug!("meter {meter}: release: {e}");
    }
}

/// The newest stored capture time of each profile item of `req` for `m` (items with an
/// explicit time range read that range instead).
fn last_captures(shared: &Shared, req: &Request, m: &crate::queue::Meter) -> HashMap<String, i64> {
    let profiles: Vec<&crate::queue::Item> = req
        .items
        .iter()
        .filter(|i| {
            i.enabled
                && i.class_id == 7
                && i.attribute == 2
                && i.since.is_none()
                && i.until.is_none()
        })
        .collect();
    if profiles.is_empty() {
        return HashMap::new();
    }
    let mut query = lock(&shared.query);
    if query.is_none() {
        *query = crate::store::Store::open(shared.writer.path()).ok();
    }
    let Some(store) = query.as_ref() else {
        return HashMap::new();
    };
    profiles
        .into_iter()
        .filter_map(|i| {
            store
                .last_profile_capture(&m.name, &i.name)
                .ok()
                .flatten()
                .map(|ts| (i.name.clone(), ts))
        })
        .collect()
}

/// Reads one meter with retries inside the request's timeout.
async fn run_meter(
    req: &Request,
    conn: &crate::queue::Connection,
    m: &crate::queue::Meter,
    poll: i64,
    trace: crate::engine::TraceSink,
    shared: &Shared,
    links: &mut Links,
) -> read::MeterRun {
    let (counters, dialed_in) = (&shared.counters, &shared.dialed_in);
    let last = last_captures(shared, req, m);
    // One sink for every attempt: the engine takes it by value, so share it behind a lock.
    let trace = Arc::new(Mutex::new(trace));
    let deadline = tokio::time::Instant::now() + Duration::from_millis(req.timeout_ms);
    let incoming = matches!(conn.link, crate::queue::Link::Listen { .. });
    let persistent = incoming
        || matches!(
            conn.link,
            crate::queue::Link::Tcp {
                persistent: true,
                ..
            }
        );
    if incoming && !lock(dialed_in).contains_key(&m.name) {
        let error = format!(
            "meter {} has not dialed in (it is on the listening connection {})",
            m.name, conn.name
        );
        return read::MeterRun {
            rows: read::failure_rows(req, m, poll, &error),
            associated: false,
            rtt: None,
            error: Some(error),
        };
    }
    let mut attempt = 0;
    loop {
        let sink = trace.clone();
        // A persistent connection reuses the association of the last run; when the meter
        // dropped it meanwhile (its inactivity timeout), we reconnect at once, without
        // spending a retry.
        let cached = match (incoming, persistent) {
            (true, _) => lock(dialed_in).remove(&m.name),
            (false, true) => links.remove(&m.name),
            _ => None,
        };
        let reused = cached.is_some();
        if incoming && cached.is_none() {
            let error = format!(
                "meter {}'s incoming link dropped; it must dial in again",
                m.name
            );
            return read::MeterRun {
                rows: read::failure_rows(req, m, poll, &error),
                associated: false,
                rtt: None,
                error: Some(error),
            };
        }
        let work = async {
            let (mut session, keepalive) = match cached {
                Some(k) => (*k.session, k.keepalive),
                None => {
                    // Boxed, like the other rare steps, so a waiting worker stays small.
                    let mut s = Box::pin(read::open_secure(
                        conn,
                        m,
                        counters,
                        Some(Box::new(move |e| (lock(&sink))(e))),
                    ))
                    .await?;
                    let keepalive = if persistent {
                        Box::pin(keepalive_of(&mut s, m)).await
                    } else {
                        None
                    };
                    (s, keepalive)
                }
            };
            if lock(&shared.no_with_list).contains(&m.name) {
                session.disable_with_list();
            }
            let rows = read::read_items(&mut session, req, m, poll, &last)
                .await
                .map(|mut rows| {
                    // Pushes the meter sent meanwhile are logged with this run.
                    rows.extend(listen::session_pushes(&mut session, &m.name, poll));
                    rows
                });
            if !session.uses_with_list() && lock(&shared.no_with_list).insert(m.name.clone()) {
                tracing::warn!(
                    "meter {}: its GET-with-list answers are broken; its items are read one by one from now on",
                    m.name
                );
            }
            let rtt = session.last_rtt;
            if persistent && rows.is_ok() {
                return Ok::<_, crate::engine::EngineError>((
                    rows?,
                    rtt,
                    Some(Kept {
                        session: Box::new(session),
                        keepalive,
                        last_used: std::time::Instant::now(),
                    }),
                ));
            }
            Box::pin(close_link(session, &m.name)).await;
            Ok((rows?, rtt, None))
        };
        let mut stopping = shared.stopping.subscribe();
        let cut_off = async move {
            let _ = stopping.wait_for(|s| *s).await;
            tokio::time::sleep(STOP_GRACE).await;
        };
        let outcome = tokio::select! {
            r = tokio::time::timeout_at(deadline, work) => Some(r),
            _ = cut_off => None,
        };
        let Some(outcome) = outcome else {
            let error = "the logger stopped before the meter answered".to_string();
            tracing::warn!("request {} meter {}: {error}", req.name, m.name);
            return read::MeterRun {
                rows: read::failure_rows(req, m, poll, &error),
                associated: false,
                rtt: None,
                error: Some(error),
            };
        };
        let error = match outcome {
            Ok(Ok((rows, rtt, keep))) => {
                if let Some(open) = keep {
                    if incoming {
                        lock(dialed_in).insert(m.name.clone(), open);
                    } else {
                        links.insert(m.name.clone(), open);
                    }
                }
                if let Some(l) = lock(&shared.failure_log).remove(&m.name) {
                    drop(l);
                    tracing::info!("request {} meter {}: answering again", req.name, m.name);
                }
                return read::MeterRun {
                    rows,
                    associated: true,
                    rtt: Some(rtt),
                    error: None,
                };
            }
            Ok(Err(e)) if reused && !incoming => {
                tracing::info!(
                    "meter {}: the kept association is gone ({e}); reconnecting",
                    m.name
                );
                continue;
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("request timed out after {} ms", req.timeout_ms),
        };
        let backoff = Duration::from_millis(200u64 << attempt.min(5));
        let timed_out = tokio::time::Instant::now() + backoff >= deadline;
        let stopping = *shared.stopping.borrow();
        if attempt >= m.retries || timed_out || stopping {
            let error = if stopping && attempt < m.retries {
                format!("{error}; not tried again: the logger is stopping")
            } else {
                error
            };
            let error = if attempt > 0 {
                format!("{error} (after {} tries)", attempt + 1)
            } else {
                error
            };
            // A meter that keeps failing the same way (a serial adapter unplugged) is said
            // once, then at most once a minute with a count; its failure rows are stored each time.
            let line = format!("request {} meter {}: {error}", req.name, m.name);
            let said = lock(&shared.failure_log)
                .entry(m.name.clone())
                .or_insert_with(|| {
                    crate::transport::retry::LogLimiter::new(Duration::from_secs(60))
                })
                .note(&line);
            if let Some(line) = said {
                tracing::warn!("{line}");
            }
            return read::MeterRun {
                rows: read::failure_rows(req, m, poll, &error),
                associated: false,
                rtt: None,
                error: Some(error),
            };
        }
        tracing::debug!(
            "request {} meter {}: {error}; retrying in {}",
            req.name,
            m.name,
            crate::text::duration(backoff)
        );
        // A stop cuts the pause short; the loop then gives up instead of trying again.
        let mut stop = shared.stopping.subscribe();
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = stop.wait_for(|s| *s) => {
                let error = format!("{error}; not tried again: the logger is stopping");
                tracing::warn!("request {} meter {}: {error}", req.name, m.name);
                return read::MeterRun {
                    rows: read::failure_rows(req, m, poll, &error),
                    associated: false,
                    rtt: None,
                    error: Some(error),
                };
            }
        }
        attempt += 1;
    }
}

/// Writes a run's rows in one transaction; logs "stored" only once they are committed.
async fn store(shared: &Arc<Shared>, req: &Request, poll: i64, rows: Vec<Reading>) {
    if rows.is_empty() {
        return;
    }
    let failures = rows.iter().filter(|r| r.is_failure()).count() as u64;
    let result = persist(shared, rows).await;
    let mut st = lock(&shared.status);
    match result {
        Ok(n) => {
            st.rows_stored += n as u64;
            st.failures_stored += failures;
            st.store_error = None;
            drop(st);
            tracing::info!("stored {n} rows of request {} (poll {poll})", req.name);
        }
        Err(e) => {
            st.store_error = Some(e.clone());
            drop(st);
            // Said once, then at most once a minute: a full disk refuses every run.
            let cause = e.split("; kept in memory").next().unwrap_or(&e);
            if lock(&shared.refuse_log).note(cause).is_some() {
                tracing::error!(
                    "request {} (poll {poll}): rows not stored yet: {e}",
                    req.name
                );
            }
        }
    }
}

/// Writes `rows` in one transaction, after any rows an earlier failure parked; returns how many
/// of `rows` were stored. Rows the store refuses are parked for the next write (spilled to a
/// file beyond the bound), never dropped: the error says where they are.
async fn persist(shared: &Arc<Shared>, rows: Vec<Reading>) -> Result<usize, String> {
    let paused = lock(&shared.refused_at).is_some_and(|t| t.elapsed() < STORE_PAUSE);
    if paused {
        // The store refused rows a moment ago (a full disk): keep these without asking it
        // again, so polling goes on at its pace.
        park(shared, rows).await;
        let waiting = lock(&shared.parked).len();
        let last = lock(&shared.status).store_error.clone().unwrap_or_default();
        let last = last
            .split("; kept in memory")
            .next()
            .unwrap_or_default()
            .to_string();
        return Err(format!(
            "{last}; kept in memory with the others not stored yet ({waiting} rows), written \
             with the next batch"
        ));
    }
    let earlier = lock(&shared.parked).take();
    let (n_earlier, n) = (earlier.len(), rows.len());
    let writer = shared.writer.clone();
    let earlier_failed = earlier.iter().filter(|r| r.is_failure()).count() as u64;
    let done = tokio::task::spawn_blocking(move || {
        let first = (!earlier.is_empty()).then(|| writer.write_or_return(earlier));
        (first, writer.write_or_return(rows))
    })
    .await;
    let (first, now) = match done {
        Ok(d) => d,
        Err(e) => {
            let lost = n + n_earlier;
            tracing::error!("{lost} rows LOST: the writer task failed: {e}");
            return Err(format!("{lost} rows lost: the writer task failed: {e}"));
        }
    };
    match first {
        Some(Ok(k)) => {
            let mut st = lock(&shared.status);
            st.rows_stored += k as u64;
            st.failures_stored += earlier_failed;
            drop(st);
            tracing::info!("stored {k} rows kept from an earlier store failure");
        }
        Some(Err(refused)) => {
            *lock(&shared.refused_at) = Some(std::time::Instant::now());
            park(shared, refused.rows).await
        }
        None => {}
    }
    match now {
        Ok(k) => {
            *lock(&shared.refused_at) = None;
            Ok(k)
        }
        Err(refused) => {
            *lock(&shared.refused_at) = Some(std::time::Instant::now());
            let e = refused.error;
            park(shared, refused.rows).await;
            let waiting = lock(&shared.parked).len();
            Err(format!(
                "{e}; kept in memory with the others not stored yet ({waiting} rows), written \
                 with the next batch"
            ))
        }
    }
}

/// Parks `rows` for the next write; beyond the bound they go to the spill file.
async fn park(shared: &Arc<Shared>, rows: Vec<Reading>) {
    let overflow = lock(&shared.parked).park(rows);
    if overflow.is_empty() {
        return;
    }
    let n = overflow.len();
    let spill = shared.spill.clone();
    let why = match tokio::task::spawn_blocking(move || parked::spill_rows(&spill, &overflow)).await
    {
        Ok(Ok(path)) => {
            let line = format!(
                "rows beyond the in-memory bound go to {} (stored at the next start)",
                path.display()
            );
            if let Some(l) = lock(&shared.store_log).note(&line) {
                tracing::warn!("{l}");
            }
            return;
        }
        Ok(Err(e)) => e.to_string(),
        Err(e) => format!("the spill task failed: {e}"),
    };
    let mut st = lock(&shared.status);
    st.rows_dropped += n as u64;
    let total = st.rows_dropped;
    st.store_error = Some(format!(
        "rows are being DROPPED: the store refuses them, memory holds its bound and {why}"
    ));
    drop(st);
    let line = format!(
        "rows DROPPED: not stored, memory at its bound, and {why}; free space there or give \
         run --spill a path on another filesystem"
    );
    if let Some(l) = lock(&shared.store_log).note(&line) {
        tracing::error!("{l} ({total} rows dropped so far)");
    }
}
