//! General-Block-Transfer (IEC 62056-5-3 9.4.6.13): one block of a long APDU, with the
//! window, streaming and acknowledgement fields that lost-block recovery uses.

use super::codec::{read_octets, write_octets};
use super::error::{decode_apdu, expect_tag, ApduError};

/// The general-block-transfer tag.
pub const TAG: u8 = 0xE0;
/// Block-control: this is the last block of the APDU.
const LAST: u8 = 0x80;
/// Block-control: more blocks of this window follow without an acknowledgement.
const STREAMING: u8 = 0x40;
/// Block-control: the window (blocks the sender of this block can receive unacknowledged).
pub const WINDOW_MASK: u8 = 0x3F;

/// One general-block-transfer block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneralBlockTransfer {
    /// The last block of the APDU.
    pub last: bool,
    /// More blocks of this window follow (streaming).
    pub streaming: bool,
    /// The window the sender can receive, 1..=63 (0: none).
    pub window: u8,
    /// This block's number, from 1.
    pub block_number: u16,
    /// The last block received in order from the peer (0: none).
    pub ack: u16,
    /// The block's share of the APDU (empty in a bare acknowledgement).
    pub data: Vec<u8>,
}

impl GeneralBlockTransfer {
    /// The encoded APDU.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.data.len() + 9);
        out.push(TAG);
        let mut control = self.window & WINDOW_MASK;
        if self.last {
            control |= LAST;
        }
        if self.streaming {
            control |= STREAMING;
        }
        out.push(control);
        out.extend_from_slice(&self.block_number.to_be_bytes());
        out.extend_from_slice(&self.ack.to_be_bytes());
        write_octets(&mut out, &self.data);
        out
    }

    /// Decodes a whole general-block-transfer APDU.
    pub fn decode(bytes: &[u8]) -> Result<Self, ApduError> {
        const NAME: &str = "general-block-transfer";
        if bytes.is_empty() {
            return Err(ApduError::Empty);
        }
        decode_apdu(NAME, bytes, |r| {
            expect_tag(r, TAG, NAME)?;
            let control = r.u8("block-control")?;
            Ok(GeneralBlockTransfer {
                last: control & LAST != 0,
                streaming: control & STREAMING != 0,
                window: control & WINDOW_MASK,
                block_number: r.u16("block-number")?,
                ack: r.u16("block-number-ack")?,
                data: read_octets(r, "block-data")?,
            })
        })
    }

    /// A one-line summary for traces.
    pub fn summary(&self) -> String {
        format!(
            "general-block-transfer block {}{}{}, ack {}, window {}, {} bytes",
            self.block_number,
            if self.last { " (last)" } else { "" },
            if self.streaming { " streaming" } else { "" },
            self.ack,
            self.window,
            self.data.len()
        )
    }

    /// Bytes a block adds to its data: tag, control, numbers and a length of up to 3 bytes.
    pub const OVERHEAD: usize = 1 + 1 + 2 + 2 + 3;
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_bytes() {
        let b = GeneralBlockTransfer {
            last: false,
            streaming: true,
            window: 5,
            block_number: 2,
            ack: 0,
            data: vec![0xAA, 0xBB],
        };
        assert_eq!(
            b.encode(),
            [0xE0, 0x45, 0x00, 0x02, 0x00, 0x00, 0x02, 0xAA, 0xBB]
        );
        assert_eq!(GeneralBlockTransfer::decode(&b.encode()), Ok(b.clone()));
        assert_eq!(
            crate::dlms::xdlms::summarize(&b.encode()),
            "general-block-transfer block 2 streaming, ack 0, window 5, 2 bytes"
        );
    }

    #[test]
    fn refuses_truncated_and_trailing_bytes() {
        assert!(GeneralBlockTransfer::decode(&[0xE0, 0x80, 0, 1, 0]).is_err());
        assert!(GeneralBlockTransfer::decode(&[0xE0, 0x80, 0, 1, 0, 0, 1]).is_err());
        assert!(GeneralBlockTransfer::decode(&[0xE0, 0x80, 0, 1, 0, 0, 0, 9]).is_err());
        assert_eq!(GeneralBlockTransfer::decode(&[]), Err(ApduError::Empty));
    }

    proptest! {
        #[test]
        fn round_trip(
            last: bool,
            streaming: bool,
            window in 0u8..64,
            block_number: u16,
            ack: u16,
            data in proptest::collection::vec(any::<u8>(), 0..600),
        ) {
            let b = GeneralBlockTransfer { last, streaming, window, block_number, ack, data };
            prop_assert_eq!(GeneralBlockTransfer::decode(&b.encode()), Ok(b));
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = GeneralBlockTransfer::decode(&bytes);
        }
    }
}
