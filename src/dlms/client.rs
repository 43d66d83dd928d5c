//! The client session: turns "associate", "read these attributes" and "release" into APDUs
//! and the meter's answers back into values, sans-IO.
//!
//! The driver (the engine) sends what [`ClientSession`] and [`ReadOp`] hand it and feeds back
//! every response APDU; nothing here does IO or knows about the link below.

use super::acse::{
    Aare, Aarq, ApplicationContext, AssociationResult, Conformance, InitiateRequest,
    InitiateResponse, Mechanism, Rlrq,
};
use super::axdr::Reader;
use super::data::Data;
use super::obis::Obis;
use super::protection::Protection;
use super::security::{
    hls_response, hls_verify, GmacParams, HlsMechanism, Key, Policy, SecurityError, Sha256Params,
    SystemTitle,
};
use super::unit::ScalerUnit;
use super::xdlms::{
    ActionRequest, ActionResponse, Apdu, ApduError, AttributeDescriptor, ConfirmedServiceError,
    DataAccessResult, ExceptionResponse, GetDataResult, GetRequest, GetResponse, MethodDescriptor,
    ReadRequest, ReadResponse, ReadResult, SelectiveAccess, VariableAccess,
};
use std::collections::HashMap;
use thiserror::Error;

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

    fn mechanism(&self) -> Mechanism {
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
    /// [`ReadOp::list_broken`]); the caller keeps that per meter.
    pub with_list: bool,
    /// The largest information field of one link frame (HDLC: what the UA negotiated for our
    /// frames, LLC header included), when the link has such a limit: with-list requests are
    /// split so that each, ciphered, fits one frame and never needs segmentation.
    pub max_frame_info: Option<usize>,
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
        }
    }
}

/// Bytes of one request APDU besides its attribute descriptors: GET-with-list tag, choice,
/// invoke-id and a one-byte count (SN Read: tag and count).
const LIST_HEADER: usize = 4;
/// Bytes one attribute descriptor takes in a GET-with-list: class, OBIS, attribute and the
/// access-selection flag.
const LIST_ITEM: usize = 10;
/// Bytes one variable name takes in an SN ReadRequest: choice and name.
const SN_ITEM: usize = 3;
/// The LLC header (E6 E6 00) that the first HDLC frame of an APDU carries.
const LLC: usize = 3;
/// What ciphering adds to an APDU, at most: tag, a length of up to three bytes, security
/// control, invocation counter and the 12-byte tag; general-glo-ciphering also the system
/// title (with its length).
const CIPHER_OVERHEAD: usize = 1 + 3 + 1 + 4 + 12 + 9;

/// What the meter granted in its AARE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Association {
    /// Negotiated conformance.
    pub conformance: Conformance,
    /// Largest APDU the meter accepts.
    pub max_pdu: u16,
    /// VAA name (0x0007 for LN, 0xFA00 for SN).
    pub vaa_name: u16,
    /// The meter's system title, when it sent one.
    pub server_system_title: Option<Vec<u8>>,
}

/// Why an association or a request failed as a whole.
#[derive(Debug, Error)]
pub enum SessionError {
    /// The meter refused the association.
    #[error("the meter rejected the association ({result}): {diagnostic}")]
    Rejected {
        /// "rejected permanently" or "rejected transiently".
        result: &'static str,
        /// The meter's diagnostic, in words.
        diagnostic: String,
    },
    /// The meter refused the xDLMS InitiateRequest.
    #[error("the meter refused the xDLMS initiate request: {0}")]
    Initiate(ConfirmedServiceError),
    /// The meter answered with an exception.
    #[error("{0}")]
    Exception(ExceptionResponse),
    /// The meter answered something that does not fit the request.
    #[error("unexpected answer from the meter: expected {expected}, got {got}")]
    Unexpected {
        /// What we waited for.
        expected: &'static str,
        /// What came.
        got: String,
    },
    /// A response APDU could not be decoded.
    #[error("cannot decode the meter's answer: {0}")]
    Decode(#[from] ApduError),
    /// A request was made before the association.
    #[error("not associated with the meter")]
    NotAssociated,
    /// The meter's answer to the HLS challenge is wrong.
    #[error("meter failed authentication: {0}")]
    MeterFailedAuthentication(String),
    /// Ciphering or deciphering failed.
    #[error("{0}")]
    Security(#[from] SecurityError),
    /// The settings cannot work (e.g. GMAC without keys).
    #[error("{0}")]
    Settings(String),
}

/// Why one attribute could not be read (the other items of the request are unaffected).
#[derive(Debug, Clone, Error, PartialEq)]
pub enum ReadError {
    /// The meter refused this attribute.
    #[error("the meter answered {0}")]
    Access(DataAccessResult),
    /// The meter rejected the request that carried this attribute.
    #[error("{0}")]
    Exception(String),
    /// The value the meter sent cannot be decoded.
    #[error("cannot decode the value: {0}")]
    Decode(String),
    /// SN referencing: the object is not in the meter's object list.
    #[error("the object {0} is not in the meter's short-name object list")]
    UnknownShortName(Obis),
    /// The block transfer went wrong.
    #[error("block transfer failed: {0}")]
    Block(String),
}

/// One attribute to read.
#[derive(Debug, Clone, PartialEq)]
pub struct AttributeRef {
    /// Interface class.
    pub class_id: u16,
    /// Logical name.
    pub obis: Obis,
    /// Attribute index.
    pub attribute: i8,
    /// Selective access (profile buffers).
    pub access: Option<SelectiveAccess>,
}

impl AttributeRef {
    /// An attribute without selective access.
    pub fn new(class_id: u16, obis: Obis, attribute: i8) -> Self {
        AttributeRef {
            class_id,
            obis,
            attribute,
            access: None,
        }
    }

    fn descriptor(&self) -> AttributeDescriptor {
        AttributeDescriptor {
            class_id: self.class_id,
            instance: self.obis,
            attribute: self.attribute,
        }
    }
}

/// One entry of a meter's object list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectListEntry {
    /// Interface class.
    pub class_id: u16,
    /// Class version.
    pub version: u8,
    /// Logical name.
    pub obis: Obis,
    /// SN base name (SN referencing only).
    pub short_name: Option<u16>,
}

/// Parses attribute 2 of the association object (LN class 15 or SN class 12).
pub fn parse_object_list(data: &Data) -> Result<Vec<ObjectListEntry>, ReadError> {
    let bad = |why: &str| ReadError::Decode(format!("object list: {why}"));
    let Data::Array(items) = data else {
        return Err(bad("not an array"));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let Data::Structure(f) = item else {
                return Err(bad(&format!("element {i} is not a structure")));
            };
            // SN: {base_name long, class long-unsigned, version unsigned, LN};
            // LN: {class long-unsigned, version unsigned, LN, access_rights}.
            let (short_name, rest) = match f.first() {
                Some(Data::Long(sn)) => (Some(*sn as u16), &f[1..]),
                _ => (None, &f[..]),
            };
            let class_id = match rest.first() {
                Some(Data::LongUnsigned(c)) => *c,
                _ => return Err(bad(&format!("element {i} has no class id"))),
            };
            let version = match rest.get(1) {
                Some(Data::Unsigned(v)) => *v,
                _ => return Err(bad(&format!("element {i} has no version"))),
            };
            let obis = rest
                .get(2)
                .and_then(Data::as_obis)
                .ok_or_else(|| bad(&format!("element {i} has no logical name")))?;
            Ok(ObjectListEntry {
                class_id,
                version,
                obis,
                short_name,
            })
        })
        .collect()
}

/// Variable name of attribute `attr` of an SN object at `base`.
pub fn sn_attribute_name(base: u16, attr: i8) -> u16 {
    base.wrapping_add(((attr.max(1) as u16) - 1) * 8)
}

