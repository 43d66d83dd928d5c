//! The one error type of push parsing and building: every message says what went wrong and
//! where (which PDU or frame, from which byte).

use crate::dlms::hdlc::{Control, HdlcError};
use crate::dlms::security::{SecurityError, SystemTitle};
use crate::dlms::wrapper::WrapperError;
use crate::dlms::xdlms::ApduError;
use thiserror::Error;

/// Why bytes a meter sent are not a push we can read, or a push cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PushError {
    /// Neither a WRAPPER PDU nor an HDLC frame.
    #[error(
        "the {len} bytes the meter sent are neither a WRAPPER PDU (starting 00 01) nor an HDLC \
         frame (starting 7E)"
    )]
    NotFramed {
        /// How many bytes arrived.
        len: usize,
    },
    /// A WRAPPER PDU whose bytes did not all arrive.
    #[error("the WRAPPER PDU at byte {at} is cut short: {arrived} of its {needed} bytes arrived")]
    TruncatedWrapper {
        /// Offset of the PDU in the bytes received.
        at: usize,
        /// Bytes of it that arrived.
        arrived: usize,
        /// Bytes it needs (the 8-byte header until that is complete).
        needed: usize,
    },
    /// A WRAPPER header that is wrong.
    #[error("the WRAPPER PDU at byte {at} is bad: {source}")]
    Wrapper {
        /// Offset of the PDU in the bytes received.
        at: usize,
        /// What is wrong with it.
        source: WrapperError,
    },
    /// An HDLC frame whose bytes did not all arrive.
    #[error("the HDLC frame at byte {at} is cut short: its closing flag never arrived")]
    TruncatedHdlc {
        /// Offset of the frame's opening flag in the bytes received.
        at: usize,
    },
    /// Segmented HDLC frames whose last segment did not arrive.
    #[error(
        "the push's HDLC frames end at byte {at} with the segmentation bit set: the rest of the \
         APDU did not arrive"
    )]
    UnfinishedSegments {
        /// Where the last frame received ends.
        at: usize,
    },
    /// A damaged HDLC frame (check sequence, format, addresses, LLC).
    #[error("the HDLC frame at byte {at} is bad: {source}")]
    Hdlc {
        /// Offset of the frame's opening flag in the bytes received.
        at: usize,
        /// What is wrong with it.
        source: HdlcError,
    },
    /// An HDLC frame of a kind that carries no push.
    #[error("the HDLC frame at byte {at} is {control}; pushes come in UI frames")]
    NotUi {
        /// Offset of the frame's opening flag in the bytes received.
        at: usize,
        /// Its control field.
        control: Control,
    },
    /// An APDU that is neither a DataNotification nor a ciphered APDU.
    #[error("the APDU (tag 0x{tag:02X}) is neither a DataNotification (0x0F) nor a ciphered APDU")]
    NotAPush {
        /// Its first byte.
        tag: u8,
    },
    /// A frame with no APDU in it.
    #[error("the frame holds an empty APDU")]
    EmptyApdu,
    /// A ciphered push whose header cannot be read.
    #[error("the ciphered push's header is bad: {0}")]
    Header(SecurityError),
    /// A glo-/ded- ciphered push, which names no sender, and no title to decipher it with.
    #[error(
        "the push is ciphered with a glo- or ded- tag, which names no sender, and no system \
         title is configured for the meter"
    )]
    NoSystemTitle,
    /// A general-ciphering push from another sender than the keys belong to.
    #[error("the push carries system title {carried}, not the expected {expected}")]
    WrongSystemTitle {
        /// The title the push carries.
        carried: SystemTitle,
        /// The title the keys belong to.
        expected: SystemTitle,
    },
    /// A ciphered push given no keys.
    #[error("the push is ciphered and no keys were given to decipher it")]
    NoKeys,
    /// A ciphered push that does not decipher (wrong key, tampered, truncated content).
    #[error("the ciphered push does not decipher: {0}")]
    Decipher(SecurityError),
    /// A deciphered APDU that is not a DataNotification.
    #[error("the deciphered push holds an APDU with tag 0x{tag:02X}, not a DataNotification")]
    NotANotification {
        /// The deciphered APDU's tag (0 when it is empty).
        tag: u8,
    },
    /// A DataNotification that does not decode.
    #[error("the DataNotification does not decode: {0}")]
    Notification(ApduError),
    /// The push cannot be ciphered.
    #[error("cannot cipher the push: {0}")]
    Seal(SecurityError),
    /// A general-block-transfer block that does not decode.
    #[error("a general-block-transfer block of the push is bad: {0}")]
    Block(ApduError),
    /// General-block-transfer blocks out of order (one was lost).
    #[error(
        "general-block-transfer block {got} came where block {expected} was due: a block was lost"
    )]
    BlockOutOfOrder {
        /// The block due.
        expected: u16,
        /// The block that came.
        got: u16,
    },
    /// Something else came between the blocks of a push.
    #[error("general-block-transfer block {expected} was due, but another APDU came")]
    BlockMissing {
        /// The block due.
        expected: u16,
    },
    /// Blocks whose last one has not arrived.
    #[error("{received} general-block-transfer blocks arrived, and not yet the last one")]
    UnfinishedBlocks {
        /// Blocks received so far.
        received: usize,
    },
    /// Blocks that carry blocks again.
    #[error("the general-block-transfer blocks carry another general-block-transfer")]
    NestedBlocks,
    /// A push too long for block numbers.
    #[error("a push of {len} bytes needs more than 65535 blocks of {block_size} bytes")]
    TooManyBlocks {
        /// The push's length.
        len: usize,
        /// The block size asked for.
        block_size: usize,
    },
    /// The push does not fit a WRAPPER PDU.
    #[error("cannot frame the push for WRAPPER: {0}")]
    WrapperFrame(WrapperError),
    /// The push cannot be put in HDLC frames.
    #[error("cannot frame the push for HDLC: {0}")]
    HdlcFrame(HdlcError),
}

impl PushError {
    /// Whether more bytes could complete the push (a PDU or frame cut short).
    pub fn is_truncated(&self) -> bool {
        matches!(
            self,
            PushError::TruncatedWrapper { .. }
                | PushError::TruncatedHdlc { .. }
                | PushError::UnfinishedSegments { .. }
                | PushError::UnfinishedBlocks { .. }
        )
    }
}
