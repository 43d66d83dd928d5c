//! Rows per second batched into PostgreSQL, and into SQLite for comparison, in one run.
//!
//! ```text
//! eval "$(scripts/test-postgres.sh)"        # a throwaway server (or give any URL below)
//! cargo run --release --example pg_insert -- [--rows N] [--batch N] [URL]
//! eval "$DLMS_TEST_PG_STOP"
//! ```
//!
//! URL defaults to `$DLMS_TEST_PG`; the example creates a fresh database `pg_insert_bench_<pid>`
//! on that server and drops it at the end. Rows are a fleet's polls: 100 meters × 5 items (500
//! series), one poll per minute, 1 failure in 1,000. Two paths are measured on each backend:
//!
//! * `insert_batch`: transactions of `--batch` rows (default 20,000, the writer's largest group
//!   commit), straight into the store: PostgreSQL by binary COPY, SQLite by prepared inserts
//!   (WAL, synchronous=FULL).
//! * `writer`: the logger's path: polls of 500 rows submitted to the writer thread, which joins
//!   what is queued into group commits; timed until the last batch is committed.

use std::time::Instant;

use dlms_logger::store::{Database, Record, RetryPolicy, StoreLocation, Writer, STATUS_OK};

const METERS: usize = 100;
const ITEMS: [(&str, &str, &str); 5] = [
    ("energy_import", "1.0.1.8.0.255", "kWh"),
    ("energy_export", "1.0.2.8.0.255", "kWh"),
    ("power", "1.0.1.7.0.255", "W"),
    ("voltage_l1", "1.0.32.7.0.255", "V"),
    ("current_l1", "1.0.31.7.0.255", "A"),
];
const SERIES: usize = METERS * ITEMS.len();
const POLL_MS: i64 = 60_000;
const START_MS: i64 = 1_764_547_200_000; // 2025-12-01

/// Row `n`: poll `n / 500` of series `n % 500`.
fn reading(n: u64, meters: &[String]) -> Record {
    let poll = (n / SERIES as u64) as i64;
    let series = (n % SERIES as u64) as usize;
    let (item, obis, unit) = ITEMS[series % ITEMS.len()];
    let failed = n % 1000 == 999;
    Record {
        ts_ms: START_MS + poll * POLL_MS,
        request: "fleet".into(),
        meter: meters[series / ITEMS.len()].clone(),
        item: item.into(),
        obis: obis.into(),
        class: 3,
        attribute: 2,
        value: (!failed).then_some(1000.0 + n as f64 * 0.001),
        text: None,
        unit: (!failed).then(|| unit.into()),
        status: if failed {
            "no response from the meter after 3 tries".into()
        } else {
            STATUS_OK.into()
        },
        poll: poll + 1,
        profile: false,
        exact: None,
        meter_time: None,
    }
}

/// Creates (or recreates) database `name` on the server of `url`; returns its URL.
fn fresh_database(url: &str, name: &str, drop_only: bool) -> String {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("the PostgreSQL server does not answer: {e}"));
        let task = tokio::spawn(conn);
        client
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
            .await
            .unwrap();
        if !drop_only {
            client
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .await
                .unwrap();
        }
        drop(client);
        let _ = task.await;
    });
    let base = url.rsplit_once('/').map_or(url, |(b, _)| b);
    format!("{base}/{name}")
}

/// Inserts `rows` rows in transactions of `batch`; returns rows/s.
fn insert_batches(at: &StoreLocation, rows: u64, batch: usize, meters: &[String]) -> f64 {
    let mut store = Database::open(at).unwrap();
    let all: Vec<Record> = (0..rows).map(|n| reading(n, meters)).collect();
    let started = Instant::now();
    for chunk in all.chunks(batch) {
        assert_eq!(store.insert_batch(chunk).unwrap(), chunk.len());
    }
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(store.counts().unwrap().0, rows);
    store.close().unwrap();
    rows as f64 / secs
}

/// Submits `rows` rows as polls of 500 to the writer thread; returns rows/s until all are committed.
fn through_writer(at: &StoreLocation, rows: u64, meters: &[String]) -> f64 {
    let (writer, handle) = Writer::spawn_at(at, RetryPolicy::default()).unwrap();
    let polls: Vec<Vec<Record>> = (0..rows)
        .map(|n| reading(n, meters))
        .collect::<Vec<_>>()
        .chunks(SERIES)
        .map(<[Record]>::to_vec)
        .collect();
    let started = Instant::now();
    // Submitting blocks only while the writer's queue is full; waiting on a thread of its own
    // keeps the queue fed, as the runner's many workers do.
    let pending: Vec<_> = polls
        .into_iter()
        .map(|p| handle.submit(p).unwrap())
        .collect();
    let stored: usize = pending.into_iter().map(|p| p.wait().unwrap()).sum();
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(stored as u64, rows);
    writer.shutdown().unwrap();
    rows as f64 / secs
}

fn main() {
    let mut rows: u64 = 1_000_000;
    let mut batch: usize = 20_000;
    let mut url = std::env::var("DLMS_TEST_PG").ok();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--rows" => rows = args.next().and_then(|v| v.parse().ok()).expect("--rows N"),
            "--batch" => batch = args.next().and_then(|v| v.parse().ok()).expect("--batch N"),
            other => url = Some(other.to_string()),
        }
    }
    let Some(url) = url else {
        eprintln!(
            "no PostgreSQL: give its URL, or start one with `eval \"$(scripts/test-postgres.sh)\"`"
        );
        std::process::exit(2);
    };
    let meters: Vec<String> = (0..METERS).map(|m| format!("meter-{m:03}")).collect();
    let name = format!("pg_insert_bench_{}", std::process::id());
    let dir = tempfile::tempdir().unwrap();
    let mut results = Vec::new();
    for path in ["insert_batch", "writer"] {
        let pg = StoreLocation::parse(&fresh_database(&url, &name, false)).unwrap();
        let sqlite = StoreLocation::Sqlite(dir.path().join(format!("{path}.db")));
        for (backend, at) in [("PostgreSQL", &pg), ("SQLite", &sqlite)] {
            let rate = match path {
                "insert_batch" => insert_batches(at, rows, batch, &meters),
                _ => through_writer(at, rows, &meters),
            };
            println!(
                "{backend:<10} {path:<12} {rows} rows ({}): {:>9.0} rows/s",
                if path == "writer" {
                    "polls of 500".to_string()
                } else {
                    format!("batches of {batch}")
                },
                rate
            );
            results.push((backend, path, rate));
        }
    }
    fresh_database(&url, &name, true);
    let pg_best = results
        .iter()
        .filter(|r| r.0 == "PostgreSQL")
        .map(|r| r.2)
        .fold(0.0, f64::max);
    println!(
        "PostgreSQL target 100,000 rows/s batched: {}",
        if pg_best >= 100_000.0 {
            "met"
        } else {
            "NOT met"
        }
    );
}
