//! What a connection's worker is asked to do. Every action on a meter goes to the worker of
//! its connection, which owns the link: polls, tests, object reads and probes never open a
//! second link beside it. Jobs name requests and meters by their place in the queue they were
//! made from, which travels with them, so a reload meanwhile cannot make them mean another.

use super::RunnerError;
use crate::dlms::client::AttributeRef;
use crate::dlms::data::Data;
use crate::queue::{Config, Meter, Preset, Step};
use crate::store::WriteRecord;
use std::sync::Arc;
use tokio::sync::oneshot;

/// Where a job's result goes.
pub(super) type Reply<T> = oneshot::Sender<Result<T, RunnerError>>;

/// A request of a job's queue, by its place in `Config::requests`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct RequestId(pub(super) usize);

/// A meter of a job's queue, by its place in `Config::meters`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct MeterId(pub(super) usize);

/// One thing for a connection's worker to do.
pub(super) struct Job {
    /// The queue the ids refer to (the one running when the job was made).
    pub(super) config: Arc<Config>,
    /// What to do.
    pub(super) kind: JobKind,
}

/// The kinds of work a worker does on its link.
pub(super) enum JobKind {
    /// A request on the meters of this connection (a fire).
    Poll {
        /// The request.
        request: RequestId,
        /// Its meters on this connection.
        meters: Vec<MeterId>,
        /// Its entry in `in_flight`, freed when the run ends.
        key: (String, String),
        /// Where to send a one-line summary when the run is done (the UI's test).
        reply: Option<Reply<String>>,
    },
    /// Opens the link alone and says how long that took.
    TestLink {
        /// The one-line result.
        reply: Reply<String>,
    },
    /// Associates with a meter and reads its clock.
    TestMeter {
        /// The meter.
        meter: MeterId,
        /// The one-line result.
        reply: Reply<String>,
    },
    /// Reads a meter's object list as a preset.
    Objects {
        /// The meter.
        meter: MeterId,
        /// Bytes of the list received so far.
        progress: Box<dyn FnMut(usize) + Send>,
        /// The preset.
        reply: Reply<Preset>,
    },
    /// Reads attributes of a meter (the object browser).
    Read {
        /// The meter.
        meter: MeterId,
        /// The attributes.
        attributes: Vec<AttributeRef>,
        /// A value or the meter's refusal per attribute, in order.
        reply: Reply<Vec<Result<Data, String>>>,
    },
    /// Makes changes on a meter (the object browser's edits and calls), recorded in the
    /// `writes` table like an action request's steps.
    Change {
        /// The meter.
        meter: MeterId,
        /// What to change.
        steps: Vec<Step>,
        /// Who asked, as the records name it.
        source: String,
        /// One record per step.
        reply: Reply<Vec<WriteRecord>>,
    },
    /// Tries addressing candidates on the link for a new meter named `name`.
    Probe {
        /// The new meter's name.
        name: String,
        /// The meter found, and a note on how it answered.
        reply: Reply<(Meter, String)>,
    },
}
