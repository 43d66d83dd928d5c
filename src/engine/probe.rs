//! Finding a meter: tries the interfaces, addresses and referencings operators guess by hand.
//!
//! An AARE, even a rejection, proves the address; on HDLC a UA alone proves the link address.

use crate::dlms::client::{AttributeRef, ClientSettings, Referencing, SessionError};
use crate::dlms::hdlc::physical_from_serial_number;
use crate::dlms::obis::Obis;
use crate::engine::{client_link, Direction, EngineError, Interface, MeterAddress, Session};
use crate::transport::BoxStream;
use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{ready, Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Client addresses to try, most common first: public, then the usual management clients.
const CLIENTS: [u16; 5] = [16, 32, 1, 17, 18];

/// Physical (lower HDLC) addresses to try with 2- and 4-byte server addresses.
const PHYSICALS: [u16; 4] = [1, 16, 17, 256];

/// One combination of settings to try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    /// HDLC or WRAPPER.
    pub interface: Interface,
    /// Client SAP.
    pub client: u16,
    /// Physical device address (HDLC lower address).
    pub physical: u16,
    /// Logical device address.
    pub logical: u16,
    /// HDLC server address size in bytes.
    pub address_size: u8,
    /// LN or SN.
    pub referencing: Referencing,
    /// The serial number `physical` was derived from, for the serial-number form.
    pub serial_number: Option<u64>,
}

impl Candidate {
    /// The engine's address for this candidate.
    pub fn address(&self) -> MeterAddress {
        MeterAddress {
            interface: self.interface,
            client: self.client,
            physical: self.physical,
            logical: self.logical,
            address_size: self.address_size,
            hdlc_window: 1,
        }
    }

    /// Whether both reach the same link address (they may differ in client and referencing).
    fn same_link(&self, other: &Candidate) -> bool {
        (
            self.interface,
            self.physical,
            self.logical,
            self.address_size,
        ) == (
            other.interface,
            other.physical,
            other.logical,
            other.address_size,
        )
    }
}

impl fmt::Display for Candidate {
    /// `hdlc client 16 server 17 size 2 ln`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.interface {
            Interface::Wrapper => write!(f, "wrapper client {}", self.client)?,
            Interface::Hdlc => write!(f, "hdlc client {}", self.client)?,
        }
        if self.interface == Interface::Hdlc && self.address_size != 1 {
            match self.serial_number {
                Some(sn) => write!(f, " serial number {sn} (server {})", self.physical)?,
                None => write!(f, " server {}", self.physical)?,
            }
        }
        if self.logical != 1 {
            write!(f, " logical {}", self.logical)?;
        }
        if self.interface == Interface::Hdlc {
            write!(f, " size {}", self.address_size)?;
        }
        f.write_str(match self.referencing {
            Referencing::Ln => " ln",
            Referencing::Sn => " sn",
        })
    }
}

/// The LN combinations to try, most common first, deduplicated and encodable (SN comes in `probe`).
pub fn candidates(serial_number: Option<u64>, only_interface: Option<Interface>) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = Vec::new();
    for client in CLIENTS {
        let wrapper = Candidate {
            interface: Interface::Wrapper,
            client,
            physical: 1,
            logical: 1,
            address_size: 1,
            referencing: Referencing::Ln,
            serial_number: None,
        };
        let hdlc = Candidate {
            interface: Interface::Hdlc,
            ..wrapper
        };
        let sized = [2, 4].into_iter().flat_map(|address_size| {
            PHYSICALS.map(|physical| Candidate {
                physical,
                address_size,
                ..hdlc
            })
        });
        let by_serial = serial_number.map(|sn| Candidate {
            physical: physical_from_serial_number(sn),
            address_size: 4,
            serial_number: Some(sn),
            ..hdlc
        });
        let tries = std::iter::once(wrapper)
            .chain(std::iter::once(hdlc))
            .chain(sized)
            .chain(by_serial)
            .filter(|c| only_interface.is_none_or(|i| i == c.interface));
        for c in tries {
            if client_link(&c.address()).is_ok() && !out.contains(&c) {
                out.push(c);
            }
        }
    }
    out
}

/// What the probe found.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeResult {
    /// The settings the meter answered.
    pub candidate: Candidate,
    /// True when it associated; else the address is right but the association was refused or unanswered.
    pub associated: bool,
    /// What happened, in words (authentication needed, echo detected).
    pub note: String,
    /// The logical device name (0.0.42.0.0.255), when it could be read.
    pub device_name: Option<String>,
    /// The serial number (0.0.96.1.0.255), when it could be read.
    pub serial_number: Option<String>,
}

impl ProbeResult {
    /// The meter found, as a new meter named `name` on `connection`.
    pub fn meter(&self, name: &str, connection: &str) -> crate::queue::Meter {
        use crate::queue::{InterfaceKind, ReferencingKind};
        let p = &self.candidate;
        let mut m = crate::queue::Meter::new(name, connection);
        m.interface = match p.interface {
            Interface::Wrapper => InterfaceKind::Wrapper,
            Interface::Hdlc => InterfaceKind::Hdlc,
        };
        m.client = p.client;
        m.physical = p.physical;
        m.logical = p.logical;
        m.address_size = p.address_size;
        m.serial_number = p.serial_number;
        m.referencing = match p.referencing {
            Referencing::Ln => ReferencingKind::Ln,
            Referencing::Sn => ReferencingKind::Sn,
        };
        m
    }
}

