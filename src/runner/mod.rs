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
pub mod read;

use crate::queue::{Config, Request};
use crate::schedule::Schedule;
use crate::store::{Reading, WriterHandle};
use chrono::{DateTime, Local, Utc};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
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

#[derive(Debug)]
struct Job {
    request: String,
    meters: Vec<String>,
}

struct Shared {
    config: Config,
    start: DateTime<Local>,
    writer: WriterHandle,
    poll: AtomicI64,
    workers: HashMap<String, mpsc::UnboundedSender<Job>>,
    in_flight: Mutex<HashSet<(String, String)>>,
    status: Mutex<Status>,
}

/// The running logger.
pub struct Runner {
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl Runner {
    /// Starts schedulers and workers for `config`; poll ids start at `first_poll`.
    pub fn start(config: Config, writer: WriterHandle, first_poll: i64) -> Runner {
        let (stop, stop_rx) = watch::channel(false);
        let mut tasks = JoinSet::new();
        let mut receivers = Vec::new();
        let mut workers = HashMap::new();
        for c in config.connections.iter().filter(|c| c.enabled) {
            let (tx, rx) = mpsc::unbounded_channel();
            workers.insert(c.name.clone(), tx);
            receivers.push((c.name.clone(), rx));
        }
        let shared = Arc::new(Shared {
            config,
            start: Local::now(),
            writer,
            poll: AtomicI64::new(first_poll),
            workers,
            in_flight: Mutex::new(HashSet::new()),
            status: Mutex::new(Status::default()),
        });
        for (name, rx) in receivers {
            tasks.spawn(worker(shared.clone(), name, rx, stop_rx.clone()));
        }
        // Fires due at startup go out now, in queue order, so that a link runs them in the
        // order the operator listed them; the schedulers take over from the start instant.
        let start = shared.start;
        let before = start - chrono::Duration::milliseconds(1);
        for r in shared.config.requests.iter().filter(|r| r.enabled) {
            if matches!(r.schedule, Schedule::Event(_)) {
                continue;
            }
            if r.schedule.next_after(&before, &start) == Some(start) {
                fire(&shared, &r.name, Cause::Schedule);
            }
            tasks.spawn(scheduler(shared.clone(), r.name.clone(), stop_rx.clone()));
        }
        Runner {
            shared,
            stop,
            tasks,
        }
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
        while self.tasks.join_next().await.is_some() {}
    }
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
        fire(&self.shared, request, Cause::Manual)
    }

