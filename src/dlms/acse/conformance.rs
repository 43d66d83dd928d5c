//! The xDLMS conformance block: the 24 service bits client and server negotiate.

use crate::dlms::axdr::{DecodeError, Reader};
use std::ops::BitOr;

/// A set of conformance bits; bit 0 of the standard is the MSB of the first byte (0x80_0000).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Conformance(pub u32);

/// Standard names of the 24 bits, indexed by bit number.
const NAMES: [&str; 24] = [
    "reserved-zero",
    "general-protection",
    "general-block-transfer",
    "read",
    "write",
    "unconfirmed-write",
    "delta-value-encoding",
    "reserved-seven",
    "attribute0-supported-with-set",
    "priority-mgmt-supported",
    "attribute0-supported-with-get",
    "block-transfer-with-get-or-read",
    "block-transfer-with-set-or-write",
    "block-transfer-with-action",
    "multiple-references",
    "information-report",
    "data-notification",
    "access",
    "parameterized-access",
    "get",
    "set",
    "selective-access",
    "event-notification",
    "action",
];

/// The `[APPLICATION 31]` tag, BIT STRING length 4 and 0 unused bits.
const HEADER: [u8; 4] = [0x5F, 0x1F, 0x04, 0x00];

const fn bit(n: u32) -> Conformance {
    Conformance(1 << (23 - n))
}

impl Conformance {
    /// Bit 1: general-protection.
    pub const GENERAL_PROTECTION: Conformance = bit(1);
    /// Bit 2: general-block-transfer.
    pub const GENERAL_BLOCK_TRANSFER: Conformance = bit(2);
    /// Bit 3: read (SN).
    pub const READ: Conformance = bit(3);
    /// Bit 4: write (SN).
    pub const WRITE: Conformance = bit(4);
    /// Bit 5: unconfirmed-write (SN).
    pub const UNCONFIRMED_WRITE: Conformance = bit(5);
    /// Bit 6: delta-value-encoding.
    pub const DELTA_VALUE_ENCODING: Conformance = bit(6);
    /// Bit 8: attribute0-supported-with-set.
    pub const ATTRIBUTE0_SET: Conformance = bit(8);
    /// Bit 9: priority-mgmt-supported.
    pub const PRIORITY_MGMT: Conformance = bit(9);
    /// Bit 10: attribute0-supported-with-get.
    pub const ATTRIBUTE0_GET: Conformance = bit(10);
    /// Bit 11: block-transfer-with-get-or-read.
    pub const BLOCK_TRANSFER_WITH_GET_OR_READ: Conformance = bit(11);
    /// Bit 12: block-transfer-with-set-or-write.
    pub const BLOCK_TRANSFER_WITH_SET_OR_WRITE: Conformance = bit(12);
    /// Bit 13: block-transfer-with-action.
    pub const BLOCK_TRANSFER_WITH_ACTION: Conformance = bit(13);
    /// Bit 14: multiple-references.
    pub const MULTIPLE_REFERENCES: Conformance = bit(14);
    /// Bit 15: information-report.
    pub const INFORMATION_REPORT: Conformance = bit(15);
    /// Bit 16: data-notification.
    pub const DATA_NOTIFICATION: Conformance = bit(16);
    /// Bit 17: access.
    pub const ACCESS: Conformance = bit(17);
    /// Bit 18: parameterized-access (SN).
    pub const PARAMETERIZED_ACCESS: Conformance = bit(18);
    /// Bit 19: get.
    pub const GET: Conformance = bit(19);
    /// Bit 20: set.
    pub const SET: Conformance = bit(20);
    /// Bit 21: selective-access.
    pub const SELECTIVE_ACCESS: Conformance = bit(21);
    /// Bit 22: event-notification.
    pub const EVENT_NOTIFICATION: Conformance = bit(22);
    /// Bit 23: action.
    pub const ACTION: Conformance = bit(23);

    /// True when every bit of `other` is set here.
    pub fn contains(self, other: Conformance) -> bool {
        self.0 & other.0 == other.0
    }

    /// The bits set in both.
    pub fn intersection(self, other: Conformance) -> Conformance {
        Conformance(self.0 & other.0)
    }

    /// The bits set in either.
    pub fn union(self, other: Conformance) -> Conformance {
        Conformance(self.0 | other.0)
    }

