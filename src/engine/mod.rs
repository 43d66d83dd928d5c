//! How a meter is read: the session over a link (`session`), where a meter is (`address`),
//! the one path from a configured meter to an open session (`target`, `secure`), reading a
//! request's items into rows (`read`, `value`), load profiles (`profile`), object lists
//! (`objects`) and probing for a meter's addressing (`probe`).

mod address;
pub mod change;
mod counters;
pub mod objects;
pub mod passive;
pub mod probe;
pub mod profile;
pub mod read;
pub mod secure;
mod session;
mod spin;
pub mod target;
mod trace;
pub mod value;

pub use address::{client_link, Interface, MeterAddress};
pub use counters::SessionCounters;
pub use session::{Session, Waits};
pub use target::Target;
pub use trace::{Direction, TraceEntry, TraceSink};

use crate::dlms::client::SessionError;
use crate::dlms::link::LinkError;
use thiserror::Error;

/// Why talking to a meter failed.
#[derive(Debug, Error)]
pub enum EngineError {
    /// Reading or writing the stream failed.
    #[error("connection error: {0}")]
    Io(#[from] std::io::Error),
    /// The peer closed the stream.
    #[error("the meter closed the connection while we waited for {0}")]
    Closed(&'static str),
    /// No answer in time.
    #[error("no answer from the meter within {ms} ms while waiting for {waiting_for} (check the interface, addresses and port)")]
    Timeout {
        /// What we waited for.
        waiting_for: &'static str,
        /// The timeout.
        ms: u64,
    },
    /// Part of a frame came, then nothing more in time (a frame cut off on the way).
    #[error("incomplete frame ({bytes} bytes) from the meter: the rest did not come within {ms} ms while waiting for {waiting_for}")]
    Incomplete {
        /// What we waited for.
        waiting_for: &'static str,
        /// The bytes of the frame received before the timeout.
        bytes: usize,
        /// The timeout.
        ms: u64,
    },
    /// The link layer failed (bad frame, wrong address, FRMR, DM).
    #[error("{0}")]
    Link(#[from] LinkError),
    /// The association or a request failed.
    #[error("{0}")]
    Session(#[from] SessionError),
    /// The addressing settings are not valid.
    #[error("invalid address settings: {0}")]
    Address(String),
    /// A change (SET, ACTION, WRITE) went out but its answer did not come: it may have been
    /// made, so it is read back, never sent again blindly.
    #[error("the change was sent but its answer did not come, so whether the meter made it is unknown: {0}")]
    OutcomeUnknown(Box<EngineError>),
    /// The invocation counter store failed or its counters are used up.
    #[error("{0}")]
    Counters(#[from] crate::counters::CounterError),
}

impl EngineError {
    /// A short name of the kind of failure, for metrics: `io`, `closed`, `timeout`,
    /// `incomplete`, `link`, `session`, `address`, `outcome_unknown`, `counters`.
    pub fn kind(&self) -> &'static str {
        match self {
            EngineError::Io(_) => "io",
            EngineError::Closed(_) => "closed",
            EngineError::Timeout { .. } => "timeout",
            EngineError::Incomplete { .. } => "incomplete",
            EngineError::Link(_) => "link",
            EngineError::Session(_) => "session",
            EngineError::Address(_) => "address",
            EngineError::OutcomeUnknown(_) => "outcome_unknown",
            EngineError::Counters(_) => "counters",
        }
    }
}
