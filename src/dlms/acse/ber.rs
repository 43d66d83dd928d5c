//! Minimal BER (X.690) for the ACSE APDUs: one-byte tags and definite lengths.
//!
//! Readers work on the APDU's own [`Reader`], so error offsets count from the APDU start.

use crate::dlms::axdr::{write_length, DecodeError, Reader};

/// Appends `tag`, the definite length of `content` (same form as A-XDR), and `content`.
pub fn write_tlv(out: &mut Vec<u8>, tag: u8, content: &[u8]) {
    out.push(tag);
    write_length(out, content.len());
    out.extend_from_slice(content);
}

/// Appends `outer { inner { content } }`, an explicitly tagged value.
pub fn write_explicit(out: &mut Vec<u8>, outer: u8, inner: u8, content: &[u8]) {
    let mut v = Vec::with_capacity(content.len() + 6);
    write_tlv(&mut v, inner, content);
    write_tlv(out, outer, &v);
}

/// Reads a tag and a definite length that the rest of the input can hold.
pub fn read_header(r: &mut Reader, what: &'static str) -> Result<(u8, usize), DecodeError> {
    let tag = r.u8(what)?;
    let at = r.position();
    let len = r.length(what)?;
    if len > r.remaining() {
        return Err(DecodeError::BadLength {
            at,
            reason: format!(
                "{what} claims {len} byte(s) but only {} follow",
                r.remaining()
            ),
        });
    }
    Ok((tag, len))
}

/// Reads an APDU header whose tag must be `tag` and whose length must cover exactly the rest.
pub fn read_apdu_header(r: &mut Reader, tag: u8, apdu: &'static str) -> Result<(), DecodeError> {
    let at = r.position();
    let (got, len) = read_header(r, apdu)?;
    if got != tag {
        return Err(DecodeError::Invalid {
            what: "APDU tag",
            at,
            reason: format!("expected 0x{tag:02X} ({apdu}), found 0x{got:02X}"),
        });
    }
    if len != r.remaining() {
        return Err(DecodeError::Trailing {
            what: apdu,
            at: r.position() + len,
            count: r.remaining() - len,
        });
    }
    Ok(())
}

/// Reads a TLV whose tag must be `tag` and returns its content.
pub fn read_expected<'a>(
    r: &mut Reader<'a>,
    tag: u8,
    what: &'static str,
) -> Result<&'a [u8], DecodeError> {
    let at = r.position();
    let (got, len) = read_header(r, what)?;
    if got != tag {
        return Err(DecodeError::Invalid {
            what,
            at,
            reason: format!("expected tag 0x{tag:02X}, found 0x{got:02X}"),
        });
    }
    r.bytes(len, what)
}

/// Reads the inner TLV (tag `inner`) of an explicitly tagged field whose header announced
/// `len` bytes, and returns the inner content.
pub fn read_explicit<'a>(
    r: &mut Reader<'a>,
    len: usize,
    inner: u8,
    what: &'static str,
) -> Result<&'a [u8], DecodeError> {
    let start = r.position();
    let content = read_expected(r, inner, what)?;
    check_consumed(r, start, len, what)?;
    Ok(content)
}

/// Reads an explicitly tagged one-byte INTEGER (`02 01 v`) in a field of `len` bytes.
pub fn read_small_integer(
    r: &mut Reader,
    len: usize,
    what: &'static str,
) -> Result<u8, DecodeError> {
    let at = r.position();
    match read_explicit(r, len, 0x02, what)? {
        [v] => Ok(*v),
        v => Err(DecodeError::Invalid {
            what,
            at,
            reason: format!("expected a one-byte INTEGER, found {} byte(s)", v.len()),
        }),
    }
}

/// Checks that the field that started at `start` used exactly its announced `len` bytes.
pub fn check_consumed(
    r: &Reader,
    start: usize,
    len: usize,
    what: &'static str,
) -> Result<(), DecodeError> {
    let used = r.position() - start;
    if used == len {
        Ok(())
    } else {
        Err(DecodeError::BadLength {
            at: start,
            reason: format!("{what} announces {len} byte(s) but its value takes {used}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_form_lengths() {
        let mut out = Vec::new();
        write_tlv(&mut out, 0x60, &[0u8; 200]);
        assert_eq!(out[..3], [0x60, 0x81, 200]);
        let mut r = Reader::new(&out);
        assert_eq!(read_header(&mut r, "x").unwrap(), (0x60, 200));
    }

    #[test]
    fn nested_values_and_mismatches() {
        let mut out = Vec::new();
        write_explicit(&mut out, 0xA2, 0x02, &[1]);
        assert_eq!(out, [0xA2, 0x03, 0x02, 0x01, 0x01]);
        let mut r = Reader::new(&out[2..]);
        assert_eq!(read_small_integer(&mut r, 3, "result").unwrap(), 1);
        // Outer length 4 but inner value takes 3 bytes.
        let mut r = Reader::new(&[0x02, 0x01, 0x01, 0x00]);
        assert!(read_small_integer(&mut r, 4, "result").is_err());
        // Inner length beyond the input.
        let mut r = Reader::new(&[0x04, 0x84, 0xFF, 0xFF, 0xFF, 0xFF]);
        assert!(read_expected(&mut r, 0x04, "title").is_err());
        // APDU length must cover the rest exactly.
        assert!(read_apdu_header(&mut Reader::new(&[0x62, 0x00, 0x00]), 0x62, "RLRQ").is_err());
        assert!(read_apdu_header(&mut Reader::new(&[0x62, 0x02, 0x00]), 0x62, "RLRQ").is_err());
    }
}
