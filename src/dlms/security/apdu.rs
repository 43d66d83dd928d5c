//! glo-, ded- and general-glo-ciphering APDUs: the tag and length framing around a
//! protected body.

use super::{protect, unprotect, Key, Policy, SecurityError, SystemTitle};
use crate::dlms::axdr::{write_length, Reader};

/// (plain tag, glo- tag, ded- tag) for every APDU with a ciphered form.
const TAGS: [(u8, u8, Option<u8>); 14] = [
    (0x01, 0x21, None),       // initiate-request
    (0x05, 0x25, None),       // read-request (SN)
    (0x06, 0x26, None),       // write-request (SN)
    (0x08, 0x28, None),       // initiate-response
    (0x0C, 0x2C, None),       // read-response (SN)
    (0x0D, 0x2D, None),       // write-response (SN)
    (0x0E, 0x2E, None),       // confirmed-service-error (glo- form per GX)
    (0xC0, 0xC8, Some(0xD0)), // get-request
    (0xC1, 0xC9, Some(0xD1)), // set-request
    (0xC2, 0xCA, Some(0xD2)), // event-notification-request
    (0xC3, 0xCB, Some(0xD3)), // action-request
    (0xC4, 0xCC, Some(0xD4)), // get-response
    (0xC5, 0xCD, Some(0xD5)), // set-response
    (0xC7, 0xCF, Some(0xD7)), // action-response
];

/// general-glo-ciphering tag (global key; the sender's system title travels with the APDU).
pub const GENERAL_GLO: u8 = 0xDB;
/// general-ded-ciphering tag (dedicated key), same layout as general-glo-ciphering.
const GENERAL_DED: u8 = 0xDC;

/// The glo- tag for a plain APDU tag (C0→C8, C1→C9, C2→CA, C3→CB, C4→CC, C5→CD, C7→CF, 01→21, 05→25, 06→26, 08→28, 0C→2C, 0D→2D, 0E→2E); None when there is none.
pub fn glo_tag(plain_tag: u8) -> Option<u8> {
    TAGS.iter().find(|t| t.0 == plain_tag).map(|t| t.1)
}

/// The ded- tag for a plain APDU tag (C0→D0, C1→D1, C2→D2, C3→D3, C4→D4, C5→D5, C7→D7); None when there is none.
pub fn ded_tag(plain_tag: u8) -> Option<u8> {
    TAGS.iter().find(|t| t.0 == plain_tag).and_then(|t| t.2)
}

/// Wraps a plain APDU as a glo-/ded- ciphered APDU: `tag ‖ A-XDR length ‖ protect(...)`; `key` is the block key, or the dedicated key when `dedicated`.
pub fn cipher_apdu(
    dedicated: bool,
    policy: Policy,
    system_title: &SystemTitle,
    invocation_counter: u32,
    key: &Key,
    auth_key: &Key,
    plain: &[u8],
) -> Result<Vec<u8>, SecurityError> {
    let &plain_tag = plain.first().ok_or(SecurityError::EmptyApdu)?;
    let tag = if dedicated {
        ded_tag(plain_tag)
    } else {
        glo_tag(plain_tag)
    };
    let tag = tag.ok_or(SecurityError::NoCipheredForm {
        tag: plain_tag,
        dedicated,
    })?;
    let body = protect(
        policy,
        system_title,
        invocation_counter,
        key,
        auth_key,
        plain,
    )?;
    let mut out = vec![tag];
    write_length(&mut out, body.len());
    out.extend_from_slice(&body);
    Ok(out)
}

/// general-glo-ciphering: `DB ‖ 08 ‖ ST(8) ‖ len ‖ SC ‖ IC ‖ ct ‖ tag`.
pub fn general_glo_cipher(
    policy: Policy,
    system_title: &SystemTitle,
    invocation_counter: u32,
    block_key: &Key,
    auth_key: &Key,
    plain: &[u8],
) -> Result<Vec<u8>, SecurityError> {
    let body = protect(
        policy,
        system_title,
        invocation_counter,
        block_key,
        auth_key,
        plain,
    )?;
    let mut out = vec![GENERAL_GLO, 8];
    out.extend_from_slice(&system_title.0);
    write_length(&mut out, body.len());
    out.extend_from_slice(&body);
    Ok(out)
}

