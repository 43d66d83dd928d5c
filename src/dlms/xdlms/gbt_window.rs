//! The two ends of a general-block-transfer: [`GbtSender`] splits an APDU into blocks and sends
//! them a window at a time, resending from the block the peer acknowledges; [`GbtReceiver`]
//! joins blocks, acknowledges each window and asks again for a block it missed (it
//! acknowledges the last block it has in order, as IEC 62056-5-3's lost-block recovery says).

use super::gbt::GeneralBlockTransfer;
use thiserror::Error;

/// Why a block transfer cannot go on.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum GbtError {
    /// The joined APDU would exceed the receiver's limit.
    #[error("the general-block-transfer APDU exceeds {limit} bytes")]
    TooLong {
        /// The limit in bytes.
        limit: usize,
    },
    /// The peer acknowledged a block that was never sent.
    #[error("the peer acknowledged block {ack}, but only {sent} blocks exist")]
    BadAck {
        /// The acknowledged block.
        ack: u16,
        /// Blocks in the transfer.
        sent: u16,
    },
    /// More blocks than a block number can count.
    #[error("the APDU needs more than 65535 blocks")]
    TooManyBlocks,
}

/// Sends one APDU as general-block-transfer blocks.
#[derive(Debug, Clone)]
pub struct GbtSender {
    blocks: Vec<Vec<u8>>,
    window: u8,
    /// The last block number the peer sent us (echoed as our ack).
    peer_block: u16,
}

impl GbtSender {
    /// Splits `apdu` into blocks of `block_size` bytes of data (at least 1), sent `window`
    /// blocks at a time (1..=63).
    pub fn new(apdu: &[u8], block_size: usize, window: u8) -> Result<Self, GbtError> {
        let blocks: Vec<Vec<u8>> = apdu.chunks(block_size.max(1)).map(<[u8]>::to_vec).collect();
        if blocks.len() > usize::from(u16::MAX) {
            return Err(GbtError::TooManyBlocks);
        }
        Ok(GbtSender {
            blocks,
            window: window.clamp(1, 63),
            peer_block: 0,
        })
    }

    /// Number of blocks in the transfer.
    pub fn len(&self) -> u16 {
        self.blocks.len() as u16
    }

    /// True for an empty APDU (never sent as blocks).
    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }

    /// The first window.
    pub fn first_window(&self) -> Vec<GeneralBlockTransfer> {
        self.window_after(0, self.window)
    }

    /// The peer sent `ack` (block `ack` and all before it arrived; `peer_block` is the peer's
    /// own block number, `peer_window` the window it can take): the next window, starting
    /// right after `ack` (so a lost block is sent again). Empty once every block is acknowledged.
    pub fn on_ack(
        &mut self,
        ack: u16,
        peer_block: u16,
        peer_window: u8,
    ) -> Result<Vec<GeneralBlockTransfer>, GbtError> {
        if ack > self.len() {
            return Err(GbtError::BadAck {
                ack,
                sent: self.len(),
            });
        }
        self.peer_block = peer_block;
        let window = match peer_window & super::gbt::WINDOW_MASK {
            0 => self.window,
            w => w.min(self.window),
        };
        Ok(self.window_after(ack, window))
    }

    fn window_after(&self, ack: u16, window: u8) -> Vec<GeneralBlockTransfer> {
        let first = usize::from(ack);
        let end = (first + usize::from(window)).min(self.blocks.len());
        (first..end)
            .map(|i| GeneralBlockTransfer {
                last: i + 1 == self.blocks.len(),
                streaming: i + 1 < end,
                window: self.window,
                block_number: (i + 1) as u16,
                ack: self.peer_block,
                data: self.blocks[i].clone(),
            })
            .collect()
    }
}

/// What the receiver wants after a block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// More blocks of this window are on their way: wait for them.
    Wait,
    /// Send this acknowledgement (the end of a window, or a lost block to be sent again).
    Ack(GeneralBlockTransfer),
    /// The whole APDU.
    Complete(Vec<u8>),
}

/// Joins general-block-transfer blocks into an APDU.
#[derive(Debug, Clone)]
pub struct GbtReceiver {
    window: u8,
    limit: usize,
    joined: Vec<u8>,
    /// The last block received in order.
    good: u16,
    /// Our own block number for acknowledgements.
    own: u16,
    /// Blocks lost and asked for again so far.
    recovered: u32,
    /// A block after a gap arrived in this window.
    gap: bool,
}

impl GbtReceiver {
    /// A receiver that takes `window` blocks unacknowledged and at most `limit` bytes.
    pub fn new(window: u8, limit: usize) -> Self {
        GbtReceiver {
            window: window.clamp(1, 63),
            limit,
            joined: Vec::new(),
            good: 0,
            own: 0,
            recovered: 0,
            gap: false,
        }
    }

    /// How many times a missing block was asked for again.
    pub fn recoveries(&self) -> u32 {
        self.recovered
    }

