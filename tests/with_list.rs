//! GET-with-list against meters that answer it broken: the items are read with single GETs
//! instead of failing, and the logger remembers the meter so later runs go one by one from
//! the start; and with-list requests split so that, ciphered, each fits one HDLC frame.
mod common;

use common::*;
use dlms_logger::queue::Config;
use dlms_logger::runner::Runner;
use dlms_logger::sim::fault::Fault;
use dlms_logger::sim::{self, SimConfig};
use dlms_logger::store::Scan;
use dlms_logger::store::{LogFilter, Store, Writer};
use std::time::Duration;

const REGISTERS: [&str; 4] = [
    "1.0.1.8.0.255",
    "1.0.2.8.0.255",
    "1.0.32.7.0.255",
    "1.0.31.7.0.255",
];

fn read_all(fault: &str) {
    let (_sim, port) = start_sim(&["--fault", fault]);
    let port = port.to_string();
    let mut args = vec!["read", "--port", &port, "--json"];
    args.extend(REGISTERS);
    let out = run(&args);
    assert!(out.status.success(), "{fault}: every item is read");
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 4);
    for l in &lines {
        assert!(l["error"].is_null(), "{fault}: {l}");
        assert!(
            l["value"].is_number() && l["unit"].is_string(),
            "{fault}: {l}"
        );
    }
}

#[test]
fn a_malformed_with_list_answer_falls_back_to_single_gets() {
    read_all("bad-list");
}

#[test]
fn a_with_list_failed_item_by_item_falls_back_to_single_gets() {
    read_all("list-error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_logger_falls_back_once_and_remembers_the_meter() {
    let (addrs, _h) = sim::start(SimConfig {
        port: 0,
        fault: Some(Fault::BadList),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let port = addrs[0].port();
    let items: Vec<String> = REGISTERS
        .iter()
        .enumerate()
        .map(|(i, o)| format!("{{ name = \"r{i}\", obis = \"{o}\" }}"))
        .collect();
    let config = Config::parse(
        &format!(
            r#"
[[connection]]
name = "lab"
tcp = {{ host = "127.0.0.1", port = {port} }}
[[meter]]
name = "m1"
connection = "lab"
[[request]]
name = "regs"
meters = ["m1"]
schedule = {{ every = "1s" }}
items = [{}]
"#,
            items.join(", ")
        ),
        "l.toml",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("log.db");
    let (writer, handle) = Writer::spawn(&db).unwrap();
    let runner = Runner::start(config, handle, 1);
    let h = runner.handle();
    for _ in 0..400 {
        if h.status()
            .requests
            .get("regs")
            .is_some_and(|r| r.completed >= 2)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let trace = h.trace("m1");
    runner.shutdown().await;
    writer.shutdown().unwrap();

    let store = Store::open(&db).unwrap();
    let rows = store.log_page(&LogFilter::default(), None, 100).unwrap();
    let polls: std::collections::BTreeSet<i64> = rows.iter().map(|r| r.record.poll).collect();
    assert!(polls.len() >= 2, "two runs: {rows:?}");
    assert!(
        rows.iter().all(|r| r.record.status == "ok"),
        "every item of every run read: {rows:?}"
    );
    // Only the first run tried the list; later ones go one by one from the start.
    let lists = trace
        .iter()
        .filter(|e| e.direction == dlms_logger::engine::Direction::Tx)
        .filter(|e| e.summary.contains("with-list"))
        .count();
    assert_eq!(lists, 1, "one with-list request in all runs");
}

#[test]
fn ciphered_with_list_requests_fit_one_hdlc_frame() {
    let (_sim, port) = start_sim(&[
        "--hdlc",
        "--hdlc-max-info",
        "128",
        "--security",
        "authenc",
        "--test-objects",
    ]);
    let dir = tempfile::tempdir().unwrap();
    let counters = dir.path().join("counters.db");
    let port = port.to_string();
    let mut args = vec![
        "read",
        "--port",
        &port,
        "--hdlc",
        "--client",
        "1",
        "--security",
        "authenc",
        "--block-key",
        "000102030405060708090A0B0C0D0E0F",
        "--auth-key",
        "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF",
        "--counter-db",
        counters.to_str().unwrap(),
        "--trace",
    ];
    // Seven registers with their scaler_units: 14 attributes, 144 bytes in one list.
    args.extend(REGISTERS);
    args.extend(["1.0.21.7.0.255", "1.0.1.8.128.255", "1.0.32.7.128.255"]);
    let out = run(&args);
    assert!(out.status.success());
    let trace = String::from_utf8_lossy(&out.stderr);
    let sent: Vec<&str> = trace.lines().filter(|l| l.starts_with("TX ")).collect();
    assert!(
        sent.iter().any(|l| l.contains("with-list")),
        "lists are still used: {trace}"
    );
    // Frame format A8 = a segment with more to follow: no request needed one.
    assert!(
        sent.iter().all(|l| !l.starts_with("TX 7EA8")),
        "no request is segmented: {trace}"
    );
}
