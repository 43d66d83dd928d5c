//! Unit tests of the server session against the client session.

use super::*;
use crate::dlms::client::{
    AttributeRef, Authentication, ClientSession, ClientSettings, ReadError, Referencing, Step,
};
use crate::dlms::obis::Obis;

/// A model with one register and one large array, for exercising blocks.
pub(super) struct Model {
    objects: Vec<ObjectListEntry>,
}

impl CosemServer for Model {
    fn objects(&self) -> Vec<ObjectListEntry> {
        self.objects.clone()
    }
    fn get(
        &mut self,
        a: &AttributeDescriptor,
        _: Option<&SelectiveAccess>,
    ) -> Result<Data, DataAccessResult> {
        match (a.instance.to_string().as_str(), a.attribute) {
            ("1.0.1.8.0.255", 2) => Ok(Data::DoubleLongUnsigned(42)),
            ("1.0.1.8.0.255", 3) => Ok(Data::Structure(vec![Data::Integer(-1), Data::Enum(30)])),
            ("1.0.99.1.0.255", 2) => Ok(Data::Array(
                (0..3000).map(Data::DoubleLongUnsigned).collect(),
            )),
            (_, 2) if a.class_id == 12 => Ok(object_list_sn(&self.objects)),
            _ => Err(DataAccessResult::ObjectUndefined),
        }
    }
}

pub(super) fn model() -> Model {
    let e = |c, o: &str, sn| ObjectListEntry {
        class_id: c,
        version: 0,
        obis: o.parse().unwrap(),
        short_name: Some(sn),
        access: None,
    };
    Model {
        objects: vec![
            e(3, "1.0.1.8.0.255", 0x100),
            e(7, "1.0.99.1.0.255", 0x200),
            e(12, "0.0.40.0.0.255", 0xFA00),
        ],
    }
}

/// Drives a client read against a server session in memory.
fn run(
    client: &ClientSession,
    server: &mut ServerSession,
    m: &mut Model,
    items: &[AttributeRef],
) -> Vec<Result<Data, ReadError>> {
    let mut op = client.read(items).unwrap();
    let mut step = op.start();
    let mut rounds = 0;
    while let Step::Send(req) = step {
        let resp = server.handle(&req, m).expect("an answer");
        step = op.handle(&resp).unwrap();
        rounds += 1;
        assert!(rounds < 1000);
    }
    op.into_results()
}

fn pair(r: Referencing) -> (ClientSession, ServerSession) {
    let mut c = ClientSession::new(ClientSettings::new(r));
    let mut s = ServerSession::new(ServerSettings::new(r));
    let aare = s.handle(&c.aarq().unwrap(), &mut model()).unwrap();
    c.handle_aare(&aare).unwrap();
    (c, s)
}

#[test]
fn ln_round_trip_with_list_and_blocks() {
    let (c, mut s) = pair(Referencing::Ln);
    let mut m = model();
    let r1 = Obis::new(1, 0, 1, 8, 0, 255);
    let items = [
        AttributeRef::new(3, r1, 2),
        AttributeRef::new(3, r1, 3),
        AttributeRef::new(3, Obis::new(1, 0, 9, 9, 9, 255), 2),
        AttributeRef::new(7, Obis::new(1, 0, 99, 1, 0, 255), 2),
    ];
    let r = run(&c, &mut s, &mut m, &items);
    assert_eq!(r[0], Ok(Data::DoubleLongUnsigned(42)));
    assert!(r[1].is_ok());
    assert_eq!(
        r[2],
        Err(ReadError::Access(DataAccessResult::ObjectUndefined))
    );
    let Ok(Data::Array(rows)) = &r[3] else {
        panic!("{:?}", r[3])
    };
    assert_eq!(rows.len(), 3000);
}

#[test]
fn sn_round_trip_with_blocks() {
    let (mut c, mut s) = pair(Referencing::Sn);
    let mut m = model();
    let list = run(&c, &mut s, &mut m, &[c.object_list_attribute()]);
    let objects = crate::dlms::client::parse_object_list(list[0].as_ref().unwrap()).unwrap();
    c.set_short_names(&objects);
    let items = [
        AttributeRef::new(3, Obis::new(1, 0, 1, 8, 0, 255), 2),
        AttributeRef::new(7, Obis::new(1, 0, 99, 1, 0, 255), 2),
    ];
    let r = run(&c, &mut s, &mut m, &items);
    assert_eq!(r[0], Ok(Data::DoubleLongUnsigned(42)));
    let Ok(Data::Array(rows)) = &r[1] else {
        panic!("{:?}", r[1])
    };
    assert_eq!(rows.len(), 3000);
}

