//! The built-in meter simulator: [`meter::SimMeter`] objects served over TCP, UDP (`udp.rs`)
//! or a serial line by the same `dlms` codec the client uses (server side).
pub mod association_log;
mod dial_in;
pub mod fault;
pub mod han;
pub mod meter;
mod serial;
mod spin;
mod udp;

pub use spin::POLL as BUSY_POLL;

pub use dial_in::{dial_in, push_frame};
pub use serial::serve_serial;
pub use udp::{bind_udp, serve_udp};

use crate::dlms::client::{Authentication, Referencing};
use crate::dlms::hdlc::{AddressSize, HdlcParameters, HdlcServer, ServerAddressFilter};
use crate::dlms::link::{LinkEvent, ServerLink};
use crate::dlms::server::{ServerCiphering, ServerSession, ServerSettings};
use crate::dlms::wrapper::WrapperServer;
use crate::engine::Interface;
use chrono::Local;
use meter::SimMeter;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// What to simulate and where.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Address to bind (loopback by default).
    pub host: String,
    /// First port (0 = any free port for each meter).
    pub port: u16,
    /// Number of meters, on ports port..port+meters-1.
    pub meters: u32,
    /// HDLC or WRAPPER.
    pub interface: Interface,
    /// LN or SN referencing.
    pub referencing: Referencing,
    /// Logical device address.
    pub logical: u16,
    /// Authentication required from clients other than the public one (16).
    pub authentication: Authentication,
    /// Ciphering required from clients other than the public one.
    pub ciphering: Option<ServerCiphering>,
    /// Largest APDU the meter accepts and sends.
    pub max_pdu: u16,
    /// A link idle for this long is closed, as real meters do.
    pub inactivity_timeout: Duration,
    /// HDLC physical address the meter answers (any when `None`); meter k of a bus answers physical + k.
    pub physical: Option<u16>,
    /// HDLC address size clients must use (any when `None`).
    pub address_size: Option<u8>,
    /// Meters sharing one serial line (HDLC), addressed physical, physical + 1, …
    pub bus: u32,
    /// Pause before every frame the meter sends.
    pub frame_gap: Duration,
    /// Return when the HDLC link is disconnected (an optical port then expects a new sign-on).
    pub end_on_disconnect: bool,
    /// Fault: close the link once, after this many requests (for reconnect tests).
    pub drop_once_after: Option<usize>,
    /// A misbehaviour on every link (`simulate --fault`).
    pub fault: Option<fault::Fault>,
    /// Seconds between load profile entries (900 by default).
    pub capture_period: u32,
    /// Whether the profile accepts selective access (range, entry).
    pub selective_access: bool,
    /// Entries in the load profile (2,880 by default: 30 days at 15 minutes).
    pub profile_entries: u32,
    /// Clock status bits of every date-time the meters send (clock, profile capture times).
    pub clock_status: u8,
    /// The largest HDLC information field the meters accept (their UA answers the smaller of
    /// this and the client's proposal); 1024 by default, 128 is the standard's default.
    pub hdlc_max_info: u16,
    /// Serve the test objects with edge values too (u64 max, i64 min, 9,430,701 Wh, a
    /// float32, date-times with each clock status).
    pub test_objects: bool,
    /// A HAN/P1 port: answer nothing, push a three-phase list this often (`simulate --han`).
    pub han_every: Option<Duration>,
    /// The HAN push's body as compact data (class 62: template_description, then the
    /// compact_buffer) instead of OBIS pairs (`simulate --han-compact`).
    pub han_compact: bool,
    /// Serve WRAPPER PDUs over UDP (one per datagram) instead of TCP.
    pub udp: bool,
    /// The client SAP whose association is pre-established (served without an AARQ).
    pub pre_established: Option<u16>,
    /// Send an event notification (the energy register's value) on every plain WRAPPER
    /// association this often, unasked, as meters report events between requests.
    pub event_every: Option<Duration>,
    /// The largest HDLC window the meters accept (their UA answers the smaller of this and
    /// the client's proposal); 1 by default, as most meters.
    pub hdlc_window: u8,
    /// Answer long GETs in general-block-transfer blocks, this many a window, to clients that
    /// propose it (`simulate --gbt`). Over HDLC the window is 1: a secondary station sends one
    /// block per poll.
    pub gbt_window: Option<u8>,
    /// Where every association is logged as the meters saw it (`simulate --association-log`).
    pub association_log: Option<Arc<association_log::AssociationLog>>,
    /// How long a TCP meter whose client sends its next request within this time polls for
    /// it before parking (`spin.rs`). Zero by default: a simulator inside the client's
    /// process would take the thread the client needs to send; `simulate` (a process of its
    /// own) polls for [`BUSY_POLL`] unless told otherwise.
    pub busy_poll: Duration,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            host: "127.0.0.1".into(),
            port: 4059,
            meters: 1,
            interface: Interface::Wrapper,
            referencing: Referencing::Ln,
            logical: 1,
            authentication: Authentication::None,
            ciphering: None,
            max_pdu: 1024,
            inactivity_timeout: Duration::from_secs(120),
            physical: None,
            address_size: None,
            bus: 1,
            frame_gap: Duration::ZERO,
            end_on_disconnect: false,
            drop_once_after: None,
            fault: None,
            capture_period: 900,
            selective_access: true,
            profile_entries: meter::PROFILE_ENTRIES,
            clock_status: 0,
            test_objects: false,
            hdlc_max_info: 1024,
            han_every: None,
            han_compact: false,
            udp: false,
            pre_established: None,
            event_every: None,
            hdlc_window: 1,
            gbt_window: None,
            association_log: None,
            busy_poll: Duration::ZERO,
        }
    }
}

