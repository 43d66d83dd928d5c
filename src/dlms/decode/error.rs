//! Why captured bytes do not decode: every message says what and where, and never shows a key.

use crate::dlms::axdr;
use crate::dlms::hdlc::HdlcError;
use crate::dlms::mbus::MbusError;
use crate::dlms::security::{SecurityError, SystemTitle};
use crate::dlms::wrapper::WrapperError;
use crate::dlms::xdlms::ApduError;
use thiserror::Error;

/// Why a frame or APDU cannot be decoded (a reading is never made from it).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// Nothing to decode.
    #[error("there are no bytes to decode")]
    Empty,
    /// An HDLC frame that is damaged (check sequence, format, addresses).
    #[error("the HDLC frame at byte {at} is bad: {source}")]
    Hdlc {
        /// Offset of the frame's opening flag.
        at: usize,
        /// What is wrong with it.
        source: HdlcError,
    },
    /// An HDLC frame whose closing flag never came.
    #[error("the HDLC frame at byte {at} is cut short: its closing flag never arrived")]
    TruncatedHdlc {
        /// Offset of the frame's opening flag.
        at: usize,
    },
    /// A damaged M-Bus long frame.
    #[error("the M-Bus frame at byte {at} is bad: {source}")]
    Mbus {
        /// Offset of the frame.
        at: usize,
        /// What is wrong with it.
        source: MbusError,
    },
    /// A damaged WRAPPER PDU.
    #[error("the WRAPPER PDU at byte {at} is bad: {source}")]
    Wrapper {
        /// Offset of the PDU.
        at: usize,
        /// What is wrong with it.
        source: WrapperError,
    },
    /// A WRAPPER PDU that is cut short.
    #[error("the WRAPPER PDU at byte {at} is cut short: {arrived} of its {needed} bytes arrived")]
    TruncatedWrapper {
        /// Offset of the PDU.
        at: usize,
        /// Bytes that arrived.
        arrived: usize,
        /// Bytes it needs.
        needed: usize,
    },
    /// An APDU whose fields do not decode (truncated, bad tag, bad length).
    #[error("the {what} does not decode: {source}")]
    Apdu {
        /// Which APDU (or part of it).
        what: &'static str,
        /// What is wrong.
        source: axdr::DecodeError,
    },
    /// A request or response APDU that does not decode.
    #[error("the APDU does not decode: {0}")]
    BadApdu(ApduError),
    /// An APDU tag we do not know.
    #[error("the APDU tag 0x{tag:02X} is not one this decoder knows")]
    UnknownApdu {
        /// The tag.
        tag: u8,
    },
    /// A ciphered APDU and no block key.
    #[error("the APDU is ciphered and no block key was given (--block-key)")]
    NoKey,
    /// A glo-/ded- ciphered APDU names no sender and none was given.
    #[error(
        "the APDU is ciphered with a glo- or ded- tag, which names no sender: give the meter's \
         system title"
    )]
    NoSystemTitle,
    /// Keys are given by system title, and none for the one the APDU carries.
    #[error("no key for system title {title}")]
    NoKeyForTitle {
        /// The title carried.
        title: SystemTitle,
    },
    /// The APDU carries another sender than the keys belong to.
    #[error("the APDU carries system title {carried}, not the expected {expected}")]
    WrongSystemTitle {
        /// The title carried.
        carried: SystemTitle,
        /// The title given.
        expected: SystemTitle,
    },
    /// A ciphered APDU whose tag does not verify, or whose header is bad.
    #[error("the ciphered APDU does not decipher (wrong key or damaged frame): {0}")]
    Decipher(SecurityError),
    /// Deciphered bytes that are not an APDU: with encryption only there is no tag, so this is
    /// how a wrong key shows.
    #[error(
        "the deciphered bytes are not an APDU (tag 0x{tag:02X}): the block key is probably wrong"
    )]
    Garbled {
        /// The first deciphered byte.
        tag: u8,
    },
    /// A general-block-transfer block out of order.
    #[error("general-block-transfer block {got} arrived while block {expected} was awaited")]
    BlockOutOfOrder {
        /// The block number awaited.
        expected: u16,
        /// The block number that came.
        got: u16,
    },
    /// An M-Bus DLMS segment out of order.
    #[error(
        "the M-Bus frame at byte {at} carries segment {got} while segment {expected} was awaited"
    )]
    SegmentOutOfOrder {
        /// Offset of the frame.
        at: usize,
        /// The segment number awaited.
        expected: u8,
        /// The segment number that came.
        got: u8,
    },
    /// APDUs nested in APDUs (ciphering, block transfer) deeper than any meter sends.
    #[error("APDUs are nested more than {0} deep")]
    TooDeep(usize),
    /// The input ended with an APDU still incomplete (segments or blocks missing).
    #[error("the input ends before the APDU is complete: {0}")]
    Incomplete(&'static str),
}

impl DecodeError {
    /// Whether more input could complete it (a frame cut short, segments or blocks missing).
    pub fn is_truncated(&self) -> bool {
        matches!(
            self,
            DecodeError::TruncatedHdlc { .. }
                | DecodeError::TruncatedWrapper { .. }
                | DecodeError::Incomplete(_)
                | DecodeError::Mbus {
                    source: MbusError::Truncated { .. },
                    ..
                }
        )
    }
}
