//! The frames of a session as they crossed the link, with secrets masked.

use std::time::SystemTime;

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
pub(super) fn mask(bytes: &mut [u8], secrets: &[Vec<u8>]) -> Vec<std::ops::Range<usize>> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
