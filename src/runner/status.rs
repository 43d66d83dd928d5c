//! What the runner reports: per meter, per request, the store counters; why a request fired.

use super::*;

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