    /// Standard names of the set bits, in bit order.
    pub fn names(self) -> Vec<&'static str> {
        (0..24)
            .filter(|&n| self.contains(bit(n)))
            .map(|n| NAMES[n as usize])
            .collect()
    }

    /// The three wire bytes (bits above 24 are dropped).
    pub fn to_bytes(self) -> [u8; 3] {
        let [_, a, b, c] = self.0.to_be_bytes();
        [a, b, c]
    }

    /// Appends `5F 1F 04 00` and the three bytes.
    pub fn encode(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&HEADER);
        out.extend_from_slice(&self.to_bytes());
    }

    /// Reads `5F 1F 04 <unused bits> b1 b2 b3`.
    pub fn decode(r: &mut Reader) -> Result<Conformance, DecodeError> {
        let at = r.position();
        let header: [u8; 3] = r.array("conformance header")?;
        if header != [HEADER[0], HEADER[1], HEADER[2]] {
            return Err(DecodeError::Invalid {
                what: "conformance header",
                at,
                reason: format!(
                    "expected 5F 1F 04, found {}",
                    crate::dlms::data::hex(&header)
                ),
            });
        }
        r.u8("conformance unused bits")?;
        let [a, b, c] = r.array("conformance bits")?;
        Ok(Conformance(u32::from_be_bytes([0, a, b, c])))
    }
}

impl BitOr for Conformance {
    type Output = Conformance;

    fn bitor(self, rhs: Conformance) -> Conformance {
        self.union(rhs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(b: [u8; 3]) -> Conformance {
        Conformance(u32::from_be_bytes([0, b[0], b[1], b[2]]))
    }

    #[test]
    fn notes_examples() {
        // 00 7E 1F = bits 9..14 and 19..23 (GB example).
        let c = from([0x00, 0x7E, 0x1F]);
        assert_eq!(
            c,
            Conformance::PRIORITY_MGMT
                | Conformance::ATTRIBUTE0_GET
                | Conformance::BLOCK_TRANSFER_WITH_GET_OR_READ
                | Conformance::BLOCK_TRANSFER_WITH_SET_OR_WRITE
                | Conformance::BLOCK_TRANSFER_WITH_ACTION
                | Conformance::MULTIPLE_REFERENCES
                | Conformance::GET
                | Conformance::SET
                | Conformance::SELECTIVE_ACCESS
                | Conformance::EVENT_NOTIFICATION
                | Conformance::ACTION
        );
        // 00 50 1F = 9, 11, 19..23.
        assert_eq!(
            from([0x00, 0x50, 0x1F]).names(),
            [
                "priority-mgmt-supported",
                "block-transfer-with-get-or-read",
                "get",
                "set",
                "selective-access",
                "event-notification",
                "action"
            ]
        );
        // 00 1E 1D = 11..14, 19, 20, 21, 23.
        assert_eq!(
            from([0x00, 0x1E, 0x1D]),
            Conformance::BLOCK_TRANSFER_WITH_GET_OR_READ
                | Conformance::BLOCK_TRANSFER_WITH_SET_OR_WRITE
                | Conformance::BLOCK_TRANSFER_WITH_ACTION
                | Conformance::MULTIPLE_REFERENCES
                | Conformance::GET
                | Conformance::SET
                | Conformance::SELECTIVE_ACCESS
                | Conformance::ACTION
        );
        // GX LN default 40 1E 5D adds general-protection and access.
        let gx = from([0x40, 0x1E, 0x5D]);
        assert!(gx.contains(Conformance::GENERAL_PROTECTION | Conformance::ACCESS));
        assert_eq!(gx.names().len(), 10);
        // GX SN default 1C 03 20.
        assert_eq!(
            from([0x1C, 0x03, 0x20]),
            Conformance::READ
                | Conformance::WRITE
                | Conformance::UNCONFIRMED_WRITE
                | Conformance::MULTIPLE_REFERENCES
                | Conformance::INFORMATION_REPORT
                | Conformance::PARAMETERIZED_ACCESS
        );
    }

    #[test]
    fn wire_form_and_set_operations() {
        let c = from([0x40, 0x1E, 0x5D]);
        let mut out = Vec::new();
        c.encode(&mut out);
        assert_eq!(out, [0x5F, 0x1F, 0x04, 0x00, 0x40, 0x1E, 0x5D]);
        assert_eq!(Conformance::decode(&mut Reader::new(&out)).unwrap(), c);
        let server = from([0x00, 0x1E, 0x1D]);
        assert_eq!(c.intersection(server), server);
        assert!(!server.contains(Conformance::GENERAL_PROTECTION));
        assert_eq!(Conformance::ACTION.0, 1);
        assert_eq!(Conformance::GENERAL_PROTECTION.0, 0x40_0000);
        let e = Conformance::decode(&mut Reader::new(&[0x5F, 0x1F, 0x03, 0, 0, 0]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("conformance header"), "{e}");
    }
}
