//! Load profiles: 2,000+ rows by range and by entry (our simulator and the Gurux meter),
//! incremental polls that fetch only new rows, a logger outage back-filled exactly once, and a
//! meter without selective access.
mod common;

use common::*;
use dlms_logger::queue::Config;
use dlms_logger::runner::Runner;
use dlms_logger::sim::{self, SimConfig};
use dlms_logger::store::Scan;
use dlms_logger::store::{LogFilter, Row, Store, Writer};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

fn profile_rows(out: &std::process::Output, obis: &str) -> Vec<serde_json::Value> {
    json_lines(out)
        .into_iter()
        .filter(|l| l["obis"] == obis && l.get("row").is_some())
        .collect()
}

#[test]
fn two_thousand_rows_by_entry_and_by_range_from_our_simulator() {
    let (_sim, port) = start_sim(&["--capture-period", "60"]);
    let port = port.to_string();
    let out = run(&[
        "read",
        "--port",
        &port,
        "--json",
        "--last",
        "2100",
        "1.0.99.1.0.255",
    ]);
    assert!(out.status.success());
    let rows = profile_rows(&out, "1.0.99.1.0.255");
    assert_eq!(rows.len(), 2100);
    let out = run(&[
        "read",
        "--port",
        &port,
        "--json",
        "--since",
        "40h",
        "1.0.99.1.0.255",
    ]);
    let rows = profile_rows(&out, "1.0.99.1.0.255");
    assert!(
        (2399..=2401).contains(&rows.len()),
        "40 hours of minutes: {}",
        rows.len()
    );
    assert!(rows[0]["row"]["1.0.1.8.0.255"].as_f64().is_some());
}

#[test]
fn two_thousand_rows_by_entry_and_by_range_from_the_gurux_meter() {
    let Some(py) = peer_python() else { return };
    let (_meter, port) = start_gurux_meter(
        &py,
        &["--profile-entries", "2500", "--capture-period", "60"],
    );
    let port = port.to_string();
    let out = run(&[
        "read",
        "--port",
        &port,
        "--json",
        "--timeout",
        "20000",
        "--last",
        "2100",
        "1.0.99.1.0.255",
    ]);
    assert!(out.status.success());
    assert_eq!(profile_rows(&out, "1.0.99.1.0.255").len(), 2100);
    let out = run(&[
        "read",
        "--port",
        &port,
        "--json",
        "--timeout",
        "20000",
        "--since",
        "40h",
        "1.0.99.1.0.255",
    ]);
    let rows = profile_rows(&out, "1.0.99.1.0.255");
    assert!(
        (2398..=2401).contains(&rows.len()),
        "40 hours of minutes by range: {}",
        rows.len()
    );
}

fn config(port: u16, entries: u32) -> Config {
    Config::parse(
        &format!(
            r#"
[[connection]]
name = "lab"
tcp = {{ host = "127.0.0.1", port = {port} }}
[[meter]]
name = "m1"
connection = "lab"
[[request]]
name = "profile"
meters = ["m1"]
schedule = {{ every = "1s" }}
items = [{{ name = "load", obis = "1.0.99.1.0.255", entries = {entries} }}]
"#
        ),
        "p.toml",
    )
    .unwrap()
}