/// A client association with one meter.
#[derive(Debug)]
pub struct ClientSession {
    settings: ClientSettings,
    association: Option<Association>,
    short_names: HashMap<Obis, u16>,
    protection: Option<Protection>,
    /// The meter's challenge (StoC) while HLS pass 3 is due.
    server_challenge: Option<Vec<u8>>,
    /// Counters given before the AARQ made the ciphering state.
    window: Option<(u32, u32)>,
}

impl ClientSession {
    /// A session that has not associated yet.
    pub fn new(settings: ClientSettings) -> Self {
        ClientSession {
            settings,
            association: None,
            short_names: HashMap::new(),
            protection: None,
            server_challenge: None,
            window: None,
        }
    }

    /// The invocation counter the next protected APDU will carry (to persist it).
    pub fn invocation_counter(&self) -> Option<u32> {
        self.protection.as_ref().map(Protection::next_ic)
    }

    /// The meter's highest invocation counter accepted in this association (to persist it).
    pub fn meter_invocation_counter(&self) -> Option<u32> {
        self.protection.as_ref().and_then(Protection::peer_last)
    }

    /// Lets the next protected APDUs use the counters `[first, end)` only (reserved by the caller).
    pub fn set_counter_window(&mut self, first: u32, end: u32) {
        match self.protection.as_mut() {
            Some(p) => p.set_counter_window(first, end),
            None => self.window = Some((first, end)),
        }
    }

    /// The meter's system title, once the AARE named it (or as configured).
    pub fn meter_system_title(&self) -> Option<SystemTitle> {
        self.protection.as_ref().and_then(|p| p.peer_title)
    }

    /// Refuses meter counters below `floor` (learnt once the AARE named the meter); fails
    /// when the association already accepted a lower one: a replayed session.
    pub fn apply_meter_floor(&mut self, floor: u32) -> Result<(), SessionError> {
        match self.protection.as_mut() {
            Some(p) => Ok(p.raise_peer_floor(floor)?),
            None => Ok(()),
        }
    }

    /// True when requests and answers are ciphered.
    pub fn is_ciphered(&self) -> bool {
        self.protection
            .as_ref()
            .is_some_and(|p| p.policy != Policy::None)
    }

    /// Protects a request APDU for sending (unchanged when the association is not ciphered).
    pub fn protect(&mut self, plain: &[u8]) -> Result<Vec<u8>, SessionError> {
        match self.protection.as_mut() {
            Some(p) if p.policy != Policy::None => Ok(p.protect(plain)?),
            _ => Ok(plain.to_vec()),
        }
    }

    /// Checks and deciphers an answer APDU (unchanged when the association is not ciphered).
    pub fn unprotect(&mut self, apdu: &[u8]) -> Result<Vec<u8>, SessionError> {
        match self.protection.as_mut() {
            Some(p) if p.policy != Policy::None => Ok(p.unprotect(apdu)?),
            _ => Ok(apdu.to_vec()),
        }
    }

    /// HLS pass 3: the ACTION that answers the meter's challenge, when one is due (plain; send
    /// it through [`ClientSession::protect`]).
    pub fn hls_request(&mut self) -> Result<Option<Vec<u8>>, SessionError> {
        let Some(stoc) = self.server_challenge.clone() else {
            return Ok(None);
        };
        let Authentication::High { mechanism, secret } = self.settings.authentication.clone()
        else {
            return Ok(None);
        };
        let f = self.hls_function(mechanism, &secret, &stoc, true)?;
        let (class_id, method) = match self.settings.referencing {
            Referencing::Ln => (15, 1),
            Referencing::Sn => {
                return Err(SessionError::Settings(
                    "high-level authentication with short-name referencing is not supported".into(),
                ))
            }
        };
        Ok(Some(
            ActionRequest::Normal {
                invoke_id: self.settings.invoke_id,
                method: MethodDescriptor {
                    class_id,
                    instance: Obis::new(0, 0, 40, 0, 0, 255),
                    method,
                },
                parameters: Some(Data::OctetString(f)),
            }
            .encode(),
        ))
    }

    /// f(challenge) of our side (pass 3) or the expected f(CtoS) check parameters.
    fn hls_function(
        &mut self,
        mechanism: HlsMechanism,
        secret: &[u8],
        challenge: &[u8],
        ours: bool,
    ) -> Result<Vec<u8>, SessionError> {
        let p = self.protection.as_mut();
        match mechanism {
            HlsMechanism::Gmac => {
                let p = p.ok_or_else(|| {
                    SessionError::Settings(
                        "HLS-GMAC needs the block and authentication keys".into(),
                    )
                })?;
                // GMAC uses (and consumes) our invocation counter.
                let ic = p.take_ic()?;
                Ok(hls_response(
                    mechanism,
                    secret,
                    challenge,
                    Some(GmacParams {
                        system_title: &p.own_title,
                        invocation_counter: ic,
                        block_key: &p.block_key,
                        auth_key: &p.auth_key,
                    }),
                    None,
                )?)
            }
            HlsMechanism::Sha256 => {
                let (own, other) = self.titles()?;
                let _ = ours;
                Ok(hls_response(
                    mechanism,
                    secret,
                    challenge,
                    None,
                    Some(Sha256Params {
                        own_title: &own,
                        other_title: &other,
                        own_challenge: &self.settings.challenge,
                    }),
                )?)
            }
            _ => Ok(hls_response(mechanism, secret, challenge, None, None)?),
        }
    }

    fn titles(&self) -> Result<(SystemTitle, SystemTitle), SessionError> {
        let p = self.protection.as_ref().ok_or_else(|| {
            SessionError::Settings(
                "HLS-SHA256 needs system titles (give the ciphering settings)".into(),
            )
        })?;
        let other = p.peer_title.ok_or_else(|| {
            SessionError::Settings("the meter sent no system title for HLS-SHA256".into())
        })?;
        Ok((p.own_title, other))
    }

    /// HLS pass 4: checks the meter's answer to our challenge.
    pub fn handle_hls_response(&mut self, apdu: &[u8]) -> Result<(), SessionError> {
        let stoc = self.server_challenge.take().unwrap_or_default();
        let Authentication::High { mechanism, secret } = self.settings.authentication.clone()
        else {
            return Ok(());
        };
        let reply = match Apdu::decode(apdu)? {
            Apdu::ActionResponse(ActionResponse::Normal {
                result,
                return_parameters,
                ..
            }) => {
                if result != DataAccessResult::Success {
                    self.association = None;
                    return Err(SessionError::MeterFailedAuthentication(format!(
                        "the meter refused our answer to its challenge ({result})"
                    )));
                }
                match return_parameters {
                    Some(GetDataResult::Data(Data::OctetString(b))) => b,
                    _ => {
                        self.association = None;
                        return Err(SessionError::MeterFailedAuthentication(
                            "the meter did not answer our challenge".into(),
                        ));
                    }
                }
            }
            Apdu::ExceptionResponse(e) => return Err(SessionError::Exception(e)),
            other => {
                return Err(SessionError::Unexpected {
                    expected: "the ACTION response of HLS pass 4",
                    got: other.name().to_string(),
                })
            }
        };
        let gmac_peer = self.protection.as_ref().and_then(|p| {
            p.peer_title
                .map(|t| (t, p.block_key.clone(), p.auth_key.clone()))
        });
        let sha = match mechanism {
            HlsMechanism::Sha256 => Some(self.titles()?),
            _ => None,
        };
        let verified = hls_verify(
            mechanism,
            &secret,
            &self.settings.challenge,
            &reply,
            gmac_peer.as_ref().map(|(t, bk, ak)| GmacParams {
                system_title: t,
                invocation_counter: 0,
                block_key: bk,
                auth_key: ak,
            }),
            sha.as_ref().map(|(own, other)| Sha256Params {
                own_title: other,
                other_title: own,
                own_challenge: &stoc,
            }),
        );
        if let Err(e) = verified {
            self.association = None;
            return Err(SessionError::MeterFailedAuthentication(e.to_string()));
        }
        Ok(())
    }

