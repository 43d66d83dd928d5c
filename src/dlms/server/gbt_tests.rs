//! General-block-transfer between the client's read and the server session, in memory: windows
//! streamed, each acknowledged, a lost block asked for again.

use super::tests::{model, Model};
use super::*;
use crate::dlms::acse::Conformance;
use crate::dlms::client::{
    AttributeRef, Ciphering, ClientSession, ClientSettings, ReadError, Referencing, Step,
};
use crate::dlms::obis::Obis;
use crate::dlms::security::{Key, Policy};
use crate::dlms::xdlms::GeneralBlockTransfer;

struct Outcome {
    results: Vec<Result<Data, ReadError>>,
    gbt_blocks: usize,
    acks: usize,
    recoveries: u32,
}

/// Associates (client proposing GBT with `client_window` when given, the server answering in
/// windows of `server_window` when given), reads the profile, and loses block `lose` once.
fn read(client_window: Option<u8>, server_window: Option<u8>, lose: Option<u16>) -> Outcome {
    read_as(client_window, server_window, lose, Policy::None)
}

/// [`read`] in an association ciphered with `policy` (none: plain).
fn read_as(
    client_window: Option<u8>,
    server_window: Option<u8>,
    lose: Option<u16>,
    policy: Policy,
) -> Outcome {
    let mut cs = ClientSettings::new(Referencing::Ln);
    cs.gbt = client_window.is_some();
    cs.gbt_window = client_window.unwrap_or(1);
    let mut ss = ServerSettings::new(Referencing::Ln);
    ss.max_pdu = 200;
    if server_window.is_some() {
        ss.conformance = ss.conformance | Conformance::GENERAL_BLOCK_TRANSFER;
    }
    ss.gbt_window = server_window;
    if policy != Policy::None {
        let bk: Key = "000102030405060708090A0B0C0D0E0F".parse().unwrap();
        let ak: Key = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF".parse().unwrap();
        ss.ciphering = Some(ServerCiphering {
            policy,
            system_title: "4D4D4D0000BC614E".parse().unwrap(),
            block_key: bk.clone(),
            auth_key: ak.clone(),
        });
        cs.ciphering = Some(Ciphering {
            policy,
            system_title: "4142434445464748".parse().unwrap(),
            block_key: bk,
            auth_key: ak,
            dedicated_key: None,
            server_system_title: None,
            invocation_counter: 7,
            meter_counter_floor: 0,
        });
    }
    let mut c = ClientSession::new(cs);
    let mut s = ServerSession::new(ss);
    s.set_client(18);
    let m: &mut Model = &mut model();
    let aare = s.handle(&c.aarq().unwrap(), m).unwrap();
    c.handle_aare(&aare).unwrap();
    let items = [AttributeRef::new(7, Obis::new(1, 0, 99, 1, 0, 255), 2)];
    let mut op = c.read(&items).unwrap();
    let mut step = op.start();
    let (mut gbt_blocks, mut acks, mut lost) = (0, 0, false);
    let mut inbox = std::collections::VecDeque::new();
    for _ in 0..10_000 {
        match step {
            Step::Done => break,
            Step::Decipher(whole) => {
                step = op.handle(&c.unprotect(&whole).unwrap()).unwrap();
                continue;
            }
            Step::Send(req) => {
                if req.first() == Some(&0xE0) {
                    acks += 1;
                }
                // What goes on the wire: the GET ciphered, acknowledgements plain.
                let wire = c.protect(&req).unwrap();
                assert!(wire.len() <= 200, "a request of {} bytes", wire.len());
                inbox.extend(s.handle(&wire, m));
                while let Some(b) = s.next_streamed() {
                    inbox.push_back(b);
                }
            }
            Step::Receive => {}
        }
        let Some(resp) = inbox.pop_front() else {
            // Silence: what the driver does when its wait times out.
            step = op.on_timeout().expect("a transfer to recover");
            continue;
        };
        assert!(resp.len() <= 200, "an answer of {} bytes", resp.len());
        if let Ok(b) = GeneralBlockTransfer::decode(&resp) {
            gbt_blocks += 1;
            if Some(b.block_number) == lose && !lost {
                lost = true;
                step = Step::Receive;
                continue;
            }
        }
        // Blocks and plain errors pass unchanged; the rest is deciphered.
        step = op.handle(&c.unprotect(&resp).unwrap()).unwrap();
    }
    assert!(inbox.is_empty(), "{} answers never read", inbox.len());
    Outcome {
        recoveries: op.gbt_recoveries(),
        results: op.into_results(),
        gbt_blocks,
        acks,
    }
}

