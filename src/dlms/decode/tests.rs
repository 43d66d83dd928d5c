//! The decoder end to end on built frames, and hostile input.

use super::*;
use crate::dlms::data::Data;
use crate::dlms::push::{build, frame, Framing, Sealing};
use crate::dlms::security::{Key, Policy, SystemTitle};
use crate::dlms::xdlms::DataNotification;
use proptest::prelude::*;

fn notification() -> DataNotification {
    DataNotification {
        long_invoke_id: 7,
        date_time: None,
        body: Data::Structure(vec![
            Data::OctetString(vec![1, 0, 1, 7, 0, 255]),
            Data::DoubleLongUnsigned(1234),
        ]),
    }
}

#[test]
fn decodes_a_plain_push_in_hdlc_segments_and_in_wrapper() {
    let apdu = notification().encode();
    for framing in [
        Framing::Wrapper {
            source: 1,
            destination: 16,
        },
        Framing::Hdlc {
            source: crate::dlms::hdlc::HdlcAddress {
                logical: 1,
                physical: Some(17),
                size: crate::dlms::hdlc::AddressSize::Two,
            },
            destination: 16,
            max_info: 8,
        },
    ] {
        let bytes = frame(&apdu, &framing).unwrap();
        let d = decode_frame(&bytes, &Keys::default()).unwrap();
        assert!(d.complete);
        assert_eq!(d.values.len(), 1);
        assert_eq!(d.values[0].obis.unwrap().to_string(), "1.0.1.7.0.255");
        assert_eq!(d.values[0].data, Data::DoubleLongUnsigned(1234));
        // Cut anywhere before the end: an error or an incomplete decode, never values.
        for cut in 1..bytes.len() {
            if let Ok(d) = decode_frame(&bytes[..cut], &Keys::default()) {
                assert!(d.values.is_empty() || !d.complete);
            }
        }
    }
}

#[test]
fn deciphers_with_and_without_the_auth_key_and_refuses_a_wrong_one() {
    let title = SystemTitle(*b"ABC\x00\x00\x00\x00\x01");
    let (ek, ak) = (Key([0x42; 16]), Key([0x24; 16]));
    let bytes = build(
        &notification(),
        Some(&Sealing {
            policy: Policy::AuthEnc,
            system_title: title,
            invocation_counter: 9,
            block_key: &ek,
            auth_key: &ak,
        }),
        &Framing::Wrapper {
            source: 1,
            destination: 16,
        },
    )
    .unwrap();
    let mut keys = Keys {
        block_key: Some(ek.clone()),
        ..Keys::default()
    };
    let d = decode_frame(&bytes, &keys).unwrap();
    assert_eq!(d.values.len(), 1);
    assert!(!d.protection.unwrap().verified);
    keys.auth_key = Some(ak);
    let d = decode_frame(&bytes, &keys).unwrap();
    let p = d.protection.unwrap();
    assert!(p.verified && p.invocation_counter == 9 && p.system_title == title);
    keys.auth_key = Some(Key([0; 16]));
    let e = decode_frame(&bytes, &keys).unwrap_err();
    assert!(matches!(e, DecodeError::Decipher(_)), "{e}");
    assert!(!format!("{e} {e:?}").contains("4242"));
    assert_eq!(
        decode_frame(&bytes, &Keys::default()).unwrap_err(),
        DecodeError::NoKey
    );
}

#[test]
fn joins_general_block_transfer_blocks_across_inputs() {
    let apdu = notification().encode();
    let (a, b) = apdu.split_at(5);
    let block = |control: u8, n: u16, data: &[u8]| {
        let mut v = vec![GENERAL_BLOCK_TRANSFER, control];
        v.extend_from_slice(&n.to_be_bytes());
        v.extend_from_slice(&[0, 0, data.len() as u8]);
        v.extend_from_slice(data);
        v
    };
    let mut d = Decoder::new(Keys::default());
    let first = d.feed(&block(0x40, 1, a)).unwrap();
    assert!(!first.complete && first.values.is_empty());
    assert_eq!(d.waiting_for(), Some("more general-block-transfer blocks"));
    let second = d.feed(&block(0xC0, 2, b)).unwrap();
    assert!(second.complete);
    assert_eq!(second.values.len(), 1);
    // A block out of order is an error and drops what was held.
    d.feed(&block(0x40, 1, a)).unwrap();
    assert_eq!(
        d.feed(&block(0xC0, 3, b)).unwrap_err(),
        DecodeError::BlockOutOfOrder {
            expected: 2,
            got: 3
        }
    );
    assert_eq!(d.waiting_for(), None);
}

#[test]
fn date_time_with_and_without_a_type_tag() {
    let dt = "07E30C1001073B28FF8000FF";
    for head in ["0C", "090C"] {
        let hex = format!("0F00000001{head}{dt}1105");
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        let d = decode_frame(&bytes, &Keys::default()).unwrap();
        assert_eq!(d.date_time.unwrap().to_string(), "2019-12-16T07:59:40");
        assert_eq!(d.values[0].data, Data::Unsigned(5));
    }
}