/// A deciphered APDU and how it was protected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deciphered {
    /// The policy its security control byte showed.
    pub policy: Policy,
    /// The sender's invocation counter (check it with a `CounterGuard`).
    pub invocation_counter: u32,
    /// The plain xDLMS APDU.
    pub plain: Vec<u8>,
    /// Whether it was ciphered with the dedicated key (ded- or general-ded-ciphering).
    pub dedicated: bool,
    /// The sender system title carried by a general-glo-/general-ded-ciphering APDU.
    pub system_title: Option<SystemTitle>,
}

/// What the header of a ciphered APDU says before any key is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CipheredHeader {
    /// Whether the dedicated key ciphers it (ded- or general-ded-ciphering).
    pub dedicated: bool,
    /// The sender system title a general-glo-/general-ded-ciphering APDU carries (`None` for
    /// glo- and ded- APDUs: the receiver knows the sender's title from the association).
    pub system_title: Option<SystemTitle>,
}

/// Whether `tag` opens a glo-, ded-, general-glo- or general-ded-ciphering APDU.
pub fn is_ciphered(tag: u8) -> bool {
    matches!(tag, GENERAL_GLO | GENERAL_DED) || TAGS.iter().any(|t| t.1 == tag || t.2 == Some(tag))
}

/// Reads the header of a glo-/ded-/general-glo-/general-ded-ciphering APDU: which key and,
/// for the general forms, the sender's system title.
pub fn ciphered_header(apdu: &[u8]) -> Result<CipheredHeader, SecurityError> {
    read_header(&mut Reader::new(apdu))
}

fn read_header(r: &mut Reader) -> Result<CipheredHeader, SecurityError> {
    let tag = r.u8("ciphered APDU tag")?;
    Ok(match tag {
        GENERAL_GLO | GENERAL_DED => {
            let len = r.length("system title length")?;
            if len != 8 {
                return Err(SecurityError::BadSystemTitleLength(len));
            }
            CipheredHeader {
                dedicated: tag == GENERAL_DED,
                system_title: Some(SystemTitle(r.array("system title")?)),
            }
        }
        _ if TAGS.iter().any(|t| t.1 == tag) => CipheredHeader {
            dedicated: false,
            system_title: None,
        },
        _ if TAGS.iter().any(|t| t.2 == Some(tag)) => CipheredHeader {
            dedicated: true,
            system_title: None,
        },
        _ => return Err(SecurityError::NotCiphered(tag)),
    })
}

/// Unwraps a glo-/ded-/general-glo-/general-ded-ciphering APDU; `default_title` is the sender's system title for APDUs that carry none, and `key_for(dedicated)` picks the block key or the dedicated key.
pub fn decipher_apdu(
    apdu: &[u8],
    default_title: &SystemTitle,
    key_for: impl Fn(bool) -> Option<Key>,
    auth_key: &Key,
) -> Result<Deciphered, SecurityError> {
    let mut r = Reader::new(apdu);
    let CipheredHeader {
        dedicated,
        system_title,
    } = read_header(&mut r)?;
    let len = r.length("ciphered content length")?;
    let body = r.bytes(len, "ciphered content")?;
    r.finish("ciphered APDU")?;
    let key = key_for(dedicated).ok_or(SecurityError::NoKey(dedicated))?;
    let sender = system_title.as_ref().unwrap_or(default_title);
    let (policy, invocation_counter, plain) = unprotect(sender, &key, auth_key, body)?;
    Ok(Deciphered {
        policy,
        invocation_counter,
        plain,
        dedicated,
        system_title,
    })
}

#[cfg(test)]
mod tests {
    use super::super::gcm::tests::{AK, EK, ST};
    use super::*;
    use crate::dlms::hdlc::frame::tests::hex;
    use proptest::prelude::*;

    /// The ciphered xDLMS APDU inside an AARQ/AARE/RLRQ/RLRE user-information `BE n 04 n-2`.
    fn user_information(acse: &[u8]) -> &[u8] {
        let at = acse
            .windows(4)
            .position(|w| w[0] == 0xBE && w[2] == 0x04 && w[1] == w[3] + 2)
            .expect("user-information");
        &acse[at + 4..]
    }

    fn glo(apdu: &[u8], sender: &SystemTitle, ek: &Key, ak: &Key) -> Deciphered {
        decipher_apdu(apdu, sender, |_| Some(ek.clone()), ak).unwrap()
    }

    #[test]
    fn tag_maps() {
        assert_eq!(glo_tag(0xC0), Some(0xC8));
        assert_eq!(glo_tag(0x0E), Some(0x2E));
        assert_eq!(ded_tag(0xC7), Some(0xD7));
        assert_eq!(ded_tag(0x01), None);
        assert_eq!(glo_tag(0x60), None);
        let err = cipher_apdu(true, Policy::AuthEnc, &ST, 1, &EK, &AK, &[0x01, 0x00]).unwrap_err();
        assert_eq!(err.to_string(), "APDU tag 0x01 has no ded- ciphered form");
    }

