//! Serial links over pseudo-terminal pairs, with the simulator on the far end: HDLC at 9600
//! 8N1, address sizes 1, 2 and 4, serial-number addressing, two meters on one bus, frame gaps.
mod common;

use common::*;
use dlms_logger::engine::Interface;
use dlms_logger::sim::{self, SimConfig};
use std::time::Duration;
use tokio_serial::{SerialPort, SerialStream};

/// Serves simulated meters on one end of a pty pair (in this process); returns the path of
/// the other end for the command line to open, and the stream that keeps it alive.
fn line(config: SimConfig) -> (String, SerialStream, tokio::runtime::Runtime) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (meter_end, client_end) = rt
        .block_on(async { SerialStream::pair() })
        .expect("a pty pair");
    let path = client_end.name().expect("the pty has a name");
    rt.spawn(async move {
        let _ = sim::serve_stream(meter_end, &config, 0).await;
    });
    (path, client_end, rt)
}

fn hdlc(physical: Option<u16>, size: Option<u8>, bus: u32) -> SimConfig {
    SimConfig {
        interface: Interface::Hdlc,
        physical,
        address_size: size,
        bus,
        ..SimConfig::default()
    }
}

fn read(dev: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "read",
        "--serial",
        dev,
        "--baud",
        "9600",
        "--hdlc",
        "--json",
        "--timeout",
        "3000",
    ];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["1.0.1.8.0.255", "0.0.96.1.0.255", "1.0.99.1.0.255"]);
    run(&args)
}

#[test]
fn hdlc_at_9600_8n1_reads_registers_and_the_whole_profile() {
    let (dev, _keep, _rt) = line(hdlc(None, None, 1));
    let out = read(&dev, &[]);
    assert!(out.status.success());
    let lines = json_lines(&out);
    assert_eq!(lines[0]["unit"], "Wh");
    assert_eq!(lines[1]["value"], "12345678");
    assert_eq!(
        lines.len() - 2,
        2880,
        "block transfer and HDLC segmentation over serial"
    );
}

#[test]
fn address_sizes_one_two_and_four() {
    for (size, physical, other) in [(1u8, 1u16, "2"), (2, 17, "4"), (4, 100, "2")] {
        let (dev, _keep, _rt) = line(hdlc(Some(physical), Some(size), 1));
        let out = read(
            &dev,
            &[
                "--server",
                &physical.to_string(),
                "--address-size",
                &size.to_string(),
            ],
        );
        assert!(out.status.success(), "size {size}");
        // The same meter refuses (ignores) another address form.
        let out = run(&[
            "read",
            "--serial",
            &dev,
            "--hdlc",
            "--timeout",
            "500",
            "--server",
            &physical.to_string(),
            "--address-size",
            other,
            "1.0.1.8.0.255",
        ]);
        assert!(
            !out.status.success(),
            "size {size} answered a {other}-byte address"
        );
        assert!(String::from_utf8_lossy(&out.stderr).contains("no answer"));
    }
}

#[test]
fn serial_number_addressing() {
    // SN 12345678 → physical 6678 in the 4-byte form (as routers compute it).
    let (dev, _keep, _rt) = line(hdlc(Some(6678), Some(4), 1));
    let out = run(&[
        "read",
        "--serial",
        &dev,
        "--hdlc",
        "--trace",
        "--timeout",
        "2000",
        "--serial-number",
        "12345678",
        "1.0.1.8.0.255",
    ]);
    assert!(out.status.success());
    let out = run(&[
        "read",
        "--serial",
        &dev,
        "--hdlc",
        "--timeout",
        "500",
        "--serial-number",
        "12345679",
        "1.0.1.8.0.255",
    ]);
    assert!(
        !out.status.success(),
        "another serial number is another meter"
    );
}

