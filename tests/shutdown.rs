//! Faults that never spin and shutdowns that end: a serial line whose far end goes away
//! (pty closed, adapter unplugged) is reopened with a backoff and said once, not in a hot
//! loop; SIGTERM ends the simulator and the logger within 2 s; the shutdown summary counts
//! the runs that finish after "stopping".
mod common;

use common::*;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};
use tokio_serial::{SerialPort, SerialStream};

/// Sends SIGTERM (or another signal) to a child, by its pid.
fn signal(child: &Child, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
}

/// Waits for a child to end; `None` if it is still running after `limit`.
fn ends_within(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let t = Instant::now();
    while t.elapsed() < limit {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// Starts `dlms-logger ARGS` with stderr to `log`; waits for a stdout line starting with `ready`.
fn start(args: &[&str], log: &Path, ready: &str) -> Proc {
    let mut cmd = bin();
    cmd.args(args)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap());
    let mut p = Proc(cmd.spawn().unwrap());
    if ready.is_empty() {
        return p;
    }
    let out = p.0.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let ready = ready.to_string();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if line.starts_with(&ready) {
                let _ = tx.send(());
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(30)).expect("ready");
    p
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// A pty pair: the master (kept by the test) and the slave's path (for the child to open).
fn pty() -> (SerialStream, String, tokio::runtime::Runtime) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (master, slave) = rt.block_on(async { SerialStream::pair() }).unwrap();
    // Not inherited by the child: the test alone holds the far end, and closes it.
    use std::os::fd::AsRawFd;
    nix::fcntl::fcntl(
        master.as_raw_fd(),
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
    )
    .unwrap();
    let path = slave.name().unwrap();
    drop(slave);
    (master, path, rt)
}

/// Reads the energy register over `master` (the simulator serves the other end); true if it answered.
fn reads(rt: &tokio::runtime::Runtime, master: SerialStream) -> bool {
    use dlms_logger::dlms::client::{AttributeRef, ClientSettings, Referencing};
    use dlms_logger::engine::{Interface, MeterAddress, Session};
    rt.block_on(async {
        let addr = MeterAddress {
            interface: Interface::Hdlc,
            ..MeterAddress::default()
        };
        let Ok(mut s) = Session::open(
            master,
            &addr,
            ClientSettings::new(Referencing::Ln),
            Duration::from_secs(3),
            None,
        )
        .await
        else {
            return false;
        };
        let r = s
            .read(&[AttributeRef::new(3, "1.0.1.8.0.255".parse().unwrap(), 2)])
            .await;
        r.is_ok_and(|r| r[0].is_ok())
    })
}

#[test]
fn simulate_on_a_closed_pty_neither_spins_nor_ignores_sigterm() {
    for iec in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("stderr");
        let (master, path, _rt) = pty();
        // Through a link of its own, removed at the unplug: a closed pty's number is soon
        // reused by another test's.
        let link = dir.path().join("ttyUSB0");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        let mut args = vec!["simulate", "--serial", link.to_str().unwrap(), "--hdlc"];
        if iec {
            args.push("--iec");
        }
        let mut sim = start(&args, &log, "listening on serial");
        std::thread::sleep(Duration::from_millis(300));
        // The far end goes away, as when a USB adapter is unplugged.
        drop(master);
        std::fs::remove_file(&link).unwrap();
        std::thread::sleep(Duration::from_secs(3));
        let bytes = size(&log);
        let text = std::fs::read_to_string(&log).unwrap();
        assert!(
            bytes < 2000,
            "iec {iec}: {bytes} bytes of stderr in 3 s:\n{}",
            &text[..text.len().min(2000)]
        );
        assert!(
            text.contains("went away") || text.contains("closed"),
            "iec {iec}: the loss is said: {text}"
        );
        assert!(
            sim.0.try_wait().unwrap().is_none(),
            "iec {iec}: it keeps waiting for the device to come back"
        );
        let t = Instant::now();
        signal(&sim.0, "-TERM");
        let status = ends_within(&mut sim.0, Duration::from_secs(2));
        assert!(status.is_some(), "iec {iec}: SIGTERM ignored");
        eprintln!("iec {iec}: ended {:?} after SIGTERM", t.elapsed());
    }
}

#[test]
fn simulate_reopens_a_serial_device_that_comes_back() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("stderr");
    let link = dir.path().join("ttyUSB0");
    let (master, path, rt) = pty();
    std::os::unix::fs::symlink(&path, &link).unwrap();
    let mut sim = start(
        &["simulate", "--serial", link.to_str().unwrap(), "--hdlc"],
        &log,
        "listening on serial",
    );
    assert!(reads(&rt, master), "served before the unplug");
    // Unplugged (the master is gone with the session), then plugged in again as a new device.
    std::fs::remove_file(&link).unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    let (master, path2, rt2) = pty();
    std::os::unix::fs::symlink(&path2, &link).unwrap();
    // The backoff is at most 5 s.
    std::thread::sleep(Duration::from_secs(6));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        reads(&rt2, master),
        "served again after the device came back:\n{text}"
    );
    assert!(text.contains("open again"), "{text}");
    signal(&sim.0, "-TERM");
    assert!(ends_within(&mut sim.0, Duration::from_secs(2)).is_some());
}

