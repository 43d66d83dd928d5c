//! RLRQ / RLRE: release request and response (BER, tags 0x62 / 0x63).

use super::ber;
use crate::dlms::axdr::{DecodeError, Reader};
use crate::dlms::xdlms::error::{decode_apdu, ApduError};

/// A release request (reason 0 normal, 1 urgent, 30 user-defined).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rlrq {
    /// The release-request-reason.
    pub reason: Option<u8>,
    /// Raw xDLMS user-information (a possibly ciphered InitiateRequest).
    pub user_information: Option<Vec<u8>>,
}

/// A release response (reason 0 normal, 1 not-finished, 30 user-defined).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rlre {
    /// The release-response-reason.
    pub reason: Option<u8>,
    /// Raw xDLMS user-information (a possibly ciphered InitiateResponse).
    pub user_information: Option<Vec<u8>>,
}

impl Rlrq {
    /// APDU tag.
    pub const TAG: u8 = 0x62;

    /// The BER bytes.
    pub fn encode(&self) -> Vec<u8> {
        encode(Self::TAG, self.reason, self.user_information.as_deref())
    }

    /// Decodes the BER bytes (`62 00` included).
    pub fn decode(bytes: &[u8]) -> Result<Self, ApduError> {
        decode_apdu("RLRQ", bytes, |r| {
            let (reason, user_information) = read(r, Self::TAG, "RLRQ")?;
            Ok(Rlrq {
                reason,
                user_information,
            })
        })
    }
}

impl Rlre {
    /// APDU tag.
    pub const TAG: u8 = 0x63;

    /// The BER bytes.
    pub fn encode(&self) -> Vec<u8> {
        encode(Self::TAG, self.reason, self.user_information.as_deref())
    }

    /// Decodes the BER bytes (`63 00` included).
    pub fn decode(bytes: &[u8]) -> Result<Self, ApduError> {
        decode_apdu("RLRE", bytes, |r| {
            let (reason, user_information) = read(r, Self::TAG, "RLRE")?;
            Ok(Rlre {
                reason,
                user_information,
            })
        })
    }
}

fn encode(tag: u8, reason: Option<u8>, user_information: Option<&[u8]>) -> Vec<u8> {
    let mut c = Vec::new();
    if let Some(reason) = reason {
        ber::write_tlv(&mut c, 0x80, &[reason]);
    }
    if let Some(u) = user_information {
        ber::write_explicit(&mut c, 0xBE, 0x04, u);
    }
    let mut out = Vec::with_capacity(c.len() + 4);
    ber::write_tlv(&mut out, tag, &c);
    out
}

type Release = (Option<u8>, Option<Vec<u8>>);

fn read(r: &mut Reader, tag: u8, apdu: &'static str) -> Result<Release, DecodeError> {
    ber::read_apdu_header(r, tag, apdu)?;
    let (mut reason, mut user_information) = (None, None);
    while !r.is_empty() {
        let (tag, len) = ber::read_header(r, "release field")?;
        match tag {
            0x80 => {
                let at = r.position();
                match r.bytes(len, "release reason")? {
                    [v] => reason = Some(*v),
                    v => {
                        return Err(DecodeError::Invalid {
                            what: "release reason",
                            at,
                            reason: format!("expected one byte, found {}", v.len()),
                        })
                    }
                }
            }
            0xBE => {
                let u = ber::read_explicit(r, len, 0x04, "user-information")?;
                user_information = Some(u.to_vec());
            }
            _ => {
                r.bytes(len, "release field")?;
            }
        }
    }
    Ok((reason, user_information))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::dlms::acse::InitiateResponse;
    use crate::dlms::data::tests::unhex;
    use proptest::prelude::*;

    #[test]
    fn a10_vectors() {
        let rlrq = Rlrq {
            reason: Some(0),
            user_information: None,
        };
        assert_eq!(rlrq.encode(), unhex("62 03 80 01 00"));
        assert_eq!(Rlrq::decode(&unhex("62 03 80 01 00")).unwrap(), rlrq);
        let rlre = Rlre {
            reason: Some(0),
            user_information: None,
        };
        assert_eq!(rlre.encode(), unhex("63 03 80 01 00"));
        assert_eq!(Rlre::decode(&unhex("63 03 80 01 00")).unwrap(), rlre);
        let b = unhex("63 16 80 01 00 BE 11 04 0F 08 01 00 06 5F 1F 04 00 00 1E 1D 04 C8 00 07");
        let rlre = Rlre::decode(&b).unwrap();
        let i = InitiateResponse::decode(rlre.user_information.as_ref().unwrap()).unwrap();
        assert_eq!(i.server_max_receive_pdu_size, 1224);
        assert_eq!(rlre.encode(), b);
    }

    #[test]
    fn minimal_trace_and_ciphered_forms() {
        let empty = Rlrq::decode(&unhex("62 00")).unwrap();
        assert_eq!((empty.reason, empty.user_information), (None, None));
        assert_eq!(Rlre::decode(&unhex("63 00")).unwrap().reason, None);
        // GX trace RLRE with a plain InitiateResponse.
        let rlre = Rlre::decode(&unhex("6315800100BE10040E0800065F1F0400001E1D04000007")).unwrap();
        let i = InitiateResponse::decode(rlre.user_information.as_ref().unwrap()).unwrap();
        assert_eq!(i.server_max_receive_pdu_size, 1024);
        // C4 RLRQ with a glo-initiate-request.
        let b = unhex("62 39 80 01 00 BE 34 04 32 21 30 30 00 00 00 5A 8E 9B 83 D6 41 B8 9F AA F3 6D A5 04 13 2C 34 F8 7E 4B A6 61 75 A7 DC ED 01 54 60 23 96 99 C7 2C 18 C0 6D B2 9C 54 67 3B 83 BA C0");
        let rlrq = Rlrq::decode(&b).unwrap();
        assert_eq!(rlrq.user_information.as_ref().unwrap()[..2], [0x21, 0x30]);
        assert_eq!(rlrq.encode(), b);
        assert!(Rlrq::decode(&unhex("63 00")).is_err());
        let e = Rlrq::decode(&unhex("62 04 80 02 00 00"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("bad RLRQ") && e.contains("release reason"),
            "{e}"
        );
    }

    fn parts() -> impl Strategy<Value = Release> {
        (
            proptest::option::of(any::<u8>()),
            proptest::option::of(proptest::collection::vec(any::<u8>(), 0..200)),
        )
    }

    pub fn arb_rlrq() -> impl Strategy<Value = Rlrq> {
        parts().prop_map(|(reason, user_information)| Rlrq {
            reason,
            user_information,
        })
    }

    pub fn arb_rlre() -> impl Strategy<Value = Rlre> {
        parts().prop_map(|(reason, user_information)| Rlre {
            reason,
            user_information,
        })
    }

    proptest! {
        #[test]
        fn round_trip(q in arb_rlrq(), e in arb_rlre()) {
            prop_assert_eq!(Rlrq::decode(&q.encode()).unwrap(), q);
            prop_assert_eq!(Rlre::decode(&e.encode()).unwrap(), e);
        }

        #[test]
        fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = Rlrq::decode(&b);
            let _ = Rlre::decode(&b);
        }
    }
}
