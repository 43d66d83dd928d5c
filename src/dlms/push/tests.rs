//! Push vectors (DLMS notes §9 C5 and H10), errors, and properties: build then parse gives
//! the same notification; arbitrary bytes never panic; a forged ciphered push is never
//! authenticated.

use super::*;
use crate::dlms::data::tests::arb_data;
use crate::dlms::data::Data;
use crate::dlms::hdlc::frame::tests::hex;
use crate::dlms::hdlc::{AddressSize, Control, HdlcAddress};
use crate::dlms::security::{cipher_apdu, Key, Policy, SecurityError, SystemTitle, GENERAL_GLO};
use crate::dlms::xdlms::DataNotification;
use proptest::prelude::*;

/// C5: a general-glo-ciphering push in a WRAPPER PDU (wPorts 1 → 1), keys "MYDUMMYGLOBALKEY"
/// (pwitab/dlms-cosem test_udp_message.py).
const C5: &str = "00 01 00 01 00 01 00 46 DB 08 2F 19 22 91 99 16 41 03 3B 30 00 00 01 E5 02 5C E9 D2 27 1F D7 8B E8 C2 04 21 1A 91 6A 9D 7F 58 7E 0A 7A 81 4C AD EA 89 E9 59 3F 01 F9 2E A8 C0 87 B5 BD FD EF EA B6 BE CF 28 2D FE 49 C0 8F 5B E6 DC 84 00";

/// H10: a real meter's plain push in one HDLC UI frame (client 32, server 4/65; HAN port,
/// pwitab/dlms-cosem test_hdlc.py TestUnnumberedInformationFrame).
const H10: &str = concat!(
    "7ea2434108831385ebe6e7000f4000000000011b020209060000010000ff090c07e30c1001073b28ff",
    "8000ff020309060100010700ff060000046202020f00161b020309060100020700ff06000000000202",
    "0f00161b020309060100030700ff06000005e302020f00161d020309060100040700ff060000000002",
    "020f00161d0203090601001f0700ff10000002020fff1621020309060100330700ff10004b02020fff",
    "1621020309060100470700ff10000002020fff1621020309060100200700ff12090302020fff162302",
    "0309060100340700ff1209c302020fff1623020309060100480700ff12090402020fff162302030906",
    "0100150700ff060000000002020f00161b020309060100160700ff060000000002020f00161b020309",
    "060100170700ff060000000002020f00161d020309060100180700ff060000000002020f00161d0203",
    "09060100290700ff060000046202020f00161b0203090601002a0700ff060000000002020f00161b02",
    "03090601002b0700ff06000005e202020f00161d0203090601002c0700ff060000000002020f00161d",
    "0203090601003d0700ff060000000002020f00161b0203090601003e0700ff060000000002020f0016",
    "1b0203090601003f0700ff060000000002020f00161d020309060100400700ff060000000002020f00",
    "161d020309060100010800ff060099598602020f00161e020309060100020800ff060000000802020f",
    "00161e020309060100030800ff060064ed4b02020f001620020309060100040800ff06000000050202",
    "0f001620be407e",
);

const TITLE: SystemTitle = SystemTitle(*b"SIM00001");
const BK: Key = Key([0x11; 16]);
const AK: Key = Key([0x22; 16]);

fn c5_keys() -> PushKeys {
    PushKeys {
        block_key: Key(*b"MYDUMMYGLOBALKEY"),
        auth_key: Key(*b"MYDUMMYGLOBALKEY"),
        system_title: Some("2F19229199164103".parse().unwrap()),
    }
}

fn keys() -> PushKeys {
    PushKeys {
        block_key: BK,
        auth_key: AK,
        system_title: Some(TITLE),
    }
}

fn h10_framing() -> Framing {
    Framing::Hdlc {
        source: HdlcAddress {
            logical: 4,
            physical: Some(65),
            size: AddressSize::Two,
        },
        destination: 32,
        max_info: 1024,
    }
}

fn ciphered(bytes: &[u8]) -> CipheredPush {
    match Push::parse(bytes) {
        Ok(Push::Ciphered(c)) => c,
        other => panic!("not a ciphered push: {other:?}"),
    }
}

fn notification(body: Data) -> DataNotification {
    DataNotification {
        long_invoke_id: 1,
        date_time: None,
        body,
    }
}

#[test]
fn c5_general_glo_ciphering_push_over_wrapper() {
    let bytes = hex(C5);
    let c = ciphered(&bytes);
    assert_eq!(c.system_title(), c5_keys().system_title);
    let d = c.decipher(&c5_keys()).unwrap();
    assert_eq!((d.policy, d.invocation_counter), (Policy::AuthEnc, 0x1E5));
    assert!(d.authenticated());
    let n = d.notification().unwrap();
    assert_eq!((n.long_invoke_id, n.date_time), (0x1DB, None));
    assert!(matches!(&n.body, Data::OctetString(v) if v.len() == 34));
    // Built back with the same counter, keys and ports: the same bytes.
    let keys = c5_keys();
    let sealing = Sealing {
        policy: Policy::AuthEnc,
        system_title: keys.system_title.unwrap(),
        invocation_counter: 0x1E5,
        block_key: &keys.block_key,
        auth_key: &keys.auth_key,
    };
    let wrapper = Framing::Wrapper {
        source: 1,
        destination: 1,
    };
    assert_eq!(build(&n, Some(&sealing), &wrapper).unwrap(), bytes);
}

