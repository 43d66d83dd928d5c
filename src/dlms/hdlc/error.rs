//! Errors of the HDLC layer.
use super::address::{AddressSize, RawAddress};
use super::control::Control;

/// Everything that can go wrong while encoding, decoding or running an HDLC link.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HdlcError {
    /// A server address size other than 1, 2 or 4 bytes.
    #[error("HDLC server address size must be 1, 2 or 4 bytes, got {0}")]
    InvalidAddressSize(u8),
    /// An address part too large for the chosen address size.
    #[error("HDLC {part} address {value} does not fit a {size} server address (max {max})")]
    AddressOutOfRange {
        /// "logical" or "physical".
        part: &'static str,
        /// The value that does not fit.
        value: u16,
        /// The largest value the size allows.
        max: u16,
        /// The chosen address size.
        size: AddressSize,
    },
    /// A 2- or 4-byte server address without its physical part.
    #[error("HDLC {0} server address needs a physical (lower) address")]
    PhysicalAddressRequired(AddressSize),
    /// A client address above 127.
    #[error("HDLC client address {0} is out of range (max 127)")]
    ClientAddressOutOfRange(u8),
    /// An address value too large for its byte count.
    #[error("HDLC address value {value:#X} does not fit a {size} address field")]
    RawAddressOutOfRange {
        /// The combined address value.
        value: u32,
        /// The byte count it should fit in.
        size: AddressSize,
    },
    /// An address field whose extension bit ends after a byte count other than 1, 2 or 4.
    #[error("HDLC {field} address field is {len} bytes long; only 1, 2 or 4 are valid")]
    AddressLength {
        /// "destination" or "source".
        field: &'static str,
        /// The byte count up to the first byte with the extension bit set (or the frame end).
        len: usize,
    },
    /// A control byte that is none of I, RR, RNR, SNRM, DISC, UA, DM, FRMR or UI.
    #[error("unknown HDLC control byte {0:#04X}")]
    UnknownControl(u8),
    /// A format field whose type is not 3 (0xA in the top nibble).
    #[error(
        "HDLC frame format field starts with {0:#04X}; frame format type 3 (0xA0..=0xAF) expected"
    )]
    FormatType(u8),
    /// A length field too small for the frame's addresses, control field and check sequences.
    #[error("HDLC frame length field says {0} bytes, too few for its addresses, control field and check sequences")]
    FrameTooShort(usize),
    /// An encoded frame longer than the 11-bit length field allows.
    #[error("HDLC frame would be {0} bytes long; the maximum is 2047")]
    FrameTooLong(usize),
    /// Header check sequence mismatch.
    #[error(
        "HDLC header check sequence mismatch: frame says {frame:#06X}, computed {computed:#06X}"
    )]
    HcsMismatch {
        /// The HCS carried by the frame.
        frame: u16,
        /// The HCS computed over the header.
        computed: u16,
    },
    /// Frame check sequence mismatch.
    #[error(
        "HDLC frame check sequence mismatch: frame says {frame:#06X}, computed {computed:#06X}"
    )]
    FcsMismatch {
        /// The FCS carried by the frame.
        frame: u16,
        /// The FCS computed over the frame.
        computed: u16,
    },
    /// The byte after the frame, as given by the length field, is not the closing flag.
    #[error("HDLC frame does not end with the 0x7E flag: found {0:#04X} where the length field says it ends")]
    MissingClosingFlag(u8),
    /// A SNRM/UA information field that is not a parameter negotiation group.
    #[error("HDLC parameter field must start with 81 80, found {format:02X} {group:02X}")]
    ParameterFormat {
        /// The format identifier found (0x81 expected).
        format: u8,
        /// The group identifier found (0x80 expected).
        group: u8,
    },
    /// A parameter field shorter than its length bytes say.
    #[error("HDLC parameter field is truncated: {0}")]
    ParameterTruncated(&'static str),
    /// A parameter value that is empty or longer than 4 bytes.
    #[error("HDLC parameter {id:#04X} has a {len}-byte value; 1 to 4 bytes expected")]
    ParameterValueLength {
        /// The parameter id.
        id: u8,
        /// The value length found.
        len: usize,
    },
    /// A zero max-information-field length, which would make segmentation impossible.
    #[error("HDLC parameter {0:#04X} (max information field length) is 0")]
    ZeroMaxInfo(u8),
    /// An I-frame or UI frame without the expected LLC header.
    #[error("HDLC information field does not start with the LLC header {expected:02X?}: found {found:02X?}")]
    MissingLlc {
        /// The LLC header expected.
        expected: [u8; 3],
        /// The first bytes found instead.
        found: Vec<u8>,
    },
    /// A frame to or from an address other than this link's.
    #[error("HDLC frame from address {source_address} to {destination} is not for this link (expected from {expected_source} to {expected_destination})")]
    UnexpectedAddress {
        /// The frame's source address.
        source_address: RawAddress,
        /// The frame's destination address.
        destination: RawAddress,
        /// The source this link accepts.
        expected_source: RawAddress,
        /// The destination this link accepts.
        expected_destination: RawAddress,
    },
    /// An I-frame whose N(S) is not our V(R).
    #[error("HDLC I-frame out of sequence: N(S) is {received}, expected {expected}")]
    OutOfSequence {
        /// Our V(R).
        expected: u8,
        /// The frame's N(S).
        received: u8,
    },
    /// A DM response while we were not disconnecting.
    #[error("meter is in disconnected mode (DM)")]
    DisconnectedMode,
    /// A FRMR response, which the link cannot recover from.
    #[error("HDLC peer rejected a frame (FRMR), information field {0:02X?}")]
    FrameReject(Vec<u8>),
    /// A frame that makes no sense in the link's current state.
    #[error("unexpected HDLC {control} frame while {state}")]
    UnexpectedFrame {
        /// The frame's control field.
        control: Control,
        /// What the link was doing.
        state: &'static str,
    },
    /// An APDU to send before the link is open.
    #[error("cannot send an APDU: the HDLC link is not open")]
    NotOpen,
    /// An APDU to send while the previous one is still being segmented out.
    #[error("cannot send an APDU: the previous one is still being sent in segments")]
    SendInProgress,
}
