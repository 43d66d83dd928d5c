//! What is wrong with one value of the queue (a parity, a unit, a key, a system title, an
//! environment variable): the part of a message that follows `file:line: field`.

use thiserror::Error;

/// The hint after a unit error.
const UNIT_HINT: &str = "use a unit such as \"kWh\", \"MWh\" or \"m³\"";

/// Why a value of the queue is not accepted. Messages never repeat a secret's text.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ValueError {
    /// Mark or space parity, which the serial driver cannot set.
    #[error(
        "{0} parity is not supported: the serial driver (tokio-serial) sets none, even or odd only"
    )]
    UnsupportedParity(String),
    /// A name that is not one of the allowed ones.
    #[error("{name:?} is not allowed; use {allowed}")]
    NotAllowed {
        /// What was given.
        name: String,
        /// What may be given.
        allowed: &'static str,
    },
    /// An empty unit.
    #[error("is empty; {UNIT_HINT}, or leave it out to keep the meter's unit")]
    EmptyUnit,
    /// A unit longer than the limit.
    #[error("{unit:?} is longer than {max} characters; {UNIT_HINT}")]
    LongUnit {
        /// The unit.
        unit: String,
        /// The limit.
        max: usize,
    },
    /// A unit with a character that would garble a table or a log line (not echoed).
    #[error("contains the invisible or control character U+{0:04X}; {UNIT_HINT}")]
    HiddenCharacter(u32),
    /// A unit with spaces at its ends.
    #[error("{0:?} has spaces at its ends; {UNIT_HINT}")]
    Spaces(String),
    /// Hex text with a character that is not a hex digit.
    #[error("must be {digits} hex digits ({what}); character {at} is not a hex digit")]
    NotHex {
        /// Digits expected.
        digits: usize,
        /// What the value is.
        what: &'static str,
        /// Position of the first bad character, from 1.
        at: usize,
    },
    /// Hex text of the wrong length.
    #[error("must be {digits} hex digits ({what}); got {got} characters")]
    HexLength {
        /// Digits expected.
        digits: usize,
        /// What the value is.
        what: &'static str,
        /// Characters given.
        got: usize,
    },
    /// A secret named by an environment variable that is not set.
    #[error("environment variable {0} is not set")]
    EnvNotSet(String),
    /// A secret in an environment variable that is not UTF-8.
    #[error("environment variable {0} is not valid UTF-8")]
    EnvNotUnicode(String),
}

impl From<ValueError> for String {
    fn from(e: ValueError) -> String {
        e.to_string()
    }
}
