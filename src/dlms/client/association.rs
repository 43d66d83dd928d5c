//! Opening and closing the application association: AARQ/AARE, HLS passes 3 and 4, RLRQ/RLRE.

use super::{Authentication, ClientSession, Referencing, SessionError};
use crate::dlms::acse::{
    Aare, Aarq, ApplicationContext, AssociationResult, Conformance, InitiateRequest,
    InitiateResponse, Mechanism, Rlrq,
};
use crate::dlms::data::Data;
use crate::dlms::obis::Obis;
use crate::dlms::protection::Protection;
use crate::dlms::security::{
    hls_response, hls_verify, GmacParams, HlsMechanism, Sha256Params, SystemTitle,
};
use crate::dlms::xdlms::{
    ActionRequest, ActionResponse, Apdu, DataAccessResult, GetDataResult, MethodDescriptor,
    ReadRequest, ReadResponse, ReadResult, VariableAccess,
};

/// The base name of the Association SN object (IEC 62056-6-2: always 0xFA00).
pub const ASSOCIATION_SN: u16 = 0xFA00;

/// The short name of the Association SN's method 8, reply_to_HLS_authentication: base name +
/// the class's first method offset (0x20) + (8 − 1) × 8 = 0xFA58 (Green Book; Gurux and
/// jDLMS agree).
pub const REPLY_TO_HLS_SN: u16 = ASSOCIATION_SN + 0x20 + 7 * 8;

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

impl ClientSession {
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
        if self.settings.referencing == Referencing::Sn {
            // Over SN a method that returns data is invoked by a READ of its short name with
            // parameterized access (selector 0, the method's parameter); the answer is the
            // READ's data.
            return Ok(Some(
                ReadRequest(vec![VariableAccess::Parameterized {
                    name: REPLY_TO_HLS_SN,
                    selector: 0,
                    parameters: Data::OctetString(f),
                }])
                .encode(),
            ));
        }
        let (class_id, method) = (15, 1);
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
            Apdu::ReadResponse(ReadResponse(results))
                if self.settings.referencing == Referencing::Sn =>
            {
                match results.as_slice() {
                    [ReadResult::Data(Data::OctetString(b))] => b.clone(),
                    // Some meters (Gurux) answer a wrong f(StoC) with null-data.
                    [ReadResult::Data(Data::Null)] => {
                        self.association = None;
                        return Err(SessionError::MeterFailedAuthentication(
                            "the meter refused our answer to its challenge (it answered null-data)"
                                .into(),
                        ));
                    }
                    [ReadResult::Error(result)] => {
                        self.association = None;
                        return Err(SessionError::MeterFailedAuthentication(format!(
                            "the meter refused our answer to its challenge ({result})"
                        )));
                    }
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
                    expected: "the ACTION response (LN) or READ response (SN) of HLS pass 4",
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
            proposed_conformance: if s.gbt {
                s.conformance | Conformance::GENERAL_BLOCK_TRANSFER
            } else {
                s.conformance
            },
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

    /// Takes the pre-established association of the settings as the current one: no AARQ is
    /// sent, the meter accepts this client's APDUs without one. Only unauthenticated and plain:
    /// without an AARE there are no challenges, and no meter system title to decipher with.
    pub fn pre_establish(&mut self) -> Result<&Association, SessionError> {
        let Some(pre) = self.settings.pre_established else {
            return Err(SessionError::Settings(
                "no pre-established association is configured".into(),
            ));
        };
        if !matches!(self.settings.authentication, Authentication::None) {
            return Err(SessionError::Settings(
                "a pre-established association has no authentication: there is no AARQ to carry it"
                    .into(),
            ));
        }
        if self
            .settings
            .ciphering
            .as_ref()
            .is_some_and(|c| c.policy != crate::dlms::security::Policy::None)
        {
            return Err(SessionError::Settings(
                "a ciphered pre-established association is not supported".into(),
            ));
        }
        self.protection = None;
        Ok(self.association.insert(Association {
            conformance: pre.conformance,
            max_pdu: pre.max_pdu,
            vaa_name: match self.settings.referencing {
                Referencing::Ln => 0x0007,
                Referencing::Sn => 0xFA00,
            },
            server_system_title: None,
        }))
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
}