    /// Takes one block.
    pub fn receive(&mut self, b: GeneralBlockTransfer) -> Result<Received, GbtError> {
        let in_order = b.block_number == self.good.wrapping_add(1);
        if in_order {
            if self.joined.len() + b.data.len() > self.limit {
                return Err(GbtError::TooLong { limit: self.limit });
            }
            self.joined.extend_from_slice(&b.data);
            self.good = b.block_number;
            if b.last {
                return Ok(Received::Complete(std::mem::take(&mut self.joined)));
            }
        } else if b.block_number > self.good {
            // A gap: a block was lost. The blocks after it are dropped and asked for again.
            self.gap = true;
        }
        // A duplicate (block_number <= good) is ignored.
        if b.streaming && !b.last {
            return Ok(Received::Wait);
        }
        Ok(Received::Ack(self.ack()))
    }

    /// The window's end never came (its last block was lost): the acknowledgement that asks
    /// for everything after the last block in order.
    pub fn on_timeout(&mut self) -> GeneralBlockTransfer {
        self.gap = true;
        self.ack()
    }

    fn ack(&mut self) -> GeneralBlockTransfer {
        if std::mem::take(&mut self.gap) {
            self.recovered += 1;
        }
        self.own = self.own.wrapping_add(1);
        GeneralBlockTransfer {
            last: true,
            streaming: false,
            window: self.window,
            block_number: self.own,
            ack: self.good,
            data: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Runs a transfer; `drop` names blocks lost the first time they are sent.
    fn transfer(apdu: &[u8], size: usize, sw: u8, rw: u8, drop: &[u16]) -> (Vec<u8>, u32, usize) {
        let mut tx = GbtSender::new(apdu, size, sw).unwrap();
        let mut rx = GbtReceiver::new(rw, 1 << 20);
        let mut dropped: Vec<u16> = Vec::new();
        let mut window = tx.first_window();
        let mut rounds = 0;
        loop {
            rounds += 1;
            assert!(rounds < 10_000, "no progress");
            let mut ack = None;
            for b in window {
                if drop.contains(&b.block_number) && !dropped.contains(&b.block_number) {
                    dropped.push(b.block_number);
                    continue;
                }
                match rx.receive(b).unwrap() {
                    Received::Wait => {}
                    Received::Ack(a) => ack = Some(a),
                    Received::Complete(all) => return (all, rx.recoveries(), rounds),
                }
            }
            // The window's last block was lost: the receiver times out and asks again.
            let a = ack.unwrap_or_else(|| rx.on_timeout());
            window = tx.on_ack(a.ack, a.block_number, a.window).unwrap();
        }
    }

    #[test]
    fn joins_windows_in_order() {
        let apdu: Vec<u8> = (0..=255).collect();
        let (all, rec, rounds) = transfer(&apdu, 10, 4, 4, &[]);
        assert_eq!(all, apdu);
        assert_eq!(rec, 0);
        // 26 blocks, 4 a window.
        assert_eq!(rounds, 7);
    }

    #[test]
    fn recovers_a_lost_block_by_acknowledging_the_last_good_one() {
        let apdu: Vec<u8> = (0..100).collect();
        let (all, rec, _) = transfer(&apdu, 7, 5, 5, &[3]);
        assert_eq!(all, apdu);
        assert_eq!(rec, 1);
    }

    #[test]
    fn ack_names_the_last_block_in_order() {
        let mut rx = GbtReceiver::new(3, 1000);
        let blk = |n, streaming, last| GeneralBlockTransfer {
            last,
            streaming,
            window: 3,
            block_number: n,
            ack: 0,
            data: vec![n as u8],
        };
        assert_eq!(rx.receive(blk(1, true, false)), Ok(Received::Wait));
        assert_eq!(
            rx.receive(blk(3, false, false)).map(|r| match r {
                Received::Ack(a) => a.ack,
                _ => 99,
            }),
            Ok(1)
        );
        assert_eq!(rx.receive(blk(2, true, false)), Ok(Received::Wait));
        assert_eq!(
            rx.receive(blk(3, false, true)),
            Ok(Received::Complete(vec![1, 2, 3]))
        );
    }

    #[test]
    fn limits_the_joined_size() {
        let mut rx = GbtReceiver::new(1, 4);
        let b = GeneralBlockTransfer {
            last: false,
            streaming: false,
            window: 1,
            block_number: 1,
            ack: 0,
            data: vec![0; 5],
        };
        assert_eq!(rx.receive(b), Err(GbtError::TooLong { limit: 4 }));
    }

    #[test]
    fn sender_refuses_an_ack_beyond_its_blocks() {
        let mut tx = GbtSender::new(&[1, 2, 3], 1, 2).unwrap();
        assert!(tx.on_ack(4, 1, 1).is_err());
        assert!(tx.on_ack(3, 1, 1).unwrap().is_empty());
    }

    proptest! {
        #[test]
        fn any_transfer_with_losses_arrives_whole(
            apdu in proptest::collection::vec(any::<u8>(), 1..2000),
            size in 1usize..300,
            sw in 1u8..64,
            rw in 1u8..64,
            drop in proptest::collection::vec(1u16..40, 0..4),
        ) {
            let (all, _, _) = transfer(&apdu, size, sw, rw, &drop);
            prop_assert_eq!(all, apdu);
        }
    }
}
