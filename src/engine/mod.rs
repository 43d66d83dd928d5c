//! Drives a `dlms` client session over a byte stream: open the link, associate, read items,
//! release; with timeouts and a trace of every frame.

use crate::dlms::client::{
    apply_scaler_units, parse_object_list, with_scaler_units, AttributeRef, ClientSession,
    ClientSettings, ObjectListEntry, ReadError, Reading, Referencing, SessionError, Step,
};
use crate::dlms::data::Data;
use crate::dlms::hdlc::{AddressSize, HdlcAddress, HdlcClient, HdlcParameters};
use crate::dlms::link::{ClientLink, LinkError, LinkEvent};
use crate::dlms::wrapper::WrapperClient;
use crate::dlms::xdlms::summarize;
use crate::transport::Stream;
use std::time::{Duration, Instant, SystemTime};
use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod counters;
pub use counters::SessionCounters;

/// The framing used on the link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Interface {
    /// IEC 62056-47 WRAPPER (TCP/UDP).
    #[default]
    Wrapper,
    /// IEC 62056-46 HDLC.
    Hdlc,
}

/// How to address a meter on its link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeterAddress {
    /// HDLC or WRAPPER.
    pub interface: Interface,
    /// Client SAP (16 = public client).
    pub client: u16,
    /// Physical device address (HDLC lower address).
    pub physical: u16,
    /// Logical device (HDLC upper address, WRAPPER destination wPort).
    pub logical: u16,
    /// HDLC server address size in bytes: 1, 2 or 4.
    pub address_size: u8,
}

impl Default for MeterAddress {
    fn default() -> Self {
        MeterAddress {
            interface: Interface::Wrapper,
            client: 16,
            physical: 1,
            logical: 1,
            address_size: 1,
        }
    }
}

/// Direction of a traced frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Client to meter.
    Tx,
    /// Meter to client.
    Rx,
}

/// One frame as it crossed the link.
#[derive(Debug, Clone)]
pub struct TraceEntry {
    /// When it was sent or received.
    pub at: SystemTime,
    /// Which way.
    pub direction: Direction,
    /// The bytes on the wire.
    pub bytes: Vec<u8>,
    /// A one-line decoded summary (`AARQ LN mechanism none`, `GET 1.0.1.8.0.255:2`); never
    /// shows secrets.
    pub summary: String,
    /// Byte ranges of `bytes` that held a secret; those bytes are zeroed.
    pub masked: Vec<std::ops::Range<usize>>,
}

impl TraceEntry {
    /// Upper-case hex with `**` for every masked byte.
    pub fn hex(&self) -> String {
        self.bytes
            .iter()
            .enumerate()
            .map(|(i, b)| {
                if self.masked.iter().any(|r| r.contains(&i)) {
                    "**".to_string()
                } else {
                    format!("{b:02X}")
                }
            })
            .collect()
    }
}

/// Zeroes every occurrence of each secret in `bytes`; returns the ranges zeroed.
fn mask(bytes: &mut [u8], secrets: &[Vec<u8>]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    for s in secrets.iter().filter(|s| !s.is_empty()) {
        let mut i = 0;
        while i + s.len() <= bytes.len() {
            if bytes[i..i + s.len()] == s[..] {
                bytes[i..i + s.len()].fill(0);
                out.push(i..i + s.len());
                i += s.len();
            } else {
                i += 1;
            }
        }
    }
    out
}

