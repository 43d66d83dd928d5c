//! SET, ACTION and SN WRITE served by `ServerSession`, driven by the client's `ChangeOp` (the
//! two ends speak the same protocol) and by hand-built requests for the forms the client does
//! not send.

use super::*;
use crate::dlms::acse::Conformance;
use crate::dlms::client::{
    AttributeRef, Authentication, Change, ChangeOutcome, ClientSession, ClientSettings, MethodRef,
    Referencing, Step,
};
use crate::dlms::obis::Obis;
use crate::dlms::xdlms::{
    ActionRequest, ActionResponse, DataBlock, GetDataResult, SetRequest, SetResponse,
};
use std::collections::HashMap;

const REG: Obis = Obis::new(1, 0, 1, 8, 0, 255);
const BIG: Obis = Obis::new(0, 0, 96, 128, 0, 255);
const PROFILE: Obis = Obis::new(1, 0, 99, 1, 0, 255);
const ASSOC: Obis = Obis::new(0, 0, 40, 0, 0, 255);

/// A register (attribute 2 writable, reset), a writable octet string, a profile whose method 2
/// returns what it was given and whose attribute 3 is read-only.
#[derive(Default)]
struct Model {
    values: HashMap<(Obis, i8), Data>,
    calls: Vec<(Obis, i8, Option<Data>)>,
    sn: bool,
}

impl CosemServer for Model {
    fn objects(&self) -> Vec<ObjectListEntry> {
        let e = |class_id, obis, sn| ObjectListEntry {
            class_id,
            version: 0,
            obis,
            short_name: self.sn.then_some(sn),
            access: None,
        };
        vec![
            e(3, REG, 0x100),
            e(1, BIG, 0x200),
            e(7, PROFILE, 0x300),
            e(if self.sn { 12 } else { 15 }, ASSOC, 0xFA00),
        ]
    }
    fn get(
        &mut self,
        a: &AttributeDescriptor,
        _: Option<&SelectiveAccess>,
    ) -> Result<Data, DataAccessResult> {
        if a.class_id == 12 && a.attribute == 2 {
            return Ok(object_list_sn(&self.objects()));
        }
        self.values
            .get(&(a.instance, a.attribute))
            .cloned()
            .ok_or(DataAccessResult::ObjectUndefined)
    }
    fn access(&self, o: &ObjectListEntry) -> ObjectAccess {
        let (attributes, methods) = class_shape(o.class_id);
        let mut r = ObjectAccess::read_only(attributes, methods);
        match o.obis {
            REG | BIG => r.attributes[1] = AttributeAccess::ReadWrite,
            _ => {}
        }
        match o.obis {
            REG => r.methods[0] = true,
            PROFILE => r.methods[1] = true,
            _ => {}
        }
        r
    }
    fn set(&mut self, a: &AttributeDescriptor, value: Data) -> Result<(), DataAccessResult> {
        if a.instance == REG && !matches!(value, Data::DoubleLongUnsigned(_)) {
            return Err(DataAccessResult::TypeUnmatched);
        }
        self.values.insert((a.instance, a.attribute), value);
        Ok(())
    }
    fn action(
        &mut self,
        m: &MethodDescriptor,
        p: Option<Data>,
    ) -> Result<Option<Data>, DataAccessResult> {
        self.calls.push((m.instance, m.method, p.clone()));
        match (m.instance, m.method) {
            (REG, 1) => {
                self.values.insert((REG, 2), Data::DoubleLongUnsigned(0));
                Ok(None)
            }
            (PROFILE, 2) => Ok(p),
            _ => Err(DataAccessResult::ReadWriteDenied),
        }
    }
}

