//! A receive buffer that cuts a byte stream into HDLC frames and resynchronises after damage.
use super::error::HdlcError;
use super::frame::{decode, HdlcFrame, FLAG};

/// Buffers received bytes until they form whole frames.
#[derive(Debug, Default)]
pub struct FrameReader {
    buf: Vec<u8>,
}

impl FrameReader {
    /// Appends `bytes` and returns every complete frame, plus the first decoding error if
    /// some bytes had to be dropped. Incomplete bytes stay buffered for the next call.
    pub fn read(&mut self, bytes: &[u8]) -> (Vec<HdlcFrame>, Option<HdlcError>) {
        self.buf.extend_from_slice(bytes);
        let mut frames = Vec::new();
        let mut damage = None;
        loop {
            match decode(&self.buf) {
                Ok(Some((frame, used))) => {
                    self.buf.drain(..used);
                    frames.push(frame);
                }
                Ok(None) => {
                    // Bytes before the first flag can never become part of a frame.
                    let garbage = self.buf.iter().position(|&b| b == FLAG);
                    self.buf.drain(..garbage.unwrap_or(self.buf.len()));
                    return (frames, damage);
                }
                Err(e) => {
                    self.buf.drain(..e.skip.min(self.buf.len()));
                    damage.get_or_insert(e.error);
                }
            }
        }
    }

    /// How many bytes of a frame that has not completed yet are buffered (0 when only flags
    /// between frames are).
    pub fn pending(&self) -> usize {
        if self.buf.iter().all(|&b| b == FLAG) {
            0
        } else {
            self.buf.len()
        }
    }

    /// Forgets buffered bytes, e.g. when a new connection starts.
    pub fn clear(&mut self) {
        self.buf.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dlms::hdlc::frame::tests::hex;

    const SNRM: &str = "7E A0 08 02 23 21 93 BD 64 7E";

    #[test]
    fn byte_by_byte_with_garbage_and_damage() {
        let mut stream = hex("00 11 22");
        stream.extend(hex(SNRM));
        // Damaged copy: FCS flipped.
        stream.extend(hex("7E A0 08 02 23 21 93 BD 65 7E"));
        stream.extend(hex(SNRM));
        let mut reader = FrameReader::default();
        let mut frames = Vec::new();
        let mut errors = Vec::new();
        for byte in stream {
            let (got, err) = reader.read(&[byte]);
            frames.extend(got);
            errors.extend(err);
        }
        assert_eq!(frames.len(), 2);
        assert!(matches!(errors[..], [HdlcError::FcsMismatch { .. }]));
        assert_eq!(reader.buf, [FLAG], "only the closing flag is left");
        assert_eq!(reader.pending(), 0, "a flag alone is no partial frame");
    }

    #[test]
    fn garbage_without_flags_is_dropped() {
        let mut reader = FrameReader::default();
        assert_eq!(reader.read(&[1, 2, 3]), (vec![], None));
        assert!(reader.buf.is_empty());
    }
}
