//! Our client against our simulator over TCP (WRAPPER and HDLC, LN and SN), and the command
//! line's answers to bad input.
mod common;

use common::*;
use dlms_logger::dlms::client::{AttributeRef, ClientSettings, Referencing};
use dlms_logger::dlms::data::Data;
use dlms_logger::dlms::obis::Obis;
use dlms_logger::engine::{Direction, Interface, MeterAddress, Session};
use dlms_logger::sim::{self, SimConfig};
use std::io::{Read, Write};
use std::time::Duration;

fn obis(s: &str) -> Obis {
    s.parse().unwrap()
}

async fn session(interface: Interface, referencing: Referencing) -> Session<tokio::net::TcpStream> {
    let (addrs, _h) = sim::start(SimConfig {
        port: 0,
        interface,
        referencing,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let stream =
        dlms_logger::transport::tcp::connect("127.0.0.1", addrs[0].port(), Duration::from_secs(5))
            .await
            .unwrap();
    let addr = MeterAddress {
        interface,
        ..MeterAddress::default()
    };
    Session::open(
        stream,
        &addr,
        ClientSettings::new(referencing),
        Duration::from_secs(5),
        None,
    )
    .await
    .unwrap()
}

async fn reads_everything(interface: Interface, referencing: Referencing) {
    let mut s = session(interface, referencing).await;
    let objects = s.object_list().await.unwrap();
    // HDLC meters also list their IEC HDLC setup object.
    let hdlc = usize::from(interface == Interface::Hdlc);
    assert_eq!(objects.len(), 13 + hdlc);
    let regs = [
        "1.0.1.8.0.255",
        "1.0.2.8.0.255",
        "1.0.32.7.0.255",
        "1.0.31.7.0.255",
        "1.0.21.7.0.255",
    ];
    let mut items: Vec<AttributeRef> = regs
        .iter()
        .map(|o| AttributeRef::new(3, obis(o), 2))
        .collect();
    items.push(AttributeRef::new(8, obis("0.0.1.0.0.255"), 2));
    items.push(AttributeRef::new(4, obis("1.0.1.6.0.255"), 2));
    items.push(AttributeRef::new(5, obis("1.0.1.4.0.255"), 2));
    items.push(AttributeRef::new(7, obis("1.0.99.1.0.255"), 2));
    let r = s.read_scaled(&items).await.unwrap();
    for (i, x) in items.iter().zip(&r) {
        assert!(x.is_ok(), "{}: {:?}", i.obis, x);
    }
    let units: Vec<_> = r[..5]
        .iter()
        .map(|x| x.as_ref().unwrap().unit().unwrap())
        .collect();
    assert_eq!(units, ["Wh", "Wh", "V", "A", "W"]);
    let volts = r[2].as_ref().unwrap().scaled().unwrap();
    assert!((228.0..=232.0).contains(&volts), "{volts}");
    assert!(r[5].as_ref().unwrap().data.as_date_time().is_some());
    assert_eq!(r[6].as_ref().unwrap().unit(), Some("W"));
    assert_eq!(r[7].as_ref().unwrap().unit(), Some("W"));
    let Data::Array(rows) = &r[8].as_ref().unwrap().data else {
        panic!()
    };
    assert_eq!(rows.len(), 2880, "whole profile by block transfer");
    s.close().await.unwrap();
}

#[tokio::test]
async fn wrapper_ln_reads_everything() {
    reads_everything(Interface::Wrapper, Referencing::Ln).await;
}

#[tokio::test]
async fn hdlc_ln_reads_everything() {
    reads_everything(Interface::Hdlc, Referencing::Ln).await;
}

#[tokio::test]
async fn wrapper_sn_reads_everything() {
    reads_everything(Interface::Wrapper, Referencing::Sn).await;
}

#[tokio::test]
async fn hdlc_sn_reads_everything() {
    reads_everything(Interface::Hdlc, Referencing::Sn).await;
}

/// Frames seen by a session's trace sink.
type Frames = std::sync::Arc<std::sync::Mutex<Vec<dlms_logger::engine::TraceEntry>>>;

/// An LN session over `interface` to a fresh simulator with this max PDU, tracing its frames
/// after the association (the simulator handle keeps it serving).
async fn traced_session(
    interface: Interface,
    max_pdu: u16,
) -> (Session<tokio::net::TcpStream>, Frames, impl Sized) {
    let (addrs, handle) = sim::start(SimConfig {
        port: 0,
        max_pdu,
        interface,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let stream =
        dlms_logger::transport::tcp::connect("127.0.0.1", addrs[0].port(), Duration::from_secs(5))
            .await
            .unwrap();
    let frames: Frames = Default::default();
    let sink = frames.clone();
    let s = Session::open(
        stream,
        &MeterAddress {
            interface,
            ..MeterAddress::default()
        },
        ClientSettings::new(Referencing::Ln),
        Duration::from_secs(5),
        Some(Box::new(move |e| sink.lock().unwrap().push(e))),
    )
    .await
    .unwrap();
    frames.lock().unwrap().clear();
    (s, frames, handle)
}

/// The frames sent so far.
fn sent(frames: &Frames) -> Vec<dlms_logger::engine::TraceEntry> {
    let all = frames.lock().unwrap();
    all.iter()
        .filter(|t| t.direction == Direction::Tx)
        .cloned()
        .collect()
}

#[tokio::test]
async fn ten_items_go_in_one_get_with_list() {
    let (mut s, frames, _h) = traced_session(Interface::Wrapper, 1024).await;
    let items: Vec<AttributeRef> = (0..10)
        .map(|i| match i % 3 {
            0 => AttributeRef::new(3, obis("1.0.1.8.0.255"), 2),
            1 => AttributeRef::new(3, obis("1.0.32.7.0.255"), 3),
            _ => AttributeRef::new(1, obis("0.0.96.1.0.255"), 2),
        })
        .collect();
    let r = s.read(&items).await.unwrap();
    assert!(r.iter().all(|x| x.is_ok()));
    let tx = sent(&frames);
    assert_eq!(tx.len(), 1, "one request");
    assert!(tx[0].summary.contains("with-list"), "{}", tx[0].summary);
    // WRAPPER header (8 bytes), then C0 03: Get-Request-With-List with 10 descriptors.
    assert_eq!(&tx[0].bytes[8..10], &[0xC0, 0x03]);
    assert_eq!(tx[0].bytes[11], 10);
}

/// Requests sent to read 20 registers from a simulator with this max PDU.
async fn requests_for_twenty_registers(max_pdu: u16) -> usize {
    let (mut s, frames, _h) = traced_session(Interface::Wrapper, max_pdu).await;
    let registers = [
        "1.0.1.8.0.255",
        "1.0.2.8.0.255",
        "1.0.32.7.0.255",
        "1.0.31.7.0.255",
        "1.0.21.7.0.255",
    ];
    let items: Vec<AttributeRef> = (0..20)
        .map(|i| AttributeRef::new(3, obis(registers[i % 5]), 2 + (i / 5 % 2) as i8))
        .collect();
    let r = s.read(&items).await.unwrap();
    assert!(r.iter().all(|x| x.is_ok()), "{r:?}");
    sent(&frames).len()
}

#[tokio::test]
async fn twenty_registers_take_ceil_of_items_per_pdu_round_trips() {
    // 1024-byte PDUs hold all 20 descriptors (11 bytes each): one round trip, not 20.
    assert_eq!(requests_for_twenty_registers(1024).await, 1);
    // 128-byte PDUs hold 9 descriptors after the header: ceil(20 / 9) = 3 round trips.
    assert_eq!(requests_for_twenty_registers(128).await, 3);
}

#[tokio::test]
async fn hdlc_uses_the_larger_information_field_the_meter_accepts() {
    // We propose 1024-byte information fields; the simulator accepts them (the default is 128,
    // and every I-frame is a round trip at window 1).
    let (mut s, frames, _h) = traced_session(Interface::Hdlc, 2048).await;
    let buffer = [AttributeRef::new(7, obis("1.0.99.1.0.255"), 2)];
    assert!(s.read(&buffer).await.unwrap()[0].is_ok());
    let received: Vec<usize> = frames
        .lock()
        .unwrap()
        .iter()
        .filter(|t| t.direction == Direction::Rx)
        .map(|t| t.bytes.len())
        .collect();
    let total: usize = received.iter().sum();
    assert!(
        total > 10_000,
        "the profile spans many frames: {received:?}"
    );
    // Flag, format, addresses, control, HCS, FCS, flag: at most 15 bytes around 1024 of info.
    assert!(
        received
            .iter()
            .max()
            .is_some_and(|&n| n > 1000 && n <= 1024 + 15),
        "{received:?}"
    );
    assert!(received.len() <= total / 1000 + 2, "{received:?}");
}

#[tokio::test]
async fn one_bad_item_never_fails_the_others() {
    let mut s = session(Interface::Hdlc, Referencing::Ln).await;
    let items = [
        AttributeRef::new(3, obis("1.0.1.8.0.255"), 2),
        AttributeRef::new(3, obis("1.0.9.9.9.255"), 2),
        AttributeRef::new(1, obis("1.0.1.8.0.255"), 2),
    ];
    let r = s.read(&items).await.unwrap();
    assert!(r[0].is_ok());
    assert!(r[1]
        .as_ref()
        .unwrap_err()
        .to_string()
        .contains("object undefined"));
    assert!(r[2]
        .as_ref()
        .unwrap_err()
        .to_string()
        .contains("class inconsistent"));
}

#[test]
fn cli_read_prints_scaled_values_with_units() {
    let (_sim, port) = start_sim(&[]);
    let out = run(&[
        "read",
        "--port",
        &port.to_string(),
        "1.0.32.7.0.255",
        "0.0.1.0.0.255",
        "0.0.96.1.0.255",
    ]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("1.0.32.7.0.255")
            && lines[0].contains("3:2")
            && lines[0].ends_with(" V"),
        "{text}"
    );
    assert!(lines[1].contains("8:2") && lines[1].contains('T'), "{text}");
    assert!(lines[2].ends_with("12345678"), "{text}");
}

#[test]
fn cli_unknown_obis_fails_that_item_and_the_exit_code() {
    let (_sim, port) = start_sim(&["--hdlc"]);
    let out = run(&[
        "read",
        "--port",
        &port.to_string(),
        "--hdlc",
        "--json",
        "1.0.1.8.0.255",
        "1.0.77.7.0.255",
    ]);
    assert!(!out.status.success());
    let lines = json_lines(&out);
    assert!(lines[0]["error"].is_null());
    assert!(lines[1]["error"]
        .as_str()
        .unwrap()
        .contains("object undefined"));
}

fn one_error_line(out: &std::process::Output, needle: &str) {
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line of error: {err}");
    assert!(
        lines[0].starts_with("error: ") && lines[0].contains(needle),
        "{err}"
    );
}

#[test]
fn cli_unreachable_host_is_one_clear_line() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = run(&["read", "--port", &port.to_string(), "1.0.1.8.0.255"]);
    one_error_line(&out, "cannot connect");
}

#[test]
fn cli_wrong_address_times_out_with_a_hint() {
    let (_sim, port) = start_sim(&["--hdlc"]);
    let out = run(&[
        "read",
        "--port",
        &port.to_string(),
        "--hdlc",
        "--logical",
        "9",
        "--timeout",
        "500",
        "1.0.1.8.0.255",
    ]);
    one_error_line(&out, "no answer from the meter within 500 ms");
}

#[test]
fn cli_rejected_association_is_one_clear_line() {
    let (_sim, port) = start_sim(&["--password", "secret1"]);
    let out = run(&[
        "read",
        "--port",
        &port.to_string(),
        "--auth",
        "low",
        "--password",
        "nope",
        "1.0.1.8.0.255",
    ]);
    one_error_line(&out, "authentication failure");
    let out = run(&[
        "read",
        "--port",
        &port.to_string(),
        "--auth",
        "low",
        "--password",
        "secret1",
        "--trace",
        "1.0.1.8.0.255",
    ]);
    assert!(out.status.success());
    let trace = String::from_utf8_lossy(&out.stderr);
    assert!(trace.contains("AARQ") && trace.contains("****"), "{trace}");
    assert!(
        !trace.to_uppercase().contains("73656372657431"),
        "the password's hex never shows: {trace}"
    );
}

#[test]
fn cli_bad_obis_is_one_clear_line() {
    let out = run(&["read", "1.0.1.8.256.255"]);
    one_error_line(&out, "group E");
}

/// A fake meter that answers the SNRM with the given bytes.
fn garbage_meter(answer: Vec<u8>) -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        if let Ok((mut s, _)) = l.accept() {
            let mut buf = [0u8; 256];
            let _ = s.read(&mut buf);
            let _ = s.write_all(&answer);
            std::thread::sleep(Duration::from_secs(3));
        }
    });
    port
}

