//! Unit tests of the server session's security: HLS mechanisms, ciphering policies, replays.

use super::*;
use crate::dlms::client::{
    AttributeRef, Authentication, Ciphering, ClientSession, ClientSettings, Referencing,
    SessionError, Step,
};
use crate::dlms::obis::Obis;
use crate::dlms::security::{HlsMechanism, Key, Policy};

const BK: &str = "000102030405060708090A0B0C0D0E0F";
const AK: &str = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF";

struct One;
impl CosemServer for One {
    fn objects(&self) -> Vec<ObjectListEntry> {
        Vec::new()
    }
    fn get(
        &mut self,
        _: &AttributeDescriptor,
        _: Option<&SelectiveAccess>,
    ) -> Result<Data, DataAccessResult> {
        Ok(Data::DoubleLongUnsigned(42))
    }
}

/// `One` with the register listed under a short name, for SN reads.
struct OneSn;
impl CosemServer for OneSn {
    fn objects(&self) -> Vec<ObjectListEntry> {
        vec![ObjectListEntry {
            class_id: 3,
            version: 0,
            obis: Obis::new(1, 0, 1, 8, 0, 255),
            short_name: Some(0x100),
            access: None,
        }]
    }
    fn get(
        &mut self,
        _: &AttributeDescriptor,
        _: Option<&SelectiveAccess>,
    ) -> Result<Data, DataAccessResult> {
        Ok(Data::DoubleLongUnsigned(42))
    }
}

fn keys() -> (Key, Key) {
    (BK.parse().unwrap(), AK.parse().unwrap())
}

/// Associates over LN (with HLS when asked) and returns both ends.
fn associate(
    auth: Authentication,
    policy: Policy,
    client_secret: Option<&[u8]>,
) -> Result<(ClientSession, ServerSession), SessionError> {
    associate_as(Referencing::Ln, auth, policy, client_secret)
}

/// Associates with `referencing` (with HLS when asked) and returns both ends.
fn associate_as(
    referencing: Referencing,
    auth: Authentication,
    policy: Policy,
    client_secret: Option<&[u8]>,
) -> Result<(ClientSession, ServerSession), SessionError> {
    let (bk, ak) = keys();
    let mut ss = ServerSettings::new(referencing);
    ss.authentication = auth.clone();
    ss.ciphering = Some(ServerCiphering {
        policy,
        system_title: "4D4D4D0000BC614E".parse().unwrap(),
        block_key: bk.clone(),
        auth_key: ak.clone(),
    });
    let mut server = ServerSession::new(ss);
    server.set_client(18);
    server.next_challenge = b"P6wRJ21F".to_vec();
    let mut cs = ClientSettings::new(referencing);
    cs.authentication = match (auth, client_secret) {
        (Authentication::High { mechanism, .. }, Some(s)) => Authentication::High {
            mechanism,
            secret: s.to_vec(),
        },
        (a, _) => a,
    };
    cs.challenge = b"K56iVagY".to_vec();
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
    let mut client = ClientSession::new(cs);
    let aare = server.handle(&client.aarq()?, &mut One).unwrap();
    client.handle_aare(&aare)?;
    if let Some(action) = client.hls_request()? {
        let wire = client.protect(&action)?;
        let reply = server.handle(&wire, &mut One).unwrap();
        let plain = client.unprotect(&reply)?;
        client.handle_hls_response(&plain)?;
    }
    if referencing == Referencing::Sn {
        client.set_short_names(&OneSn.objects());
    }
    Ok((client, server))
}

fn read(client: &mut ClientSession, server: &mut ServerSession) -> Result<Data, SessionError> {
    let mut op = client.read(&[AttributeRef::new(3, Obis::new(1, 0, 1, 8, 0, 255), 2)])?;
    let Step::Send(req) = op.start() else {
        panic!()
    };
    let wire = client.protect(&req)?;
    let answer = match client.settings().referencing {
        Referencing::Ln => server.handle(&wire, &mut One),
        Referencing::Sn => server.handle(&wire, &mut OneSn),
    }
    .unwrap();
    let plain = client.unprotect(&answer)?;
    assert_eq!(op.handle(&plain)?, Step::Done);
    Ok(op.into_results().remove(0).unwrap())
}

