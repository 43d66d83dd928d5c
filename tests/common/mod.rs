//! Shared helpers for end-to-end tests: child processes that die with the test, the built
//! binary, and the Gurux peers from `../shared/peers` (or `$DLMS_PEERS`).
#![allow(dead_code)]

pub mod pg;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// A child process killed when dropped.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The `dlms-logger` binary built for these tests, with a counter store of its own (the
/// user's store would remember the meters of earlier runs: a simulator's counter starts at 0
/// each time, which a shared store rightly refuses as a replay). Give `DLMS_COUNTER_DB`
/// explicitly where several commands must share one.
pub fn bin() -> Command {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let dir = DIR.get_or_init(|| tempfile::tempdir().expect("a temporary folder"));
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut c = Command::new(env!("CARGO_BIN_EXE_dlms-logger"));
    c.env(
        "DLMS_COUNTER_DB",
        dir.path().join(format!("counters-{n}.db")),
    );
    c
}

/// Runs `dlms-logger ARGS` to completion.
pub fn run(args: &[&str]) -> Output {
    let out = bin().args(args).output().expect("run dlms-logger");
    eprintln!(
        "$ dlms-logger {}\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Starts a child and waits until a stdout line starts with `prefix`; returns that line.
pub fn spawn_until(mut cmd: Command, prefix: &str) -> (Proc, String) {
    cmd.stdout(Stdio::piped()).stderr(Stdio::inherit());
    let mut child = Proc(cmd.spawn().expect("spawn"));
    let stdout = child.0.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    let prefix = prefix.to_string();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.starts_with(&prefix) {
                let _ = tx.send(line);
            }
        }
    });
    let line = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the child did not get ready within 60 s");
    (child, line)
}

/// Starts `dlms-logger simulate --port 0 ARGS`; returns the process and its port.
pub fn start_sim(args: &[&str]) -> (Proc, u16) {
    let mut cmd = bin();
    cmd.args(["simulate", "--port", "0"]).args(args);
    let (p, line) = spawn_until(cmd, "listening on ");
    let port = line.rsplit(':').next().unwrap().trim().parse().unwrap();
    (p, port)
}

/// Where the peers live.
pub fn peers_dir() -> PathBuf {
    match std::env::var_os("DLMS_PEERS") {
        Some(p) => PathBuf::from(p),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/peers"),
    }
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// The peers' Python, set up once per test process; `None` (with a message) when the peers
/// are missing outside CI. Under CI=true a missing peer fails the test.
pub fn peer_python() -> Option<PathBuf> {
    static PY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let r = PY.get_or_init(|| {
        if let Some(py) = std::env::var_os("DLMS_PEERS_PYTHON") {
            return Ok(PathBuf::from(py));
        }
        let dir = peers_dir();
        let setup = dir.join("setup.sh");
        if !setup.exists() {
            return Err(format!("no peers at {} (set DLMS_PEERS)", dir.display()));
        }
        let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/peers-venv");
        let out = Command::new("bash")
            .arg(&setup)
            .arg(&venv)
            .output()
            .map_err(|e| format!("cannot run {}: {e}", setup.display()))?;
        if !out.status.success() {
            return Err(format!(
                "{} failed: {}",
                setup.display(),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let py = String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .unwrap_or_default()
            .to_string();
        Ok(PathBuf::from(py))
    });
    match r {
        Ok(p) => Some(p.clone()),
        Err(e) if in_ci() => panic!("Gurux peers are required under CI=true: {e}"),
        Err(e) => {
            eprintln!("SKIPPED: Gurux peers not available: {e}");
            None
        }
    }
}

/// Starts the Gurux meter (`meter.py --port 0 ARGS`); returns the process and its port.
pub fn start_gurux_meter(py: &PathBuf, args: &[&str]) -> (Proc, u16) {
    let mut cmd = Command::new(py);
    cmd.arg("-u")
        .arg(peers_dir().join("meter.py"))
        .args(["--port", "0"])
        .args(args);
    let (p, line) = spawn_until(cmd, "READY ");
    let port = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("port="))
        .and_then(|p| p.parse().ok())
        .expect("port in READY line");
    (p, port)
}

/// Runs the Gurux client (`client.py --port PORT ARGS`) to completion.
pub fn gurux_client(py: &PathBuf, port: u16, args: &[&str]) -> Output {
    let started = Instant::now();
    let out = Command::new(py)
        .arg(peers_dir().join("client.py"))
        .args(["--port", &port.to_string()])
        .args(args)
        .output()
        .expect("run client.py");
    eprintln!(
        "$ client.py --port {port} {} ({:?})\n{}{}",
        args.join(" "),
        started.elapsed(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Parses `--json` output lines.
pub fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

/// Runs the Gurux client's SET/ACTION tool (`write_demo.py --port PORT ARGS`) to completion.
pub fn gurux_write_demo(py: &PathBuf, port: u16, args: &[&str]) -> Output {
    let started = Instant::now();
    let out = Command::new(py)
        .arg(peers_dir().join("write_demo.py"))
        .args(["--port", &port.to_string()])
        .args(args)
        .current_dir(peers_dir())
        .output()
        .expect("run write_demo.py");
    eprintln!(
        "$ write_demo.py --port {port} {} ({:?})\n{}{}",
        args.join(" "),
        started.elapsed(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}
