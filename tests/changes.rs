//! Changes against our simulator where the link, not the meter, decides: a request that goes
//! out and is never answered is an unknown outcome, read back and recorded, never resent.
mod common;

use common::*;

#[test]
fn a_change_sent_but_unanswered_is_an_unknown_outcome_read_back_and_recorded() {
    // The simulated meter answers the association and the first read, then drops the link
    // when the SET arrives: the SET went out, its answer never came.
    let (_sim, port) = start_sim(&["--fault", "drop=2"]);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("log.db");
    let out = run(&[
        "write",
        "1.0.1.8.0.255",
        "5",
        "--port",
        &port.to_string(),
        "--json",
        "--db",
        db.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(3), "exit 3: unknown outcome");
    let j = json_lines(&out).pop().unwrap();
    assert_eq!(j["outcome"], "unknown outcome");
    assert!(
        j["result"]
            .as_str()
            .unwrap()
            .contains("whether the meter made it is unknown"),
        "{j}"
    );
    assert!(
        j["new"].is_number(),
        "read back over a new association: {j}"
    );
    let store = dlms_logger::store::Store::open(&db).unwrap();
    let rows = store.writes(10).unwrap();
    assert_eq!(rows.len(), 1, "sent once, never again");
    assert_eq!(rows[0].1.outcome, dlms_logger::store::WriteOutcome::Unknown);
    assert!(rows[0].1.new_value.is_some());
}

/// Our change commands against our simulator with a password (the public client may not
/// write): `sim` and `ours` are the two sides' extra flags.
fn our_changes_against_our_simulator(sim: &[&str], ours: &[&str]) {
    let mut args = vec!["--password", "00000000"];
    args.extend_from_slice(sim);
    let (_sim, port) = start_sim(&args);
    let p = port.to_string();
    let change = |cmd: &[&str]| {
        let mut all = cmd.to_vec();
        all.extend([
            "--port",
            &p,
            "--client",
            "17",
            "--auth",
            "low",
            "--password",
            "00000000",
            "--json",
        ]);
        all.extend_from_slice(ours);
        let out = run(&all);
        (
            out.status.code(),
            json_lines(&out).pop().unwrap_or_default(),
        )
    };
    let (code, j) = change(&["write", "1.0.1.8.0.255", "5"]);
    assert_eq!(code, Some(0), "{j}");
    assert!(j["new"].as_u64().unwrap() < 100, "{j}");
    let (code, j) = change(&["write", "1.0.32.7.0.255", "5"]);
    assert_eq!(code, Some(2), "voltage is read-only: {j}");
    assert_eq!(j["result"], "read-write denied (3)");
    if !ours.contains(&"--sn") {
        let (code, j) = change(&["reset", "1.0.1.8.0.255"]);
        assert_eq!(code, Some(0), "{j}");
        let (code, j) = change(&["disconnect", "open"]);
        assert_eq!(code, Some(0), "{j}");
        assert_eq!(j["new"], false);
    }
}

#[test]
fn our_changes_against_our_simulator_over_wrapper_hdlc_and_sn() {
    our_changes_against_our_simulator(&[], &[]);
    our_changes_against_our_simulator(&["--hdlc"], &["--hdlc"]);
    our_changes_against_our_simulator(&["--sn"], &["--sn"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_action_request_makes_its_changes_and_records_each_step() {
    use dlms_logger::runner::Runner;
    use dlms_logger::store::{Store, WriteOutcome, Writer};
    let (_sim, port) = start_sim(&["--password", "00000000"]);
    let cfg = dlms_logger::queue::Config::parse(
        &format!(
            r#"
[[connection]]
name = "lab"
tcp = {{ host = "127.0.0.1", port = {port} }}
[[meter]]
name = "m1"
connection = "lab"
client = 17
auth = {{ level = "low", password = "00000000" }}
[[request]]
name = "nightly"
meters = ["m1"]
schedule = {{ once = true }}
steps = [
  {{ clock_sync = true, when_drift_over = "5s" }},
  {{ set = "1.0.1.8.0.255:2", value = "5" }},
  {{ call = "0.0.96.3.10.255:1" }},
  {{ set = "1.0.32.7.0.255:2", value = "1" }},
]
"#
        ),
        "t.toml",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("log.db");
    let (writer, handle) = Writer::spawn(&db).unwrap();
    let runner = Runner::start(cfg, handle, 1);
    let h = runner.handle();
    for _ in 0..300 {
        if h.status()
            .requests
            .get("nightly")
            .is_some_and(|r| r.completed >= 1)
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    runner.shutdown().await;
    writer.shutdown().unwrap();
    let store = Store::open(&db).unwrap();
    let mut rows: Vec<_> = store
        .writes(10)
        .unwrap()
        .into_iter()
        .map(|(_, w)| w)
        .collect();
    rows.reverse();
    assert_eq!(rows.len(), 4, "{rows:#?}");
    assert!(rows
        .iter()
        .all(|w| w.source == "nightly" && w.meter == "m1"));
    assert_eq!(rows[0].outcome, WriteOutcome::Skipped, "{:?}", rows[0]);
    assert!(rows[0].result.as_deref().unwrap().contains("is within 5 s"));
    assert_eq!(rows[1].outcome, WriteOutcome::Done);
    assert_eq!(rows[1].new_value.as_deref(), Some("5"));
    assert_eq!(rows[2].outcome, WriteOutcome::Done, "{:?}", rows[2]);
    assert_eq!(
        rows[3].outcome,
        WriteOutcome::Refused,
        "voltage is read-only"
    );
    assert_eq!(rows[3].result.as_deref(), Some("read-write denied (3)"));
    // A refused step makes the run a failure (its on_failure event fires).
    let st = h.status();
    assert!(st.meters["m1"].last_error.is_some());
}
