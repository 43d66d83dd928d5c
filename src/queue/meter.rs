//! A meter: its addresses and association settings on a connection.

use serde::{Deserialize, Serialize};

use super::secret::Secret;

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
    /// Logical server address (logical device).
    pub logical: u16,
    /// HDLC server address size in bytes: 1, 2 or 4.
    pub address_size: u8,
    /// Logical or short names.
    pub referencing: ReferencingKind,
    /// Authentication.
    pub auth: Auth,
    /// Reply timeout per frame, 1..=600000 ms.
    pub timeout_ms: u64,
    /// Retries per frame, 0..=10.
    pub retries: u32,
    /// Disabled meters are skipped.
    pub enabled: bool,
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
            logical: 1,
            address_size: 1,
            referencing: ReferencingKind::Ln,
            auth: Auth::None,
            timeout_ms: 5000,
            retries: 2,
            enabled: true,
        }
    }

    /// The physical address of serial-number addressing: SN % 10000 + 1000.
    pub fn physical_from_serial(serial_number: u64) -> u16 {
        // < 11000, so it always fits.
        (serial_number % 10000 + 1000) as u16
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

/// Authentication of the association.
#[derive(Debug, Clone, PartialEq)]
pub enum Auth {
    /// Lowest level: no authentication.
    None,
    /// Low level (LLS): a password.
    Low(Secret),
}
