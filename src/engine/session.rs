//! One open association with a meter over a stream: open the link, associate, read items,
//! release; with timeouts and a trace of every frame.

use super::address::{client_link, MeterAddress};
use super::spin::SpinPolicy;
use super::trace::{mask, Direction, TraceEntry, TraceSink};
use super::{EngineError, SessionCounters};
use crate::dlms::client::{
    apply_scaler_units, parse_object_list, with_scaler_units, AttributeRef, Change, ChangeOutcome,
    ClientSession, ClientSettings, ObjectListEntry, ReadError, Reading, Referencing, SessionError,
    Step,
};
use crate::dlms::data::Data;
use crate::dlms::link::{ClientLink, LinkEvent};
use crate::dlms::xdlms::summarize;
use crate::transport::Stream;
use std::time::{Duration, Instant, SystemTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How a session waits for answers.
#[derive(Debug, Clone, Copy)]
pub struct Waits {
    /// How long to wait for each answer.
    pub timeout: Duration,
    /// How long to poll for an answer before parking (see [`Session::set_busy_poll`]).
    pub busy_poll: Duration,
}

/// An open association with one meter over a stream.
pub struct Session<S: Stream> {
    pub(super) stream: S,
    pub(super) link: ClientLink,
    pub(super) dlms: ClientSession,
    pub(super) timeout: Duration,
    pub(super) trace: Option<TraceSink>,
    pub(super) secrets: Vec<Vec<u8>>,
    pub(super) progress: Option<Box<dyn FnMut(usize) + Send>>,
    /// Round-trip time of the last request.
    pub last_rtt: Duration,
    pub(super) frame_gap: Duration,
    pub(super) last_send: Option<Instant>,
    pub(super) pushes: Vec<Vec<u8>>,
    pub(super) pending: std::collections::VecDeque<LinkEvent>,
    pub(super) counters: Option<SessionCounters>,
    /// Whether to poll for an answer before parking (see [`Session::set_busy_poll`]).
    pub(super) spin: SpinPolicy,
    /// How long the wait in progress polls before parking (chosen by `spin` per request).
    pub(super) spin_now: Duration,
    /// The timer of every wait, kept across waits and moved on only when it fires before the
    /// wait's deadline: a new timer per read would touch the runtime's timer wheel twice per
    /// request. (An idle session's timer fires once, `timeout` after its last wait.)
    pub(super) timer: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
    /// Whether closing sends an RLRQ (off for a pre-established association, which cannot be
    /// released, and for meters configured `release = false`).
    pub(super) send_rlrq: bool,
    /// The size of a wait's first read: twice the longest read of the last wait, between
    /// [`MIN_FIRST_READ`] and [`FIRST_READ`] (see [`first_read_after`]).
    pub(super) first_read: usize,
}

/// Most bytes read from the stream at a time; frames longer than this are reassembled by
/// the link layer.
const READ_CHUNK: usize = 8 * 1024;

/// The largest first read of a wait: an HDLC frame of our proposed 1024-byte information
/// field, or a WRAPPER block of a 1024-byte PDU fits, so each frame is one read (and one trace
/// entry). The buffer exists only while a wait runs and doubles when a read fills it, because
/// a fleet has one wait pending per meter: 10,000 × 8 KiB would be 80 MB.
const FIRST_READ: usize = 2048;

/// The smallest first read of a wait: a register answer fits.
const MIN_FIRST_READ: usize = 256;

/// The first read of the next wait after a wait whose longest read was `longest` bytes: twice
/// that, so a session that reads registers waits with a 256-byte buffer, not 2 KB (10,000
/// meters answered at once: 18 MB less), and one that reads profiles keeps whole frames.
fn first_read_after(longest: usize) -> usize {
    (longest * 2)
        .next_power_of_two()
        .clamp(MIN_FIRST_READ, FIRST_READ)
}

/// The read size after a read of `n` bytes into a buffer of `len`: doubled (up to
/// [`READ_CHUNK`]) when the read filled it, since more is likely waiting.
fn next_read_size(len: usize, n: usize) -> usize {
    if n >= len {
        (len * 2).min(READ_CHUNK)
    } else {
        len
    }
}

/// True for APDUs a meter sends unasked: DataNotification (plain or general-glo-ciphered),
/// event notifications (plain, glo- or ded-ciphered) and information reports.
fn is_push(apdu: &[u8]) -> bool {
    use crate::dlms::security::{ded_tag, glo_tag, GENERAL_GLO};
    use crate::dlms::xdlms::{
        DataNotification, EventNotificationRequest, InformationReportRequest,
    };
    let event = EventNotificationRequest::TAG;
    matches!(apdu.first(), Some(&t) if t == DataNotification::TAG
        || t == GENERAL_GLO
        || t == event
        || Some(t) == glo_tag(event)
        || Some(t) == ded_tag(event)
        || t == InformationReportRequest::TAG)
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
        let waits = Waits {
            timeout,
            busy_poll: Duration::ZERO,
        };
        Self::open_waiting(stream, addr, settings, waits, trace, counters).await
    }

    /// [`Session::open_with`], polling for the answers from the first (AARQ, HLS) as
    /// [`Session::set_busy_poll`] does after.
    pub async fn open_waiting(
        stream: S,
        addr: &MeterAddress,
        settings: ClientSettings,
        waits: Waits,
        trace: Option<TraceSink>,
        counters: Option<SessionCounters>,
    ) -> Result<Self, EngineError> {
        let Waits { timeout, busy_poll } = waits;
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
            spin: SpinPolicy::new(busy_poll),
            spin_now: Duration::ZERO,
            timer: None,
            pushes: Vec::new(),
            pending: std::collections::VecDeque::new(),
            counters,
            send_rlrq: true,
            first_read: FIRST_READ,
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
        if s.dlms.settings().pre_established.is_some() {
            // The association exists already in the meter: no AARQ, and no RLRQ at the end.
            s.dlms.pre_establish()?;
            s.send_rlrq = false;
            return Ok(s);
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

    /// What the meter sent unasked while we waited for answers — DataNotifications, event
    /// notifications, information reports — deciphered when ciphered (one that does not
    /// decipher is dropped with a warning), raw APDUs otherwise, oldest first.
    pub fn take_pushes(&mut self) -> Vec<Vec<u8>> {
        use crate::dlms::security::{ded_tag, glo_tag, GENERAL_GLO};
        let event = crate::dlms::xdlms::EventNotificationRequest::TAG;
        let raw = std::mem::take(&mut self.pushes);
        raw.into_iter()
            .filter_map(|a| match a.first() {
                Some(&t)
                    if t == GENERAL_GLO
                        || Some(t) == glo_tag(event)
                        || Some(t) == ded_tag(event) =>
                {
                    match self.dlms.unprotect(&a) {
                        Ok(plain) => Some(plain),
                        Err(e) => {
                            tracing::warn!("a ciphered report from the meter is dropped: {e}");
                            None
                        }
                    }
                }
                _ => Some(a),
            })
            .collect()
    }

    /// Whether closing releases the association with an RLRQ (the default). Off, the
    /// association is left open at the meter and only the link closes (HDLC DISC, the socket);
    /// a pre-established association is never released.
    pub fn set_release(&mut self, release: bool) {
        self.send_rlrq = release && self.dlms.settings().pre_established.is_none();
    }

    /// Sets the minimal interval between frames we send (slow serial meters and converters).
    pub fn set_frame_gap(&mut self, gap: Duration) {
        self.frame_gap = gap;
        // Frames are timed only while a gap is set: count the last one as sent now.
        self.last_send = Some(Instant::now());
    }

    /// Polls for an answer for up to `spin` (each poll a zero-timeout look at the runtime's
    /// events) before parking until it comes, for the requests where that proves faster
    /// ([`SpinPolicy`] measures both). A meter on loopback or a LAN answers within
    /// microseconds; a parked thread is woken tens of microseconds later on an idle VM, so a
    /// one-shot command that waits for nothing else may spin briefly (`cli::connection::
    /// BUSY_POLL`). Zero, the default, parks at once, as a logger with many sessions on few
    /// threads should.
    pub fn set_busy_poll(&mut self, spin: Duration) {
        self.spin = SpinPolicy::new(spin);
    }

    /// One read, polling up to `spin_now` before parking; `None`: nothing came in that time.
    async fn read_spinning(&mut self, buf: &mut [u8]) -> Option<std::io::Result<usize>> {
        use std::task::Poll;
        let until = Instant::now() + self.spin_now;
        // A TCP socket is asked directly: the answer is read by the system call that finds
        // it, instead of a look at the runtime's events, a wake-up and then the read.
        loop {
            match self.stream.read_now(buf) {
                None => break,
                Some(Err(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::Interrupted
                    ) => {}
                Some(read) => return Some(read),
            }
            if Instant::now() >= until {
                return None;
            }
            std::hint::spin_loop();
        }
        loop {
            let polled = std::future::poll_fn(|cx| {
                let mut rb = tokio::io::ReadBuf::new(&mut *buf);
                Poll::Ready(
                    match std::pin::Pin::new(&mut self.stream).poll_read(cx, &mut rb) {
                        Poll::Ready(Ok(())) => Some(Ok(rb.filled().len())),
                        Poll::Ready(Err(e)) => Some(Err(e)),
                        Poll::Pending => None,
                    },
                )
            })
            .await;
            if polled.is_some() || Instant::now() >= until {
                return polled;
            }
            tokio::task::yield_now().await;
        }
    }

    async fn send(&mut self, bytes: &[u8], summary: &str) -> Result<(), EngineError> {
        // Only a configured gap needs the clock (two reads per frame otherwise).
        if !self.frame_gap.is_zero() {
            if let Some(last) = self.last_send {
                let wait = (last + self.frame_gap).saturating_duration_since(Instant::now());
                if !wait.is_zero() {
                    // Boxed: only a serial line has a gap, and an inline timer would make every
                    // poll in flight larger by its size.
                    Box::pin(tokio::time::sleep(wait)).await;
                }
            }
            self.last_send = Some(Instant::now());
        }
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
        // The runtime's clock, as the timer's (they differ when a test pauses time).
        let deadline = tokio::time::Instant::now() + self.timeout;
        let mut buf = vec![0u8; self.first_read];
        let mut longest = 0;
        loop {
            let spun = if self.spin_now.is_zero() {
                None
            } else {
                self.read_spinning(&mut buf).await
            };
            let read = match spun {
                Some(r) => Ok(r),
                None => {
                    let timer = self
                        .timer
                        .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                    if timer.deadline() > deadline {
                        timer.as_mut().reset(deadline);
                    }
                    loop {
                        tokio::select! {
                            biased;
                            r = self.stream.read(&mut buf) => break Ok(r),
                            _ = timer.as_mut() => {
                                if tokio::time::Instant::now() >= deadline {
                                    break Err(());
                                }
                                // Set by an earlier wait: moved on only now (see `timer`).
                                timer.as_mut().reset(deadline);
                            }
                        }
                    }
                }
            };
            let n = match read {
                Err(()) => {
                    let ms = self.timeout.as_millis() as u64;
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
            longest = longest.max(n);
            self.first_read = first_read_after(longest);
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
            let mut transmit = Vec::new();
            for ev in events {
                match ev {
                    LinkEvent::Transmit(out) => transmit.push(out),
                    ev if found.is_none() && want(&ev) => found = Some(ev),
                    // A second APDU in the same read (a push, say) waits for the next call.
                    ev @ LinkEvent::Apdu(_) => self.pending.push_back(ev),
                    _ => {}
                }
            }
            // Boxed: link control frames (HDLC segments' RR) are rare next to the wait for an
            // answer, which is what a poll in flight holds 10,000 times in a fleet.
            for out in transmit {
                Box::pin(self.send(&out, "link control (RR or next segment)")).await?;
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
        // Only a trace shows it: no formatting per request otherwise.
        let summary = match () {
            _ if self.trace.is_none() => String::new(),
            _ if protect && wire.as_slice() != plain => format!("{} (ciphered)", summarize(plain)),
            _ => summarize(apdu),
        };
        self.send(&first, &summary).await?;
        self.answer(waiting_for, protect, started).await
    }

    /// Waits for the next APDU without sending (general-block-transfer blocks streaming in).
    async fn receive(
        &mut self,
        waiting_for: &'static str,
        protect: bool,
    ) -> Result<Vec<u8>, EngineError> {
        self.answer(waiting_for, protect, Instant::now()).await
    }

    /// The next APDU from the meter that is not a push.
    async fn answer(
        &mut self,
        waiting_for: &'static str,
        protect: bool,
        started: Instant,
    ) -> Result<Vec<u8>, EngineError> {
        self.spin_now = self.spin.begin();
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
        self.spin.end(self.last_rtt);
        self.spin_now = Duration::ZERO;
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
            // Boxed: only an SN meter's first read lists its objects, and inline this state
            // would make every read's future (one per meter in flight, in a fleet) 360 bytes larger.
            let list = Box::pin(self.object_list()).await?;
            self.dlms.set_short_names(&list);
        }
        // Boxed: a read's state (248 bytes) would otherwise be part of every poll in flight.
        let mut op = Box::new(self.dlms.read(items)?);
        let mut step = op.start();
        loop {
            let resp = match step {
                Step::Send(req) => {
                    self.transact(&req, "the answer to a read request", true)
                        .await
                }
                Step::Receive => self.receive("the next block of the answer", true).await,
                Step::Decipher(whole) => {
                    let plain = self.dlms.unprotect(&whole)?;
                    step = op.handle(&plain)?;
                    continue;
                }
                Step::Done => break,
            };
            let resp = match resp {
                // The end of a general-block-transfer window was lost: ask again.
                Err(e @ EngineError::Timeout { .. }) => match op.on_timeout() {
                    Some(s) => {
                        step = s;
                        continue;
                    }
                    None => return Err(e),
                },
                r => r?,
            };
            step = op.handle(&resp)?;
        }
        if op.gbt_recoveries() > 0 {
            tracing::info!(
                "general block transfer: {} lost blocks were asked for again",
                op.gbt_recoveries()
            );
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

    /// Makes one change (SET or ACTION over LN, WRITE over SN; `unconfirmed` for an SN
    /// unconfirmed write) and returns what the meter answered. Once the request is out, a
    /// lost answer is [`EngineError::OutcomeUnknown`]: the change may have been made.
    pub async fn change(
        &mut self,
        change: &Change,
        unconfirmed: bool,
    ) -> Result<ChangeOutcome, EngineError> {
        if !self.dlms.has_short_names() {
            let list = self.object_list().await?;
            self.dlms.set_short_names(&list);
        }
        let mut op = self.dlms.change(change, unconfirmed)?;
        let mut step = op.start();
        if !op.expects_answer() {
            if let Step::Send(req) = step {
                let wire = self.with_counters(|d| d.protect(&req))?;
                let first = self.link.send_apdu(&wire)?;
                self.send(&first, &summarize(&req)).await?;
            }
        } else {
            while let Step::Send(req) = step {
                let resp = match self.transact(&req, "the answer to the change", true).await {
                    Ok(r) => r,
                    Err(
                        e @ (EngineError::Timeout { .. }
                        | EngineError::Incomplete { .. }
                        | EngineError::Closed(_)
                        | EngineError::Io(_)),
                    ) => return Err(EngineError::OutcomeUnknown(Box::new(e))),
                    Err(e) => return Err(e),
                };
                step = op.handle(&resp)?;
            }
        }
        op.outcome()
            .ok_or(EngineError::Session(SessionError::Unexpected {
                expected: "the outcome of the change",
                got: "no answer".into(),
            }))
    }

    /// Reads the object list of the current association.
    pub async fn object_list(&mut self) -> Result<Vec<ObjectListEntry>, EngineError> {
        let attr = self.dlms.object_list_attribute();
        let mut op = self.dlms.read(std::slice::from_ref(&attr))?;
        let mut step = op.start();
        loop {
            let resp = match step {
                Step::Send(req) => self.transact(&req, "the object list", true).await?,
                Step::Receive => {
                    self.receive("the next block of the object list", true)
                        .await?
                }
                Step::Decipher(whole) => self.dlms.unprotect(&whole)?,
                Step::Done => break,
            };
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
        let rlre = if self.send_rlrq {
            let rlrq = self.dlms.rlrq();
            let rlre = self
                .transact(&rlrq, "the RLRE (answer to the release request)", false)
                .await;
            if let Ok(r) = &rlre {
                self.dlms.handle_rlre(r)?;
            }
            rlre.map(drop)
        } else {
            Ok(())
        };
        self.keep_meter_floor();
        if let Some(disc) = self.link.disconnect() {
            self.send(&disc, "DISC").await?;
            self.wait("the HDLC UA (answer to DISC)", |e| {
                matches!(e, LinkEvent::Closed)
            })
            .await?;
        }
        Ok((self.stream, rlre))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_reads_first_twice_what_the_last_one_read_at_most() {
        assert_eq!(first_read_after(0), MIN_FIRST_READ);
        assert_eq!(first_read_after(90), MIN_FIRST_READ);
        assert_eq!(first_read_after(200), 512);
        assert_eq!(first_read_after(1024), FIRST_READ);
        assert_eq!(first_read_after(READ_CHUNK), FIRST_READ);
    }

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
}
