//! A meter: its addresses and association settings on a connection.

use serde::{Deserialize, Serialize};

use super::secret::{KeySecret, Secret, SecretSource};
use super::security::Security;

/// A meter reached through a connection.
#[derive(Debug, Clone, PartialEq)]
pub struct Meter {
    /// Unique name, referenced by requests.
    pub name: String,
    /// Name of its connection.
    pub connection: String,
    /// WRAPPER or HDLC framing.
    pub interface: InterfaceKind,
    /// Client address (0..=127 for HDLC).
    pub client: u16,
    /// Physical server address; from `serial_number` when that is set.
    pub physical: u16,
    /// Serial number, when the meter is addressed by it (physical = SN % 10000 + 1000).
    pub serial_number: Option<u64>,
    /// The COSEM logical device name (0.0.42.0.0.255) the meter reports, e.g.
    /// `DLG0000000000001`: its identity when it dials in to a listening connection.
    pub device_name: Option<String>,
    /// Logical server address (logical device).
    pub logical: u16,
    /// HDLC server address size in bytes: 1, 2 or 4.
    pub address_size: u8,
    /// Logical or short names.
    pub referencing: ReferencingKind,
    /// Authentication.
    pub auth: Auth,
    /// Ciphering: policy, keys and system titles.
    pub security: Security,
    /// Reply timeout per frame, 1..=600000 ms.
    pub timeout_ms: u64,
    /// Retries per frame, 0..=10.
    pub retries: u32,
    /// Disabled meters are skipped.
    pub enabled: bool,
    /// The HAN list layout its pushes follow (a built-in name such as `kaifa-no`, or a file):
    /// names and units for lists sent without OBIS codes, on a passive connection.
    pub han_preset: Option<String>,
    /// No AARQ: the meter accepts this client's APDUs without an association
    /// (`pre_established = true`), with this configuration.
    pub pre_established: Option<PreEstablished>,
    /// Release the association (RLRQ) when done; false leaves it open at the meter and only
    /// closes the link.
    pub release: bool,
    /// HDLC window we propose both ways, 1..=7 (the meter's UA decides; 1 by default).
    pub hdlc_window: u8,
    /// Propose general-block-transfer (`gbt = true`): long answers may come in GBT blocks.
    pub gbt: bool,
    /// The GBT window we take, 1..=63 (8 by default).
    pub gbt_window: u8,
}

/// A pre-established association as the meter was configured for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreEstablished {
    /// The conformance block (24 bits as the AARE carries them); `None`: what the client
    /// would propose for its referencing.
    pub conformance: Option<u32>,
    /// The largest APDU the meter accepts.
    pub max_pdu: u16,
}

impl PreEstablished {
    /// The PDU size when none is configured: the standard's common meter size.
    pub const DEFAULT_MAX_PDU: u16 = 1024;
}

impl Meter {
    /// A meter with the defaults: WRAPPER, client 16, server 1/1, 1-byte addresses, LN, no auth.
    pub fn new(name: impl Into<String>, connection: impl Into<String>) -> Self {
        Meter {
            name: name.into(),
            connection: connection.into(),
            interface: InterfaceKind::Wrapper,
            client: 16,
            physical: 1,
            serial_number: None,
            device_name: None,
            logical: 1,
            address_size: 1,
            referencing: ReferencingKind::Ln,
            auth: Auth::None,
            security: Security::default(),
            timeout_ms: 5000,
            retries: 2,
            enabled: true,
            han_preset: None,
            pre_established: None,
            release: true,
            hdlc_window: 1,
            gbt: false,
            gbt_window: 8,
        }
    }

    /// The physical address of serial-number addressing: SN % 10000 + 1000.
    pub fn physical_from_serial(serial_number: u64) -> u16 {
        // < 11000, so it always fits.
        (serial_number % 10000 + 1000) as u16
    }

