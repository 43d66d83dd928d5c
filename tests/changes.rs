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