/// Where trace entries go as they happen.
pub type TraceSink = Box<dyn FnMut(TraceEntry) + Send>;

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
        ms: u128,
    },
    /// Part of a frame came, then nothing more in time (a frame cut off on the way).
    #[error("incomplete frame ({bytes} bytes) from the meter: the rest did not come within {ms} ms while waiting for {waiting_for}")]
    Incomplete {
        /// What we waited for.
        waiting_for: &'static str,
        /// The bytes of the frame received before the timeout.
        bytes: usize,
        /// The timeout.
        ms: u128,
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
    /// The invocation counter store failed or its counters are used up.
    #[error("{0}")]
    Counters(#[from] crate::counters::CounterError),
}

/// Builds the client end of the link for an address.
pub fn client_link(addr: &MeterAddress) -> Result<ClientLink, EngineError> {
    Ok(match addr.interface {
        Interface::Wrapper => ClientLink::Wrapper(WrapperClient::new(addr.client, addr.logical)),
        Interface::Hdlc => {
            let size = AddressSize::try_from(addr.address_size)
                .map_err(|e| EngineError::Address(e.to_string()))?;
            let client = u8::try_from(addr.client)
                .ok()
                .filter(|c| *c <= 0x7F)
                .ok_or_else(|| {
                    EngineError::Address(format!(
                        "HDLC client address {} is out of range (0 to 127)",
                        addr.client
                    ))
                })?;
            let server = HdlcAddress {
                logical: addr.logical,
                physical: (size != AddressSize::One).then_some(addr.physical),
                size,
            };
            ClientLink::Hdlc(
                HdlcClient::new(
                    client,
                    server,
                    HdlcParameters::with_max_info(PROPOSED_MAX_INFO),
                )
                .map_err(|e| EngineError::Address(e.to_string()))?,
            )
        }
    })
}

/// An open association with one meter over a stream.
pub struct Session<S: Stream> {
    stream: S,
    link: ClientLink,
    dlms: ClientSession,
    timeout: Duration,
    trace: Option<TraceSink>,
    secrets: Vec<Vec<u8>>,
    progress: Option<Box<dyn FnMut(usize) + Send>>,
    /// Round-trip time of the last request.
    pub last_rtt: Duration,
    frame_gap: Duration,
    last_send: Option<Instant>,
    pushes: Vec<Vec<u8>>,
    pending: std::collections::VecDeque<LinkEvent>,
    counters: Option<SessionCounters>,
}

/// Most bytes read from the stream at a time; frames longer than this are reassembled by
/// the link layer.
const READ_CHUNK: usize = 8 * 1024;

/// The HDLC information field size we propose in the SNRM. The meter's UA answers with what it
/// accepts and the smaller wins, so proposing more than the 128-byte default costs nothing with
/// small meters and cuts the frames (each a round trip at window 1) eightfold with larger ones.
const PROPOSED_MAX_INFO: u16 = 1024;

/// The first read of each wait: a register answer, an HDLC frame of our proposed 1024-byte
/// information field, or a WRAPPER block of a 1024-byte PDU fits, so each frame is one read (and
/// one trace entry). The buffer exists only while a wait runs and doubles when a read fills it,
/// because a fleet has one wait pending per meter: 10,000 × 8 KiB would be 80 MB.
const FIRST_READ: usize = 2048;

/// The read size after a read of `n` bytes into a buffer of `len`: doubled (up to
/// [`READ_CHUNK`]) when the read filled it, since more is likely waiting.
fn next_read_size(len: usize, n: usize) -> usize {
    if n >= len {
        (len * 2).min(READ_CHUNK)
    } else {
        len
    }
}

/// True for APDUs a meter sends unasked: DataNotification (plain or general-glo-ciphered).
fn is_push(apdu: &[u8]) -> bool {
    matches!(apdu.first(), Some(&t) if t == 0x0F || t == crate::dlms::security::GENERAL_GLO)
}

impl<S: Stream> Session<S> {
    /// Opens the link (SNRM/UA for HDLC) and associates (AARQ/AARE), with the counters in
    /// `settings` (tests and plain sessions; ciphered sessions of the logger use `open_with`).
    pub async fn open(
        stream: S,
        addr: &MeterAddress,
        settings: ClientSettings,
        timeout: Duration,
        trace: Option<TraceSink>,
    ) -> Result<Self, EngineError> {
        Self::open_with(stream, addr, settings, timeout, trace, None).await
    }

    /// Opens the link and associates; ciphered APDUs take their invocation counters from
    /// `counters`, which also checks the meter's counters against its earlier sessions.
    pub async fn open_with(
        stream: S,
        addr: &MeterAddress,
        settings: ClientSettings,
        timeout: Duration,
        trace: Option<TraceSink>,
        counters: Option<SessionCounters>,
    ) -> Result<Self, EngineError> {
        let secrets: Vec<Vec<u8>> = settings
            .authentication
            .secret()
            .map(<[u8]>::to_vec)
            .into_iter()
            .collect();
        let mut s = Session {
            stream,
            link: client_link(addr)?,
            dlms: ClientSession::new(settings),
            timeout,
            secrets,
            trace,
            progress: None,
            last_rtt: Duration::ZERO,
            frame_gap: Duration::ZERO,
            last_send: None,
            pushes: Vec::new(),
            pending: std::collections::VecDeque::new(),
            counters,
        };
        if let Some(snrm) = s.link.connect() {
            s.send(&snrm, "SNRM").await?;
            s.wait("the HDLC UA (answer to SNRM)", |e| {
                matches!(e, LinkEvent::Opened)
            })
            .await?;
        }
        // List requests are split to fit one frame of what the UA negotiated.
        if let ClientLink::Hdlc(h) = &s.link {
            s.dlms
                .set_max_frame_info(Some(usize::from(h.parameters().max_info_tx)));
        }
        let aarq = s.with_counters(ClientSession::aarq)?;
        let aare = s
            .transact(&aarq, "the AARE (answer to the association request)", false)
            .await?;
        s.dlms.handle_aare(&aare)?;
        if let Some(action) = s.with_counters(ClientSession::hls_request)? {
            let reply = s
                .transact(
                    &action,
                    "the meter's answer to our HLS challenge (pass 4)",
                    true,
                )
                .await?;
            s.dlms.handle_hls_response(&reply)?;
        }
        s.check_meter_floor()?;
        Ok(s)
    }

    /// Calls `f` with the byte count of every APDU received (progress of long reads).
    pub fn on_progress(&mut self, f: impl FnMut(usize) + Send + 'static) {
        self.progress = Some(Box::new(f));
    }

    /// Stops progress reports.
    pub fn clear_progress(&mut self) {
        self.progress = None;
    }

    /// The underlying DLMS session.
    pub fn dlms(&self) -> &ClientSession {
        &self.dlms
    }

    /// Reads items one by one from now on (a meter known to answer GET-with-list broken).
    pub fn disable_with_list(&mut self) {
        self.dlms.disable_with_list();
    }

    /// False once GET-with-list is off for this association: disabled, or found broken by a
    /// read (its answer malformed or failed as a whole while single GETs succeeded).
    pub fn uses_with_list(&self) -> bool {
        self.dlms.settings().with_list
    }

    /// After a read: a meter found to answer GET-with-list broken is read one by one for the
    /// rest of the association (and the caller may remember it, see [`Session::uses_with_list`]).
    fn note_list_fallback(&mut self, op: &crate::dlms::client::ReadOp) {
        if op.list_broken() && self.dlms.settings().with_list {
            tracing::warn!(
                "the meter answered a GET-with-list {}; reading items one by one from now on",
                op.fallback_reason()
                    .map(|r| format!("broken ({r})"))
                    .unwrap_or_else(|| "broken".into())
            );
            self.dlms.disable_with_list();
        }
    }

    fn record(&mut self, direction: Direction, bytes: &[u8], summary: impl FnOnce() -> String) {
        if let Some(t) = self.trace.as_mut() {
            let mut bytes = bytes.to_vec();
            let masked = mask(&mut bytes, &self.secrets);
            t(TraceEntry {
                at: SystemTime::now(),
                direction,
                bytes,
                summary: summary(),
                masked,
            });
        }
    }

    /// DataNotifications the meter pushed while we waited for answers (deciphered when the
    /// association is ciphered; raw APDUs otherwise), oldest first.
    pub fn take_pushes(&mut self) -> Vec<Vec<u8>> {
        let raw = std::mem::take(&mut self.pushes);
        raw.into_iter()
            .filter_map(|a| match a.first() {
                Some(&crate::dlms::security::GENERAL_GLO) => self.dlms.unprotect(&a).ok(),
                _ => Some(a),
            })
            .collect()
    }

    /// Sets the minimal interval between frames we send (slow serial meters and converters).
    pub fn set_frame_gap(&mut self, gap: Duration) {
        self.frame_gap = gap;
    }

    async fn send(&mut self, bytes: &[u8], summary: &str) -> Result<(), EngineError> {
        if let Some(last) = self.last_send {
            let wait = (last + self.frame_gap).saturating_duration_since(Instant::now());
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
        }
        self.last_send = Some(Instant::now());
        self.record(Direction::Tx, bytes, || summary.to_string());
        self.stream.write_all(bytes).await?;
        Ok(())
    }

    /// Reads until the link reports an event matching `want`; frames the link wants to send
    /// meanwhile (RR, next segments) go out at once.
    async fn wait(
        &mut self,
        waiting_for: &'static str,
        want: impl Fn(&LinkEvent) -> bool,
    ) -> Result<LinkEvent, EngineError> {
        // Events that came with an earlier answer in the same read are served first.
        if let Some(i) = self.pending.iter().position(&want) {
            if let Some(ev) = self.pending.remove(i) {
                return Ok(ev);
            }
        }
        let deadline = Instant::now() + self.timeout;
        let mut buf = vec![0u8; FIRST_READ];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let n = match tokio::time::timeout(left, self.stream.read(&mut buf)).await {
                Err(_) => {
                    let ms = self.timeout.as_millis();
                    return Err(match self.link.pending() {
                        0 => EngineError::Timeout { waiting_for, ms },
                        bytes => EngineError::Incomplete {
                            waiting_for,
                            bytes,
                            ms,
                        },
                    });
                }
                Ok(r) => r?,
            };
            if n == 0 {
                return Err(EngineError::Closed(waiting_for));
            }
            let bytes = &buf[..n];
            let events = match self.link.receive(bytes) {
                Ok(ev) => ev,
                Err(e) => {
                    self.record(Direction::Rx, bytes, || format!("bad frame: {e}"));
                    return Err(e.into());
                }
            };
            self.record(Direction::Rx, bytes, || {
                events
                    .iter()
                    .filter_map(|e| match e {
                        LinkEvent::Apdu(a) => Some(summarize(a)),
                        LinkEvent::Opened => Some("UA (link open)".into()),
                        LinkEvent::Closed => Some("link closed".into()),
                        LinkEvent::Transmit(_) => None,
                    })
                    .collect::<Vec<_>>()
                    .join("; ")
            });
            let size = next_read_size(buf.len(), n);
            if size != buf.len() {
                buf.resize(size, 0);
            }
            let mut found = None;
            for ev in events {
                match ev {
                    LinkEvent::Transmit(out) => {
                        self.send(&out, "link control (RR or next segment)").await?
                    }
                    ev if found.is_none() && want(&ev) => found = Some(ev),
                    // A second APDU in the same read (a push, say) waits for the next call.
                    ev @ LinkEvent::Apdu(_) => self.pending.push_back(ev),
                    _ => {}
                }
            }
            if let Some(ev) = found {
                return Ok(ev);
            }
        }
    }

    /// Sends one APDU and returns the answer APDU.
    async fn transact(
        &mut self,
        plain: &[u8],
        waiting_for: &'static str,
        protect: bool,
    ) -> Result<Vec<u8>, EngineError> {
        let started = Instant::now();
        let wire = if protect {
            self.with_counters(|d| d.protect(plain))?
        } else {
            plain.to_vec()
        };
        let apdu = &wire[..];
        let first = self.link.send_apdu(apdu)?;
        let summary = if self.dlms.is_ciphered() && protect {
            format!("{} (ciphered)", summarize(plain))
        } else {
            summarize(apdu)
        };
        self.send(&first, &summary).await?;
        let ev = loop {
            let ev = self
                .wait(waiting_for, |e| matches!(e, LinkEvent::Apdu(_)))
                .await?;
            match ev {
                // A meter may push (DataNotification, plain or general-glo-ciphered) at any
                // time; that is not the answer, so keep it for the caller and wait on.
                LinkEvent::Apdu(a) if is_push(&a) => self.pushes.push(a),
                ev => break ev,
            }
        };
        self.last_rtt = started.elapsed();
        match ev {
            LinkEvent::Apdu(a) => {
                if let Some(p) = self.progress.as_mut() {
                    p(a.len());
                }
                if protect {
                    Ok(self.dlms.unprotect(&a)?)
                } else {
                    Ok(a)
                }
            }
            _ => Err(EngineError::Closed(waiting_for)),
        }
    }

    /// Reads attributes; each item gets its own result, a failure of one never fails the others.
    pub async fn read(
        &mut self,
        items: &[AttributeRef],
    ) -> Result<Vec<Result<Data, ReadError>>, EngineError> {
        if !self.dlms.has_short_names() {
            let list = self.object_list().await?;
            self.dlms.set_short_names(&list);
        }
        let mut op = self.dlms.read(items)?;
        let mut step = op.start();
        while let Step::Send(req) = step {
            let resp = self
                .transact(&req, "the answer to a read request", true)
                .await?;
            step = op.handle(&resp)?;
        }
        self.note_list_fallback(&op);
        Ok(op.into_results())
    }

    /// Reads values together with the scaler_unit of registers, and applies it.
    pub async fn read_scaled(
        &mut self,
        items: &[AttributeRef],
    ) -> Result<Vec<Result<Reading, ReadError>>, EngineError> {
        let all = with_scaler_units(items);
        let results = self.read(&all).await?;
        Ok(apply_scaler_units(items, &all, &results))
    }

    /// Reads the object list of the current association.
    pub async fn object_list(&mut self) -> Result<Vec<ObjectListEntry>, EngineError> {
        let attr = self.dlms.object_list_attribute();
        let mut op = self.dlms.read(std::slice::from_ref(&attr))?;
        let mut step = op.start();
        while let Step::Send(req) = step {
            let resp = self.transact(&req, "the object list", true).await?;
            step = op.handle(&resp)?;
        }
        let data = op
            .into_results()
            .remove(0)
            .map_err(|e| SessionError::Unexpected {
                expected: "the object list",
                got: e.to_string(),
            })?;
        let list = parse_object_list(&data).map_err(|e| SessionError::Unexpected {
            expected: "a valid object list",
            got: e.to_string(),
        })?;
        if self.dlms.settings().referencing == Referencing::Sn {
            self.dlms.set_short_names(&list);
        }
        Ok(list)
    }

    /// Releases the association (RLRQ/RLRE) and closes the link (DISC/UA).
    ///
    /// A meter that does not answer the release is not an error worth more than a note: the
    /// data is already read, so failures here are returned but callers may ignore them.
    pub async fn close(self) -> Result<(), EngineError> {
        let (mut stream, rlre) = self.release().await?;
        let _ = stream.shutdown().await;
        rlre
    }

    /// Releases the association and the HDLC link but keeps the stream, for another
    /// association over the same connection (a meter that dialed in); the second value is
    /// the release's own outcome.
    pub async fn release(mut self) -> Result<(S, Result<(), EngineError>), EngineError> {
        let rlrq = self.dlms.rlrq();
        let rlre = self
            .transact(&rlrq, "the RLRE (answer to the release request)", false)
            .await;
        if let Ok(r) = &rlre {
            self.dlms.handle_rlre(r)?;
        }
        self.keep_meter_floor();
        if let Some(disc) = self.link.disconnect() {
            self.send(&disc, "DISC").await?;
            self.wait("the HDLC UA (answer to DISC)", |e| {
                matches!(e, LinkEvent::Closed)
            })
            .await?;
        }
        Ok((self.stream, rlre.map(|_| ())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_grow_only_when_a_read_fills_the_buffer() {
        assert_eq!(next_read_size(FIRST_READ, 100), FIRST_READ);
        assert_eq!(next_read_size(FIRST_READ, FIRST_READ), 2 * FIRST_READ);
        assert_eq!(next_read_size(READ_CHUNK, READ_CHUNK), READ_CHUNK);
        let mut len = FIRST_READ;
        while len < READ_CHUNK {
            len = next_read_size(len, len);
        }
        assert_eq!(len, READ_CHUNK);
    }

    #[test]
    fn secrets_are_masked_in_traces() {
        let mut b = b"\x60\x36ABhunter22CDhunter22".to_vec();
        let m = mask(&mut b, &[b"hunter22".to_vec()]);
        assert_eq!(m, vec![4..12, 14..22]);
        let e = TraceEntry {
            at: SystemTime::UNIX_EPOCH,
            direction: Direction::Tx,
            bytes: b,
            summary: String::new(),
            masked: m,
        };
        assert_eq!(
            e.hex(),
            format!("60364142{}4344{}", "**".repeat(8), "**".repeat(8))
        );
        assert!(!e.bytes.windows(8).any(|w| w == b"hunter22"));
    }
}
