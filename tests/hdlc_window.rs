//! HDLC windows above 1, negotiated in SNRM/UA: our client against our simulator reads a long
//! profile in 128-byte segments, the meter sending a window of frames per acknowledgement, and
//! the meter that accepts only window 1 still gets window 1. Command line too.
mod common;

use common::*;
use dlms_logger::dlms::client::{AttributeRef, ClientSettings, Referencing};
use dlms_logger::dlms::data::Data;
use dlms_logger::engine::{Direction, Interface, MeterAddress, Session, TraceEntry};
use dlms_logger::sim::{self, SimConfig};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Reads the whole profile with the client proposing `ours`, the meter accepting `meters`;
/// returns the RR frames the client sent.
async fn profile_with_windows(ours: u8, meters: u8) -> usize {
    let (addrs, _h) = sim::start(SimConfig {
        port: 0,
        interface: Interface::Hdlc,
        hdlc_max_info: 128,
        hdlc_window: meters,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let stream =
        dlms_logger::transport::tcp::connect("127.0.0.1", addrs[0].port(), Duration::from_secs(2))
            .await
            .unwrap();
    let trace: Arc<Mutex<Vec<TraceEntry>>> = Arc::default();
    let sink = trace.clone();
    let mut s = Session::open(
        stream,
        &MeterAddress {
            interface: Interface::Hdlc,
            hdlc_window: ours,
            ..MeterAddress::default()
        },
        ClientSettings::new(Referencing::Ln),
        Duration::from_secs(5),
        Some(Box::new(move |e| sink.lock().unwrap().push(e))),
    )
    .await
    .unwrap();
    let r = s
        .read(&[
            AttributeRef::new(7, "1.0.99.1.0.255".parse().unwrap(), 2),
            AttributeRef::new(3, "1.0.1.8.0.255".parse().unwrap(), 2),
        ])
        .await
        .unwrap();
    assert!(
        matches!(&r[0], Ok(Data::Array(rows)) if rows.len() == 2880),
        "ours {ours}, meter's {meters}"
    );
    assert!(matches!(r[1], Ok(Data::DoubleLongUnsigned(_))), "{r:?}");
    s.close().await.unwrap();
    let t = trace.lock().unwrap();
    t.iter()
        .filter(|e| e.direction == Direction::Tx && e.summary.starts_with("link control"))
        .count()
}

#[tokio::test]
async fn a_window_of_frames_per_acknowledgement_reads_the_same_data() {
    let one = profile_with_windows(1, 1).await;
    let seven = profile_with_windows(7, 4).await;
    // Window 4 (the smaller of 7 and 4): one RR per four segments instead of one per segment.
    assert!(one > 100, "{one} RRs at window 1");
    assert!(
        seven * 3 < one,
        "{seven} RRs at window 4, {one} at window 1"
    );
    // A meter that accepts window 1 only gets window 1 whatever we propose.
    assert_eq!(profile_with_windows(7, 1).await, one);
}

#[test]
fn the_command_line_proposes_a_window() {
    let (_sim, port) = start_sim(&["--hdlc", "--hdlc-window", "3", "--hdlc-max-info", "128"]);
    let out = run(&[
        "read",
        "--hdlc",
        "--hdlc-window",
        "7",
        "--port",
        &port.to_string(),
        "--json",
        "1.0.1.8.0.255",
        "1.0.99.1.0.255",
    ]);
    assert!(out.status.success());
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 1 + 2880);
    assert!(lines.iter().all(|l| l["error"].is_null()));
    let out = run(&["read", "--hdlc", "--hdlc-window", "8", "1.0.1.8.0.255"]);
    assert!(
        !out.status.success(),
        "8 is beyond what modulo-8 numbering allows"
    );
}