#[test]
fn two_meters_on_one_bus() {
    let (dev, _keep, _rt) = line(hdlc(Some(17), Some(2), 2));
    let serials: Vec<String> = ["17", "18"]
        .iter()
        .map(|p| {
            let out = read(&dev, &["--server", p, "--address-size", "2"]);
            assert!(out.status.success(), "meter {p}");
            json_lines(&out)[1]["value"].as_str().unwrap().to_string()
        })
        .collect();
    assert_eq!(
        serials,
        ["12345678", "12345679"],
        "each meter answers its own address"
    );
}

#[test]
fn frame_gap_is_honoured() {
    use dlms_logger::dlms::client::{AttributeRef, ClientSettings, Referencing};
    use dlms_logger::engine::{Direction, MeterAddress, Session};
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (meter_end, client_end) = SerialStream::pair().unwrap();
        let cfg = hdlc(None, None, 1);
        tokio::spawn(async move {
            let _ = sim::serve_stream(meter_end, &cfg, 0).await;
        });
        let sent = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = sent.clone();
        let addr = MeterAddress {
            interface: Interface::Hdlc,
            ..MeterAddress::default()
        };
        let mut s = Session::open(
            client_end,
            &addr,
            ClientSettings::new(Referencing::Ln),
            Duration::from_secs(3),
            Some(Box::new(move |e| {
                if e.direction == Direction::Tx {
                    sink.lock().unwrap().push(e.at);
                }
            })),
        )
        .await
        .unwrap();
        s.set_frame_gap(Duration::from_millis(60));
        let first = sent.lock().unwrap().len();
        // Four requests, one frame each.
        for _ in 0..4 {
            let r = s
                .read(&[AttributeRef::new(3, "1.0.1.8.0.255".parse().unwrap(), 2)])
                .await
                .unwrap();
            assert!(r[0].is_ok());
        }
        let times = sent.lock().unwrap()[first.saturating_sub(1)..].to_vec();
        assert!(times.len() >= 4, "several frames sent");
        for w in times.windows(2) {
            let gap = w[1].duration_since(w[0]).unwrap();
            assert!(gap >= Duration::from_millis(59), "frames {gap:?} apart");
        }
    });
}

#[test]
fn mode_e_sign_on_then_hdlc_at_the_agreed_baud() {
    use dlms_logger::dlms::iec62056_21::IecServer;
    use dlms_logger::queue::SerialSettings;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (mut meter_end, client_end) = rt.block_on(async { SerialStream::pair() }).unwrap();
    let dev = client_end.name().unwrap();
    let cfg = SimConfig {
        end_on_disconnect: true,
        ..hdlc(None, None, 1)
    };
    let agreed = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = agreed.clone();
    rt.spawn(async move {
        let line = SerialSettings::new("pty");
        // Two sessions, each with its own sign-on, as an optical port works.
        for _ in 0..2 {
            let mut iec = IecServer::new("DLG", "DLGSIM", 19200);
            let baud = dlms_logger::transport::serial::answer_mode_e(
                &mut meter_end,
                &line,
                &mut iec,
                Duration::from_secs(10),
            )
            .await
            .unwrap();
            seen.lock().unwrap().push(baud);
            sim::serve_stream(&mut meter_end, &cfg, 0).await.unwrap();
        }
    });
    for baud in ["9600", "4800"] {
        let out = run(&[
            "read",
            "--serial",
            &dev,
            "--iec",
            "--baud",
            baud,
            "--hdlc",
            "--timeout",
            "5000",
            "1.0.1.8.0.255",
            "0.0.96.1.0.255",
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(
        *agreed.lock().unwrap(),
        [9600, 4800],
        "the lower of the meter's and our maximum"
    );
    drop(client_end);
}

#[test]
fn mode_e_with_no_meter_says_where_it_stopped() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (_silent, client_end) = rt.block_on(async { SerialStream::pair() }).unwrap();
    let dev = client_end.name().unwrap();
    let out = run(&[
        "read",
        "--serial",
        &dev,
        "--iec",
        "--hdlc",
        "--timeout",
        "600",
        "1.0.1.8.0.255",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("sign-on") && err.contains("identification"),
        "{err}"
    );
}