fn mechanisms() -> [Authentication; 7] {
    [
        Authentication::None,
        Authentication::Low(b"12345678".to_vec()),
        Authentication::High {
            mechanism: HlsMechanism::Manufacturer,
            secret: b"Gurux0123456789A".to_vec(),
        },
        Authentication::High {
            mechanism: HlsMechanism::Md5,
            secret: b"Gurux".to_vec(),
        },
        Authentication::High {
            mechanism: HlsMechanism::Sha1,
            secret: b"Gurux".to_vec(),
        },
        Authentication::High {
            mechanism: HlsMechanism::Sha256,
            secret: b"Gurux".to_vec(),
        },
        Authentication::High {
            mechanism: HlsMechanism::Gmac,
            secret: Vec::new(),
        },
    ]
}

#[test]
fn every_mechanism_with_every_policy() {
    for referencing in [Referencing::Ln, Referencing::Sn] {
        for auth in mechanisms() {
            for policy in [Policy::None, Policy::Auth, Policy::Enc, Policy::AuthEnc] {
                let (mut c, mut s) = associate_as(referencing, auth.clone(), policy, None)
                    .unwrap_or_else(|e| panic!("{referencing:?} {auth:?} {policy:?}: {e}"));
                assert_eq!(
                    read(&mut c, &mut s).unwrap(),
                    Data::DoubleLongUnsigned(42),
                    "{referencing:?} {auth:?} {policy:?}"
                );
                assert_eq!(c.is_ciphered(), policy != Policy::None);
            }
        }
    }
}

#[test]
fn hls_pass_3_over_sn_reads_the_association_method_by_its_short_name() {
    let auth = Authentication::High {
        mechanism: HlsMechanism::Md5,
        secret: b"Gurux".to_vec(),
    };
    let mut cs = ClientSettings::new(Referencing::Sn);
    cs.authentication = auth.clone();
    cs.challenge = b"K56iVagY".to_vec();
    let mut ss = ServerSettings::new(Referencing::Sn);
    ss.authentication = auth;
    let mut server = ServerSession::new(ss);
    server.set_client(18);
    server.next_challenge = b"P6wRJ21F".to_vec();
    let mut client = ClientSession::new(cs);
    let aare = server.handle(&client.aarq().unwrap(), &mut One).unwrap();
    client.handle_aare(&aare).unwrap();
    let pass3 = client.hls_request().unwrap().unwrap();
    // READ, one item, parameterized access of 0xFA58, selector 0, an octet-string of 16 bytes.
    assert_eq!(pass3[..8], [0x05, 0x01, 0x04, 0xFA, 0x58, 0x00, 0x09, 0x10]);
    assert_eq!(pass3.len(), 8 + 16);
    let pass4 = server.handle(&pass3, &mut One).unwrap();
    assert_eq!(
        pass4[..5],
        [0x0C, 0x01, 0x00, 0x09, 0x10],
        "READ-response data"
    );
    client.handle_hls_response(&pass4).unwrap();
    // A wrong f(StoC) is refused with read-write-denied, and the association ends.
    let mut server2 = ServerSession::new(server.settings.clone());
    server2.set_client(18);
    server2.next_challenge = b"P6wRJ21F".to_vec();
    let mut c2 = ClientSession::new(client.settings().clone());
    let aare = server2.handle(&c2.aarq().unwrap(), &mut One).unwrap();
    c2.handle_aare(&aare).unwrap();
    let mut bad = c2.hls_request().unwrap().unwrap();
    *bad.last_mut().unwrap() ^= 1;
    let refused = server2.handle(&bad, &mut One).unwrap();
    assert_eq!(refused, [0x0C, 0x01, 0x01, 0x03]);
    assert!(!server2.is_associated());
    let e = c2.handle_hls_response(&refused).unwrap_err().to_string();
    assert!(e.contains("refused our answer"), "{e}");
}

#[test]
fn wrong_hls_secret_fails_both_ways() {
    for referencing in [Referencing::Ln, Referencing::Sn] {
        for mechanism in [
            HlsMechanism::Manufacturer,
            HlsMechanism::Md5,
            HlsMechanism::Sha1,
            HlsMechanism::Sha256,
        ] {
            let auth = Authentication::High {
                mechanism,
                secret: b"Gurux0123456789A".to_vec(),
            };
            let e = associate_as(referencing, auth, Policy::None, Some(b"wrong-secret"))
                .unwrap_err()
                .to_string();
            assert!(
                e.contains("meter failed authentication") || e.contains("refused"),
                "{referencing:?} {mechanism:?}: {e}"
            );
        }
    }
}

