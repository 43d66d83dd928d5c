//! xDLMS InitiateRequest / InitiateResponse, carried in the AARQ/AARE user-information.

use super::conformance::Conformance;
use crate::dlms::axdr::Reader;
use crate::dlms::xdlms::codec::{read_octets, read_optional, write_octets, write_optional};
use crate::dlms::xdlms::error::{decode_apdu, expect_tag, ApduError};

/// The client's proposal: DLMS version, conformance and the largest APDU it accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitiateRequest {
    /// Dedicated (session) key for ciphering, if any.
    pub dedicated_key: Option<Vec<u8>>,
    /// Whether the server is to respond (DEFAULT TRUE).
    pub response_allowed: bool,
    /// Proposed quality of service.
    pub proposed_quality_of_service: Option<u8>,
    /// Proposed DLMS version (6).
    pub proposed_dlms_version: u8,
    /// Services the client wants.
    pub proposed_conformance: Conformance,
    /// Largest APDU the client accepts.
    pub client_max_receive_pdu_size: u16,
}

impl InitiateRequest {
    /// APDU tag.
    pub const TAG: u8 = 0x01;

    /// The A-XDR bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![Self::TAG];
        write_optional(&mut out, self.dedicated_key.as_ref(), |k, o| {
            write_octets(o, k)
        });
        // response-allowed has DEFAULT TRUE: 00 means "default".
        if self.response_allowed {
            out.push(0);
        } else {
            out.extend_from_slice(&[1, 0]);
        }
        write_optional(
            &mut out,
            self.proposed_quality_of_service.as_ref(),
            |q, o| o.push(*q),
        );
        out.push(self.proposed_dlms_version);
        self.proposed_conformance.encode(&mut out);
        out.extend_from_slice(&self.client_max_receive_pdu_size.to_be_bytes());
        out
    }

    /// Decodes the A-XDR bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, ApduError> {
        decode_apdu("initiate-request", bytes, |r: &mut Reader| {
            expect_tag(r, Self::TAG, "initiate-request")?;
            Ok(InitiateRequest {
                dedicated_key: read_optional(r, "dedicated-key presence", |r| {
                    read_octets(r, "dedicated-key")
                })?,
                response_allowed: read_optional(r, "response-allowed presence", |r| {
                    r.u8("response-allowed")
                })? != Some(0),
                proposed_quality_of_service: read_optional(
                    r,
                    "proposed-quality-of-service presence",
                    |r| r.u8("proposed-quality-of-service"),
                )?,
                proposed_dlms_version: r.u8("proposed-dlms-version-number")?,
                proposed_conformance: Conformance::decode(r)?,
                client_max_receive_pdu_size: r.u16("client-max-receive-pdu-size")?,
            })
        })
    }
}

/// The server's answer: negotiated version and conformance, its max APDU size, the VAA name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitiateResponse {
    /// Negotiated quality of service.
    pub negotiated_quality_of_service: Option<u8>,
    /// Negotiated DLMS version (6).
    pub negotiated_dlms_version: u8,
    /// Services both sides support.
    pub negotiated_conformance: Conformance,
    /// Largest APDU the server accepts; the client must not send more.
    pub server_max_receive_pdu_size: u16,
    /// VAA name: 0x0007 for LN, 0xFA00 for SN.
    pub vaa_name: u16,
}

impl InitiateResponse {
    /// APDU tag.
    pub const TAG: u8 = 0x08;

