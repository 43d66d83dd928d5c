//! Connections started and stopped one by one, while the runner runs: a logger in a fleet
//! (`fleet/`) runs only the connections whose lease it holds.
//!
//! With [`RunnerOptions::leased`] the runner starts no connection by itself: schedules fire as
//! usual, but a fire finds a worker only on the connections started here. Stopping one is done
//! in an order that never lets two loggers talk to one meter: no new job reaches its worker,
//! the worker is told to stop (a run in progress finishes), and after `patience` whatever is
//! still running is aborted; only when every task of the connection has ended — its links
//! closed, their sockets dropped — does [`stop`] return, and only then may the caller give
//! the connection's lease away.

use super::*;
use tokio::task::JoinHandle;

/// The tasks of one started connection.
pub(super) struct Held {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// A connection's lease: valid until this instant (moved forward at each renewal). Its worker
/// starts a job only while the lease is valid for [`LEASE_MARGIN`] more.
pub type LeaseGate = watch::Receiver<tokio::time::Instant>;

/// A job starts only on a lease valid for at least this long more.
pub const LEASE_MARGIN: Duration = Duration::from_secs(2);

/// Starts connection `name` of the running queue (its worker, its listener or its passive
/// task). False when it is not in the queue, disabled, or running already.
pub(super) fn start(shared: &Arc<Shared>, name: &str, gate: Option<LeaseGate>) -> bool {
    let config = shared.config();
    let Some(c) = config.connection(name).filter(|c| c.enabled) else {
        return false;
    };
    let mut held = lock(&shared.held);
    if held.contains_key(name) {
        return false;
    }
    let (stop, stop_rx) = watch::channel(false);
    let mut tasks = Vec::new();
    if c.passive {
        tasks.push(tokio::spawn(passive::run(
            shared.clone(),
            c.name.clone(),
            stop_rx,
        )));
    } else {
        let (tx, rx) = super::mailbox::channel();
        lock(&shared.workers).insert(c.name.clone(), tx);
        tasks.push(tokio::spawn(worker(
            shared.clone(),
            c.name.clone(),
            rx,
            stop_rx.clone(),
            gate,
        )));
        if let crate::queue::Link::Listen { host, port } = &c.link {
            tasks.push(tokio::spawn(listen::serve(
                shared.clone(),
                c.name.clone(),
                host.clone(),
                *port,
                stop_rx,
            )));
        }
    }
    held.insert(c.name.clone(), Held { stop, tasks });
    true
}

/// Stops connection `name` and returns once all its tasks have ended (a run in progress gets
/// `patience`, then is aborted; its rows are then not stored). False when it was not started.
pub(super) async fn stop(shared: &Arc<Shared>, name: &str, patience: Duration) -> bool {
    // First: no new job can reach the worker.
    lock(&shared.workers).remove(name);
    let Some(Held { stop, tasks }) = lock(&shared.held).remove(name) else {
        return false;
    };
    let _ = stop.send(true);
    let deadline = tokio::time::Instant::now() + patience;
    for mut task in tasks {
        if tokio::time::timeout_at(deadline, &mut task).await.is_err() {
            task.abort();
            // An aborted task ends at its next await: its sockets are dropped (closed) then.
            let _ = task.await;
            tracing::warn!("connection {name}: its run was cut short to hand it over");
        }
    }
    // Meters that dialed in on it: their links close with it.
    let config = shared.config();
    let dialed: Vec<Kept> = {
        let mut d = lock(&shared.dialed_in);
        let names: Vec<String> = d
            .keys()
            .filter(|m| config.meter(m).is_some_and(|m| m.connection == name))
            .cloned()
            .collect();
        names.into_iter().filter_map(|n| d.remove(&n)).collect()
    };
    for k in dialed {
        drop(k);
    }
    // Fires queued or running on it are forgotten, so the next holder's fires are not
    // coalesced with runs that will never finish here.
    let prefix = format!("{name}\u{0}");
    lock(&shared.in_flight).retain(|(_, c)| c != name && !c.starts_with(&prefix));
    lock(&shared.fired_at).retain(|(_, c), _| c != name && !c.starts_with(&prefix));
    true
}

/// The connections started, sorted.
pub(super) fn names(shared: &Shared) -> Vec<String> {
    let mut v: Vec<String> = lock(&shared.held).keys().cloned().collect();
    v.sort();
    v
}