    /// A snapshot of meters, requests and store counters.
    pub fn status(&self) -> Status {
        lock(&self.shared.status).clone()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic elsewhere must not stop the logger: the data under the lock is plain counters.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn fire_event(shared: &Arc<Shared>, name: &str) -> usize {
    let names: Vec<String> = shared
        .config
        .requests
        .iter()
        .filter(|r| r.enabled && matches!(&r.schedule, Schedule::Event(e) if e == name))
        .map(|r| r.name.clone())
        .collect();
    for n in &names {
        fire(shared, n, Cause::Event(name.to_string()));
    }
    names.len()
}

/// Queues a run of `request` on each connection its meters use; coalesces with runs in flight.
fn fire(shared: &Arc<Shared>, request: &str, cause: Cause) -> bool {
    let Some(req) = shared
        .config
        .requests
        .iter()
        .find(|r| r.name == request && r.enabled)
    else {
        return false;
    };
    let mut by_conn: Vec<(String, Vec<String>)> = Vec::new();
    for mname in &req.meters {
        let Some(m) = shared.config.meter(mname).filter(|m| m.enabled) else {
            continue;
        };
        match by_conn.iter_mut().find(|(c, _)| *c == m.connection) {
            Some((_, ms)) => ms.push(m.name.clone()),
            None => by_conn.push((m.connection.clone(), vec![m.name.clone()])),
        }
    }
    for (conn, meters) in by_conn {
        let Some(tx) = shared.workers.get(&conn) else {
            continue;
        };
        let key = (req.name.clone(), conn.clone());
        let fresh = lock(&shared.in_flight).insert(key.clone());
        let mut st = lock(&shared.status);
        let rs = st.requests.entry(req.name.clone()).or_default();
        rs.fired += 1;
        if !fresh {
            rs.skipped += 1;
            tracing::info!(
                "request {} on {conn}: still running, fire ({cause:?}) skipped",
                req.name
            );
            continue;
        }
        drop(st);
        if tx
            .send(Job {
                request: req.name.clone(),
                meters,
            })
            .is_err()
        {
            lock(&shared.in_flight).remove(&key);
        }
    }
    true
}

async fn scheduler(shared: Arc<Shared>, request: String, mut stop: watch::Receiver<bool>) {
    let Some(schedule) = shared
        .config
        .requests
        .iter()
        .find(|r| r.name == request)
        .map(|r| r.schedule.clone())
    else {
        return;
    };
    let start = shared.start;
    // Fires at the start instant itself were sent by `Runner::start`.
    let mut after = start;
    loop {
        let Some(next) = schedule.next_after(&after, &start) else {
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
        fire(&shared, &request, Cause::Schedule);
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
    mut jobs: mpsc::UnboundedReceiver<Job>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let job = tokio::select! {
            j = jobs.recv() => match j { Some(j) => j, None => return },
            _ = stop.changed() => return,
        };
        if *stop.borrow() {
            return;
        }
        let ok = run_job(&shared, &connection, &job).await;
        lock(&shared.in_flight).remove(&(job.request.clone(), connection.clone()));
        if let Some(req) = shared
            .config
            .requests
            .iter()
            .find(|r| r.name == job.request)
        {
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
}

/// Runs one job (a request on the meters of one connection); returns true if all was read.
async fn run_job(shared: &Arc<Shared>, connection: &str, job: &Job) -> bool {
    let Some(req) = shared
        .config
        .requests
        .iter()
        .find(|r| r.name == job.request)
    else {
        return false;
    };
    let Some(conn) = shared.config.connection(connection) else {
        return false;
    };
    let poll = shared.poll.fetch_add(1, Ordering::Relaxed);
    let mut rows = Vec::new();
    let mut all_ok = true;
    for mname in &job.meters {
        let Some(m) = shared.config.meter(mname) else {
            continue;
        };
        let run = run_meter(req, conn, m, poll).await;
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
        if run.error.is_none() {
            tracing::info!("{} {}: {}", req.name, m.name, summary(&run.rows));
        }
        rows.extend(run.rows);
    }
    store(shared, req, poll, rows).await;
    all_ok
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

/// Reads one meter with retries inside the request's timeout.
async fn run_meter(
    req: &Request,
    conn: &crate::queue::Connection,
    m: &crate::queue::Meter,
    poll: i64,
) -> read::MeterRun {
    let deadline = tokio::time::Instant::now() + Duration::from_millis(req.timeout_ms);
    let mut attempt = 0;
    loop {
        let work = async {
            let mut session = read::open(conn, m).await?;
            let rows = read::read_items(&mut session, req, m, poll).await?;
            let rtt = session.last_rtt;
            if let Err(e) = session.close().await {
                tracing::debug!("meter {}: release: {e}", m.name);
            }
            Ok::<_, crate::engine::EngineError>((rows, rtt))
        };
        let error = match tokio::time::timeout_at(deadline, work).await {
            Ok(Ok((rows, rtt))) => {
                return read::MeterRun {
                    rows,
                    associated: true,
                    rtt: Some(rtt),
                    error: None,
                };
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => format!("request timed out after {} ms", req.timeout_ms),
        };
        let backoff = Duration::from_millis(200u64 << attempt.min(5));
        let timed_out = tokio::time::Instant::now() + backoff >= deadline;
        if attempt >= m.retries || timed_out {
            let error = if attempt > 0 {
                format!("{error} (after {} tries)", attempt + 1)
            } else {
                error
            };
            tracing::warn!("request {} meter {}: {error}", req.name, m.name);
            return read::MeterRun {
                rows: read::failure_rows(req, m, poll, &error),
                associated: false,
                rtt: None,
                error: Some(error),
            };
        }
        tracing::debug!(
            "request {} meter {}: {error}; retrying in {backoff:?}",
            req.name,
            m.name
        );
        tokio::time::sleep(backoff).await;
        attempt += 1;
    }
}

/// Writes a run's rows in one transaction; logs "stored" only once they are committed.
async fn store(shared: &Arc<Shared>, req: &Request, poll: i64, rows: Vec<Reading>) {
    if rows.is_empty() {
        return;
    }
    let failures = rows.iter().filter(|r| r.is_failure()).count() as u64;
    let writer = shared.writer.clone();
    let result = tokio::task::spawn_blocking(move || writer.write(rows)).await;
    let mut st = lock(&shared.status);
    match result {
        Ok(Ok(n)) => {
            st.rows_stored += n as u64;
            st.failures_stored += failures;
            st.store_error = None;
            drop(st);
            tracing::info!("stored {n} rows of request {} (poll {poll})", req.name);
        }
        Ok(Err(e)) => {
            st.store_error = Some(e.to_string());
            drop(st);
            tracing::error!("request {} (poll {poll}): rows NOT stored: {e}", req.name);
        }
        Err(e) => {
            tracing::error!(
                "request {} (poll {poll}): rows NOT stored: writer task failed: {e}",
                req.name
            );
        }
    }
}