    /// The settings this session proposes.
    pub fn settings(&self) -> &ClientSettings {
        &self.settings
    }

    /// What the meter granted, once associated.
    pub fn association(&self) -> Option<&Association> {
        self.association.as_ref()
    }

    /// The AARQ that opens the association (it uses an invocation counter when ciphered).
    pub fn aarq(&mut self) -> Result<Vec<u8>, SessionError> {
        let s = self.settings.clone();
        self.protection = s.ciphering.as_ref().map(|c| {
            let mut p = Protection::new(
                c.policy,
                c.system_title,
                c.block_key.clone(),
                c.auth_key.clone(),
                c.invocation_counter,
            );
            p.dedicated_key = c.dedicated_key.clone();
            p.peer_title = c.server_system_title;
            p.set_peer_floor(c.meter_counter_floor);
            if let Some((first, end)) = self.window.take() {
                p.set_counter_window(first, end);
            }
            p
        });
        let ciphered = self.is_ciphered();
        let context = match (s.referencing, ciphered) {
            (Referencing::Ln, false) => ApplicationContext::LogicalNames,
            (Referencing::Sn, false) => ApplicationContext::ShortNames,
            (Referencing::Ln, true) => ApplicationContext::LogicalNamesCiphered,
            (Referencing::Sn, true) => ApplicationContext::ShortNamesCiphered,
        };
        let mechanism = s.authentication.mechanism();
        let value = match &s.authentication {
            Authentication::None => None,
            Authentication::Low(pw) => Some(pw.clone()),
            Authentication::High { .. } => {
                if s.challenge.len() < 8 {
                    return Err(SessionError::Settings(
                        "HLS needs a challenge of 8 to 64 bytes".into(),
                    ));
                }
                Some(s.challenge.clone())
            }
        };
        if matches!(mechanism, Mechanism::HighGmac) && self.protection.is_none() {
            return Err(SessionError::Settings(
                "HLS-GMAC needs the block key, the authentication key and our system title".into(),
            ));
        }
        let title = self.protection.as_ref().map(|p| p.own_title);
        let needs_title =
            ciphered || matches!(mechanism, Mechanism::HighGmac | Mechanism::HighSha256);
        let initiate = InitiateRequest {
            dedicated_key: s
                .ciphering
                .as_ref()
                .and_then(|c| c.dedicated_key.as_ref())
                .map(|k| k.0.to_vec()),
            response_allowed: true,
            proposed_quality_of_service: None,
            proposed_dlms_version: 6,
            proposed_conformance: s.conformance,
            client_max_receive_pdu_size: s.max_receive_pdu,
        }
        .encode();
        let user_information = match self.protection.as_mut() {
            Some(p) if ciphered => p.protect_global(&initiate)?,
            _ => initiate,
        };
        Ok(Aarq {
            context,
            calling_ap_title: title.filter(|_| needs_title).map(|t| t.0.to_vec()),
            mechanism,
            calling_authentication_value: value,
            user_information: Some(user_information),
        }
        .encode())
    }

    /// Handles the AARE; on success the session is associated (HLS may still be due: see
    /// [`ClientSession::hls_request`]).
    pub fn handle_aare(&mut self, apdu: &[u8]) -> Result<&Association, SessionError> {
        let aare = match Apdu::decode(apdu)? {
            Apdu::Aare(a) => a,
            Apdu::ExceptionResponse(e) => return Err(SessionError::Exception(e)),
            other => {
                return Err(SessionError::Unexpected {
                    expected: "AARE",
                    got: other.name().to_string(),
                })
            }
        };
        if let Some(t) = aare.responding_ap_title.as_deref() {
            if let (Ok(title), Some(p)) = (<[u8; 8]>::try_from(t), self.protection.as_mut()) {
                let title = SystemTitle(title);
                if let Some(want) = p.peer_title.filter(|w| *w != title) {
                    return Err(SessionError::Settings(format!(
                        "the meter's system title {title} is not the configured {want}"
                    )));
                }
                p.peer_title = Some(title);
            }
        }
        let assoc = self.accept_aare(&aare)?;
        if let Some(p) = self.protection.as_mut() {
            p.restart_guard();
        }
        if matches!(self.settings.authentication, Authentication::High { .. }) {
            let stoc = aare
                .responding_authentication_value
                .clone()
                .ok_or_else(|| {
                    SessionError::MeterFailedAuthentication(
                        "the meter sent no challenge for high-level authentication".into(),
                    )
                })?;
            self.server_challenge = Some(stoc);
        }
        Ok(self.association.insert(assoc))
    }

    fn accept_aare(&mut self, aare: &Aare) -> Result<Association, SessionError> {
        let mut was_ciphered = false;
        let plain_user = match (aare.user_information.as_deref(), self.protection.as_mut()) {
            (Some(u), Some(p)) if u.first().is_some_and(|t| (0x21..=0x2E).contains(t)) => {
                was_ciphered = true;
                Some(p.unprotect(u)?)
            }
            (u, _) => u.map(<[u8]>::to_vec),
        };
        let user = plain_user.as_deref();
        if aare.result != AssociationResult::Accepted {
            // A refused InitiateRequest says more than the ACSE diagnostic.
            if let Some(Ok(Apdu::ConfirmedServiceError(e))) = user.map(Apdu::decode) {
                return Err(SessionError::Initiate(e));
            }
            let mut diagnostic = aare.diagnostic.describe();
            if self.is_ciphered()
                || matches!(self.settings.authentication, Authentication::High { .. })
            {
                // Meters rarely say why they refuse a ciphered or HLS association.
                diagnostic.push_str(" (check the keys, system titles, secret and client address)");
            }
            return Err(SessionError::Rejected {
                result: match aare.result {
                    AssociationResult::RejectedTransient => "rejected transiently",
                    _ => "rejected permanently",
                },
                diagnostic,
            });
        }
        if self.is_ciphered() && !was_ciphered {
            // Accepting a plain InitiateResponse would let anyone without the keys pose as the
            // meter for the association (a downgrade); its data answers would still be refused,
            // but the association itself must fail here, with a reason.
            return Err(SessionError::MeterFailedAuthentication(
                "it answered the ciphered association with a plain InitiateResponse \
                 (it does not hold the keys, or ciphering is off on it)"
                    .into(),
            ));
        }
        let Some(user) = user else {
            return Err(SessionError::Unexpected {
                expected: "an InitiateResponse in the AARE",
                got: "an AARE without user-information".into(),
            });
        };
        let ir = match Apdu::decode(user)? {
            Apdu::InitiateResponse(ir) => ir,
            Apdu::ConfirmedServiceError(e) => return Err(SessionError::Initiate(e)),
            other => {
                return Err(SessionError::Unexpected {
                    expected: "an InitiateResponse in the AARE",
                    got: other.name().to_string(),
                })
            }
        };
        let InitiateResponse {
            negotiated_conformance,
            server_max_receive_pdu_size,
            vaa_name,
            ..
        } = ir;
        Ok(Association {
            conformance: negotiated_conformance,
            max_pdu: server_max_receive_pdu_size,
            vaa_name,
            server_system_title: aare.responding_ap_title.clone(),
        })
    }