/// A config polling one meter on a serial device every 200 ms, with `retries`.
fn serial_config(dir: &Path, dev: &str, retries: u32) -> std::path::PathBuf {
    let path = dir.join("serial.toml");
    std::fs::write(
        &path,
        format!(
            r#"
[[connection]]
name = "line"
serial = {{ port = "{dev}", baud = 9600 }}
[[meter]]
name = "m1"
connection = "line"
interface = "hdlc"
timeout_ms = 1000
retries = {retries}
[[request]]
name = "regs"
meters = ["m1"]
schedule = {{ every = "200ms" }}
timeout_ms = 10000
items = [{{ name = "energy", obis = "1.0.1.8.0.255" }}]
"#
        ),
    )
    .unwrap();
    path
}

/// Starts `dlms-logger run` on a serial device that is gone (an adapter unplugged; a path of
/// its own, as a closed pty's number is soon reused by another), with `retries`.
fn run_on_a_gone_port(dir: &Path, retries: u32) -> (Proc, std::path::PathBuf) {
    let log = dir.join(format!("stderr-{retries}"));
    let gone = dir.join("ttyUSB0");
    let config = serial_config(dir, gone.to_str().unwrap(), retries);
    let db = dir.join(format!("log-{retries}.db"));
    let run = start(
        &[
            "run",
            "-c",
            config.to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
        ],
        &log,
        "",
    );
    (run, log)
}

#[test]
fn run_on_a_serial_port_that_went_away_says_so_once() {
    let dir = tempfile::tempdir().unwrap();
    // Every 200 ms a run fails at once (no retries): 20 failures in 4 s, said once.
    let (mut run, log) = run_on_a_gone_port(dir.path(), 0);
    std::thread::sleep(Duration::from_secs(4));
    let text = std::fs::read_to_string(&log).unwrap();
    let warnings = text
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("m1"))
        .count();
    assert_eq!(
        warnings, 1,
        "the failure is said once, not every 200 ms:\n{text}"
    );
    let stored = text.matches("stored 1 rows").count();
    assert!(
        stored >= 5,
        "its failures are still stored each time:\n{text}"
    );
    signal(&run.0, "-TERM");
    assert!(ends_within(&mut run.0, Duration::from_secs(2)).is_some());
}

#[test]
fn run_on_a_serial_port_that_went_away_ends_on_sigterm_within_2_s() {
    let dir = tempfile::tempdir().unwrap();
    // With 5 retries a run waits 0.2 + 0.4 + 0.8 + 1.6 + 3.2 s between its tries.
    let (mut run, log) = run_on_a_gone_port(dir.path(), 5);
    std::thread::sleep(Duration::from_millis(1500));
    let t = Instant::now();
    signal(&run.0, "-TERM");
    let status = ends_within(&mut run.0, Duration::from_secs(2));
    assert!(
        status.is_some(),
        "SIGTERM not honoured within 2 s:\n{}",
        std::fs::read_to_string(&log).unwrap()
    );
    eprintln!("ended {:?} after SIGTERM", t.elapsed());
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("stopped:"), "{text}");
}

#[test]
fn the_shutdown_summary_counts_runs_that_finish_after_stopping() {
    let dir = tempfile::tempdir().unwrap();
    // Each answer takes 300 ms: a run (associate, read, release) takes about a second.
    let (_sim, port) = start_sim(&["--fault", "slow=300"]);
    let config = dir.path().join("slow.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[[connection]]
name = "lab"
tcp = {{ host = "127.0.0.1", port = {port}, persistent = false }}
[[meter]]
name = "m1"
connection = "lab"
timeout_ms = 3000
[[request]]
name = "regs"
meters = ["m1"]
schedule = {{ every = "1h" }}
items = [{{ name = "energy", obis = "1.0.1.8.0.255" }}, {{ name = "volts", obis = "1.0.32.7.0.255" }}]
"#
        ),
    )
    .unwrap();
    let db = dir.path().join("log.db");
    let log = dir.path().join("stderr");
    let mut run = start(
        &[
            "run",
            "-c",
            config.to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
        ],
        &log,
        "",
    );
    // The first run fires at the start: stop in the middle of it.
    std::thread::sleep(Duration::from_millis(500));
    signal(&run.0, "-INT");
    assert!(ends_within(&mut run.0, Duration::from_secs(5)).is_some());
    let text = std::fs::read_to_string(&log).unwrap();
    let stopping = text.find("stopping").expect("stopping is said");
    assert!(
        text[stopping..].contains("stored 2 rows of request regs"),
        "the run finished after stopping:\n{text}"
    );
    let stored = dlms_logger::store::Store::open(&db)
        .unwrap()
        .counts()
        .unwrap()
        .0;
    assert_eq!(stored, 2);
    assert!(
        text.contains("stopped: 2 rows stored (0 failures)"),
        "the summary counts it:\n{text}"
    );
}
