//! Passwords and keys that must never show up in logs, messages or `Debug` output, and where
//! each came from (the file itself, or an environment variable named in it).

use super::ValueError;
use std::fmt;

/// Where a secret was read from; saving writes it back the same way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// Written in the config file (or typed in the UI).
    Inline,
    /// Read from this environment variable when the config was loaded (`{ env = "VAR" }`).
    Env(String),
}

impl SecretSource {
    /// The value of environment variable `var`, with the source that names it.
    pub(crate) fn env(var: &str) -> Result<(String, SecretSource), ValueError> {
        match std::env::var(var) {
            Ok(value) => Ok((value, SecretSource::Env(var.to_string()))),
            Err(std::env::VarError::NotPresent) => Err(ValueError::EnvNotSet(var.to_string())),
            Err(std::env::VarError::NotUnicode(_)) => {
                Err(ValueError::EnvNotUnicode(var.to_string()))
            }
        }
    }
}

/// A secret text (password, HLS secret); `Debug` and `Display` print `********`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret {
    text: String,
    source: SecretSource,
}

impl Secret {
    /// Wraps a secret written in the config.
    pub fn new(text: impl Into<String>) -> Self {
        Secret::with_source(text, SecretSource::Inline)
    }

    /// Wraps a secret read from `source`.
    pub fn with_source(text: impl Into<String>, source: SecretSource) -> Self {
        Secret {
            text: text.into(),
            source,
        }
    }

    /// The secret itself, for the one place that sends it to the meter or writes the file.
    pub fn expose(&self) -> &str {
        &self.text
    }

    /// Where it came from.
    pub fn source(&self) -> &SecretSource {
        &self.source
    }
}

/// A 128-bit key (AES-GCM block, authentication or dedicated key); printed as `********`.
#[derive(Clone, PartialEq, Eq)]
pub struct KeySecret {
    key: [u8; 16],
    source: SecretSource,
}

impl KeySecret {
    /// A key written in the config.
    pub fn new(key: [u8; 16]) -> Self {
        KeySecret {
            key,
            source: SecretSource::Inline,
        }
    }

    /// Parses 32 hex digits; the message never repeats the text.
    pub fn parse(text: &str, source: SecretSource) -> Result<Self, ValueError> {
        let key = parse_hex(text, "a 128-bit key")?;
        Ok(KeySecret { key, source })
    }

    /// The key itself, for the one place that ciphers with it or writes the file.
    pub fn expose(&self) -> [u8; 16] {
        self.key
    }

    /// Where it came from.
    pub fn source(&self) -> &SecretSource {
        &self.source
    }
}

/// `N` bytes from exactly `2N` hex digits; `what` names the value in the message, which
/// never repeats the text (it may be a key).
pub(crate) fn parse_hex<const N: usize>(
    text: &str,
    what: &'static str,
) -> Result<[u8; N], ValueError> {
    let digits = text
        .chars()
        .enumerate()
        .map(|(i, c)| c.to_digit(16).ok_or(i))
        .collect::<Result<Vec<u32>, usize>>()
        .map_err(|i| ValueError::NotHex {
            digits: 2 * N,
            what,
            at: i + 1,
        })?;
    if digits.len() != 2 * N {
        return Err(ValueError::HexLength {
            digits: 2 * N,
            what,
            got: digits.len(),
        });
    }
    let mut out = [0; N];
    for (byte, pair) in out.iter_mut().zip(digits.chunks(2)) {
        // Two digits below 16 make a byte.
        *byte = (pair[0] << 4 | pair[1]) as u8;
    }
    Ok(out)
}

macro_rules! masked {
    ($($t:ty),*) => {$(
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("********")
            }
        }

        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("********")
            }
        }
    )*};
}

masked!(Secret, KeySecret);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_prints_the_secret() {
        let s = Secret::new("hunter2");
        assert_eq!(
            format!("{s} {s:?} {:?}", Some(s.clone())),
            "******** ******** Some(********)"
        );
        assert_eq!(s.expose(), "hunter2");
        let k = KeySecret::parse("000102030405060708090a0B0C0D0E0F", SecretSource::Inline).unwrap();
        assert_eq!(format!("{k} {k:?}"), "******** ********");
        assert_eq!(k.expose(), std::array::from_fn::<u8, 16, _>(|i| i as u8));
    }

    #[test]
    fn hex_errors_never_repeat_the_text() {
        let short = "00112233445566778899AABBCCDDEE";
        assert_eq!(
            KeySecret::parse(short, SecretSource::Inline)
                .unwrap_err()
                .to_string(),
            "must be 32 hex digits (a 128-bit key); got 30 characters"
        );
        assert_eq!(
            KeySecret::parse("0011223344556677889XAABBCCDDEEFF", SecretSource::Inline)
                .unwrap_err()
                .to_string(),
            "must be 32 hex digits (a 128-bit key); character 20 is not a hex digit"
        );
        assert_eq!(
            parse_hex::<8>("4C4752000000000é", "an 8-byte system title")
                .unwrap_err()
                .to_string(),
            "must be 16 hex digits (an 8-byte system title); character 16 is not a hex digit"
        );
        assert_eq!(parse_hex::<2>("aB01", "x"), Ok([0xAB, 0x01]));
    }
}