/// Associates a client (LLS with `password`, or the public client with `None`).
fn pair(r: Referencing, password: Option<&[u8]>, m: &mut Model) -> (ClientSession, ServerSession) {
    let mut ss = ServerSettings::new(r);
    ss.authentication = Authentication::Low(b"secret".to_vec());
    let mut s = ServerSession::new(ss);
    let mut cs = ClientSettings::new(r);
    cs.conformance = cs.conformance
        | Conformance::BLOCK_TRANSFER_WITH_SET_OR_WRITE
        | Conformance::BLOCK_TRANSFER_WITH_ACTION
        | Conformance::WRITE
        | Conformance::UNCONFIRMED_WRITE;
    cs.max_receive_pdu = 512;
    match password {
        Some(p) => {
            cs.authentication = Authentication::Low(p.to_vec());
            s.set_client(17);
        }
        None => s.set_client(PUBLIC_CLIENT),
    }
    let mut c = ClientSession::new(cs);
    let aare = s.handle(&c.aarq().unwrap(), m).unwrap();
    c.handle_aare(&aare).unwrap();
    (c, s)
}

fn drive(
    c: &ClientSession,
    s: &mut ServerSession,
    m: &mut Model,
    change: &Change,
    unconfirmed: bool,
) -> (ChangeOutcome, usize) {
    let mut op = c.change(change, unconfirmed).unwrap();
    let mut step = op.start();
    let mut rounds = 0;
    while let Step::Send(req) = step {
        rounds += 1;
        assert!(rounds < 1000);
        match s.handle(&req, m) {
            Some(resp) => step = op.handle(&resp).unwrap(),
            None => {
                assert!(!op.expects_answer(), "a confirmed request got no answer");
                break;
            }
        }
    }
    (op.outcome().unwrap(), rounds)
}

fn set(attr: AttributeRef, value: Data) -> Change {
    Change::Set {
        attribute: attr,
        value,
    }
}

#[test]
fn set_normal_is_written_and_reads_back() {
    let mut m = Model::default();
    let (c, mut s) = pair(Referencing::Ln, Some(b"secret"), &mut m);
    let (o, rounds) = drive(
        &c,
        &mut s,
        &mut m,
        &set(AttributeRef::new(3, REG, 2), Data::DoubleLongUnsigned(5)),
        false,
    );
    assert!(o.succeeded() && rounds == 1, "{o:?}");
    assert_eq!(m.values[&(REG, 2)], Data::DoubleLongUnsigned(5));
    // The model's refusal comes back as it is; an attribute the rights do not open is denied.
    let (o, _) = drive(
        &c,
        &mut s,
        &mut m,
        &set(AttributeRef::new(3, REG, 2), Data::Boolean(true)),
        false,
    );
    assert_eq!(o.result, DataAccessResult::TypeUnmatched);
    let (o, _) = drive(
        &c,
        &mut s,
        &mut m,
        &set(AttributeRef::new(3, REG, 3), Data::Null),
        false,
    );
    assert_eq!(o.result, DataAccessResult::ReadWriteDenied);
    let (o, _) = drive(
        &c,
        &mut s,
        &mut m,
        &set(
            AttributeRef::new(3, Obis::new(1, 2, 3, 4, 5, 6), 2),
            Data::Null,
        ),
        false,
    );
    assert_eq!(o.result, DataAccessResult::ObjectUndefined);
    let (o, _) = drive(
        &c,
        &mut s,
        &mut m,
        &set(AttributeRef::new(1, REG, 2), Data::Null),
        false,
    );
    assert_eq!(o.result, DataAccessResult::ObjectClassInconsistent);
}

#[test]
fn set_with_datablocks_is_reassembled() {
    let mut m = Model::default();
    let (c, mut s) = pair(Referencing::Ln, Some(b"secret"), &mut m);
    let value = Data::OctetString((0..3000u32).map(|i| i as u8).collect());
    let (o, rounds) = drive(
        &c,
        &mut s,
        &mut m,
        &set(AttributeRef::new(1, BIG, 2), value.clone()),
        false,
    );
    assert!(o.succeeded(), "{o:?}");
    assert!(rounds >= 3, "sent in blocks: {rounds} requests");
    assert_eq!(m.values[&(BIG, 2)], value);
}

