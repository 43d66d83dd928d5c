//! The simulator's own log of associations (`simulate --association-log FILE`): what the
//! meters saw, to check a logger (or a fleet of them) from the meter's side.
//!
//! One line per event, tab-separated, the time in UTC milliseconds first:
//!
//! ```text
//! <ms>  open     <meter>  <client SAP>  <peer address>
//! <ms>  close    <meter>  <client SAP>  <peer address>  <requests answered>
//! <ms>  reuse    <meter>  <client title>  <invocation counter>
//! <ms>  refused  <meter>  <client SAP>
//! ```
//!
//! `open` is written when the meter accepts an association (an AARE with result accepted, or
//! the first request of a pre-established one), `close` when it ends (release, link closed,
//! connection gone). `requests answered` counts the requests of the association other than
//! the association and release themselves (one GET per poll of the fleet benchmark).
//! `reuse`: a client's ciphered request carried an invocation counter this simulator had
//! already seen from that client system title on any of its meters (with one key shared by
//! all meters, that is a GCM nonce used twice); the meter refuses it as a replay too.

use std::collections::HashSet;
use std::io::Write;
use std::sync::Mutex;

/// The log file and the counters seen, shared by every meter of the simulator.
#[derive(Debug)]
pub struct AssociationLog {
    file: Mutex<std::fs::File>,
    /// Every (client system title, invocation counter) seen, for `reuse`.
    seen: Mutex<HashSet<([u8; 8], u32)>>,
}

impl AssociationLog {
    /// Creates (truncates) the log file.
    pub fn create(path: &std::path::Path) -> std::io::Result<Self> {
        Ok(AssociationLog {
            file: Mutex::new(std::fs::File::create(path)?),
            seen: Mutex::new(HashSet::new()),
        })
    }

    fn line(&self, text: std::fmt::Arguments<'_>) {
        let ms = chrono::Utc::now().timestamp_millis();
        let line = format!("{ms}\t{text}\n");
        let mut f = self.file.lock().unwrap_or_else(|e| e.into_inner());
        // One write per line: whole lines even when the process is killed.
        if let Err(e) = f.write_all(line.as_bytes()) {
            tracing::warn!("association log: {e}");
        }
    }

    /// A meter accepted an association.
    pub(super) fn open(&self, meter: u32, client: u16, peer: &str) {
        self.line(format_args!("open\t{meter}\t{client}\t{peer}"));
    }

    /// An association ended after answering `requests` requests.
    pub(super) fn close(&self, meter: u32, client: u16, peer: &str, requests: u64) {
        self.line(format_args!("close\t{meter}\t{client}\t{peer}\t{requests}"));
    }

    /// A ciphered request was refused (it did not decipher, or reused a counter).
    pub(super) fn refused(&self, meter: u32, client: u16) {
        self.line(format_args!("refused\t{meter}\t{client}"));
    }

    /// A ciphered request from `title` carried `counter`; logs a reuse when it was seen before.
    pub(super) fn counter(&self, meter: u32, title: [u8; 8], counter: u32) {
        let fresh = self
            .seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert((title, counter));
        if !fresh {
            let t: String = title.iter().map(|b| format!("{b:02X}")).collect();
            self.line(format_args!("reuse\t{meter}\t{t}\t{counter}"));
        }
    }
}

/// One association of one meter of a link, as the log follows it.
#[derive(Debug, Default)]
pub(super) struct Tracked {
    /// The client SAP of the open association, and the requests it made.
    open: Option<(u16, u64)>,
    /// The highest counter this association's client used, last seen.
    last_counter: Option<u32>,
}

impl Tracked {
    /// After a request was handled: logs an association that opened or closed with it, and a
    /// new counter of its client.
    pub(super) fn after(
        &mut self,
        log: &AssociationLog,
        meter: u32,
        peer: &str,
        client: u16,
        request: &[u8],
        session: &crate::dlms::server::ServerSession,
    ) {
        let associated = session.is_associated();
        match (&mut self.open, associated) {
            (None, true) => {
                log.open(meter, client, peer);
                self.open = Some((client, 0));
            }
            (Some((c, n)), true) => {
                if !matches!(request.first(), Some(0x60 | 0x62)) {
                    *n += 1;
                }
                let _ = c;
            }
            (Some(_), false) => self.end(log, meter, peer),
            (None, false) => {}
        }
        if let (Some(t), Some(last)) = (session.peer_title(), session.peer_last()) {
            if self.last_counter != Some(last) {
                self.last_counter = Some(last);
                log.counter(meter, t.0, last);
            }
        }
    }

    /// The association ended (release, link closed, connection gone).
    pub(super) fn end(&mut self, log: &AssociationLog, meter: u32, peer: &str) {
        if let Some((client, n)) = self.open.take() {
            log.close(meter, client, peer, n);
        }
        self.last_counter = None;
    }
}
