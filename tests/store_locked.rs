//! A database locked longer than the writer's retries loses nothing: the runner keeps the rows
//! the store refused and writes them with the next batch, spills what is left at shutdown to
//! `<db>.unstored.jsonl`, and stores that file at the next start.

use dlms_logger::queue::Config;
use dlms_logger::runner::{parked, Runner};
use dlms_logger::sim::{self, SimConfig};
use dlms_logger::store::{RetryPolicy, Store, Writer};
use std::path::Path;
use std::time::Duration;

/// Gives up on a locked database after 100 ms (the default waits a minute).
fn impatient() -> RetryPolicy {
    RetryPolicy {
        busy_timeout: Duration::from_millis(10),
        first_delay: Duration::from_millis(20),
        max_delay: Duration::from_millis(50),
        give_up_after: Duration::from_millis(100),
    }
}

/// A request of two registers every 200 ms against a fresh simulator.
async fn config() -> Config {
    let (addrs, handle) = sim::start(SimConfig {
        port: 0,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    std::mem::forget(handle);
    Config::parse(
        &format!(
            r#"
[[connection]]
name = "lab"
tcp = {{ host = "127.0.0.1", port = {} }}
[[meter]]
name = "m1"
connection = "lab"
[[request]]
name = "regs"
meters = ["m1"]
schedule = {{ every = "200ms" }}
items = [{{ name = "energy", obis = "1.0.1.8.0.255" }}, {{ name = "volts", obis = "1.0.32.7.0.255" }}]
"#,
            addrs[0].port()
        ),
        "locked.toml",
    )
    .unwrap()
}

/// Takes the database's write lock from another connection (as a `sqlite3` shell would).
fn lock(db: &Path) -> rusqlite::Connection {
    let other = rusqlite::Connection::open(db).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    other
}

/// A logger with an impatient writer, running for 500 ms, then the database locked by another
/// connection (held until the returned connection commits).
async fn logging_then_locked(db: &Path) -> (Writer, Runner, rusqlite::Connection) {
    let (writer, handle) = Writer::spawn_with(db, impatient()).unwrap();
    let runner = Runner::start(config().await, handle, 1);
    tokio::time::sleep(Duration::from_millis(500)).await;
    (writer, runner, lock(db))
}

fn rows_in(db: &Path) -> u64 {
    Store::open(db).unwrap().counts().unwrap().0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_refused_while_the_database_is_locked_are_stored_once_it_frees_up() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("log.db");
    let (writer, runner, other) = logging_then_locked(&db).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let h = runner.handle();
    assert!(
        h.status()
            .store_error
            .is_some_and(|e| e.contains("kept in memory")),
        "the failure is reported, with where the rows are"
    );
    other.execute_batch("COMMIT").unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    runner.shutdown().await;
    let status = h.status();
    let completed = status.requests["regs"].completed;
    writer.shutdown().unwrap();
    assert!(completed >= 10, "{completed} runs");
    assert_eq!(rows_in(&db), 2 * completed, "every run's two rows");
    assert_eq!(status.rows_stored, 2 * completed, "and all reported stored");
    assert!(!parked::spill_path(&db).exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_still_refused_at_shutdown_are_spilled_and_stored_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("log.db");
    let (writer, runner, other) = logging_then_locked(&db).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let h = runner.handle();
    runner.shutdown().await;
    let completed = h.status().requests["regs"].completed;
    writer.shutdown().unwrap();
    other.execute_batch("COMMIT").unwrap();
    let (spilled, bad) = parked::read_spill(&db).unwrap();
    assert_eq!(bad, 0);
    assert!(!spilled.is_empty());
    assert_eq!(rows_in(&db) + spilled.len() as u64, 2 * completed);
    // The next start stores them (before anything else fires here: nothing is due).
    let (writer, handle) = Writer::spawn(&db).unwrap();
    let mut idle = config().await;
    idle.requests.clear();
    let runner = Runner::start(idle, handle, 1_000);
    for _ in 0..100 {
        if !parked::spill_path(&db).exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    runner.shutdown().await;
    writer.shutdown().unwrap();
    assert!(!parked::spill_path(&db).exists());
    assert_eq!(rows_in(&db), 2 * completed, "nothing lost, nothing twice");
}
