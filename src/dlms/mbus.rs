//! M-Bus long frames (EN 13757-2) as HAN ports send them with DLMS inside: `68 L L 68 C A CI
//! user-data CS 16`, where L counts C, A, CI and the user data and CS is their sum modulo 256.
//! With CI 0x00..=0x1F the user data opens with the DLMS transport header (IEC 62056-7-6):
//! STSAP and DTSAP, then a segment of the APDU; CI's low nibble numbers the segment and bit 4
//! marks the last one.

use thiserror::Error;

/// Start byte of a long frame (it opens the frame twice, around the two length bytes).
pub const START: u8 = 0x68;
/// Stop byte.
pub const STOP: u8 = 0x16;

/// One M-Bus long frame as it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LongFrame {
    /// C field (0x53/0x73 SND_UD, 0x08 RSP_UD, …).
    pub control: u8,
    /// A field: the primary address.
    pub address: u8,
    /// CI field: what the user data is.
    pub ci: u8,
    /// The bytes after CI, up to the checksum.
    pub user_data: Vec<u8>,
}

/// What a DLMS transport segment in an M-Bus frame holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DlmsSegment {
    /// Segment number (CI's low nibble).
    pub sequence: u8,
    /// Whether it is the APDU's last segment (CI bit 4).
    pub last: bool,
    /// Source transport service access point.
    pub stsap: u8,
    /// Destination transport service access point.
    pub dtsap: u8,
}

/// Why bytes are not an M-Bus long frame.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MbusError {
    /// The frame did not all arrive.
    #[error("the M-Bus frame is cut short: {arrived} of its {needed} bytes arrived")]
    Truncated {
        /// Bytes that arrived.
        arrived: usize,
        /// Bytes the frame needs.
        needed: usize,
    },
    /// The opening is not `68 L L 68`.
    #[error("not an M-Bus long frame: it must open 68 L L 68")]
    BadStart,
    /// The two length bytes differ.
    #[error("the M-Bus frame's two length bytes differ ({0} and {1})")]
    LengthMismatch(u8, u8),
    /// The length is too small to hold C, A and CI.
    #[error("the M-Bus frame's length {0} is too small for its C, A and CI fields")]
    TooShort(u8),
    /// The checksum does not match.
    #[error("the M-Bus frame's checksum is 0x{found:02X}, its bytes sum to 0x{expected:02X}")]
    Checksum {
        /// What the bytes sum to.
        expected: u8,
        /// What the frame says.
        found: u8,
    },
    /// The frame does not end with 0x16.
    #[error("the M-Bus frame ends with 0x{0:02X}, not the stop byte 0x16")]
    NoStop(u8),
    /// The CI field is not a DLMS transport one.
    #[error("the M-Bus frame's CI 0x{0:02X} does not carry a DLMS transport segment (0x00..0x1F)")]
    NotDlms(u8),
    /// A DLMS segment without its STSAP/DTSAP.
    #[error("the M-Bus frame's user data is too short for the DLMS transport header")]
    NoTransportHeader,
}

impl LongFrame {
    /// Decodes the long frame at the start of `buf`; returns it and the bytes it used.
    pub fn decode(buf: &[u8]) -> Result<(LongFrame, usize), MbusError> {
        let truncated = |needed| MbusError::Truncated {
            arrived: buf.len(),
            needed,
        };
        let [s1, l1, l2, s2, ..] = *buf else {
            return Err(truncated(4));
        };
        if s1 != START || s2 != START {
            return Err(MbusError::BadStart);
        }
        if l1 != l2 {
            return Err(MbusError::LengthMismatch(l1, l2));
        }
        if l1 < 3 {
            return Err(MbusError::TooShort(l1));
        }
        let len = usize::from(l1);
        let total = 4 + len + 2;
        let frame = buf.get(..total).ok_or_else(|| truncated(total))?;
        let body = &frame[4..4 + len];
        let expected = body.iter().fold(0u8, |a, b| a.wrapping_add(*b));
        let found = frame[4 + len];
        if expected != found {
            return Err(MbusError::Checksum { expected, found });
        }
        if frame[total - 1] != STOP {
            return Err(MbusError::NoStop(frame[total - 1]));
        }
        Ok((
            LongFrame {
                control: body[0],
                address: body[1],
                ci: body[2],
                user_data: body[3..].to_vec(),
            },
            total,
        ))
    }

    /// The frame's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let len = 3 + self.user_data.len();
        let l = u8::try_from(len).unwrap_or(u8::MAX);
        let mut body = vec![self.control, self.address, self.ci];
        body.extend_from_slice(&self.user_data);
        body.truncate(usize::from(l));
        let cs = body.iter().fold(0u8, |a, b| a.wrapping_add(*b));
        let mut out = vec![START, l, l, START];
        out.extend_from_slice(&body);
        out.extend_from_slice(&[cs, STOP]);
        out
    }

    /// The DLMS transport header and the APDU segment it carries.
    pub fn dlms_segment(&self) -> Result<(DlmsSegment, &[u8]), MbusError> {
        if self.ci > 0x1F {
            return Err(MbusError::NotDlms(self.ci));
        }
        match self.user_data.as_slice() {
            [stsap, dtsap, rest @ ..] => Ok((
                DlmsSegment {
                    sequence: self.ci & 0x0F,
                    last: self.ci & 0x10 != 0,
                    stsap: *stsap,
                    dtsap: *dtsap,
                },
                rest,
            )),
            _ => Err(MbusError::NoTransportHeader),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn decodes_and_checks() {
        let f = LongFrame {
            control: 0x53,
            address: 0xFF,
            ci: 0x11,
            user_data: vec![0x01, 0x67, 0xAA, 0xBB],
        };
        let bytes = f.encode();
        assert_eq!(bytes[..4], [0x68, 7, 7, 0x68]);
        let (g, used) = LongFrame::decode(&bytes).unwrap();
        assert_eq!((g.clone(), used), (f, bytes.len()));
        let (seg, apdu) = g.dlms_segment().unwrap();
        assert_eq!(
            (seg.sequence, seg.last, seg.stsap, seg.dtsap),
            (1, true, 1, 0x67)
        );
        assert_eq!(apdu, [0xAA, 0xBB]);
        let mut bad = bytes.clone();
        bad[8] ^= 1;
        assert!(matches!(
            LongFrame::decode(&bad),
            Err(MbusError::Checksum { .. })
        ));
        assert!(matches!(
            LongFrame::decode(&bytes[..9]),
            Err(MbusError::Truncated { .. })
        ));
        let mut stop = bytes.clone();
        *stop.last_mut().unwrap() = 0;
        assert_eq!(LongFrame::decode(&stop), Err(MbusError::NoStop(0)));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = LongFrame::decode(&b);
            let mut v = vec![0x68, b.len() as u8, b.len() as u8, 0x68];
            v.extend_from_slice(&b);
            if let Ok((f, _)) = LongFrame::decode(&v) { let _ = f.dlms_segment(); }
        }

        #[test]
        fn round_trip(c: u8, a: u8, ci: u8, data in proptest::collection::vec(any::<u8>(), 0..200)) {
            let f = LongFrame { control: c, address: a, ci, user_data: data };
            let bytes = f.encode();
            prop_assert_eq!(LongFrame::decode(&bytes).unwrap(), (f, bytes.len()));
        }
    }
}