#[test]
fn low_password_is_checked() {
    let mut settings = ServerSettings::new(Referencing::Ln);
    settings.authentication = Authentication::Low(b"secret".to_vec());
    let mut s = ServerSession::new(settings);
    let mut cs = ClientSettings::new(Referencing::Ln);
    cs.authentication = Authentication::Low(b"wrong".to_vec());
    let mut c = ClientSession::new(cs.clone());
    let aare = s.handle(&c.aarq().unwrap(), &mut model()).unwrap();
    let e = c.handle_aare(&aare).unwrap_err().to_string();
    assert!(e.contains("authentication failure"), "{e}");
    cs.authentication = Authentication::Low(b"secret".to_vec());
    let mut c = ClientSession::new(cs);
    let aare = s.handle(&c.aarq().unwrap(), &mut model()).unwrap();
    assert!(c.handle_aare(&aare).is_ok());
}

#[test]
fn requests_before_association_get_an_exception() {
    let mut s = ServerSession::new(ServerSettings::new(Referencing::Ln));
    let r = s
        .handle(
            &[0xC0, 0x01, 0xC1, 0, 3, 1, 0, 1, 8, 0, 255, 2, 0],
            &mut model(),
        )
        .unwrap();
    assert_eq!(r[0], 0xD8);
}

#[test]
fn a_pre_established_client_is_served_without_an_aarq_and_others_are_not() {
    for r in [Referencing::Ln, Referencing::Sn] {
        let mut settings = ServerSettings::new(r);
        settings.pre_established = Some(102);
        settings.max_pdu = 128;
        let mut server = ServerSession::new(settings);
        let mut m = model();
        let mut cs = ClientSettings::new(r);
        cs.pre_established = Some(crate::dlms::client::PreEstablished {
            conformance: ServerSettings::new(r).conformance,
            max_pdu: 128,
        });
        let mut client = ClientSession::new(cs);
        client.pre_establish().unwrap();
        if r == Referencing::Sn {
            client.set_short_names(&m.objects);
        }
        // Another client gets nothing without associating first.
        server.set_client(16);
        let probe = client
            .read(&[AttributeRef::new(3, "1.0.1.8.0.255".parse().unwrap(), 2)])
            .unwrap()
            .start();
        let Step::Send(req) = probe else {
            panic!("a request")
        };
        assert_eq!(server.handle(&req, &mut m).unwrap()[0], 0xD8, "{r:?}");
        assert!(!server.is_associated());
        // The pre-established one reads at once, blocks of at most 128 bytes included.
        server.set_client(102);
        let got = run(
            &client,
            &mut server,
            &mut m,
            &[
                AttributeRef::new(3, "1.0.1.8.0.255".parse().unwrap(), 2),
                AttributeRef::new(7, "1.0.99.1.0.255".parse().unwrap(), 2),
            ],
        );
        assert_eq!(got[0], Ok(Data::DoubleLongUnsigned(42)), "{r:?}");
        assert!(
            matches!(&got[1], Ok(Data::Array(a)) if a.len() == 3000),
            "{r:?}"
        );
        assert!(server.is_associated());
    }
}

#[test]
fn a_pre_established_association_refuses_authentication_and_ciphering() {
    let mut cs = ClientSettings::new(Referencing::Ln);
    cs.pre_established = Some(crate::dlms::client::PreEstablished {
        conformance: cs.conformance,
        max_pdu: 1024,
    });
    cs.authentication = Authentication::Low(b"secret".to_vec());
    let e = ClientSession::new(cs).pre_establish().unwrap_err();
    assert!(e.to_string().contains("no authentication"), "{e}");
    assert!(!e.to_string().contains("secret\""), "{e}");
    let none = ClientSession::new(ClientSettings::new(Referencing::Ln))
        .pre_establish()
        .unwrap_err();
    assert!(none.to_string().contains("no pre-established"), "{none}");
}

#[test]
fn a_request_longer_than_the_negotiated_pdu_is_refused() {
    let mut settings = ServerSettings::new(Referencing::Ln);
    settings.max_pdu = 64;
    let mut server = ServerSession::new(settings);
    let mut client = ClientSession::new(ClientSettings::new(Referencing::Ln));
    let aare = server
        .handle(&client.aarq().unwrap(), &mut model())
        .unwrap();
    client.handle_aare(&aare).unwrap();
    assert_eq!(client.association().unwrap().max_pdu, 64);
    // Our client keeps to it: twenty items go in lists that fit 64 bytes, and all are read.
    let items: Vec<AttributeRef> = (0..20)
        .map(|_| AttributeRef::new(3, "1.0.1.8.0.255".parse().unwrap(), 2))
        .collect();
    let mut op = client.read(&items).unwrap();
    let mut step = op.start();
    while let Step::Send(req) = step {
        assert!(req.len() <= 64, "a request of {} bytes", req.len());
        step = op
            .handle(&server.handle(&req, &mut model()).unwrap())
            .unwrap();
    }
    assert!(op.into_results().iter().all(|r| r.is_ok()));
    // A longer request (a GET-with-list of 8 items, 84 bytes) is refused: PDU too long.
    let mut long = vec![0xC0, 0x03, 0xC1, 0x08];
    for _ in 0..8 {
        long.extend([0x00, 0x03, 1, 0, 1, 8, 0, 255, 2, 0]);
    }
    assert!(long.len() > 64);
    let refused = server.handle(&long, &mut model()).unwrap();
    assert_eq!(refused, [0xD8, 0x01, 0x04]);
}
