//! DLMS over UDP (one WRAPPER PDU per datagram): our client against our simulator in process,
//! through the command line (`simulate --udp`, `read --udp`), and a queue's request run by the
//! logger over a `udp = { host, port }` connection. The Gurux peers speak TCP only (their
//! meter.py and client.py have no UDP transport), so there is no interop test here.
mod common;

use common::*;
use dlms_logger::dlms::client::{AttributeRef, ClientSettings, Referencing};
use dlms_logger::dlms::data::Data;
use dlms_logger::engine::{EngineError, MeterAddress, Session};
use dlms_logger::queue::Config;
use dlms_logger::runner::Runner;
use dlms_logger::sim::{self, SimConfig};
use dlms_logger::store::{Store, Writer};
use dlms_logger::transport::udp;
use std::time::Duration;

fn attr(class: u16, obis: &str, a: i8) -> AttributeRef {
    AttributeRef::new(class, obis.parse().unwrap(), a)
}

async fn udp_sim(max_pdu: u16) -> u16 {
    let (addrs, _h) = sim::start(SimConfig {
        port: 0,
        udp: true,
        max_pdu,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    addrs[0].port()
}

async fn open(port: u16) -> Session<udp::UdpLink> {
    let link = udp::connect("127.0.0.1", port, Duration::from_secs(2))
        .await
        .unwrap();
    Session::open(
        link,
        &MeterAddress::default(),
        ClientSettings::new(Referencing::Ln),
        Duration::from_secs(3),
        None,
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn a_meter_is_read_over_udp_registers_list_and_a_profile_in_blocks() {
    // A small PDU makes the profile come in many GET blocks, each its own datagram.
    let port = udp_sim(256).await;
    let mut s = open(port).await;
    let objects = s.object_list().await.unwrap();
    assert_eq!(objects.len(), 13);
    let r = s
        .read_scaled(&[
            attr(3, "1.0.1.8.0.255", 2),
            attr(3, "1.0.32.7.0.255", 2),
            attr(8, "0.0.1.0.0.255", 2),
        ])
        .await
        .unwrap();
    assert_eq!(r[0].as_ref().unwrap().unit(), Some("Wh"));
    let volts = r[1].as_ref().unwrap().scaled().unwrap();
    assert!((228.0..=232.0).contains(&volts), "{volts}");
    assert!(r[2].as_ref().unwrap().data.as_date_time().is_some());
    let profile = s.read(&[attr(7, "1.0.99.1.0.255", 2)]).await.unwrap();
    let Ok(Data::Array(rows)) = &profile[0] else {
        panic!("{profile:?}")
    };
    assert_eq!(rows.len(), 2880, "the whole profile, block by block");
    s.close().await.unwrap();
    // A second client (another local port) associates on its own.
    let mut again = open(port).await;
    let r = again.read(&[attr(1, "0.0.96.1.0.255", 2)]).await.unwrap();
    assert!(r[0].is_ok(), "{r:?}");
    again.close().await.unwrap();
}

#[tokio::test]
async fn a_lost_datagram_is_a_timeout() {
    // A socket that takes every datagram and answers none: each one is lost on the way back.
    let sink = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = sink.local_addr().unwrap().port();
    let link = udp::connect("127.0.0.1", port, Duration::from_secs(1))
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let err = Session::open(
        link,
        &MeterAddress::default(),
        ClientSettings::new(Referencing::Ln),
        Duration::from_millis(300),
        None,
    )
    .await
    .err()
    .expect("no association without an answer");
    assert!(matches!(err, EngineError::Timeout { .. }), "{err}");
    assert!(started.elapsed() >= Duration::from_millis(300));
    let mut got = [0u8; 128];
    let (n, _) = sink.recv_from(&mut got).await.unwrap();
    assert_eq!(&got[..2], [0x00, 0x01], "a WRAPPER PDU went out");
    assert_eq!(usize::from(u16::from_be_bytes([got[6], got[7]])), n - 8);
}

#[test]
fn the_command_line_reads_a_simulated_meter_over_udp() {
    let (_sim, port) = start_sim(&["--udp"]);
    let out = run(&[
        "read",
        "--udp",
        "--port",
        &port.to_string(),
        "--json",
        "1.0.1.8.0.255",
        "0.0.96.1.0.255",
    ]);
    assert!(out.status.success());
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["unit"], "Wh");
    assert!(lines.iter().all(|l| l["error"].is_null()), "{lines:?}");
    // HDLC has no place in a datagram link.
    let out = run(&["read", "--udp", "--hdlc", "1.0.1.8.0.255"]);
    assert!(!out.status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_logger_runs_a_request_over_a_udp_connection() {
    let port = udp_sim(1024).await;
    let config = Config::parse(
        &format!(
            r#"
[[connection]]
name = "gprs"
udp = {{ host = "127.0.0.1", port = {port} }}
[[meter]]
name = "m1"
connection = "gprs"
[[request]]
name = "values"
meters = ["m1"]
schedule = {{ once = true }}
items = [
    {{ name = "kwh", obis = "1.0.1.8.0.255" }},
    {{ name = "serial", obis = "0.0.96.1.0.255" }},
    {{ name = "load", obis = "1.0.99.1.0.255", entries = 2 }},
]
"#
        ),
        "udp.toml",
    )
    .unwrap();
    // Written back, the connection is still UDP.
    let again = Config::parse(&config.to_toml(), "again.toml").unwrap();
    assert_eq!(again.connections, config.connections);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("log.db");
    let (writer, handle) = Writer::spawn(&db).unwrap();
    let runner = Runner::start(config, handle, 1);
    let h = runner.handle();
    for _ in 0..500 {
        if h.status()
            .requests
            .get("values")
            .is_some_and(|r| r.completed >= 1)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    runner.shutdown().await;
    writer.shutdown().unwrap();
    let rows = Store::open(&db).unwrap().latest_per_item().unwrap();
    for item in ["kwh", "serial"] {
        let r = rows
            .iter()
            .find(|r| r.record.item == item)
            .unwrap_or_else(|| panic!("{item} in {rows:?}"));
        assert_eq!(r.record.status, "ok", "{r:?}");
    }
    assert_eq!(
        rows.iter()
            .filter(|r| r.record.item.starts_with("load"))
            .count()
            .min(1),
        1,
        "profile rows stored: {rows:?}"
    );
}