    /// The RLRQ that releases the association.
    pub fn rlrq(&self) -> Vec<u8> {
        Rlrq {
            reason: Some(0),
            user_information: None,
        }
        .encode()
    }

    /// Handles the RLRE; the session is no longer associated afterwards.
    pub fn handle_rlre(&mut self, apdu: &[u8]) -> Result<(), SessionError> {
        self.association = None;
        match Apdu::decode(apdu)? {
            Apdu::Rlre(_) => Ok(()),
            other => Err(SessionError::Unexpected {
                expected: "RLRE",
                got: other.name().to_string(),
            }),
        }
    }

    /// Forgets the association (the link dropped).
    pub fn reset(&mut self) {
        self.association = None;
    }

    /// Stops using GET-with-list for this association (a meter that answers them broken).
    pub fn disable_with_list(&mut self) {
        self.settings.with_list = false;
    }

    /// Sets the largest information field of one link frame ([`ClientSettings::max_frame_info`]).
    pub fn set_max_frame_info(&mut self, bytes: Option<usize>) {
        self.settings.max_frame_info = bytes;
    }

    /// How many items fit one list request: the meter's PDU size (with a margin: 12 bytes
    /// an item after 16 for the header, as before), and one link frame when the link has a
    /// frame limit; both less ciphering's overhead when requests are ciphered. At least one,
    /// at most 32.
    fn per_request(&self, max_pdu: u16, item: usize) -> usize {
        let ciphered = self
            .settings
            .ciphering
            .as_ref()
            .is_some_and(|c| c.policy != Policy::None);
        let cipher = if ciphered { CIPHER_OVERHEAD } else { 0 };
        let mut per = usize::from(max_pdu).saturating_sub(16 + cipher) / 12;
        if let Some(frame) = self.settings.max_frame_info {
            let room = frame.saturating_sub(LLC + cipher + LIST_HEADER);
            per = per.min(room / item);
        }
        per.clamp(1, 32)
    }

    /// SN referencing: learns the base names from the object list.
    pub fn set_short_names(&mut self, objects: &[ObjectListEntry]) {
        self.short_names = objects
            .iter()
            .filter_map(|o| o.short_name.map(|sn| (o.obis, sn)))
            .collect();
    }

    /// True when SN base names are known (or not needed).
    pub fn has_short_names(&self) -> bool {
        self.settings.referencing == Referencing::Ln || !self.short_names.is_empty()
    }

    /// The attribute that holds the object list of the current association.
    pub fn object_list_attribute(&self) -> AttributeRef {
        match self.settings.referencing {
            Referencing::Ln => AttributeRef::new(15, Obis::new(0, 0, 40, 0, 0, 255), 2),
            Referencing::Sn => AttributeRef::new(12, Obis::new(0, 0, 40, 0, 0, 255), 2),
        }
    }

    /// Starts reading attributes; drive the returned operation to completion.
    pub fn read(&self, items: &[AttributeRef]) -> Result<ReadOp, SessionError> {
        let assoc = self
            .association
            .as_ref()
            .ok_or(SessionError::NotAssociated)?;
        let multi =
            assoc.conformance.contains(Conformance::MULTIPLE_REFERENCES) && self.settings.with_list;
        let mut results: Vec<Option<Result<Data, ReadError>>> = vec![None; items.len()];
        let mut chunks = Vec::new();
        match self.settings.referencing {
            Referencing::Ln => {
                // Large objects go alone: meters often cannot answer a with-list whose result
                // needs block transfer (the Gurux meter's blocked with-list answer is malformed).
                let (alone, listed): (Vec<usize>, Vec<usize>) =
                    (0..items.len()).partition(|&i| is_large(&items[i]));
                let per = if multi {
                    self.per_request(assoc.max_pdu, LIST_ITEM)
                } else {
                    1
                };
                for c in listed.chunks(per) {
                    chunks.push(Chunk::Ln(c.to_vec()));
                }
                chunks.extend(alone.into_iter().map(|i| Chunk::Ln(vec![i])));
            }
            Referencing::Sn => {
                let mut named = Vec::new();
                for (i, it) in items.iter().enumerate() {
                    // The association object is always at 0xFA00.
                    let base = if it.class_id == 12 && it.obis == Obis::new(0, 0, 40, 0, 0, 255) {
                        Some(0xFA00)
                    } else {
                        self.short_names.get(&it.obis).copied()
                    };
                    match base {
                        Some(b) => named.push((i, sn_attribute_name(b, it.attribute))),
                        None => results[i] = Some(Err(ReadError::UnknownShortName(it.obis))),
                    }
                }
                let (alone, listed): (Vec<_>, Vec<_>) =
                    named.into_iter().partition(|&(i, _)| is_large(&items[i]));
                let per = if multi {
                    self.per_request(assoc.max_pdu, SN_ITEM)
                } else {
                    1
                };
                for c in listed.chunks(per) {
                    chunks.push(Chunk::Sn(c.to_vec()));
                }
                chunks.extend(alone.into_iter().map(|n| Chunk::Sn(vec![n])));
            }
        }
        chunks.reverse();
        Ok(ReadOp {
            invoke_id: self.settings.invoke_id,
            items: items.to_vec(),
            results,
            pending: chunks,
            current: None,
            probes: Vec::new(),
            fallback_reason: None,
        })
    }
}

/// Attributes whose value is usually large (profile buffers, object lists) or selected.
fn is_large(item: &AttributeRef) -> bool {
    item.access.is_some() || matches!((item.class_id, item.attribute), (7, 2) | (12 | 15, 2))
}

#[derive(Debug, Clone)]
enum Chunk {
    /// Item indices read by one GET (normal or with-list).
    Ln(Vec<usize>),
    /// (item index, variable name) read by one ReadRequest.
    Sn(Vec<(usize, u16)>),
}

#[derive(Debug)]
struct InFlight {
    chunk: Chunk,
    /// Raw data of a block transfer so far, and the last block number received.
    blocks: Vec<u8>,
    last_block: u32,
}

/// What the driver must do next.
#[derive(Debug, PartialEq)]
pub enum Step {
    /// Send this APDU and feed back the answer.
    Send(Vec<u8>),
    /// Every item has a result.
    Done,
}

/// A read of several attributes in progress (normal, with-list, block transfer, SN Read).
#[derive(Debug)]
pub struct ReadOp {
    invoke_id: u8,
    items: Vec<AttributeRef>,
    results: Vec<Option<Result<Data, ReadError>>>,
    pending: Vec<Chunk>,
    current: Option<InFlight>,
    /// The items of with-list requests the meter failed as a whole, re-read one by one.
    probes: Vec<Vec<usize>>,
    /// Why the first with-list request failed as a whole.
    fallback_reason: Option<String>,
}

/// True when a with-list answer that gives every item this same error is a failure of the
/// list, not of the objects: errors that name an object (undefined, unavailable, denied,
/// wrong class, out of scope) can be true of every item at once.
fn fails_the_list(e: DataAccessResult) -> bool {
    !matches!(
        e,
        DataAccessResult::ObjectUndefined
            | DataAccessResult::ObjectUnavailable
            | DataAccessResult::ReadWriteDenied
            | DataAccessResult::ObjectClassInconsistent
            | DataAccessResult::ScopeOfAccessViolated
    )
}

impl ReadOp {
    /// True when a with-list request failed as a whole (malformed answer, an error for the
    /// whole list, every item the same error) while reading its items one by one succeeded
    /// for some: the meter cannot answer GET-with-list, so a caller should stop using it for
    /// this meter ([`ClientSession::disable_with_list`]). The items themselves were read one
    /// by one already. When the single reads fail too, the list was not the problem.
    pub fn list_broken(&self) -> bool {
        self.probes.iter().any(|idx| {
            idx.iter()
                .any(|&i| matches!(self.results.get(i), Some(Some(Ok(_)))))
        })
    }

