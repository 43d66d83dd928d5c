//! Application context and authentication mechanism names (the OIDs in AARQ/AARE).

use super::ber;
use crate::dlms::axdr::{DecodeError, Reader};
use std::fmt;

/// OID prefix 2.16.756.5.8.1 of the application context names.
const CONTEXT_PREFIX: [u8; 6] = [0x60, 0x85, 0x74, 0x05, 0x08, 0x01];
/// OID prefix 2.16.756.5.8.2 of the mechanism names.
const MECHANISM_PREFIX: [u8; 6] = [0x60, 0x85, 0x74, 0x05, 0x08, 0x02];
/// BER tag of an OBJECT IDENTIFIER.
const OID_TAG: u8 = 0x06;

/// The application context (referencing and ciphering) proposed in the AARQ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApplicationContext {
    /// Logical-name referencing, no ciphering.
    LogicalNames = 1,
    /// Short-name referencing, no ciphering.
    ShortNames = 2,
    /// Logical-name referencing with ciphering.
    LogicalNamesCiphered = 3,
    /// Short-name referencing with ciphering.
    ShortNamesCiphered = 4,
}

impl ApplicationContext {
    /// The last OID arc.
    pub fn id(self) -> u8 {
        self as u8
    }

    /// The context with this last OID arc.
    pub fn from_id(id: u8) -> Option<Self> {
        match id {
            1 => Some(Self::LogicalNames),
            2 => Some(Self::ShortNames),
            3 => Some(Self::LogicalNamesCiphered),
            4 => Some(Self::ShortNamesCiphered),
            _ => None,
        }
    }

    /// True for the two ciphered contexts.
    pub fn is_ciphered(self) -> bool {
        matches!(self, Self::LogicalNamesCiphered | Self::ShortNamesCiphered)
    }

    /// True for the two short-name contexts.
    pub fn is_short_names(self) -> bool {
        matches!(self, Self::ShortNames | Self::ShortNamesCiphered)
    }

    /// Appends `A1 09 06 07 <oid>`.
    pub(crate) fn encode(self, out: &mut Vec<u8>) {
        ber::write_explicit(out, 0xA1, OID_TAG, &oid(CONTEXT_PREFIX, self.id()));
    }

    /// Reads the content of the A1 field (`06 07 <oid>`) announced with `len` bytes.
    pub(crate) fn decode(r: &mut Reader, len: usize) -> Result<Self, DecodeError> {
        let at = r.position();
        let v = ber::read_explicit(r, len, OID_TAG, "application-context-name")?;
        arc(v, CONTEXT_PREFIX)
            .and_then(Self::from_id)
            .ok_or_else(|| unknown_oid("application-context-name", at, v))
    }
}

impl fmt::Display for ApplicationContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::LogicalNames => "LN",
            Self::ShortNames => "SN",
            Self::LogicalNamesCiphered => "LN ciphered",
            Self::ShortNamesCiphered => "SN ciphered",
        })
    }
}

/// The authentication mechanism (security level) of an association.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mechanism {
    /// No authentication (lowest level security).
    None = 0,
    /// Low level security: a password.
    Low = 1,
    /// High level security, manufacturer specific.
    High = 2,
    /// High level security with MD5.
    HighMd5 = 3,
    /// High level security with SHA-1.
    HighSha1 = 4,
    /// High level security with GMAC.
    HighGmac = 5,
    /// High level security with SHA-256.
    HighSha256 = 6,
    /// High level security with ECDSA.
    HighEcdsa = 7,
}

impl Mechanism {
    /// The last OID arc.
    pub fn id(self) -> u8 {
        self as u8
    }

    /// The mechanism with this last OID arc.
    pub fn from_id(id: u8) -> Option<Self> {
        Some(match id {
            0 => Self::None,
            1 => Self::Low,
            2 => Self::High,
            3 => Self::HighMd5,
            4 => Self::HighSha1,
            5 => Self::HighGmac,
            6 => Self::HighSha256,
            7 => Self::HighEcdsa,
            _ => return None,
        })
    }

    /// Appends `<tag> 07 <oid>` (8B in the AARQ, 89 in the AARE).
    pub(crate) fn encode(self, out: &mut Vec<u8>, tag: u8) {
        ber::write_tlv(out, tag, &oid(MECHANISM_PREFIX, self.id()));
    }

    /// Reads the `len`-byte implicit OID content of a mechanism-name field.
    pub(crate) fn decode(r: &mut Reader, len: usize) -> Result<Self, DecodeError> {
        let at = r.position();
        let v = r.bytes(len, "mechanism-name")?;
        arc(v, MECHANISM_PREFIX)
            .and_then(Self::from_id)
            .ok_or_else(|| unknown_oid("mechanism-name", at, v))
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::None => "none",
            Self::Low => "low (password)",
            Self::High => "high (manufacturer specific)",
            Self::HighMd5 => "high (MD5)",
            Self::HighSha1 => "high (SHA-1)",
            Self::HighGmac => "high (GMAC)",
            Self::HighSha256 => "high (SHA-256)",
            Self::HighEcdsa => "high (ECDSA)",
        })
    }
}

fn oid(prefix: [u8; 6], last: u8) -> [u8; 7] {
    let [a, b, c, d, e, f] = prefix;
    [a, b, c, d, e, f, last]
}

/// The last arc of a 7-byte OID that starts with `prefix`.
fn arc(v: &[u8], prefix: [u8; 6]) -> Option<u8> {
    match v {
        [head @ .., last] if head == prefix => Some(*last),
        _ => None,
    }
}

fn unknown_oid(what: &'static str, at: usize, v: &[u8]) -> DecodeError {
    DecodeError::Invalid {
        what,
        at,
        reason: format!("unknown OID {}", crate::dlms::data::hex(v)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names() {
        for id in 1..=4 {
            assert_eq!(ApplicationContext::from_id(id).unwrap().id(), id);
        }
        assert!(ApplicationContext::from_id(0).is_none());
        assert!(ApplicationContext::ShortNamesCiphered.is_ciphered());
        assert!(ApplicationContext::ShortNamesCiphered.is_short_names());
        assert!(!ApplicationContext::LogicalNames.is_short_names());
        for id in 0..=7 {
            assert_eq!(Mechanism::from_id(id).unwrap().id(), id);
        }
        assert!(Mechanism::from_id(8).is_none());
        assert_eq!(Mechanism::Low.to_string(), "low (password)");
        assert_eq!(Mechanism::HighMd5.to_string(), "high (MD5)");
    }

    #[test]
    fn oid_wire_forms() {
        let mut out = Vec::new();
        ApplicationContext::LogicalNames.encode(&mut out);
        Mechanism::HighGmac.encode(&mut out, 0x8B);
        assert_eq!(
            crate::dlms::data::hex(&out),
            "A1090607608574050801018B0760857405080205"
        );
        let mut r = Reader::new(&out[2..]);
        assert_eq!(
            ApplicationContext::decode(&mut r, 9).unwrap(),
            ApplicationContext::LogicalNames
        );
        let e = Mechanism::decode(&mut Reader::new(&[0x60, 0x85, 0x74, 5, 8, 2, 9]), 7)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("mechanism-name") && e.contains("60857405080209"),
            "{e}"
        );
    }
}
