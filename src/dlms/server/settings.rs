//! How the server answers associations: [`ServerSettings`], [`ServerCiphering`], the public client.

use crate::dlms::acse::Conformance;
use crate::dlms::client::{Authentication, Referencing};
use crate::dlms::security::{Key, Policy, SystemTitle};

/// How the server answers associations.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    /// LN or SN.
    pub referencing: Referencing,
    /// What the server supports (intersected with the client's proposal).
    pub conformance: Conformance,
    /// Largest APDU the server accepts and sends.
    pub max_pdu: u16,
    /// Authentication required from clients (the public client, SAP 16, may always
    /// associate without authentication or ciphering, as meters allow for reading counters).
    pub authentication: Authentication,
    /// Ciphering required from clients other than the public one.
    pub ciphering: Option<ServerCiphering>,
    /// The client SAP whose association is pre-established: its requests are served without
    /// an AARQ, with this server's conformance and PDU size and no authentication (it reads
    /// only, like any unauthenticated association). It is never ciphered.
    pub pre_established: Option<u16>,
    /// General-block-transfer window, when the server answers long GETs in GBT blocks (to a
    /// client whose association granted it, unciphered); `None`: GET data blocks only.
    pub gbt_window: Option<u8>,
}

/// The meter's side of ciphering.
#[derive(Debug, Clone)]
pub struct ServerCiphering {
    /// Policy required from clients.
    pub policy: Policy,
    /// The meter's system title.
    pub system_title: SystemTitle,
    /// Global unicast encryption key.
    pub block_key: Key,
    /// Authentication key.
    pub auth_key: Key,
}

/// The public client's SAP.
pub const PUBLIC_CLIENT: u16 = 16;

impl ServerSettings {
    /// A typical meter: GET/SET/ACTION (LN) or READ/WRITE/UNCONFIRMED-WRITE (SN), block
    /// transfer with GET, SET and ACTION, with-list and selective access, PDU 1024.
    pub fn new(referencing: Referencing) -> Self {
        let conformance = match referencing {
            Referencing::Ln => {
                Conformance::GET
                    | Conformance::SET
                    | Conformance::ACTION
                    | Conformance::SELECTIVE_ACCESS
                    | Conformance::BLOCK_TRANSFER_WITH_GET_OR_READ
                    | Conformance::BLOCK_TRANSFER_WITH_SET_OR_WRITE
                    | Conformance::BLOCK_TRANSFER_WITH_ACTION
                    | Conformance::MULTIPLE_REFERENCES
            }
            Referencing::Sn => {
                Conformance::READ
                    | Conformance::WRITE
                    | Conformance::UNCONFIRMED_WRITE
                    | Conformance::MULTIPLE_REFERENCES
                    | Conformance::PARAMETERIZED_ACCESS
                    | Conformance::BLOCK_TRANSFER_WITH_GET_OR_READ
            }
        };
        ServerSettings {
            referencing,
            conformance,
            max_pdu: 1024,
            authentication: Authentication::None,
            ciphering: None,
            pre_established: None,
            gbt_window: None,
        }
    }
}
