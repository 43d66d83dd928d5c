//! A full disk while logging: polling goes on, refused readings are kept in memory up to a
//! bound, then in the spill file (here on another filesystem), then counted as dropped with a
//! warning that says the spill location has no space; SIGINT still ends the logger within 5 s.
//! Needs root to mount small tmpfs filesystems (skipped otherwise, as in store_full_disk.rs).
mod common;

use common::*;
use dlms_logger::queue::Config;
use dlms_logger::runner::{parked, Runner, RunnerOptions};
use dlms_logger::sim::{self, SimConfig};
use dlms_logger::store::{Store, Writer};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A tmpfs of `size` at `dir/name`, unmounted when dropped; `None` when not root.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, name: &str, size: &str) -> Option<Tmpfs> {
        let mnt = dir.join(name);
        std::fs::create_dir(&mnt).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&mnt)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let root = std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
                s.lines()
                    .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
            });
            assert!(!root, "running as root, a tmpfs mount must work");
            eprintln!("SKIPPED: mounting a tmpfs needs root");
            return None;
        }
        Some(Tmpfs(mnt))
    }

    /// Fills the filesystem to the last byte.
    fn fill(&self) {
        let mut f = std::fs::File::create(self.0.join("filler")).unwrap();
        let chunk = vec![0u8; 4096];
        while f.write_all(&chunk).is_ok() {}
        let _ = f.write_all(&[0u8; 1]);
        let _ = f.sync_all();
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn config_text(port: u16) -> String {
    format!(
        r#"
[[connection]]
name = "lab"
tcp = {{ host = "127.0.0.1", port = {port} }}
[[meter]]
name = "m1"
connection = "lab"
[[request]]
name = "regs"
meters = ["m1"]
schedule = {{ every = "100ms" }}
items = [{{ name = "energy", obis = "1.0.1.8.0.255" }}, {{ name = "volts", obis = "1.0.32.7.0.255" }}]
"#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_goes_on_while_the_disk_is_full_then_spills_then_counts_drops() {
    let dir = tempfile::tempdir().unwrap();
    let Some(db_fs) = Tmpfs::mount(dir.path(), "db", "2m") else {
        return;
    };
    let Some(spill_fs) = Tmpfs::mount(dir.path(), "spill", "256k") else {
        return;
    };
    let (addrs, sim) = sim::start(SimConfig {
        port: 0,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let db = db_fs.0.join("log.db");
    let spill = spill_fs.0.join("unstored.jsonl");
    // The writer's own retry policy (a minute for a locked database).
    let (writer, handle) = Writer::spawn(&db).unwrap();
    let config = Config::parse(&config_text(addrs[0].port()), "full.toml").unwrap();
    let options = RunnerOptions {
        spill: Some(spill.clone()),
        max_parked_rows: 20,
        ..Default::default()
    };
    let runner = Runner::start_with(config, handle, 1, options);
    let h = runner.handle();
    tokio::time::sleep(Duration::from_millis(500)).await;
    db_fs.fill();
    let before = h.status().requests["regs"].completed;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let st = h.status();
    let polled = st.requests["regs"].completed - before;
    assert!(
        polled >= 12,
        "polling goes on while the disk is full: {polled} runs in 3 s at 100 ms"
    );
    let error = st.store_error.clone().unwrap_or_default();
    assert!(error.contains("full"), "the full disk is reported: {error}");
    let (spilled, _) = parked::read_spill_file(&spill).unwrap();
    assert!(
        spilled.len() >= 20,
        "beyond 20 rows in memory they go to the spill file: {}",
        spilled.len()
    );
    assert_eq!(
        st.rows_dropped, 0,
        "nothing dropped while the spill file has room"
    );
    // Now the spill location fills up too.
    spill_fs.fill();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let st = h.status();
    assert!(st.rows_dropped > 0, "rows that fit nowhere are counted");
    let error = st.store_error.clone().unwrap_or_default();
    assert!(
        error.contains("DROPPED")
            && error.contains("has no space left")
            && error.contains("unstored.jsonl"),
        "the spill location's lack of space is said: {error}"
    );
    let t = Instant::now();
    tokio::time::timeout(Duration::from_secs(5), runner.shutdown())
        .await
        .expect("the runner stops within 5 s while the disk is full");
    let st = h.status();
    let completed = st.requests["regs"].completed;
    let stored = Store::open(&db).map_or(0, |s| s.counts().map_or(0, |c| c.0));
    let (spilled, _) = parked::read_spill_file(&spill).unwrap();
    eprintln!(
        "stopped in {:?}: {completed} runs, {stored} stored, {} spilled, {} dropped",
        t.elapsed(),
        spilled.len(),
        st.rows_dropped
    );
    assert!(
        stored + spilled.len() as u64 + st.rows_dropped >= 2 * completed,
        "every reading is stored, spilled or counted as dropped"
    );
    drop(writer);
    sim.abort();
}

#[test]
fn sigint_ends_the_logger_within_5_s_while_the_disk_is_full() {
    let dir = tempfile::tempdir().unwrap();
    let Some(db_fs) = Tmpfs::mount(dir.path(), "db", "2m") else {
        return;
    };
    let Some(spill_fs) = Tmpfs::mount(dir.path(), "spill", "8m") else {
        return;
    };
    let (_sim, port) = start_sim(&[]);
    let config = dir.path().join("full.toml");
    std::fs::write(&config, config_text(port)).unwrap();
    let db = db_fs.0.join("log.db");
    let spill = spill_fs.0.join("elsewhere.jsonl");
    let log = dir.path().join("stderr");
    let mut run = Proc(
        bin()
            .args(["run", "-c"])
            .arg(&config)
            .arg("--db")
            .arg(&db)
            .arg("--spill")
            .arg(&spill)
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    std::thread::sleep(Duration::from_millis(800));
    db_fs.fill();
    std::thread::sleep(Duration::from_secs(3));
    assert!(run.0.try_wait().unwrap().is_none(), "still logging");
    let t = Instant::now();
    let sent = Command::new("kill")
        .args(["-INT", &run.0.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let mut ended = None;
    while t.elapsed() < Duration::from_secs(5) {
        if let Some(s) = run.0.try_wait().unwrap() {
            ended = Some(s);
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(ended.is_some(), "SIGINT not honoured within 5 s:\n{text}");
    let (spilled, _) = parked::read_spill_file(&spill).unwrap();
    assert!(
        !spilled.is_empty(),
        "the refused rows are in --spill:\n{text}"
    );
    assert!(
        text.contains("elsewhere.jsonl"),
        "the spill file is named:\n{text}"
    );
    let refusals = text.matches("rows not stored yet").count();
    assert!(
        refusals <= 2,
        "a full disk is said once, not for every run ({refusals} times):\n{text}"
    );
}
