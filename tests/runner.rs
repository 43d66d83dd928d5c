//! The runner against the simulator: order and counts of fires, a dead meter that does not
//! hold up other links, coalescing, and events fired from outside.

use dlms_logger::queue::Config;
use dlms_logger::runner::{control, Runner};
use dlms_logger::sim::{self, SimConfig};
use dlms_logger::store::Scan;
use dlms_logger::store::{LogFilter, Row, Store, Writer};
use std::path::Path;
use std::time::Duration;

async fn sim_port() -> u16 {
    let (addrs, _h) = sim::start(SimConfig {
        port: 0,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    std::mem::forget(_h);
    addrs[0].port()
}

/// A TCP peer that accepts connections and never answers.
fn black_hole() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in l.incoming().flatten() {
            held.push(s);
        }
    });
    port
}

fn config(text: &str) -> Config {
    Config::parse(text, "test.toml").unwrap_or_else(|e| panic!("{e}"))
}

fn rows(db: &Path) -> Vec<Row> {
    let store = Store::open(db).unwrap();
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = store.log_page(&LogFilter::default(), after, 500).unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.cursor());
        out.extend(page);
    }
    out.reverse(); // oldest first
    out
}

async fn run_for(
    cfg: Config,
    db: &Path,
    until: impl Fn(&dlms_logger::runner::Status) -> bool,
) -> dlms_logger::runner::Status {
    let (writer, handle) = Writer::spawn(db).unwrap();
    let runner = Runner::start(cfg, handle, 1);
    let h = runner.handle();
    for _ in 0..300 {
        if until(&h.status()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let status = h.status();
    runner.shutdown().await;
    writer.shutdown().unwrap();
    status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_run_in_queue_order_and_events_chain() {
    let port = sim_port().await;
    let cfg = config(&format!(
        r#"
[[connection]]
name = "lab"
tcp = {{ host = "127.0.0.1", port = {port} }}
[[meter]]
name = "m1"
connection = "lab"
[[request]]
name = "first"
meters = ["m1"]
schedule = {{ once = true }}
on_success = "first-done"
items = [{{ name = "energy", obis = "1.0.1.8.0.255" }}]
[[request]]
name = "second"
meters = ["m1"]
schedule = {{ once = true }}
items = [{{ name = "volts", obis = "1.0.32.7.0.255" }}, {{ name = "serial", obis = "0.0.96.1.0.255" }}]
[[request]]
name = "after-first"
meters = ["m1"]
schedule = {{ event = "first-done" }}
on_failure = "never"
items = [{{ name = "clock", obis = "0.0.1.0.0.255" }}]
"#
    ));
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("log.db");
    let status = run_for(cfg, &db, |s| {
        s.requests
            .get("after-first")
            .is_some_and(|r| r.completed == 1)
    })
    .await;
    for name in ["first", "second", "after-first"] {
        let r = &status.requests[name];
        assert_eq!(
            (r.fired, r.completed, r.skipped),
            (1, 1, 0),
            "{name}: {r:?}"
        );
    }
    let rows = rows(&db);
    let order: Vec<&str> = rows.iter().map(|r| r.record.request.as_str()).collect();
    assert_eq!(order, ["first", "second", "second", "after-first"]);
    let polls: Vec<i64> = rows.iter().map(|r| r.record.poll).collect();
    assert!(
        polls[0] < polls[1] && polls[1] == polls[2] && polls[2] < polls[3],
        "{polls:?}"
    );
    assert!(rows.iter().all(|r| r.record.status == "ok"), "{rows:?}");
    assert_eq!(rows[1].record.unit.as_deref(), Some("V"));
    assert_eq!(rows[2].record.text.as_deref(), Some("12345678"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_meter_fails_without_holding_up_other_links() {
    let good = sim_port().await;
    let dead = black_hole();
    let cfg = config(&format!(
        r#"
[[connection]]
name = "good"
tcp = {{ host = "127.0.0.1", port = {good} }}
[[connection]]
name = "dead"
tcp = {{ host = "127.0.0.1", port = {dead} }}
[[meter]]
name = "good-m"
connection = "good"
[[meter]]
name = "dead-m"
connection = "dead"
timeout_ms = 300
retries = 1
[[request]]
name = "poll-good"
meters = ["good-m"]
schedule = {{ every = "100ms" }}
items = [{{ name = "energy", obis = "1.0.1.8.0.255" }}]
[[request]]
name = "poll-dead"
meters = ["dead-m"]
schedule = {{ every = "100ms" }}
items = [{{ name = "energy", obis = "1.0.1.8.0.255" }}, {{ name = "volts", obis = "1.0.32.7.0.255" }}]
"#
    ));
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("log.db");
    let status = run_for(cfg, &db, |s| {
        s.requests
            .get("poll-dead")
            .is_some_and(|r| r.completed >= 2)
    })
    .await;
    let good = &status.requests["poll-good"];
    let dead = &status.requests["poll-dead"];
    // Each dead run takes two timeouts and a backoff; the good link kept polling meanwhile.
    assert!(
        good.completed >= 3 * dead.completed,
        "good {good:?}, dead {dead:?}"
    );
    assert!(
        dead.skipped > 0,
        "fires during a slow run are coalesced: {dead:?}"
    );
    assert!(dead.fired >= dead.completed + dead.skipped, "{dead:?}");
    let rows = rows(&db);
    let dead_rows: Vec<_> = rows.iter().filter(|r| r.record.meter == "dead-m").collect();
    assert!(dead_rows.len() >= 4, "a failure row per item per run");
    for r in &dead_rows {
        assert!(
            r.record.status.contains("no answer from the meter"),
            "{}",
            r.record.status
        );
        assert!(
            r.record.status.contains("after 2 tries"),
            "{}",
            r.record.status
        );
        assert_eq!(r.record.value, None);
    }
    assert!(rows
        .iter()
        .filter(|r| r.record.meter == "good-m")
        .all(|r| r.record.status == "ok"));
    assert_eq!(status.meters["dead-m"].ok, 0);
    assert!(status.meters["dead-m"].last_error.is_some());
    assert!(
        status.meters["good-m"].last_success.is_some() && status.meters["good-m"].rtt.is_some()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trigger_from_outside_fires_the_event_request() {
    let port = sim_port().await;
    let cfg = config(&format!(
        r#"
[[connection]]
name = "lab"
tcp = {{ host = "127.0.0.1", port = {port} }}
[[meter]]
name = "m1"
connection = "lab"
[[request]]
name = "on-demand"
meters = ["m1"]
schedule = {{ event = "read-now" }}
items = [{{ name = "energy", obis = "1.0.1.8.0.255" }}]
"#
    ));
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("log.db");
    let sock = control::default_socket(&db);
    let (writer, handle) = Writer::spawn(&db).unwrap();
    let runner = Runner::start(cfg, handle, 1);
    let listener = control::bind(&sock).await.unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let events = runner.handle();
    let server = tokio::spawn(control::serve(listener, sock.clone(), move |n| {
        events.fire_event(n)
    }));
    assert!(matches!(
        control::bind(&sock).await,
        Err(control::ControlError::InUse(_))
    ));
    let e = control::trigger(&sock, "nobody-listens")
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("no enabled request listens"), "{e}");
    assert_eq!(control::trigger(&sock, "read-now").await.unwrap(), 1);
    let h = runner.handle();
    for _ in 0..200 {
        if h.status()
            .requests
            .get("on-demand")
            .is_some_and(|r| r.completed == 1)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.abort();
    runner.shutdown().await;
    writer.shutdown().unwrap();
    let rows = rows(&db);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].record.request, "on-demand");
    assert_eq!(rows[0].record.unit.as_deref(), Some("Wh"));
}

async fn sim_with(config: SimConfig) -> u16 {
    let (addrs, h) = sim::start(SimConfig { port: 0, ..config }).await.unwrap();
    std::mem::forget(h);
    addrs[0].port()
}

fn polling_config(port: u16, persistent: bool, items: &str) -> Config {
    config(&format!(
        r#"
[[connection]]
name = "lab"
tcp = {{ host = "127.0.0.1", port = {port}, persistent = {persistent} }}
[[meter]]
name = "m1"
connection = "lab"
retries = 0
[[request]]
name = "poll"
meters = ["m1"]
schedule = {{ every = "150ms" }}
items = [{items}]
"#
    ))
}

/// Runs until `runs` runs completed; returns how many associations (AARQs) were made.
async fn associations(cfg: Config, db: &Path, runs: u64) -> usize {
    let (writer, handle) = Writer::spawn(db).unwrap();
    let runner = Runner::start(cfg, handle, 1);
    let h = runner.handle();
    for _ in 0..300 {
        if h.status()
            .requests
            .get("poll")
            .is_some_and(|r| r.completed >= runs)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let aarqs = h
        .trace("m1")
        .iter()
        .filter(|e| e.summary.starts_with("AARQ"))
        .count();
    runner.shutdown().await;
    writer.shutdown().unwrap();
    aarqs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistent_connections_keep_the_association() {
    let port = sim_port().await;
    let item = r#"{ name = "energy", obis = "1.0.1.8.0.255" }"#;
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        associations(
            polling_config(port, true, item),
            &dir.path().join("a.db"),
            4
        )
        .await,
        1
    );
    assert!(
        associations(
            polling_config(port, false, item),
            &dir.path().join("b.db"),
            4
        )
        .await
            >= 4
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_dropped_mid_read_reconnects_on_the_next_fire() {
    // The meter drops the link after 3 requests: inside the first profile read (block transfer).
    let port = sim_with(SimConfig {
        drop_once_after: Some(3),
        ..SimConfig::default()
    })
    .await;
    let items = r#"{ name = "load", obis = "1.0.99.1.0.255", entries = 500 }"#;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("log.db");
    let (writer, handle) = Writer::spawn(&db).unwrap();
    let runner = Runner::start(polling_config(port, true, items), handle, 1);
    let h = runner.handle();
    for _ in 0..300 {
        if h.status().meters.get("m1").is_some_and(|m| m.ok >= 1) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    runner.shutdown().await;
    writer.shutdown().unwrap();
    let rows = rows(&db);
    let failed: Vec<_> = rows.iter().filter(|r| r.record.status != "ok").collect();
    assert_eq!(failed.len(), 1, "the first run failed once: {failed:?}");
    let first = &failed[0].record;
    assert!(
        first.status.contains("closed the connection"),
        "{}",
        first.status
    );
    let ok: Vec<_> = rows.iter().filter(|r| r.record.status == "ok").collect();
    assert_eq!(
        ok.len(),
        1000,
        "the next fire reconnected and stored 500 rows x 2 columns"
    );
    assert!(ok.iter().all(|r| r.record.poll > first.poll));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_association_closed_by_the_meters_inactivity_timeout_reconnects_at_once() {
    // The meter closes idle links after 300 ms; the request fires every 700 ms, no retries.
    let port = sim_with(SimConfig {
        inactivity_timeout: Duration::from_millis(300),
        ..SimConfig::default()
    })
    .await;
    let mut cfg = polling_config(port, true, r#"{ name = "energy", obis = "1.0.1.8.0.255" }"#);
    cfg.requests[0].schedule = "every 700ms".parse().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("log.db");
    let aarqs = associations(cfg, &db, 3).await;
    assert!(
        aarqs >= 3,
        "each run found the link closed and associated again ({aarqs})"
    );
    let rows = rows(&db);
    assert!(rows.len() >= 3);
    assert!(
        rows.iter().all(|r| r.record.status == "ok"),
        "no run failed: {rows:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alives_hold_an_hdlc_link_past_the_meters_inactivity_timeout() {
    use dlms_logger::engine::Interface;
    // The meter drops idle links after 1 s and says so in its IEC HDLC setup object; the
    // request fires every 2.5 s, so only keep-alives can hold the association.
    let port = sim_with(SimConfig {
        interface: Interface::Hdlc,
        inactivity_timeout: Duration::from_secs(1),
        ..SimConfig::default()
    })
    .await;
    let mut cfg = polling_config(port, true, r#"{ name = "energy", obis = "1.0.1.8.0.255" }"#);
    cfg.meters[0].interface = dlms_logger::queue::InterfaceKind::Hdlc;
    cfg.requests[0].schedule = "every 2500ms".parse().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("log.db");
    assert_eq!(
        associations(cfg, &db, 2).await,
        1,
        "one association for both runs"
    );
    assert!(rows(&db).iter().all(|r| r.record.status == "ok"));
}

/// This process's effective uid, from /proc (no libc call needed).
fn effective_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_control_socket_refuses_other_users() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    if effective_uid() != Some(0) {
        // Running a process as another user needs root; the 0600 mode is checked above.
        eprintln!("skipped: only root can run `trigger` as another user");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let sock = dir.path().join("log.db.sock");
    let listener = control::bind(&sock).await.unwrap();
    let fired = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = fired.clone();
    let server = tokio::spawn(control::serve(listener, sock.clone(), move |_| {
        count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        1
    }));
    // `trigger` run as nobody (uid/gid 65534), from a copy of the binary nobody can reach
    // (the build directory may sit in a home directory only its owner can enter).
    let bin = dir.path().join("dlms-logger");
    std::fs::copy(env!("CARGO_BIN_EXE_dlms-logger"), &bin).unwrap();
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let as_nobody = |sock: std::path::PathBuf| {
        let bin = bin.clone();
        tokio::task::spawn_blocking(move || {
            std::process::Command::new(bin)
                .current_dir("/")
                .args(["trigger", "read-now", "--socket"])
                .arg(&sock)
                .uid(65534)
                .gid(65534)
                .output()
                .unwrap()
        })
    };
    // First layer: the socket file is 0600, so another user cannot even connect.
    let out = as_nobody(sock.clone()).await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{out:?}");
    assert!(stderr.contains("ermission denied"), "{stderr}");
    // Second layer: even with the file opened up, the peer's credentials are checked.
    std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = as_nobody(sock.clone()).await.unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{out:?}");
    assert!(stderr.contains("not allowed"), "{stderr}");
    assert_eq!(fired.load(std::sync::atomic::Ordering::SeqCst), 0);
    // The owner still gets in.
    assert_eq!(control::trigger(&sock, "read-now").await.unwrap(), 1);
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tests_and_object_reads_go_through_the_connections_worker_and_its_link() {
    // A persistent link: the worker keeps one association. The UI's test and object read must
    // use it, between polls, instead of opening a second link beside it (a serial bus or a
    // meter that allows one association would refuse, or break the poll).
    let port = sim_port().await;
    let item = r#"{ name = "energy", obis = "1.0.1.8.0.255" }"#;
    let dir = tempfile::tempdir().unwrap();
    let (writer, handle) = Writer::spawn(&dir.path().join("a.db")).unwrap();
    let runner = Runner::start(polling_config(port, true, item), handle, 1);
    let h = runner.handle();
    let completed = |h: &dlms_logger::runner::RunnerHandle| {
        h.status().requests.get("poll").map_or(0, |r| r.completed)
    };
    for _ in 0..300 {
        if completed(&h) >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let tested = h.test_meter("m1").await.unwrap();
    assert!(tested.starts_with("associated; meter clock"), "{tested}");
    let preset = h.read_objects("m1", |_| {}).await.unwrap();
    assert!(!preset.objects.is_empty());
    let before = completed(&h);
    for _ in 0..300 {
        if completed(&h) >= before + 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(completed(&h) >= before + 2, "polling went on");
    let aarqs = h
        .trace("m1")
        .iter()
        .filter(|e| e.summary.starts_with("AARQ"))
        .count();
    assert_eq!(aarqs, 1, "one association for polls, test and object list");
    // Unknown names say what is missing.
    let e = h.test_meter("m9").await.unwrap_err().to_string();
    assert_eq!(e, "there is no meter \"m9\" in the running queue");
    let e = h.probe_connection("nowhere", "m2").await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "there is no connection \"nowhere\" in the running queue"
    );
    runner.shutdown().await;
    writer.shutdown().unwrap();
}

/// One scheduler task serves every request: each still fires on its own period, and each
/// shows its own next fire.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_scheduler_fires_each_request_on_its_own_period() {
    let port = sim_port().await;
    let cfg = config(&format!(
        r#"
[[connection]]
name = "line"
tcp = {{ host = "127.0.0.1", port = {port} }}
[[meter]]
name = "m"
connection = "line"
[[request]]
name = "fast"
meters = ["m"]
schedule = {{ every = "100ms" }}
items = [{{ name = "energy", obis = "1.0.1.8.0.255" }}]
[[request]]
name = "slow"
meters = ["m"]
schedule = {{ every = "400ms" }}
items = [{{ name = "volts", obis = "1.0.32.7.0.255" }}]
[[request]]
name = "later"
meters = ["m"]
schedule = {{ every = "1h" }}
items = [{{ name = "volts", obis = "1.0.32.7.0.255" }}]
"#
    ));
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("log.db");
    let status = run_for(cfg, &db, |s| {
        s.requests.get("slow").is_some_and(|r| r.completed >= 4)
    })
    .await;
    let (fast, slow, later) = (
        &status.requests["fast"],
        &status.requests["slow"],
        &status.requests["later"],
    );
    // 4 slow runs take at least 1.2 s (at start, then every 400 ms): 12 fast fires or more.
    assert!(fast.fired >= 3 * slow.fired, "fast {fast:?}, slow {slow:?}");
    assert!(slow.fired <= slow.completed + 2, "slow {slow:?}");
    // The hourly request fired at start and waits: its next fire is its own, an hour on.
    assert_eq!(later.fired, 1, "{later:?}");
    let (next_fast, next_later) = (fast.next_fire.unwrap(), later.next_fire.unwrap());
    assert!(
        next_later - next_fast > chrono::Duration::minutes(59),
        "{next_fast} / {next_later}"
    );
}
