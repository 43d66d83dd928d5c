//! Unit tests of [`super::ChangeOp`]: SET, ACTION and SN WRITE against hand-made answers.

use super::tests::associated;
use super::*;
use crate::dlms::acse::Conformance;
use crate::dlms::data::Data;
use crate::dlms::obis::Obis;
use crate::dlms::xdlms::{
    ActionRequest, ActionResponse, DataAccessResult, DataBlock, GetDataResult, SetRequest,
    SetResponse, UnconfirmedWriteRequest, VariableAccess, WriteRequest, WriteResponse, WriteResult,
};
use proptest::prelude::*;

fn all() -> Conformance {
    Conformance::SET
        .union(Conformance::ACTION)
        .union(Conformance::WRITE)
        .union(Conformance::UNCONFIRMED_WRITE)
        .union(Conformance::BLOCK_TRANSFER_WITH_SET_OR_WRITE)
        .union(Conformance::BLOCK_TRANSFER_WITH_ACTION)
}

fn clock() -> AttributeRef {
    AttributeRef::new(8, Obis::new(0, 0, 1, 0, 0, 255), 2)
}

fn sent(step: Step) -> Vec<u8> {
    match step {
        Step::Send(a) => a,
        Step::Done | Step::Receive | Step::Decipher(_) => panic!("expected a request"),
    }
}

#[test]
fn a_set_is_one_request_and_its_result() {
    let s = associated(Referencing::Ln, all(), 1024);
    let change = Change::Set {
        attribute: clock(),
        value: Data::OctetString(vec![0x07; 12]),
    };
    let mut op = s.change(&change, false).unwrap();
    let req = SetRequest::decode(&sent(op.start())).unwrap();
    assert!(matches!(req, SetRequest::Normal { .. }));
    let answer = SetResponse::Normal {
        invoke_id: 0xC1,
        result: DataAccessResult::ReadWriteDenied,
    };
    assert_eq!(op.handle(&answer.encode()).unwrap(), Step::Done);
    let o = op.outcome().unwrap();
    assert!(!o.succeeded());
    assert_eq!(o.result, DataAccessResult::ReadWriteDenied);
}

#[test]
fn a_long_value_goes_in_acknowledged_blocks() {
    let s = associated(Referencing::Ln, all(), 64);
    let value = Data::OctetString((0..=255).collect());
    let mut op = s
        .change(
            &Change::Set {
                attribute: clock(),
                value: value.clone(),
            },
            false,
        )
        .unwrap();
    let mut raw = Vec::new();
    let mut step = op.start();
    let mut blocks = 0;
    while let Step::Send(apdu) = step {
        let (block_number, last) = match SetRequest::decode(&apdu).unwrap() {
            SetRequest::WithFirstDatablock { block, .. }
            | SetRequest::WithDatablock { block, .. } => {
                raw.extend_from_slice(&block.raw);
                assert!(apdu.len() <= 64, "each request fits the PDU");
                (block.block_number, block.last_block)
            }
            other => panic!("not a block: {other:?}"),
        };
        blocks += 1;
        let answer = if last {
            SetResponse::LastDatablock {
                invoke_id: 0xC1,
                result: DataAccessResult::Success,
                block_number,
            }
        } else {
            SetResponse::Datablock {
                invoke_id: 0xC1,
                block_number,
            }
        };
        step = op.handle(&answer.encode()).unwrap();
    }
    assert!(blocks > 4, "{blocks} blocks");
    assert_eq!(raw, value.to_bytes(), "the blocks hold the encoded value");
    assert!(op.outcome().unwrap().succeeded());
}

