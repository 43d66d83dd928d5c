//! Everything the logger writes (its log, traces, the database, exports) is searched for the
//! test keys and password: none may appear, in text or in binary form.
mod common;

use common::*;
use std::process::Stdio;
use std::time::{Duration, Instant};

const PASSWORD: &str = "Pw0rd-Hunter2";
const BK: &str = "8F1E2D3C4B5A69788796A5B4C3D2E1F0";
const AK: &str = "0A1B2C3D4E5F60718293A4B5C6D7E8F9";

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Every form a secret could leak in.
fn needles() -> Vec<Vec<u8>> {
    let mut n = vec![PASSWORD.as_bytes().to_vec()];
    let pw_hex: String = PASSWORD.bytes().map(|b| format!("{b:02X}")).collect();
    n.push(pw_hex.clone().into_bytes());
    n.push(pw_hex.to_lowercase().into_bytes());
    for k in [BK, AK] {
        n.push(k.as_bytes().to_vec());
        n.push(k.to_lowercase().into_bytes());
        n.push(unhex(k));
    }
    n
}

fn assert_clean(what: &str, bytes: &[u8]) {
    for needle in needles() {
        assert!(
            !bytes.windows(needle.len()).any(|w| w == needle.as_slice()),
            "{what} contains a secret ({} bytes searched)",
            bytes.len()
        );
    }
}

#[test]
fn no_secret_in_anything_the_logger_writes() {
    let (_sim, port) = start_sim(&[
        "--password",
        PASSWORD,
        "--security",
        "authenc",
        "--block-key",
        BK,
        "--auth-key",
        AK,
    ]);
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
client = 17
auth = {{ level = "low", password = "{PASSWORD}" }}
security = {{ policy = "authenc", block_key = "{BK}", auth_key = "{AK}", ic_obis = "0.0.43.1.0.255" }}
[[request]]
name = "fast"
meters = ["m1"]
schedule = {{ every = "200ms" }}
items = [{{ name = "energy", obis = "1.0.1.8.0.255" }}, {{ name = "bad", obis = "1.0.99.9.9.255" }}, {{ name = "load", obis = "1.0.99.1.0.255", entries = 4 }}]
"#
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o600)).unwrap();

    // The headless logger at the most verbose log level; it and the reads below share one
    // counter store, as one user's commands do.
    let state = tempfile::tempdir().unwrap();
    let child = bin()
        .env("DLMS_COUNTER_DB", state.path().join("counters.db"))
        .args([
            "run",
            "-c",
            cfg.to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
        ])
        .env("DLMS_LOG", "trace")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    // SIGINT: a clean stop that finishes the writes.
    let _ = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = [out.stdout, out.stderr].concat();
    assert!(
        String::from_utf8_lossy(&log).contains("stored "),
        "the logger ran"
    );
    assert_clean("the logger's log", &log);

    // A traced read with the secrets from the environment, and a failing one.
    for (pw, ok) in [(PASSWORD, true), ("not-it", false)] {
        let out = bin()
            .args([
                "read",
                "--port",
                &port.to_string(),
                "--client",
                "17",
                "--auth",
                "low",
                "--security",
                "authenc",
                "--trace",
                "1.0.1.8.0.255",
            ])
            .env("DLMS_PASSWORD", pw)
            .env("DLMS_BLOCK_KEY", BK)
            .env("DLMS_AUTH_KEY", AK)
            .env("DLMS_COUNTER_DB", state.path().join("counters.db"))
            .output()
            .unwrap();
        assert_eq!(
            out.status.success(),
            ok,
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("AARQ"),
            "traced"
        );
        assert_clean("a traced read", &[out.stdout, out.stderr].concat());
    }
    // The counter database of the command line.
    for entry in walk(state.path()) {
        assert_clean(
            &entry.display().to_string(),
            &std::fs::read(&entry).unwrap(),
        );
    }

    // The database (with its WAL) and both exports.
    for entry in walk(dir.path()) {
        if entry.extension().is_some_and(|e| e == "toml") {
            continue; // the config holds the secrets by design (0600)
        }
        assert_clean(
            &entry.display().to_string(),
            &std::fs::read(&entry).unwrap(),
        );
    }
    for format in ["csv", "json"] {
        let out = run(&["export", "--db", db.to_str().unwrap(), "--format", format]);
        assert!(out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).contains("energy"));
        assert_clean("an export", &out.stdout);
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
