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
    /// In a fleet: another logger holds the connection's lease, so this one does not run it.
    #[error("connection {0:?} is run by another logger of the fleet now, not by this one")]
    NotHeld(String),
    /// The connection is passive: it only listens, so nothing can be asked of its meter.
    #[error(
        "connection {0:?} is passive: it only listens to what the meter pushes, and sends nothing"
    )]
    Passive(String),
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
}

impl NotStored {
    /// What went wrong, without what became of the rows (the same for every run while a
    /// disk stays full, so it is logged once).
    pub fn cause(&self) -> &str {
        match self {
            NotStored::Parked { error, .. } => error,
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

/// Why a meter that dialed in was not let in (the line logged for its connection).
#[derive(Debug, Error)]
pub enum DialInError {
    /// The caller hung up before anything was read.
    #[error("the caller closed the link")]
    Closed,
    /// The connection left the queue while the caller waited.
    #[error("the connection is gone")]
    ConnectionGone,
    /// Identification over the public client failed.
    #[error("cannot associate as the public client: {0}")]
    PublicClient(Box<EngineError>),
    /// Reading or releasing the identification failed.
    #[error("{0}")]
    Engine(#[from] Box<EngineError>),
    /// No configured meter matches what the caller said of itself.
    #[error("unknown meter ({reported}) dialed in; dropped without reading its data")]
    Unknown {
        /// What it reported, in words.
        reported: String,
    },
    /// The caller claimed to be a meter that must prove itself, and could not.
    #[error("a caller recognised as meter {meter} by its {how} failed the {what} association it is configured for, so it is not let in; dropped without reading its data: {error}")]
    NotProven {
        /// The meter it claimed to be.
        meter: String,
        /// How it was recognised.
        how: String,
        /// What it had to prove.
        what: &'static str,
        /// Why the association failed.
        error: Box<EngineError>,
    },
    /// The association failed (a meter that need not prove anything).
    #[error("meter {meter}: {error}")]
    Association {
        /// The meter.
        meter: String,
        /// Why.
        error: Box<EngineError>,
    },
    /// Its push named another system title than the meter's.
    #[error("a caller recognised as meter {meter} pushed with system title {carried}, not the configured {expected}; dropped without reading its data")]
    WrongSystemTitle {
        /// The meter it claimed to be.
        meter: String,
        /// The title in the push.
        carried: String,
        /// The configured title.
        expected: String,
    },
    /// Its push did not decipher with the meter's keys.
    #[error("a caller recognised as meter {meter} pushed a notification that does not decipher with the meter's keys ({why}); dropped without reading its data")]
    Undecipherable {
        /// The meter it claimed to be.
        meter: String,
        /// Why.
        why: String,
    },
    /// Its push carried an invocation counter the meter already used.
    #[error("a caller recognised as meter {meter} pushed with invocation counter {counter}, below {floor} which its earlier sessions reached (a replayed call); dropped without reading its data")]
    Replayed {
        /// The meter it claimed to be.
        meter: String,
        /// The push's counter.
        counter: u32,
        /// The meter's floor.
        floor: u32,
    },
    /// The counter store failed.
    #[error("{0}")]
    Counters(#[from] crate::counters::CounterError),
}

impl From<EngineError> for DialInError {
    fn from(e: EngineError) -> Self {
        DialInError::Engine(Box::new(e))
    }
}