/// The port meter `i` serves on: `config.port + i`, or 0 (any free port).
fn port_of(config: &SimConfig, i: u32) -> std::io::Result<u16> {
    if config.port == 0 {
        return Ok(0);
    }
    u16::try_from(i)
        .ok()
        .and_then(|i| config.port.checked_add(i))
        .ok_or_else(|| std::io::Error::other(format!("port {} + {i} is beyond 65535", config.port)))
}

/// Binds one listener per meter; returns their addresses and the listeners.
pub async fn bind(config: &SimConfig) -> std::io::Result<Vec<TcpListener>> {
    let mut out = Vec::with_capacity(config.meters as usize);
    for i in 0..config.meters {
        let port = port_of(config, i)?;
        let l = TcpListener::bind((config.host.as_str(), port))
            .await
            .map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!("cannot listen on {}:{port}: {e}", config.host),
                )
            })?;
        out.push(l);
    }
    Ok(out)
}

/// Serves bound listeners until the task is dropped; meter `i` answers on listener `i`.
pub async fn serve(config: SimConfig, listeners: Vec<TcpListener>) {
    let mut tasks = tokio::task::JoinSet::new();
    for (i, l) in listeners.into_iter().enumerate() {
        let config = config.clone();
        // The meter's counters live as long as the meter, across connections.
        let life = MeterLife::default();
        tasks.spawn(async move {
            loop {
                let Ok((stream, peer)) = l.accept().await else {
                    continue;
                };
                let config = config.clone();
                let life = life.clone();
                let _ = stream.set_nodelay(true);
                tokio::spawn(async move {
                    let peer = peer.to_string();
                    if let Err(e) = serve_logged(
                        stream,
                        &config,
                        i as u32,
                        life,
                        &peer,
                        Some(crate::transport::tcp::read_now),
                    )
                    .await
                    {
                        tracing::debug!("simulated meter {i}: connection ended: {e}");
                    }
                });
            }
        });
    }
    while tasks.join_next().await.is_some() {}
}

/// Starts the simulator in the background (over UDP when `config.udp`); returns the meters'
/// addresses.
pub async fn start(
    config: SimConfig,
) -> std::io::Result<(Vec<SocketAddr>, tokio::task::JoinHandle<()>)> {
    if config.udp {
        let sockets = udp::bind_udp(&config).await?;
        let addrs = sockets
            .iter()
            .map(|s| s.local_addr())
            .collect::<Result<Vec<_>, _>>()?;
        return Ok((addrs, tokio::spawn(udp::serve_udp(config, sockets))));
    }
    let listeners = bind(&config).await?;
    let addrs = listeners
        .iter()
        .map(|l| l.local_addr())
        .collect::<Result<Vec<_>, _>>()?;
    let handle = tokio::spawn(serve(config, listeners));
    Ok((addrs, handle))
}

