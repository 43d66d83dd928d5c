//! Accepting associations: AARQ/AARE, conformance and PDU negotiation, authentication, HLS.

use super::session::{exception, Granted};
use super::{ServerSession, PUBLIC_CLIENT};
use crate::dlms::acse::{
    Aare, Aarq, ApplicationContext, AssociationResult, Diagnostic, InitiateRequest,
    InitiateResponse, Mechanism,
};
use crate::dlms::client::{Authentication, Referencing};
use crate::dlms::client::{ASSOCIATION_SN, REPLY_TO_HLS_SN};
use crate::dlms::data::Data;
use crate::dlms::obis::Obis;
use crate::dlms::protection::Protection;
use crate::dlms::security::{
    hls_response, hls_verify, GmacParams, HlsMechanism, Key, Policy, Sha256Params, SystemTitle,
};
use crate::dlms::xdlms::{
    ActionRequest, ActionResponse, Apdu, ConfirmedServiceError, DataAccessResult, ReadRequest,
    ReadResponse, ReadResult, VariableAccess,
};

impl ServerSession {
    /// HLS pass 3 over LN (an ACTION on 0.0.40.0.0.255 method 1 with the client's f(StoC))
    /// and pass 4 (our f(CtoS) in the ACTION response).
    pub(super) fn hls_pass3(&mut self, a: ActionRequest) -> Vec<u8> {
        let ActionRequest::Normal {
            invoke_id,
            method,
            parameters,
        } = a
        else {
            return exception(1, 1);
        };
        let is_reply = method.method == 1 && method.instance == Obis::new(0, 0, 40, 0, 0, 255);
        let answer = match parameters.filter(|_| is_reply) {
            Some(Data::OctetString(answer)) => Some(answer),
            _ => None,
        };
        match self.hls_reply(answer) {
            Ok(f) => ActionResponse::Normal {
                invoke_id,
                result: DataAccessResult::Success,
                return_parameters: Some(crate::dlms::xdlms::GetDataResult::Data(
                    Data::OctetString(f),
                )),
            }
            .encode(),
            Err(()) => ActionResponse::Normal {
                invoke_id,
                result: DataAccessResult::ReadWriteDenied,
                return_parameters: None,
            }
            .encode(),
        }
    }

    /// HLS pass 3 over SN: a READ with parameterized access of the Association SN's
    /// reply_to_HLS_authentication (0xFA58) carrying the client's f(StoC); pass 4 is our
    /// f(CtoS) as the READ's data.
    pub(super) fn hls_pass3_sn(&mut self, r: ReadRequest) -> Vec<u8> {
        let answer = match r.0.as_slice() {
            [VariableAccess::Parameterized {
                name,
                parameters: Data::OctetString(answer),
                ..
            }] if *name == REPLY_TO_HLS_SN => Some(answer.clone()),
            _ => None,
        };
        let result = match self.hls_reply(answer) {
            Ok(f) => ReadResult::Data(Data::OctetString(f)),
            Err(()) => ReadResult::Error(DataAccessResult::ReadWriteDenied),
        };
        ReadResponse(vec![result]).encode()
    }

    /// Checks the client's f(StoC) and makes our f(CtoS); a missing or wrong answer ends the
    /// association.
    fn hls_reply(&mut self, answer: Option<Vec<u8>>) -> Result<Vec<u8>, ()> {
        let Some((mech, secret, ctos, stoc)) = self.pending_hls.take() else {
            return Err(());
        };
        let Some(answer) = answer else {
            self.granted = None;
            return Err(());
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
            return Err(());
        }
        let f = match (mech, self.protection.as_mut()) {
            (HlsMechanism::Gmac, Some(p)) => {
                let Ok(ic) = p.take_ic() else {
                    return Err(());
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
                None => return Err(()),
            },
            _ => hls_response(mech, &secret, &ctos, None, None),
        };
        f.map_err(drop)
    }

    pub(super) fn associate(&mut self, aarq: &Aarq) -> Vec<u8> {
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
        let mut authenticated = false;
        if !public {
            match (&s.authentication, aarq.mechanism) {
                (Authentication::None, Mechanism::None | Mechanism::Low) => {}
                (Authentication::Low(pw), Mechanism::Low) => {
                    if aarq.calling_authentication_value.as_deref() != Some(pw.as_slice()) {
                        return reject(13, None);
                    }
                    authenticated = true;
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
                    // Nothing but pass 3 is served until it succeeds (`pending_hls`).
                    authenticated = true;
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
        self.writer = authenticated;
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
