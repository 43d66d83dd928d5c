//! A burst of batches larger than the writer's queue (a fleet's runs all ending together)
//! waits in tasks, not in threads: before, every batch beyond the queue's 1,024 places took
//! a blocking thread, and 10,000 meters started 200 of them at each period's end.

use dlms_logger::store::{Record, RetryPolicy, Store, Writer};
use std::time::Duration;

/// A reading of register `k` of meter `i`.
fn reading(i: i64, k: u8) -> Record {
    Record {
        ts_ms: 1_000 + i,
        request: "burst".into(),
        meter: format!("m{i}"),
        item: format!("r{k}"),
        obis: format!("1.0.{k}.8.0.255"),
        class: 3,
        attribute: 2,
        value: Some(f64::from(k)),
        text: None,
        unit: Some("Wh".into()),
        status: dlms_logger::store::STATUS_OK.into(),
        poll: i,
        profile: false,
        exact: None,
        meter_time: None,
    }
}

/// Threads of this process (the test binary runs only this test).
fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(0, |d| d.count())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_beyond_the_queue_waits_without_threads_and_is_all_stored() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("log.db");
    let (writer, handle) = Writer::spawn_with(
        &db,
        RetryPolicy {
            busy_timeout: Duration::from_millis(50),
            ..RetryPolicy::default()
        },
    )
    .unwrap();
    // Another connection holds the write lock: the writer stalls on the first batch.
    let other = rusqlite::Connection::open(&db).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let before = threads();
    let batches: i64 = 3000;
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..batches {
        let h = handle.clone();
        tasks.spawn(async move {
            let rows = (0..5).map(|k| reading(i, k)).collect();
            h.store(rows).await
        });
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let during = threads();
    assert!(
        during <= before + 8,
        "{batches} batches waiting for a stalled writer started {} threads",
        during - before
    );
    other.execute_batch("COMMIT").unwrap();
    drop(other);
    let mut stored = 0;
    while let Some(r) = tasks.join_next().await {
        stored += r
            .unwrap()
            .expect("the batch is stored once the lock is gone");
    }
    assert_eq!(stored, batches as usize * 5);
    writer.shutdown().unwrap();
    assert_eq!(Store::open(&db).unwrap().counts().unwrap().0, stored as u64);
}
