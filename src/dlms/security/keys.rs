//! Key material and identities: AES-128 keys and system titles, parsed from hex.

use std::fmt;
use std::str::FromStr;

use super::SecurityError;

/// A 128-bit AES key (block/unicast key, authentication key, dedicated key).
#[derive(Clone, PartialEq, Eq)]
pub struct Key(pub [u8; 16]);

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key(********)")
    }
}

impl FromStr for Key {
    type Err = SecurityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_hex(s)
            .map(Key)
            .map_err(|problem| SecurityError::InvalidKey { problem })
    }
}

/// An 8-byte system title.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct SystemTitle(pub [u8; 8]);

impl FromStr for SystemTitle {
    type Err = SecurityError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_hex(s)
            .map(SystemTitle)
            .map_err(|problem| SecurityError::InvalidSystemTitle { problem })
    }
}

impl fmt::Display for SystemTitle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02X}"))
    }
}

/// What is wrong with the hex text of a key or a system title (never the text itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HexProblem {
    /// A character that is not a hex digit, at this position from 1.
    #[error("character {0} is not a hex digit")]
    NotHex(usize),
    /// The wrong number of digits.
    #[error("got {0} digits")]
    Length(usize),
}

/// Parses exactly `2 * N` hex digits; the problem text never repeats the input.
fn parse_hex<const N: usize>(s: &str) -> Result<[u8; N], HexProblem> {
    let s = s.trim();
    if let Some(at) = s.find(|c: char| !c.is_ascii_hexdigit()) {
        return Err(HexProblem::NotHex(at + 1));
    }
    if s.len() != 2 * N {
        return Err(HexProblem::Length(s.len()));
    }
    // Every character is an ASCII hex digit by now.
    let digit = |c: u8| char::from(c).to_digit(16).unwrap_or(0) as u8;
    let mut out = [0u8; N];
    for (byte, pair) in out.iter_mut().zip(s.as_bytes().chunks_exact(2)) {
        *byte = (digit(pair[0]) << 4) | digit(pair[1]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_parses_and_never_prints() {
        let key: Key = "000102030405060708090a0b0c0d0E0F".parse().unwrap();
        assert_eq!(key.0[15], 0x0F);
        assert_eq!(format!("{key:?}"), "Key(********)");
    }

    #[test]
    fn bad_key_text_names_the_problem_without_echoing() {
        let err = "00010203040506070809"
            .parse::<Key>()
            .unwrap_err()
            .to_string();
        assert_eq!(err, "invalid key: must be 32 hex digits (got 20 digits)");
        let err = "SECRETPASSWORD0000000000000000zz"
            .parse::<Key>()
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "invalid key: must be 32 hex digits (character 1 is not a hex digit)"
        );
        assert!(!err.contains("SECRET"));
    }

    #[test]
    fn system_title_round_trips_through_text() {
        let st: SystemTitle = "4d4d4d0000BC614E".parse().unwrap();
        assert_eq!(st.to_string(), "4D4D4D0000BC614E");
        let err = "4D4D4D".parse::<SystemTitle>().unwrap_err().to_string();
        assert_eq!(
            err,
            "invalid system title: must be 16 hex digits (got 6 digits)"
        );
        assert!("4D4D4D0000BC614G".parse::<SystemTitle>().is_err());
    }
}