proptest! {
    #[test]
    fn hostile_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..300), split in 1usize..40) {
        let keys = Keys { block_key: Some(Key([1; 16])), ..Keys::default() };
        let _ = decode_frame(&b, &keys);
        let mut d = Decoder::new(keys);
        for chunk in b.chunks(split) {
            let _ = d.feed(chunk);
        }
    }

    #[test]
    fn hostile_bytes_behind_every_header_never_panic(head in 0usize..6, b in proptest::collection::vec(any::<u8>(), 0..200)) {
        let heads: [&[u8]; 6] = [&[0x7E, 0xA0], &[0x68, 0x20, 0x20, 0x68], &[0, 1, 0, 1, 0, 16], &[0x0F], &[0xDB, 8], &[0xE0]];
        let mut v = heads[head].to_vec();
        v.extend_from_slice(&b);
        let _ = decode_frame(&v, &Keys { block_key: Some(Key([1; 16])), ..Keys::default() });
    }
}

#[test]
fn joins_m_bus_segments_and_refuses_them_out_of_order() {
    use crate::dlms::mbus::LongFrame;
    let apdu = notification().encode();
    let (a, b) = apdu.split_at(6);
    let seg = |ci: u8, data: &[u8]| {
        let mut user_data = vec![0x01, 0x67];
        user_data.extend_from_slice(data);
        LongFrame {
            control: 0x53,
            address: 0xFF,
            ci,
            user_data,
        }
        .encode()
    };
    let both = [seg(0x00, a), seg(0x11, b)].concat();
    let d = decode_frame(&both, &Keys::default()).unwrap();
    assert_eq!(d.values.len(), 1);
    assert_eq!(d.tree.children[0].name, "M-Bus long frame");
    let wrong = [seg(0x00, a), seg(0x12, b)].concat();
    assert!(matches!(
        decode_frame(&wrong, &Keys::default()),
        Err(DecodeError::SegmentOutOfOrder {
            expected: 1,
            got: 2,
            ..
        })
    ));
    assert!(matches!(
        decode_frame(&seg(0x00, a), &Keys::default()),
        Err(DecodeError::Incomplete(_))
    ));
}

#[test]
fn keys_are_picked_by_the_system_title_the_push_carries() {
    let wrapper = Framing::Wrapper {
        source: 1,
        destination: 16,
    };
    let meter = |n: u8| {
        let title = SystemTitle([0x4B, 0x46, 0x4D, 0x10, 0x20, 0, 0, n]);
        let (ek, ak) = (Key([n; 16]), Key([n + 0x10; 16]));
        let bytes = build(
            &notification(),
            Some(&Sealing {
                policy: Policy::AuthEnc,
                system_title: title,
                invocation_counter: 5,
                block_key: &ek,
                auth_key: &ak,
            }),
            &wrapper,
        )
        .unwrap();
        (title, ek, ak, bytes)
    };
    let (t1, ek1, ak1, one) = meter(1);
    let (t2, ek2, ak2, two) = meter(2);
    let (t3, _, _, three) = meter(3);
    let mut d = Decoder::new(Keys::default());
    d.set_title_keys(vec![
        TitleKeys {
            system_title: t1,
            block_key: ek1,
            auth_key: Some(ak1),
        },
        TitleKeys {
            system_title: t2,
            block_key: ek2,
            auth_key: Some(ak2.clone()),
        },
    ]);
    for (t, bytes) in [(t1, &one), (t2, &two)] {
        let got = d.feed(bytes).unwrap();
        assert_eq!(got.values.len(), 1);
        let p = got.protection.unwrap();
        assert!(p.verified);
        assert_eq!(p.system_title, t);
    }
    let e = d.feed(&three).unwrap_err();
    assert_eq!(e, DecodeError::NoKeyForTitle { title: t3 });
    assert_eq!(e.to_string(), "no key for system title 4B464D1020000003");
    // The meter's own keys (naming no title) still open any other sender's push …
    let mut own = Decoder::new(Keys {
        block_key: Some(Key([3; 16])),
        ..Keys::default()
    });
    own.set_title_keys(vec![TitleKeys {
        system_title: t2,
        block_key: Key([2; 16]),
        auth_key: Some(ak2),
    }]);
    assert_eq!(own.feed(&three).unwrap().values.len(), 1);
    assert_eq!(own.feed(&two).unwrap().values.len(), 1);
    // … but not when they name their own title.
    let mut named = Decoder::new(Keys {
        block_key: Some(Key([3; 16])),
        system_title: Some(t3),
        ..Keys::default()
    });
    named.set_title_keys(vec![TitleKeys {
        system_title: t2,
        block_key: Key([2; 16]),
        auth_key: None,
    }]);
    assert_eq!(
        named.feed(&one).unwrap_err(),
        DecodeError::NoKeyForTitle { title: t1 }
    );
}
