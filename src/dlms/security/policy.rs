//! The security policy of an association and its security control byte (suite 0).

use super::SecurityError;

/// Security policy of an association (security suite 0).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Policy {
    /// No protection.
    None,
    /// Authenticated (GMAC tag), not encrypted: SC 0x10.
    Auth,
    /// Encrypted, no tag: SC 0x20.
    Enc,
    /// Authenticated and encrypted: SC 0x30.
    AuthEnc,
}

impl Policy {
    /// Every policy with its name (as the config and the command line write it).
    pub const NAMES: [(&'static str, Policy); 4] = [
        ("none", Policy::None),
        ("auth", Policy::Auth),
        ("enc", Policy::Enc),
        ("authenc", Policy::AuthEnc),
    ];

    /// The policy's name: `none`, `auth`, `enc` or `authenc`.
    pub fn name(self) -> &'static str {
        match self {
            Policy::None => "none",
            Policy::Auth => "auth",
            Policy::Enc => "enc",
            Policy::AuthEnc => "authenc",
        }
    }

    /// The policy named `name`, if there is one.
    pub fn from_name(name: &str) -> Option<Policy> {
        Policy::NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, p)| *p)
    }

    /// The security control byte: 0x10, 0x20 or 0x30 (suite 0), 0 for `None`.
    pub fn control_byte(self) -> u8 {
        match self {
            Policy::None => 0x00,
            Policy::Auth => 0x10,
            Policy::Enc => 0x20,
            Policy::AuthEnc => 0x30,
        }
    }

    /// The policy of a received security control byte; only suite 0, unicast key and no
    /// compression are accepted, and at least one of authentication and encryption.
    pub(super) fn from_control_byte(sc: u8) -> Result<Self, SecurityError> {
        match sc {
            0x10 => Ok(Policy::Auth),
            0x20 => Ok(Policy::Enc),
            0x30 => Ok(Policy::AuthEnc),
            _ => Err(SecurityError::UnsupportedControl(sc)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_bytes_round_trip() {
        for p in [Policy::Auth, Policy::Enc, Policy::AuthEnc] {
            assert_eq!(Policy::from_control_byte(p.control_byte()), Ok(p));
        }
        assert_eq!(Policy::None.control_byte(), 0);
    }

    #[test]
    fn other_control_bytes_are_refused() {
        // Plain, suite 1, broadcast key, compression.
        for sc in [0x00, 0x31, 0x70, 0xB0] {
            let err = Policy::from_control_byte(sc).unwrap_err();
            assert!(err.to_string().contains(&format!("0x{sc:02X}")), "{err}");
        }
    }
}
