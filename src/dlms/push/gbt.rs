//! A push in general-block-transfer blocks: nobody acknowledges a push, so the meter streams
//! every block (window 0: it takes no acknowledgement) and the receiver joins them in order.
//! What the blocks carry is the push APDU as it would go whole — a DataNotification, or the
//! ciphered APDU holding one (ciphered first, then cut into blocks: the blocks themselves are
//! never ciphered), as Landis+Gyr meters send it.

use super::PushError;
use crate::dlms::xdlms::{gbt, GeneralBlockTransfer};

/// The encoded blocks carrying `apdu`, at most `block_size` bytes of it in each (at least 1):
/// numbered from 1, each streaming, the last one marked last.
pub fn blocks(apdu: &[u8], block_size: usize) -> Result<Vec<Vec<u8>>, PushError> {
    let chunks: Vec<&[u8]> = apdu.chunks(block_size.max(1)).collect();
    if chunks.len() > usize::from(u16::MAX) {
        return Err(PushError::TooManyBlocks {
            len: apdu.len(),
            block_size,
        });
    }
    let last = chunks.len().saturating_sub(1);
    Ok(chunks
        .into_iter()
        .enumerate()
        .map(|(i, data)| {
            GeneralBlockTransfer {
                last: i == last,
                streaming: true,
                window: 0,
                block_number: (i + 1) as u16,
                ack: 0,
                data: data.to_vec(),
            }
            .encode()
        })
        .collect())
}

/// Joins the blocks at the start of `apdus` (the first is a general-block-transfer block)
/// into the APDU they carry. Blocks must come in order from 1; anything after the last block
/// is left. Blocks that stop before the last one are [`PushError::UnfinishedBlocks`] (more
/// bytes could complete them).
pub fn join(apdus: &[Vec<u8>]) -> Result<Vec<u8>, PushError> {
    let mut joined = Vec::new();
    for (i, apdu) in apdus.iter().enumerate() {
        let expected = u16::try_from(i + 1).map_err(|_| PushError::TooManyBlocks {
            len: joined.len(),
            block_size: 0,
        })?;
        if apdu.first() != Some(&gbt::TAG) {
            return Err(PushError::BlockMissing { expected });
        }
        let b = GeneralBlockTransfer::decode(apdu).map_err(PushError::Block)?;
        if b.block_number != expected {
            return Err(PushError::BlockOutOfOrder {
                expected,
                got: b.block_number,
            });
        }
        joined.extend_from_slice(&b.data);
        if b.last {
            if joined.first() == Some(&gbt::TAG) {
                return Err(PushError::NestedBlocks);
            }
            return Ok(joined);
        }
    }
    Err(PushError::UnfinishedBlocks {
        received: apdus.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn blocks_stream_with_window_zero_and_the_last_is_marked() {
        let b = blocks(&[1, 2, 3, 4, 5], 2).unwrap();
        assert_eq!(b.len(), 3);
        // As the Landis+Gyr blocks: 40 (streaming) … C0 (last, streaming).
        assert_eq!(b[0], [0xE0, 0x40, 0, 1, 0, 0, 2, 1, 2]);
        assert_eq!(b[2], [0xE0, 0xC0, 0, 3, 0, 0, 1, 5]);
        assert_eq!(join(&b), Ok(vec![1, 2, 3, 4, 5]));
    }

    #[test]
    fn a_missing_or_late_block_is_an_error_and_an_unfinished_transfer_waits() {
        let b = blocks(&[9; 10], 3).unwrap();
        assert_eq!(
            join(&b[..2]),
            Err(PushError::UnfinishedBlocks { received: 2 })
        );
        assert!(join(&b[..2]).unwrap_err().is_truncated());
        let skipped = vec![b[0].clone(), b[2].clone(), b[3].clone()];
        assert_eq!(
            join(&skipped),
            Err(PushError::BlockOutOfOrder {
                expected: 2,
                got: 3
            })
        );
        assert_eq!(
            join(&[b[0].clone(), vec![0x0F, 0]]),
            Err(PushError::BlockMissing { expected: 2 })
        );
        let nested = blocks(&b[0], 100).unwrap();
        assert_eq!(join(&nested), Err(PushError::NestedBlocks));
    }

    proptest! {
        #[test]
        fn round_trip(apdu in proptest::collection::vec(any::<u8>(), 1..3000), size in 1usize..500) {
            prop_assume!(apdu[0] != gbt::TAG);
            let b = blocks(&apdu, size).unwrap();
            prop_assert_eq!(b.len(), apdu.len().div_ceil(size));
            let mut apdus = b.clone();
            // What follows the last block is not joined.
            apdus.push(vec![0x0F, 0x00]);
            prop_assert_eq!(join(&apdus), Ok(apdu));
        }

        #[test]
        fn never_panics(apdus in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..20), 0..5)) {
            let _ = join(&apdus);
        }
    }
}