/// The link end of meter `k` on a line: with a physical address, meter k answers physical + k.
fn server_link(config: &SimConfig, k: u32) -> ServerLink {
    match config.interface {
        Interface::Wrapper => ServerLink::Wrapper(WrapperServer::new(config.logical)),
        Interface::Hdlc => {
            let filter = match config.physical {
                Some(p) => ServerAddressFilter {
                    logical: config.logical,
                    physical: Some(p.saturating_add(k as u16)),
                    size: config
                        .address_size
                        .and_then(|s| AddressSize::try_from(s).ok()),
                },
                None => ServerAddressFilter::logical(config.logical),
            };
            // Like most current meters, it accepts information fields larger than the default 128.
            ServerLink::Hdlc(HdlcServer::new(
                filter,
                HdlcParameters {
                    window_tx: config.hdlc_window.clamp(1, 7),
                    window_rx: config.hdlc_window.clamp(1, 7),
                    ..HdlcParameters::with_max_info(config.hdlc_max_info.max(32))
                },
            ))
        }
    }
}

/// Serves one simulated meter over any stream (a TCP connection, a serial port) until it closes.
pub async fn serve_stream<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send>(
    stream: S,
    config: &SimConfig,
    index: u32,
) -> std::io::Result<()> {
    serve_connection(stream, config, index, MeterLife::default())
        .await
        .map(drop)
}

/// What a simulated meter keeps across connections: its own invocation counter, whether the
/// one-off drop fault has fired, the highest invocation counter each client (by system
/// title) has used — a counter that does not increase is refused, as a real meter does — and
/// what clients changed on each meter of the line (clock, registers, profile, disconnect).
#[derive(Clone, Default)]
struct MeterLife {
    counter: Arc<AtomicU32>,
    dropped: Arc<AtomicBool>,
    clients: Arc<std::sync::Mutex<std::collections::HashMap<[u8; 8], u32>>>,
    states: Arc<std::sync::Mutex<std::collections::HashMap<u32, meter::SharedState>>>,
}

impl MeterLife {
    /// The changes made to meter `index`, the same for every connection.
    fn state(&self, index: u32) -> meter::SharedState {
        let mut states = self.states.lock().unwrap_or_else(|e| e.into_inner());
        states.entry(index).or_default().clone()
    }

    /// The lowest counter the client with `title` may use next (0 when it is new).
    fn client_floor(&self, title: &[u8; 8]) -> u32 {
        let clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
        clients.get(title).map_or(0, |last| last.saturating_add(1))
    }

    /// Remembers the highest counter the session's client used.
    fn note_client(&self, session: &ServerSession) {
        if let (Some(t), Some(last)) = (session.peer_title(), session.peer_last()) {
            let mut clients = self.clients.lock().unwrap_or_else(|e| e.into_inner());
            let e = clients.entry(t.0).or_insert(last);
            *e = (*e).max(last);
        }
    }
}

/// One meter on a line: its link end, its association and its objects.
struct Drop {
    link: ServerLink,
    session: ServerSession,
    meter: SimMeter,
}

/// How a served link ended (all but `Closed` leave the stream usable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    /// Nothing arrived for the inactivity timeout.
    Idle,
    /// The other end closed: a read gave no more bytes.
    Closed,
    /// The meter ended it (a fault, or an optical port's disconnect).
    Done,
}

async fn serve_connection<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send>(
    stream: S,
    config: &SimConfig,
    index: u32,
    life: MeterLife,
) -> std::io::Result<Ended> {
    serve_logged(stream, config, index, life, "-", None).await
}

/// [`serve_connection`], with `peer` (the client's address) for the association log.
async fn serve_logged<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send>(
    stream: S,
    config: &SimConfig,
    index: u32,
    life: MeterLife,
    peer: &str,
    read_now: Option<ReadNow<S>>,
) -> std::io::Result<Ended> {
    let count = if config.interface == Interface::Hdlc {
        config.bus.max(1)
    } else {
        1
    };
    let mut tracked: Vec<association_log::Tracked> =
        (0..count).map(|_| Default::default()).collect();
    let r = serve_tracked(stream, config, index, life, peer, &mut tracked, read_now).await;
    if let Some(log) = &config.association_log {
        for (k, t) in tracked.iter_mut().enumerate() {
            t.end(log, index + k as u32, peer);
        }
    }
    r
}

