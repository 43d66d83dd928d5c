//! Sequence numbers and segmentation of I-frames, shared by the client and server ends.
//!
//! Windows as negotiated in SNRM/UA (1 to 7): a sender sends up to its transmit window of
//! segments back to back, the poll bit on the last only, and waits for the peer's RR; an RR
//! naming an earlier N(R) (a frame lost) makes it send again from there (go-back-N). A
//! receiver acknowledges a segment only when its poll bit asks (or its receive window is
//! full), with an RR naming the next frame it expects; a frame out of sequence is dropped and,
//! when it polls, answered with that RR. With window 1 on both sides (most meters) every
//! I-frame waits for its answer, and a frame out of sequence is an error as before.
use std::collections::VecDeque;

use super::address::RawAddress;
use super::control::Control;
use super::error::HdlcError;
use super::frame::HdlcFrame;
use super::llc;

/// The largest information field that keeps a frame within 2047 bytes with 4-byte addresses.
const MAX_INFO: usize = 2047 - 15;

/// A frame to send, before addressing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Segment {
    pub control: Control,
    pub segmented: bool,
    pub info: Vec<u8>,
}

impl Segment {
    /// An unnumbered frame or RR, never segmented.
    pub fn unnumbered(control: Control, info: Vec<u8>) -> Self {
        Self {
            control,
            segmented: false,
            info,
        }
    }

    /// The frame bytes, addressed.
    pub fn encode(self, destination: RawAddress, source: RawAddress) -> Result<Vec<u8>, HdlcError> {
        HdlcFrame {
            destination,
            source,
            control: self.control,
            segmented: self.segmented,
            info: self.info,
        }
        .encode()
    }
}

/// What a received I-frame produced.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Incoming {
    /// More segments follow and the peer waits: send this RR to ask for the next ones.
    Ack(Segment),
    /// More segments of this window follow: nothing to send yet.
    Nothing,
    /// The last segment arrived: the whole APDU, LLC removed.
    Apdu(Vec<u8>),
}

/// V(S), V(R) and the APDUs being segmented out and reassembled.
#[derive(Debug)]
pub(super) struct Transfer {
    send_llc: [u8; 3],
    receive_llc: [u8; 3],
    vs: u8,
    vr: u8,
    /// The APDU being reassembled; `None` when the next I-frame starts a new one.
    receiving: Option<Vec<u8>>,
    /// Segments waiting for the peer's RR.
    sending: VecDeque<Vec<u8>>,
    /// Segments sent and not acknowledged yet: (N(S), info, more follow), oldest first (the
    /// last segment stays until the next send: the peer's answer acknowledges it).
    in_flight: VecDeque<(u8, Vec<u8>, bool)>,
    /// Frames we send before waiting for an RR (1..=7).
    window_tx: u8,
    /// Frames we take in before we must acknowledge (1..=7).
    window_rx: u8,
    /// Segments taken in since our last acknowledgement.
    unacknowledged: u8,
}

impl Transfer {
    /// A transfer that prefixes `send_llc` and expects `receive_llc`.
    pub fn new(send_llc: [u8; 3], receive_llc: [u8; 3]) -> Self {
        Self {
            send_llc,
            receive_llc,
            vs: 0,
            vr: 0,
            receiving: None,
            sending: VecDeque::new(),
            in_flight: VecDeque::new(),
            window_tx: 1,
            window_rx: 1,
            unacknowledged: 0,
        }
    }

    /// Sets the negotiated windows (each clamped to 1..=7, what a modulo-8 count allows).
    pub fn set_windows(&mut self, window_tx: u8, window_rx: u8) {
        self.window_tx = window_tx.clamp(1, 7);
        self.window_rx = window_rx.clamp(1, 7);
    }

    /// Starts over, as after SNRM/UA: V(S) = V(R) = 0, nothing in flight; windows kept.
    pub fn reset(&mut self) {
        let (tx, rx) = (self.window_tx, self.window_rx);
        *self = Self::new(self.send_llc, self.receive_llc);
        self.set_windows(tx, rx);
    }

