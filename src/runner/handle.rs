//! The handle the UI and the control socket hold: fire, test, probe, read objects, status.

use super::job::{Job, JobKind, MeterId, Reply};
use super::*;
use tokio::sync::oneshot;

/// Fires events and reads status of a running [`Runner`]; cheap to clone.
#[derive(Clone)]
pub struct RunnerHandle {
    pub(super) shared: Arc<Shared>,
}

impl RunnerHandle {
    /// Fires every enabled request listening to event `name`; returns how many.
    pub fn fire_event(&self, name: &str) -> usize {
        fire_event(&self.shared, name)
    }

    /// Runs a request now (the UI's "read now"); false when there is no such enabled request.
    pub fn run_now(&self, request: &str) -> bool {
        fire(&self.shared, request, Cause::Manual, None)
    }

    /// Runs a request now through its link's worker and waits for a one-line result.
    pub async fn test_request(&self, request: &str) -> Result<String, RunnerError> {
        let (tx, rx) = oneshot::channel();
        if !fire(&self.shared, request, Cause::Manual, Some(tx)) {
            return Err(RunnerError::NoRequest(request.to_string()));
        }
        rx.await.unwrap_or(Err(RunnerError::Skipped))
    }

    /// Opens a configured connection's link (through its worker), and says how that went.
    pub async fn test_connection(&self, name: &str) -> Result<String, RunnerError> {
        let config = self.shared.config();
        let c = config
            .connection(name)
            .ok_or_else(|| RunnerError::NoConnection(name.to_string()))?;
        if let crate::queue::Link::Listen { host, port } = &c.link {
            let connected = lock(&self.shared.dialed_in)
                .keys()
                .filter(|m| config.meter(m).is_some_and(|m| m.connection == c.name))
                .count();
            return Ok(format!(
                "listening on {host}:{port}; {connected} meter(s) dialed in"
            ));
        }
        self.ask(config.clone(), name, |reply| JobKind::TestLink { reply })
            .await
    }

    /// Probes a configured connection for a meter (interface, addresses, referencing) through
    /// its worker, and returns it as a new meter on that connection, named `name`.
    pub async fn probe_connection(
        &self,
        connection: &str,
        name: &str,
    ) -> Result<(crate::queue::Meter, String), RunnerError> {
        let config = self.shared.config();
        let name = name.to_string();
        self.ask(config, connection, |reply| JobKind::Probe { name, reply })
            .await
    }

    /// Associates with a configured meter (through its connection's worker) and reads its clock.
    pub async fn test_meter(&self, name: &str) -> Result<String, RunnerError> {
        let (config, meter, connection) = self.find_meter(name)?;
        self.ask(config, &connection, |reply| JobKind::TestMeter {
            meter,
            reply,
        })
        .await
    }

    /// Reads a configured meter's object list as a preset, through its connection's worker
    /// (progress: bytes received so far).
    pub async fn read_objects(
        &self,
        name: &str,
        progress: impl FnMut(usize) + Send + 'static,
    ) -> Result<crate::queue::Preset, RunnerError> {
        let (config, meter, connection) = self.find_meter(name)?;
        let progress = Box::new(progress);
        self.ask(config, &connection, |reply| JobKind::Objects {
            meter,
            progress,
            reply,
        })
        .await
    }

    /// Reads attributes of a configured meter through its connection's worker: a value or the
    /// meter's refusal per attribute, in order.
    pub async fn read_attributes(
        &self,
        name: &str,
        attributes: Vec<crate::dlms::client::AttributeRef>,
    ) -> Result<Vec<Result<crate::dlms::data::Data, String>>, RunnerError> {
        let (config, meter, connection) = self.find_meter(name)?;
        self.ask(config, &connection, |reply| JobKind::Read {
            meter,
            attributes,
            reply,
        })
        .await
    }

    /// Makes `steps` on a configured meter through its connection's worker, each recorded in
    /// the `writes` table under `source`; returns one record per step (what came of it).
    pub async fn change(
        &self,
        name: &str,
        steps: Vec<crate::queue::Step>,
        source: &str,
    ) -> Result<Vec<crate::store::WriteRecord>, RunnerError> {
        let (config, meter, connection) = self.find_meter(name)?;
        let source = source.to_string();
        self.ask(config, &connection, |reply| JobKind::Change {
            meter,
            steps,
            source,
            reply,
        })
        .await
    }

