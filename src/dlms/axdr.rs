//! A-XDR primitives: a bounds-checked reader and the variable-length count encoding.
//!
//! Every decoder in `dlms` reads through [`Reader`], so a truncated or hostile input ends in a
//! [`DecodeError`] that names what was being read and at which byte, never in a panic.

use thiserror::Error;

/// Why bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// The input ended before a field was complete.
    #[error("truncated {what} at byte {at}: needs {needed} more byte(s), {available} left")]
    Truncated {
        /// The field being read.
        what: &'static str,
        /// Offset of the field.
        at: usize,
        /// Bytes the field needs.
        needed: usize,
        /// Bytes left in the input.
        available: usize,
    },
    /// A length or count field is malformed or larger than the input can hold.
    #[error("bad length at byte {at}: {reason}")]
    BadLength {
        /// Offset of the length field.
        at: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// A type tag or choice selector that is not defined.
    #[error("unknown {what} 0x{tag:02X} at byte {at}")]
    UnknownTag {
        /// What kind of tag.
        what: &'static str,
        /// The tag value.
        tag: u8,
        /// Offset of the tag.
        at: usize,
    },
    /// A field holds a value that the standard does not allow.
    #[error("invalid {what} at byte {at}: {reason}")]
    Invalid {
        /// The field.
        what: &'static str,
        /// Offset of the field.
        at: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// Bytes are left over after a complete value.
    #[error("{count} unexpected trailing byte(s) after {what} at byte {at}")]
    Trailing {
        /// What was decoded.
        what: &'static str,
        /// Offset of the first extra byte.
        at: usize,
        /// Number of extra bytes.
        count: usize,
    },
    /// Structures nested deeper than any meter sends (protects the stack).
    #[error("data nested deeper than {max} levels at byte {at}")]
    TooDeep {
        /// The nesting limit.
        max: usize,
        /// Offset where the limit was hit.
        at: usize,
    },
}

/// A cursor over received bytes; every read is bounds-checked.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Starts reading at the beginning of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Offset of the next byte to read.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes not read yet.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// True when every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// The unread bytes, without consuming them.
    pub fn rest(&self) -> &'a [u8] {
        &self.buf[self.pos..]
    }

    /// The next byte, without consuming it.
    pub fn peek(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    /// Reads `n` bytes.
    pub fn bytes(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        if n > self.remaining() {
            return Err(DecodeError::Truncated {
                what,
                at: self.pos,
                needed: n,
                available: self.remaining(),
            });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// Reads a fixed-size array.
    pub fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.bytes(N, what)?);
        Ok(out)
    }

    /// Reads one byte.
    pub fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.bytes(1, what)?[0])
    }

    /// Reads a big-endian u16.
    pub fn u16(&mut self, what: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array(what)?))
    }

    /// Reads a big-endian u32.
    pub fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array(what)?))
    }

    /// Reads a big-endian u64.
    pub fn u64(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        Ok(u64::from_be_bytes(self.array(what)?))
    }

    /// Reads an A-XDR length or count (`< 0x80` one byte, else `0x80|n` and n bytes).
    pub fn length(&mut self, what: &'static str) -> Result<usize, DecodeError> {
        let at = self.pos;
        let first = self.u8(what)?;
        if first < 0x80 {
            return Ok(first as usize);
        }
        let n = (first & 0x7F) as usize;
        if n == 0 || n > 4 {
            return Err(DecodeError::BadLength {
                at,
                reason: format!("{what} uses {n} length bytes (1 to 4 allowed)"),
            });
        }
        let mut value = 0usize;
        for b in self.bytes(n, what)? {
            value = (value << 8) | *b as usize;
        }
        Ok(value)
    }

    /// Reads a length that announces `unit`-byte items and checks the input can hold them,
    /// so a hostile length never makes the caller allocate more than the input.
    pub fn bounded_length(
        &mut self,
        what: &'static str,
        unit: usize,
    ) -> Result<usize, DecodeError> {
        let at = self.pos;
        let n = self.length(what)?;
        if n.saturating_mul(unit.max(1)) > self.remaining() {
            return Err(DecodeError::BadLength {
                at,
                reason: format!(
                    "{what} claims {n} item(s) but only {} byte(s) follow",
                    self.remaining()
                ),
            });
        }
        Ok(n)
    }

    /// Fails when bytes are left over.
    pub fn finish(&self, what: &'static str) -> Result<(), DecodeError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::Trailing {
                what,
                at: self.pos,
                count: self.remaining(),
            })
        }
    }
}

/// Appends an A-XDR length or count.
pub fn write_length(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else if len <= 0xFF {
        out.extend_from_slice(&[0x81, len as u8]);
    } else if len <= 0xFFFF {
        out.push(0x82);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0x84);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn long_length_form() {
        // PW test_get_axdr_length: 82 0F 0F is 0x0F0F.
        let mut r = Reader::new(&[0x82, 0x0F, 0x0F]);
        assert_eq!(r.length("len").unwrap(), 0x0F0F);
        assert!(r.is_empty());
    }

    #[test]
    fn truncated_length_is_an_error() {
        let err = Reader::new(&[0x82, 0x0F])
            .length("string length")
            .unwrap_err();
        assert!(err.to_string().contains("string length"), "{err}");
    }

    #[test]
    fn hostile_count_is_refused_before_allocating() {
        let mut r = Reader::new(&[0x84, 0xFF, 0xFF, 0xFF, 0xFF, 0x00]);
        assert!(matches!(
            r.bounded_length("array count", 1),
            Err(DecodeError::BadLength { .. })
        ));
    }

    proptest! {
        #[test]
        fn length_round_trip(len in 0usize..=u32::MAX as usize) {
            let mut out = Vec::new();
            write_length(&mut out, len);
            let mut r = Reader::new(&out);
            prop_assert_eq!(r.length("len").unwrap(), len);
            prop_assert!(r.is_empty());
        }
    }
}