    /// Why a with-list request failed as a whole, when one did (for the log).
    pub fn fallback_reason(&self) -> Option<&str> {
        self.fallback_reason.as_deref()
    }

    /// The with-list request in flight failed as a whole (`why`, for the log): reads its items
    /// (and those of every list request still to come) one by one instead.
    fn read_singly(&mut self, idx: &[usize], why: ReadError) -> Step {
        let mut rest: Vec<Chunk> = Vec::with_capacity(self.pending.len() + idx.len());
        for chunk in std::mem::take(&mut self.pending) {
            match chunk {
                Chunk::Ln(v) if v.len() > 1 => {
                    rest.extend(v.into_iter().rev().map(|i| Chunk::Ln(vec![i])))
                }
                other => rest.push(other),
            }
        }
        rest.extend(idx.iter().rev().map(|&i| Chunk::Ln(vec![i])));
        self.pending = rest;
        self.probes.push(idx.to_vec());
        self.fallback_reason.get_or_insert_with(|| why.to_string());
        self.next_chunk()
    }

    /// The first request (or `Done` when nothing is left to ask).
    pub fn start(&mut self) -> Step {
        self.next_chunk()
    }

    fn next_chunk(&mut self) -> Step {
        let Some(chunk) = self.pending.pop() else {
            self.current = None;
            return Step::Done;
        };
        let apdu = match &chunk {
            Chunk::Ln(idx) if idx.len() == 1 => {
                let it = &self.items[idx[0]];
                GetRequest::Normal {
                    invoke_id: self.invoke_id,
                    attribute: it.descriptor(),
                    access: it.access.clone(),
                }
                .encode()
            }
            Chunk::Ln(idx) => GetRequest::WithList {
                invoke_id: self.invoke_id,
                attributes: idx
                    .iter()
                    .map(|&i| (self.items[i].descriptor(), self.items[i].access.clone()))
                    .collect(),
            }
            .encode(),
            Chunk::Sn(named) => ReadRequest(
                named
                    .iter()
                    .map(|&(i, name)| match &self.items[i].access {
                        Some(a) => VariableAccess::Parameterized {
                            name,
                            selector: a.selector,
                            parameters: a.parameters.clone(),
                        },
                        None => VariableAccess::Name(name),
                    })
                    .collect(),
            )
            .encode(),
        };
        self.current = Some(InFlight {
            chunk,
            blocks: Vec::new(),
            last_block: 0,
        });
        Step::Send(apdu)
    }

    /// Feeds the answer to the last request sent; returns what to do next.
    ///
    /// Item-level failures land in [`ReadOp::results`]; an `Err` here means the answer did not
    /// fit the request at all (the driver should drop the association).
    pub fn handle(&mut self, apdu: &[u8]) -> Result<Step, SessionError> {
        let Some(cur) = self.current.as_mut() else {
            return Err(SessionError::Unexpected {
                expected: "no answer (nothing was asked)",
                got: Apdu::decode(apdu)
                    .map(|a| a.name().to_string())
                    .unwrap_or_default(),
            });
        };
        let decoded = Apdu::decode(apdu);
        let indices = chunk_indices(&cur.chunk);
        let list = matches!(&cur.chunk, Chunk::Ln(v) if v.len() > 1);
        let decoded = match decoded {
            // A with-list answer we cannot parse: read its items one by one.
            Err(e) if list => {
                return Ok(self.read_singly(&indices, ReadError::Decode(e.to_string())))
            }
            Ok(a) => a,
            Err(e) => {
                // A response we cannot parse fails the items it answered, not the session.
                self.fail(&indices, ReadError::Decode(e.to_string()));
                return Ok(self.next_chunk());
            }
        };
        match decoded {
            Apdu::ExceptionResponse(e) if list => {
                Ok(self.read_singly(&indices, ReadError::Exception(e.to_string())))
            }
            Apdu::ConfirmedServiceError(e) if list => {
                Ok(self.read_singly(&indices, ReadError::Exception(e.to_string())))
            }
            Apdu::ExceptionResponse(e) => {
                self.fail(&indices, ReadError::Exception(e.to_string()));
                Ok(self.next_chunk())
            }
            Apdu::ConfirmedServiceError(e) => {
                self.fail(&indices, ReadError::Exception(e.to_string()));
                Ok(self.next_chunk())
            }
            Apdu::GetResponse(r) => self.on_get_response(r),
            Apdu::ReadResponse(r) => self.on_read_response(r),
            other => Err(SessionError::Unexpected {
                expected: "GET or Read response",
                got: other.name().to_string(),
            }),
        }
    }

    fn on_get_response(&mut self, r: GetResponse) -> Result<Step, SessionError> {
        let Some(cur) = self.current.as_mut() else {
            return Ok(Step::Done);
        };
        let Chunk::Ln(idx) = cur.chunk.clone() else {
            return Err(SessionError::Unexpected {
                expected: "Read response (SN)",
                got: "GET response".into(),
            });
        };
        let rid = match &r {
            GetResponse::Normal { invoke_id, .. }
            | GetResponse::WithDataBlock { invoke_id, .. }
            | GetResponse::WithList { invoke_id, .. } => *invoke_id,
        };
        if rid & 0x0F != self.invoke_id & 0x0F {
            return Err(SessionError::Unexpected {
                expected: "a response with our invoke-id",
                got: format!("invoke-id {}", rid & 0x0F),
            });
        }
        match r {
            GetResponse::Normal { result, .. } if idx.len() == 1 => {
                self.set(idx[0], get_result(result));
                Ok(self.next_chunk())
            }
            GetResponse::WithList { results, .. } if results.len() == idx.len() => {
                // Every item the same error that is not about an object: the list failed.
                if let [GetDataResult::Error(first), rest @ ..] = &results[..] {
                    let first = *first;
                    if idx.len() > 1
                        && fails_the_list(first)
                        && rest
                            .iter()
                            .all(|r| matches!(r, GetDataResult::Error(e) if *e == first))
                    {
                        return Ok(self.read_singly(&idx, ReadError::Access(first)));
                    }
                }
                for (i, res) in idx.iter().zip(results) {
                    self.set(*i, get_result(res));
                }
                Ok(self.next_chunk())
            }
            // A with-list answered with the wrong number of results, or a normal answer.
            GetResponse::WithList { results, .. } if idx.len() > 1 => Ok(self.read_singly(
                &idx,
                ReadError::Decode(format!(
                    "{} results for {} items in the with-list answer",
                    results.len(),
                    idx.len()
                )),
            )),
            GetResponse::Normal { .. } if idx.len() > 1 => Ok(self.read_singly(
                &idx,
                ReadError::Decode("a normal GET answer to a with-list request".into()),
            )),
            GetResponse::WithDataBlock {
                last_block,
                block_number,
                result,
                ..
            } => {
                if block_number != cur.last_block.wrapping_add(1) {
                    let msg = format!(
                        "expected block {}, the meter sent block {block_number}",
                        cur.last_block.wrapping_add(1)
                    );
                    self.fail(&idx, ReadError::Block(msg));
                    return Ok(self.next_chunk());
                }
                match result {
                    Err(dar) => {
                        self.fail(&idx, ReadError::Access(dar));
                        Ok(self.next_chunk())
                    }
                    Ok(raw) => {
                        cur.blocks.extend_from_slice(&raw);
                        cur.last_block = block_number;
                        if !last_block {
                            return Ok(Step::Send(
                                GetRequest::Next {
                                    invoke_id: self.invoke_id,
                                    block_number,
                                }
                                .encode(),
                            ));
                        }
                        let raw = std::mem::take(&mut cur.blocks);
                        if let (true, Err(e)) =
                            (idx.len() > 1, self.finish_blocks(&idx, &raw, false))
                        {
                            return Ok(self.read_singly(&idx, e));
                        }
                        Ok(self.next_chunk())
                    }
                }
            }
            other => Err(SessionError::Unexpected {
                expected: "a GET response for the items asked",
                // Named in words: the debug form of a response is Rust, not a sentence.
                got: match other {
                    GetResponse::Normal { .. } => "a GET response for one item",
                    GetResponse::WithDataBlock { .. } => "a GET response with a data block",
                    GetResponse::WithList { .. } => "a GET response for a list",
                }
                .to_string(),
            }),
        }
    }