async fn serve_tracked<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send>(
    mut stream: S,
    config: &SimConfig,
    index: u32,
    life: MeterLife,
    peer: &str,
    tracked: &mut [association_log::Tracked],
    read_now: Option<ReadNow<S>>,
) -> std::io::Result<Ended> {
    let MeterLife {
        counter, dropped, ..
    } = life.clone();
    if let Some(every) = config.han_every {
        return han::push_forever(&mut stream, config, index, &counter, every).await;
    }
    let mut requests = 0usize;
    // The general-block-transfer block dropped once (fault gbt-drop=N), when done.
    let mut gbt_dropped = false;
    let mut seed = 0x2545_F491_4F6C_DD1D_u64 ^ index as u64;
    let idle = match config.fault {
        Some(fault::Fault::Inactivity(d)) => d,
        _ => config.inactivity_timeout,
    };
    // Several meters share a line only with HDLC (each answers only its own address).
    let count = if config.interface == Interface::Hdlc {
        config.bus.max(1)
    } else {
        1
    };
    let mut drops: Vec<Drop> = (0..count)
        .map(|k| {
            let mut settings = ServerSettings::new(config.referencing);
            settings.max_pdu = config.max_pdu;
            settings.authentication = config.authentication.clone();
            // Each meter its own system title (meter i: the configured one plus i in its last
            // four bytes), as real meters have: the logger keeps counter floors per title.
            settings.ciphering = config.ciphering.clone().map(|mut c| {
                c.system_title = meter_title(c.system_title, index + k);
                c
            });
            settings.pre_established = config.pre_established;
            if let Some(w) = config.gbt_window {
                settings.conformance =
                    settings.conformance | crate::dlms::acse::Conformance::GENERAL_BLOCK_TRANSFER;
                settings.gbt_window = Some(match config.interface {
                    Interface::Hdlc => 1,
                    _ => w,
                });
            }
            let mut meter = SimMeter::new(
                index + k,
                Local::now().fixed_offset(),
                config.referencing == Referencing::Sn,
            );
            if config.ciphering.is_some() {
                meter.invocation_counter = Some(counter.clone());
            }
            meter.capture_period = config.capture_period.max(1) as i64;
            meter.selective_access = config.selective_access;
            meter.profile_entries = config.profile_entries;
            meter.clock_status = config.clock_status;
            meter.test_objects = config.test_objects;
            meter.state = life.state(index + k);
            meter.set_host_time(Local::now().fixed_offset());
            if config.interface == Interface::Hdlc {
                meter.hdlc_inactivity = Some(
                    config
                        .inactivity_timeout
                        .as_secs()
                        .clamp(1, u16::MAX as u64) as u16,
                );
            }
            Drop {
                link: server_link(config, k),
                session: ServerSession::new(settings),
                meter,
            }
        })
        .collect();
    let mut buf = vec![0u8; 16 * 1024];
    let mut last_heard = tokio::time::Instant::now();
    let every = config
        .event_every
        .filter(|p| config.interface == Interface::Wrapper && !p.is_zero());
    let mut next_event = every.map(|p| tokio::time::Instant::now() + p);
    // One idle timer for the connection, moved on only when it fires early: resetting it at
    // every request would touch the runtime's timer wheel twice per request.
    let mut idle_timer = std::pin::pin!(tokio::time::sleep_until(last_heard + idle));
    let mut pace = spin::NextRequest::new(config.busy_poll);
    loop {
        let poll_for = pace.wait(std::time::Instant::now());
        // An event notification due goes first (the select below sends it).
        let event_due = next_event.is_some_and(|at| tokio::time::Instant::now() >= at);
        let polled = match read_now {
            Some(f) if !poll_for.is_zero() && !event_due => {
                poll_request(&stream, f, &mut buf, poll_for)
            }
            _ => None,
        };
        let read = if let Some(r) = polled {
            Some(Ok(r))
        } else {
            tokio::select! {
            biased;
            r = stream.read(&mut buf) => Some(Ok(r)),
            _ = &mut idle_timer => {
                if tokio::time::Instant::now() < last_heard + idle {
                    idle_timer.as_mut().reset(last_heard + idle);
                    continue;
                }
                Some(Err(()))
            }
            _ = sleep_until_or_never(next_event) => None,
            }
        };
        let n = match read {
            None => {
                for d in &mut drops {
                    if let Some(pdu) = event(d) {
                        stream.write_all(&pdu).await?;
                    }
                }
                next_event = next_event.zip(every).map(|(at, p)| at + p);
                continue;
            }
            Some(Err(_)) => return Ok(Ended::Idle),
            Some(Ok(Ok(0))) => return Ok(Ended::Closed),
            Some(Ok(r)) => r?,
        };
        last_heard = tokio::time::Instant::now();
        pace.heard(std::time::Instant::now());
        for (k, d) in drops.iter_mut().enumerate() {
            let events = match d.link.receive(&buf[..n]) {
                Ok(ev) => ev,
                Err(e) => {
                    // A corrupted frame is dropped; the client times out and retries, as with a meter.
                    tracing::debug!("simulated meter {}: {e}", d.meter.index);
                    continue;
                }
            };
            for ev in events {
                match ev {
                    LinkEvent::Transmit(out) => {
                        pause(config).await;
                        stream.write_all(&out).await?
                    }
                    LinkEvent::Apdu(_) if config.fault == Some(fault::Fault::Silent) => {}
                    LinkEvent::Apdu(req) => {
                        requests += 1;
                        if let Some(fault::Fault::DropAfter(n)) = config.fault {
                            if requests > n {
                                tracing::info!(
                                    "simulated meter {}: dropping the link (fault)",
                                    d.meter.index
                                );
                                return Ok(Ended::Done);
                            }
                        }
                        if config.drop_once_after.is_some_and(|n| requests > n)
                            && !dropped.swap(true, Ordering::SeqCst)
                        {
                            tracing::info!(
                                "simulated meter {}: dropping the link (fault)",
                                d.meter.index
                            );
                            return Ok(Ended::Done);
                        }
                        d.meter.set_host_time(Local::now().fixed_offset());
                        if !d.session.is_associated() {
                            d.session.next_challenge = crate::engine::secure::random_bytes(16);
                            d.session
                                .set_invocation_counter(counter.load(Ordering::SeqCst));
                            let calling = crate::dlms::acse::Aarq::decode(&req)
                                .ok()
                                .and_then(|a| a.calling_ap_title)
                                .and_then(|t| <[u8; 8]>::try_from(t.as_slice()).ok());
                            if let Some(t) = calling {
                                d.session.set_peer_floor(life.client_floor(&t));
                            }
                        }
                        if let Some(c) = d.link.client_address() {
                            d.session.set_client(c);
                        }
                        let resp = match (config.fault, req.first(), req.get(1)) {
                            (Some(fault::Fault::RejectAssociation), Some(0x60), _) => {
                                Some(rejected_aare())
                            }
                            (Some(fault::Fault::Exception), Some(t), _)
                                if *t != 0x60 && *t != 0x62 =>
                            {
                                Some(vec![0xD8, 0x01, 0x01])
                            }
                            // After a "reboot" the meter's block numbering starts again.
                            (Some(fault::Fault::RebootMidBlock), Some(0xC0), Some(0x02)) => Some(
                                crate::dlms::xdlms::GetResponse::WithDataBlock {
                                    invoke_id: req.get(2).copied().unwrap_or(0xC1),
                                    last_block: false,
                                    block_number: 1,
                                    result: Ok(vec![0x01, 0x00]),
                                }
                                .encode(),
                            ),
                            (
                                Some(fault::Fault::BadList | fault::Fault::ListError),
                                Some(0xC0),
                                Some(0x03),
                            ) if d.session.is_associated() => {
                                fault::list_answer(config.fault, &req)
                            }
                            _ => d.session.handle(&req, &mut d.meter),
                        };
                        counter.fetch_max(d.session.invocation_counter(), Ordering::SeqCst);
                        life.note_client(&d.session);
                        if let (Some(log), Some(t)) = (&config.association_log, tracked.get_mut(k))
                        {
                            let client = d.link.client_address().unwrap_or(0);
                            t.after(log, d.meter.index, peer, client, &req, &d.session);
                            if resp.as_deref() == Some(&REFUSED_CIPHERED[..]) {
                                log.refused(d.meter.index, client);
                            }
                        }
                        if resp.as_deref() == Some(&REFUSED_CIPHERED[..]) {
                            tracing::warn!(
                                "simulated meter {}: refused a request that does not decipher \
                                 or reuses an invocation counter",
                                d.meter.index
                            );
                        }
                        // The rest of a general-block-transfer window streams after the answer.
                        let mut outgoing: Vec<Vec<u8>> = resp.into_iter().collect();
                        while let Some(b) = d.session.next_streamed() {
                            outgoing.push(b);
                        }
                        for resp in outgoing {
                            if let Some(fault::Fault::GbtDrop(n)) = config.fault {
                                if !gbt_dropped && fault::is_gbt_block(&resp, n) {
                                    gbt_dropped = true;
                                    tracing::info!(
                                        "simulated meter {}: dropping general-block-transfer \
                                         block {n} (fault)",
                                        d.meter.index
                                    );
                                    continue;
                                }
                            }
                            match d.link.send_apdu(&resp) {
                                Ok(first) => {
                                    pause(config).await;
                                    if let Some(fault::Fault::Slow(d)) = config.fault {
                                        tokio::time::sleep(d).await;
                                    }
                                    stream
                                        .write_all(&fault::spoil(config.fault, first, &mut seed))
                                        .await?
                                }
                                Err(e) => tracing::warn!(
                                    "simulated meter {}: cannot send: {e}",
                                    d.meter.index
                                ),
                            }
                        }
                    }
                    LinkEvent::Closed => {
                        d.session.reset();
                        if let (Some(log), Some(t)) = (&config.association_log, tracked.get_mut(k))
                        {
                            t.end(log, d.meter.index, peer);
                        }
                        if config.end_on_disconnect {
                            return Ok(Ended::Done);
                        }
                    }
                    LinkEvent::Opened => {}
                }
            }
        }
    }
}