/// How one try ended.
enum Outcome {
    /// Associated; the device name and serial number when readable.
    Associated(Option<String>, Option<String>),
    /// An AARE rejection: the address is right.
    Rejected(String),
    /// HDLC UA but no AARE: the link address is right.
    LinkOnly,
    /// Our own frame came back.
    Echo,
    /// No usable answer.
    Nothing(String),
}

impl fmt::Display for Outcome {
    /// The outcome for progress lines.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Associated(..) => f.write_str("associated"),
            Outcome::Rejected(why) => write!(f, "AARE, refused: {why}"),
            Outcome::LinkOnly => f.write_str("UA (link address right) but no AARE"),
            Outcome::Echo => f.write_str("our own frame came back (echo)"),
            Outcome::Nothing(why) => f.write_str(why),
        }
    }
}

/// The last frame sent and what came back since, for recognising an echo.
#[derive(Default)]
struct Wire {
    sent: Vec<u8>,
    received: Vec<u8>,
}

/// Why probing found nothing.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The link itself could not be opened.
    #[error("cannot open the connection: {0}")]
    Connect(EngineError),
    /// Nothing answered at any address.
    #[error("no meter answered any of {total} address combinations")]
    NoAnswer {
        /// How many combinations were tried.
        total: usize,
    },
}

/// Tries the candidates, each on a fresh stream, reporting `progress(n, total, candidate, outcome)`.
pub async fn probe<F, Fut>(
    mut connect: F,
    candidates: &[Candidate],
    timeout: Duration,
    mut progress: impl FnMut(usize, usize, &Candidate, &str),
) -> Result<ProbeResult, ProbeError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<BoxStream, EngineError>>,
{
    let total = candidates.len();
    let mut cancel = false;
    let mut link_only: Option<Candidate> = None;
    for (i, c) in candidates.iter().enumerate() {
        if link_only.is_some_and(|l| !l.same_link(c)) {
            continue;
        }
        let mut outcome = attempt(&mut connect, c, timeout, cancel).await?;
        if matches!(outcome, Outcome::Echo) && !cancel {
            progress(
                i + 1,
                total,
                c,
                &format!("{outcome}: retrying with echo cancellation"),
            );
            cancel = true;
            outcome = attempt(&mut connect, c, timeout, cancel).await?;
        }
        progress(i + 1, total, c, &outcome.to_string());
        let echo = if cancel {
            "; the line echoes what we send (optical probe or half-duplex RS-485): echo cancelled"
        } else {
            ""
        };
        match outcome {
            Outcome::Associated(name, serial) => {
                return Ok(associated(*c, name, serial, echo));
            }
            Outcome::Rejected(why) => {
                // A meter that only speaks SN refuses an LN association at its right address.
                let sn = Candidate {
                    referencing: Referencing::Sn,
                    ..*c
                };
                let retry = attempt(&mut connect, &sn, timeout, cancel).await?;
                progress(i + 1, total, &sn, &retry.to_string());
                if let Outcome::Associated(name, serial) = retry {
                    return Ok(associated(sn, name, serial, echo));
                }
                return Ok(ProbeResult {
                    candidate: *c,
                    associated: false,
                    note: format!(
                        "meter answers at {c} but refuses client {} without authentication: give --auth/--password ({why}){echo}",
                        c.client
                    ),
                    device_name: None,
                    serial_number: None,
                });
            }
            Outcome::LinkOnly => {
                link_only.get_or_insert(*c);
            }
            Outcome::Echo | Outcome::Nothing(_) => {}
        }
    }
    match link_only {
        Some(c) => Ok(ProbeResult {
            candidate: c,
            associated: false,
            note: format!(
                "meter answers the HDLC link at {c} (UA) but not the association request: give --client and --auth/--password"
            ),
            device_name: None,
            serial_number: None,
        }),
        None => Err(ProbeError::NoAnswer { total }),
    }
}

/// The result for an associated candidate.
fn associated(
    c: Candidate,
    name: Option<String>,
    serial: Option<String>,
    echo: &str,
) -> ProbeResult {
    ProbeResult {
        candidate: c,
        associated: true,
        note: format!("meter associates at {c}{echo}"),
        device_name: name,
        serial_number: serial,
    }
}