#[test]
fn set_with_list_and_with_list_in_blocks() {
    let mut m = Model::default();
    let (_, mut s) = pair(Referencing::Ln, Some(b"secret"), &mut m);
    let a = |obis, attribute| {
        (
            AttributeDescriptor {
                class_id: if obis == REG { 3 } else { 1 },
                instance: obis,
                attribute,
            },
            None,
        )
    };
    let req = SetRequest::WithList {
        invoke_id: 0xC1,
        attributes: vec![a(REG, 2), a(BIG, 2), a(REG, 3)],
        values: vec![
            Data::DoubleLongUnsigned(7),
            Data::OctetString(b"x".to_vec()),
            Data::Null,
        ],
    };
    let resp = SetResponse::decode(&s.handle(&req.encode(), &mut m).unwrap()).unwrap();
    assert_eq!(
        resp,
        SetResponse::WithList {
            invoke_id: 0xC1,
            results: vec![
                DataAccessResult::Success,
                DataAccessResult::Success,
                DataAccessResult::ReadWriteDenied
            ],
        }
    );
    // The same values as one SEQUENCE OF Data in two blocks.
    let mut raw = vec![2];
    Data::DoubleLongUnsigned(9).encode(&mut raw);
    Data::OctetString(b"yz".to_vec()).encode(&mut raw);
    let (first, second) = raw.split_at(4);
    let req = SetRequest::WithListAndFirstDatablock {
        invoke_id: 0xC1,
        attributes: vec![a(REG, 2), a(BIG, 2)],
        block: DataBlock {
            last_block: false,
            block_number: 1,
            raw: first.to_vec(),
        },
    };
    let resp = SetResponse::decode(&s.handle(&req.encode(), &mut m).unwrap()).unwrap();
    assert_eq!(
        resp,
        SetResponse::Datablock {
            invoke_id: 0xC1,
            block_number: 1
        }
    );
    let req = SetRequest::WithDatablock {
        invoke_id: 0xC1,
        block: DataBlock {
            last_block: true,
            block_number: 2,
            raw: second.to_vec(),
        },
    };
    let resp = SetResponse::decode(&s.handle(&req.encode(), &mut m).unwrap()).unwrap();
    assert_eq!(
        resp,
        SetResponse::LastDatablockWithList {
            invoke_id: 0xC1,
            results: vec![DataAccessResult::Success; 2],
            block_number: 2,
        }
    );
    assert_eq!(m.values[&(REG, 2)], Data::DoubleLongUnsigned(9));
    // A block out of turn, or with no long SET going on, is refused.
    let resp = SetResponse::decode(&s.handle(&req.encode(), &mut m).unwrap()).unwrap();
    assert!(matches!(
        resp,
        SetResponse::LastDatablock {
            result: DataAccessResult::NoLongSetInProgress,
            ..
        }
    ));
}

#[test]
fn action_with_return_data_in_blocks_and_parameter_in_blocks() {
    let mut m = Model::default();
    let (c, mut s) = pair(Referencing::Ln, Some(b"secret"), &mut m);
    let echo = |p: Data| Change::Action {
        method: MethodRef::new(7, PROFILE, 2),
        parameter: Some(p),
    };
    // Short: returned in the answer.
    let (o, rounds) = drive(&c, &mut s, &mut m, &echo(Data::Integer(3)), false);
    assert!(o.succeeded() && rounds == 1);
    assert_eq!(o.returned, Some(Ok(Data::Integer(3))));
    // Longer than the client's 512-byte PDU both ways: parameter blocks, then return blocks.
    let long = Data::OctetString(vec![0xAB; 2000]);
    let (o, rounds) = drive(&c, &mut s, &mut m, &echo(long.clone()), false);
    assert!(o.succeeded(), "{o:?}");
    assert!(rounds >= 6, "{rounds} requests");
    assert_eq!(o.returned, Some(Ok(long)));
    // A method without return data; one the rights do not open; one the class lacks.
    let call = |obis, class, method| Change::Action {
        method: MethodRef::new(class, obis, method),
        parameter: Some(Data::Integer(0)),
    };
    let (o, _) = drive(&c, &mut s, &mut m, &call(REG, 3, 1), false);
    assert!(o.succeeded() && o.returned.is_none());
    assert_eq!(m.values[&(REG, 2)], Data::DoubleLongUnsigned(0));
    let (o, _) = drive(&c, &mut s, &mut m, &call(PROFILE, 7, 1), false);
    assert_eq!(o.result, DataAccessResult::ReadWriteDenied);
    let (o, _) = drive(&c, &mut s, &mut m, &call(REG, 3, 9), false);
    assert_eq!(o.result, DataAccessResult::ObjectUndefined);
}

