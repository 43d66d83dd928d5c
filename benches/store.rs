//! Store throughput and query latency on a large log.
//!
//! Run with `cargo bench --bench store`. Two parts:
//!
//! * `insert_batch`: batches of 5,000 readings (10 polls of 100 meters × 5 items, 500
//!   series) into a file database in a temp dir, with the store's default durability (WAL,
//!   `synchronous=FULL`: one fsync per commit); `Throughput::Elements`, so criterion prints
//!   rows/s. This is the headline figure; target ≥ 300,000 rows/s. 5,000 rows is a
//!   realistic transaction: under load the writer's group commit joins queued batches into
//!   transactions of up to 20,000 rows (src/store/writer.rs), and a single poll of 100
//!   meters is 500 rows. The same at 1,000 and 20,000 rows per batch shows how the cost per
//!   commit (fsync, the index pages every commit rewrites) is spread. Each iteration writes
//!   the next polls, so the database grows as a real log does.
//! * Queries on a 10,000,000-row log (100 meters × 5 items, one poll of all 500 series per
//!   minute, 0.1 % failures): `latest_per_item()`, one `log_page` 9,000,000 rows deep
//!   (keyset cursor), and one page filtered by a meter at the same depth. Target ≤ 10 ms each.
//!
//! The 10M-row database is built once, outside any measurement, in batches of 50,000 rows
//! through `Store::insert_batch`, and cached at `<target dir>/bench-10m.db` (the target dir
//! is `$CARGO_TARGET_DIR`, else `target/` of the package). A later run reuses the file if
//! its row count (the per-series counters) is exactly 10,000,000, and rebuilds it otherwise;
//! delete the file to force a rebuild. `BENCH_STORE_ROWS=<n>` (a multiple of 50,000) uses a
//! smaller or larger log, cached as `bench-<n>.db`, with the depth scaled to 90 %.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Instant;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use dlms_logger::store::Scan;
use dlms_logger::store::{Cursor, LogFilter, Record, Store, STATUS_OK};

/// Meters and items per meter: 500 series.
const METERS: usize = 100;
const ITEMS: [(&str, &str, &str); 5] = [
    ("energy_import", "1.0.1.8.0.255", "kWh"),
    ("energy_export", "1.0.2.8.0.255", "kWh"),
    ("power", "1.0.1.7.0.255", "W"),
    ("voltage_l1", "1.0.32.7.0.255", "V"),
    ("current_l1", "1.0.31.7.0.255", "A"),
];
const SERIES: usize = METERS * ITEMS.len();

/// Rows of the large log, unless `BENCH_STORE_ROWS` says otherwise.
const BIG_ROWS: u64 = 10_000_000;
/// Rows per transaction when building the large log.
const BUILD_BATCH: usize = 50_000;
/// Rows per transaction in the insert benchmark: the headline size first.
const INSERT_BATCHES: [usize; 3] = [5_000, 1_000, 20_000];

/// One minute between polls; the log starts on 2024-01-01.
const POLL_MS: i64 = 60_000;
const START_MS: i64 = 1_704_067_200_000;

fn meter_name(m: usize) -> String {
    format!("meter-{m:03}")
}

/// Row `n` of the synthetic log: poll `n / 500` of series `n % 500`.
fn reading(n: u64, meters: &[String]) -> Record {
    let poll = (n / SERIES as u64) as i64;
    let series = (n % SERIES as u64) as usize;
    let (item, obis, unit) = ITEMS[series % ITEMS.len()];
    let failed = n % 1_000 == 999;
    Record {
        ts_ms: START_MS + poll * POLL_MS,
        request: "billing".into(),
        meter: meters[series / ITEMS.len()].clone(),
        item: item.into(),
        obis: obis.into(),
        class: 3,
        attribute: 2,
        value: (!failed).then_some(n as f64 * 0.25),
        text: None,
        unit: (!failed).then(|| unit.into()),
        status: if failed {
            "no response from meter after 3 tries".into()
        } else {
            STATUS_OK.into()
        },
        poll: poll + 1,
        profile: false,
        exact: None,
        meter_time: None,
    }
}

fn batch(first: u64, len: usize, meters: &[String]) -> Vec<Record> {
    (first..first + len as u64)
        .map(|n| reading(n, meters))
        .collect()
}

fn meters() -> Vec<String> {
    (0..METERS).map(meter_name).collect()
}

fn insert(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let meters = meters();
    let mut group = c.benchmark_group("store_insert");
    for size in INSERT_BATCHES {
        let mut store = Store::open(&dir.path().join(format!("insert-{size}.db"))).unwrap();
        // Consecutive batches continue the log (later polls), as the writer's would.
        let mut next = 0;
        group.throughput(Throughput::Elements(size as u64));
        group.bench_function(format!("insert_batch_{size}_rows_file_db"), |b| {
            b.iter_batched(
                || {
                    let rows = batch(next, size, &meters);
                    next += size as u64;
                    rows
                },
                |rows| assert_eq!(store.insert_batch(black_box(&rows)).unwrap(), size),
                BatchSize::LargeInput,
            )
        });
        let (count, _) = store.counts().unwrap();
        eprintln!("store_insert: {count} rows in the {size}-row-batch file DB after the benchmark");
    }
    group.finish();
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
}

