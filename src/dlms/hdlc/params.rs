//! SNRM/UA parameter negotiation (the HDLC information field `81 80 LL` + TLVs).
use super::error::HdlcError;

const FORMAT_ID: u8 = 0x81;
const GROUP_ID: u8 = 0x80;
const MAX_INFO_TX: u8 = 0x05;
const MAX_INFO_RX: u8 = 0x06;
const WINDOW_TX: u8 = 0x07;
const WINDOW_RX: u8 = 0x08;

/// Link parameters, from the point of view of the station that holds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HdlcParameters {
    /// Largest information field this station sends.
    pub max_info_tx: u16,
    /// Largest information field this station accepts.
    pub max_info_rx: u16,
    /// Frames this station sends before waiting for an acknowledgement.
    pub window_tx: u8,
    /// Frames this station accepts before acknowledging.
    pub window_rx: u8,
}

impl Default for HdlcParameters {
    /// The values that apply when SNRM or UA carries no information field.
    fn default() -> Self {
        Self {
            max_info_tx: 128,
            max_info_rx: 128,
            window_tx: 1,
            window_rx: 1,
        }
    }
}

impl HdlcParameters {
    /// Window 1 with information fields of up to `max_info` bytes both ways.
    pub fn with_max_info(max_info: u16) -> Self {
        Self {
            max_info_tx: max_info,
            max_info_rx: max_info,
            ..Self::default()
        }
    }

    /// Encodes the information field, sizes in as few bytes as fit, windows in four bytes
    /// as every real meter does.
    pub fn encode(&self) -> Vec<u8> {
        let mut tlvs = Vec::with_capacity(20);
        for (id, size) in [
            (MAX_INFO_TX, self.max_info_tx),
            (MAX_INFO_RX, self.max_info_rx),
        ] {
            tlvs.push(id);
            match u8::try_from(size) {
                Ok(byte) => tlvs.extend([1, byte]),
                Err(_) => {
                    tlvs.push(2);
                    tlvs.extend(size.to_be_bytes());
                }
            }
        }
        for (id, window) in [(WINDOW_TX, self.window_tx), (WINDOW_RX, self.window_rx)] {
            tlvs.extend([id, 4]);
            tlvs.extend(u32::from(window).to_be_bytes());
        }
        // At most 20 bytes of TLVs, so the group length fits a byte.
        let mut out = vec![FORMAT_ID, GROUP_ID, tlvs.len() as u8];
        out.extend(tlvs);
        out
    }

    /// Decodes an information field; empty means defaults, unknown ids are skipped and
    /// values too large for a field saturate (negotiation only ever lowers them).
    pub fn decode(info: &[u8]) -> Result<Self, HdlcError> {
        let mut params = Self::default();
        let [format, group, len, rest @ ..] = info else {
            return match info {
                [] => Ok(params),
                _ => Err(HdlcError::ParameterTruncated(
                    "no room for the 81 80 LL header",
                )),
            };
        };
        if (*format, *group) != (FORMAT_ID, GROUP_ID) {
            return Err(HdlcError::ParameterFormat {
                format: *format,
                group: *group,
            });
        }
        let mut tlvs = rest
            .get(..usize::from(*len))
            .ok_or(HdlcError::ParameterTruncated(
                "group length exceeds the field",
            ))?;
        while let [id, len, rest @ ..] = tlvs {
            let len = usize::from(*len);
            let (value, tail) = rest
                .split_at_checked(len)
                .ok_or(HdlcError::ParameterTruncated(
                    "value length exceeds the group",
                ))?;
            tlvs = tail;
            if !(1..=4).contains(&len) {
                return Err(HdlcError::ParameterValueLength { id: *id, len });
            }
            let value = value.iter().fold(0u32, |acc, b| acc << 8 | u32::from(*b));
            let size = || match u16::try_from(value).unwrap_or(u16::MAX) {
                0 => Err(HdlcError::ZeroMaxInfo(*id)),
                size => Ok(size),
            };
            let window = u8::try_from(value).unwrap_or(u8::MAX);
            match *id {
                MAX_INFO_TX => params.max_info_tx = size()?,
                MAX_INFO_RX => params.max_info_rx = size()?,
                WINDOW_TX => params.window_tx = window,
                WINDOW_RX => params.window_rx = window,
                _ => {}
            }
        }
        if !tlvs.is_empty() {
            return Err(HdlcError::ParameterTruncated(
                "a parameter id without its length",
            ));
        }
        Ok(params)
    }