/// Runs the logger until `polls` runs completed.
async fn run_logger(cfg: Config, db: &Path, polls: u64) {
    let (writer, handle) = Writer::spawn(db).unwrap();
    let first_poll = {
        let mut s = Store::open(db).unwrap();
        let p = s.next_poll_id().unwrap();
        s.close().unwrap();
        p
    };
    let runner = Runner::start(cfg, handle, first_poll);
    let h = runner.handle();
    for _ in 0..600 {
        if h.status()
            .requests
            .get("profile")
            .is_some_and(|r| r.completed >= polls)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    runner.shutdown().await;
    writer.shutdown().unwrap();
}

fn all_rows(db: &Path) -> Vec<Row> {
    let store = Store::open(db).unwrap();
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = store.log_page(&LogFilter::default(), after, 1000).unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.cursor());
        out.extend(page);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polls_fetch_only_new_rows_and_an_outage_is_back_filled_once() {
    // One entry per second, so periods pass during the test.
    let (addrs, _h) = sim::start(SimConfig {
        port: 0,
        capture_period: 1,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    incremental_and_back_filled(addrs[0].port()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gurux_meter_too_is_read_incrementally_and_back_filled_once() {
    let Some(py) = peer_python() else { return };
    let (_meter, port) =
        start_gurux_meter(&py, &["--profile-entries", "2600", "--capture-period", "1"]);
    incremental_and_back_filled(port).await;
}

async fn incremental_and_back_filled(port: u16) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("log.db");
    run_logger(config(port, 2500), &db, 3).await;
    // The logger is down for more than three periods.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    run_logger(config(port, 2500), &db, 2).await;

    let rows = all_rows(&db);
    let col: Vec<&Row> = rows
        .iter()
        .filter(|r| r.record.item == "load/1.0.1.8.0.255")
        .collect();
    // Per poll: the first took the newest 2,500 entries; every later one only what was new.
    let mut per_poll: BTreeMap<i64, usize> = BTreeMap::new();
    for r in &col {
        *per_poll.entry(r.record.poll).or_default() += 1;
    }
    let counts: Vec<usize> = per_poll.values().copied().collect();
    assert_eq!(counts[0], 2500, "{counts:?}");
    assert!(
        counts[1..].iter().all(|&n| n <= 10),
        "later polls only new rows: {counts:?}"
    );
    // The poll after the restart back-filled the outage: three periods or more at once.
    assert!(counts.iter().skip(1).any(|&n| n >= 3), "{counts:?}");
    // Exactly once and without holes: one row per second from the first to the last.
    let mut ts: Vec<i64> = col.iter().map(|r| r.record.ts_ms).collect();
    ts.sort();
    let unique = ts.windows(2).all(|w| w[1] > w[0]);
    assert!(unique, "no duplicate capture times");
    assert_eq!(
        ((ts[ts.len() - 1] - ts[0]) / 1000 + 1) as usize,
        ts.len(),
        "no holes"
    );
    assert!(
        rows.iter().all(|r| r.record.status == "ok"),
        "the simulator has no gaps"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_meter_without_selective_access_still_works_by_last_n() {
    let (addrs, _h) = sim::start(SimConfig {
        port: 0,
        selective_access: false,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("log.db");
    run_logger(config(addrs[0].port(), 100), &db, 1).await;
    let rows = all_rows(&db);
    let col: Vec<&Row> = rows
        .iter()
        .filter(|r| r.record.item == "load/1.0.1.8.0.255")
        .collect();
    assert_eq!(col.len(), 100, "the newest 100 of the whole buffer");
    assert!(rows.iter().all(|r| r.record.status == "ok"));
}

#[test]
fn the_shipped_presets_build_valid_requests() {
    for file in ["presets/iec-electricity.toml", "presets/sim.toml"] {
        let preset =
            dlms_logger::queue::Preset::load(Path::new(file)).unwrap_or_else(|e| panic!("{e}"));
        assert!(preset.objects.len() >= 12, "{file}");
        let request = dlms_logger::queue::request_from_preset(
            &preset,
            "all",
            vec!["m1".into()],
            "every 15min".parse().unwrap(),
            &[],
        );
        let mut config = Config::parse("[[connection]]\nname = \"c\"\ntcp = { host = \"127.0.0.1\", port = 4059 }\n[[meter]]\nname = \"m1\"\nconnection = \"c\"\n", "t.toml").unwrap();
        config.requests.push(request);
        config.validate().unwrap_or_else(|e| panic!("{file}: {e}"));
        let profile = config.requests[0]
            .items
            .iter()
            .find(|i| i.obis.to_string() == "1.0.99.1.0.255")
            .unwrap();
        assert_eq!(profile.class_id, 7);
    }
}