#[test]
fn an_action_returns_its_data_also_in_blocks() {
    let s = associated(Referencing::Ln, all(), 1024);
    let m = MethodRef::new(70, Obis::new(0, 0, 96, 3, 10, 255), 1);
    let change = Change::Action {
        method: m,
        parameter: Some(Data::Integer(0)),
    };
    let mut op = s.change(&change, false).unwrap();
    assert!(matches!(
        ActionRequest::decode(&sent(op.start())).unwrap(),
        ActionRequest::Normal { .. }
    ));
    let normal = ActionResponse::Normal {
        invoke_id: 0xC1,
        result: DataAccessResult::Success,
        return_parameters: Some(GetDataResult::Data(Data::Unsigned(7))),
    };
    op.handle(&normal.encode()).unwrap();
    assert_eq!(op.outcome().unwrap().returned, Some(Ok(Data::Unsigned(7))));

    let mut op = s.change(&change, false).unwrap();
    op.start();
    let ret = Data::VisibleString(b"returned in two blocks".to_vec()).to_bytes();
    let (a, b) = ret.split_at(5);
    let first = ActionResponse::WithPblock {
        invoke_id: 0xC1,
        block: DataBlock {
            last_block: false,
            block_number: 1,
            raw: a.to_vec(),
        },
    };
    let next = ActionRequest::decode(&sent(op.handle(&first.encode()).unwrap())).unwrap();
    assert!(matches!(
        next,
        ActionRequest::NextPblock {
            block_number: 1,
            ..
        }
    ));
    let last = ActionResponse::WithPblock {
        invoke_id: 0xC1,
        block: DataBlock {
            last_block: true,
            block_number: 2,
            raw: b.to_vec(),
        },
    };
    assert_eq!(op.handle(&last.encode()).unwrap(), Step::Done);
    assert_eq!(
        op.outcome().unwrap().returned,
        Some(Ok(Data::VisibleString(b"returned in two blocks".to_vec())))
    );
}

#[test]
fn sn_writes_by_short_name_and_unconfirmed_writes_expect_no_answer() {
    let mut s = associated(Referencing::Sn, all(), 1024);
    s.short_names.insert(Obis::new(0, 0, 1, 0, 0, 255), 0x00A0);
    let change = Change::Set {
        attribute: clock(),
        value: Data::OctetString(vec![0; 12]),
    };
    let mut op = s.change(&change, false).unwrap();
    let w = WriteRequest::decode(&sent(op.start())).unwrap();
    assert_eq!(
        w.names,
        vec![VariableAccess::Name(0x00A8)],
        "attribute 2 is base + 8"
    );
    op.handle(&WriteResponse(vec![WriteResult::Success]).encode())
        .unwrap();
    assert!(op.outcome().unwrap().succeeded());

    let mut op = s.change(&change, true).unwrap();
    assert!(!op.expects_answer());
    assert!(UnconfirmedWriteRequest::decode(&sent(op.start())).is_ok());
    assert!(!op.outcome().unwrap().confirmed);

    let unknown = Change::Set {
        attribute: AttributeRef::new(3, Obis::new(1, 0, 1, 8, 0, 255), 2),
        value: Data::Null,
    };
    assert!(s.change(&unknown, false).is_err());
    let action = Change::Action {
        method: MethodRef::new(3, Obis::new(1, 0, 1, 8, 0, 255), 1),
        parameter: None,
    };
    assert!(s
        .change(&action, false)
        .unwrap_err()
        .to_string()
        .contains("not supported"));
}

#[test]
fn services_the_meter_did_not_grant_are_not_sent() {
    let s = associated(Referencing::Ln, Conformance::GET, 1024);
    let e = s
        .change(
            &Change::Set {
                attribute: clock(),
                value: Data::Null,
            },
            false,
        )
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "the association does not allow SET: the meter did not grant it in its conformance block"
    );
}

#[test]
fn answers_that_do_not_fit_are_errors() {
    let s = associated(Referencing::Ln, all(), 1024);
    let mut op = s
        .change(
            &Change::Set {
                attribute: clock(),
                value: Data::Null,
            },
            false,
        )
        .unwrap();
    op.start();
    let other_id = SetResponse::Normal {
        invoke_id: 0xC2,
        result: DataAccessResult::Success,
    };
    assert!(op.handle(&other_id.encode()).is_err());
    let ack_of_nothing = SetResponse::Datablock {
        invoke_id: 0xC1,
        block_number: 1,
    };
    assert!(op.handle(&ack_of_nothing.encode()).is_err());
}

proptest! {
    /// Whatever a meter answers, a change ends in a step, an outcome or an error: never a panic.
    #[test]
    fn any_answer_is_handled(bytes in proptest::collection::vec(any::<u8>(), 0..64), first in 0u8..4) {
        let s = associated(Referencing::Ln, all(), 64);
        let change = match first {
            0 => Change::Set { attribute: clock(), value: Data::OctetString(vec![1; 200]) },
            _ => Change::Action {
                method: MethodRef::new(7, Obis::new(1, 0, 99, 1, 0, 255), 2),
                parameter: Some(Data::Integer(0)),
            },
        };
        let mut op = s.change(&change, false).unwrap();
        op.start();
        let mut apdu = vec![0xC5, 1 + first % 3, 0xC1];
        apdu.extend_from_slice(&bytes);
        let _ = op.handle(&apdu);
        let _ = op.handle(&bytes);
    }
}
