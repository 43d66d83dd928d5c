//! What a client session proposes: [`ClientSettings`], referencing, authentication, ciphering.

use crate::dlms::acse::{Conformance, Mechanism};
use crate::dlms::security::{HlsMechanism, Key, Policy, SystemTitle};

/// How attributes are addressed: logical names (OBIS) or short names (16-bit base names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Referencing {
    /// Logical-name referencing (GET/SET/ACTION).
    #[default]
    Ln,
    /// Short-name referencing (Read/Write).
    Sn,
}

/// The authentication the client asks for.
#[derive(Clone, PartialEq, Eq, Default)]
pub enum Authentication {
    /// Lowest level: no authentication.
    #[default]
    None,
    /// Low level security: a password in the AARQ.
    Low(Vec<u8>),
    /// High level security (mechanisms 2–6): challenges and a four-pass exchange. GMAC uses
    /// the ciphering keys and has an empty secret.
    High {
        /// The HLS mechanism.
        mechanism: HlsMechanism,
        /// The shared secret (empty for GMAC).
        secret: Vec<u8>,
    },
}

impl Authentication {
    /// The secret bytes that must never appear in traces.
    pub fn secret(&self) -> Option<&[u8]> {
        match self {
            Authentication::None => None,
            Authentication::Low(s) => Some(s),
            Authentication::High { secret, .. } => (!secret.is_empty()).then_some(&secret[..]),
        }
    }

    pub(super) fn mechanism(&self) -> Mechanism {
        match self {
            Authentication::None => Mechanism::None,
            Authentication::Low(_) => Mechanism::Low,
            Authentication::High { mechanism, .. } => match mechanism {
                HlsMechanism::Manufacturer => Mechanism::High,
                HlsMechanism::Md5 => Mechanism::HighMd5,
                HlsMechanism::Sha1 => Mechanism::HighSha1,
                HlsMechanism::Gmac => Mechanism::HighGmac,
                HlsMechanism::Sha256 => Mechanism::HighSha256,
            },
        }
    }
}

impl std::fmt::Debug for Authentication {
    /// Never prints a password or secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Authentication::None => f.write_str("None"),
            Authentication::Low(_) => f.write_str("Low(********)"),
            Authentication::High { mechanism, .. } => write!(f, "High({mechanism:?}, ********)"),
        }
    }
}

/// Ciphering settings of a client (security suite 0).
#[derive(Debug, Clone)]
pub struct Ciphering {
    /// Authentication only, encryption only or both (`Policy::None` with GMAC: keys only for HLS).
    pub policy: Policy,
    /// Our system title.
    pub system_title: SystemTitle,
    /// Global unicast encryption key.
    pub block_key: Key,
    /// Authentication key.
    pub auth_key: Key,
    /// Dedicated key to propose in the AARQ.
    pub dedicated_key: Option<Key>,
    /// The meter's system title we expect, if known; another one is refused.
    pub server_system_title: Option<SystemTitle>,
    /// Invocation counter of the first APDU we protect.
    pub invocation_counter: u32,
    /// Lowest invocation counter accepted from the meter: one above the highest it used in
    /// earlier sessions with this key (0 when unknown). Lower ones replay an old session.
    pub meter_counter_floor: u32,
}

/// An association that exists without an AARQ: the meter was configured to accept this
/// client's APDUs (IEC 62056-5-3 "pre-established application association") with this
/// conformance and PDU size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreEstablished {
    /// The conformance the meter was configured with.
    pub conformance: Conformance,
    /// The largest APDU the meter accepts.
    pub max_pdu: u16,
}

/// What the client proposes when it associates.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    /// LN or SN referencing.
    pub referencing: Referencing,
    /// Authentication mechanism and secret.
    pub authentication: Authentication,
    /// Proposed conformance block.
    pub conformance: Conformance,
    /// Largest APDU we accept.
    pub max_receive_pdu: u16,
    /// Invoke-Id-And-Priority byte used for requests (0xC1: high priority, confirmed, id 1).
    pub invoke_id: u8,
    /// Ciphering, when the association is protected (or for HLS-GMAC's keys).
    pub ciphering: Option<Ciphering>,
    /// Our HLS challenge (CtoS), supplied by the caller because `dlms` has no randomness.
    pub challenge: Vec<u8>,
    /// Whether several attributes may go in one GET-with-list when the meter's conformance
    /// allows it. Off for a meter known to answer them malformed (see
    /// [`ReadOp::list_broken`](super::ReadOp::list_broken)); the caller keeps that per meter.
    pub with_list: bool,
    /// The largest information field of one link frame (HDLC: what the UA negotiated for our
    /// frames, LLC header included), when the link has such a limit: with-list requests are
    /// split so that each, ciphered, fits one frame and never needs segmentation.
    pub max_frame_info: Option<usize>,
    /// No AARQ: the association is pre-established in the meter with these parameters.
    pub pre_established: Option<PreEstablished>,
    /// Propose general-block-transfer: a meter that grants it may answer long GETs in GBT
    /// blocks, which are joined, acknowledged every window and asked for again when lost.
    pub gbt: bool,
    /// The GBT window we take (blocks the meter may stream before our acknowledgement), 1..=63.
    pub gbt_window: u8,
}

impl ClientSettings {
    /// Defaults for a referencing: the conformance a logger needs and a 64 KiB PDU.
    pub fn new(referencing: Referencing) -> Self {
        let conformance = match referencing {
            Referencing::Ln => {
                Conformance::GET
                    | Conformance::SET
                    | Conformance::ACTION
                    | Conformance::SELECTIVE_ACCESS
                    | Conformance::BLOCK_TRANSFER_WITH_GET_OR_READ
                    | Conformance::MULTIPLE_REFERENCES
                    | Conformance::ATTRIBUTE0_GET
                    | Conformance::EVENT_NOTIFICATION
                    | Conformance::DATA_NOTIFICATION
            }
            Referencing::Sn => {
                Conformance::READ
                    | Conformance::WRITE
                    | Conformance::UNCONFIRMED_WRITE
                    | Conformance::MULTIPLE_REFERENCES
                    | Conformance::PARAMETERIZED_ACCESS
                    | Conformance::INFORMATION_REPORT
                    | Conformance::BLOCK_TRANSFER_WITH_GET_OR_READ
            }
        };
        ClientSettings {
            referencing,
            authentication: Authentication::None,
            conformance,
            max_receive_pdu: 0xFFFF,
            invoke_id: 0xC1,
            ciphering: None,
            challenge: Vec::new(),
            with_list: true,
            max_frame_info: None,
            pre_established: None,
            gbt: false,
            gbt_window: 1,
        }
    }
}
