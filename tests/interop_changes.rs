//! Changing a meter we did not write: our `write`, `call`, `clock`, `reset`, `capture` and
//! `disconnect` against the Gurux meter (`meter.py --writable`), over WRAPPER and HDLC, plain
//! and with HLS-GMAC + authenticated encryption; the refusals and the `writes` table.
mod common;

use common::*;

const BK: &str = "000102030405060708090A0B0C0D0E0F";
const AK: &str = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF";

/// One JSON object from a change command's `--json` output.
fn change(port: u16, ours: &[&str], args: &[&str]) -> (i32, serde_json::Value) {
    let port = port.to_string();
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--port", &port, "--json", "--timeout", "10000"]);
    all.extend_from_slice(ours);
    let out = run(&all);
    let code = out.status.code().unwrap_or(-1);
    let json = json_lines(&out).pop().unwrap_or(serde_json::Value::Null);
    (code, json)
}

/// Every change the Gurux meter supports, with the connection flags `ours`.
fn changes_against_gurux(meter_args: &[&str], ours: &[&str]) {
    let Some(py) = peer_python() else { return };
    let mut args = vec!["--writable"];
    args.extend_from_slice(meter_args);
    let (_meter, port) = start_gurux_meter(&py, &args);

    // The clock: an hour ahead, then synced back; the drift says so.
    let (code, j) = change(port, ours, &["write", "0.0.1.0.0.255:2", "now+3600"]);
    assert_eq!(code, 0, "{j}");
    assert_eq!(j["outcome"], "done");
    let (code, j) = change(port, ours, &["clock", "sync"]);
    assert_eq!(code, 0, "{j}");
    let before = j["drift_before_s"].as_f64().unwrap();
    let after = j["drift_after_s"].as_f64().unwrap();
    assert!((3590.0..3610.0).contains(&before), "{j}");
    assert!(after.abs() < 5.0, "synced: {j}");

    // A register: set, then reset to 0 (the meter counts on from there).
    let (code, j) = change(port, ours, &["write", "1.0.1.8.0.255", "5"]);
    assert_eq!(code, 0, "{j}");
    assert!(j["old"].as_u64().unwrap() >= 1_000_000, "{j}");
    assert!(j["new"].as_u64().unwrap() < 1_000, "{j}");
    let (code, j) = change(port, ours, &["reset", "1.0.1.8.0.255"]);
    assert_eq!(code, 0, "{j}");
    assert_eq!(j["result"], "success (0)");
    assert!(j["new"].as_u64().unwrap() < 10, "reset: {j}");

    // A profile capture, and the demand register's reset.
    let (code, j) = change(port, ours, &["capture", "1.0.99.1.0.255"]);
    assert_eq!(code, 0, "{j}");
    let (code, _) = change(port, ours, &["reset", "1.0.1.4.0.255"]);
    assert_eq!(code, 0);

    // The breaker: open, status, close.
    let (code, j) = change(port, ours, &["disconnect", "open"]);
    assert_eq!(code, 0, "{j}");
    assert_eq!(
        (j["old"].clone(), j["new"].clone()),
        (true.into(), false.into())
    );
    let (code, j) = change(port, ours, &["disconnect", "status"]);
    assert_eq!(code, 0, "{j}");
    assert_eq!(j["control_state_text"], "disconnected");
    let (code, j) = change(port, ours, &["disconnect", "close"]);
    assert_eq!(code, 0, "{j}");
    assert_eq!(j["new"], true);

    // Refusals: a read-only attribute, a method the object does not have.
    let (code, j) = change(port, ours, &["write", "0.0.96.1.0.255", "87654321"]);
    assert_eq!(code, 2, "{j}");
    assert_eq!(j["outcome"], "refused");
    assert_eq!(j["new"], "12345678", "unchanged: {j}");
    let (code, j) = change(port, ours, &["call", "1.0.1.8.0.255:9"]);
    assert_eq!(code, 2, "{j}");
    assert_eq!(j["outcome"], "refused");
}

#[test]
fn changes_over_wrapper() {
    changes_against_gurux(&[], &[]);
}

#[test]
fn changes_over_hdlc() {
    changes_against_gurux(&["--interface", "hdlc"], &["--hdlc"]);
}

#[test]
fn changes_over_hls_gmac_with_authenticated_encryption() {
    changes_against_gurux(
        &["--auth", "gmac", "--security", "authenc"],
        &[
            "--client",
            "18",
            "--auth",
            "gmac",
            "--security",
            "authenc",
            "--block-key",
            BK,
            "--auth-key",
            AK,
        ],
    );
}

#[test]
fn changes_over_hdlc_with_hls_gmac_and_authenticated_encryption() {
    changes_against_gurux(
        &[
            "--interface",
            "hdlc",
            "--auth",
            "gmac",
            "--security",
            "authenc",
        ],
        &[
            "--hdlc",
            "--client",
            "18",
            "--auth",
            "gmac",
            "--security",
            "authenc",
            "--block-key",
            BK,
            "--auth-key",
            AK,
        ],
    );
}

#[test]
fn bad_values_are_refused_before_anything_is_sent_and_changes_are_recorded() {
    let Some(py) = peer_python() else { return };
    let (_meter, port) = start_gurux_meter(&py, &["--writable"]);
    let p = port.to_string();
    // Wrong type and out of range: said before sending, exit 1.
    let out = run(&["write", "0.0.1.0.0.255", "tomorrow", "--port", &p]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("is not now, now+SECONDS or an ISO 8601"),
        "{err}"
    );
    let out = run(&["write", "1.0.1.8.0.255", "99999999999", "--port", &p]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("99999999999 is out of range for u32 (0 to 4294967295)"));
    // Done and refused changes land in the writes table with their outcome.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("log.db");
    let db_s = db.to_str().unwrap();
    assert!(
        run(&["write", "1.0.1.8.0.255", "7", "--port", &p, "--db", db_s])
            .status
            .success()
    );
    let out = run(&["write", "0.0.42.0.0.255", "41", "--port", &p, "--db", db_s]);
    assert_eq!(out.status.code(), Some(2));
    let store = dlms_logger::store::Store::open(&db).unwrap();
    let rows = store.writes(10).unwrap();
    assert_eq!(rows.len(), 2);
    let (refused, done) = (&rows[0].1, &rows[1].1);
    assert_eq!(done.outcome, dlms_logger::store::WriteOutcome::Done);
    assert_eq!(done.new_value.as_deref(), Some("7"));
    assert!(done.old_value.as_deref().unwrap().parse::<u64>().unwrap() >= 1_000_000);
    assert_eq!(refused.outcome, dlms_logger::store::WriteOutcome::Refused);
    assert_eq!(refused.result.as_deref(), Some("read-write denied (3)"));
}

#[test]
fn a_dry_run_prints_the_request_and_sends_nothing() {
    // No meter at all: a dry run never connects.
    let out = run(&["disconnect", "open", "--port", "1", "--dry-run", "--json"]);
    assert!(out.status.success());
    let j = json_lines(&out).pop().unwrap();
    assert_eq!(j["hex"], "C301C10046000060030AFF01010F00");
    assert_eq!(j["apdu"], "ACTION 0.0.96.3.10.255 method 1");
    let out = run(&["write", "1.0.1.8.0.255", "5", "--port", "1", "--dry-run"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--dry-run needs --type"));
}