#[test]
fn action_with_list_and_with_first_pblock() {
    let mut m = Model::default();
    let (_, mut s) = pair(Referencing::Ln, Some(b"secret"), &mut m);
    let md = |class_id, instance, method| MethodDescriptor {
        class_id,
        instance,
        method,
    };
    let req = ActionRequest::WithList {
        invoke_id: 0xC2,
        methods: vec![md(3, REG, 1), md(7, PROFILE, 2), md(7, PROFILE, 1)],
        parameters: vec![Data::Integer(0), Data::Unsigned(4), Data::Integer(0)],
    };
    let resp = ActionResponse::decode(&s.handle(&req.encode(), &mut m).unwrap()).unwrap();
    assert_eq!(
        resp,
        ActionResponse::WithList {
            invoke_id: 0xC2,
            results: vec![
                (DataAccessResult::Success, None),
                (
                    DataAccessResult::Success,
                    Some(GetDataResult::Data(Data::Unsigned(4)))
                ),
                (DataAccessResult::ReadWriteDenied, None),
            ],
        }
    );
    // A pblock out of turn is long-action-aborted (Action-Result 15).
    let req = ActionRequest::WithFirstPblock {
        invoke_id: 0xC2,
        method: md(7, PROFILE, 2),
        block: DataBlock {
            last_block: false,
            block_number: 1,
            raw: vec![0x11],
        },
    };
    let resp = ActionResponse::decode(&s.handle(&req.encode(), &mut m).unwrap()).unwrap();
    assert_eq!(
        resp,
        ActionResponse::NextPblock {
            invoke_id: 0xC2,
            block_number: 1
        }
    );
    let req = ActionRequest::WithPblock {
        invoke_id: 0xC2,
        block: DataBlock {
            last_block: true,
            block_number: 3,
            raw: vec![0x05],
        },
    };
    let resp = ActionResponse::decode(&s.handle(&req.encode(), &mut m).unwrap()).unwrap();
    assert!(matches!(
        resp,
        ActionResponse::Normal {
            result: DataAccessResult::LongGetAborted,
            ..
        }
    ));
}

#[test]
fn public_client_reads_only_and_the_object_list_says_so() {
    let mut m = Model::default();
    m.values.insert((REG, 2), Data::DoubleLongUnsigned(1));
    let rights_of = |c: &ClientSession, s: &mut ServerSession, m: &mut Model| {
        let mut op = c.read(&[AttributeRef::new(15, ASSOC, 2)]).unwrap();
        let mut step = op.start();
        while let Step::Send(req) = step {
            step = op.handle(&s.handle(&req, m).unwrap()).unwrap();
        }
        let Ok(Data::Array(list)) = op.into_results().remove(0) else {
            panic!("object list")
        };
        // The register's {attribute_access, method_access}.
        let Data::Structure(reg) = &list[0] else {
            panic!()
        };
        reg[3].clone()
    };
    let (c, mut s) = pair(Referencing::Ln, None, &mut m);
    let (o, _) = drive(
        &c,
        &mut s,
        &mut m,
        &set(AttributeRef::new(3, REG, 2), Data::DoubleLongUnsigned(5)),
        false,
    );
    assert_eq!(o.result, DataAccessResult::ReadWriteDenied);
    let (o, _) = drive(
        &c,
        &mut s,
        &mut m,
        &Change::Action {
            method: MethodRef::new(3, REG, 1),
            parameter: Some(Data::Integer(0)),
        },
        false,
    );
    assert_eq!(o.result, DataAccessResult::ReadWriteDenied);
    assert_eq!(
        m.values[&(REG, 2)],
        Data::DoubleLongUnsigned(1),
        "unchanged"
    );
    assert!(m.calls.is_empty());
    let attr = |id, mode| Data::Structure(vec![Data::Integer(id), Data::Enum(mode), Data::Null]);
    let method = |mode| {
        Data::Array(vec![Data::Structure(vec![
            Data::Integer(1),
            Data::Enum(mode),
        ])])
    };
    assert_eq!(
        rights_of(&c, &mut s, &mut m),
        Data::Structure(vec![
            Data::Array(vec![attr(1, 1), attr(2, 1), attr(3, 1)]),
            method(0)
        ])
    );
    let (c, mut s) = pair(Referencing::Ln, Some(b"secret"), &mut m);
    assert_eq!(
        rights_of(&c, &mut s, &mut m),
        Data::Structure(vec![
            Data::Array(vec![attr(1, 1), attr(2, 3), attr(3, 1)]),
            method(1)
        ])
    );
}