#[test]
fn replayed_and_tampered_answers_are_rejected() {
    let (mut c, mut s) = associate(Authentication::None, Policy::AuthEnc, None).unwrap();
    let mut op = c
        .read(&[AttributeRef::new(3, Obis::new(1, 0, 1, 8, 0, 255), 2)])
        .unwrap();
    let Step::Send(req) = op.start() else {
        panic!()
    };
    let answer = s.handle(&c.protect(&req).unwrap(), &mut One).unwrap();
    assert!(c.unprotect(&answer).is_ok());
    let e = c.unprotect(&answer).unwrap_err().to_string();
    assert!(e.contains("replayed"), "{e}");
    let mut answer2 = s.handle(&c.protect(&req).unwrap(), &mut One).unwrap();
    let n = answer2.len();
    answer2[n - 14] ^= 0x01;
    let e = c.unprotect(&answer2).unwrap_err().to_string();
    assert!(e.contains("does not verify"), "{e}");
    // A plain answer in a ciphered association is refused too.
    let e = c
        .unprotect(&[0xC4, 0x01, 0xC1, 0x00, 0x06, 0, 0, 0, 1])
        .unwrap_err()
        .to_string();
    assert!(!e.is_empty());
    // The client's counter went up with every protected APDU and never repeats.
    assert!(c.invocation_counter().unwrap() > 7);
}

#[test]
fn the_public_client_may_read_without_security() {
    let (bk, ak) = keys();
    let mut ss = ServerSettings::new(Referencing::Ln);
    ss.authentication = Authentication::High {
        mechanism: HlsMechanism::Gmac,
        secret: Vec::new(),
    };
    ss.ciphering = Some(ServerCiphering {
        policy: Policy::AuthEnc,
        system_title: "4D4D4D0000BC614E".parse().unwrap(),
        block_key: bk,
        auth_key: ak,
    });
    let mut s = ServerSession::new(ss);
    s.set_client(16);
    let mut c = ClientSession::new(ClientSettings::new(Referencing::Ln));
    let aare = s.handle(&c.aarq().unwrap(), &mut One).unwrap();
    c.handle_aare(&aare).unwrap();
    assert_eq!(read(&mut c, &mut s).unwrap(), Data::DoubleLongUnsigned(42));
    // Any other client must use the configured security.
    s.set_client(18);
    let mut c = ClientSession::new(ClientSettings::new(Referencing::Ln));
    let aare = s.handle(&c.aarq().unwrap(), &mut One).unwrap();
    assert!(c.handle_aare(&aare).is_err());
}

#[test]
fn set_and_action_go_through_ciphering_like_get() {
    use crate::dlms::client::{Change, MethodRef};
    let (mut c, mut s) = associate(
        Authentication::High {
            mechanism: HlsMechanism::Gmac,
            secret: Vec::new(),
        },
        Policy::AuthEnc,
        None,
    )
    .unwrap();
    let reg = Obis::new(1, 0, 1, 8, 0, 255);
    for change in [
        Change::Set {
            attribute: AttributeRef::new(3, reg, 2),
            value: Data::DoubleLongUnsigned(1),
        },
        Change::Action {
            method: MethodRef::new(3, reg, 1),
            parameter: Some(Data::Integer(0)),
        },
    ] {
        let mut op = c.change(&change, false).unwrap();
        let Step::Send(req) = op.start() else {
            panic!()
        };
        let wire = c.protect(&req).unwrap();
        assert_ne!(wire[0], req[0], "sent ciphered");
        let answer = s.handle(&wire, &mut One).unwrap();
        let plain = c.unprotect(&answer).unwrap();
        assert_eq!(op.handle(&plain).unwrap(), Step::Done);
        // `One` serves no object: the request was understood and answered, ciphered.
        assert_eq!(
            op.outcome().unwrap().result,
            DataAccessResult::ObjectUndefined
        );
    }
}
