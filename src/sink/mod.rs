//! Data out: sinks that receive every logged reading and failure besides the log (an MQTT
//! broker, with Home Assistant discovery).
//!
//! The runner hands each batch the store has committed to [`Sinks::send`], which never
//! waits: each sink has a bounded channel to a thread of its own, which writes the messages
//! to the persistent outbox (`store::outbox`, `<db>.outbox`) and delivers them from there in
//! order, removing each once the broker has acknowledged it (QoS 1). A broker that is away
//! costs nothing but outbox space: the messages wait, bounded, and are replayed in order when
//! it returns. What is dropped (a full channel, the outbox at its bound) is counted in the
//! sink's [`SinkState`], shown by the TUI's status bar and `dlms-logger status`.

pub mod discovery;
pub mod message;
mod mqtt;
mod state;

pub use state::SinkState;

use crate::queue::{Sink, SinkKind};
use crate::store::Record;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// Batches waiting for one sink's thread; beyond, batches are dropped and counted.
const CHANNEL_BATCHES: usize = 4096;

/// How long a stopping sink keeps delivering what waits before leaving it in the outbox.
pub const STOP_FLUSH: Duration = Duration::from_secs(2);

/// One running sink: its channel, its state, its thread.
struct Running {
    config: Sink,
    tx: mpsc::Sender<Arc<Vec<Record>>>,
    state: Arc<Mutex<SinkState>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// The running sinks of a queue.
pub struct Sinks {
    running: Vec<Running>,
    stop: watch::Sender<bool>,
}

impl Sinks {
    /// No sinks.
    pub fn none() -> Sinks {
        Sinks {
            running: Vec::new(),
            stop: watch::channel(false).0,
        }
    }

    /// Starts a thread per enabled sink; their outbox is the file at `outbox`.
    pub fn start(sinks: &[Sink], outbox: &Path) -> Sinks {
        let (stop, stop_rx) = watch::channel(false);
        let mut running = Vec::new();
        for s in sinks.iter().filter(|s| s.enabled) {
            let (tx, rx) = mpsc::channel(CHANNEL_BATCHES);
            let state = Arc::new(Mutex::new(SinkState::new(s)));
            let thread = match &s.kind {
                SinkKind::Mqtt(m) => mqtt::spawn(
                    s.name.clone(),
                    m.clone(),
                    outbox.to_path_buf(),
                    rx,
                    state.clone(),
                    stop_rx.clone(),
                ),
            };
            let thread = match thread {
                Ok(t) => Some(t),
                Err(e) => {
                    let text = format!("cannot start the sink's thread: {e}");
                    tracing::error!("sink {}: {text}", s.name);
                    lock(&state).last_error = Some(text);
                    None
                }
            };
            running.push(Running {
                config: s.clone(),
                tx,
                state,
                thread,
            });
        }
        Sinks { running, stop }
    }

    /// True when no sink runs (the runner then keeps no copy of its rows).
    pub fn is_empty(&self) -> bool {
        self.running.is_empty()
    }

    /// The configured sinks these run.
    pub fn configs(&self) -> Vec<Sink> {
        self.running.iter().map(|r| r.config.clone()).collect()
    }

    /// Hands stored rows to every sink; never waits. A sink whose channel is full drops the
    /// batch and counts its rows.
    pub fn send(&self, rows: Arc<Vec<Record>>) {
        for r in &self.running {
            if let Err(e) = r.tx.try_send(rows.clone()) {
                let n = rows.len() as u64;
                let mut st = lock(&r.state);
                st.dropped += n;
                let why = match e {
                    mpsc::error::TrySendError::Full(_) => "its queue is full",
                    mpsc::error::TrySendError::Closed(_) => "it has stopped",
                };
                st.last_error = Some(format!("{n} rows not handed to the sink: {why}"));
            }
        }
    }

    /// Each sink's state now.
    pub fn states(&self) -> Vec<SinkState> {
        self.running
            .iter()
            .map(|r| lock(&r.state).clone())
            .collect()
    }

    /// Stops every sink: each delivers what waits for up to [`STOP_FLUSH`], keeps the rest in
    /// its outbox for the next start, and its thread ends. Blocks until they have.
    pub fn shutdown(mut self) {
        self.stop.send_replace(true);
        for r in &mut self.running {
            if let Some(t) = r.thread.take() {
                if t.join().is_err() {
                    tracing::error!("sink {}: its thread failed", r.config.name);
                }
            }
        }
    }
}

impl Drop for Sinks {
    fn drop(&mut self) {
        // Threads not joined by `shutdown` still stop and keep their outbox.
        self.stop.send_replace(true);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