    /// The running queue, a meter's id in it and its connection's name.
    fn find_meter(&self, name: &str) -> Result<(Arc<Config>, MeterId, String), RunnerError> {
        let config = self.shared.config();
        let i = config
            .meters
            .iter()
            .position(|m| m.name == name)
            .ok_or_else(|| RunnerError::NoMeter(name.to_string()))?;
        let connection = config.meters[i].connection.clone();
        Ok((config, MeterId(i), connection))
    }

    /// Sends a job to `connection`'s worker and waits for its answer.
    async fn ask<T>(
        &self,
        config: Arc<Config>,
        connection: &str,
        kind: impl FnOnce(Reply<T>) -> JobKind,
    ) -> Result<T, RunnerError> {
        match config.connection(connection) {
            None => return Err(RunnerError::NoConnection(connection.to_string())),
            Some(c) if c.passive => return Err(RunnerError::Passive(connection.to_string())),
            Some(_) => {}
        }
        let worker = lock(&self.shared.workers).get(connection).cloned();
        let Some(worker) = worker else {
            if self.shared.leased {
                return Err(RunnerError::NotHeld(connection.to_string()));
            }
            return Err(RunnerError::Disabled(connection.to_string()));
        };
        let (tx, rx) = oneshot::channel();
        let job = Box::new(Job {
            config,
            kind: kind(tx),
        });
        if worker.send(job).is_err() {
            return Err(RunnerError::Stopped);
        }
        rx.await.unwrap_or(Err(RunnerError::Stopped))
    }

    /// The last frames exchanged with a meter (at most [`TRACE_FRAMES`]), oldest first. A
    /// meter asked for keeps all of them from then on; others share [`TRACE_BUDGET`] bytes.
    pub fn trace(&self, meter: &str) -> Vec<TraceEntry> {
        lock(&self.shared.trace).get(meter)
    }

    /// `meter`'s system title from its last AARE (for the Trace view to decipher its
    /// glo- APDUs, which name no sender), if one was seen.
    pub fn meter_system_title(&self, meter: &str) -> Option<[u8; 8]> {
        lock(&self.shared.trace).system_title(meter)
    }

    /// The queue being run.
    pub fn config(&self) -> Arc<Config> {
        self.shared.config()
    }

    /// When the runner started (the `?` of cron schedules).
    pub fn start_time(&self) -> DateTime<Local> {
        self.shared.start
    }

    /// Each sink's state (connected, queued, dropped, last error), in queue order.
    pub fn sinks(&self) -> Vec<crate::sink::SinkState> {
        lock(&self.shared.sinks)
            .as_ref()
            .map(crate::sink::Sinks::states)
            .unwrap_or_default()
    }

    /// Invocation counter values left per (our system title, key fingerprint) used so far.
    pub fn counter_space(&self) -> Vec<(String, String, u64)> {
        self.shared.counters.space_left()
    }

    /// Starts a connection of the running queue (a logger in a fleet starts those whose lease
    /// it holds); false when it is not in the queue, disabled, or running already.
    /// With a `gate`, its worker starts a job only while the gate's instant is at least
    /// [`super::LEASE_MARGIN`] ahead (a lease that is being renewed).
    pub fn start_connection(&self, name: &str, gate: Option<super::LeaseGate>) -> bool {
        super::held::start(&self.shared, name, gate)
    }

    /// Stops a connection started with [`RunnerHandle::start_connection`] and returns once
    /// nothing of it runs any more: its run in progress gets `patience`, then is cut; its links
    /// are closed. False when it was not started.
    pub async fn stop_connection(&self, name: &str, patience: Duration) -> bool {
        super::held::stop(&self.shared, name, patience).await
    }

    /// The connections started one by one (a logger in a fleet: those it holds), sorted.
    pub fn started_connections(&self) -> Vec<String> {
        super::held::names(&self.shared)
    }

    /// The link budget: links held at most, kept at most, kept now, runs over per-run links.
    pub fn link_budget(&self) -> super::LinkBudget {
        self.shared.link_budget.numbers()
    }

    /// A snapshot of meters, requests and store counters.
    pub fn status(&self) -> Status {
        let mut st = lock(&self.shared.status).clone();
        st.counter_warning = self.shared.counters.warnings().into_iter().next();
        st
    }
}