    /// Splits LLC + `apdu` into segments of at most `max_info` bytes and returns the first
    /// window of them (one segment at window 1).
    pub fn send(&mut self, apdu: &[u8], max_info: u16) -> Result<Vec<Segment>, HdlcError> {
        if !self.sending.is_empty() {
            return Err(HdlcError::SendInProgress);
        }
        let payload = [&self.send_llc[..], apdu].concat();
        // A zero limit could never make progress; a huge one could not be framed.
        let size = usize::from(max_info).clamp(1, MAX_INFO);
        self.sending = payload.chunks(size).map(<[u8]>::to_vec).collect();
        if self.sending.is_empty() {
            self.sending.push_back(Vec::new());
        }
        self.in_flight.clear();
        Ok(self.next_window())
    }

    /// What the peer's RR with N(R) `nr` asks for: the segments it did not get again (a frame
    /// was lost), else the next window; nothing when all is sent and acknowledged.
    pub fn acknowledged(&mut self, nr: u8) -> Vec<Segment> {
        if self.in_flight.iter().any(|(n, _, _)| *n == nr) {
            // Everything before N(R) arrived.
            while self.in_flight.front().is_some_and(|(ns, _, _)| *ns != nr) {
                self.in_flight.pop_front();
            }
            // Go back to N(R): send the unacknowledged segments again, in order.
            let again: Vec<_> = self.in_flight.drain(..).collect();
            self.vs = nr;
            let last = again.len().saturating_sub(1);
            return again
                .into_iter()
                .enumerate()
                .map(|(i, (_, info, more))| self.i_frame(info, more, i == last))
                .collect();
        }
        self.in_flight.clear();
        self.next_window()
    }

    /// Up to a window of the segments still to send, the poll bit on the last.
    fn next_window(&mut self) -> Vec<Segment> {
        let n = self.sending.len().min(usize::from(self.window_tx));
        let mut out = Vec::with_capacity(n);
        for i in 0..n {
            let Some(info) = self.sending.pop_front() else {
                break;
            };
            let more = !self.sending.is_empty();
            out.push(self.i_frame(info, more, i + 1 == n));
        }
        out
    }

    fn i_frame(&mut self, info: Vec<u8>, more: bool, poll: bool) -> Segment {
        let control = Control::I {
            ns: self.vs,
            nr: self.vr,
            poll,
        };
        self.in_flight.push_back((self.vs, info.clone(), more));
        self.vs = (self.vs + 1) % 8;
        Segment {
            control,
            segmented: more,
            info,
        }
    }

