//! The MQTT sink's thread: rows in from the runner, messages into the outbox, from there to
//! the broker with QoS 1 in order; a message leaves the outbox only once the broker has
//! acknowledged it (PUBACK). A lost connection is reopened with a backoff (0.5 s doubling to
//! 30 s) and every message not yet acknowledged is sent again, oldest first (at least once).
//!
//! Each connection is a fresh rumqttc client with a clean session, so the outbox is the only
//! place messages wait. Home Assistant's birth message (`<prefix>/status` = `online`) makes
//! the sink queue every discovery config again, as Home Assistant asks of integrations.

use super::{discovery, lock, message, SinkState, STOP_FLUSH};
use crate::queue::MqttSink;
use crate::store::outbox::{OutMessage, Outbox};
use crate::store::Record;
use crate::transport::retry::{Backoff, LogLimiter};
use chrono::Utc;
use rumqttc::{AsyncClient, ConnectionError, Event, EventLoop, MqttOptions, Outgoing, Packet, QoS};
use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

/// Messages sent and not yet acknowledged, at most.
const WINDOW: usize = 256;
/// Rows taken from the channel into one outbox transaction, at most.
const INGEST_ROWS: usize = 20_000;
/// Acknowledged messages are removed from the outbox in groups of this many, or when
/// nothing is in flight, or every [`STATE_EVERY`].
const REMOVE_EVERY: u64 = 1024;
/// How often the state is written to the outbox file for `dlms-logger status`.
const STATE_EVERY: Duration = Duration::from_secs(1);

/// Starts the sink's thread (a single-threaded runtime of its own).
pub(super) fn spawn(
    name: String,
    cfg: MqttSink,
    outbox: PathBuf,
    rx: mpsc::Receiver<Arc<Vec<Record>>>,
    state: Arc<Mutex<SinkState>>,
    stop: watch::Receiver<bool>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name(format!("sink-{name}"))
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let text = format!("cannot start its runtime: {e}");
                    tracing::error!("sink {name}: {text}");
                    lock(&state).last_error = Some(text);
                    return;
                }
            };
            rt.block_on(run(name, cfg, outbox, rx, state, stop));
        })
}

/// How a connection ended.
enum Ended {
    /// The logger is stopping.
    Stopped,
    /// The broker went away or refused us.
    Lost(String),
}

struct Publisher {
    name: String,
    cfg: MqttSink,
    outbox: Outbox,
    rx: mpsc::Receiver<Arc<Vec<Record>>>,
    rx_open: bool,
    state: Arc<Mutex<SinkState>>,
    saved: Option<SinkState>,
    /// Discovery configs sent, by topic (sent again when an item's config changes, and all
    /// of them when Home Assistant comes online).
    discovered: HashMap<String, OutMessage>,
    /// Each item's unit and whether it is a number, as its config was built from.
    shapes: HashMap<(String, String), (Option<String>, bool)>,
    stop: watch::Receiver<bool>,
    log: LogLimiter,
    /// The outbox may hold messages not sent on this connection yet.
    unsent: bool,
    /// Acknowledged messages not yet removed from the outbox: through this id, how many.
    acked: Option<(i64, u64)>,
}

async fn run(
    name: String,
    cfg: MqttSink,
    path: PathBuf,
    rx: mpsc::Receiver<Arc<Vec<Record>>>,
    state: Arc<Mutex<SinkState>>,
    stop: watch::Receiver<bool>,
) {
    let outbox = match Outbox::open(&path, &name) {
        Ok(o) => o,
        Err(e) => {
            tracing::error!("sink {name}: nothing will be published: {e}");
            lock(&state).last_error = Some(e.to_string());
            return;
        }
    };
    {
        let mut st = lock(&state);
        st.queued = outbox.queued();
        st.dropped += outbox.dropped();
    }
    let mut p = Publisher {
        name,
        cfg,
        outbox,
        rx,
        rx_open: true,
        state,
        saved: None,
        discovered: HashMap::new(),
        shapes: HashMap::new(),
        stop,
        log: LogLimiter::new(Duration::from_secs(60)),
        unsent: true,
        acked: None,
    };
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
    loop {
        if *p.stop.borrow() {
            break;
        }
        let ended = match options(&p.name, &p.cfg) {
            Ok(opts) => {
                let (client, eventloop) = AsyncClient::new(opts, WINDOW + 16);
                p.session(client, eventloop, &mut backoff).await
            }
            Err(e) => Ended::Lost(e),
        };
        match ended {
            Ended::Stopped => break,
            Ended::Lost(e) => {
                let text = format!("broker {}: {e}", lock(&p.state).target);
                {
                    let mut st = lock(&p.state);
                    st.connected = false;
                    st.last_error = Some(text.clone());
                }
                if let Some(line) = p.log.note(&text) {
                    tracing::warn!("sink {}: {line}; messages wait in the outbox", p.name);
                }
                p.save_state();
                if !p.wait(backoff.next_delay()).await {
                    break;
                }
            }
        }
    }
    // Messages still in the channel go to the outbox for the next start.
    while let Ok(rows) = p.rx.try_recv() {
        p.ingest(rows.iter());
    }
    lock(&p.state).connected = false;
    p.save_state();
}

