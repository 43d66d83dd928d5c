//! Cutting a byte stream that only talks (a HAN/P1 port, a TCP bridge to one) into frames:
//! HDLC frames by their flags and length, M-Bus long frames by their header, WRAPPER PDUs by
//! their length. Bytes that start none of them are skipped and counted, so line noise or a
//! port opened mid-frame costs that frame only.

use crate::dlms::hdlc::frame::FLAG;

/// The most bytes held while waiting for the end of a frame (the longest frame any of the
/// three formats can announce is 65,543 bytes, a WRAPPER PDU).
const MAX_HELD: usize = 70 * 1024;

/// Splits a byte stream into whole frames.
#[derive(Debug, Default)]
pub struct FrameSplitter {
    held: Vec<u8>,
    skipped: u64,
}

impl FrameSplitter {
    /// An empty splitter.
    pub fn new() -> Self {
        FrameSplitter::default()
    }

    /// Bytes skipped so far because they started no frame.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// Bytes held, waiting for the rest of a frame.
    pub fn pending(&self) -> usize {
        self.held.len()
    }

    /// Adds `bytes` and returns the frames they complete, in order.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<Vec<u8>> {
        self.held.extend_from_slice(bytes);
        let mut out = Vec::new();
        let mut at = 0;
        while at < self.held.len() {
            match frame_at(&self.held[at..]) {
                Found::Frame(n) => {
                    out.push(self.held[at..at + n].to_vec());
                    // HDLC frames may share one flag: keep it as the next frame's opening.
                    let next = self.held.get(at + n).copied();
                    let shared = self.held[at] == FLAG && next.is_some_and(|b| b >> 4 == 0xA);
                    at += if shared { n - 1 } else { n };
                }
                Found::NeedMore => break,
                Found::Skip(n) => {
                    self.skipped += n as u64;
                    at += n;
                }
            }
        }
        self.held.drain(..at);
        if self.held.len() > MAX_HELD {
            self.skipped += self.held.len() as u64;
            self.held.clear();
        }
        out
    }
}

enum Found {
    /// A whole frame of this many bytes.
    Frame(usize),
    /// The start of a frame whose end has not come yet.
    NeedMore,
    /// Bytes that start no frame.
    Skip(usize),
}

fn frame_at(b: &[u8]) -> Found {
    match b {
        // HDLC: 7E, frame format A (type 0xA) with an 11-bit length, …, 7E.
        [FLAG, FLAG, ..] => Found::Skip(1),
        [FLAG] | [FLAG, _] => Found::NeedMore,
        [FLAG, f1, f2, ..] if f1 >> 4 == 0xA => {
            let len = usize::from(f1 & 0x07) << 8 | usize::from(*f2);
            let total = len + 2;
            if len < 7 {
                Found::Skip(1)
            } else if b.len() < total {
                Found::NeedMore
            } else if b[total - 1] == FLAG {
                Found::Frame(total)
            } else {
                Found::Skip(1)
            }
        }
        [FLAG, ..] => Found::Skip(1),
        // M-Bus long frame: 68 L L 68, L bytes, checksum, 16.
        [0x68] | [0x68, _] | [0x68, _, _] => Found::NeedMore,
        [0x68, l1, l2, 0x68, ..] if l1 == l2 => {
            let total = usize::from(*l1) + 6;
            if b.len() < total {
                Found::NeedMore
            } else if b[total - 1] == 0x16 {
                Found::Frame(total)
            } else {
                Found::Skip(1)
            }
        }
        // WRAPPER: version 0x0001, source and destination wPorts, length.
        [0x00] | [0x00, 0x01] => Found::NeedMore,
        [0x00, 0x01, ..] if b.len() < 8 => Found::NeedMore,
        [0x00, 0x01, _, _, _, _, h, l, ..] => {
            let total = (usize::from(*h) << 8 | usize::from(*l)) + 8;
            if total == 8 {
                Found::Skip(1)
            } else if b.len() < total {
                Found::NeedMore
            } else {
                Found::Frame(total)
            }
        }
        _ => Found::Skip(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hdlc(info_len: usize) -> Vec<u8> {
        let len = info_len + 7;
        let mut f = vec![FLAG, 0xA0 | (len >> 8) as u8, len as u8];
        f.extend(std::iter::repeat_n(0x55, len - 2));
        f.push(FLAG);
        f
    }

    #[test]
    fn frames_come_out_whole_however_the_bytes_are_cut() {
        let mbus = {
            let mut f = vec![0x68, 5, 5, 0x68, 1, 2, 3, 4, 5, 0xAA, 0x16];
            f[9] = 0;
            f
        };
        let wrapper = vec![0, 1, 0, 1, 0, 0x10, 0, 3, 0x0F, 1, 2];
        let mut stream = vec![0x13, 0x37]; // noise before the first frame
        for f in [hdlc(20), mbus.clone(), wrapper.clone(), hdlc(300)] {
            stream.extend(&f);
        }
        for cut in [1, 2, 3, 7, 64, stream.len()] {
            let mut s = FrameSplitter::new();
            let frames: Vec<Vec<u8>> = stream.chunks(cut).flat_map(|c| s.push(c)).collect();
            assert_eq!(
                frames,
                [hdlc(20), mbus.clone(), wrapper.clone(), hdlc(300)],
                "{cut}"
            );
            assert_eq!(s.skipped(), 2);
            assert_eq!(s.pending(), 0);
        }
    }

    #[test]
    fn hdlc_frames_sharing_one_flag_are_both_found() {
        let (a, b) = (hdlc(12), hdlc(30));
        let mut stream = a.clone();
        stream.extend(&b[1..]);
        let mut s = FrameSplitter::new();
        assert_eq!(s.push(&stream), [a, b]);
    }

    #[test]
    fn a_frame_cut_short_is_skipped_and_the_next_is_found() {
        let mut broken = hdlc(20);
        broken.truncate(15); // the port opened mid-frame: the rest is the next frame's
        let mut stream = broken;
        stream.extend(hdlc(10));
        stream.extend(hdlc(10));
        let mut s = FrameSplitter::new();
        let frames = s.push(&stream);
        assert!(frames.contains(&hdlc(10)), "{frames:?}");
    }

    proptest! {
        #[test]
        fn any_bytes_are_split_without_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let mut s = FrameSplitter::new();
            let n: usize = s.push(&bytes).iter().map(Vec::len).sum();
            // Every byte is in a frame, skipped or held (a flag two HDLC frames share, twice).
            prop_assert!(n as u64 + s.skipped() + s.pending() as u64 >= bytes.len() as u64);
            prop_assert!(s.skipped() + s.pending() as u64 <= bytes.len() as u64);
        }
    }
}
