//! Values exactly as the meter said them, end to end: integers beyond a float's 53 bits, decimal
//! scaling without float noise, a request item's own unit, and date-times whose clock status
//! says invalid or doubtful — through `read` (text and JSON), the logger's store, `export`
//! (CSV and JSON) and profile rows. The simulator's `--test-objects` serve the edge values.
mod common;

use common::*;
use dlms_logger::queue::Config;
use dlms_logger::runner::Runner;
use dlms_logger::sim::{self, SimConfig};
use dlms_logger::store::{Store, Writer};
use std::path::Path;
use std::time::Duration;

const U64_MAX: &str = "0.0.96.128.0.255";
const I64_MIN: &str = "0.0.96.128.1.255";
const ENERGY: &str = "1.0.1.8.128.255";
const FLOAT: &str = "1.0.32.7.128.255";
const INVALID: &str = "0.0.96.129.0.255";
const DOUBTFUL: &str = "0.0.96.129.1.255";
const BASE: &str = "0.0.96.129.2.255";
const DST: &str = "0.0.96.129.3.255";

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn read_prints_integers_and_decimals_exactly() {
    let (_sim, port) = start_sim(&["--test-objects"]);
    let port = port.to_string();
    let items = [U64_MAX, I64_MIN, ENERGY, FLOAT];
    let mut args = vec!["read", "--port", &port, "--json"];
    args.extend(items);
    let out = run(&args);
    assert!(out.status.success());
    let text = stdout(&out);
    // JSON integers, written out in full: not 1.8446744073709552e19, not a string.
    assert!(
        text.contains(r#""value":18446744073709551615"#),
        "u64 max as an integer: {text}"
    );
    assert!(
        text.contains(r#""value":-9223372036854775808"#),
        "i64 min as an integer: {text}"
    );
    assert!(text.contains(r#""value":9430701"#), "{text}");
    // The float32 230.7 is 230.7, not 230.6999969482422.
    assert!(text.contains(r#""value":230.7}"#), "{text}");
    let lines = json_lines(&out);
    assert_eq!(lines[0]["value"].as_u64(), Some(u64::MAX));
    assert_eq!(lines[1]["value"].as_i64(), Some(i64::MIN));

    let mut args = vec!["read", "--port", &port];
    args.extend(items);
    let text = stdout(&run(&args));
    for want in [
        "18446744073709551615",
        "-9223372036854775808",
        "9430701 Wh",
        "230.7 V",
    ] {
        assert!(text.contains(want), "{want} in {text}");
    }
    assert!(!text.contains("230.69"), "{text}");
}

#[test]
fn read_shows_the_clock_status_of_date_times() {
    let (_sim, port) = start_sim(&["--test-objects"]);
    let port = port.to_string();
    let out = run(&["read", "--port", &port, INVALID, DOUBTFUL, BASE, DST]);
    assert!(out.status.success());
    let text = stdout(&out);
    for want in [
        "2026-11-21T12:07:30+01:00 (invalid)",
        "2026-11-21T12:07:30+01:00 (doubtful)",
        "2026-11-21T12:07:30+01:00 (different clock base, invalid clock status)",
        "2026-07-01T12:00:00+02:00 (DST)",
    ] {
        assert!(text.contains(want), "{want} in {text}");
    }
    let out = run(&["read", "--port", &port, "--json", INVALID, DST]);
    let lines = json_lines(&out);
    assert_eq!(lines[0]["value"], "2026-11-21T12:07:30+01:00 (invalid)");
    assert_eq!(lines[0]["clock_status"], serde_json::json!(["invalid"]));
    assert_eq!(lines[0]["deviation"], -60);
    assert_eq!(lines[1]["clock_status"], serde_json::json!(["DST"]));
    assert_eq!(lines[1]["deviation"], -120);
}

#[test]
fn profile_rows_captured_with_an_invalid_clock_say_so() {
    let (_sim, port) = start_sim(&["--clock-status", "0x01"]);
    let port = port.to_string();
    // The clock itself.
    let text = stdout(&run(&["read", "--port", &port, "0.0.1.0.0.255"]));
    assert!(text.contains(" (invalid)"), "{text}");
    // Every capture time of the profile.
    let out = run(&["read", "--port", &port, "--last", "3", "1.0.99.1.0.255"]);
    assert!(out.status.success());
    let text = stdout(&out);
    let rows: Vec<&str> = text.lines().filter(|l| l.starts_with("    ")).collect();
    assert_eq!(rows.len(), 3, "{text}");
    assert!(rows.iter().all(|l| l.contains(" (invalid)  ")), "{text}");
    let out = run(&[
        "read",
        "--port",
        &port,
        "--json",
        "--last",
        "3",
        "1.0.99.1.0.255",
    ]);
    let rows = json_lines(&out);
    assert_eq!(rows.len(), 3);
    for r in &rows {
        assert!(r["time"].as_str().unwrap().ends_with(" (invalid)"), "{r}");
    }
}

fn config(port: u16) -> Config {
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
name = "values"
meters = ["m1"]
schedule = {{ once = true }}
items = [
    {{ name = "kwh", obis = "{ENERGY}", unit = "kWh", scale = 0.001 }},
    {{ name = "max", obis = "{U64_MAX}" }},
    {{ name = "min", obis = "{I64_MIN}" }},
    {{ name = "volts", obis = "{FLOAT}" }},
    {{ name = "stamp", obis = "{INVALID}" }},
    {{ name = "load", obis = "1.0.99.1.0.255", entries = 2 }},
]
"#
        ),
        "values.toml",
    )
    .unwrap()
}

async fn log_once(port: u16, db: &Path) {
    let (writer, handle) = Writer::spawn(db).unwrap();
    let runner = Runner::start(config(port), handle, 1);
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_logger_stores_and_exports_values_exactly() {
    let (addrs, _h) = sim::start(SimConfig {
        port: 0,
        test_objects: true,
        clock_status: 0x02,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("log.db");
    log_once(addrs[0].port(), &db).await;

    let store = Store::open(&db).unwrap();
    let latest = store.latest_per_item().unwrap();
    let by_item = |name: &str| {
        latest
            .iter()
            .find(|r| r.record.item == name)
            .unwrap_or_else(|| panic!("{name} in {latest:?}"))
            .record
            .clone()
    };
    let kwh = by_item("kwh");
    assert_eq!(kwh.status, "ok");
    assert_eq!(
        kwh.value,
        Some(9430.701),
        "9430701 Wh × 0.001, no float noise"
    );
    assert_eq!(kwh.unit.as_deref(), Some("kWh"), "the item's unit");
    assert_eq!(by_item("volts").value, Some(230.7));
    assert_eq!(
        by_item("stamp").text.as_deref(),
        Some("2026-11-21T12:07:30+01:00 (invalid)")
    );
    drop(store);

    let db_arg = db.to_str().unwrap();
    let csv = stdout(&run(&["export", "--db", db_arg, "--format", "csv"]));
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let records: Vec<Vec<String>> = csv::Reader::from_reader(csv.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    let record = |item: &str| {
        records
            .iter()
            .find(|r| r[col("item")] == item)
            .unwrap_or_else(|| panic!("{item} in {csv}"))
            .clone()
    };
    assert_eq!(record("kwh")[col("value")], "9430.701");
    assert_eq!(record("kwh")[col("unit")], "kWh");
    assert_eq!(record("max")[col("value")], "18446744073709551615");
    assert_eq!(record("min")[col("value")], "-9223372036854775808");
    assert_eq!(record("volts")[col("value")], "230.7");
    assert_eq!(
        record("stamp")[col("text")],
        "2026-11-21T12:07:30+01:00 (invalid)"
    );
    // Profile rows keep their capture time's status (the simulated clock is doubtful).
    let load: Vec<&Vec<String>> = records
        .iter()
        .filter(|r| r[col("item")].starts_with("load/"))
        .collect();
    assert!(!load.is_empty(), "{csv}");
    for r in &load {
        assert!(r[col("meter_time")].ends_with(" (doubtful)"), "{r:?}");
    }

    let json = stdout(&run(&["export", "--db", db_arg, "--format", "json"]));
    assert!(json.contains(r#""value":18446744073709551615,"#), "{json}");
    assert!(json.contains(r#""value":-9223372036854775808,"#), "{json}");
    assert!(json.contains(r#""value":9430.701,"#), "{json}");
    assert!(json.contains(r#""value":230.7,"#), "{json}");
    assert!(!json.contains("9430.70100"), "{json}");
    let lines: Vec<serde_json::Value> = json
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let profile: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["item"].as_str().unwrap().starts_with("load/"))
        .collect();
    assert!(profile
        .iter()
        .all(|l| l["meter_time"].as_str().unwrap().ends_with(" (doubtful)")));
}