    #[test]
    fn c1_glo_get_request() {
        let plain = hex("C0 01 00 00 08 00 00 01 00 00 FF 02 00");
        for (policy, apdu) in [
            (Policy::AuthEnc, "C8 1E 30 01 23 45 67 41 13 12 FF 93 5A 47 56 68 27 C4 67 BC 7D 82 5C 3B E4 A7 7C 3F CC 05 6B 6B"),
            (Policy::Enc, "C8 12 20 01 23 45 67 41 13 12 FF 93 5A 47 56 68 27 C4 67 BC"),
            (Policy::Auth, "C8 1E 10 01 23 45 67 C0 01 00 00 08 00 00 01 00 00 FF 02 00 06 72 5D 91 0F 92 21 D2 63 87 75 16"),
        ] {
            let apdu = hex(apdu);
            assert_eq!(cipher_apdu(false, policy, &ST, 0x0123_4567, &EK, &AK, &plain).unwrap(), apdu);
            let d = glo(&apdu, &ST, &EK, &AK);
            assert_eq!((d.policy, d.invocation_counter, d.dedicated, d.system_title), (policy, 0x0123_4567, false, None));
            assert_eq!(d.plain, plain);
        }
    }

    #[test]
    fn c2_ciphered_aarq_and_rlrq() {
        let plain = hex("01 01 10 00 11 22 33 44 55 66 77 88 99 AA BB CC DD EE FF 00 00 06 5F 1F 04 00 00 7E 1F 04 B0");
        let aarq = hex("60 66 A1 09 06 07 60 85 74 05 08 01 03 A6 0A 04 08 4D 4D 4D 00 00 BC 61 4E 8A 02 07 80 8B 07 60 85 74 05 08 02 01 AC 0A 80 08 31 32 33 34 35 36 37 38 BE 34 04 32 21 30 30 01 23 45 67 80 13 02 FF 8A 78 74 13 3D 41 4C ED 25 B4 25 34 D2 8D B0 04 77 20 60 6B 17 5B D5 22 11 BE 68 41 DB 20 4D 39 EE 6F DB 8E 35 68 55");
        let glo_initiate = user_information(&aarq);
        assert_eq!(glo(glo_initiate, &ST, &EK, &AK).plain, plain);
        assert_eq!(
            cipher_apdu(false, Policy::AuthEnc, &ST, 0x0123_4567, &EK, &AK, &plain).unwrap(),
            glo_initiate
        );
    }

    #[test]
    fn c3_rlre_glo_initiate_response() {
        let rlre = hex("63 28 80 01 00 BE 23 04 21 28 1F 30 01 23 45 67 89 12 14 A0 84 5E 47 57 14 38 3F 65 BC 19 74 5C A2 35 90 65 25 E4 F3 E1 C8 93");
        let d = glo(user_information(&rlre), &ST, &EK, &AK);
        assert_eq!(d.plain, hex("08 00 06 5F 1F 04 00 00 7C 1F 04 00 00 07"));
    }

