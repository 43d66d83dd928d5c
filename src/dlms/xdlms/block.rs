//! DataBlock-SA: one block of a long SET or ACTION.

use super::codec::{read_octets, write_octets};
use crate::dlms::axdr::{DecodeError, Reader};

/// A block of raw bytes sent with SET/ACTION block transfer (`last u8 | block u32 | len raw`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataBlock {
    /// True for the last block.
    pub last_block: bool,
    /// Block number, starting at 1.
    pub block_number: u32,
    /// The block's share of the encoded value.
    pub raw: Vec<u8>,
}

impl DataBlock {
    /// Appends the A-XDR form.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(u8::from(self.last_block));
        out.extend_from_slice(&self.block_number.to_be_bytes());
        write_octets(out, &self.raw);
    }

    /// Reads the A-XDR form.
    pub fn decode(r: &mut Reader) -> Result<Self, DecodeError> {
        Ok(DataBlock {
            last_block: r.u8("last-block")? != 0,
            block_number: r.u32("block-number")?,
            raw: read_octets(r, "raw-data")?,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    pub fn arb_block() -> impl Strategy<Value = DataBlock> {
        (
            any::<bool>(),
            any::<u32>(),
            proptest::collection::vec(any::<u8>(), 0..300),
        )
            .prop_map(|(last_block, block_number, raw)| DataBlock {
                last_block,
                block_number,
                raw,
            })
    }

    #[test]
    fn wire_form() {
        let b = DataBlock {
            last_block: true,
            block_number: 2,
            raw: vec![0xAA],
        };
        let mut out = Vec::new();
        b.encode(&mut out);
        assert_eq!(out, [1, 0, 0, 0, 2, 1, 0xAA]);
        assert_eq!(DataBlock::decode(&mut Reader::new(&out)).unwrap(), b);
    }
}