#[test]
fn h10_plain_push_in_an_hdlc_ui_frame() {
    let bytes = hex(H10);
    let Ok(Push::Plain(n)) = Push::parse(&bytes) else {
        panic!("H10 is a plain push");
    };
    assert_eq!((n.long_invoke_id, n.date_time), (0x4000_0000, None));
    let Data::Array(entries) = &n.body else {
        panic!("{:?}", n.body)
    };
    assert_eq!(entries.len(), 27);
    let text = n.body.to_string();
    // 1.0.1.7.0.255 = 1122 W, 1.0.1.8.0.255 = 10049926 Wh.
    assert!(text.contains("1122") && text.contains("10049926"), "{text}");
    assert_eq!(build(&n, None, &h10_framing()).unwrap(), bytes);
}

#[test]
fn a_cut_short_frame_is_a_truncation_saying_where() {
    for vector in [C5, H10] {
        let bytes = hex(vector);
        for n in 2..bytes.len() {
            let e = Push::parse(&bytes[..n]).unwrap_err();
            assert!(e.is_truncated(), "{n}: {e}");
        }
    }
    assert_eq!(
        Push::parse(&hex(C5)[..20]).unwrap_err().to_string(),
        "the WRAPPER PDU at byte 0 is cut short: 20 of its 78 bytes arrived"
    );
    assert_eq!(
        Push::parse(&hex(H10)[..100]).unwrap_err().to_string(),
        "the HDLC frame at byte 0 is cut short: its closing flag never arrived"
    );
    assert_eq!(
        Push::parse(b"hello").unwrap_err().to_string(),
        "the 5 bytes the meter sent are neither a WRAPPER PDU (starting 00 01) nor an HDLC \
         frame (starting 7E)"
    );
}

#[test]
fn a_wrong_key_or_title_is_refused_in_words() {
    let bytes = hex(C5);
    let mut wrong_key = c5_keys();
    wrong_key.block_key = BK;
    let e = ciphered(&bytes).decipher(&wrong_key).unwrap_err();
    assert_eq!(e, PushError::Decipher(SecurityError::AuthenticationFailed));
    assert!(
        e.to_string()
            .starts_with("the ciphered push does not decipher: "),
        "{e}"
    );
    let mut other_title = c5_keys();
    other_title.system_title = Some(TITLE);
    let e = ciphered(&bytes).decipher(&other_title).unwrap_err();
    assert_eq!(
        e.to_string(),
        "the push carries system title 2F19229199164103, not the expected 53494D3030303031"
    );
    // Keys that do not say whose they are still decipher a push that names its sender.
    let mut any_title = c5_keys();
    any_title.system_title = None;
    assert!(ciphered(&bytes).decipher(&any_title).is_ok());
    assert_eq!(
        Push::parse(&bytes).unwrap().open(None),
        Err(PushError::NoKeys)
    );
}

#[test]
fn a_glo_push_is_deciphered_with_the_configured_title() {
    // A glo-event-notification: ciphered without a title; it is no DataNotification.
    let plain = hex("C2 00 00 01 00 00 01 00 00 FF 02 11 05");
    let apdu = cipher_apdu(false, Policy::AuthEnc, &TITLE, 7, &BK, &AK, &plain).unwrap();
    let bytes = frame(
        &apdu,
        &Framing::Wrapper {
            source: 1,
            destination: 16,
        },
    )
    .unwrap();
    let c = ciphered(&bytes);
    assert_eq!((c.system_title(), c.dedicated()), (None, false));
    let mut untitled = keys();
    untitled.system_title = None;
    assert_eq!(c.decipher(&untitled), Err(PushError::NoSystemTitle));
    let d = c.decipher(&keys()).unwrap();
    assert_eq!((d.system_title, d.invocation_counter), (TITLE, 7));
    assert_eq!(
        d.notification().unwrap_err().to_string(),
        "the deciphered push holds an APDU with tag 0xC2, not a DataNotification"
    );
}