    #[test]
    fn c4_dedicated_key_session_with_lgz_server() {
        let key = Key([
            0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xAA, 0xBB, 0xCC, 0xDD,
            0xEE, 0xFF,
        ]);
        let dedicated: Key = "5E168412318BA71848C99B2B2AB33294".parse().unwrap();
        let client: SystemTitle = "4349520000000001".parse().unwrap();
        let server: SystemTitle = "4C475A2022604828".parse().unwrap();
        let keys = |ded: bool| Some(if ded { dedicated.clone() } else { key.clone() });

        // AARQ: glo-initiate-request carrying the dedicated key.
        let aarq = hex("60 66 A1 09 06 07 60 85 74 05 08 01 03 A6 0A 04 08 43 49 52 00 00 00 00 01 8A 02 07 80 8B 07 60 85 74 05 08 02 01 AC 0A 80 08 4A 75 53 36 36 42 43 5A BE 34 04 32 21 30 30 00 00 00 59 92 D8 07 DB CF 85 33 E9 AD 67 5A E0 94 82 41 FB 8E 6C F9 AF A7 00 6B AA 13 4A 47 3C 91 51 B3 36 2F 56 DC 12 F8 9E 85 DA 97 E1 76");
        let mut initiate = hex("01 01 10");
        initiate.extend_from_slice(&dedicated.0);
        initiate.extend(hex("00 00 06 5F 1F 04 00 00 18 1F 02 00"));
        let apdu = user_information(&aarq);
        assert_eq!(
            decipher_apdu(apdu, &client, keys, &key).unwrap().plain,
            initiate
        );
        assert_eq!(
            cipher_apdu(false, Policy::AuthEnc, &client, 0x59, &key, &key, &initiate).unwrap(),
            apdu
        );

        // AARE from the server.
        let aare = hex("61 48 A1 09 06 07 60 85 74 05 08 01 03 A2 03 02 01 00 A3 05 A1 03 02 01 00 A4 0A 04 08 4C 47 5A 20 22 60 48 28 BE 23 04 21 28 1F 30 00 00 00 5A E9 16 78 3A F3 3B 53 17 AD 0E 45 3A 79 9A 65 F2 6A E9 76 60 CF 8B 14 FE B7 B0");
        let d = decipher_apdu(user_information(&aare), &server, keys, &key).unwrap();
        assert_eq!(
            (d.invocation_counter, d.plain),
            (0x5A, hex("08 00 06 5F 1F 04 00 00 18 1F 00 FA 00 07"))
        );

        // ded-get-request (client ST) and ded-get-response (server ST), both IC 1.
        let request = hex("D0 1E 30 00 00 00 01 D3 B9 03 99 6D 95 08 C5 B6 BC DE B0 25 DD 18 00 A5 C9 27 75 FB 55 F3 17 CF");
        let get = hex("C0 01 C1 00 08 00 00 01 00 00 FF 02 00");
        assert_eq!(
            cipher_apdu(true, Policy::AuthEnc, &client, 1, &dedicated, &key, &get).unwrap(),
            request
        );
        let d = decipher_apdu(&request, &client, keys, &key).unwrap();
        assert_eq!((d.dedicated, d.plain), (true, get));
        let response = hex("D4 23 30 00 00 00 01 AA 07 A5 49 F8 2E 6B 8E EA 91 96 59 D9 16 89 BF 99 5B E6 F9 3C 95 A7 20 87 18 A3 B8 4E E4");
        let d = decipher_apdu(&response, &server, keys, &key).unwrap();
        assert_eq!(
            d.plain,
            hex("C4 01 C1 00 09 0C 07 E7 02 0F 03 11 37 15 00 80 00 00")
        );
        // The block key does not open a ded- APDU; without a dedicated key there is an error.
        let glo_only = |ded: bool| (!ded).then(|| key.clone());
        assert_eq!(
            decipher_apdu(&response, &server, glo_only, &key),
            Err(SecurityError::NoKey(true))
        );
        assert_eq!(
            SecurityError::NoKey(true).to_string(),
            "no dedicated key to decipher a ded- APDU"
        );
        let wrong = |_| Some(key.clone());
        assert_eq!(
            decipher_apdu(&response, &server, wrong, &key),
            Err(SecurityError::AuthenticationFailed)
        );

        // RLRQ (client, IC 0x5A) and RLRE (server, IC 0x5B) carry glo-initiate APDUs.
        let rlrq = hex("62 39 80 01 00 BE 34 04 32 21 30 30 00 00 00 5A 8E 9B 83 D6 41 B8 9F AA F3 6D A5 04 13 2C 34 F8 7E 4B A6 61 75 A7 DC ED 01 54 60 23 96 99 C7 2C 18 C0 6D B2 9C 54 67 3B 83 BA C0");
        let d = decipher_apdu(user_information(&rlrq), &client, keys, &key).unwrap();
        assert_eq!((d.invocation_counter, d.plain[0]), (0x5A, 0x01));
        let rlre = hex("63 28 80 01 00 BE 23 04 21 28 1F 30 00 00 00 5B CD 34 82 79 74 ED CF 8B 1D AB 30 6F 62 C5 8A B4 20 52 DB 67 36 13 77 50 78 25");
        let d = decipher_apdu(user_information(&rlre), &server, keys, &key).unwrap();
        assert_eq!((d.invocation_counter, d.plain[0]), (0x5B, 0x08));
    }

