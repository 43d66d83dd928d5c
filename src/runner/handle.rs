//! The handle the UI and the control socket hold: fire, test, probe, read objects, status.

use super::*;

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
    pub async fn test_request(&self, request: &str) -> Result<String, String> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if !fire(&self.shared, request, Cause::Manual, Some(tx)) {
            return Err(format!(
                "request {request:?} is not in the running queue or is disabled"
            ));
        }
        rx.await
            .unwrap_or_else(|_| Err("the run was skipped: the previous run is still going".into()))
    }

    /// Opens a TCP connection to a configured connection, and closes it.
    pub async fn test_connection(&self, name: &str) -> Result<String, String> {
        let config = self.shared.config();
        let c = config
            .connection(name)
            .ok_or_else(|| format!("no connection {name:?}"))?;
        match &c.link {
            crate::queue::Link::Tcp { host, port, .. } => {
                let t = std::time::Instant::now();
                crate::transport::tcp::connect(host, *port, Duration::from_secs(5))
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(format!(
                    "connected to {host}:{port} in {} ms",
                    t.elapsed().as_millis()
                ))
            }
            crate::queue::Link::Serial(s) => {
                crate::transport::serial::open(s).map_err(|e| e.to_string())?;
                Ok(format!("opened serial port {} at {} baud", s.port, s.baud))
            }
            crate::queue::Link::Listen { host, port } => {
                let connected = lock(&self.shared.dialed_in).len();
                Ok(format!(
                    "listening on {host}:{port}; {connected} meter(s) dialed in"
                ))
            }
        }
    }

    /// Opens a traced session to a configured meter, outside the link's worker.
    async fn open_meter(
        &self,
        name: &str,
    ) -> Result<crate::engine::Session<crate::transport::BoxStream>, String> {
        let config = self.shared.config();
        let m = config
            .meter(name)
            .ok_or_else(|| format!("no meter {name:?}"))?;
        let c = config
            .connection(&m.connection)
            .ok_or_else(|| format!("no connection {:?}", m.connection))?;
        // Tests and object reads take counters from the same store as runs, so none is reused.
        read::open_secure(c, m, &self.shared.counters, Some(self.trace_sink(&m.name)))
            .await
            .map_err(|e| e.to_string())
    }

    /// Probes a configured connection for a meter (interface, addresses, referencing) and
    /// returns it as a new meter on that connection, named `name`.
    pub async fn probe_connection(
        &self,
        connection: &str,
        name: &str,
    ) -> Result<(crate::queue::Meter, String), String> {
        let config = self.shared.config();
        let c = config
            .connection(connection)
            .ok_or_else(|| format!("no connection {connection:?}"))?
            .clone();
        let found = probe::probe(
            || {
                let c = c.clone();
                async move { read::connect(&c, Duration::from_secs(3)).await }
            },
            &probe::candidates(None, None),
            Duration::from_millis(600),
            |_, _, _, _| {},
        )
        .await?;
        let p = &found.candidate;
        let mut m = crate::queue::Meter::new(name, connection);
        m.interface = match p.interface {
            crate::engine::Interface::Wrapper => crate::queue::InterfaceKind::Wrapper,
            crate::engine::Interface::Hdlc => crate::queue::InterfaceKind::Hdlc,
        };
        m.client = p.client;
        m.physical = p.physical;
        m.logical = p.logical;
        m.address_size = p.address_size;
        m.serial_number = p.serial_number;
        m.referencing = match p.referencing {
            crate::dlms::client::Referencing::Ln => crate::queue::ReferencingKind::Ln,
            crate::dlms::client::Referencing::Sn => crate::queue::ReferencingKind::Sn,
        };
        Ok((m, found.note.clone()))
    }

    /// Associates with a configured meter and reads its clock.
    pub async fn test_meter(&self, name: &str) -> Result<String, String> {
        let mut s = self.open_meter(name).await?;
        let clock = crate::dlms::client::AttributeRef::new(
            8,
            crate::dlms::obis::Obis::new(0, 0, 1, 0, 0, 255),
            2,
        );
        let r = s.read(&[clock]).await.map_err(|e| e.to_string())?;
        let rtt = s.last_rtt;
        let _ = s.close().await;
        match r.into_iter().next() {
            Some(Ok(d)) => Ok(format!(
                "associated; meter clock {d}; round trip {} ms",
                rtt.as_millis()
            )),
            Some(Err(e)) => Ok(format!("associated, but the clock could not be read: {e}")),
            None => Err("no answer".into()),
        }
    }

    /// Reads a configured meter's object list as a preset (progress: bytes received so far).
    pub async fn read_objects(
        &self,
        name: &str,
        progress: impl FnMut(usize) + Send + 'static,
    ) -> Result<crate::queue::Preset, String> {
        let mut s = self.open_meter(name).await?;
        let preset = objects::read_preset(&mut s, &format!("meter {name}"), progress)
            .await
            .map_err(|e| e.to_string())?;
        let _ = s.close().await;
        Ok(preset)
    }

    /// The last frames exchanged with a meter (at most [`TRACE_FRAMES`]), oldest first. A
    /// meter asked for keeps all of them from then on; others share [`TRACE_BUDGET`] bytes.
    pub fn trace(&self, meter: &str) -> Vec<TraceEntry> {
        lock(&self.shared.trace).get(meter)
    }

    fn trace_sink(&self, meter: &str) -> crate::engine::TraceSink {
        trace_sink(&self.shared, meter)
    }

    /// The queue being run.
    pub fn config(&self) -> Arc<Config> {
        self.shared.config()
    }

    /// When the runner started (the `?` of cron schedules).
    pub fn start_time(&self) -> DateTime<Local> {
        self.shared.start
    }

    /// A snapshot of meters, requests and store counters.
    pub fn status(&self) -> Status {
        let mut st = lock(&self.shared.status).clone();
        st.counter_warning = self.shared.counters.warnings().into_iter().next();
        st
    }
}