fn big_rows() -> u64 {
    std::env::var("BENCH_STORE_ROWS")
        .ok()
        .map(|s| s.parse().expect("BENCH_STORE_ROWS must be a row count"))
        .unwrap_or(BIG_ROWS)
}

/// Size of the database file plus its WAL, in bytes.
fn db_size(path: &Path) -> u64 {
    let wal = PathBuf::from(format!("{}-wal", path.display()));
    [path, wal.as_path()]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

/// The cached large log: reused if it holds exactly `rows` rows, built otherwise.
fn big_db(rows: u64) -> PathBuf {
    let name = if rows == BIG_ROWS {
        "bench-10m.db".to_owned()
    } else {
        format!("bench-{rows}.db")
    };
    let dir = target_dir();
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    if path.exists() {
        let count = Store::open(&path).and_then(|s| s.counts()).map(|(n, _)| n);
        if matches!(count, Ok(n) if n == rows) {
            eprintln!(
                "reusing {} ({rows} rows, {:.0} MiB)",
                path.display(),
                db_size(&path) as f64 / (1 << 20) as f64
            );
            return path;
        }
        eprintln!(
            "{} holds {count:?} rows, not {rows}: rebuilding",
            path.display()
        );
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }
    assert_eq!(
        rows % BUILD_BATCH as u64,
        0,
        "row count must be a multiple of {BUILD_BATCH}"
    );
    eprintln!("building {} with {rows} rows…", path.display());
    let meters = meters();
    let started = Instant::now();
    let mut store = Store::open(&path).unwrap();
    let mut first = 0;
    while first < rows {
        let rows = batch(first, BUILD_BATCH, &meters);
        assert_eq!(store.insert_batch(&rows).unwrap(), BUILD_BATCH);
        first += BUILD_BATCH as u64;
        if first % 1_000_000 == 0 {
            eprintln!(
                "  {first} rows after {:.1} s",
                started.elapsed().as_secs_f64()
            );
        }
    }
    store.close().unwrap();
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "built {rows} rows in {secs:.1} s ({:.0} rows/s), {:.0} MiB",
        rows as f64 / secs,
        db_size(&path) as f64 / (1 << 20) as f64
    );
    path
}

/// The keyset cursor of the `depth`-th row (1-based) of the newest-first log, optionally of
/// one meter, by a direct query on the `reading` table.
fn cursor_at(path: &Path, depth: u64, meter: Option<&str>) -> Cursor {
    let conn = rusqlite::Connection::open(path).unwrap();
    let (ts_ms, id) = match meter {
        None => conn.query_row(
            "SELECT ts, id FROM reading ORDER BY ts DESC, id DESC LIMIT 1 OFFSET ?1",
            [depth as i64 - 1],
            |r| Ok((r.get(0)?, r.get(1)?)),
        ),
        Some(meter) => conn.query_row(
            "SELECT r.ts, r.id FROM reading AS r JOIN series AS s ON s.id = r.series \
             WHERE s.meter = ?1 ORDER BY r.ts DESC, r.id DESC LIMIT 1 OFFSET ?2",
            rusqlite::params![meter, depth as i64 - 1],
            |r| Ok((r.get(0)?, r.get(1)?)),
        ),
    }
    .unwrap();
    Cursor { ts_ms, id }
}

fn queries(c: &mut Criterion) {
    let rows = big_rows();
    let path = big_db(rows);
    let depth = rows / 10 * 9;
    let meter = meter_name(42);
    let meter_depth = depth / METERS as u64;
    let deep = cursor_at(&path, depth, None);
    let meter_deep = cursor_at(&path, meter_depth, Some(&meter));
    let store = Store::open(&path).unwrap();
    let all = LogFilter::default();
    let by_meter = LogFilter {
        meter: Some(meter.clone()),
        ..LogFilter::default()
    };
    // The pages are what the cursor promises: 50 rows strictly older than it.
    let page = store.log_page(&all, Some(deep), 50).unwrap();
    assert_eq!(page.len(), 50);
    assert!(page[0].cursor().ts_ms <= deep.ts_ms && page[0].id != deep.id);
    let page = store.log_page(&by_meter, Some(meter_deep), 50).unwrap();
    assert_eq!(page.len(), 50);
    assert!(page.iter().all(|r| r.record.meter == meter));
    assert_eq!(store.latest_per_item().unwrap().len(), SERIES);

    let mut group = c.benchmark_group(format!("store_{rows}_rows"));
    group.bench_function("latest_per_item", |b| {
        b.iter(|| store.latest_per_item().unwrap())
    });
    group.bench_function("log_page_first_50", |b| {
        b.iter(|| store.log_page(black_box(&all), None, 50).unwrap())
    });
    group.bench_function(format!("log_page_50_at_depth_{depth}"), |b| {
        b.iter(|| store.log_page(black_box(&all), Some(deep), 50).unwrap())
    });
    group.bench_function(
        format!("log_page_50_one_meter_at_depth_{meter_depth}_of_meter"),
        |b| {
            b.iter(|| {
                store
                    .log_page(black_box(&by_meter), Some(meter_deep), 50)
                    .unwrap()
            })
        },
    );
    group.finish();
}

criterion_group!(benches, insert, queries);
criterion_main!(benches);
