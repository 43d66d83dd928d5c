//! The same simulated run logged into SQLite and into PostgreSQL: `dlms-logger export` gives
//! byte-equal CSV and JSON from both, and `status` names each store and its state.
//!
//! The run reads a fixed time range of the simulator's load profile (capture times and values
//! are functions of the capture time), so both runs store the same rows.

mod common;

use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use dlms_logger::queue::Config;
use dlms_logger::runner::{open_store, Runner};
use dlms_logger::sim::{self, SimConfig};
use dlms_logger::store::StoreLocation;

fn config(port: u16, since: &str, until: &str) -> Config {
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
schedule = {{ once = true }}
items = [{{ name = "load", obis = "1.0.99.1.0.255", since = "{since}", until = "{until}" }}]
"#
        ),
        "e2e.toml",
    )
    .unwrap()
}

/// Logs one run of `cfg` into `at`.
async fn log_once(cfg: Config, at: &StoreLocation) {
    let at = at.clone();
    let (writer, handle, first_poll) = tokio::task::spawn_blocking(move || open_store(&at))
        .await
        .unwrap()
        .unwrap();
    let runner = Runner::start(cfg, handle, first_poll);
    let h = runner.handle();
    for _ in 0..1500 {
        if h.status()
            .requests
            .get("profile")
            .is_some_and(|r| r.completed >= 1)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        h.status()
            .requests
            .get("profile")
            .is_some_and(|r| r.completed >= 1),
        "the run did not complete"
    );
    runner.shutdown().await;
    tokio::task::spawn_blocking(move || writer.shutdown().unwrap())
        .await
        .unwrap();
}

fn export(store: &str, format: &str) -> String {
    let out = common::bin()
        .args(["export", "--store", store, "--format", format])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "export --store {store}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_run_exports_byte_equal_from_sqlite_and_postgres() {
    let Some(url) = common::pg::fresh_database("e2e_export").await else {
        return;
    };
    let (addrs, _sim) = sim::start(SimConfig {
        port: 0,
        capture_period: 60,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let minute = |ago: i64| {
        let t = Utc::now().timestamp() - ago * 60;
        chrono::DateTime::from_timestamp(t - t % 60, 0)
            .unwrap()
            .to_rfc3339_opts(SecondsFormat::Secs, true)
    };
    let (since, until) = (minute(90), minute(30));
    let cfg = config(addrs[0].port(), &since, &until);

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("log.db");
    let sqlite = StoreLocation::Sqlite(file.clone());
    let pg = StoreLocation::parse(&url).unwrap();
    log_once(cfg.clone(), &sqlite).await;
    log_once(cfg, &pg).await;

    let file = file.display().to_string();
    let csv = export(&file, "csv");
    // 60 or 61 captures in the range, one row per column of the profile.
    assert!(csv.lines().count() > 60, "{csv}");
    assert_eq!(csv, export(&url, "csv"), "CSV differs");
    let json = export(&file, "json");
    assert_eq!(json.lines().count() + 1, csv.lines().count());
    assert_eq!(json, export(&url, "json"), "JSON differs");

    // `--db` still names the file; `status` tells the store's kind and state.
    assert_eq!(csv, {
        let out = common::bin()
            .args(["export", "--db", &file])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    });
    let out = common::bin()
        .args(["status", "--json", "--store", &url])
        .output()
        .unwrap();
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["store"]["kind"], "PostgreSQL");
    assert_eq!(status["store"]["state"], "connected");
    assert_eq!(
        status["store"]["rows"].as_u64().unwrap() as usize,
        json.lines().count()
    );
}

#[test]
fn status_says_an_unreachable_server_without_its_password() {
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://logger:s3cret@127.0.0.1:{port}/meters");
    let dir = tempfile::tempdir().unwrap();
    let out = common::bin()
        .current_dir(dir.path())
        .args(["status", "--store", &url])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "{text}");
    assert!(!text.contains("s3cret"), "{text}");
    assert!(
        text.contains(&format!(
            "store PostgreSQL postgres://logger:***@127.0.0.1:{port}/meters: unreachable"
        )),
        "{text}"
    );
    // The logger refuses to start on it, saying so, the password masked.
    let out = common::bin()
        .current_dir(dir.path())
        .args(["run", "--store", &url])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(!text.contains("s3cret"), "{text}");
    assert!(
        text.contains("cannot reach the PostgreSQL server postgres://logger:***@"),
        "{text}"
    );
}
