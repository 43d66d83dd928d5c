//! HDLC addresses: the 1-byte client address and the 1-, 2- or 4-byte server address.
use std::fmt;

use super::error::HdlcError;

/// How many bytes a server address takes in a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AddressSize {
    /// Upper (logical) address only, 7 bits.
    One,
    /// Upper and lower address, 7 bits each.
    Two,
    /// Upper and lower address, 14 bits each.
    Four,
}

impl AddressSize {
    /// The number of address bytes.
    pub fn bytes(self) -> usize {
        match self {
            Self::One => 1,
            Self::Two => 2,
            Self::Four => 4,
        }
    }

    /// The number of address bits each byte count carries (7 per byte).
    fn bits(self) -> u32 {
        7 * self.bytes() as u32
    }
}

impl TryFrom<u8> for AddressSize {
    type Error = HdlcError;

    fn try_from(bytes: u8) -> Result<Self, HdlcError> {
        match bytes {
            1 => Ok(Self::One),
            2 => Ok(Self::Two),
            4 => Ok(Self::Four),
            other => Err(HdlcError::InvalidAddressSize(other)),
        }
    }
}

impl fmt::Display for AddressSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-byte", self.bytes())
    }
}

/// An address field as carried in a frame: its size and value with the extension bits removed.
///
/// The value combines the parts the way Gurux does: `(upper << 7) | lower` for two bytes,
/// `(upper << 14) | lower` for four. Frames keep this raw form so that a link can echo an
/// address back exactly as its peer wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RawAddress {
    value: u32,
    size: AddressSize,
}

impl RawAddress {
    /// A raw address, checking that `value` fits in `size` bytes (7 bits per byte).
    pub fn new(value: u32, size: AddressSize) -> Result<Self, HdlcError> {
        if value >> size.bits() != 0 {
            return Err(HdlcError::RawAddressOutOfRange { value, size });
        }
        Ok(Self { value, size })
    }

    /// A client address (always one byte, 0..=127).
    pub fn client(address: u8) -> Result<Self, HdlcError> {
        Self::new(address.into(), AddressSize::One)
            .map_err(|_| HdlcError::ClientAddressOutOfRange(address))
    }

    /// The address value without extension bits.
    pub fn value(self) -> u32 {
        self.value
    }

    /// The number of bytes the address takes.
    pub fn size(self) -> AddressSize {
        self.size
    }

    /// Appends the address bytes: 7 bits per byte, shifted left, extension bit on the last.
    pub fn encode_into(self, out: &mut Vec<u8>) {
        let n = self.size.bytes();
        for i in (0..n).rev() {
            // Truncation is intended: each byte carries the next 7 bits.
            let bits = (self.value >> (7 * i)) as u8 & 0x7F;
            out.push(bits << 1 | u8::from(i == 0));
        }
    }

    /// Decodes an address field from the start of `buf`, returning it and its byte count.
    ///
    /// `field` names the field ("destination" or "source") for the error message.
    pub fn decode(buf: &[u8], field: &'static str) -> Result<(Self, usize), HdlcError> {
        let end = buf.iter().position(|b| b & 1 == 1);
        let len = end.map_or(buf.len(), |i| i + 1);
        let size = match end.map(|_| len) {
            Some(1) => AddressSize::One,
            Some(2) => AddressSize::Two,
            Some(4) => AddressSize::Four,
            _ => return Err(HdlcError::AddressLength { field, len }),
        };
        let value = buf
            .iter()
            .take(len)
            .fold(0u32, |acc, b| acc << 7 | u32::from(b >> 1));
        Ok((Self { value, size }, len))
    }
}

impl fmt::Display for RawAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut bytes = Vec::with_capacity(4);
        self.encode_into(&mut bytes);
        let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02X}")).collect();
        f.write_str(&hex.join(" "))
    }
}

/// A server address: upper HDLC address (logical device) and lower (physical device).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HdlcAddress {
    /// Upper HDLC address: the logical device (1 = management logical device).
    pub logical: u16,
    /// Lower HDLC address: the physical device; required for 2 and 4 bytes, unused for 1.
    pub physical: Option<u16>,
    /// How many bytes the address takes in a frame.
    pub size: AddressSize,
}

impl HdlcAddress {
    /// The raw frame form, checking each part against the range of `size`.
    pub fn to_raw(self) -> Result<RawAddress, HdlcError> {
        let part_bits = match self.size {
            AddressSize::One => {
                let logical = self.check("logical", self.logical, 0x7F)?;
                return RawAddress::new(logical.into(), AddressSize::One);
            }
            AddressSize::Two => 7,
            AddressSize::Four => 14,
        };
        let max = (1 << part_bits) - 1;
        let physical = self
            .physical
            .ok_or(HdlcError::PhysicalAddressRequired(self.size))?;
        let upper = u32::from(self.check("logical", self.logical, max)?);
        let lower = u32::from(self.check("physical", physical, max)?);
        RawAddress::new(upper << part_bits | lower, self.size)
    }

