//! The error every APDU decoder returns.

use crate::dlms::axdr::{DecodeError, Reader};
use thiserror::Error;

/// Why bytes are not a valid APDU.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ApduError {
    /// The input holds no byte at all.
    #[error("empty APDU: there is not even a tag byte")]
    Empty,
    /// The first byte is not a known APDU tag.
    #[error("unknown APDU tag 0x{0:02X}")]
    UnknownTag(u8),
    /// A field of a known APDU could not be decoded.
    #[error("bad {apdu}: {source}")]
    Decode {
        /// The APDU being decoded.
        apdu: &'static str,
        /// What went wrong, naming the field and the byte offset.
        source: DecodeError,
    },
}

/// Decodes a whole APDU with `f`, refuses trailing bytes, and names the APDU in any error.
pub(crate) fn decode_apdu<T>(
    apdu: &'static str,
    bytes: &[u8],
    f: impl FnOnce(&mut Reader) -> Result<T, DecodeError>,
) -> Result<T, ApduError> {
    let mut r = Reader::new(bytes);
    f(&mut r)
        .and_then(|v| r.finish(apdu).map(|()| v))
        .map_err(|source| ApduError::Decode { apdu, source })
}

/// Reads the tag byte and checks it is `tag`.
pub(crate) fn expect_tag(r: &mut Reader, tag: u8, apdu: &'static str) -> Result<(), DecodeError> {
    let at = r.position();
    let got = r.u8("APDU tag")?;
    if got == tag {
        Ok(())
    } else {
        Err(DecodeError::Invalid {
            what: "APDU tag",
            at,
            reason: format!("expected 0x{tag:02X} ({apdu}), found 0x{got:02X}"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_apdu_field_and_offset() {
        let e = decode_apdu("GET-request", &[0xC0, 0x01], |r| {
            expect_tag(r, 0xC0, "GET-request")?;
            r.u8("GET-request type")?;
            r.u8("invoke-id-and-priority")
        })
        .unwrap_err()
        .to_string();
        assert_eq!(
            e,
            "bad GET-request: truncated invoke-id-and-priority at byte 2: needs 1 more byte(s), 0 left"
        );
        let e = decode_apdu("AARE", &[0x60], |r| expect_tag(r, 0x61, "AARE"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("expected 0x61 (AARE), found 0x60"), "{e}");
        let e = decode_apdu("RLRQ", &[1, 2], |r| r.u8("x")).unwrap_err();
        assert!(matches!(
            e,
            ApduError::Decode {
                source: DecodeError::Trailing { .. },
                ..
            }
        ));
    }
}
