//! Our GCM invocation counters never repeat under one key, whatever the meter is called,
//! wherever it is reached and whichever command ciphers: the simulator refuses a client
//! counter that does not increase (as a real meter does), so a reuse fails these tests.

mod common;

use common::{bin, start_sim, Proc};
use dlms_logger::counters::CounterStore;
use dlms_logger::dlms::client::AttributeRef;
use dlms_logger::engine::Target;
use dlms_logger::queue::Config;

/// Opens a session the way the logger does: the meter's `Target`, counters from `store`.
async fn open_secure(
    conn: &dlms_logger::queue::Connection,
    meter: &dlms_logger::queue::Meter,
    store: &std::sync::Arc<dlms_logger::counters::CounterStore>,
    trace: Option<dlms_logger::engine::TraceSink>,
) -> Result<
    dlms_logger::engine::Session<dlms_logger::transport::BoxStream>,
    dlms_logger::engine::EngineError,
> {
    Target::new(conn, meter).open(store, trace).await
}
use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};

const BK: &str = "000102030405060708090A0B0C0D0E0F";
const AK: &str = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF";
const SIM_SECURITY: [&str; 6] = ["--security", "authenc", "--block-key", BK, "--auth-key", AK];

fn energy() -> [AttributeRef; 1] {
    [AttributeRef::new(3, "1.0.1.8.0.255".parse().unwrap(), 2)]
}

/// A config with one meter per (name, host, port), all with the same keys.
fn config(meters: &[(&str, &str, u16)]) -> Config {
    let mut text = String::new();
    for (i, (name, host, port)) in meters.iter().enumerate() {
        text.push_str(&format!(
            r#"
[[connection]]
name = "c{i}"
tcp = {{ host = "{host}", port = {port} }}
[[meter]]
name = "{name}"
connection = "c{i}"
client = 1
security = {{ policy = "authenc", block_key = "{BK}", auth_key = "{AK}" }}
"#
        ));
    }
    Config::parse(&text, "counters.toml").unwrap_or_else(|e| panic!("{e}"))
}