/// One try: connect, open the link and associate, read the name and serial, release.
async fn attempt<F, Fut>(
    connect: &mut F,
    c: &Candidate,
    timeout: Duration,
    cancel: bool,
) -> Result<Outcome, ProbeError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<BoxStream, EngineError>>,
{
    let stream = connect().await.map_err(ProbeError::Connect)?;
    let stream: BoxStream = if cancel {
        Box::new(EchoCancel::new(stream))
    } else {
        stream
    };
    let wire = Arc::new(Mutex::new(Wire::default()));
    let sink = wire.clone();
    let trace = Box::new(move |e: crate::engine::TraceEntry| {
        let mut w = sink.lock().unwrap_or_else(PoisonError::into_inner);
        match e.direction {
            Direction::Tx => {
                w.sent = e.bytes;
                w.received.clear();
            }
            Direction::Rx => w.received.extend_from_slice(&e.bytes),
        }
    });
    let settings = ClientSettings::new(c.referencing);
    let error = match Session::open(stream, &c.address(), settings, timeout, Some(trace)).await {
        Ok(mut session) => {
            let items = [
                AttributeRef::new(1, Obis::new(0, 0, 42, 0, 0, 255), 2),
                AttributeRef::new(1, Obis::new(0, 0, 96, 1, 0, 255), 2),
            ];
            let values = session.read(&items).await.unwrap_or_default();
            let text = |i: usize| {
                values
                    .get(i)
                    .and_then(|r| r.as_ref().ok())
                    .map(|d| d.to_string())
            };
            let found = Outcome::Associated(text(0), text(1));
            // Nothing more to learn from the release.
            let _ = session.close().await;
            return Ok(found);
        }
        Err(e) => e,
    };
    let echoed = {
        let w = wire.lock().unwrap_or_else(PoisonError::into_inner);
        !w.sent.is_empty() && w.received.starts_with(&w.sent)
    };
    Ok(match error {
        _ if echoed => Outcome::Echo,
        EngineError::Session(e @ (SessionError::Rejected { .. } | SessionError::Initiate(_))) => {
            Outcome::Rejected(e.to_string())
        }
        EngineError::Timeout { waiting_for, .. } | EngineError::Closed(waiting_for)
            if c.interface == Interface::Hdlc && waiting_for.contains("AARE") =>
        {
            Outcome::LinkOnly
        }
        EngineError::Timeout { .. } => Outcome::Nothing("no answer".into()),
        e => Outcome::Nothing(e.to_string()),
    })
}

/// A stream that drops the exact echo of what it wrote from what it reads (optical probes, RS-485).
pub struct EchoCancel<S> {
    inner: S,
    pending: VecDeque<u8>,
}

impl<S> EchoCancel<S> {
    /// Wraps a stream whose line echoes every byte written.
    pub fn new(inner: S) -> Self {
        EchoCancel {
            inner,
            pending: VecDeque::new(),
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for EchoCancel<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        loop {
            let start = buf.filled().len();
            ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
            let got = &buf.filled()[start..];
            if got.is_empty() || this.pending.is_empty() {
                return Poll::Ready(Ok(()));
            }
            let echo = got
                .iter()
                .zip(&this.pending)
                .take_while(|(a, b)| a == b)
                .count();
            if echo < got.len().min(this.pending.len()) {
                // Not our echo: everything read is the peer's.
                this.pending.clear();
                return Poll::Ready(Ok(()));
            }
            this.pending.drain(..echo);
            let end = buf.filled().len();
            buf.filled_mut().copy_within(start + echo..end, start);
            buf.set_filled(end - echo);
            if end - echo > start {
                return Poll::Ready(Ok(()));
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for EchoCancel<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let n = ready!(Pin::new(&mut this.inner).poll_write(cx, data))?;
        this.pending.extend(&data[..n]);
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// A TOML string literal.
fn quoted(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// A ready `[[meter]]` snippet for the result (its connection named `connection`).
pub fn meter_snippet(r: &ProbeResult, name: &str, connection: &str) -> String {
    let c = &r.candidate;
    let mut out = String::new();
    for (what, value) in [
        ("device name", &r.device_name),
        ("serial number", &r.serial_number),
    ] {
        if let Some(v) = value {
            out.push_str(&format!("# {what}: {}\n", v.replace('\n', " ")));
        }
    }
    if !r.associated {
        out.push_str(&format!("# {}\n", r.note));
    }
    out.push_str("[[meter]]\n");
    out.push_str(&format!("name = {}\n", quoted(name)));
    out.push_str(&format!("connection = {}\n", quoted(connection)));
    let (interface, referencing) = (
        match c.interface {
            Interface::Wrapper => "wrapper",
            Interface::Hdlc => "hdlc",
        },
        match c.referencing {
            Referencing::Ln => "ln",
            Referencing::Sn => "sn",
        },
    );
    out.push_str(&format!("interface = \"{interface}\"\n"));
    out.push_str(&format!("client = {}\n", c.client));
    if c.interface == Interface::Hdlc {
        match c.serial_number {
            Some(sn) => out.push_str(&format!("serial_number = {sn}\n")),
            None => out.push_str(&format!("server = {}\n", c.physical)),
        }
    }
    out.push_str(&format!("logical = {}\n", c.logical));
    if c.interface == Interface::Hdlc {
        out.push_str(&format!("address_size = {}\n", c.address_size));
    }
    out.push_str(&format!("referencing = \"{referencing}\"\n"));
    if !r.associated {
        out.push_str("# auth = { level = \"low\", password = { env = \"DLMS_PASSWORD\" } }\n");
    }
    out
}