fn rows(o: &Outcome) -> usize {
    match &o.results[0] {
        Ok(Data::Array(rows)) => rows.len(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn without_gbt_on_either_side_the_answer_comes_in_data_blocks() {
    for (c, s) in [(None, Some(4)), (Some(4), None)] {
        let o = read(c, s, None);
        assert_eq!(rows(&o), 3000);
        assert_eq!(o.gbt_blocks, 0);
    }
}

#[test]
fn windows_are_the_smaller_of_both_and_acknowledged_once_each() {
    let o = read(Some(8), Some(3), None);
    assert_eq!(rows(&o), 3000);
    assert!(o.gbt_blocks > 50, "{} blocks", o.gbt_blocks);
    // Every window but the last ends in an acknowledgement.
    assert_eq!(o.acks, o.gbt_blocks.div_ceil(3) - 1);
    // The server learns the client's window from its first acknowledgement (the GET request
    // is not itself a block): the first window is the server's 5, then windows of 2.
    let o = read(Some(2), Some(5), None);
    assert_eq!(o.acks, 1 + (o.gbt_blocks - 5).div_ceil(2) - 1);
    assert_eq!(o.recoveries, 0);
}

#[test]
fn a_lost_block_is_sent_again_after_the_acknowledgement_of_the_one_before() {
    let whole = read(Some(4), Some(4), None);
    let o = read(Some(4), Some(4), Some(6));
    assert_eq!(o.results, whole.results);
    assert_eq!(o.recoveries, 1);
    // Blocks 7 and 8 came in vain; 6, 7 and 8 come again.
    assert!(o.gbt_blocks > whole.gbt_blocks);
}

#[test]
fn a_lost_window_end_is_asked_for_again_on_timeout() {
    let whole = read(Some(4), Some(4), None);
    let o = read(Some(4), Some(4), Some(4));
    assert_eq!(o.results, whole.results);
    assert_eq!(o.recoveries, 1);
}

#[test]
fn a_ciphered_answer_travels_ciphered_in_plain_blocks_and_is_opened_once_joined() {
    let plain = read(Some(4), Some(4), None);
    for policy in [Policy::AuthEnc, Policy::Enc, Policy::Auth] {
        let o = read_as(Some(4), Some(4), None, policy);
        assert_eq!(o.results, plain.results, "{policy:?}");
        // Without GBT the ciphered answer comes in GET data blocks, each (ciphered) within
        // the client's PDU size too (`read_as` checks every answer's length).
        let blocks = read_as(None, Some(4), None, policy);
        assert_eq!(blocks.results, plain.results, "{policy:?}");
        assert_eq!(blocks.gbt_blocks, 0);
        assert!(o.gbt_blocks > 50, "{} blocks", o.gbt_blocks);
        // A lost block in the middle and a lost window end are recovered as when plain.
        for lose in [6, 4] {
            let o = read_as(Some(4), Some(4), Some(lose), policy);
            assert_eq!(o.results, plain.results, "{policy:?}, block {lose} lost");
            assert_eq!(o.recoveries, 1);
        }
    }
}

#[test]
fn the_first_block_carries_the_ciphered_get_response() {
    let mut cs = ClientSettings::new(Referencing::Ln);
    cs.gbt = true;
    let mut ss = ServerSettings::new(Referencing::Ln);
    ss.max_pdu = 200;
    ss.conformance = ss.conformance | Conformance::GENERAL_BLOCK_TRANSFER;
    ss.gbt_window = Some(1);
    let bk: Key = "000102030405060708090A0B0C0D0E0F".parse().unwrap();
    let ak: Key = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF".parse().unwrap();
    ss.ciphering = Some(ServerCiphering {
        policy: Policy::AuthEnc,
        system_title: "4D4D4D0000BC614E".parse().unwrap(),
        block_key: bk.clone(),
        auth_key: ak.clone(),
    });
    cs.ciphering = Some(Ciphering {
        policy: Policy::AuthEnc,
        system_title: "4142434445464748".parse().unwrap(),
        block_key: bk,
        auth_key: ak,
        dedicated_key: None,
        server_system_title: None,
        invocation_counter: 7,
        meter_counter_floor: 0,
    });
    let mut c = ClientSession::new(cs);
    let mut s = ServerSession::new(ss);
    s.set_client(18);
    let m: &mut Model = &mut model();
    let aare = s.handle(&c.aarq().unwrap(), m).unwrap();
    c.handle_aare(&aare).unwrap();
    let mut op = c
        .read(&[AttributeRef::new(7, Obis::new(1, 0, 99, 1, 0, 255), 2)])
        .unwrap();
    let Step::Send(get) = op.start() else {
        panic!("a GET")
    };
    let first = s.handle(&c.protect(&get).unwrap(), m).unwrap();
    let b = GeneralBlockTransfer::decode(&first).unwrap();
    assert_eq!(b.block_number, 1);
    // glo-get-response (CC), its length, security control 0x30 (authenticated and encrypted).
    assert_eq!(b.data[0], 0xCC);
    assert!(b.data[1..5].contains(&0x30));
}

#[test]
fn an_acknowledgement_without_a_transfer_is_refused() {
    let mut ss = ServerSettings::new(Referencing::Ln);
    ss.conformance = ss.conformance | Conformance::GENERAL_BLOCK_TRANSFER;
    ss.gbt_window = Some(2);
    let mut cs = ClientSettings::new(Referencing::Ln);
    cs.gbt = true;
    let mut c = ClientSession::new(cs);
    let mut s = ServerSession::new(ss);
    let m = &mut model();
    let aare = s.handle(&c.aarq().unwrap(), m).unwrap();
    c.handle_aare(&aare).unwrap();
    let ack = GeneralBlockTransfer {
        last: true,
        streaming: false,
        window: 1,
        block_number: 1,
        ack: 3,
        data: Vec::new(),
    };
    let r = s.handle(&ack.encode(), m).unwrap();
    assert_eq!(r[0], 0xD8, "an exception-response");
}