/// Associates with meter `i` of `cfg`, reads, releases; the sim refuses a reused counter.
async fn read_meter(cfg: &Config, i: usize, store: &std::sync::Arc<CounterStore>) {
    let (conn, meter) = (&cfg.connections[i], &cfg.meters[i]);
    let mut s = open_secure(conn, meter, store, None)
        .await
        .unwrap_or_else(|e| panic!("meter {}: {e}", meter.name));
    let r = s.read(&energy()).await.unwrap();
    assert!(r[0].is_ok(), "meter {}: {:?}", meter.name, r[0]);
    s.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renamed_meter_goes_on_with_the_same_counter() {
    let (_sim, port) = start_sim(&SIM_SECURITY);
    let dir = tempfile::tempdir().unwrap();
    let store = CounterStore::new(dir.path().join("c.db"));
    read_meter(&config(&[("m1", "127.0.0.1", port)]), 0, &store).await;
    read_meter(&config(&[("renamed", "127.0.0.1", port)]), 0, &store).await;
    read_meter(&config(&[("m1", "127.0.0.1", port)]), 0, &store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_meters_with_one_key_never_share_a_counter() {
    // Two configured meters reached at one endpoint: the simulator sees both streams.
    let (_sim, port) = start_sim(&SIM_SECURITY);
    let dir = tempfile::tempdir().unwrap();
    let store = CounterStore::new(dir.path().join("c.db"));
    let cfg = config(&[("a", "127.0.0.1", port), ("b", "127.0.0.1", port)]);
    for _ in 0..3 {
        read_meter(&cfg, 0, &store).await;
        read_meter(&cfg, 1, &store).await;
    }
    // Sessions at the same time are not tried against the simulator: like a meter, it wants
    // each client's counters to increase across its associations, which two interleaved
    // sessions from one client title cannot promise (their counters are still unique:
    // `two_processes_racing_on_one_key_never_overlap`).
}

/// `read` with the link flags, sharing the user's default store (`$XDG_DATA_HOME`).
fn cli_read(data_home: &Path, host: &str, port: u16) -> std::process::Output {
    bin()
        .env_remove("DLMS_COUNTER_DB")
        .env("XDG_DATA_HOME", data_home)
        .args(["read", "--host", host, "--port", &port.to_string()])
        .args(["--client", "1", "--security", "authenc"])
        .args(["--block-key", BK, "--auth-key", AK, "1.0.1.8.0.255"])
        .output()
        .unwrap()
}

#[test]
fn a_meter_reached_at_another_address_goes_on_with_the_same_counter() {
    let (_sim, port) = start_sim(&SIM_SECURITY);
    let home = tempfile::tempdir().unwrap();
    for host in ["127.0.0.1", "localhost", "127.0.0.1"] {
        let out = cli_read(home.path(), host, port);
        assert!(
            out.status.success(),
            "read via {host}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(
        home.path().join("dlms-logger/counters.db").exists(),
        "the default store is in the user's data dir"
    );
}

/// Runs `dlms-logger run` on `cfg_text` with the default store under `data_home` until
/// `rows` readings are stored (or 20 s pass); returns the process.
fn run_logger(dir: &Path, data_home: &Path, cfg_text: &str) -> Proc {
    let cfg = dir.join("q.toml");
    std::fs::write(&cfg, cfg_text).unwrap();
    let child = bin()
        .env_remove("DLMS_COUNTER_DB")
        .env("XDG_DATA_HOME", data_home)
        .args(["run", "-c"])
        .arg(&cfg)
        .arg("--db")
        .arg(dir.join("log.db"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    Proc(child)
}

/// (ok rows, failed rows) in the log.
fn counts(db: &Path) -> (i64, i64) {
    let Ok(conn) = rusqlite::Connection::open(db) else {
        return (0, 0);
    };
    let q = |sql: &str| conn.query_row(sql, [], |r| r.get(0)).unwrap_or(0);
    (
        q("SELECT count(*) FROM reading WHERE status = 'ok'"),
        q("SELECT count(*) FROM reading WHERE status <> 'ok'"),
    )
}

fn wait_for_ok(db: &Path, at_least: i64) -> (i64, i64) {
    let end = Instant::now() + Duration::from_secs(20);
    loop {
        let c = counts(db);
        if c.0 >= at_least || Instant::now() > end {
            return c;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn logger_config(port: u16) -> String {
    format!(
        r#"
[[connection]]
name = "lab"
tcp = {{ host = "127.0.0.1", port = {port} }}
[[meter]]
name = "m1"
connection = "lab"
client = 1
security = {{ policy = "authenc", block_key = "{BK}", auth_key = "{AK}" }}
[[request]]
name = "energy"
meters = ["m1"]
schedule = {{ every = "200ms" }}
items = [{{ name = "energy", obis = "1.0.1.8.0.255" }}]
"#
    )
}

#[test]
fn read_then_run_then_a_crash_then_run_never_reuse_a_counter() {
    let (_sim, port) = start_sim(&SIM_SECURITY);
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let out = cli_read(home.path(), "127.0.0.1", port);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let db = dir.path().join("log.db");
    // `run` after `read`, with the same key: it must go on above read's counters.
    let mut logger = run_logger(dir.path(), home.path(), &logger_config(port));
    let (ok, failed) = wait_for_ok(&db, 5);
    assert!(
        ok >= 5 && failed == 0,
        "run after read: {ok} ok, {failed} failed"
    );
    // A crash mid-lease (SIGKILL: nothing is given back), then a new logger.
    logger.0.kill().unwrap();
    let _ = logger.0.wait();
    let before = counts(&db);
    let _logger = run_logger(dir.path(), home.path(), &logger_config(port));
    let (ok, failed) = wait_for_ok(&db, before.0 + 5);
    assert!(
        ok >= before.0 + 5 && failed == before.1,
        "run after a crash: {ok} ok (was {}), {failed} failed (was {})",
        before.0,
        before.1
    );
    // And `read` again after both.
    let out = cli_read(home.path(), "127.0.0.1", port);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Child mode of the race test: takes counters from the store named by the environment and
/// writes them to a file, one per line.
#[test]
fn race_child() {
    let (Ok(store), Ok(out)) = (std::env::var("RACE_STORE"), std::env::var("RACE_OUT")) else {
        return;
    };
    let title = dlms_logger::dlms::security::SystemTitle(*b"DLMSRACE");
    let key = dlms_logger::dlms::security::Key([7; 16]);
    let mut taken = Vec::new();
    if std::env::var_os("RACE_SHORT").is_some() {
        // One-shot commands: each store lives for three takes, then stops cleanly (leaving
        // a lease in the lease file for the next one, unless somebody reserved above it).
        for i in 0..1_000u32 {
            let store = CounterStore::new(&store);
            for j in 0..3 {
                taken.push(store.take(title, &key, 0, 1 + (3 * i + j) % 3).unwrap());
            }
        }
    } else {
        let store = CounterStore::new(store);
        for i in 0..3_000u32 {
            taken.push(store.take(title, &key, 0, 1 + i % 3).unwrap());
            if i % 500 == 499 {
                store.flush().unwrap(); // give back, as a process that ends does
            }
        }
    }
    let text: Vec<String> = taken.iter().map(u32::to_string).collect();
    std::fs::write(out, text.join("\n")).unwrap();
}

#[test]
fn two_processes_racing_on_one_key_never_overlap() {
    race(false);
}

#[test]
fn short_lived_stores_racing_through_leases_never_overlap() {
    race(true);
}

/// Three child processes take counters of one key at once (each store for the whole run, or
/// one-shot stores that pass leases on); no value is handed out twice.
fn race(short: bool) {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("c.db");
    let me = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..3)
        .map(|i| {
            std::process::Command::new(&me)
                .args(["--exact", "race_child", "--nocapture"])
                .env("RACE_STORE", &store)
                .env("RACE_OUT", dir.path().join(format!("out{i}")))
                .envs(short.then_some(("RACE_SHORT", "1")))
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let mut seen = HashSet::new();
    for i in 0..3 {
        let text = std::fs::read_to_string(dir.path().join(format!("out{i}"))).unwrap();
        for (k, first) in text.lines().map(|l| l.parse::<u32>().unwrap()).enumerate() {
            // Each take was of 1 + k % 3 values.
            for v in first..first + 1 + (k as u32 % 3) {
                assert!(seen.insert(v), "counter {v} handed out twice");
            }
        }
    }
    assert_eq!(seen.len(), 3 * 6_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_refuses_a_client_counter_that_does_not_increase() {
    // Without a store, a session uses the counter in its settings: twice 0 is a reuse.
    let (_sim, port) = start_sim(&SIM_SECURITY);
    let cfg = config(&[("m1", "127.0.0.1", port)]);
    let (conn, meter) = (&cfg.connections[0], &cfg.meters[0]);
    let open = || async {
        let target = Target::new(conn, meter);
        let stream = target.connect().await.unwrap();
        dlms_logger::engine::Session::open(
            stream,
            &target.address,
            target.settings.clone(),
            Duration::from_secs(5),
            None,
        )
        .await
    };
    let mut s = open().await.unwrap();
    assert!(s.read(&energy()).await.unwrap()[0].is_ok());
    s.close().await.unwrap();
    let e = open().await.err().map(|e| e.to_string());
    assert!(e.is_some(), "the simulator accepted a reused counter");
}
