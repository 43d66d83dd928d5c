//! Sequence numbers and segmentation of I-frames, shared by the client and server ends.
//!
//! Both ends use window size 1: each I-frame waits for the peer's answer (an I-frame, or an
//! RR asking for the next segment) before the next one goes out.
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
    /// More segments follow: send this RR to ask for the next one.
    Ack(Segment),
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
        }
    }

    /// Starts over, as after SNRM/UA: V(S) = V(R) = 0, nothing in flight.
    pub fn reset(&mut self) {
        *self = Self::new(self.send_llc, self.receive_llc);
    }

    /// Splits LLC + `apdu` into segments of at most `max_info` bytes and returns the first.
    pub fn send(&mut self, apdu: &[u8], max_info: u16) -> Result<Segment, HdlcError> {
        if !self.sending.is_empty() {
            return Err(HdlcError::SendInProgress);
        }
        let payload = [&self.send_llc[..], apdu].concat();
        // A zero limit could never make progress; a huge one could not be framed.
        let size = usize::from(max_info).clamp(1, MAX_INFO);
        self.sending = payload.chunks(size).map(<[u8]>::to_vec).collect();
        let first = self.sending.pop_front().unwrap_or_default();
        Ok(self.i_frame(first))
    }

    /// The next segment, when the peer's RR asks for it.
    pub fn next_segment(&mut self) -> Option<Segment> {
        let info = self.sending.pop_front()?;
        Some(self.i_frame(info))
    }

    fn i_frame(&mut self, info: Vec<u8>) -> Segment {
        let control = Control::I {
            ns: self.vs,
            nr: self.vr,
            poll: true,
        };
        self.vs = (self.vs + 1) % 8;
        Segment {
            control,
            segmented: !self.sending.is_empty(),
            info,
        }
    }

    /// Takes in an I-frame with send sequence number `ns`.
    pub fn receive(&mut self, ns: u8, segmented: bool, info: &[u8]) -> Result<Incoming, HdlcError> {
        if ns != self.vr {
            return Err(HdlcError::OutOfSequence {
                expected: self.vr,
                received: ns,
            });
        }
        self.vr = (self.vr + 1) % 8;
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
            let rr = Control::Rr {
                nr: self.vr,
                poll: true,
            };
            return Ok(Incoming::Ack(Segment::unnumbered(rr, Vec::new())));
        }
        Ok(Incoming::Apdu(apdu))
    }
}