    fn on_read_response(&mut self, r: ReadResponse) -> Result<Step, SessionError> {
        let Some(cur) = self.current.as_mut() else {
            return Ok(Step::Done);
        };
        let Chunk::Sn(named) = cur.chunk.clone() else {
            return Err(SessionError::Unexpected {
                expected: "GET response (LN)",
                got: "Read response".into(),
            });
        };
        let idx: Vec<usize> = named.iter().map(|(i, _)| *i).collect();
        // A data block answers the whole request, whatever the number of items.
        if let [ReadResult::DataBlock {
            last_block,
            block_number,
            raw,
        }] = r.0.as_slice()
        {
            if *block_number as u32 != cur.last_block.wrapping_add(1) {
                let msg = format!(
                    "expected block {}, the meter sent block {block_number}",
                    cur.last_block.wrapping_add(1)
                );
                self.fail(&idx, ReadError::Block(msg));
                return Ok(self.next_chunk());
            }
            cur.blocks.extend_from_slice(raw);
            cur.last_block = *block_number as u32;
            if !*last_block {
                return Ok(Step::Send(
                    ReadRequest(vec![VariableAccess::BlockNumber(*block_number)]).encode(),
                ));
            }
            let raw = std::mem::take(&mut cur.blocks);
            // SN reads keep the failure (no with-list fallback for Read).
            let _ = self.finish_blocks(&idx, &raw, true);
            return Ok(self.next_chunk());
        }
        if r.0.len() != idx.len() {
            return Err(SessionError::Unexpected {
                expected: "one Read result per item",
                got: format!("{} results for {} items", r.0.len(), idx.len()),
            });
        }
        for (i, res) in idx.iter().zip(r.0) {
            let v = match res {
                ReadResult::Data(d) => Ok(d),
                ReadResult::Error(e) => Err(ReadError::Access(e)),
                ReadResult::DataBlock { .. } => Err(ReadError::Block(
                    "a data block among several results".into(),
                )),
            };
            self.set(*i, v);
        }
        Ok(self.next_chunk())
    }

    /// Decodes the joined raw data of a block transfer; for several items, `Err` when the
    /// list of results is malformed (the items are then failed with it).
    fn finish_blocks(&mut self, idx: &[usize], raw: &[u8], sn: bool) -> Result<(), ReadError> {
        if idx.len() == 1 {
            let v = Data::from_bytes(raw).map_err(|e| ReadError::Decode(e.to_string()));
            self.set(idx[0], v);
            return Ok(());
        }
        // Several items: the raw data is the list of results (count, then each result).
        let mut r = Reader::new(raw);
        let parsed = (|| {
            let n = r
                .bounded_length("result count", 1)
                .map_err(|e| e.to_string())?;
            if n != idx.len() {
                return Err(format!("{n} results for {} items", idx.len()));
            }
            let mut out = Vec::with_capacity(n);
            for _ in 0..n {
                let choice = r.u8("result choice").map_err(|e| e.to_string())?;
                out.push(match choice {
                    0 => Ok(Data::decode(&mut r).map_err(|e| e.to_string())?),
                    1 => Err(ReadError::Access(DataAccessResult::from_u8(
                        r.u8("data access result").map_err(|e| e.to_string())?,
                    ))),
                    c => return Err(format!("unknown result choice {c} (sn: {sn})")),
                });
            }
            Ok(out)
        })();
        match parsed {
            Ok(list) => {
                for (i, v) in idx.iter().zip(list) {
                    self.set(*i, v);
                }
                Ok(())
            }
            Err(e) => {
                let e = ReadError::Decode(e);
                self.fail(idx, e.clone());
                Err(e)
            }
        }
    }

    fn set(&mut self, i: usize, v: Result<Data, ReadError>) {
        if let Some(slot) = self.results.get_mut(i) {
            *slot = Some(v);
        }
    }

    fn fail(&mut self, idx: &[usize], e: ReadError) {
        for &i in idx {
            self.set(i, Err(e.clone()));
        }
    }

    /// The items of this read, in the order given.
    pub fn items(&self) -> &[AttributeRef] {
        &self.items
    }

    /// One result per item, in the order given (items never answered fail).
    pub fn into_results(self) -> Vec<Result<Data, ReadError>> {
        self.results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(ReadError::Exception("no answer".into()))))
            .collect()
    }
}

fn chunk_indices(c: &Chunk) -> Vec<usize> {
    match c {
        Chunk::Ln(v) => v.clone(),
        Chunk::Sn(v) => v.iter().map(|(i, _)| *i).collect(),
    }
}

fn get_result(r: GetDataResult) -> Result<Data, ReadError> {
    match r {
        GetDataResult::Data(d) => Ok(d),
        GetDataResult::Error(e) => Err(ReadError::Access(e)),
    }
}

/// The attribute that holds the scaler_unit of a value attribute, when the class has one.
pub fn scaler_unit_attribute(item: &AttributeRef) -> Option<AttributeRef> {
    let attr = match (item.class_id, item.attribute) {
        (3, 2) | (4, 2) => 3,
        (5, 2) | (5, 3) => 4,
        _ => return None,
    };
    Some(AttributeRef::new(item.class_id, item.obis, attr))
}

/// A value read from a meter, with the scaler_unit that applies to it.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// The value as sent.
    pub data: Data,
    /// The register's scaler and unit, when it has one.
    pub scaler_unit: Option<ScalerUnit>,
}

impl Reading {
    /// The scaled number, for numeric values (the nearest float of [`Reading::decimal`] when
    /// there is one).
    pub fn scaled(&self) -> Option<f64> {
        if let Some(d) = self.decimal() {
            return Some(d.to_f64());
        }
        let raw = self.data.as_f64()?;
        Some(self.scaler_unit.map_or(raw, |su| su.apply(raw)))
    }

    /// The scaled value as an exact decimal: integers × 10^scaler, floats by the decimal they
    /// print as; an enum is a code, never scaled; `None` for other data.
    pub fn decimal(&self) -> Option<super::unit::Decimal> {
        let raw = self.data.as_decimal()?;
        match (&self.data, self.scaler_unit) {
            (Data::Enum(_), _) | (_, None) => Some(raw),
            (_, Some(su)) => Some(raw.shift(su.scaler as i32)),
        }
    }

    /// The scaled value as text: exact decimals for numbers, the data's own form otherwise.
    pub fn value_text(&self) -> String {
        match self.decimal() {
            Some(d) => d.to_string(),
            None => self.data.to_string(),
        }
    }

    /// The unit's name, when known.
    pub fn unit(&self) -> Option<&'static str> {
        self.scaler_unit.and_then(|s| s.unit_name())
    }
}

/// Expands items with the scaler_unit attributes they need; returns the attributes to read.
pub fn with_scaler_units(items: &[AttributeRef]) -> Vec<AttributeRef> {
    let mut out: Vec<AttributeRef> = Vec::with_capacity(items.len() * 2);
    for it in items {
        if let Some(su) = scaler_unit_attribute(it) {
            if !out.contains(&su) && !items.contains(&su) {
                out.push(su);
            }
        }
    }
    out.extend(items.iter().cloned());
    out
}