impl Publisher {
    /// Waits `pause` (taking rows meanwhile); false when the logger stops.
    async fn wait(&mut self, pause: Duration) -> bool {
        let until = Instant::now() + pause;
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(until) => return true,
                _ = self.stop.changed() => return false,
                rows = self.rx.recv(), if self.rx_open => self.take(rows),
            }
        }
    }

    /// Takes a batch and whatever else waits in the channel (up to [`INGEST_ROWS`]) into the
    /// outbox in one transaction.
    fn take(&mut self, rows: Option<Arc<Vec<Record>>>) {
        let Some(first) = rows else {
            self.rx_open = false;
            return;
        };
        let mut n = first.len();
        let mut batches = vec![first];
        while n < INGEST_ROWS {
            match self.rx.try_recv() {
                Ok(more) => {
                    n += more.len();
                    batches.push(more);
                }
                Err(_) => break,
            }
        }
        self.ingest(batches.iter().flat_map(|b| b.iter()));
        self.unsent = true;
    }

    /// The rows as messages into the outbox: a discovery config first for an item whose
    /// config is new or changed, then the state message.
    fn ingest<'r>(&mut self, rows: impl Iterator<Item = &'r Record>) {
        let now = Utc::now().timestamp_millis();
        let mut out = Vec::new();
        for r in rows {
            // Cheap first: a config is built only for an item whose unit or kind is new.
            let key = (r.meter.clone(), r.item.clone());
            let shape = (r.unit.clone(), r.value_text().is_some());
            if self.cfg.discovery && !r.is_failure() && self.shapes.get(&key) != Some(&shape) {
                self.shapes.insert(key, shape);
                if let Some((topic, config)) =
                    discovery::config(&self.cfg.discovery_prefix, &self.cfg.topic, r)
                {
                    let m = OutMessage {
                        topic,
                        payload: config.to_string().into_bytes(),
                        retain: true,
                    };
                    if self.discovered.get(&m.topic) != Some(&m) {
                        self.discovered.insert(m.topic.clone(), m.clone());
                        out.push(m);
                    }
                }
            }
            out.push(OutMessage {
                topic: message::topic(&self.cfg.topic, r),
                payload: message::payload_bytes(r, now),
                retain: false,
            });
        }
        self.queue(&out);
    }

    fn queue(&mut self, out: &[OutMessage]) {
        let result = self.outbox.push(out, self.cfg.outbox_limit);
        let mut st = lock(&self.state);
        st.queued = self.outbox.queued();
        match result {
            Ok(0) => {}
            Ok(n) => {
                st.dropped += n;
                drop(st);
                let line = format!(
                    "the outbox is at its bound ({} messages): the oldest are DROPPED",
                    self.cfg.outbox_limit
                );
                if let Some(l) = self.log.note(&line) {
                    tracing::error!("sink {}: {l}", self.name);
                }
            }
            Err(e) => {
                st.dropped += out.len() as u64;
                st.last_error = Some(e.to_string());
                drop(st);
                if let Some(l) = self.log.note(&e.to_string()) {
                    tracing::error!("sink {}: messages DROPPED: {l}", self.name);
                }
            }
        }
    }

    /// Writes the state to the outbox file when it changed.
    fn save_state(&mut self) {
        let st = lock(&self.state).clone();
        if self.saved.as_ref() == Some(&st) {
            return;
        }
        let json = serde_json::to_string(&st).unwrap_or_default();
        if let Err(e) = self.outbox.put_state(&json, Utc::now().timestamp_millis()) {
            if let Some(l) = self.log.note(&e.to_string()) {
                tracing::warn!("sink {}: {l}", self.name);
            }
        }
        self.saved = Some(st);
    }

    /// One connection: connect, then deliver the outbox in order until the connection is
    /// lost or the logger stops (then deliver for up to [`STOP_FLUSH`] more).
    async fn session(
        &mut self,
        client: AsyncClient,
        mut eventloop: EventLoop,
        backoff: &mut Backoff,
    ) -> Ended {
        loop {
            tokio::select! {
                _ = self.stop.changed() => return Ended::Stopped,
                rows = self.rx.recv(), if self.rx_open => self.take(rows),
                ev = eventloop.poll() => match ev {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => break,
                    Ok(_) => {}
                    Err(e) => return Ended::Lost(describe(&e)),
                },
            }
        }
        backoff.reset();
        self.log.clear();
        let recount = self.outbox.recount();
        {
            let mut st = lock(&self.state);
            st.connected = true;
            st.last_error = recount.err().map(|e| e.to_string());
            st.queued = self.outbox.queued();
        }
        tracing::info!(
            "sink {}: connected to {}",
            self.name,
            lock(&self.state).target
        );
        self.save_state();
        let birth = format!("{}/status", self.cfg.discovery_prefix);
        if self.cfg.discovery {
            let _ = client.try_subscribe(birth.clone(), QoS::AtMostOnce);
        }
        let mut flights: VecDeque<Flight> = VecDeque::new();
        let mut last_sent = 0i64;
        let mut tick = tokio::time::interval(STATE_EVERY);
        let mut flush_until: Option<Instant> = None;
        self.unsent = true;
        loop {
            // Keep the window full from the outbox, oldest first (in steps, not one by one).
            let room = WINDOW - flights.len();
            if self.unsent && (room >= WINDOW / 4 || flights.is_empty()) {
                match self.outbox.after(last_sent, room) {
                    Ok(messages) => {
                        self.unsent = messages.len() == room;
                        for (id, m) in messages {
                            if client
                                .try_publish(m.topic, QoS::AtLeastOnce, m.retain, m.payload)
                                .is_err()
                            {
                                self.unsent = true;
                                break;
                            }
                            flights.push_back(Flight {
                                id,
                                pkid: None,
                                acked: false,
                            });
                            last_sent = id;
                        }
                    }
                    Err(e) => lock(&self.state).last_error = Some(e.to_string()),
                }
            }
            if let Some(until) = flush_until {
                if (flights.is_empty() && !self.unsent) || Instant::now() >= until {
                    self.remove_acked();
                    let _ = client.try_disconnect();
                    // Let the DISCONNECT out, briefly.
                    let _ =
                        tokio::time::timeout(Duration::from_millis(200), eventloop.poll()).await;
                    return Ended::Stopped;
                }
            }
            let deadline =
                flush_until.unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            tokio::select! {
                ev = eventloop.poll() => match ev {
                    Ok(Event::Outgoing(Outgoing::Publish(pkid))) => {
                        if let Some(f) = flights.iter_mut().find(|f| f.pkid.is_none()) {
                            f.pkid = Some(pkid);
                        }
                    }
                    Ok(Event::Incoming(Packet::PubAck(ack))) => {
                        if let Some(f) = flights
                            .iter_mut()
                            .find(|f| f.pkid == Some(ack.pkid) && !f.acked)
                        {
                            f.acked = true;
                        }
                        self.delivered(&mut flights);
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) if p.topic == birth => {
                        if p.payload.as_ref() == b"online" {
                            let again: Vec<OutMessage> = self.discovered.values().cloned().collect();
                            self.queue(&again);
                            self.unsent = true;
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        self.remove_acked();
                        return Ended::Lost(describe(&e));
                    }
                },
                rows = self.rx.recv(), if self.rx_open && flush_until.is_none() => self.take(rows),
                _ = self.stop.changed(), if flush_until.is_none() => {
                    flush_until = Some(Instant::now() + STOP_FLUSH);
                    // Rows already handed over are delivered too.
                    while let Ok(rows) = self.rx.try_recv() {
                        self.ingest(rows.iter());
                    }
                    self.unsent = true;
                }
                _ = tick.tick() => {
                    self.remove_acked();
                    self.save_state();
                }
                _ = tokio::time::sleep_until(deadline), if flush_until.is_some() => {}
            }
        }
    }

    /// Counts the messages acknowledged at the front of the window as delivered; removes
    /// them from the outbox in groups (or at once when nothing else is in flight).
    fn delivered(&mut self, flights: &mut VecDeque<Flight>) {
        let mut through = None;
        let mut n = 0;
        while flights.front().is_some_and(|f| f.acked) {
            through = flights.pop_front().map(|f| f.id);
            n += 1;
        }
        let Some(through) = through else { return };
        let count = self.acked.map_or(0, |(_, c)| c) + n;
        self.acked = Some((through, count));
        lock(&self.state).published += n;
        if count >= REMOVE_EVERY || flights.is_empty() {
            self.remove_acked();
        }
    }

    /// Removes the acknowledged messages from the outbox.
    fn remove_acked(&mut self) {
        let Some((through, _)) = self.acked.take() else {
            return;
        };
        let result = self.outbox.remove_through(through);
        let mut st = lock(&self.state);
        st.queued = self.outbox.queued();
        if let Err(e) = result {
            st.last_error = Some(e.to_string());
        }
    }
}

