//! Unit tests of the client session and reads.

use super::read_op::{CIPHER_OVERHEAD, LLC};
use super::*;
use crate::dlms::acse::Conformance;
use crate::dlms::data::tests::unhex;
use crate::dlms::data::Data;
use crate::dlms::security::{Key, Policy};
use crate::dlms::xdlms::DataAccessResult;

pub(super) fn associated(
    referencing: Referencing,
    conformance: Conformance,
    max_pdu: u16,
) -> ClientSession {
    let mut s = ClientSession::new(ClientSettings::new(referencing));
    s.association = Some(Association {
        conformance,
        max_pdu,
        vaa_name: 7,
        server_system_title: None,
    });
    s
}

fn reg(obis: &str, attr: i8) -> AttributeRef {
    AttributeRef::new(3, obis.parse().unwrap(), attr)
}

#[test]
fn aarq_matches_gurux_shape_and_aare_is_accepted() {
    let mut s = ClientSession::new(ClientSettings::new(Referencing::Ln));
    let aarq = s.aarq().unwrap();
    assert_eq!(
        &aarq[..13],
        &unhex("60 1D A1 09 06 07 60 85 74 05 08 01 01")[..]
    );
    // AARE from the Gurux meter (traces/wrapper_ln_none.txt).
    let a = s
        .handle_aare(&unhex("6129A109060760857405080101A203020100A305A103020100BE10040E0800065F1F0400001E1D04000007"))
        .unwrap();
    assert_eq!(a.max_pdu, 1024);
    assert!(a
        .conformance
        .contains(Conformance::BLOCK_TRANSFER_WITH_GET_OR_READ));
    assert!(
        a.conformance.contains(Conformance::MULTIPLE_REFERENCES),
        "00 1E 1D includes bit 14"
    );
}

#[test]
fn a_plain_aare_to_a_ciphered_aarq_is_refused() {
    let mut settings = ClientSettings::new(Referencing::Ln);
    settings.ciphering = Some(Ciphering {
        policy: Policy::AuthEnc,
        system_title: "4142434445464748".parse().unwrap(),
        block_key: Key([0x11; 16]),
        auth_key: Key([0x22; 16]),
        dedicated_key: None,
        server_system_title: None,
        invocation_counter: 1,
        meter_counter_floor: 0,
    });
    let mut s = ClientSession::new(settings);
    s.aarq().unwrap();
    // An accepted AARE with a plain InitiateResponse: what a caller without the keys sends.
    let e = s
        .handle_aare(&unhex("6129A109060760857405080101A203020100A305A103020100BE10040E0800065F1F0400001E1D04000007"))
        .unwrap_err();
    assert!(
        matches!(e, SessionError::MeterFailedAuthentication(_)),
        "{e:?}"
    );
    assert!(e.to_string().contains("plain InitiateResponse"), "{e}");
    assert!(s.association.is_none());
}

