//! A request: which items to read from which meters, and when.

use super::item::Item;
use super::step::Step;
use crate::schedule::Schedule;

/// A named read job of the queue.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// Unique name.
    pub name: String,
    /// Disabled requests never fire.
    pub enabled: bool,
    /// Names of the meters it reads, at least one.
    pub meters: Vec<String>,
    /// When it fires.
    pub schedule: Schedule,
    /// Timeout of one whole run, in ms.
    pub timeout_ms: u64,
    /// Event fired when it succeeds for all its meters.
    pub on_success: Option<String>,
    /// Event fired when it fails.
    pub on_failure: Option<String>,
    /// What to read (a read request: at least one).
    pub items: Vec<Item>,
    /// What to change on each meter, in order (an action request: at least one; then no items).
    pub steps: Vec<Step>,
}

impl Request {
    /// An enabled request without items, with the default timeout (60 s) and no events.
    pub fn new(name: impl Into<String>, meters: Vec<String>, schedule: Schedule) -> Self {
        Request {
            name: name.into(),
            enabled: true,
            meters,
            schedule,
            timeout_ms: 60_000,
            on_success: None,
            on_failure: None,
            items: Vec::new(),
            steps: Vec::new(),
        }
    }
}
