//! The server side of an association, for the simulator: AARQ/AARE, GET (normal, next,
//! with-list) and SN Read with block transfer, over any object model.

use super::acse::{
    Aare, Aarq, ApplicationContext, AssociationResult, Conformance, Diagnostic, InitiateRequest,
    InitiateResponse, Mechanism, Rlre,
};
use super::axdr::write_length;
use super::client::{Authentication, ObjectListEntry, Referencing};
use super::data::Data;
use super::obis::Obis;
use super::protection::Protection;
use super::security::{
    hls_response, hls_verify, GmacParams, HlsMechanism, Key, Policy, Sha256Params, SystemTitle,
};
use super::xdlms::{
    encode_get_response_normal_raw, ActionRequest, ActionResponse, Apdu, AttributeDescriptor,
    ConfirmedServiceError, DataAccessResult, ExceptionResponse, GetRequest, GetResponse,
    ReadRequest, ReadResponse, ReadResult, SelectiveAccess, VariableAccess,
};

/// The objects a server serves; implemented by the simulator.
pub trait CosemServer {
    /// Every object, with SN base names when SN referencing is used.
    fn objects(&self) -> Vec<ObjectListEntry>;
    /// Reads one attribute.
    fn get(
        &mut self,
        attribute: &AttributeDescriptor,
        access: Option<&SelectiveAccess>,
    ) -> Result<Data, DataAccessResult>;
}

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
    /// A typical meter: block transfer, with-list and selective access, PDU 1024.
    pub fn new(referencing: Referencing) -> Self {
        let conformance = match referencing {
            Referencing::Ln => {
                Conformance::GET
                    | Conformance::SELECTIVE_ACCESS
                    | Conformance::BLOCK_TRANSFER_WITH_GET_OR_READ
                    | Conformance::MULTIPLE_REFERENCES
            }
            Referencing::Sn => {
                Conformance::READ
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
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Granted {
    conformance: Conformance,
    /// Largest APDU we may send (the client's max receive, capped by ours).
    send_limit: usize,
}

#[derive(Debug)]
struct LongRead {
    raw: Vec<u8>,
    offset: usize,
    block: u32,
    sn: bool,
}

/// HLS pass 3 is due: (mechanism, secret, client challenge CtoS, our challenge StoC).
type PendingHls = (HlsMechanism, Vec<u8>, Vec<u8>, Vec<u8>);

/// One association on the server side.
#[derive(Debug)]
pub struct ServerSession {
    settings: ServerSettings,
    granted: Option<Granted>,
    long_read: Option<LongRead>,
    client: u16,
    protection: Option<Protection>,
    pending_hls: Option<PendingHls>,
    /// Our challenge for the next association (randomness comes from the caller).
    pub next_challenge: Vec<u8>,
    next_ic: u32,
    peer_floor: u32,
    /// The association is the public client's (SAP 16, no authentication).
    public: bool,
}

const ASSOCIATION_SN: u16 = 0xFA00;

impl ServerSession {
    /// A session waiting for an AARQ.
    pub fn new(settings: ServerSettings) -> Self {
        ServerSession {
            settings,
            granted: None,
            long_read: None,
            client: PUBLIC_CLIENT,
            protection: None,
            pending_hls: None,
            next_challenge: Vec::new(),
            next_ic: 0,
            peer_floor: 0,
            public: false,
        }
    }

    /// Whether this association may read `attr`. A meter that requires a password (low-level
    /// authentication) lets the public client read only its association object
    /// (0.0.40.0.0.255, e.g. to learn what it must do to associate) and, when it ciphers, its
    /// invocation counters (0.0.43.1.x.255, which a client needs before a ciphered
    /// association): everything else is read-write-denied, as on real meters. (With HLS the
    /// public client still reads everything, as the simulator always allowed.)
    fn may_read(&self, attr: &AttributeDescriptor) -> Result<(), DataAccessResult> {
        if !self.public || !matches!(self.settings.authentication, Authentication::Low(_)) {
            return Ok(());
        }
        let [a, b, c, d, _, f] = attr.instance.bytes();
        let association = [a, b, c, d, f] == [0, 0, 40, 0, 255];
        let counter = self.settings.ciphering.is_some() && [a, b, c, d, f] == [0, 0, 43, 1, 255];
        if association || counter {
            Ok(())
        } else {
            Err(DataAccessResult::ReadWriteDenied)
        }
    }

    /// The client SAP of the link (the public client may associate without security).
    pub fn set_client(&mut self, client: u16) {
        self.client = client;
    }

    /// Our invocation counter: the next protected APDU carries it (it survives associations).
    pub fn invocation_counter(&self) -> u32 {
        self.protection
            .as_ref()
            .map_or(self.next_ic, Protection::next_ic)
    }

    /// Sets the invocation counter of the next protected APDU.
    pub fn set_invocation_counter(&mut self, ic: u32) {
        self.next_ic = ic;
    }

    /// Refuses client counters below `floor` in the next association (a meter remembers the
    /// highest counter each client used, so a reused one fails as on a real meter).
    pub fn set_peer_floor(&mut self, floor: u32) {
        self.peer_floor = floor;
    }

    /// The client's highest accepted invocation counter in this association.
    pub fn peer_last(&self) -> Option<u32> {
        self.protection.as_ref().and_then(Protection::peer_last)
    }

    /// The client's system title (AARQ calling-AP-title), once associated with ciphering.
    pub fn peer_title(&self) -> Option<SystemTitle> {
        self.protection.as_ref().and_then(|p| p.peer_title)
    }

    /// True while a client is associated.
    pub fn is_associated(&self) -> bool {
        self.granted.is_some()
    }

    /// Forgets the association (the link closed).
    pub fn reset(&mut self) {
        if let Some(p) = self.protection.take() {
            self.next_ic = p.next_ic();
        }
        self.granted = None;
        self.long_read = None;
        self.pending_hls = None;
    }

    /// Handles one request APDU; returns the response APDU, if the request has one.
    pub fn handle(&mut self, request: &[u8], model: &mut dyn CosemServer) -> Option<Vec<u8>> {
        let ciphered = self
            .protection
            .as_ref()
            .is_some_and(|p| p.policy != Policy::None);
        let plain = match (request.first(), self.protection.as_mut()) {
            (Some(0x60 | 0x62), _) => request.to_vec(),
            (_, Some(p)) if ciphered => match p.unprotect(request) {
                Ok(plain) => plain,
                // A request that does not decipher or replays a counter is refused.
                Err(_) => return Some(exception(1, 5)),
            },
            _ => request.to_vec(),
        };
        let apdu = match Apdu::decode(&plain) {
            Ok(a) => a,
            Err(_) => return Some(exception(2, 2)),
        };
        let response = match apdu {
            Apdu::Aarq(aarq) => return Some(self.associate(&aarq)),
            Apdu::Rlrq(_) => {
                self.reset();
                return Some(
                    Rlre {
                        reason: Some(0),
                        user_information: None,
                    }
                    .encode(),
                );
            }
            _ if self.granted.is_none() => return Some(exception(1, 1)),
            Apdu::ActionRequest(a) if self.pending_hls.is_some() => self.hls_pass3(a),
            _ if self.pending_hls.is_some() => return Some(exception(1, 1)),
            Apdu::GetRequest(g) if self.settings.referencing == Referencing::Ln => {
                self.get(g, model)
            }
            Apdu::ReadRequest(r) if self.settings.referencing == Referencing::Sn => {
                self.read(r, model)
            }
            _ => exception(2, 2),
        };
        match self.protection.as_mut() {
            Some(p) if ciphered => Some(p.protect(&response).unwrap_or_else(|_| exception(1, 6))),
            _ => Some(response),
        }
    }

    /// HLS pass 3 (the client's f(StoC)) and pass 4 (our f(CtoS)).
    fn hls_pass3(&mut self, a: ActionRequest) -> Vec<u8> {
        let Some((mech, secret, ctos, stoc)) = self.pending_hls.take() else {
            return exception(1, 1);
        };
        let deny = |invoke_id| {
            ActionResponse::Normal {
                invoke_id,
                result: DataAccessResult::ReadWriteDenied,
                return_parameters: None,
            }
            .encode()
        };
        let ActionRequest::Normal {
            invoke_id,
            method,
            parameters,
        } = a
        else {
            return exception(1, 1);
        };
        let is_reply = method.method == 1 && method.instance == Obis::new(0, 0, 40, 0, 0, 255);
        let Some(Data::OctetString(answer)) = parameters.filter(|_| is_reply) else {
            self.granted = None;
            return deny(invoke_id);
        };
        let p = self.protection.as_ref();
        let gmac_client = p.and_then(|p| {
            p.peer_title
                .map(|t| (t, p.block_key.clone(), p.auth_key.clone()))
        });
        let titles = p.and_then(|p| p.peer_title.map(|c| (p.own_title, c)));
        let ok = hls_verify(
            mech,
            &secret,
            &stoc,
            &answer,
            gmac_client.as_ref().map(|(t, bk, ak)| GmacParams {
                system_title: t,
                invocation_counter: 0,
                block_key: bk,
                auth_key: ak,
            }),
            titles.as_ref().map(|(own, client)| Sha256Params {
                own_title: client,
                other_title: own,
                own_challenge: &ctos,
            }),
        )
        .is_ok();
        if !ok {
            // The client failed authentication: the association ends.
            self.granted = None;
            return deny(invoke_id);
        }
        let f = match (mech, self.protection.as_mut()) {
            (HlsMechanism::Gmac, Some(p)) => {
                let Ok(ic) = p.take_ic() else {
                    return deny(invoke_id);
                };
                hls_response(
                    mech,
                    &secret,
                    &ctos,
                    Some(GmacParams {
                        system_title: &p.own_title,
                        invocation_counter: ic,
                        block_key: &p.block_key,
                        auth_key: &p.auth_key,
                    }),
                    None,
                )
            }
            (HlsMechanism::Sha256, Some(p)) => match p.peer_title {
                Some(client) => hls_response(
                    mech,
                    &secret,
                    &ctos,
                    None,
                    Some(Sha256Params {
                        own_title: &p.own_title,
                        other_title: &client,
                        own_challenge: &stoc,
                    }),
                ),
                None => return deny(invoke_id),
            },
            _ => hls_response(mech, &secret, &ctos, None, None),
        };
        match f {
            Ok(f) => ActionResponse::Normal {
                invoke_id,
                result: DataAccessResult::Success,
                return_parameters: Some(super::xdlms::GetDataResult::Data(Data::OctetString(f))),
            }
            .encode(),
            Err(_) => deny(invoke_id),
        }
    }

    fn associate(&mut self, aarq: &Aarq) -> Vec<u8> {
        self.reset();
        let s = self.settings.clone();
        let public = self.client == PUBLIC_CLIENT
            && aarq.mechanism == Mechanism::None
            && !aarq.context.is_ciphered();
        self.public = public;
        let ciphering = s.ciphering.clone().filter(|_| !public);
        let secure = ciphering.as_ref().is_some_and(|c| c.policy != Policy::None);
        let want = match (s.referencing, secure) {
            (Referencing::Ln, false) => ApplicationContext::LogicalNames,
            (Referencing::Sn, false) => ApplicationContext::ShortNames,
            (Referencing::Ln, true) => ApplicationContext::LogicalNamesCiphered,
            (Referencing::Sn, true) => ApplicationContext::ShortNamesCiphered,
        };
        let reject = |diag: u8, user: Option<Vec<u8>>| {
            Aare {
                context: aarq.context,
                result: AssociationResult::RejectedPermanent,
                diagnostic: Diagnostic::User(diag),
                responding_ap_title: None,
                mechanism: None,
                responding_authentication_value: None,
                user_information: user,
            }
            .encode()
        };
        if aarq.context != want {
            return reject(2, None);
        }
        let mut hls = None;
        if !public {
            match (&s.authentication, aarq.mechanism) {
                (Authentication::None, Mechanism::None | Mechanism::Low) => {}
                (Authentication::Low(pw), Mechanism::Low) => {
                    if aarq.calling_authentication_value.as_deref() != Some(pw.as_slice()) {
                        return reject(13, None);
                    }
                }
                (Authentication::High { mechanism, secret }, m)
                    if m == mechanism_of(*mechanism) =>
                {
                    let Some(ctos) = aarq
                        .calling_authentication_value
                        .clone()
                        .filter(|c| c.len() >= 8)
                    else {
                        return reject(13, None);
                    };
                    hls = Some((*mechanism, secret.clone(), ctos));
                }
                (Authentication::None, _) => return reject(11, None),
                (_, Mechanism::None) => return reject(12, None),
                _ => return reject(11, None),
            }
        }
        if let Some(c) = &ciphering {
            let mut p = Protection::new(
                c.policy,
                c.system_title,
                c.block_key.clone(),
                c.auth_key.clone(),
                self.next_ic,
            );
            p.peer_title = aarq
                .calling_ap_title
                .as_deref()
                .and_then(|t| <[u8; 8]>::try_from(t).ok())
                .map(SystemTitle);
            p.set_peer_floor(self.peer_floor);
            self.protection = Some(p);
        }
        let user = match (aarq.user_information.as_deref(), self.protection.as_mut()) {
            (Some(u), Some(p)) if secure => match p.unprotect(u) {
                Ok(plain) => Some(plain),
                // Wrong keys: the initiate request does not decipher.
                Err(_) => {
                    self.reset();
                    return reject(
                        1,
                        Some(
                            Apdu::ConfirmedServiceError(ConfirmedServiceError {
                                service: 1,
                                error_class: 6,
                                value: 0,
                            })
                            .encode(),
                        ),
                    );
                }
            },
            (u, _) => u.map(<[u8]>::to_vec),
        };
        let Some(Ok(init)) = user.as_deref().map(InitiateRequest::decode) else {
            return reject(1, None);
        };
        let initiate_error = |value: u8| {
            Some(
                Apdu::ConfirmedServiceError(ConfirmedServiceError {
                    service: 1,
                    error_class: 6,
                    value,
                })
                .encode(),
            )
        };
        if init.proposed_dlms_version < 6 {
            return reject(1, initiate_error(1));
        }
        if init.client_max_receive_pdu_size != 0 && init.client_max_receive_pdu_size < 12 {
            return reject(1, initiate_error(3));
        }
        if let (Some(key), Some(p)) = (init.dedicated_key.as_deref(), self.protection.as_mut()) {
            p.dedicated_key = <[u8; 16]>::try_from(key).ok().map(Key);
        }
        let conformance = s.conformance.intersection(init.proposed_conformance);
        // 0 means "no limit" in the standard.
        let client_max = match init.client_max_receive_pdu_size {
            0 => u16::MAX,
            n => n,
        };
        self.granted = Some(Granted {
            conformance,
            send_limit: client_max.min(s.max_pdu) as usize,
        });
        let initiate = InitiateResponse {
            negotiated_quality_of_service: None,
            negotiated_dlms_version: 6,
            negotiated_conformance: conformance,
            server_max_receive_pdu_size: s.max_pdu,
            vaa_name: match s.referencing {
                Referencing::Ln => 0x0007,
                Referencing::Sn => ASSOCIATION_SN,
            },
        }
        .encode();
        let user_information = match self.protection.as_mut() {
            Some(p) if secure => match p.protect_global(&initiate) {
                Ok(u) => u,
                Err(_) => return reject(1, None),
            },
            _ => initiate,
        };
        let title = self.protection.as_ref().map(|p| p.own_title.0.to_vec());
        let (diagnostic, mechanism, stoc) = match hls {
            Some((mech, secret, ctos)) => {
                let stoc = self.next_challenge.clone();
                self.pending_hls = Some((mech, secret, ctos, stoc.clone()));
                (14, Some(mechanism_of(mech)), Some(stoc))
            }
            None => (0, None, None),
        };
        Aare {
            context: aarq.context,
            result: AssociationResult::Accepted,
            diagnostic: Diagnostic::User(diagnostic),
            responding_ap_title: title,
            mechanism,
            responding_authentication_value: stoc,
            user_information: Some(user_information),
        }
        .encode()
    }

    fn granted(&self) -> Granted {
        self.granted.unwrap_or(Granted {
            conformance: Conformance::default(),
            send_limit: 64,
        })
    }

    fn get(&mut self, req: GetRequest, model: &mut dyn CosemServer) -> Vec<u8> {
        let g = self.granted();
        match req {
            GetRequest::Normal {
                invoke_id,
                attribute,
                access,
            } => {
                self.long_read = None;
                match self
                    .may_read(&attribute)
                    .and_then(|()| model.get(&attribute, access.as_ref()))
                {
                    Ok(d) => {
                        let bytes = d.to_bytes();
                        let normal = encode_get_response_normal_raw(invoke_id, &bytes);
                        if normal.len() <= g.send_limit {
                            normal
                        } else {
                            self.start_blocks(invoke_id, bytes, false)
                        }
                    }
                    Err(e) => GetResponse::Normal {
                        invoke_id,
                        result: super::xdlms::GetDataResult::Error(e),
                    }
                    .encode(),
                }
            }
            GetRequest::WithList {
                invoke_id,
                attributes,
            } => {
                self.long_read = None;
                let raw = self.results_list(
                    attributes
                        .iter()
                        .map(|(a, s)| self.may_read(a).and_then(|()| model.get(a, s.as_ref())))
                        .collect(),
                );
                let mut whole = vec![0xC4, 0x03, invoke_id];
                whole.extend_from_slice(&raw);
                if whole.len() <= g.send_limit {
                    whole
                } else {
                    self.start_blocks(invoke_id, raw, false)
                }
            }
            GetRequest::Next {
                invoke_id,
                block_number,
            } => self.next_block(invoke_id, block_number),
        }
    }

    /// `count {00 Data | 01 DAR}`, the body of with-list answers.
    fn results_list(&self, results: Vec<Result<Data, DataAccessResult>>) -> Vec<u8> {
        let mut raw = Vec::new();
        write_length(&mut raw, results.len());
        for r in results {
            match r {
                Ok(d) => {
                    raw.push(0);
                    d.encode(&mut raw);
                }
                Err(e) => raw.extend_from_slice(&[1, e.to_u8()]),
            }
        }
        raw
    }

    fn block_size(&self) -> usize {
        // Room for the block header (tag, type, invoke id, last, number, choice, length).
        self.granted().send_limit.saturating_sub(16).max(16)
    }

    fn start_blocks(&mut self, invoke_id: u8, raw: Vec<u8>, sn: bool) -> Vec<u8> {
        // SN clients (Gurux's among them) rarely propose block-transfer-with-read yet expect
        // Read data blocks, as meters send them; so SN answers in blocks regardless.
        if !sn
            && !self
                .granted()
                .conformance
                .contains(Conformance::BLOCK_TRANSFER_WITH_GET_OR_READ)
        {
            // The answer does not fit and the client cannot take blocks.
            return GetResponse::Normal {
                invoke_id,
                result: super::xdlms::GetDataResult::Error(DataAccessResult::OtherReason),
            }
            .encode();
        }
        self.long_read = Some(LongRead {
            raw,
            offset: 0,
            block: 0,
            sn,
        });
        self.emit_block(invoke_id)
    }

    fn emit_block(&mut self, invoke_id: u8) -> Vec<u8> {
        let size = self.block_size();
        let Some(lr) = self.long_read.as_mut() else {
            return exception(1, 1);
        };
        let end = (lr.offset + size).min(lr.raw.len());
        let chunk = lr.raw[lr.offset..end].to_vec();
        lr.offset = end;
        lr.block += 1;
        let last = end >= lr.raw.len();
        let (block, sn) = (lr.block, lr.sn);
        if last {
            self.long_read = None;
        }
        if sn {
            ReadResponse(vec![ReadResult::DataBlock {
                last_block: last,
                block_number: block as u16,
                raw: chunk,
            }])
            .encode()
        } else {
            GetResponse::WithDataBlock {
                invoke_id,
                last_block: last,
                block_number: block,
                result: Ok(chunk),
            }
            .encode()
        }
    }

    fn next_block(&mut self, invoke_id: u8, block_number: u32) -> Vec<u8> {
        let refuse = |e: DataAccessResult| {
            GetResponse::WithDataBlock {
                invoke_id,
                last_block: true,
                block_number,
                result: Err(e),
            }
            .encode()
        };
        match &self.long_read {
            None => refuse(DataAccessResult::NoLongGetInProgress),
            Some(lr) if lr.block != block_number || lr.sn => {
                self.long_read = None;
                refuse(DataAccessResult::DataBlockNumberInvalid)
            }
            Some(_) => self.emit_block(invoke_id),
        }
    }

    /// Resolves an SN variable name to (class, logical name, attribute).
    fn resolve(&self, objects: &[ObjectListEntry], name: u16) -> Option<AttributeDescriptor> {
        let o = objects
            .iter()
            .filter(|o| o.short_name.is_some_and(|b| b <= name))
            .max_by_key(|o| o.short_name)?;
        let offset = name - o.short_name?;
        if !offset.is_multiple_of(8) || offset / 8 > 30 {
            return None;
        }
        Some(AttributeDescriptor {
            class_id: o.class_id,
            instance: o.obis,
            attribute: (offset / 8 + 1) as i8,
        })
    }

    fn read(&mut self, req: ReadRequest, model: &mut dyn CosemServer) -> Vec<u8> {
        if let [VariableAccess::BlockNumber(n)] = req.0.as_slice() {
            return match &self.long_read {
                Some(lr) if lr.sn && lr.block == *n as u32 => self.emit_block(0),
                _ => {
                    self.long_read = None;
                    ReadResponse(vec![ReadResult::Error(
                        DataAccessResult::DataBlockNumberInvalid,
                    )])
                    .encode()
                }
            };
        }
        self.long_read = None;
        let objects = model.objects();
        let results: Vec<Result<Data, DataAccessResult>> = req
            .0
            .iter()
            .map(|v| {
                let (name, access) = match v {
                    VariableAccess::Name(n) => (*n, None),
                    VariableAccess::Parameterized {
                        name,
                        selector,
                        parameters,
                    } => (
                        *name,
                        Some(SelectiveAccess {
                            selector: *selector,
                            parameters: parameters.clone(),
                        }),
                    ),
                    VariableAccess::BlockNumber(_) => return Err(DataAccessResult::OtherReason),
                };
                let attr = self
                    .resolve(&objects, name)
                    .ok_or(DataAccessResult::ObjectUndefined)?;
                self.may_read(&attr)?;
                model.get(&attr, access.as_ref())
            })
            .collect();
        let limit = self.granted().send_limit;
        if let [single] = results.as_slice() {
            let raw = match single {
                Ok(d) => d.to_bytes(),
                Err(e) => return ReadResponse(vec![ReadResult::Error(*e)]).encode(),
            };
            let mut whole = vec![0x0C, 0x01, 0x00];
            whole.extend_from_slice(&raw);
            return if whole.len() <= limit {
                whole
            } else {
                self.start_blocks(0, raw, true)
            };
        }
        let raw = self.results_list(results);
        let mut whole = vec![0x0C];
        whole.extend_from_slice(&raw);
        if whole.len() <= limit {
            whole
        } else {
            self.start_blocks(0, raw, true)
        }
    }
}

fn mechanism_of(m: HlsMechanism) -> Mechanism {
    match m {
        HlsMechanism::Manufacturer => Mechanism::High,
        HlsMechanism::Md5 => Mechanism::HighMd5,
        HlsMechanism::Sha1 => Mechanism::HighSha1,
        HlsMechanism::Gmac => Mechanism::HighGmac,
        HlsMechanism::Sha256 => Mechanism::HighSha256,
    }
}

fn exception(state: u8, service: u8) -> Vec<u8> {
    Apdu::ExceptionResponse(ExceptionResponse {
        state_error: state,
        service_error: service,
        invocation_counter: None,
    })
    .encode()
}

/// The object_list attribute of an Association LN (class 15) for these objects: every
/// attribute read-only, no methods listed.
pub fn object_list_ln(objects: &[ObjectListEntry], attribute_count: impl Fn(u16) -> u8) -> Data {
    Data::Array(
        objects
            .iter()
            .map(|o| {
                let attrs = (1..=attribute_count(o.class_id) as i8)
                    .map(|a| Data::Structure(vec![Data::Integer(a), Data::Enum(1), Data::Null]))
                    .collect();
                Data::Structure(vec![
                    Data::LongUnsigned(o.class_id),
                    Data::Unsigned(o.version),
                    Data::OctetString(o.obis.0.to_vec()),
                    Data::Structure(vec![Data::Array(attrs), Data::Array(vec![])]),
                ])
            })
            .collect(),
    )
}

/// The object_list attribute of an Association SN (class 12) for these objects.
pub fn object_list_sn(objects: &[ObjectListEntry]) -> Data {
    Data::Array(
        objects
            .iter()
            .map(|o| {
                Data::Structure(vec![
                    Data::Long(o.short_name.unwrap_or(0) as i16),
                    Data::LongUnsigned(o.class_id),
                    Data::Unsigned(o.version),
                    Data::OctetString(o.obis.0.to_vec()),
                ])
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dlms::client::{AttributeRef, ClientSession, ClientSettings, ReadError, Step};
    use crate::dlms::obis::Obis;

    /// A model with one register and one large array, for exercising blocks.
    struct Model {
        objects: Vec<ObjectListEntry>,
    }

    impl CosemServer for Model {
        fn objects(&self) -> Vec<ObjectListEntry> {
            self.objects.clone()
        }
        fn get(
            &mut self,
            a: &AttributeDescriptor,
            _: Option<&SelectiveAccess>,
        ) -> Result<Data, DataAccessResult> {
            match (a.instance.to_string().as_str(), a.attribute) {
                ("1.0.1.8.0.255", 2) => Ok(Data::DoubleLongUnsigned(42)),
                ("1.0.1.8.0.255", 3) => {
                    Ok(Data::Structure(vec![Data::Integer(-1), Data::Enum(30)]))
                }
                ("1.0.99.1.0.255", 2) => Ok(Data::Array(
                    (0..3000).map(Data::DoubleLongUnsigned).collect(),
                )),
                (_, 2) if a.class_id == 12 => Ok(object_list_sn(&self.objects)),
                _ => Err(DataAccessResult::ObjectUndefined),
            }
        }
    }

    fn model() -> Model {
        let e = |c, o: &str, sn| ObjectListEntry {
            class_id: c,
            version: 0,
            obis: o.parse().unwrap(),
            short_name: Some(sn),
        };
        Model {
            objects: vec![
                e(3, "1.0.1.8.0.255", 0x100),
                e(7, "1.0.99.1.0.255", 0x200),
                e(12, "0.0.40.0.0.255", 0xFA00),
            ],
        }
    }

    /// Drives a client read against a server session in memory.
    fn run(
        client: &ClientSession,
        server: &mut ServerSession,
        m: &mut Model,
        items: &[AttributeRef],
    ) -> Vec<Result<Data, ReadError>> {
        let mut op = client.read(items).unwrap();
        let mut step = op.start();
        let mut rounds = 0;
        while let Step::Send(req) = step {
            let resp = server.handle(&req, m).expect("an answer");
            step = op.handle(&resp).unwrap();
            rounds += 1;
            assert!(rounds < 1000);
        }
        op.into_results()
    }

    fn pair(r: Referencing) -> (ClientSession, ServerSession) {
        let mut c = ClientSession::new(ClientSettings::new(r));
        let mut s = ServerSession::new(ServerSettings::new(r));
        let aare = s.handle(&c.aarq().unwrap(), &mut model()).unwrap();
        c.handle_aare(&aare).unwrap();
        (c, s)
    }

    #[test]
    fn ln_round_trip_with_list_and_blocks() {
        let (c, mut s) = pair(Referencing::Ln);
        let mut m = model();
        let r1 = Obis::new(1, 0, 1, 8, 0, 255);
        let items = [
            AttributeRef::new(3, r1, 2),
            AttributeRef::new(3, r1, 3),
            AttributeRef::new(3, Obis::new(1, 0, 9, 9, 9, 255), 2),
            AttributeRef::new(7, Obis::new(1, 0, 99, 1, 0, 255), 2),
        ];
        let r = run(&c, &mut s, &mut m, &items);
        assert_eq!(r[0], Ok(Data::DoubleLongUnsigned(42)));
        assert!(r[1].is_ok());
        assert_eq!(
            r[2],
            Err(ReadError::Access(DataAccessResult::ObjectUndefined))
        );
        let Ok(Data::Array(rows)) = &r[3] else {
            panic!("{:?}", r[3])
        };
        assert_eq!(rows.len(), 3000);
    }

    #[test]
    fn sn_round_trip_with_blocks() {
        let (mut c, mut s) = pair(Referencing::Sn);
        let mut m = model();
        let list = run(&c, &mut s, &mut m, &[c.object_list_attribute()]);
        let objects = crate::dlms::client::parse_object_list(list[0].as_ref().unwrap()).unwrap();
        c.set_short_names(&objects);
        let items = [
            AttributeRef::new(3, Obis::new(1, 0, 1, 8, 0, 255), 2),
            AttributeRef::new(7, Obis::new(1, 0, 99, 1, 0, 255), 2),
        ];
        let r = run(&c, &mut s, &mut m, &items);
        assert_eq!(r[0], Ok(Data::DoubleLongUnsigned(42)));
        let Ok(Data::Array(rows)) = &r[1] else {
            panic!("{:?}", r[1])
        };
        assert_eq!(rows.len(), 3000);
    }

    #[test]
    fn low_password_is_checked() {
        let mut settings = ServerSettings::new(Referencing::Ln);
        settings.authentication = Authentication::Low(b"secret".to_vec());
        let mut s = ServerSession::new(settings);
        let mut cs = ClientSettings::new(Referencing::Ln);
        cs.authentication = Authentication::Low(b"wrong".to_vec());
        let mut c = ClientSession::new(cs.clone());
        let aare = s.handle(&c.aarq().unwrap(), &mut model()).unwrap();
        let e = c.handle_aare(&aare).unwrap_err().to_string();
        assert!(e.contains("authentication failure"), "{e}");
        cs.authentication = Authentication::Low(b"secret".to_vec());
        let mut c = ClientSession::new(cs);
        let aare = s.handle(&c.aarq().unwrap(), &mut model()).unwrap();
        assert!(c.handle_aare(&aare).is_ok());
    }

    #[test]
    fn requests_before_association_get_an_exception() {
        let mut s = ServerSession::new(ServerSettings::new(Referencing::Ln));
        let r = s
            .handle(
                &[0xC0, 0x01, 0xC1, 0, 3, 1, 0, 1, 8, 0, 255, 2, 0],
                &mut model(),
            )
            .unwrap();
        assert_eq!(r[0], 0xD8);
    }
}

#[cfg(test)]
mod security_tests {
    use super::*;
    use crate::dlms::client::{
        AttributeRef, Ciphering, ClientSession, ClientSettings, SessionError, Step,
    };

    const BK: &str = "000102030405060708090A0B0C0D0E0F";
    const AK: &str = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF";

    struct One;
    impl CosemServer for One {
        fn objects(&self) -> Vec<ObjectListEntry> {
            Vec::new()
        }
        fn get(
            &mut self,
            _: &AttributeDescriptor,
            _: Option<&SelectiveAccess>,
        ) -> Result<Data, DataAccessResult> {
            Ok(Data::DoubleLongUnsigned(42))
        }
    }

    fn keys() -> (Key, Key) {
        (BK.parse().unwrap(), AK.parse().unwrap())
    }

    /// Associates (with HLS when asked) and returns both ends.
    fn associate(
        auth: Authentication,
        policy: Policy,
        client_secret: Option<&[u8]>,
    ) -> Result<(ClientSession, ServerSession), SessionError> {
        let (bk, ak) = keys();
        let mut ss = ServerSettings::new(Referencing::Ln);
        ss.authentication = auth.clone();
        ss.ciphering = Some(ServerCiphering {
            policy,
            system_title: "4D4D4D0000BC614E".parse().unwrap(),
            block_key: bk.clone(),
            auth_key: ak.clone(),
        });
        let mut server = ServerSession::new(ss);
        server.set_client(18);
        server.next_challenge = b"P6wRJ21F".to_vec();
        let mut cs = ClientSettings::new(Referencing::Ln);
        cs.authentication = match (auth, client_secret) {
            (Authentication::High { mechanism, .. }, Some(s)) => Authentication::High {
                mechanism,
                secret: s.to_vec(),
            },
            (a, _) => a,
        };
        cs.challenge = b"K56iVagY".to_vec();
        cs.ciphering = Some(Ciphering {
            policy,
            system_title: "4142434445464748".parse().unwrap(),
            block_key: bk,
            auth_key: ak,
            dedicated_key: None,
            server_system_title: None,
            invocation_counter: 7,
            meter_counter_floor: 0,
        });
        let mut client = ClientSession::new(cs);
        let aare = server.handle(&client.aarq()?, &mut One).unwrap();
        client.handle_aare(&aare)?;
        if let Some(action) = client.hls_request()? {
            let wire = client.protect(&action)?;
            let reply = server.handle(&wire, &mut One).unwrap();
            let plain = client.unprotect(&reply)?;
            client.handle_hls_response(&plain)?;
        }
        Ok((client, server))
    }

    fn read(client: &mut ClientSession, server: &mut ServerSession) -> Result<Data, SessionError> {
        let mut op = client.read(&[AttributeRef::new(3, Obis::new(1, 0, 1, 8, 0, 255), 2)])?;
        let Step::Send(req) = op.start() else {
            panic!()
        };
        let wire = client.protect(&req)?;
        let answer = server.handle(&wire, &mut One).unwrap();
        let plain = client.unprotect(&answer)?;
        assert_eq!(op.handle(&plain)?, Step::Done);
        Ok(op.into_results().remove(0).unwrap())
    }

    #[test]
    fn every_mechanism_with_every_policy() {
        let mechs = [
            Authentication::None,
            Authentication::Low(b"12345678".to_vec()),
            Authentication::High {
                mechanism: HlsMechanism::Manufacturer,
                secret: b"Gurux0123456789A".to_vec(),
            },
            Authentication::High {
                mechanism: HlsMechanism::Md5,
                secret: b"Gurux".to_vec(),
            },
            Authentication::High {
                mechanism: HlsMechanism::Sha1,
                secret: b"Gurux".to_vec(),
            },
            Authentication::High {
                mechanism: HlsMechanism::Sha256,
                secret: b"Gurux".to_vec(),
            },
            Authentication::High {
                mechanism: HlsMechanism::Gmac,
                secret: Vec::new(),
            },
        ];
        for auth in mechs {
            for policy in [Policy::None, Policy::Auth, Policy::Enc, Policy::AuthEnc] {
                let (mut c, mut s) = associate(auth.clone(), policy, None)
                    .unwrap_or_else(|e| panic!("{auth:?} {policy:?}: {e}"));
                assert_eq!(
                    read(&mut c, &mut s).unwrap(),
                    Data::DoubleLongUnsigned(42),
                    "{auth:?} {policy:?}"
                );
                assert_eq!(c.is_ciphered(), policy != Policy::None);
            }
        }
    }

    #[test]
    fn wrong_hls_secret_fails_both_ways() {
        for mechanism in [
            HlsMechanism::Manufacturer,
            HlsMechanism::Md5,
            HlsMechanism::Sha1,
            HlsMechanism::Sha256,
        ] {
            let auth = Authentication::High {
                mechanism,
                secret: b"Gurux0123456789A".to_vec(),
            };
            let e = associate(auth, Policy::None, Some(b"wrong-secret"))
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("meter failed authentication") || e.contains("refused"),
                "{mechanism:?}: {e}"
            );
        }
    }

    #[test]
    fn replayed_and_tampered_answers_are_rejected() {
        let (mut c, mut s) = associate(Authentication::None, Policy::AuthEnc, None).unwrap();
        let mut op = c
            .read(&[AttributeRef::new(3, Obis::new(1, 0, 1, 8, 0, 255), 2)])
            .unwrap();
        let Step::Send(req) = op.start() else {
            panic!()
        };
        let answer = s.handle(&c.protect(&req).unwrap(), &mut One).unwrap();
        assert!(c.unprotect(&answer).is_ok());
        let e = c.unprotect(&answer).unwrap_err().to_string();
        assert!(e.contains("replayed"), "{e}");
        let mut answer2 = s.handle(&c.protect(&req).unwrap(), &mut One).unwrap();
        let n = answer2.len();
        answer2[n - 14] ^= 0x01;
        let e = c.unprotect(&answer2).unwrap_err().to_string();
        assert!(e.contains("does not verify"), "{e}");
        // A plain answer in a ciphered association is refused too.
        let e = c
            .unprotect(&[0xC4, 0x01, 0xC1, 0x00, 0x06, 0, 0, 0, 1])
            .unwrap_err()
            .to_string();
        assert!(!e.is_empty());
        // The client's counter went up with every protected APDU and never repeats.
        assert!(c.invocation_counter().unwrap() > 7);
    }

    #[test]
    fn the_public_client_may_read_without_security() {
        let (bk, ak) = keys();
        let mut ss = ServerSettings::new(Referencing::Ln);
        ss.authentication = Authentication::High {
            mechanism: HlsMechanism::Gmac,
            secret: Vec::new(),
        };
        ss.ciphering = Some(ServerCiphering {
            policy: Policy::AuthEnc,
            system_title: "4D4D4D0000BC614E".parse().unwrap(),
            block_key: bk,
            auth_key: ak,
        });
        let mut s = ServerSession::new(ss);
        s.set_client(16);
        let mut c = ClientSession::new(ClientSettings::new(Referencing::Ln));
        let aare = s.handle(&c.aarq().unwrap(), &mut One).unwrap();
        c.handle_aare(&aare).unwrap();
        assert_eq!(read(&mut c, &mut s).unwrap(), Data::DoubleLongUnsigned(42));
        // Any other client must use the configured security.
        s.set_client(18);
        let mut c = ClientSession::new(ClientSettings::new(Referencing::Ln));
        let aare = s.handle(&c.aarq().unwrap(), &mut One).unwrap();
        assert!(c.handle_aare(&aare).is_err());
    }
}