    /// Our parameters after negotiating with the peer's (given from the peer's point of view):
    /// each size is the smaller of what we and the peer accept.
    pub fn negotiate(&self, peer: &Self) -> Self {
        Self {
            max_info_tx: self.max_info_tx.min(peer.max_info_rx),
            max_info_rx: self.max_info_rx.min(peer.max_info_tx),
            // Windows as both accept, 1 to 7 (modulo-8 sequence numbers).
            window_tx: self.window_tx.min(peer.window_rx).clamp(1, 7),
            window_rx: self.window_rx.min(peer.window_tx).clamp(1, 7),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        crate::dlms::hdlc::frame::tests::hex(s)
    }

    fn params(max_info_tx: u16, max_info_rx: u16) -> HdlcParameters {
        HdlcParameters {
            max_info_tx,
            max_info_rx,
            window_tx: 1,
            window_rx: 1,
        }
    }

    #[test]
    fn real_uas() {
        let cases = [
            (
                "81 80 12 05 01 9A 06 01 9A 07 04 00000001 08 04 00000001",
                params(0x9A, 0x9A),
            ),
            (
                "81 80 12 05 01 80 06 01 3E 07 04 00000001 08 04 00000001",
                params(0x80, 0x3E),
            ),
            (
                "81 80 14 05 02 0074 06 02 0074 07 04 00000001 08 04 00000001",
                params(0x74, 0x74),
            ),
            (
                "81 80 12 05 01 F8 06 01 F0 07 04 00000001 08 04 00000001",
                params(0xF8, 0xF0),
            ),
        ];
        for (info, expected) in cases {
            assert_eq!(HdlcParameters::decode(&hex(info)), Ok(expected), "{info}");
        }
    }

    #[test]
    fn encodes_like_real_meters() {
        assert_eq!(
            params(0x9A, 0x9A).encode(),
            hex("81 80 12 05 01 9A 06 01 9A 07 04 00000001 08 04 00000001")
        );
        assert_eq!(
            params(0x200, 0x80).encode(),
            hex("81 80 13 05 02 0200 06 01 80 07 04 00000001 08 04 00000001")
        );
    }

    #[test]
    fn tolerant_decoding() {
        assert_eq!(HdlcParameters::decode(&[]), Ok(HdlcParameters::default()));
        // Any order, unknown id 0x09 skipped, 2-byte window, missing 05 keeps its default.
        let info = hex("81 80 0B 09 01 FF 08 02 0001 06 02 0100");
        assert_eq!(HdlcParameters::decode(&info), Ok(params(128, 256)));
    }

    #[test]
    fn malformed_fields() {
        assert!(matches!(
            HdlcParameters::decode(&hex("81 81 00")),
            Err(HdlcError::ParameterFormat {
                format: 0x81,
                group: 0x81
            })
        ));
        assert!(HdlcParameters::decode(&hex("81 80 05 05 01 80")).is_err());
        assert!(HdlcParameters::decode(&hex("81 80 03 05 02 80")).is_err());
        assert!(HdlcParameters::decode(&hex("81 80 01 05")).is_err());
        assert!(HdlcParameters::decode(&hex("81")).is_err());
        assert_eq!(
            HdlcParameters::decode(&hex("81 80 03 05 01 00")),
            Err(HdlcError::ZeroMaxInfo(5))
        );
        assert_eq!(
            HdlcParameters::decode(&hex("81 80 07 05 05 0000000001")),
            Err(HdlcError::ParameterValueLength { id: 5, len: 5 })
        );
    }

    #[test]
    fn negotiation_swaps_the_peer_view() {
        let ours = params(512, 1024);
        // The L+G UA: the meter sends at most 0x80 and accepts at most 0x3E.
        let theirs = params(0x80, 0x3E);
        assert_eq!(ours.negotiate(&theirs), params(0x3E, 0x80));
    }
}
