//! A full disk: the store's writer retries, then reports the failure (never drops rows
//! silently), and recovers when space comes back. Needs root to mount a tiny tmpfs.

use dlms_logger::store::{Record, RetryPolicy, Store, Writer};
use std::process::Command;
use std::time::Duration;

fn reading(i: i64) -> Record {
    Record {
        ts_ms: 1_700_000_000_000 + i,
        request: "r".into(),
        meter: "m1".into(),
        item: format!("item {}", i % 7),
        obis: "1.0.1.8.0.255".into(),
        class: 3,
        attribute: 2,
        value: Some(i as f64),
        text: Some("x".repeat(200)),
        unit: Some("Wh".into()),
        status: "ok".into(),
        poll: i,
        profile: false,
        exact: None,
        meter_time: None,
    }
}

#[test]
fn a_full_disk_is_reported_never_silent_and_the_writer_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let mnt = dir.path().join("tiny");
    std::fs::create_dir(&mnt).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=512k", "tmpfs"])
        .arg(&mnt)
        .status();
    if !mounted.is_ok_and(|s| s.success()) {
        let root = std::fs::read_to_string("/proc/self/status")
            .map(|s| {
                s.lines()
                    .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
            })
            .unwrap_or(false);
        assert!(!root, "running as root, a tmpfs mount must work");
        eprintln!("SKIPPED: mounting a tmpfs needs root");
        return;
    }
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _guard = Unmount(mnt.clone());
    let db = mnt.join("log.db");
    let policy = RetryPolicy {
        busy_timeout: Duration::from_millis(100),
        first_delay: Duration::from_millis(50),
        max_delay: Duration::from_millis(200),
        give_up_after: Duration::from_millis(600),
    };
    let (writer, handle) = Writer::spawn_with(&db, policy).unwrap();
    let mut reported = 0usize;
    let mut failure = None;
    for batch in 0..200i64 {
        let rows: Vec<Record> = (0..50).map(|i| reading(batch * 50 + i)).collect();
        match handle.write(rows) {
            Ok(n) => reported += n,
            Err(e) => {
                failure = Some(e.to_string());
                break;
            }
        }
    }
    let failure = failure.expect("the disk filled up");
    assert!(
        failure.contains("full") || failure.contains("disk"),
        "{failure}"
    );
    assert!(
        failure.contains("log.db"),
        "the error names the database: {failure}"
    );
    // Space comes back: the same writer stores again.
    writer.shutdown().unwrap();
    let _ = Command::new("mount")
        .args(["-o", "remount,size=8m"])
        .arg(&mnt)
        .status();
    let (writer, handle) = Writer::spawn_with(&db, policy).unwrap();
    reported += handle
        .write((0..50).map(|i| reading(1_000_000 + i)).collect())
        .unwrap();
    writer.shutdown().unwrap();
    let (stored, _) = Store::open(&db).unwrap().counts().unwrap();
    assert_eq!(
        stored as usize, reported,
        "every row reported stored is there; none other"
    );
}