    #[test]
    fn c5_general_glo_ciphering_push() {
        let key = Key(*b"MYDUMMYGLOBALKEY");
        let apdu = hex("DB 08 2F 19 22 91 99 16 41 03 3B 30 00 00 01 E5 02 5C E9 D2 27 1F D7 8B E8 C2 04 21 1A 91 6A 9D 7F 58 7E 0A 7A 81 4C AD EA 89 E9 59 3F 01 F9 2E A8 C0 87 B5 BD FD EF EA B6 BE CF 28 2D FE 49 C0 8F 5B E6 DC 84 00");
        let plain = hex("0F 00 00 01 DB 00 09 22 12 5A 85 91 36 00 00 00 00 49 00 00 00 11 00 00 00 0A 5A 85 13 D0 14 80 00 00 00 0D 00 00 00 0A 01 00");
        let sender: SystemTitle = "2F19229199164103".parse().unwrap();
        // The default title is not used: the APDU names its sender.
        let d = glo(&apdu, &ST, &key, &key);
        assert_eq!(
            d,
            Deciphered {
                policy: Policy::AuthEnc,
                invocation_counter: 0x1E5,
                plain: plain.clone(),
                dedicated: false,
                system_title: Some(sender)
            }
        );
        assert_eq!(
            general_glo_cipher(Policy::AuthEnc, &sender, 0x1E5, &key, &key, &plain).unwrap(),
            apdu
        );
    }

    #[test]
    fn c6_glo_get_response() {
        let apdu = hex("CC 23 30 01 23 45 68 8C 7F 56 F9 2A B1 FC 92 34 27 47 51 F8 01 A3 7C F1 D0 C7 71 6D 0B 60 D6 A3 59 51 15 F3 A3");
        let plain = hex("C4 01 C1 00 09 0C 07 D2 0C 04 03 0A 06 0B FF 00 78 00");
        assert_eq!(glo(&apdu, &ST, &EK, &AK).plain, plain);
        assert_eq!(
            cipher_apdu(false, Policy::AuthEnc, &ST, 0x0123_4568, &EK, &AK, &plain).unwrap(),
            apdu
        );
    }

    #[test]
    fn malformed_apdus_are_errors() {
        let good = hex("CC 23 30 01 23 45 68 8C 7F 56 F9 2A B1 FC 92 34 27 47 51 F8 01 A3 7C F1 D0 C7 71 6D 0B 60 D6 A3 59 51 15 F3 A3");
        let keys = |_| Some(EK);
        for n in 0..good.len() {
            assert!(
                matches!(
                    decipher_apdu(&good[..n], &ST, keys, &AK),
                    Err(SecurityError::Malformed(_))
                ),
                "{n}"
            );
        }
        let mut trailing = good.clone();
        trailing.push(0);
        assert!(matches!(
            decipher_apdu(&trailing, &ST, keys, &AK),
            Err(SecurityError::Malformed(_))
        ));
        let err = decipher_apdu(&hex("C4 01 C1 00 00"), &ST, keys, &AK).unwrap_err();
        assert_eq!(
            err.to_string(),
            "APDU tag 0xC4 is not a glo-, ded-, general-glo- or general-ded-ciphering APDU"
        );
        let err = decipher_apdu(&hex("DB 04 01 02 03 04 00"), &ST, keys, &AK).unwrap_err();
        assert_eq!(err, SecurityError::BadSystemTitleLength(4));
        assert_eq!(
            cipher_apdu(false, Policy::Auth, &ST, 1, &EK, &AK, &[]),
            Err(SecurityError::EmptyApdu)
        );
    }

    proptest! {
        #[test]
        fn decipher_never_panics(apdu in prop::collection::vec(any::<u8>(), 0..80)) {
            let _ = decipher_apdu(&apdu, &ST, |_| Some(EK), &AK);
        }

        #[test]
        fn decipher_never_panics_on_ciphered_tags(
            tag in prop::sample::select(vec![0xC8u8, 0xCC, 0xD0, 0xD4, 0xDB, 0xDC, 0x21, 0x28]),
            len: u8, rest in prop::collection::vec(any::<u8>(), 0..80),
        ) {
            let mut apdu = vec![tag, len];
            apdu.extend(rest);
            let _ = decipher_apdu(&apdu, &ST, |_| Some(EK), &AK);
        }

        #[test]
        fn cipher_decipher_round_trip(
            dedicated: bool,
            policy in prop::sample::select(vec![Policy::Auth, Policy::Enc, Policy::AuthEnc]),
            ic: u32, body in prop::collection::vec(any::<u8>(), 0..200),
        ) {
            let mut plain = vec![0xC4];
            plain.extend(body);
            let apdu = cipher_apdu(dedicated, policy, &ST, ic, &EK, &AK, &plain).unwrap();
            let d = decipher_apdu(&apdu, &ST, |_| Some(EK), &AK).unwrap();
            prop_assert_eq!(d, Deciphered { policy, invocation_counter: ic, plain, dedicated, system_title: None });
        }
    }
}
