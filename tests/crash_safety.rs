//! SIGKILL a running `dlms-logger run` several times mid-logging: the database still opens,
//! passes `PRAGMA integrity_check`, and holds every run the logger reported as stored.
mod common;

use common::*;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Parses `stored N rows of request R (poll P)` log lines.
fn stored_line(line: &str) -> Option<(i64, i64)> {
    let rest = line.split("stored ").nth(1)?;
    let n: i64 = rest.split_whitespace().next()?.parse().ok()?;
    let poll: i64 = rest
        .split("(poll ")
        .nth(1)?
        .trim_end_matches(')')
        .trim()
        .parse()
        .ok()?;
    Some((poll, n))
}

#[test]
fn sigkill_mid_logging_loses_nothing_reported_stored() {
    let (_sim, port) = start_sim(&[]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("q.toml");
    let db = dir.path().join("log.db");
    std::fs::write(
        &cfg,
        format!(
            r#"
[[connection]]
name = "lab"
tcp = {{ host = "127.0.0.1", port = {port} }}
[[meter]]
name = "m1"
connection = "lab"
[[request]]
name = "fast"
meters = ["m1"]
schedule = {{ every = "20ms" }}
items = [
  {{ name = "a", obis = "1.0.1.8.0.255" }}, {{ name = "b", obis = "1.0.2.8.0.255" }},
  {{ name = "c", obis = "1.0.32.7.0.255" }}, {{ name = "d", obis = "1.0.31.7.0.255" }},
  {{ name = "e", obis = "1.0.21.7.0.255" }},
]
"#
        ),
    )
    .unwrap();
    let mut reported: HashMap<i64, i64> = HashMap::new();
    for round in 0..4 {
        let mut child = bin()
            .args([
                "run",
                "-c",
                cfg.to_str().unwrap(),
                "--db",
                db.to_str().unwrap(),
            ])
            .env("DLMS_LOG", "info")
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // Kill after a different number of stored runs each round, mid-stream.
        let want = 5 + round * 7;
        let mut seen = 0;
        let deadline = Instant::now() + Duration::from_secs(30);
        while seen < want && Instant::now() < deadline {
            if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
                if let Some((poll, n)) = stored_line(&line) {
                    reported.insert(poll, n);
                    seen += 1;
                }
            }
        }
        assert_eq!(seen, want, "round {round}: the logger stored runs");
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        // Lines already written before the kill count as reported too.
        while let Ok(line) = rx.recv_timeout(Duration::from_millis(100)) {
            if let Some((poll, n)) = stored_line(&line) {
                reported.insert(poll, n);
            }
        }
    }
    let conn = rusqlite::Connection::open(&db).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    for (poll, n) in &reported {
        let stored: i64 = conn
            .query_row(
                "SELECT count(*) FROM reading WHERE poll = ?1",
                [poll],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(stored, *n, "poll {poll} was reported stored with {n} rows");
    }
    assert!(reported.len() >= 5 + 12 + 19 + 26);
}