/// The system title of meter `index`: `title` plus `index` in its last four bytes (meter 0
/// keeps `title`).
pub fn meter_title(
    title: crate::dlms::security::SystemTitle,
    index: u32,
) -> crate::dlms::security::SystemTitle {
    let mut t = title.0;
    let low = u32::from_be_bytes([t[4], t[5], t[6], t[7]]).wrapping_add(index);
    t[4..].copy_from_slice(&low.to_be_bytes());
    crate::dlms::security::SystemTitle(t)
}

/// A read that returns at once, bypassing the runtime (`transport::tcp::read_now`).
type ReadNow<S> = fn(&S, &mut [u8]) -> std::io::Result<usize>;

/// Reads the next request with `read_now` for up to `limit` (see `spin.rs`); `None` when
/// nothing came in that time.
fn poll_request<S>(
    stream: &S,
    read_now: ReadNow<S>,
    buf: &mut [u8],
    limit: Duration,
) -> Option<std::io::Result<usize>> {
    let until = std::time::Instant::now() + limit;
    loop {
        match read_now(stream, buf) {
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted
                ) => {}
            read => return Some(read),
        }
        if std::time::Instant::now() >= until {
            return None;
        }
        std::hint::spin_loop();
    }
}

/// Sleeps until `at`, or forever when there is none.
async fn sleep_until_or_never(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// An event notification from a meter with a plain association: its energy register now.
fn event(d: &mut Drop) -> Option<Vec<u8>> {
    use crate::dlms::server::CosemServer;
    use crate::dlms::xdlms::{AttributeDescriptor, EventNotificationRequest};
    if !d.session.is_associated() || d.session.is_ciphered() {
        return None;
    }
    let attribute = AttributeDescriptor {
        class_id: 3,
        instance: crate::dlms::obis::Obis::new(1, 0, 1, 8, 0, 255),
        attribute: 2,
    };
    let now = Local::now().fixed_offset();
    d.meter.set_host_time(now);
    let value = d.meter.get(&attribute, None).ok()?;
    let apdu = EventNotificationRequest {
        time: Some(crate::dlms::datetime::CosemDateTime::from_chrono(&now, 0)),
        attribute,
        value,
    }
    .encode();
    d.link.send_apdu(&apdu).ok()
}

/// The exception-response a ciphered request that fails its checks gets (state error,
/// service not allowed... as `ServerSession` answers it).
const REFUSED_CIPHERED: [u8; 3] = [0xD8, 0x01, 0x05];

/// An AARE refusing the association (the `reject` fault).
fn rejected_aare() -> Vec<u8> {
    use crate::dlms::acse::{Aare, ApplicationContext, AssociationResult, Diagnostic};
    Aare {
        context: ApplicationContext::LogicalNames,
        result: AssociationResult::RejectedPermanent,
        diagnostic: Diagnostic::User(1),
        responding_ap_title: None,
        mechanism: None,
        responding_authentication_value: None,
        user_information: None,
    }
    .encode()
}

/// The meter's reaction time before each frame it sends (real meters pause between frames).
async fn pause(config: &SimConfig) {
    if !config.frame_gap.is_zero() {
        tokio::time::sleep(config.frame_gap).await;
    }
}