#[test]
fn rejected_association_says_why() {
    let mut s = ClientSession::new(ClientSettings::new(Referencing::Ln));
    // A8: wrong LLS password.
    let e = s
        .handle_aare(&unhex("6129A109060760857405080101A203020101A305A10302010DBE10040E0800065F1F040000101400800007"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("rejected permanently") && e.contains("authentication failure"),
        "{e}"
    );
    // A7: initiate error, DLMS version too low.
    let e = s
        .handle_aare(&unhex(
            "611FA109060760857405080101A203020101A305A103020101BE0604040E010601",
        ))
        .unwrap_err()
        .to_string();
    assert!(e.to_lowercase().contains("version"), "{e}");
}

#[test]
fn block_transfer_any_number_of_blocks() {
    // GS get_test flow: three blocks joined into an array 1..5.
    let s = associated(
        Referencing::Ln,
        Conformance::GET | Conformance::BLOCK_TRANSFER_WITH_GET_OR_READ,
        1024,
    );
    let item = AttributeRef::new(7, "1.0.99.1.0.255".parse().unwrap(), 2);
    let mut op = s.read(std::slice::from_ref(&item)).unwrap();
    assert_eq!(
        op.start(),
        Step::Send(unhex("C0 01 C1 00 07 01 00 63 01 00 FF 02 00"))
    );
    let step = op
        .handle(&unhex(
            "C4 02 C1 00 00 00 00 01 00 0C 01 05 06 00 00 00 01 06 00 00 00 02",
        ))
        .unwrap();
    assert_eq!(step, Step::Send(unhex("C0 02 C1 00 00 00 01")));
    let step = op
        .handle(&unhex(
            "C4 02 C1 00 00 00 00 02 00 0A 06 00 00 00 03 06 00 00 00 04",
        ))
        .unwrap();
    assert_eq!(step, Step::Send(unhex("C0 02 C1 00 00 00 02")));
    let step = op
        .handle(&unhex("C4 02 C1 01 00 00 00 03 00 05 06 00 00 00 05"))
        .unwrap();
    assert_eq!(step, Step::Done);
    let r = op.into_results();
    assert_eq!(
        r[0],
        Ok(Data::Array((1..=5).map(Data::DoubleLongUnsigned).collect()))
    );
}

#[test]
fn one_bad_item_never_fails_the_others() {
    let s = associated(
        Referencing::Ln,
        Conformance::GET | Conformance::MULTIPLE_REFERENCES,
        1024,
    );
    let items = [reg("1.0.1.8.0.255", 2), reg("1.0.2.8.0.255", 2)];
    let mut op = s.read(&items).unwrap();
    let Step::Send(req) = op.start() else {
        panic!()
    };
    assert_eq!(req[1], 3, "with-list");
    assert_eq!(
        op.handle(&unhex("C4 03 C1 02 00 06 00BC614E 01 04"))
            .unwrap(),
        Step::Done
    );
    let r = op.into_results();
    assert_eq!(r[0], Ok(Data::DoubleLongUnsigned(12345678)));
    assert_eq!(
        r[1],
        Err(ReadError::Access(DataAccessResult::ObjectUndefined))
    );
}

#[test]
fn without_multiple_references_items_go_one_by_one() {
    let s = associated(Referencing::Ln, Conformance::GET, 1024);
    let items = [reg("1.0.1.8.0.255", 3), reg("1.0.1.8.0.255", 2)];
    let mut op = s.read(&items).unwrap();
    assert!(matches!(op.start(), Step::Send(ref r) if r[1] == 1));
    assert!(matches!(
        op.handle(&unhex("C4 01 C1 00 02 02 0F FD 16 1E")).unwrap(),
        Step::Send(_)
    ));
    // An exception fails only the item it answered.
    assert_eq!(op.handle(&unhex("D8 01 01")).unwrap(), Step::Done);
    let r = op.into_results();
    assert!(r[0].is_ok());
    assert!(matches!(r[1], Err(ReadError::Exception(_))));
}

/// Drives `op` with `answer` for every request; returns the requests sent.
fn drive(op: &mut ReadOp, answer: impl Fn(&[u8]) -> Vec<u8>) -> Vec<Vec<u8>> {
    let mut sent = Vec::new();
    let mut step = op.start();
    while let Step::Send(req) = step {
        let resp = answer(&req);
        sent.push(req);
        step = op.handle(&resp).unwrap();
    }
    sent
}

/// A single GET answered with double-long-unsigned 7; a with-list as `list` says.
fn meter(list: &'static [u8]) -> impl Fn(&[u8]) -> Vec<u8> {
    move |req: &[u8]| match req.get(1) {
        Some(0x03) => list.to_vec(),
        _ => unhex("C4 01 C1 00 06 00 00 00 07"),
    }
}

#[test]
fn a_broken_with_list_answer_is_read_again_one_by_one() {
    let s = associated(
        Referencing::Ln,
        Conformance::GET | Conformance::MULTIPLE_REFERENCES,
        1024,
    );
    let items = [
        reg("1.0.1.8.0.255", 2),
        reg("1.0.2.8.0.255", 2),
        reg("1.0.3.8.0.255", 2),
    ];
    for list in [
        &b"\xC4\x03\xC1\x03"[..], // a count, no results: malformed
        &b"\xC4\x03\xC1\x03\x01\xFA\x01\xFA\x01\xFA"[..], // other-reason for every item
        &b"\xC4\x03\xC1\x01\x00\x06\x00\x00\x00\x07"[..], // one result for three items
        &b"\x0E\x01\x06\x01"[..], // confirmed-service-error
    ] {
        let mut op = s.read(&items).unwrap();
        let sent = drive(&mut op, meter(list));
        assert_eq!(sent.len(), 4, "the list, then each item alone: {list:02X?}");
        assert_eq!(sent[1][1], 0x01, "a normal GET");
        assert!(op.list_broken(), "{list:02X?}");
        let results = op.into_results();
        assert!(
            results
                .iter()
                .all(|r| r == &Ok(Data::DoubleLongUnsigned(7))),
            "{results:?}"
        );
    }
    // Once known, a session reads one by one from the start.
    let mut s = s;
    s.disable_with_list();
    let mut op = s.read(&items).unwrap();
    assert_eq!(drive(&mut op, meter(b"")).len(), 3);
    assert!(!op.list_broken());
}

#[test]
fn identical_errors_that_name_objects_are_not_a_broken_list() {
    let s = associated(
        Referencing::Ln,
        Conformance::GET | Conformance::MULTIPLE_REFERENCES,
        1024,
    );
    let items = [reg("1.0.1.8.0.255", 2), reg("1.0.2.8.0.255", 2)];
    let mut op = s.read(&items).unwrap();
    // object-undefined for both: true of both objects, no fallback.
    let sent = drive(&mut op, meter(b"\xC4\x03\xC1\x02\x01\x04\x01\x04"));
    assert_eq!(sent.len(), 1);
    assert!(!op.list_broken());
    // other-reason for both, and the singles fail alike: the list was not the problem.
    let mut op = s.read(&items).unwrap();
    let sent = drive(&mut op, |req: &[u8]| match req.get(1) {
        Some(0x03) => unhex("C4 03 C1 02 01 FA 01 FA"),
        _ => unhex("C4 01 C1 01 FA"),
    });
    assert_eq!(sent.len(), 3);
    assert!(!op.list_broken(), "single GETs failed too");
}

#[test]
fn with_list_requests_fit_one_frame_when_ciphered() {
    let mut settings = ClientSettings::new(Referencing::Ln);
    settings.ciphering = Some(Ciphering {
        policy: Policy::AuthEnc,
        system_title: "4142434445464748".parse().unwrap(),
        block_key: Key([0x11; 16]),
        auth_key: Key([0x22; 16]),
        dedicated_key: None,
        server_system_title: None,
        invocation_counter: 1,
        meter_counter_floor: 0,
    });
    settings.max_frame_info = Some(128);
    let mut s = ClientSession::new(settings);
    s.association = Some(Association {
        conformance: Conformance::GET | Conformance::MULTIPLE_REFERENCES,
        max_pdu: 1024,
        vaa_name: 7,
        server_system_title: None,
    });
    let items: Vec<AttributeRef> = (0..20)
        .map(|i| reg(&format!("1.0.{}.8.0.255", i + 1), 2))
        .collect();
    let answer = |req: &[u8]| {
        let n = req[3] as usize;
        let mut r = vec![0xC4, 0x03, 0xC1, n as u8];
        for _ in 0..n {
            r.extend_from_slice(&[0x00, 0x06, 0, 0, 0, 7]);
        }
        r
    };
    let mut op = s.read(&items).unwrap();
    let sent = drive(&mut op, answer);
    assert!(sent.len() > 1, "split");
    for req in &sent {
        // Ciphered (at most 30 bytes more) with the LLC header, within 128 bytes.
        assert!(
            req.len() + CIPHER_OVERHEAD + LLC <= 128,
            "{} bytes",
            req.len()
        );
    }
    assert!(op.into_results().iter().all(Result::is_ok));
    // Without a frame limit (WRAPPER) the PDU size decides: one request.
    s.set_max_frame_info(None);
    let mut op = s.read(&items).unwrap();
    assert_eq!(drive(&mut op, answer).len(), 1);
    assert!(!op.list_broken());
}

#[test]
fn scaling_is_applied() {
    let items = [reg("1.0.1.8.0.255", 2)];
    let read = with_scaler_units(&items);
    assert_eq!(read.len(), 2);
    let results = vec![
        Ok(Data::from_bytes(&unhex("02 02 0F FD 16 1E")).unwrap()),
        Ok(Data::DoubleLongUnsigned(12345678)),
    ];
    let r = apply_scaler_units(&items, &read, &results);
    let v = r[0].as_ref().unwrap();
    assert_eq!(v.value_text(), "12345.678");
    assert_eq!(v.unit(), Some("Wh"));
    assert_eq!(v.scaled(), Some(12345.678));
}

#[test]
fn sn_read_uses_base_names_and_blocks() {
    let mut s = associated(
        Referencing::Sn,
        Conformance::READ | Conformance::MULTIPLE_REFERENCES,
        1024,
    );
    // SN object list from traces/wrapper_sn_none.txt (first two entries).
    let list = Data::from_bytes(&unhex(
        "0102 0204 1000A0 120008 1100 09060000010000FF 0204 100100 120003 1100 09060100010800FF",
    ))
    .unwrap();
    let objects = parse_object_list(&list).unwrap();
    assert_eq!(objects[1].short_name, Some(0x0100));
    s.set_short_names(&objects);
    let items = [
        reg("1.0.1.8.0.255", 3),
        reg("1.0.1.8.0.255", 2),
        reg("1.0.2.8.0.255", 2),
    ];
    let mut op = s.read(&items).unwrap();
    assert_eq!(op.start(), Step::Send(unhex("05 02 02 0110 02 0108")));
    // Answered in two read data blocks.
    let step = op
        .handle(&unhex("0C 01 02 00 0001 05 02 00 02 02 0F"))
        .unwrap();
    assert_eq!(step, Step::Send(unhex("05 01 05 0001")));
    let step = op
        .handle(&unhex("0C 01 02 01 0002 09 00 16 1E 00 06 00 0F 42 40"))
        .unwrap();
    assert_eq!(step, Step::Done);
    let r = op.into_results();
    assert_eq!(r[1], Ok(Data::DoubleLongUnsigned(1_000_000)));
    assert_eq!(
        r[2],
        Err(ReadError::UnknownShortName(
            "1.0.2.8.0.255".parse().unwrap()
        ))
    );
}
