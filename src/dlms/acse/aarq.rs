//! AARQ: the client's association request (BER, tag 0x60).

use super::ber;
use super::context::{ApplicationContext, Mechanism};
use crate::dlms::axdr::{DecodeError, Reader};
use crate::dlms::xdlms::error::{decode_apdu, ApduError};

/// An association request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Aarq {
    /// Proposed application context.
    pub context: ApplicationContext,
    /// The client system title (sent when ciphering or HLS-GMAC and up are used).
    pub calling_ap_title: Option<Vec<u8>>,
    /// Authentication mechanism.
    pub mechanism: Mechanism,
    /// The password (LLS) or challenge CtoS (HLS).
    pub calling_authentication_value: Option<Vec<u8>>,
    /// Raw xDLMS bytes of the user-information (InitiateRequest or glo-initiate-request).
    pub user_information: Option<Vec<u8>>,
}

impl Aarq {
    /// APDU tag.
    pub const TAG: u8 = 0x60;

    /// The BER bytes; sender-acse-requirements and mechanism-name only when authenticating.
    pub fn encode(&self) -> Vec<u8> {
        let mut c = Vec::new();
        self.context.encode(&mut c);
        if let Some(t) = &self.calling_ap_title {
            ber::write_explicit(&mut c, 0xA6, 0x04, t);
        }
        if self.mechanism != Mechanism::None {
            ber::write_tlv(&mut c, 0x8A, &[0x07, 0x80]);
            self.mechanism.encode(&mut c, 0x8B);
        }
        if let Some(v) = &self.calling_authentication_value {
            ber::write_explicit(&mut c, 0xAC, 0x80, v);
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
        decode_apdu("AARQ", bytes, Self::read)
    }

    fn read(r: &mut Reader) -> Result<Self, DecodeError> {
        ber::read_apdu_header(r, Self::TAG, "AARQ")?;
        let mut context = None;
        let mut aarq = Aarq {
            context: ApplicationContext::LogicalNames,
            calling_ap_title: None,
            mechanism: Mechanism::None,
            calling_authentication_value: None,
            user_information: None,
        };
        while !r.is_empty() {
            let (tag, len) = ber::read_header(r, "AARQ field")?;
            match tag {
                0xA1 => context = Some(ApplicationContext::decode(r, len)?),
                0xA6 => {
                    let t = ber::read_explicit(r, len, 0x04, "calling-AP-title")?;
                    aarq.calling_ap_title = Some(t.to_vec());
                }
                0x8B => aarq.mechanism = Mechanism::decode(r, len)?,
                0xAC => {
                    let v = ber::read_explicit(r, len, 0x80, "calling-authentication-value")?;
                    aarq.calling_authentication_value = Some(v.to_vec());
                }
                0xBE => {
                    let u = ber::read_explicit(r, len, 0x04, "user-information")?;
                    aarq.user_information = Some(u.to_vec());
                }
                _ => {
                    r.bytes(len, "AARQ field")?;
                }
            }
        }
        aarq.context = context.ok_or_else(|| DecodeError::Invalid {
            what: "application-context-name",
            at: r.position(),
            reason: "the AARQ has none".into(),
        })?;
        Ok(aarq)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::dlms::acse::{Conformance, InitiateRequest};
    use crate::dlms::data::tests::unhex;
    use proptest::prelude::*;

    const A1: &str = "60 1D A1 09 06 07 60 85 74 05 08 01 01 BE 10 04 0E 01 00 00 00 06 5F 1F 04 00 00 7E 1F 04 B0";
    const A2: &str = "60 36 A1 09 06 07 60 85 74 05 08 01 01 8A 02 07 80 8B 07 60 85 74 05 08 02 01 AC 0A 80 08 31 32 33 34 35 36 37 38 BE 10 04 0E 01 00 00 00 06 5F 1F 04 00 00 7E 1F 04 B0";
    const A3: &str = "60 36 A1 09 06 07 60 85 74 05 08 01 01 8A 02 07 80 8B 07 60 85 74 05 08 02 05 AC 0A 80 08 4B 35 36 69 56 61 67 59 BE 10 04 0E 01 00 00 00 06 5F 1F 04 00 00 7E 1F 04 B0";

    fn initiate_1200() -> Vec<u8> {
        InitiateRequest {
            dedicated_key: None,
            response_allowed: true,
            proposed_quality_of_service: None,
            proposed_dlms_version: 6,
            proposed_conformance: Conformance(0x007E1F),
            client_max_receive_pdu_size: 1200,
        }
        .encode()
    }

    fn aarq(mechanism: Mechanism, auth: Option<&[u8]>) -> Aarq {
        Aarq {
            context: ApplicationContext::LogicalNames,
            calling_ap_title: None,
            mechanism,
            calling_authentication_value: auth.map(<[u8]>::to_vec),
            user_information: Some(initiate_1200()),
        }
    }

    #[test]
    fn a1_a2_a3_encode_and_decode() {
        for (hex, a) in [
            (A1, aarq(Mechanism::None, None)),
            (A2, aarq(Mechanism::Low, Some(b"12345678"))),
            (A3, aarq(Mechanism::HighGmac, Some(b"K56iVagY"))),
        ] {
            assert_eq!(a.encode(), unhex(hex));
            assert_eq!(Aarq::decode(&unhex(hex)).unwrap(), a);
        }
    }

    #[test]
    fn trace_and_ciphered_aarqs() {
        // GX MD5 over HDLC (after the LLC header).
        let a = Aarq::decode(&unhex("603EA1090607608574050801018A0207808B0760857405080203AC128010F0B5B31B9AF7BD9E9A35C39ED7471E54BE10040E01000000065F1F0400401E5DFFFF")).unwrap();
        assert_eq!(a.mechanism, Mechanism::HighMd5);
        assert_eq!(a.calling_authentication_value.unwrap().len(), 16);
        let init = InitiateRequest::decode(&a.user_information.unwrap()).unwrap();
        assert_eq!(init.client_max_receive_pdu_size, 0xFFFF);
        // C2: GB ciphered AARQ with system title and glo-initiate-request.
        let c2 = unhex("60 66 A1 09 06 07 60 85 74 05 08 01 03 A6 0A 04 08 4D 4D 4D 00 00 BC 61 4E 8A 02 07 80 8B 07 60 85 74 05 08 02 01 AC 0A 80 08 31 32 33 34 35 36 37 38 BE 34 04 32 21 30 30 01 23 45 67 80 13 02 FF 8A 78 74 13 3D 41 4C ED 25 B4 25 34 D2 8D B0 04 77 20 60 6B 17 5B D5 22 11 BE 68 41 DB 20 4D 39 EE 6F DB 8E 35 68 55");
        let a = Aarq::decode(&c2).unwrap();
        assert_eq!(a.context, ApplicationContext::LogicalNamesCiphered);
        assert_eq!(
            a.calling_ap_title.as_deref(),
            Some(&unhex("4D4D4D0000BC614E")[..])
        );
        assert_eq!(a.user_information.as_ref().unwrap()[..2], [0x21, 0x30]);
        assert_eq!(a.encode(), c2);
    }

    #[test]
    fn unknown_optional_fields_are_skipped() {
        // protocol-version 80 and calling-AE-invocation-id A9 (GX) before the context.
        let b = unhex("60 26 80 02 07 80 A1 09 06 07 60 85 74 05 08 01 02 A9 03 02 01 05 BE 10 04 0E 01 00 00 00 06 5F 1F 04 00 1C 03 20 04 00");
        let a = Aarq::decode(&b).unwrap();
        assert_eq!(a.context, ApplicationContext::ShortNames);
        assert!(a.user_information.is_some());
    }

    #[test]
    fn errors() {
        let e = Aarq::decode(&unhex("60 05 BE 03 04 01 01"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("AARQ") && e.contains("application-context-name"),
            "{e}"
        );
        let e = Aarq::decode(&unhex("60 09 A1 07 06 05 60 85 74 05 08"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown OID"), "{e}");
        assert!(Aarq::decode(&unhex("60 1E A1 09")).is_err());
        assert!(Aarq::decode(&unhex("61 00")).is_err());
    }

    pub fn arb_aarq() -> impl Strategy<Value = Aarq> {
        let bytes = || proptest::option::of(proptest::collection::vec(any::<u8>(), 0..200));
        (1u8..=4, bytes(), 0u8..=7, bytes(), bytes()).prop_map(|(c, t, m, v, u)| Aarq {
            context: ApplicationContext::from_id(c).unwrap(),
            calling_ap_title: t,
            mechanism: Mechanism::from_id(m).unwrap(),
            calling_authentication_value: v,
            user_information: u,
        })
    }

    proptest! {
        #[test]
        fn round_trip(a in arb_aarq()) {
            prop_assert_eq!(Aarq::decode(&a.encode()).unwrap(), a);
        }

        #[test]
        fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = Aarq::decode(&b);
            let mut tagged = vec![0x60, b.len().min(0x7F) as u8];
            tagged.extend_from_slice(&b);
            let _ = Aarq::decode(&tagged);
        }
    }
}
