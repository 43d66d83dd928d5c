//! AARE: the server's association response (BER, tag 0x61).

use super::ber;
use super::context::{ApplicationContext, Mechanism};
use crate::dlms::axdr::{DecodeError, Reader};
use crate::dlms::xdlms::error::{decode_apdu, ApduError};
use std::fmt;

/// Whether the association was accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AssociationResult {
    /// Accepted.
    Accepted = 0,
    /// Rejected; retrying will not help.
    RejectedPermanent = 1,
    /// Rejected for now.
    RejectedTransient = 2,
}

impl AssociationResult {
    /// The result with this code.
    pub fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(Self::Accepted),
            1 => Some(Self::RejectedPermanent),
            2 => Some(Self::RejectedTransient),
            _ => None,
        }
    }
}

impl fmt::Display for AssociationResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Accepted => "accepted",
            Self::RejectedPermanent => "rejected (permanent)",
            Self::RejectedTransient => "rejected (transient)",
        })
    }
}

/// The result-source-diagnostic: who gave the result and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Diagnostic {
    /// acse-service-user diagnostic (tag A1).
    User(u8),
    /// acse-service-provider diagnostic (tag A2).
    Provider(u8),
}

const USER_DIAGNOSTICS: [&str; 15] = [
    "null",
    "no reason given",
    "application context name not supported",
    "calling AP title not recognized",
    "calling AP invocation identifier not recognized",
    "calling AE qualifier not recognized",
    "calling AE invocation identifier not recognized",
    "called AP title not recognized",
    "called AP invocation identifier not recognized",
    "called AE qualifier not recognized",
    "called AE invocation identifier not recognized",
    "authentication mechanism name not recognised",
    "authentication mechanism name required",
    "authentication failure",
    "authentication required",
];

const PROVIDER_DIAGNOSTICS: [&str; 3] = ["null", "no reason given", "no common ACSE version"];

impl Diagnostic {
    /// A readable explanation, e.g. "authentication failure".
    pub fn describe(&self) -> String {
        let (table, v, who): (&[&str], u8, &str) = match *self {
            Diagnostic::User(v) => (&USER_DIAGNOSTICS, v, "acse-service-user"),
            Diagnostic::Provider(v) => (&PROVIDER_DIAGNOSTICS, v, "acse-service-provider"),
        };
        match table.get(v as usize) {
            Some(s) => (*s).to_string(),
            None => format!("unknown {who} diagnostic {v}"),
        }
    }

    fn tag(self) -> u8 {
        match self {
            Diagnostic::User(_) => 0xA1,
            Diagnostic::Provider(_) => 0xA2,
        }
    }

    fn value(self) -> u8 {
        match self {
            Diagnostic::User(v) | Diagnostic::Provider(v) => v,
        }
    }
}

/// An association response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aare {
    /// Application context (as proposed, or the one the server wants).
    pub context: ApplicationContext,
    /// Accepted or rejected.
    pub result: AssociationResult,
    /// Why (14 "authentication required" with result accepted = HLS pass 2).
    pub diagnostic: Diagnostic,
    /// The server system title.
    pub responding_ap_title: Option<Vec<u8>>,
    /// Authentication mechanism, sent for HLS.
    pub mechanism: Option<Mechanism>,
    /// The server challenge StoC (HLS).
    pub responding_authentication_value: Option<Vec<u8>>,
    /// Raw xDLMS user-information: InitiateResponse, ConfirmedServiceError or glo-initiate-response.
    pub user_information: Option<Vec<u8>>,
}

impl Aare {
    /// APDU tag.
    pub const TAG: u8 = 0x61;

