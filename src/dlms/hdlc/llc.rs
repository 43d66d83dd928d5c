//! The LLC header that starts every HDLC information field carrying an APDU (not in WRAPPER).
use super::error::HdlcError;

/// LLC header of client → server APDUs: destination LSAP E6, source LSAP E6, quality 00.
pub const CLIENT_LLC: [u8; 3] = [0xE6, 0xE6, 0x00];

/// LLC header of server → client APDUs (responses and pushes): source LSAP E7 marks a response.
pub const SERVER_LLC: [u8; 3] = [0xE6, 0xE7, 0x00];

/// The APDU bytes after the `expected` LLC header, or an error naming what was found.
pub fn strip(expected: [u8; 3], info: &[u8]) -> Result<&[u8], HdlcError> {
    info.strip_prefix(&expected[..])
        .ok_or_else(|| HdlcError::MissingLlc {
            expected,
            found: info.iter().take(3).copied().collect(),
        })
}