/// Pairs each requested item with its scaler_unit from the results of a
/// [`with_scaler_units`] read. A failed scaler_unit read leaves the value unscaled.
pub fn apply_scaler_units(
    items: &[AttributeRef],
    read: &[AttributeRef],
    results: &[Result<Data, ReadError>],
) -> Vec<Result<Reading, ReadError>> {
    let lookup = |a: &AttributeRef| {
        read.iter()
            .position(|r| r == a)
            .and_then(|i| results.get(i))
    };
    items
        .iter()
        .map(|it| {
            let data = lookup(it)
                .cloned()
                .unwrap_or_else(|| Err(ReadError::Exception("not read".into())))?;
            let scaler_unit = scaler_unit_attribute(it)
                .and_then(|su| lookup(&su))
                .and_then(|r| r.as_ref().ok())
                .and_then(ScalerUnit::from_data);
            Ok(Reading { data, scaler_unit })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dlms::data::tests::unhex;

    fn associated(
        referencing: Referencing,
        conformance: Conformance,
        max_pdu: u16,
    ) -> ClientSession {
        let mut s = ClientSession::new(ClientSettings::new(referencing));
        s.association = Some(Association {
            conformance,
            max_pdu,
            vaa_name: 7,
            server_system_title: None,
        });
        s
    }

    fn reg(obis: &str, attr: i8) -> AttributeRef {
        AttributeRef::new(3, obis.parse().unwrap(), attr)
    }

    #[test]
    fn aarq_matches_gurux_shape_and_aare_is_accepted() {
        let mut s = ClientSession::new(ClientSettings::new(Referencing::Ln));
        let aarq = s.aarq().unwrap();
        assert_eq!(
            &aarq[..13],
            &unhex("60 1D A1 09 06 07 60 85 74 05 08 01 01")[..]
        );
        // AARE from the Gurux meter (traces/wrapper_ln_none.txt).
        let a = s
            .handle_aare(&unhex("6129A109060760857405080101A203020100A305A103020100BE10040E0800065F1F0400001E1D04000007"))
            .unwrap();
        assert_eq!(a.max_pdu, 1024);
        assert!(a
            .conformance
            .contains(Conformance::BLOCK_TRANSFER_WITH_GET_OR_READ));
        assert!(
            a.conformance.contains(Conformance::MULTIPLE_REFERENCES),
            "00 1E 1D includes bit 14"
        );
    }

    #[test]
    fn a_plain_aare_to_a_ciphered_aarq_is_refused() {
        let mut settings = ClientSettings::new(Referencing::Ln);
        settings.ciphering = Some(Ciphering {
            policy: Policy::AuthEnc,
            system_title: "4142434445464748".parse().unwrap(),
            block_key: Key([0x11; 16]),
            auth_key: Key([0x22; 16]),
            dedicated_key: None,
            server_system_title: None,
            invocation_counter: 1,
            meter_counter_floor: 0,
        });
        let mut s = ClientSession::new(settings);
        s.aarq().unwrap();
        // An accepted AARE with a plain InitiateResponse: what a caller without the keys sends.
        let e = s
            .handle_aare(&unhex("6129A109060760857405080101A203020100A305A103020100BE10040E0800065F1F0400001E1D04000007"))
            .unwrap_err();
        assert!(
            matches!(e, SessionError::MeterFailedAuthentication(_)),
            "{e:?}"
        );
        assert!(e.to_string().contains("plain InitiateResponse"), "{e}");
        assert!(s.association.is_none());
    }

    #[test]
    fn rejected_association_says_why() {
        let mut s = ClientSession::new(ClientSettings::new(Referencing::Ln));
        // A8: wrong LLS password.
        let e = s
            .handle_aare(&unhex("6129A109060760857405080101A203020101A305A10302010DBE10040E0800065F1F040000101400800007"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("rejected permanently") && e.contains("authentication failure"),
            "{e}"
        );
        // A7: initiate error, DLMS version too low.
        let e = s
            .handle_aare(&unhex(
                "611FA109060760857405080101A203020101A305A103020101BE0604040E010601",
            ))
            .unwrap_err()
            .to_string();
        assert!(e.to_lowercase().contains("version"), "{e}");
    }

    #[test]
    fn block_transfer_any_number_of_blocks() {
        // GS get_test flow: three blocks joined into an array 1..5.
        let s = associated(
            Referencing::Ln,
            Conformance::GET | Conformance::BLOCK_TRANSFER_WITH_GET_OR_READ,
            1024,
        );
        let item = AttributeRef::new(7, "1.0.99.1.0.255".parse().unwrap(), 2);
        let mut op = s.read(std::slice::from_ref(&item)).unwrap();
        assert_eq!(
            op.start(),
            Step::Send(unhex("C0 01 C1 00 07 01 00 63 01 00 FF 02 00"))
        );
        let step = op
            .handle(&unhex(
                "C4 02 C1 00 00 00 00 01 00 0C 01 05 06 00 00 00 01 06 00 00 00 02",
            ))
            .unwrap();
        assert_eq!(step, Step::Send(unhex("C0 02 C1 00 00 00 01")));
        let step = op
            .handle(&unhex(
                "C4 02 C1 00 00 00 00 02 00 0A 06 00 00 00 03 06 00 00 00 04",
            ))
            .unwrap();
        assert_eq!(step, Step::Send(unhex("C0 02 C1 00 00 00 02")));
        let step = op
            .handle(&unhex("C4 02 C1 01 00 00 00 03 00 05 06 00 00 00 05"))
            .unwrap();
        assert_eq!(step, Step::Done);
        let r = op.into_results();
        assert_eq!(
            r[0],
            Ok(Data::Array((1..=5).map(Data::DoubleLongUnsigned).collect()))
        );
    }

    #[test]
    fn one_bad_item_never_fails_the_others() {
        let s = associated(
            Referencing::Ln,
            Conformance::GET | Conformance::MULTIPLE_REFERENCES,
            1024,
        );
        let items = [reg("1.0.1.8.0.255", 2), reg("1.0.2.8.0.255", 2)];
        let mut op = s.read(&items).unwrap();
        let Step::Send(req) = op.start() else {
            panic!()
        };
        assert_eq!(req[1], 3, "with-list");
        assert_eq!(
            op.handle(&unhex("C4 03 C1 02 00 06 00BC614E 01 04"))
                .unwrap(),
            Step::Done
        );
        let r = op.into_results();
        assert_eq!(r[0], Ok(Data::DoubleLongUnsigned(12345678)));
        assert_eq!(
            r[1],
            Err(ReadError::Access(DataAccessResult::ObjectUndefined))
        );
    }

    #[test]
    fn without_multiple_references_items_go_one_by_one() {
        let s = associated(Referencing::Ln, Conformance::GET, 1024);
        let items = [reg("1.0.1.8.0.255", 3), reg("1.0.1.8.0.255", 2)];
        let mut op = s.read(&items).unwrap();
        assert!(matches!(op.start(), Step::Send(ref r) if r[1] == 1));
        assert!(matches!(
            op.handle(&unhex("C4 01 C1 00 02 02 0F FD 16 1E")).unwrap(),
            Step::Send(_)
        ));
        // An exception fails only the item it answered.
        assert_eq!(op.handle(&unhex("D8 01 01")).unwrap(), Step::Done);
        let r = op.into_results();
        assert!(r[0].is_ok());
        assert!(matches!(r[1], Err(ReadError::Exception(_))));
    }

    /// Drives `op` with `answer` for every request; returns the requests sent.
    fn drive(op: &mut ReadOp, answer: impl Fn(&[u8]) -> Vec<u8>) -> Vec<Vec<u8>> {
        let mut sent = Vec::new();
        let mut step = op.start();
        while let Step::Send(req) = step {
            let resp = answer(&req);
            sent.push(req);
            step = op.handle(&resp).unwrap();
        }
        sent
    }

    /// A single GET answered with double-long-unsigned 7; a with-list as `list` says.
    fn meter(list: &'static [u8]) -> impl Fn(&[u8]) -> Vec<u8> {
        move |req: &[u8]| match req.get(1) {
            Some(0x03) => list.to_vec(),
            _ => unhex("C4 01 C1 00 06 00 00 00 07"),
        }
    }

    #[test]
    fn a_broken_with_list_answer_is_read_again_one_by_one() {
        let s = associated(
            Referencing::Ln,
            Conformance::GET | Conformance::MULTIPLE_REFERENCES,
            1024,
        );
        let items = [
            reg("1.0.1.8.0.255", 2),
            reg("1.0.2.8.0.255", 2),
            reg("1.0.3.8.0.255", 2),
        ];
        for list in [
            &b"\xC4\x03\xC1\x03"[..], // a count, no results: malformed
            &b"\xC4\x03\xC1\x03\x01\xFA\x01\xFA\x01\xFA"[..], // other-reason for every item
            &b"\xC4\x03\xC1\x01\x00\x06\x00\x00\x00\x07"[..], // one result for three items
            &b"\x0E\x01\x06\x01"[..], // confirmed-service-error
        ] {
            let mut op = s.read(&items).unwrap();
            let sent = drive(&mut op, meter(list));
            assert_eq!(sent.len(), 4, "the list, then each item alone: {list:02X?}");
            assert_eq!(sent[1][1], 0x01, "a normal GET");
            assert!(op.list_broken(), "{list:02X?}");
            let results = op.into_results();
            assert!(
                results
                    .iter()
                    .all(|r| r == &Ok(Data::DoubleLongUnsigned(7))),
                "{results:?}"
            );
        }
        // Once known, a session reads one by one from the start.
        let mut s = s;
        s.disable_with_list();
        let mut op = s.read(&items).unwrap();
        assert_eq!(drive(&mut op, meter(b"")).len(), 3);
        assert!(!op.list_broken());
    }

    #[test]
    fn identical_errors_that_name_objects_are_not_a_broken_list() {
        let s = associated(
            Referencing::Ln,
            Conformance::GET | Conformance::MULTIPLE_REFERENCES,
            1024,
        );
        let items = [reg("1.0.1.8.0.255", 2), reg("1.0.2.8.0.255", 2)];
        let mut op = s.read(&items).unwrap();
        // object-undefined for both: true of both objects, no fallback.
        let sent = drive(&mut op, meter(b"\xC4\x03\xC1\x02\x01\x04\x01\x04"));
        assert_eq!(sent.len(), 1);
        assert!(!op.list_broken());
        // other-reason for both, and the singles fail alike: the list was not the problem.
        let mut op = s.read(&items).unwrap();
        let sent = drive(&mut op, |req: &[u8]| match req.get(1) {
            Some(0x03) => unhex("C4 03 C1 02 01 FA 01 FA"),
            _ => unhex("C4 01 C1 01 FA"),
        });
        assert_eq!(sent.len(), 3);
        assert!(!op.list_broken(), "single GETs failed too");
    }

    #[test]
    fn with_list_requests_fit_one_frame_when_ciphered() {
        let mut settings = ClientSettings::new(Referencing::Ln);
        settings.ciphering = Some(Ciphering {
            policy: Policy::AuthEnc,
            system_title: "4142434445464748".parse().unwrap(),
            block_key: Key([0x11; 16]),
            auth_key: Key([0x22; 16]),
            dedicated_key: None,
            server_system_title: None,
            invocation_counter: 1,
            meter_counter_floor: 0,
        });
        settings.max_frame_info = Some(128);
        let mut s = ClientSession::new(settings);
        s.association = Some(Association {
            conformance: Conformance::GET | Conformance::MULTIPLE_REFERENCES,
            max_pdu: 1024,
            vaa_name: 7,
            server_system_title: None,
        });
        let items: Vec<AttributeRef> = (0..20)
            .map(|i| reg(&format!("1.0.{}.8.0.255", i + 1), 2))
            .collect();
        let answer = |req: &[u8]| {
            let n = req[3] as usize;
            let mut r = vec![0xC4, 0x03, 0xC1, n as u8];
            for _ in 0..n {
                r.extend_from_slice(&[0x00, 0x06, 0, 0, 0, 7]);
            }
            r
        };
        let mut op = s.read(&items).unwrap();
        let sent = drive(&mut op, answer);
        assert!(sent.len() > 1, "split");
        for req in &sent {
            // Ciphered (at most 30 bytes more) with the LLC header, within 128 bytes.
            assert!(
                req.len() + CIPHER_OVERHEAD + LLC <= 128,
                "{} bytes",
                req.len()
            );
        }
        assert!(op.into_results().iter().all(Result::is_ok));
        // Without a frame limit (WRAPPER) the PDU size decides: one request.
        s.set_max_frame_info(None);
        let mut op = s.read(&items).unwrap();
        assert_eq!(drive(&mut op, answer).len(), 1);
        assert!(!op.list_broken());
    }

    #[test]
    fn scaling_is_applied() {
        let items = [reg("1.0.1.8.0.255", 2)];
        let read = with_scaler_units(&items);
        assert_eq!(read.len(), 2);
        let results = vec![
            Ok(Data::from_bytes(&unhex("02 02 0F FD 16 1E")).unwrap()),
            Ok(Data::DoubleLongUnsigned(12345678)),
        ];
        let r = apply_scaler_units(&items, &read, &results);
        let v = r[0].as_ref().unwrap();
        assert_eq!(v.value_text(), "12345.678");
        assert_eq!(v.unit(), Some("Wh"));
        assert_eq!(v.scaled(), Some(12345.678));
    }

    #[test]
    fn sn_read_uses_base_names_and_blocks() {
        let mut s = associated(
            Referencing::Sn,
            Conformance::READ | Conformance::MULTIPLE_REFERENCES,
            1024,
        );
        // SN object list from traces/wrapper_sn_none.txt (first two entries).
        let list = Data::from_bytes(&unhex(
            "0102 0204 1000A0 120008 1100 09060000010000FF 0204 100100 120003 1100 09060100010800FF",
        ))
        .unwrap();
        let objects = parse_object_list(&list).unwrap();
        assert_eq!(objects[1].short_name, Some(0x0100));
        s.set_short_names(&objects);
        let items = [
            reg("1.0.1.8.0.255", 3),
            reg("1.0.1.8.0.255", 2),
            reg("1.0.2.8.0.255", 2),
        ];
        let mut op = s.read(&items).unwrap();
        assert_eq!(op.start(), Step::Send(unhex("05 02 02 0110 02 0108")));
        // Answered in two read data blocks.
        let step = op
            .handle(&unhex("0C 01 02 00 0001 05 02 00 02 02 0F"))
            .unwrap();
        assert_eq!(step, Step::Send(unhex("05 01 05 0001")));
        let step = op
            .handle(&unhex("0C 01 02 01 0002 09 00 16 1E 00 06 00 0F 42 40"))
            .unwrap();
        assert_eq!(step, Step::Done);
        let r = op.into_results();
        assert_eq!(r[1], Ok(Data::DoubleLongUnsigned(1_000_000)));
        assert_eq!(
            r[2],
            Err(ReadError::UnknownShortName(
                "1.0.2.8.0.255".parse().unwrap()
            ))
        );
    }
}