    /// The BER bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut c = Vec::new();
        self.context.encode(&mut c);
        ber::write_explicit(&mut c, 0xA2, 0x02, &[self.result as u8]);
        let mut diag = Vec::with_capacity(5);
        ber::write_explicit(
            &mut diag,
            self.diagnostic.tag(),
            0x02,
            &[self.diagnostic.value()],
        );
        ber::write_tlv(&mut c, 0xA3, &diag);
        if let Some(t) = &self.responding_ap_title {
            ber::write_explicit(&mut c, 0xA4, 0x04, t);
        }
        if let Some(m) = self.mechanism {
            ber::write_tlv(&mut c, 0x88, &[0x07, 0x80]);
            m.encode(&mut c, 0x89);
        }
        if let Some(v) = &self.responding_authentication_value {
            ber::write_explicit(&mut c, 0xAA, 0x80, v);
        }
        if let Some(u) = &self.user_information {
            ber::write_explicit(&mut c, 0xBE, 0x04, u);
        }
        let mut out = Vec::with_capacity(c.len() + 4);
        ber::write_tlv(&mut out, Self::TAG, &c);
        out
    }

    /// Decodes the BER bytes, skipping optional fields this crate does not use.
    pub fn decode(bytes: &[u8]) -> Result<Self, ApduError> {
        decode_apdu("AARE", bytes, Self::read)
    }

    fn read(r: &mut Reader) -> Result<Self, DecodeError> {
        ber::read_apdu_header(r, Self::TAG, "AARE")?;
        let (mut context, mut result, mut diagnostic) = (None, None, None);
        let mut responding_ap_title = None;
        let mut mechanism = None;
        let mut responding_authentication_value = None;
        let mut user_information = None;
        while !r.is_empty() {
            let (tag, len) = ber::read_header(r, "AARE field")?;
            let at = r.position();
            match tag {
                0xA1 => context = Some(ApplicationContext::decode(r, len)?),
                0xA2 => {
                    let v = ber::read_small_integer(r, len, "association result")?;
                    result = Some(AssociationResult::from_u8(v).ok_or_else(|| {
                        DecodeError::Invalid {
                            what: "association result",
                            at,
                            reason: format!("{v} is not 0, 1 or 2"),
                        }
                    })?);
                }
                0xA3 => {
                    let (which, inner) = ber::read_header(r, "result-source-diagnostic")?;
                    let v = ber::read_small_integer(r, inner, "result-source-diagnostic")?;
                    ber::check_consumed(r, at, len, "result-source-diagnostic")?;
                    diagnostic = Some(match which {
                        0xA1 => Diagnostic::User(v),
                        0xA2 => Diagnostic::Provider(v),
                        tag => {
                            return Err(DecodeError::UnknownTag {
                                what: "result-source-diagnostic source",
                                tag,
                                at,
                            })
                        }
                    });
                }
                0xA4 => {
                    let t = ber::read_explicit(r, len, 0x04, "responding-AP-title")?;
                    responding_ap_title = Some(t.to_vec());
                }
                0x89 => mechanism = Some(Mechanism::decode(r, len)?),
                0xAA => {
                    let v = ber::read_explicit(r, len, 0x80, "responding-authentication-value")?;
                    responding_authentication_value = Some(v.to_vec());
                }
                0xBE => {
                    let u = ber::read_explicit(r, len, 0x04, "user-information")?;
                    user_information = Some(u.to_vec());
                }
                _ => {
                    r.bytes(len, "AARE field")?;
                }
            }
        }
        let missing = |what| DecodeError::Invalid {
            what,
            at: r.position(),
            reason: "the AARE has none".into(),
        };
        Ok(Aare {
            context: context.ok_or_else(|| missing("application-context-name"))?,
            result: result.ok_or_else(|| missing("association result"))?,
            diagnostic: diagnostic.ok_or_else(|| missing("result-source-diagnostic"))?,
            responding_ap_title,
            mechanism,
            responding_authentication_value,
            user_information,
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::dlms::acse::{Conformance, InitiateResponse};
    use crate::dlms::data::tests::unhex;
    use crate::dlms::xdlms::ConfirmedServiceError;
    use proptest::prelude::*;

    const A4: &str = "61 29 A1 09 06 07 60 85 74 05 08 01 01 A2 03 02 01 00 A3 05 A1 03 02 01 00 BE 10 04 0E 08 00 06 5F 1F 04 00 00 50 1F 01 F4 00 07";

    fn initiate(aare: &Aare) -> InitiateResponse {
        InitiateResponse::decode(aare.user_information.as_ref().unwrap()).unwrap()
    }

    #[test]
    fn a4_accepted() {
        let a = Aare::decode(&unhex(A4)).unwrap();
        assert_eq!(a.context, ApplicationContext::LogicalNames);
        assert_eq!(a.result, AssociationResult::Accepted);
        assert_eq!(a.diagnostic, Diagnostic::User(0));
        let i = initiate(&a);
        assert_eq!(i.negotiated_conformance, Conformance(0x00501F));
        assert_eq!(i.server_max_receive_pdu_size, 500);
        assert_eq!(i.vaa_name, 7);
        assert_eq!(a.encode(), unhex(A4));
    }

    #[test]
    fn a5_hls_pass_2() {
        let b = unhex("61 42 A1 09 06 07 60 85 74 05 08 01 01 A2 03 02 01 00 A3 05 A1 03 02 01 0E 88 02 07 80 89 07 60 85 74 05 08 02 05 AA 0A 80 08 50 36 77 52 4A 32 31 46 BE 10 04 0E 08 00 06 5F 1F 04 00 00 50 1F 01 F4 00 07");
        let a = Aare::decode(&b).unwrap();
        assert_eq!(a.result, AssociationResult::Accepted);
        assert_eq!(a.diagnostic.describe(), "authentication required");
        assert_eq!(a.mechanism, Some(Mechanism::HighGmac));
        assert_eq!(
            a.responding_authentication_value.as_deref(),
            Some(&b"P6wRJ21F"[..])
        );
        assert_eq!(a.encode(), b);
    }

    #[test]
    fn a6_a7_a8_rejections() {
        let a6 = unhex(
            A4.replace(
                "A2 03 02 01 00 A3 05 A1 03 02 01 00",
                "A2 03 02 01 01 A3 05 A1 03 02 01 02",
            )
            .as_str(),
        );
        let a = Aare::decode(&a6).unwrap();
        assert_eq!(a.result, AssociationResult::RejectedPermanent);
        assert_eq!(
            a.diagnostic.describe(),
            "application context name not supported"
        );

        let a7 = unhex("61 1F A1 09 06 07 60 85 74 05 08 01 01 A2 03 02 01 01 A3 05 A1 03 02 01 01 BE 06 04 04 0E 01 06 01");
        let a = Aare::decode(&a7).unwrap();
        assert_eq!(a.diagnostic.describe(), "no reason given");
        let e = ConfirmedServiceError::decode(a.user_information.as_ref().unwrap()).unwrap();
        assert_eq!((e.service, e.error_class, e.value), (1, 6, 1));
        assert!(e.to_string().contains("DLMS version too low"), "{e}");
        assert_eq!(a.encode(), a7);

        let a8 = unhex("61 29 A1 09 06 07 60 85 74 05 08 01 01 A2 03 02 01 01 A3 05 A1 03 02 01 0D BE 10 04 0E 08 00 06 5F 1F 04 00 00 10 14 00 80 00 07");
        let a = Aare::decode(&a8).unwrap();
        assert_eq!(a.diagnostic.describe(), "authentication failure");
        assert_eq!(initiate(&a).server_max_receive_pdu_size, 128);
        let lg =
            unhex("61 17 A1 09 06 07 60 85 74 05 08 01 01 A2 03 02 01 01 A3 05 A1 03 02 01 0D");
        let a = Aare::decode(&lg).unwrap();
        assert_eq!(a.user_information, None);
        assert_eq!(a.encode(), lg);
    }

    #[test]
    fn a9_short_names() {
        // As printed in the notes the lengths (61 28, BE 0F, 04 0D) are one byte short of the
        // 14-byte InitiateResponse they carry; the decoder must refuse that, naming the AARE.
        let printed = unhex("61 28 A1 09 06 07 60 85 74 05 08 01 02 A2 03 02 01 00 A3 05 A1 03 02 01 00 BE 0F 04 0D 08 00 06 5F 1F 04 00 18 02 20 09 60 FA 00");
        let e = Aare::decode(&printed).unwrap_err().to_string();
        assert!(e.starts_with("bad AARE: "), "{e}");
        let b = unhex("61 29 A1 09 06 07 60 85 74 05 08 01 02 A2 03 02 01 00 A3 05 A1 03 02 01 00 BE 10 04 0E 08 00 06 5F 1F 04 00 18 02 20 09 60 FA 00");
        let a = Aare::decode(&b).unwrap();
        assert_eq!(a.context, ApplicationContext::ShortNames);
        let i = initiate(&a);
        assert_eq!((i.server_max_receive_pdu_size, i.vaa_name), (2400, 0xFA00));
        assert_eq!(a.encode(), b);
    }

    #[test]
    fn trace_and_ciphered_aares() {
        // GX trace, wrapper SN.
        let a = Aare::decode(&unhex("6129A109060760857405080102A203020100A305A103020100BE10040E0800065F1F04001C03200400FA00")).unwrap();
        let i = initiate(&a);
        assert_eq!((i.server_max_receive_pdu_size, i.vaa_name), (1024, 0xFA00));
        assert!(i.negotiated_conformance.contains(Conformance::READ));
        // GX HLS-GMAC with authenc: responding-AP-title and ciphered user-information.
        let b = unhex("6169A109060760857405080103A203020100A305A10302010EA40A04084D4D4D0000BC614E88020780890760857405080205AA1280106CB4EE3220E3D46DEF22BD1E874DC3D0BE230421281F30000000006048A9287105610C44B0A7DFB21ECF2CAD9A5E36B3DC30857E2E");
        let a = Aare::decode(&b).unwrap();
        assert_eq!(
            a.responding_ap_title.as_deref(),
            Some(&unhex("4D4D4D0000BC614E")[..])
        );
        assert_eq!(a.user_information.as_ref().unwrap()[0], 0x28);
        assert_eq!(a.encode(), b);
    }

    #[test]
    fn provider_diagnostic_and_errors() {
        let d = Diagnostic::Provider(2);
        assert_eq!(d.describe(), "no common ACSE version");
        assert_eq!(
            Diagnostic::User(99).describe(),
            "unknown acse-service-user diagnostic 99"
        );
        let b = unhex("61 12 A1 09 06 07 60 85 74 05 08 01 01 A3 05 A2 03 02 01 02");
        let e = Aare::decode(&b).unwrap_err().to_string();
        assert!(e.contains("association result"), "{e}");
        let b = unhex("61 17 A1 09 06 07 60 85 74 05 08 01 01 A2 03 02 01 07 A3 05 A1 03 02 01 00");
        let e = Aare::decode(&b).unwrap_err().to_string();
        assert!(e.contains("7 is not 0, 1 or 2"), "{e}");
    }

    pub fn arb_aare() -> impl Strategy<Value = Aare> {
        let bytes = || proptest::option::of(proptest::collection::vec(any::<u8>(), 0..200));
        (
            1u8..=4,
            0u8..=2,
            (any::<bool>(), any::<u8>()),
            bytes(),
            proptest::option::of(0u8..=7),
            bytes(),
            bytes(),
        )
            .prop_map(|(c, res, (user, d), t, m, v, u)| Aare {
                context: ApplicationContext::from_id(c).unwrap(),
                result: AssociationResult::from_u8(res).unwrap(),
                diagnostic: if user {
                    Diagnostic::User(d)
                } else {
                    Diagnostic::Provider(d)
                },
                responding_ap_title: t,
                mechanism: m.and_then(Mechanism::from_id),
                responding_authentication_value: v,
                user_information: u,
            })
    }

    proptest! {
        #[test]
        fn round_trip(a in arb_aare()) {
            prop_assert_eq!(Aare::decode(&a.encode()).unwrap(), a);
        }

        #[test]
        fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = Aare::decode(&b);
            let mut tagged = vec![0x61, b.len().min(0x7F) as u8];
            tagged.extend_from_slice(&b);
            let _ = Aare::decode(&tagged);
        }
    }
}