#[test]
fn cli_bad_fcs_is_one_clear_line() {
    // A UA with its last FCS byte flipped.
    let mut ua = hex("7EA01E210373C37A818012050180060180070400000001080400000001533B7E");
    let n = ua.len();
    ua[n - 2] ^= 0xFF;
    let port = garbage_meter(ua);
    let out = run(&[
        "read",
        "--port",
        &port.to_string(),
        "--hdlc",
        "--timeout",
        "2000",
        "1.0.1.8.0.255",
    ]);
    one_error_line(&out, "check sequence");
}

#[test]
fn cli_truncated_frame_is_one_clear_line() {
    // The first half of a UA, then silence: the frame never completes.
    let ua = hex("7EA01E210373C37A8180120501800601");
    let port = garbage_meter(ua);
    let out = run(&[
        "read",
        "--port",
        &port.to_string(),
        "--hdlc",
        "--timeout",
        "700",
        "1.0.1.8.0.255",
    ]);
    // 16 bytes of the frame came: that is a cut-off frame, not a silent meter.
    one_error_line(&out, "incomplete frame (16 bytes) from the meter");
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("no answer"),
        "{out:?}"
    );
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn cli_objects_saves_a_usable_preset() {
    let (_sim, port) = start_sim(&[]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("presets/sim.toml");
    let out = run(&[
        "objects",
        "--port",
        &port.to_string(),
        "--save",
        path.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    let text = std::fs::read_to_string(&path).unwrap();
    let v: toml::Value = toml::from_str(&text).unwrap();
    let objects = v["object"].as_array().unwrap();
    assert_eq!(objects.len(), 13);
    let volts = objects
        .iter()
        .find(|o| o["obis"].as_str() == Some("1.0.32.7.0.255"))
        .unwrap();
    assert_eq!(volts["class"].as_integer(), Some(3));
    assert_eq!(volts["unit"].as_str(), Some("V"));
    assert_eq!(volts["scaler"].as_integer(), Some(-1));
    assert_eq!(volts["name"].as_str(), Some("Voltage L1"));
    // Progress is for a terminal watching; piped (as here) stderr stays clean.
    assert!(!String::from_utf8_lossy(&out.stderr).contains("reading object list"));
}

#[test]
fn cli_preset_request_builds_a_request_that_reads() {
    let (_sim, port) = start_sim(&[]);
    let dir = tempfile::tempdir().unwrap();
    let preset = dir.path().join("sim.toml");
    assert!(run(&[
        "objects",
        "--port",
        &port.to_string(),
        "--save",
        preset.to_str().unwrap()
    ])
    .status
    .success());
    let out = run(&[
        "preset-request",
        preset.to_str().unwrap(),
        "--name",
        "all",
        "--meter",
        "m1",
        "--schedule",
        "once",
    ]);
    assert!(out.status.success());
    let request = String::from_utf8(out.stdout).unwrap();
    let text = format!(
        "[[connection]]\nname = \"lab\"\ntcp = {{ host = \"127.0.0.1\", port = {port} }}\n[[meter]]\nname = \"m1\"\nconnection = \"lab\"\n{request}"
    );
    let config = dlms_logger::queue::Config::parse(&text, "built.toml").unwrap();
    assert_eq!(config.requests[0].items.len(), 13);
    let cfg = dir.path().join("q.toml");
    std::fs::write(&cfg, text).unwrap();
    let db = dir.path().join("log.db");
    // Run until the `once` request is stored, then stop.
    let mut child = bin()
        .args([
            "run",
            "-c",
            cfg.to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
        ])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let stored = std::io::BufRead::lines(std::io::BufReader::new(stderr))
        .map_while(Result::ok)
        .any(|l| l.contains("stored "));
    assert!(stored);
    let _ = child.kill();
    let _ = child.wait();
    let out = run(&["export", "--db", db.to_str().unwrap(), "--format", "json"]);
    let rows = json_lines(&out);
    let failed: Vec<_> = rows.iter().filter(|r| r["status"] != "ok").collect();
    assert!(
        failed.is_empty(),
        "every item of the preset reads: {failed:?}"
    );
    assert!(rows.len() > 12, "profile rows expand per column");
}

#[tokio::test]
async fn a_push_between_answers_is_kept_not_taken_for_the_answer() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (client, mut meter) = tokio::io::duplex(4096);
    tokio::spawn(async move {
        let mut buf = [0u8; 512];
        let _ = meter.read(&mut buf).await; // AARQ
                                            // The Gurux meter's AARE (traces/wrapper_ln_none.txt).
        meter.write_all(&hex("000100010010002B6129A109060760857405080101A203020100A305A103020100BE10040E0800065F1F0400001E1D04000007")).await.unwrap();
        let _ = meter.read(&mut buf).await; // GET
                                            // A DataNotification (value 7) and the GET answer (1000000) in one write.
        let mut both = hex("000100010010000B0F000000010006000000 07"
            .replace(' ', "")
            .as_str());
        both.extend(hex("0001000100100009C401C10006000F4240"));
        meter.write_all(&both).await.unwrap();
        let _ = meter.read(&mut buf).await;
    });
    let mut s = Session::open(
        client,
        &MeterAddress::default(),
        ClientSettings::new(Referencing::Ln),
        Duration::from_secs(3),
        None,
    )
    .await
    .unwrap();
    let r = s
        .read(&[AttributeRef::new(3, obis("1.0.1.8.0.255"), 2)])
        .await
        .unwrap();
    assert_eq!(r[0], Ok(Data::DoubleLongUnsigned(1_000_000)));
    let pushes = s.take_pushes();
    assert_eq!(pushes.len(), 1);
    assert_eq!(pushes[0][0], 0x0F);
}