#[test]
fn sn_write_and_unconfirmed_write() {
    let mut m = Model {
        sn: true,
        ..Model::default()
    };
    let (mut c, mut s) = pair(Referencing::Sn, Some(b"secret"), &mut m);
    c.set_short_names(&m.objects());
    let (o, _) = drive(
        &c,
        &mut s,
        &mut m,
        &set(AttributeRef::new(3, REG, 2), Data::DoubleLongUnsigned(11)),
        false,
    );
    assert!(o.succeeded() && o.confirmed, "{o:?}");
    assert_eq!(m.values[&(REG, 2)], Data::DoubleLongUnsigned(11));
    let (o, _) = drive(
        &c,
        &mut s,
        &mut m,
        &set(AttributeRef::new(3, REG, 3), Data::Null),
        false,
    );
    assert_eq!(o.result, DataAccessResult::ReadWriteDenied);
    let (o, _) = drive(
        &c,
        &mut s,
        &mut m,
        &set(AttributeRef::new(3, REG, 2), Data::DoubleLongUnsigned(12)),
        true,
    );
    assert!(!o.confirmed);
    assert_eq!(m.values[&(REG, 2)], Data::DoubleLongUnsigned(12));
    // The public client's unconfirmed write is dropped, silently.
    let (mut c, mut s) = pair(Referencing::Sn, None, &mut m);
    c.set_short_names(&m.objects());
    drive(
        &c,
        &mut s,
        &mut m,
        &set(AttributeRef::new(3, REG, 2), Data::DoubleLongUnsigned(13)),
        true,
    );
    assert_eq!(m.values[&(REG, 2)], Data::DoubleLongUnsigned(12));
}

#[test]
fn hls_pass3_still_goes_to_the_association() {
    // Covered end to end by security_tests; here: after association, method 1 of the
    // association is not callable again.
    let mut m = Model::default();
    let (c, mut s) = pair(Referencing::Ln, Some(b"secret"), &mut m);
    let (o, _) = drive(
        &c,
        &mut s,
        &mut m,
        &Change::Action {
            method: MethodRef::new(15, ASSOC, 1),
            parameter: Some(Data::OctetString(vec![0; 16])),
        },
        false,
    );
    assert_eq!(o.result, DataAccessResult::ReadWriteDenied);
}

mod arbitrary {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// No request, however malformed, makes the server panic; a confirmed request always
        /// gets an answer.
        #[test]
        fn any_request_after_association(
            tag in prop::sample::select(vec![0xC0u8, 0xC1, 0xC3, 0x05, 0x06, 0x16, 0x60, 0x62]),
            body in proptest::collection::vec(any::<u8>(), 0..64),
            sn in any::<bool>(),
        ) {
            let mut m = Model { sn, ..Model::default() };
            let r = if sn { Referencing::Sn } else { Referencing::Ln };
            let (_, mut s) = pair(r, Some(b"secret"), &mut m);
            let mut req = vec![tag];
            req.extend_from_slice(&body);
            let answer = s.handle(&req, &mut m);
            prop_assert!(answer.is_some() || tag == 0x16);
            // And a second one, in whatever state the first left.
            let _ = s.handle(&req, &mut m);
        }
    }
}