    /// The address bytes as they appear in a frame.
    pub fn encode(self) -> Result<Vec<u8>, HdlcError> {
        let mut out = Vec::with_capacity(4);
        self.to_raw()?.encode_into(&mut out);
        Ok(out)
    }

    fn check(self, part: &'static str, value: u16, max: u16) -> Result<u16, HdlcError> {
        if value > max {
            return Err(HdlcError::AddressOutOfRange {
                part,
                value,
                max,
                size: self.size,
            });
        }
        Ok(value)
    }
}

impl From<RawAddress> for HdlcAddress {
    fn from(raw: RawAddress) -> Self {
        let split = |bits: u32| {
            let mask = (1u32 << bits) - 1;
            // Both parts fit in 14 bits, so the casts cannot truncate.
            ((raw.value >> bits) as u16, Some((raw.value & mask) as u16))
        };
        let (logical, physical) = match raw.size {
            AddressSize::One => (raw.value as u16, None),
            AddressSize::Two => split(7),
            AddressSize::Four => split(14),
        };
        Self {
            logical,
            physical,
            size: raw.size,
        }
    }
}

/// The lower HDLC address a meter derives from its serial number: `sn % 10000 + 1000`.
pub fn physical_from_serial_number(sn: u64) -> u16 {
    // The remainder is below 10000, so it always fits.
    (sn % 10_000) as u16 + 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(addr: HdlcAddress) -> Vec<u8> {
        addr.encode().expect("valid address")
    }

    fn server(logical: u16, physical: Option<u16>, size: AddressSize) -> HdlcAddress {
        HdlcAddress {
            logical,
            physical,
            size,
        }
    }

    #[test]
    fn client_addresses_from_the_notes() {
        for (addr, byte) in [
            (16, 0x21),
            (1, 0x03),
            (17, 0x23),
            (48, 0x61),
            (100, 0xC9),
            (73, 0x93),
        ] {
            let mut out = Vec::new();
            RawAddress::client(addr).unwrap().encode_into(&mut out);
            assert_eq!(out, [byte], "client {addr}");
        }
        assert_eq!(
            RawAddress::client(128),
            Err(HdlcError::ClientAddressOutOfRange(128))
        );
    }

    #[test]
    fn server_addresses_from_the_notes() {
        use AddressSize::*;
        assert_eq!(encode(server(1, None, One)), [0x03]);
        assert_eq!(encode(server(1, Some(17), Two)), [0x02, 0x23]);
        assert_eq!(encode(server(1, Some(17), Four)), [0x00, 0x02, 0x00, 0x23]);
        assert_eq!(encode(server(145, Some(1), Four)), [0x02, 0x22, 0x00, 0x03]);
        assert_eq!(encode(server(0b1001010, None, One)), [0x95]);
    }

    #[test]
    fn serial_number_addressing() {
        assert_eq!(physical_from_serial_number(12345678), 6678);
        let addr = server(1, Some(6678), AddressSize::Four);
        assert_eq!(encode(addr), [0x00, 0x02, 0x68, 0x2D]);
        let lg = physical_from_serial_number(51324481);
        assert_eq!(lg, 5481);
        assert_eq!(
            encode(server(17, Some(lg), AddressSize::Four)),
            [0x00, 0x22, 0x54, 0xD3]
        );
    }

    #[test]
    fn decodes_back_to_parts() {
        let (raw, n) = RawAddress::decode(&[0x00, 0x22, 0x54, 0xD3, 0x61], "destination").unwrap();
        assert_eq!(n, 4);
        assert_eq!(
            HdlcAddress::from(raw),
            server(17, Some(5481), AddressSize::Four)
        );
        let (raw, n) = RawAddress::decode(&[0x02, 0x23], "source").unwrap();
        assert_eq!(n, 2);
        assert_eq!(
            HdlcAddress::from(raw),
            server(1, Some(17), AddressSize::Two)
        );
    }

    #[test]
    fn rejects_bad_lengths() {
        for buf in [
            &[0x02, 0x02, 0x23][..],
            &[0x02, 0x02, 0x02, 0x02, 0x03],
            &[0x02],
            &[],
        ] {
            assert!(matches!(
                RawAddress::decode(buf, "source"),
                Err(HdlcError::AddressLength {
                    field: "source",
                    ..
                })
            ));
        }
    }

    #[test]
    fn rejects_out_of_range_parts() {
        use AddressSize::*;
        assert!(matches!(
            server(128, None, One).to_raw(),
            Err(HdlcError::AddressOutOfRange {
                part: "logical",
                ..
            })
        ));
        assert!(matches!(
            server(1, Some(128), Two).to_raw(),
            Err(HdlcError::AddressOutOfRange {
                part: "physical",
                ..
            })
        ));
        assert!(server(16383, Some(16383), Four).to_raw().is_ok());
        assert!(server(16384, Some(1), Four).to_raw().is_err());
        assert_eq!(
            server(1, None, Four).to_raw(),
            Err(HdlcError::PhysicalAddressRequired(Four))
        );
        assert_eq!(
            AddressSize::try_from(3),
            Err(HdlcError::InvalidAddressSize(3))
        );
        assert_eq!(AddressSize::try_from(4), Ok(Four));
    }
}