    /// Takes in an I-frame with send sequence number `ns` and poll bit `poll`.
    pub fn receive(
        &mut self,
        ns: u8,
        segmented: bool,
        poll: bool,
        info: &[u8],
    ) -> Result<Incoming, HdlcError> {
        let rr = |nr| Segment::unnumbered(Control::Rr { nr, poll: true }, Vec::new());
        if ns != self.vr {
            if self.window_rx == 1 && self.window_tx == 1 {
                return Err(HdlcError::OutOfSequence {
                    expected: self.vr,
                    received: ns,
                });
            }
            // A frame of this window was lost: drop the rest, then ask again from the lost one.
            return Ok(if poll {
                self.unacknowledged = 0;
                Incoming::Ack(rr(self.vr))
            } else {
                Incoming::Nothing
            });
        }
        self.vr = (self.vr + 1) % 8;
        self.unacknowledged = self.unacknowledged.saturating_add(1);
        let apdu = match self.receiving.take() {
            Some(mut apdu) => {
                apdu.extend_from_slice(info);
                apdu
            }
            // Only the first segment carries the LLC header.
            None => llc::strip(self.receive_llc, info)?.to_vec(),
        };
        if segmented {
            self.receiving = Some(apdu);
            if poll || self.unacknowledged >= self.window_rx {
                self.unacknowledged = 0;
                return Ok(Incoming::Ack(rr(self.vr)));
            }
            return Ok(Incoming::Nothing);
        }
        self.unacknowledged = 0;
        Ok(Incoming::Apdu(apdu))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns_poll(s: &Segment) -> (u8, bool, bool) {
        match s.control {
            Control::I { ns, poll, .. } => (ns, poll, s.segmented),
            c => panic!("not an I-frame: {c:?}"),
        }
    }

    fn windowed(tx: u8, rx: u8) -> Transfer {
        let mut t = Transfer::new(llc::CLIENT_LLC, llc::SERVER_LLC);
        t.set_windows(tx, rx);
        t
    }

    #[test]
    fn a_window_goes_out_back_to_back_with_the_poll_bit_on_its_last_frame() {
        let mut t = windowed(3, 1);
        // 3 LLC bytes + 25 = 28 bytes in segments of 4: 7 segments.
        let first = t.send(&[7; 25], 4).unwrap();
        let got: Vec<_> = first.iter().map(ns_poll).collect();
        assert_eq!(got, [(0, false, true), (1, false, true), (2, true, true)]);
        let second: Vec<_> = t.acknowledged(3).iter().map(ns_poll).collect();
        assert_eq!(
            second,
            [(3, false, true), (4, false, true), (5, true, true)]
        );
        let last: Vec<_> = t.acknowledged(6).iter().map(ns_poll).collect();
        assert_eq!(last, [(6, true, false)], "the last segment, alone, polls");
        // The peer's answer acknowledges it; a late RR asks for nothing more.
        assert!(t.acknowledged(7).is_empty());
    }

    #[test]
    fn an_rr_naming_an_earlier_frame_sends_again_from_there() {
        let mut t = windowed(3, 1);
        t.send(&[7; 25], 4).unwrap();
        // The peer got frame 0 only.
        let again: Vec<_> = t.acknowledged(1).iter().map(ns_poll).collect();
        assert_eq!(again, [(1, false, true), (2, true, true)]);
        let next: Vec<_> = t.acknowledged(3).iter().map(ns_poll).collect();
        assert_eq!(next[0].0, 3);
    }

    #[test]
    fn a_receiver_acknowledges_when_polled_or_its_window_is_full() {
        let mut r = windowed(1, 3);
        let mut info = llc::SERVER_LLC.to_vec();
        info.push(1);
        assert_eq!(r.receive(0, true, false, &info), Ok(Incoming::Nothing));
        assert_eq!(r.receive(1, true, false, &[2]), Ok(Incoming::Nothing));
        // The third unpolled frame fills the window: acknowledged anyway.
        let Ok(Incoming::Ack(rr)) = r.receive(2, true, false, &[3]) else {
            panic!()
        };
        assert_eq!(rr.control, Control::Rr { nr: 3, poll: true });
        // Frame 3 is lost; frame 4 polls: the RR asks for 3 again.
        let Ok(Incoming::Ack(rr)) = r.receive(4, true, true, &[5]) else {
            panic!()
        };
        assert_eq!(rr.control, Control::Rr { nr: 3, poll: true });
        assert_eq!(r.receive(3, true, false, &[4]), Ok(Incoming::Nothing));
        assert_eq!(
            r.receive(4, false, true, &[5]),
            Ok(Incoming::Apdu(vec![1, 2, 3, 4, 5]))
        );
    }

    #[test]
    fn at_window_one_a_frame_out_of_sequence_is_an_error_as_before() {
        let mut r = windowed(1, 1);
        assert_eq!(
            r.receive(2, false, true, &[0xE6, 0xE7, 0x00]),
            Err(HdlcError::OutOfSequence {
                expected: 0,
                received: 2
            })
        );
    }

    /// Sender and receiver with window 4, the second frame of the first window lost: the
    /// APDU arrives whole, the lost frame sent again.
    #[test]
    fn a_lost_frame_in_a_window_is_recovered() {
        let mut tx = windowed(4, 4);
        let mut rx = Transfer::new(llc::SERVER_LLC, llc::CLIENT_LLC);
        rx.set_windows(4, 4);
        let apdu: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let mut frames: VecDeque<Segment> = tx.send(&apdu, 64).unwrap().into();
        let mut dropped = false;
        let mut sent = 0;
        let got = loop {
            let f = frames.pop_front().expect("the sender never stalls");
            sent += 1;
            let (ns, poll, more) = ns_poll(&f);
            if ns == 1 && !dropped {
                dropped = true;
                continue;
            }
            match rx.receive(ns, more, poll, &f.info).unwrap() {
                Incoming::Nothing => {}
                Incoming::Ack(rr) => {
                    let Control::Rr { nr, .. } = rr.control else {
                        panic!()
                    };
                    frames.extend(tx.acknowledged(nr));
                }
                Incoming::Apdu(a) => break a,
            }
            assert!(sent < 100);
        };
        assert_eq!(got, apdu);
        // 1003 bytes in 64-byte segments: 16 frames, plus 3 sent again after the loss.
        assert_eq!(sent, 16 + 3);
    }
}