    /// The A-XDR bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![Self::TAG];
        write_optional(
            &mut out,
            self.negotiated_quality_of_service.as_ref(),
            |q, o| o.push(*q),
        );
        out.push(self.negotiated_dlms_version);
        self.negotiated_conformance.encode(&mut out);
        out.extend_from_slice(&self.server_max_receive_pdu_size.to_be_bytes());
        out.extend_from_slice(&self.vaa_name.to_be_bytes());
        out
    }

    /// Decodes the A-XDR bytes.
    pub fn decode(bytes: &[u8]) -> Result<Self, ApduError> {
        decode_apdu("initiate-response", bytes, |r: &mut Reader| {
            expect_tag(r, Self::TAG, "initiate-response")?;
            Ok(InitiateResponse {
                negotiated_quality_of_service: read_optional(
                    r,
                    "negotiated-quality-of-service presence",
                    |r| r.u8("negotiated-quality-of-service"),
                )?,
                negotiated_dlms_version: r.u8("negotiated-dlms-version-number")?,
                negotiated_conformance: Conformance::decode(r)?,
                server_max_receive_pdu_size: r.u16("server-max-receive-pdu-size")?,
                vaa_name: r.u16("vaa-name")?,
            })
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::dlms::data::tests::unhex;
    use proptest::prelude::*;

    #[test]
    fn request_vectors() {
        let b = unhex("01 00 00 00 06 5F 1F 04 00 00 7E 1F 04 B0");
        let req = InitiateRequest::decode(&b).unwrap();
        assert_eq!(
            req,
            InitiateRequest {
                dedicated_key: None,
                response_allowed: true,
                proposed_quality_of_service: None,
                proposed_dlms_version: 6,
                proposed_conformance: Conformance(0x007E1F),
                client_max_receive_pdu_size: 1200,
            }
        );
        assert_eq!(req.encode(), b);
        // With a dedicated key (C2 plaintext).
        let b = unhex("01 01 10 00112233445566778899AABBCCDDEEFF 00 00 06 5F1F0400007E1F 04B0");
        let req = InitiateRequest::decode(&b).unwrap();
        assert_eq!(req.dedicated_key.as_deref().unwrap().len(), 16);
        assert_eq!(req.encode(), b);
        // GX trace: conformance 40 1E 5D, max PDU 0xFFFF.
        let req = InitiateRequest::decode(&unhex("01000000065F1F0400401E5DFFFF")).unwrap();
        assert_eq!(req.client_max_receive_pdu_size, 0xFFFF);
        assert!(req
            .proposed_conformance
            .contains(Conformance::GENERAL_PROTECTION));
        // response-allowed FALSE is 01 00.
        let b = unhex("01 00 01 00 00 06 5F1F0400001E1D 0400");
        let req = InitiateRequest::decode(&b).unwrap();
        assert!(!req.response_allowed);
        assert_eq!(req.encode(), b);
    }

    #[test]
    fn response_vectors() {
        let b = unhex("08 00 06 5F1F040000501F 01F4 0007");
        let resp = InitiateResponse::decode(&b).unwrap();
        assert_eq!(resp.server_max_receive_pdu_size, 500);
        assert_eq!(resp.vaa_name, 7);
        assert_eq!(resp.negotiated_conformance, Conformance(0x501F));
        assert_eq!(resp.encode(), b);
        // With QoS present (PW).
        let b = unhex("08 01 00 06 5F1F0400001E1D 04C8 0007");
        let resp = InitiateResponse::decode(&b).unwrap();
        assert_eq!(resp.negotiated_quality_of_service, Some(0));
        assert_eq!(resp.encode(), b);
        let e = InitiateResponse::decode(&unhex("08 00 06 5F1F040000501F 01F4 00"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("bad initiate-response: truncated vaa-name"),
            "{e}"
        );
    }

    pub fn arb_initiate_request() -> impl Strategy<Value = InitiateRequest> {
        (
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40)),
            any::<bool>(),
            proptest::option::of(any::<u8>()),
            any::<u8>(),
            0u32..0x100_0000,
            any::<u16>(),
        )
            .prop_map(|(k, ra, q, v, c, p)| InitiateRequest {
                dedicated_key: k,
                response_allowed: ra,
                proposed_quality_of_service: q,
                proposed_dlms_version: v,
                proposed_conformance: Conformance(c),
                client_max_receive_pdu_size: p,
            })
    }

    pub fn arb_initiate_response() -> impl Strategy<Value = InitiateResponse> {
        (
            proptest::option::of(any::<u8>()),
            any::<u8>(),
            0u32..0x100_0000,
            any::<u16>(),
            any::<u16>(),
        )
            .prop_map(|(q, v, c, p, vaa)| InitiateResponse {
                negotiated_quality_of_service: q,
                negotiated_dlms_version: v,
                negotiated_conformance: Conformance(c),
                server_max_receive_pdu_size: p,
                vaa_name: vaa,
            })
    }

    proptest! {
        #[test]
        fn request_round_trip(x in arb_initiate_request()) {
            prop_assert_eq!(InitiateRequest::decode(&x.encode()).unwrap(), x);
        }

        #[test]
        fn response_round_trip(x in arb_initiate_response()) {
            prop_assert_eq!(InitiateResponse::decode(&x.encode()).unwrap(), x);
        }

        #[test]
        fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = InitiateRequest::decode(&b);
            let _ = InitiateResponse::decode(&b);
        }
    }
}
