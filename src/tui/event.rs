//! What the loop receives: keys, ticks, background results and query answers, each routed to
//! the view that asked.

use super::error::TuiError;
use crate::queue::{Config, Preset};
use crate::store::{QueryError, Row};
use ratatui::crossterm::event::KeyEvent;

/// The five views, reached with 1–5.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    /// Live values and meter health.
    Monitor,
    /// The request queue editor.
    Queue,
    /// The logged rows.
    Log,
    /// A meter's object list and presets.
    Objects,
    /// Frames exchanged.
    Trace,
}

impl Tab {
    /// Every tab in order.
    pub const ALL: [Tab; 5] = [Tab::Monitor, Tab::Queue, Tab::Log, Tab::Objects, Tab::Trace];

    /// The tab's title.
    pub fn title(self) -> &'static str {
        match self {
            Tab::Monitor => "Monitor",
            Tab::Queue => "Queue",
            Tab::Log => "Log",
            Tab::Objects => "Objects",
            Tab::Trace => "Trace",
        }
    }

    /// Its position in [`Tab::ALL`].
    pub fn index(self) -> usize {
        Tab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }
}

/// Results of background work and queries, routed back to the view that started them.
#[derive(Debug)]
pub enum TaskResult {
    /// A `t` test of a queue node finished.
    Test {
        /// What was tested ("connection lab", "meter m1", "request instant").
        node: String,
        /// A one-line outcome.
        result: Result<String, TuiError>,
    },
    /// Bytes of the object list received so far.
    ObjectsProgress(usize),
    /// The object list was read.
    Objects(Result<Preset, TuiError>),
    /// The attributes of an opened object were read: a value or the meter's refusal each.
    Attributes {
        /// The object (an answer for one no longer open is dropped).
        obis: crate::dlms::obis::Obis,
        /// The values, in the order asked.
        result: Result<Vec<Result<crate::dlms::data::Data, String>>, TuiError>,
    },
    /// A change made from the object browser: one record per step.
    Changed {
        /// The object.
        obis: crate::dlms::obis::Obis,
        /// What came of it.
        result: Result<Vec<crate::store::WriteRecord>, TuiError>,
    },
    /// A CSV export finished: the rows written to the file, or why not.
    Export(std::path::PathBuf, Result<u64, QueryError>),
    /// A probe of a connection found a meter (to add to the queue), or why not.
    Probe(Result<Box<(crate::queue::Meter, String)>, TuiError>),
    /// A page of the log (the answer to request number `seq`).
    LogPage {
        /// The request it answers; older answers are dropped.
        seq: u64,
        /// The page and its look-ahead.
        rows: Result<Vec<Row>, QueryError>,
    },
    /// The newest changes made to meters (the `writes` table).
    Writes(Result<Vec<(i64, crate::store::WriteRecord)>, QueryError>),
    /// The newest row of every item.
    Latest(Result<Vec<Row>, QueryError>),
    /// The recent history of one item.
    History {
        /// (meter, item) asked for; an answer for an item no longer selected is dropped.
        item: (String, String),
        /// The time the window ends at, in ms (the chart's "now").
        now_ms: i64,
        /// The rows, oldest first.
        rows: Result<Vec<Row>, QueryError>,
    },
    /// The nearest failure older or newer than a Log row (`f`/`F`), or none.
    LogFailure {
        /// The request it answers; older answers are dropped.
        seq: u64,
        /// Older (`f`) or newer (`F`) than the row.
        older: bool,
        /// The failed row (boxed: a row is large beside the other events).
        row: Result<Option<Box<Row>>, QueryError>,
    },
}

/// Events the loop handles.
#[derive(Debug)]
pub enum AppEvent {
    /// A key press.
    Key(KeyEvent),
    /// The terminal was resized.
    Resize,
    /// Time to refresh data from the runner and the store.
    Tick,
    /// A saved queue to run from now on.
    Reload(Box<Config>),
    /// Background work finished.
    Task(Tab, TaskResult),
    /// The row counts for the status bar.
    Counts(Result<(u64, u64), QueryError>),
}
