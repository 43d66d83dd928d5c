//! Why an action asked of the runner (by the UI or the control socket) did not happen.

use crate::engine::probe::ProbeError;
use crate::engine::EngineError;
use thiserror::Error;

/// Why a test, an object read, a probe or a run now did not happen or failed.
#[derive(Debug, Error)]
pub enum RunnerError {
    /// No enabled request of that name in the running queue.
    #[error("request {0:?} is not in the running queue or is disabled")]
    NoRequest(String),
    /// No meter of that name in the running queue.
    #[error("there is no meter {0:?} in the running queue")]
    NoMeter(String),
    /// No connection of that name in the running queue.
    #[error("there is no connection {0:?} in the running queue")]
    NoConnection(String),
    /// The connection is disabled, so it has no worker to do it.
    #[error("connection {0:?} is disabled, so nothing is sent over it")]
    Disabled(String),
    /// The same request on the same link was still queued or running.
    #[error("the run was skipped: the previous run is still going")]
    Skipped,
    /// The worker went away before answering (the logger is stopping or reloading).
    #[error("the logger stopped or reloaded its queue before this was done")]
    Stopped,
    /// A meter on a listening connection that is not connected now.
    #[error("meter {meter} has not dialed in (it is on the listening connection {connection})")]
    NotDialedIn {
        /// The meter.
        meter: String,
        /// Its listening connection.
        connection: String,
    },
    /// A listening connection cannot be probed: meters call it.
    #[error("connection {0:?} listens for meters that dial in; there is nothing to probe")]
    CannotProbe(String),
    /// Talking to the meter failed.
    #[error("{0}")]
    Engine(#[from] EngineError),
    /// Probing found no meter.
    #[error("{0}")]
    Probe(#[from] ProbeError),
    /// A run ended with failures: its one-line summary.
    #[error("{0}")]
    Failed(String),
}

/// Why rows of a run are not in the store yet. They are never dropped by this: they wait in
/// memory (or the spill file) and are written with the next batch.
#[derive(Debug, Error)]
pub enum NotStored {
    /// The store refused them (locked, full disk): parked with the others.
    #[error("{error}; kept in memory with the others not stored yet ({waiting} rows), written with the next batch")]
    Parked {
        /// The store's error.
        error: String,
        /// Rows waiting in memory now.
        waiting: usize,
    },
    /// The writer thread is gone, which only a bug does.
    #[error("{lost} rows lost: the writer task failed: {error}")]
    WriterGone {
        /// Rows lost.
        lost: usize,
        /// Why the task failed.
        error: String,
    },
}

impl NotStored {
    /// What went wrong, without what became of the rows (the same for every run while a
    /// disk stays full, so it is logged once).
    pub fn cause(&self) -> &str {
        match self {
            NotStored::Parked { error, .. } | NotStored::WriterGone { error, .. } => error,
        }
    }
}

/// Why the rows of a spill file were not stored at start.
#[derive(Debug, Error)]
pub enum SpillImportError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The spill file.
        path: std::path::PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The store refused the rows; the file stays for the next start.
    #[error("{rows} rows of {} not stored yet: {error}", path.display())]
    Store {
        /// Rows in the file.
        rows: usize,
        /// The spill file.
        path: std::path::PathBuf,
        /// The store's error.
        error: String,
    },
    /// Stored, but the file stays and would be stored again.
    #[error("{rows} rows of {} stored, but the file could not be removed (remove it, or they are stored again at the next start): {source}", path.display())]
    Remove {
        /// Rows in the file.
        rows: usize,
        /// The spill file.
        path: std::path::PathBuf,
        /// The error.
        source: std::io::Error,
    },
}
