//! General-block-transfer of GET answers: our client against our simulator reads the 2,880-row
//! load profile with a small PDU over WRAPPER (windows streamed) and HDLC (window 1), the same
//! values as without GBT; a block the meter drops is asked for again and the read still
//! succeeds. Command line too.
mod common;

use common::*;
use dlms_logger::dlms::client::{AttributeRef, ClientSettings, Referencing};
use dlms_logger::dlms::data::Data;
use dlms_logger::engine::{Direction, Interface, MeterAddress, Session, TraceEntry};
use dlms_logger::sim::{self, fault::Fault, SimConfig};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// True when a traced frame carries a general-block-transfer APDU (WRAPPER: after the 8-byte
/// header; HDLC: after the LLC header).
fn is_gbt(e: &TraceEntry) -> bool {
    e.bytes.get(8) == Some(&0xE0)
        || e.bytes.windows(4).any(|w| w == [0xE6, 0xE7, 0x00, 0xE0])
        || e.bytes.windows(4).any(|w| w == [0xE6, 0xE6, 0x00, 0xE0])
}

/// Reads the profile and the energy register; returns the values and how many GBT
/// acknowledgements the client sent and GBT frames it received.
async fn read_profile(
    interface: Interface,
    meter_gbt: Option<u8>,
    client_gbt: bool,
    fault: Option<Fault>,
) -> (Vec<Data>, usize, usize) {
    let (addrs, _h) = sim::start(SimConfig {
        port: 0,
        interface,
        max_pdu: 256,
        hdlc_max_info: 128,
        gbt_window: meter_gbt,
        fault,
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
    let mut settings = ClientSettings::new(Referencing::Ln);
    settings.gbt = client_gbt;
    settings.gbt_window = 8;
    let mut s = Session::open(
        stream,
        &MeterAddress {
            interface,
            ..MeterAddress::default()
        },
        settings,
        Duration::from_millis(700),
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
    s.close().await.unwrap();
    let values: Vec<Data> = r.into_iter().map(|v| v.unwrap()).collect();
    assert!(
        matches!(&values[0], Data::Array(rows) if rows.len() == 2880),
        "the whole profile"
    );
    let t = trace.lock().unwrap();
    let acks = t
        .iter()
        .filter(|e| e.direction == Direction::Tx && is_gbt(e))
        .count();
    let blocks = t
        .iter()
        .filter(|e| e.direction == Direction::Rx && is_gbt(e))
        .count();
    (values, acks, blocks)
}

/// The energy register counts on between reads: compare the profile (the first value).
#[tokio::test]
async fn gbt_over_wrapper_reads_the_same_profile_in_windows() {
    let (plain, acks, _) = read_profile(Interface::Wrapper, None, true, None).await;
    assert_eq!(acks, 0, "a meter without GBT answers in GET data blocks");
    let (not_proposed, acks, _) = read_profile(Interface::Wrapper, Some(4), false, None).await;
    assert_eq!(acks, 0, "GBT is used only when the client proposed it");
    assert_eq!(not_proposed[0], plain[0]);
    let (one, acks_one, _) = read_profile(Interface::Wrapper, Some(1), true, None).await;
    assert_eq!(one[0], plain[0]);
    let (gbt, acks, blocks) = read_profile(Interface::Wrapper, Some(4), true, None).await;
    assert_eq!(gbt[0], plain[0]);
    assert!(blocks > 0);
    // One acknowledgement per window: a quarter of them at window 4.
    assert!(acks_one > 100, "{acks_one} acknowledgements at window 1");
    assert!(
        acks * 3 < acks_one,
        "{acks} acknowledgements at window 4, {acks_one} at window 1"
    );
}

#[tokio::test]
async fn gbt_over_hdlc_reads_the_same_profile() {
    let (plain, _, _) = read_profile(Interface::Hdlc, None, true, None).await;
    let (gbt, acks, _) = read_profile(Interface::Hdlc, Some(4), true, None).await;
    assert_eq!(gbt[0], plain[0]);
    assert!(acks > 100, "{acks} acknowledgements (window 1 over HDLC)");
    // A lost block (a whole window of 1) is asked for again after the timeout.
    let (recovered, _, _) =
        read_profile(Interface::Hdlc, Some(4), true, Some(Fault::GbtDrop(3))).await;
    assert_eq!(recovered[0], plain[0]);
}

#[tokio::test]
async fn a_dropped_block_is_asked_for_again() {
    let (plain, acks, _) = read_profile(Interface::Wrapper, Some(4), true, None).await;
    let (recovered, acks_drop, _) =
        read_profile(Interface::Wrapper, Some(4), true, Some(Fault::GbtDrop(6))).await;
    assert_eq!(recovered[0], plain[0]);
    assert!(
        acks_drop > acks,
        "the lost block costs an acknowledgement: {acks_drop} vs {acks}"
    );
}

#[tokio::test]
async fn a_lost_window_end_is_asked_for_again_after_a_timeout() {
    let (plain, _, _) = read_profile(Interface::Wrapper, Some(4), true, None).await;
    // Block 4 ends the first window: nothing tells the client it is missing but the silence.
    let (recovered, _, _) =
        read_profile(Interface::Wrapper, Some(4), true, Some(Fault::GbtDrop(4))).await;
    assert_eq!(recovered[0], plain[0]);
}

#[test]
fn the_command_line_reads_with_gbt() {
    let (_sim, port) = start_sim(&["--gbt", "--gbt-window", "5", "--max-pdu", "256"]);
    let port = port.to_string();
    let read = |gbt: bool| {
        let mut args = vec!["read", "--port", &port, "--json", "1.0.99.1.0.255"];
        if gbt {
            args.push("--gbt");
        }
        let out = run(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        json_lines(&out)
    };
    let with = read(true);
    let without = read(false);
    assert_eq!(with.len(), 2880);
    assert!(with.iter().all(|l| l["error"].is_null()));
    assert_eq!(with, without);
    let (_sim, port) = start_sim(&["--gbt", "--max-pdu", "256", "--fault", "gbt-drop=3"]);
    let out = run(&[
        "read",
        "--port",
        &port.to_string(),
        "--json",
        "--gbt",
        "1.0.99.1.0.255",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(json_lines(&out), without);
}

const BK: &str = "000102030405060708090A0B0C0D0E0F";
const AK: &str = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF";

/// Ciphering and HLS-GMAC (authentication and encryption), for the simulator and our client.
fn secured() -> Vec<&'static str> {
    vec![
        "--auth",
        "gmac",
        "--security",
        "authenc",
        "--block-key",
        BK,
        "--auth-key",
        AK,
    ]
}

/// Reads the profile with `read --gbt --trace` and these flags; returns the rows and how many
/// general-block-transfer blocks the trace shows.
fn read_ciphered(link: &[&str]) -> (Vec<serde_json::Value>, usize) {
    let mut args = vec![
        "read",
        "--json",
        "--gbt",
        "--trace",
        "--timeout",
        "1500",
        "--client",
        "18",
    ];
    args.extend_from_slice(link);
    args.extend(secured());
    args.push("1.0.99.1.0.255");
    let out = run(&args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{link:?}: {stderr}");
    let blocks = stderr.matches("general-block-transfer block").count();
    // The ciphered answer is what the blocks carry: no block's data is readable text of the
    // profile, and every GET went ciphered.
    assert!(!stderr.contains("get-request ") || stderr.contains("(ciphered)"));
    (json_lines(&out), blocks)
}

fn assert_whole_profile(rows: &[serde_json::Value], blocks: usize, what: &str) {
    assert_eq!(rows.len(), 2880, "{what}");
    assert!(rows.iter().all(|l| l["error"].is_null()), "{what}");
    assert!(blocks > 20, "{what}: {blocks} blocks traced");
}

#[test]
fn ciphered_gbt_with_hls_over_wrapper_hdlc_and_udp_and_a_lost_block() {
    let mut plain_rows = None;
    for (sim_link, our_link) in [
        (vec![], vec![]),
        (vec!["--hdlc"], vec!["--hdlc"]),
        (vec!["--udp"], vec!["--udp"]),
    ] {
        for fault in [None, Some("gbt-drop=3"), Some("gbt-drop=4")] {
            let mut sim = vec!["--gbt", "--gbt-window", "4", "--max-pdu", "256"];
            sim.extend(sim_link.iter().copied());
            sim.extend(secured());
            if let Some(f) = fault {
                sim.extend(["--fault", f]);
            }
            let (_sim, port) = start_sim(&sim);
            let port = port.to_string();
            let mut link = vec!["--port", &port];
            link.extend(our_link.iter().copied());
            let (rows, blocks) = read_ciphered(&link);
            let what = format!("{sim_link:?} {fault:?}");
            assert_whole_profile(&rows, blocks, &what);
            // The same values on every link, with and without a lost block.
            let values: Vec<_> = rows.iter().map(|l| l["value"].clone()).collect();
            match &plain_rows {
                None => plain_rows = Some(values),
                Some(first) => assert_eq!(first, &values, "{what}"),
            }
        }
    }
}

#[test]
fn ciphered_gbt_with_hls_over_a_serial_line() {
    use tokio_serial::{SerialPort, SerialStream};
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (meter_end, client_end) = rt
        .block_on(async { SerialStream::pair() })
        .expect("a pty pair");
    let dev = client_end.name().expect("the pty has a name");
    let config = SimConfig {
        interface: Interface::Hdlc,
        max_pdu: 256,
        gbt_window: Some(4),
        authentication: dlms_logger::dlms::client::Authentication::High {
            mechanism: dlms_logger::dlms::security::HlsMechanism::Gmac,
            secret: Vec::new(),
        },
        ciphering: Some(dlms_logger::dlms::server::ServerCiphering {
            policy: dlms_logger::dlms::security::Policy::AuthEnc,
            system_title: "4D4D4D0000BC614E".parse().unwrap(),
            block_key: BK.parse().unwrap(),
            auth_key: AK.parse().unwrap(),
        }),
        ..SimConfig::default()
    };
    rt.spawn(async move {
        let _ = sim::serve_stream(meter_end, &config, 0).await;
    });
    let (rows, blocks) = read_ciphered(&["--serial", &dev, "--baud", "9600", "--hdlc"]);
    assert_whole_profile(&rows, blocks, "serial");
    drop(client_end);
}

/// The Gurux client (through `tests/peers/gurux_gbt_client.py`, which only adds GBT to the
/// conformance it proposes) reads the whole profile from our simulator in GBT blocks, plain and
/// ciphered with HLS-GMAC, over WRAPPER and HDLC: Gurux joins the blocks and deciphers the
/// joined APDU as we do. (The Gurux meter, meter.py, does not grant GBT, and client.py alone
/// never proposes it; neither peer speaks UDP or a serial line.)
#[test]
fn the_gurux_client_reads_our_gbt_answers_plain_and_ciphered() {
    let Some(py) = peer_python() else { return };
    let shim =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/gurux_gbt_client.py");
    for hdlc in [false, true] {
        for ciphered in [false, true] {
            let mut sim = vec!["--gbt", "--gbt-window", "4", "--max-pdu", "256"];
            let mut client = vec!["--profile", "--timeout", "10"];
            if hdlc {
                sim.push("--hdlc");
                client.extend(["--interface", "hdlc"]);
            }
            if ciphered {
                sim.extend(secured());
                client.extend([
                    "--client-address",
                    "18",
                    "--auth",
                    "gmac",
                    "--security",
                    "authenc",
                ]);
            }
            let (_sim, port) = start_sim(&sim);
            let trace = tempfile::NamedTempFile::new().unwrap();
            let port = port.to_string();
            let out = std::process::Command::new(&py)
                .arg(&shim)
                .arg(peers_dir())
                .arg("4")
                .args(["--port", &port, "--trace"])
                .arg(trace.path())
                .args(&client)
                .output()
                .expect("run the Gurux client");
            let text = String::from_utf8_lossy(&out.stdout);
            let what = format!("hdlc={hdlc} ciphered={ciphered}");
            assert!(
                out.status.success() && !text.contains("ERROR"),
                "{what}: {text}"
            );
            assert!(text.contains("profile rows=2880"), "{what}: {text}");
            let frames = std::fs::read_to_string(trace.path()).unwrap();
            // The blocks came (RX) and Gurux acknowledged them (TX), each a GBT APDU.
            let gbt = |dir: &str| {
                frames
                    .lines()
                    .filter(|l| l.starts_with(dir))
                    .filter_map(|l| l.rsplit(' ').next())
                    .filter(|hex| {
                        hex.get(16..18) == Some("E0")
                            || hex.contains("E6E700E0")
                            || hex.contains("E6E600E0")
                    })
                    .count()
            };
            assert!(gbt("RX") > 20 && gbt("TX") > 5, "{what}: {frames}");
        }
    }
}
