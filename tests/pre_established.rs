//! Pre-established associations (no AARQ; the meter serves a configured client at once) and
//! `release = false` (no RLRQ at the end), against our simulator over WRAPPER and HDLC, in
//! process, through the command line and from a queue file.
mod common;

use common::*;
use dlms_logger::dlms::client::{AttributeRef, ClientSettings, PreEstablished, Referencing};
use dlms_logger::dlms::data::Data;
use dlms_logger::engine::{Direction, Interface, MeterAddress, Session, TraceEntry};
use dlms_logger::sim::{self, SimConfig};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn attr(class: u16, obis: &str, a: i8) -> AttributeRef {
    AttributeRef::new(class, obis.parse().unwrap(), a)
}

async fn sim(interface: Interface, referencing: Referencing) -> u16 {
    let (addrs, _h) = sim::start(SimConfig {
        port: 0,
        interface,
        referencing,
        pre_established: Some(102),
        max_pdu: 256,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    addrs[0].port()
}

type Trace = Arc<Mutex<Vec<TraceEntry>>>;

async fn open(
    port: u16,
    interface: Interface,
    client: u16,
    settings: ClientSettings,
) -> (Result<Session<tokio::net::TcpStream>, String>, Trace) {
    let stream = dlms_logger::transport::tcp::connect("127.0.0.1", port, Duration::from_secs(2))
        .await
        .unwrap();
    let trace: Trace = Arc::default();
    let sink = trace.clone();
    let addr = MeterAddress {
        interface,
        client,
        ..MeterAddress::default()
    };
    let s = Session::open(
        stream,
        &addr,
        settings,
        Duration::from_secs(3),
        Some(Box::new(move |e| sink.lock().unwrap().push(e))),
    )
    .await
    .map_err(|e| e.to_string());
    (s, trace)
}

fn sent(trace: &Trace) -> Vec<String> {
    trace
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e.direction == Direction::Tx)
        .map(|e| e.summary.clone())
        .collect()
}

fn pre(referencing: Referencing, max_pdu: u16) -> ClientSettings {
    let mut s = ClientSettings::new(referencing);
    s.pre_established = Some(PreEstablished {
        conformance: s.conformance,
        max_pdu,
    });
    s
}

#[tokio::test]
async fn a_pre_established_client_reads_without_aarq_or_rlrq_over_wrapper_and_hdlc() {
    for (interface, referencing) in [
        (Interface::Wrapper, Referencing::Ln),
        (Interface::Hdlc, Referencing::Ln),
        (Interface::Wrapper, Referencing::Sn),
    ] {
        let port = sim(interface, referencing).await;
        let (s, trace) = open(port, interface, 102, pre(referencing, 256)).await;
        let mut s = s.unwrap();
        let r = s
            .read_scaled(&[attr(3, "1.0.1.8.0.255", 2), attr(1, "0.0.96.1.0.255", 2)])
            .await
            .unwrap();
        assert_eq!(r[0].as_ref().unwrap().unit(), Some("Wh"), "{interface:?}");
        assert!(r[1].is_ok(), "{r:?}");
        // The profile needs many blocks of the configured 256-byte PDU.
        let p = s.read(&[attr(7, "1.0.99.1.0.255", 2)]).await.unwrap();
        assert!(
            matches!(&p[0], Ok(Data::Array(rows)) if rows.len() == 2880),
            "{p:?}"
        );
        s.close().await.unwrap();
        let tx = sent(&trace);
        assert!(
            !tx.iter().any(|t| t.contains("AARQ") || t.contains("RLRQ")),
            "{interface:?} {referencing:?}: {tx:?}"
        );
        let first = &tx[usize::from(interface == Interface::Hdlc)];
        assert!(
            first.starts_with("GET") || first.starts_with("READ") || first.starts_with("Read"),
            "the first APDU is a request: {tx:?}"
        );
    }
}

#[tokio::test]
async fn another_client_without_an_association_is_refused() {
    let port = sim(Interface::Wrapper, Referencing::Ln).await;
    let (s, _) = open(port, Interface::Wrapper, 16, pre(Referencing::Ln, 256)).await;
    let mut s = s.unwrap();
    let r = s.read(&[attr(3, "1.0.1.8.0.255", 2)]).await.unwrap();
    let err = r[0].as_ref().expect_err("client 16 has no association");
    assert!(err.to_string().contains("exception"), "{err}");
    // The same client with an AARQ first is served as before.
    let (s, trace) = open(
        port,
        Interface::Wrapper,
        16,
        ClientSettings::new(Referencing::Ln),
    )
    .await;
    let mut s = s.unwrap();
    assert!(s.read(&[attr(3, "1.0.1.8.0.255", 2)]).await.unwrap()[0].is_ok());
    s.close().await.unwrap();
    let tx = sent(&trace);
    assert!(
        tx[0].contains("AARQ") && tx.last().unwrap().contains("RLRQ"),
        "{tx:?}"
    );
}

#[tokio::test]
async fn release_off_sends_no_rlrq() {
    let port = sim(Interface::Hdlc, Referencing::Ln).await;
    let (s, trace) = open(
        port,
        Interface::Hdlc,
        16,
        ClientSettings::new(Referencing::Ln),
    )
    .await;
    let mut s = s.unwrap();
    s.set_release(false);
    assert!(s.read(&[attr(3, "1.0.1.8.0.255", 2)]).await.unwrap()[0].is_ok());
    s.close().await.unwrap();
    let tx = sent(&trace);
    assert!(tx.iter().any(|t| t.contains("AARQ")), "{tx:?}");
    assert!(!tx.iter().any(|t| t.contains("RLRQ")), "{tx:?}");
    assert_eq!(
        tx.last().map(String::as_str),
        Some("DISC"),
        "the link still closes"
    );
}

#[test]
fn the_command_line_and_a_queue_file_use_a_pre_established_association() {
    let (_sim, port) = start_sim(&["--pre-established", "102", "--max-pdu", "256"]);
    let port = port.to_string();
    let out = run(&[
        "read",
        "--port",
        &port,
        "--client",
        "102",
        "--pre-established",
        "--max-pdu",
        "256",
        "--trace",
        "--json",
        "1.0.1.8.0.255",
    ]);
    assert!(out.status.success());
    let lines = json_lines(&out);
    assert!(lines[0]["error"].is_null(), "{lines:?}");
    let trace = String::from_utf8_lossy(&out.stderr);
    assert!(
        !trace.contains("AARQ") && !trace.contains("RLRQ"),
        "{trace}"
    );
    let out = run(&[
        "read",
        "--port",
        &port,
        "--conformance",
        "001E1D",
        "1.0.1.8.0.255",
    ]);
    assert!(
        !out.status.success(),
        "--conformance needs --pre-established"
    );

    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("q.toml");
    std::fs::write(
        &cfg,
        format!(
            r#"
[[connection]]
name = "lab"
tcp = {{ host = "127.0.0.1", port = {port} }}
[[meter]]
name = "pre"
connection = "lab"
client = 102
pre_established = true
conformance = "001E1D"
max_pdu = 256
[[meter]]
name = "kept"
connection = "lab"
release = false
"#
        ),
    )
    .unwrap();
    let config = dlms_logger::queue::Config::load(&cfg).unwrap();
    let again = dlms_logger::queue::Config::parse(&config.to_toml(), "again.toml").unwrap();
    assert_eq!(again.meters, config.meters, "written back as read");
    for meter in ["pre", "kept"] {
        let out = run(&[
            "read",
            "-c",
            cfg.to_str().unwrap(),
            "--meter",
            meter,
            "--trace",
            "--json",
            "1.0.1.8.0.255",
        ]);
        assert!(out.status.success(), "{meter}");
        let trace = String::from_utf8_lossy(&out.stderr);
        assert!(!trace.contains("RLRQ"), "{meter}: {trace}");
        assert_eq!(trace.contains("AARQ"), meter == "kept", "{meter}: {trace}");
    }
}
