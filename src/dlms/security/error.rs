//! The one error type of the security layer; no message ever contains a key or secret.

use thiserror::Error;

use crate::dlms::axdr::DecodeError;

/// Why a security operation failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SecurityError {
    /// A key given as text is not 32 hex digits (the text itself is not repeated).
    #[error("invalid key: must be 32 hex digits ({problem})")]
    InvalidKey {
        /// What is wrong with the text.
        problem: super::keys::HexProblem,
    },
    /// A system title given as text is not 16 hex digits.
    #[error("invalid system title: must be 16 hex digits ({problem})")]
    InvalidSystemTitle {
        /// What is wrong with the text.
        problem: super::keys::HexProblem,
    },
    /// Policy `None` was asked to protect an APDU.
    #[error("security policy None cannot protect an APDU (use the plain APDU)")]
    NothingToProtect,
    /// The APDU is longer than AES-GCM can cipher.
    #[error("APDU of {len} bytes is too long to cipher")]
    TooLong {
        /// Length of the APDU.
        len: usize,
    },
    /// A security control byte this implementation does not handle.
    #[error("unsupported security control byte 0x{0:02X} (expected suite 0 with authentication and/or encryption, unicast key, no compression)")]
    UnsupportedControl(u8),
    /// The ciphered APDU is truncated or its lengths do not add up.
    #[error("malformed ciphered APDU: {0}")]
    Malformed(#[from] DecodeError),
    /// The GCM tag does not match.
    #[error("ciphered APDU authentication tag does not verify (wrong key or tampered data)")]
    AuthenticationFailed,
    /// An invocation counter that does not increase.
    #[error(
        "invocation counter {ic} is not greater than the last accepted {last} (replayed response)"
    )]
    Replay {
        /// The counter received.
        ic: u32,
        /// The last counter accepted.
        last: u32,
    },
    /// A counter below what the meter already used in earlier sessions with this key.
    #[error(
        "invocation counter {ic} is below {floor}, the lowest the meter may use after its earlier \
         sessions with this key (a replayed session; if the meter's counter was really reset, \
         give it new keys: counters must never repeat under one key)"
    )]
    ReplayedSession {
        /// The counter received.
        ic: u32,
        /// One above the highest counter accepted in earlier sessions.
        floor: u32,
    },
    /// Every invocation counter value has been used with this key.
    #[error("the invocation counter has reached its end (4294967295); the key must be changed")]
    CounterExhausted,
    /// The counters reserved for this session are used up (the caller reserves more).
    #[error("the invocation counters reserved for this session end at {end}; reserve more before ciphering again")]
    CounterWindowUsed {
        /// The first counter not reserved.
        end: u32,
    },
    /// A ciphered APDU came before the peer's system title was known.
    #[error("the peer's system title is not known, so its ciphered APDU cannot be checked")]
    UnknownPeerTitle,
    /// The peer protected an APDU with another policy than the association's.
    #[error("the meter used security policy {got:?}, the association requires {expected:?}")]
    PolicyMismatch {
        /// The association's policy.
        expected: super::Policy,
        /// The policy seen.
        got: super::Policy,
    },
    /// An empty APDU was given to cipher.
    #[error("cannot cipher an empty APDU")]
    EmptyApdu,
    /// The plain APDU tag has no glo- or ded- ciphered form.
    #[error("APDU tag 0x{tag:02X} has no {} ciphered form", if *.dedicated { "ded-" } else { "glo-" })]
    NoCipheredForm {
        /// The plain APDU tag.
        tag: u8,
        /// Whether the ded- form was asked for.
        dedicated: bool,
    },
    /// The tag is not one of a glo-, ded-, general-glo- or general-ded-ciphering APDU.
    #[error("APDU tag 0x{0:02X} is not a glo-, ded-, general-glo- or general-ded-ciphering APDU")]
    NotCiphered(u8),
    /// A general-ciphering APDU whose system title is not 8 bytes.
    #[error("general-ciphering system title is {0} bytes, 8 expected")]
    BadSystemTitleLength(usize),
    /// No key is configured for the APDU received.
    #[error("no {} key to decipher a {} APDU", if *.0 { "dedicated" } else { "block (global unicast)" }, if *.0 { "ded-" } else { "glo-" })]
    NoKey(bool),
    /// An HLS mechanism 2 secret longer than an AES-128 key.
    #[error("HLS mechanism 2 secret is {len} bytes, at most 16 allowed")]
    SecretTooLong {
        /// Length of the secret.
        len: usize,
    },
    /// An HLS mechanism called without the parameters it needs.
    #[error("{0}")]
    MissingHlsParams(&'static str),
    /// The peer's answer to our HLS challenge is wrong.
    #[error("HLS answer to our challenge does not verify (wrong secret, keys or system title)")]
    HlsMismatch,
}