#[test]
fn frames_that_carry_no_push_say_so() {
    // An SNRM, a GET request, a damaged frame, an empty WRAPPER APDU.
    let e = Push::parse(&hex("7E A0 08 02 23 21 93 BD 64 7E")).unwrap_err();
    assert_eq!(
        e,
        PushError::NotUi {
            at: 0,
            control: Control::Snrm { poll: true }
        }
    );
    assert_eq!(
        e.to_string(),
        "the HDLC frame at byte 0 is SNRM; pushes come in UI frames"
    );
    let get = hex("00 01 00 10 00 01 00 0D C0 01 C1 00 01 00 00 60 01 00 FF 02 00");
    assert_eq!(
        Push::parse(&get).unwrap_err().to_string(),
        "the APDU (tag 0xC0) is neither a DataNotification (0x0F) nor a ciphered APDU"
    );
    let mut damaged = hex(H10);
    damaged[300] ^= 1;
    let e = Push::parse(&damaged).unwrap_err();
    assert!(matches!(e, PushError::Hdlc { at: 0, .. }), "{e}");
    assert!(
        e.to_string().contains("frame check sequence mismatch"),
        "{e}"
    );
    assert_eq!(
        Push::parse(&hex("00 01 00 01 00 10 00 00")),
        Err(PushError::EmptyApdu)
    );
    let bad_version = hex("00 01 00 01 00 01 00 01 0F");
    assert!(Push::parse(&bad_version).is_err());
}

#[test]
fn segmented_ui_frames_are_joined() {
    let n = notification(Data::OctetString(vec![0x5A; 300]));
    let mut framing = h10_framing();
    if let Framing::Hdlc { max_info, .. } = &mut framing {
        *max_info = 64;
    }
    let bytes = build(&n, None, &framing).unwrap();
    assert_eq!(apdus(&bytes).unwrap(), vec![n.encode()]);
    assert_eq!(Push::parse(&bytes).unwrap(), Push::Plain(n));
    // Without its last segment, the push is unfinished.
    let last = bytes[..bytes.len() - 1]
        .iter()
        .rposition(|&b| b == 0x7E)
        .unwrap();
    let e = Push::parse(&bytes[..=last]).unwrap_err();
    assert!(matches!(e, PushError::UnfinishedSegments { .. }), "{e}");
}

fn any_framing() -> impl Strategy<Value = Framing> {
    prop_oneof![
        (any::<u16>(), any::<u16>()).prop_map(|(source, destination)| Framing::Wrapper {
            source,
            destination
        }),
        (1u16..0x3FFF, 1u16..0x3FFF, 0u8..128, 1u16..300).prop_map(
            |(logical, physical, destination, max_info)| Framing::Hdlc {
                source: HdlcAddress {
                    logical,
                    physical: Some(physical),
                    size: AddressSize::Four,
                },
                destination,
                max_info,
            }
        ),
    ]
}

proptest! {
    /// Build then parse gives the same notification: plain and ciphered, WRAPPER and HDLC.
    #[test]
    fn build_then_parse_round_trips(
        id: u32,
        body in arb_data(),
        framing in any_framing(),
        seal in proptest::option::of((
            prop::sample::select(vec![Policy::Auth, Policy::Enc, Policy::AuthEnc]),
            any::<u32>(),
        )),
    ) {
        let n = DataNotification { long_invoke_id: id, date_time: None, body };
        let sealing = seal.map(|(policy, invocation_counter)| Sealing {
            policy,
            system_title: TITLE,
            invocation_counter,
            block_key: &BK,
            auth_key: &AK,
        });
        let Ok(bytes) = build(&n, sealing.as_ref(), &framing) else {
            // Only a body too long for one WRAPPER PDU may fail.
            let wrapper = matches!(framing, Framing::Wrapper { .. });
            prop_assert!(wrapper);
            return Ok(());
        };
        let push = Push::parse(&bytes).unwrap();
        prop_assert_eq!(push.system_title(), seal.map(|_| TITLE));
        if let (Push::Ciphered(c), Some((policy, ic))) = (&push, seal) {
            let d = c.decipher(&keys()).unwrap();
            prop_assert_eq!((d.policy, d.invocation_counter), (policy, ic));
        }
        prop_assert_eq!(push.open(Some(&keys())).unwrap(), n);
    }

    /// Whatever a meter sends first, reading it as a push never panics, and neither does
    /// deciphering it.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(Push::Ciphered(c)) = Push::parse(&bytes) {
            let _ = c.decipher(&keys()).map(|d| d.notification());
        }
        let mut framed = vec![0, 1, 0, 1, 0, 1];
        framed.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
        framed.extend_from_slice(&bytes);
        let _ = Push::parse(&framed).map(|p| p.open(Some(&keys())));
        let _ = Push::parse(&[&[0x7E][..], &bytes].concat());
    }

    /// A general-glo-ciphering header with any bytes after it names its sender, and never
    /// deciphers into an authenticated push (without the keys nobody makes a GMAC tag).
    #[test]
    fn any_first_bytes_are_a_push_or_nothing(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let apdu = [&[GENERAL_GLO, 8][..], &TITLE.0, &bytes].concat();
        let framed = frame(&apdu, &Framing::Wrapper { source: 1, destination: 1 }).unwrap();
        let c = match Push::parse(&framed) {
            Ok(Push::Ciphered(c)) => c,
            // A length that does not match the bytes is refused while reading the header.
            Err(PushError::Header(_)) => return Ok(()),
            other => return Err(TestCaseError::fail(format!("{other:?}"))),
        };
        prop_assert_eq!(c.system_title(), Some(TITLE));
        if let Ok(d) = c.decipher(&keys()) {
            prop_assert!(!d.authenticated());
        }
    }
}