    /// Whether a password, HLS secret or key is written in the config itself (not taken from
    /// the environment), so the file must not be readable by others.
    pub fn holds_inline_secret(&self) -> bool {
        let s = &self.security;
        let keys = [&s.block_key, &s.auth_key, &s.dedicated_key];
        let by_title = s
            .keys
            .iter()
            .flat_map(|k| [Some(&k.block_key), k.auth_key.as_ref()]);
        self.auth.secret().map(Secret::source) == Some(&SecretSource::Inline)
            || keys
                .iter()
                .map(|k| k.as_ref())
                .chain(by_title)
                .any(|k| k.map(KeySecret::source) == Some(&SecretSource::Inline))
    }
}

/// Framing of the DLMS APDUs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InterfaceKind {
    /// IEC 62056-47 WRAPPER (TCP).
    Wrapper,
    /// HDLC (serial, or HDLC over TCP).
    Hdlc,
}

/// Object referencing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReferencingKind {
    /// Logical names (OBIS).
    Ln,
    /// Short names (base addresses).
    Sn,
}

/// Authentication of the association (the AARQ's mechanism name).
#[derive(Debug, Clone, PartialEq)]
pub enum Auth {
    /// Lowest level: no authentication.
    None,
    /// Low level (LLS): a password.
    Low(Secret),
    /// HLS mechanism 2: manufacturer-specific (AES-128-ECB of the challenge with the secret).
    High(Secret),
    /// HLS mechanism 3: MD5 of challenge and secret.
    Md5(Secret),
    /// HLS mechanism 4: SHA-1 of challenge and secret.
    Sha1(Secret),
    /// HLS mechanism 6: SHA-256 over the secret, both system titles and both challenges.
    Sha256(Secret),
    /// HLS mechanism 5: GMAC with the meter's security keys (`Meter::security`).
    Gmac,
}

impl Auth {
    /// The `level` names of the config, weakest first.
    pub const LEVELS: [&'static str; 7] = ["none", "low", "high", "md5", "sha1", "sha256", "gmac"];

    /// The level named `level` (one of [`Auth::LEVELS`]), with an empty secret if it takes one.
    pub fn named(level: &str) -> Option<Auth> {
        let empty = Secret::new("");
        Some(match level {
            "none" => Auth::None,
            "low" => Auth::Low(empty),
            "high" => Auth::High(empty),
            "md5" => Auth::Md5(empty),
            "sha1" => Auth::Sha1(empty),
            "sha256" => Auth::Sha256(empty),
            "gmac" => Auth::Gmac,
            _ => return None,
        })
    }

    /// The level's name in the config.
    pub fn level(&self) -> &'static str {
        match self {
            Auth::None => "none",
            Auth::Low(_) => "low",
            Auth::High(_) => "high",
            Auth::Md5(_) => "md5",
            Auth::Sha1(_) => "sha1",
            Auth::Sha256(_) => "sha256",
            Auth::Gmac => "gmac",
        }
    }

    /// The password (low) or HLS secret (high, md5, sha1, sha256).
    pub fn secret(&self) -> Option<&Secret> {
        match self {
            Auth::Low(s) | Auth::High(s) | Auth::Md5(s) | Auth::Sha1(s) | Auth::Sha256(s) => {
                Some(s)
            }
            Auth::None | Auth::Gmac => None,
        }
    }

    /// The config key of the level's secret: `password` (low) or `secret` (high, md5, sha1, sha256).
    pub fn secret_key(&self) -> Option<&'static str> {
        match self {
            Auth::Low(_) => Some("password"),
            Auth::None | Auth::Gmac => None,
            _ => Some("secret"),
        }
    }

    /// The same level with `secret`; levels without one are returned as they are.
    pub fn with_secret(&self, secret: Secret) -> Auth {
        match self {
            Auth::Low(_) => Auth::Low(secret),
            Auth::High(_) => Auth::High(secret),
            Auth::Md5(_) => Auth::Md5(secret),
            Auth::Sha1(_) => Auth::Sha1(secret),
            Auth::Sha256(_) => Auth::Sha256(secret),
            Auth::None | Auth::Gmac => self.clone(),
        }
    }
}