/// A message sent and awaiting its PUBACK.
struct Flight {
    /// Its outbox id.
    id: i64,
    /// Its packet id, once rumqttc has sent it.
    pkid: Option<u16>,
    acked: bool,
}

/// A connection error in words.
fn describe(e: &ConnectionError) -> String {
    match e {
        ConnectionError::ConnectionRefused(code) => {
            use rumqttc::ConnectReturnCode as C;
            let why = match code {
                C::BadUserNamePassword => "wrong user name or password",
                C::NotAuthorized => "not authorized (check username and password)",
                C::BadClientId => "the client id is not accepted",
                C::RefusedProtocolVersion => "it does not speak MQTT 3.1.1",
                C::ServiceUnavailable => "it is unavailable",
                C::Success => "no reason given",
            };
            format!("the broker refused the connection: {why}")
        }
        ConnectionError::Io(io) => format!("cannot reach it: {io}"),
        ConnectionError::NetworkTimeout => "no answer within the timeout".into(),
        other => other.to_string(),
    }
}

/// The client options: id, keep-alive, credentials, TLS.
fn options(name: &str, cfg: &MqttSink) -> Result<MqttOptions, String> {
    let id = cfg
        .client_id
        .clone()
        .unwrap_or_else(|| format!("dlms-logger-{name}"));
    let mut o = MqttOptions::new(id, cfg.host.clone(), cfg.port);
    o.set_keep_alive(Duration::from_secs(30));
    o.set_clean_session(true);
    o.set_inflight(WINDOW as u16);
    if let Some(user) = &cfg.username {
        let password = cfg.password.as_ref().map(|p| p.expose().to_string());
        o.set_credentials(user.clone(), password.unwrap_or_default());
    }
    if cfg.tls {
        o.set_transport(rumqttc::Transport::tls_with_config(tls(cfg)?.into()));
    }
    Ok(o)
}

/// TLS with the ring provider: the broker's certificate checked against `ca_file`, else the
/// public roots.
fn tls(cfg: &MqttSink) -> Result<rustls::ClientConfig, String> {
    use rustls::pki_types::{pem::PemObject, CertificateDer};
    let mut roots = rustls::RootCertStore::empty();
    match &cfg.ca_file {
        Some(path) => {
            let pem = std::fs::read(path)
                .map_err(|e| format!("cannot read ca_file {}: {e}", path.display()))?;
            for cert in CertificateDer::pem_slice_iter(&pem) {
                let cert = cert.map_err(|e| format!("ca_file {}: {e}", path.display()))?;
                roots
                    .add(cert)
                    .map_err(|e| format!("ca_file {}: {e}", path.display()))?;
            }
            if roots.is_empty() {
                return Err(format!(
                    "ca_file {} holds no PEM certificate",
                    path.display()
                ));
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    // ring: builds without cmake or a C toolchain beyond cc, unlike aws-lc; a broker's TLS
    // needs no post-quantum key exchange (the reason rustls deprecates this provider).
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}
