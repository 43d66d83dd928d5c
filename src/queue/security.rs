//! Ciphering of a meter's association: DLMS security suite 0 (AES-GCM-128).

use super::secret::{parse_hex, KeySecret};
use crate::dlms::obis::Obis;

/// Our (the client's) system title when the config gives none: `DLG` (DLMS logger; the first
/// three bytes are a manufacturer id in the FLAG scheme) and serial number 1, as the command
/// line's `--system-title`. Meters keep an invocation counter per client title and key, so
/// loggers sharing keys should each set their own.
pub const DEFAULT_SYSTEM_TITLE: [u8; 8] = *b"DLG\0\0\0\0\x01";

/// The security settings of a meter.
#[derive(Debug, Clone, PartialEq)]
pub struct Security {
    /// What is ciphered.
    pub policy: Policy,
    /// Our (the client's) system title.
    pub system_title: [u8; 8],
    /// Global unicast encryption key (block cipher key).
    pub block_key: Option<KeySecret>,
    /// Authentication key.
    pub auth_key: Option<KeySecret>,
    /// Dedicated key, proposed in the AARQ for this association.
    pub dedicated_key: Option<KeySecret>,
    /// Where to read the meter's invocation counter (over the public client) before associating,
    /// e.g. `0.0.43.1.0.255`.
    pub ic_obis: Option<Obis>,
    /// The meter's system title when it is known: a meter answering with another is refused.
    pub server_system_title: Option<[u8; 8]>,
    /// Keys of other senders a passive link hears, by system title (a data concentrator, or
    /// a bus with several meters): `keys = [{ system_title = "…", block_key = …, auth_key = … }]`.
    pub keys: Vec<TitleKey>,
}

/// The keys of one sender, named by the system title its pushes carry.
#[derive(Debug, Clone, PartialEq)]
pub struct TitleKey {
    /// The sender's system title.
    pub system_title: [u8; 8],
    /// Its global unicast (block) key.
    pub block_key: KeySecret,
    /// Its authentication key (pushes are then verified).
    pub auth_key: Option<KeySecret>,
}

impl Default for Security {
    /// No ciphering, the default system title, no keys.
    fn default() -> Self {
        Security {
            policy: Policy::None,
            system_title: DEFAULT_SYSTEM_TITLE,
            block_key: None,
            auth_key: None,
            dedicated_key: None,
            ic_obis: None,
            server_system_title: None,
            keys: Vec::new(),
        }
    }
}

/// The security policy: which protection the APDUs get (the protocol's own type; the config
/// writes its name).
pub use crate::dlms::security::Policy;

/// A system title from 16 hex digits.
pub fn parse_system_title(text: &str) -> Result<[u8; 8], super::ValueError> {
    parse_hex(text, "an 8-byte system title")
}
