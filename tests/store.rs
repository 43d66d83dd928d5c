//! The store's behaviour, run on both backends: an SQLite file and a fresh PostgreSQL database
//! (`DLMS_TEST_PG`, see tests/common/pg.rs; without it locally only SQLite runs, with a
//! message saying how to start a server; under CI=true a missing server fails).

mod common;

use std::time::{Duration, Instant};

use dlms_logger::store::Scan;
use dlms_logger::store::{
    spawn_reader_at, Database, ExportFormat, LogFilter, Record, RetryPolicy, Row, StatusFilter,
    StoreError, StoreLocation, WriteOutcome, WriteRecord, Writer, STATUS_OK,
};

/// One backend to run a test on.
struct Backend {
    name: &'static str,
    at: StoreLocation,
    _dir: Option<tempfile::TempDir>,
}

/// Runs `f` on a fresh current-thread runtime (the PostgreSQL helpers are async).
fn block<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// A fresh SQLite file, and a fresh PostgreSQL database when a server is there.
fn backends(label: &str) -> Vec<Backend> {
    let dir = tempfile::tempdir().unwrap();
    let mut all = vec![Backend {
        name: "SQLite",
        at: StoreLocation::Sqlite(dir.path().join("log.db")),
        _dir: Some(dir),
    }];
    if let Some(url) = block(common::pg::fresh_database(label)) {
        all.push(Backend {
            name: "PostgreSQL",
            at: StoreLocation::parse(&url).unwrap(),
            _dir: None,
        });
    }
    all
}

/// Runs SQL on a PostgreSQL test database directly (as another program would).
fn pg_exec(at: &StoreLocation, sql: &str) {
    let url = pg_url(at);
    block(async move {
        let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap();
        let task = tokio::spawn(conn);
        client.batch_execute(sql).await.unwrap();
        drop(client);
        let _ = task.await;
    });
}

/// The URL of a test database (test URLs carry no password, so the shown form is the URL).
fn pg_url(at: &StoreLocation) -> String {
    at.to_string()
}

const METERS: [&str; 5] = ["m1", "m2", "m3", "m4", "m5"];
const ITEMS: [&str; 10] = ["i0", "i1", "i2", "i3", "i4", "i5", "i6", "i7", "i8", "i9"];
const ROWS: usize = 50_000;
const BATCH: usize = 500;

/// Row `n`: a poll of every item of every meter shares one timestamp; every 7th row failed.
fn reading(n: usize) -> Record {
    let item = n % ITEMS.len();
    let meter = (n / ITEMS.len()) % METERS.len();
    let failed = n.is_multiple_of(7);
    Record {
        ts_ms: 1_700_000_000_000 + (n / (ITEMS.len() * METERS.len())) as i64 * 60_000,
        request: "billing".into(),
        meter: METERS[meter].into(),
        item: ITEMS[item].into(),
        obis: format!("1.0.{item}.8.0.255"),
        class: 3,
        attribute: 2,
        value: (!failed).then_some(n as f64),
        text: None,
        unit: (!failed).then(|| "kWh".into()),
        status: if failed {
            "timeout".into()
        } else {
            STATUS_OK.into()
        },
        poll: (n / (ITEMS.len() * METERS.len())) as i64,
        profile: false,
        exact: None,
        meter_time: None,
    }
}

/// A successful energy reading of `meter`'s `item` (OBIS derived from the item name).
fn ok(meter: &str, item: &str, ts_ms: i64, value: f64) -> Record {
    Record {
        ts_ms,
        request: "billing".into(),
        meter: meter.into(),
        item: item.into(),
        obis: format!("1.0.{}.8.0.255", item.len()),
        class: 3,
        attribute: 2,
        value: Some(value),
        text: None,
        unit: Some("kWh".into()),
        status: STATUS_OK.into(),
        poll: 1,
        profile: false,
        exact: None,
        meter_time: None,
    }
}

/// A failed read of `meter`'s `item`.
fn failed(meter: &str, item: &str, ts_ms: i64, error: &str) -> Record {
    Record {
        value: None,
        unit: None,
        status: error.into(),
        ..ok(meter, item, ts_ms, 0.0)
    }
}

fn ids(rows: &[Row]) -> Vec<i64> {
    rows.iter().map(|r| r.id).collect()
}

/// Pages through `filter` newest first and returns (ts, id) of every row, checking the order as it goes.
fn page_all(store: &Database, filter: &LogFilter, page: usize) -> Vec<(i64, i64)> {
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let rows = store.log_page(filter, after, page).unwrap();
        assert!(rows.len() <= page);
        let Some(last) = rows.last() else { break };
        after = Some(last.cursor());
        seen.extend(rows.iter().map(|r| (r.record.ts_ms, r.id)));
    }
    assert!(
        seen.windows(2).all(|w| w[0] > w[1]),
        "not strictly newest first"
    );
    seen
}

fn export(store: &Database, filter: &LogFilter, format: ExportFormat) -> (u64, String) {
    let mut out = Vec::new();
    let n = store.export(filter, format, &mut out).unwrap();
    (n, String::from_utf8(out).unwrap())
}

#[test]
fn fifty_thousand_rows_page_and_export_in_order() {
    for b in backends("fifty_thousand") {
        let started = Instant::now();
        let mut store = Database::open(&b.at).unwrap();
        let all: Vec<Record> = (0..ROWS).map(reading).collect();
        for batch in all.chunks(BATCH) {
            assert_eq!(
                store.insert_batch(batch).unwrap(),
                batch.len(),
                "{}",
                b.name
            );
        }
        let failures = all.iter().filter(|r| r.is_failure()).count() as u64;
        assert_eq!(
            store.counts().unwrap(),
            (ROWS as u64, failures),
            "{}",
            b.name
        );

        let everything = page_all(&store, &LogFilter::default(), 1000);
        assert_eq!(everything.len(), ROWS);
        assert_eq!(everything.first().unwrap().1, ROWS as i64, "{}", b.name);

        let m3 = LogFilter {
            meter: Some("m3".into()),
            ..LogFilter::default()
        };
        let expected: Vec<_> = everything
            .iter()
            .filter(|(_, id)| all[(*id - 1) as usize].meter == "m3")
            .copied()
            .collect();
        assert_eq!(page_all(&store, &m3, 333), expected, "{}", b.name);

        let failed = LogFilter {
            status: Some(StatusFilter::Failed),
            ..LogFilter::default()
        };
        assert_eq!(page_all(&store, &failed, 500).len() as u64, failures);

        assert_eq!(
            store.latest_per_item().unwrap().len(),
            METERS.len() * ITEMS.len()
        );
        let (exported, csv) = export(&store, &m3, ExportFormat::Csv);
        assert_eq!(exported as usize, expected.len());
        assert_eq!(csv.lines().count(), expected.len() + 1);
        store.close().unwrap();

        // Reopening sees everything that insert_batch reported as stored.
        assert_eq!(
            Database::open(&b.at).unwrap().counts().unwrap(),
            (ROWS as u64, failures)
        );
        eprintln!("{}: store round trip took {:?}", b.name, started.elapsed());
    }
}

#[test]
fn failures_are_rows_and_poll_ids_keep_increasing() {
    for b in backends("poll_ids") {
        let mut store = Database::open(&b.at).unwrap();
        assert_eq!(store.next_poll_id().unwrap(), 1, "{}", b.name);
        assert_eq!(store.next_poll_id().unwrap(), 2);
        let failure = failed(
            "m1",
            "energy",
            10,
            "no response from meter m1 after 3 tries",
        );
        let mut r = ok("m1", "energy", 5, 1.0);
        r.poll = 41;
        store.insert_batch(&[r, failure.clone()]).unwrap();
        let newest = store.log_page(&LogFilter::default(), None, 1).unwrap();
        assert_eq!(newest[0].record, failure, "{}", b.name);
        assert_eq!(store.counts().unwrap(), (2, 1));
        // Stored poll ids advance the counter, across a reopen too.
        assert_eq!(store.next_poll_id().unwrap(), 42, "{}", b.name);
        store.close().unwrap();
        let mut store = Database::open(&b.at).unwrap();
        assert_eq!(store.next_poll_id().unwrap(), 43, "{}", b.name);
    }
}

#[test]
fn profile_duplicates_are_stored_once() {
    for b in backends("profile_dups") {
        let mut store = Database::open(&b.at).unwrap();
        let profile = |ts, value| Record {
            profile: true,
            ..ok("m1", "load", ts, value)
        };
        assert_eq!(store.last_profile_ts("m1", "load").unwrap(), None);
        assert_eq!(
            store
                .insert_batch(&[profile(900, 1.0), profile(1800, 2.0)])
                .unwrap(),
            2
        );
        // A re-read overlapping the stored range, with a duplicate inside the batch too.
        let again = [profile(1800, 2.0), profile(2700, 3.0), profile(2700, 3.0)];
        assert_eq!(store.insert_batch(&again).unwrap(), 1, "{}", b.name);
        // In a group, a later batch repeating an earlier one's entry stores nothing more.
        let a = [profile(3600, 4.0)];
        let dup = [profile(3600, 4.0), ok("m1", "energy", 1, 1.0)];
        assert_eq!(store.insert_batches(&[&a, &dup]).unwrap(), vec![1, 1]);
        assert_eq!(store.counts().unwrap(), (5, 0), "{}", b.name);
        assert_eq!(store.last_profile_ts("m1", "load").unwrap(), Some(3600));
        assert_eq!(store.last_profile_ts("m2", "load").unwrap(), None);
        // Ordinary readings may repeat a timestamp.
        let plain = ok("m1", "energy", 100, 1.0);
        assert_eq!(store.insert_batch(&[plain.clone(), plain]).unwrap(), 2);
        assert_eq!(store.last_profile_ts("m1", "energy").unwrap(), None);
        // Ids stay dense: skipped duplicates take none.
        let all = store.log_page(&LogFilter::default(), None, 100).unwrap();
        let mut got = ids(&all);
        got.sort_unstable();
        assert_eq!(got, (1..=7).collect::<Vec<_>>(), "{}", b.name);
        // Columns of a profile item are named `item/OBIS`.
        let column = Record {
            profile: true,
            item: "curve/1.0.1.8.0.255".into(),
            ..ok("m1", "x", 5000, 1.0)
        };
        store.insert_batch(&[column]).unwrap();
        assert_eq!(
            store.last_profile_capture("m1", "curve").unwrap(),
            Some(5000)
        );
        assert_eq!(store.last_profile_capture("m1", "curv").unwrap(), None);
    }
}

#[test]
fn filters_select_meter_item_status_and_time() {
    for b in backends("filters") {
        let mut store = Database::open(&b.at).unwrap();
        let mut other = ok("m1", "energy", 5, 2.0);
        other.request = "nightly".into();
        store
            .insert_batch(&[
                ok("m1", "energy", 10, 1.0),
                failed("m1", "power", 20, "timeout"),
                ok("m2", "energy", 30, 2.0),
                failed("m2", "energy", 40, "refused"),
                ok("m2", "power", 50, 3.0),
            ])
            .unwrap();
        store.insert_batch(&[other]).unwrap();
        let page =
            |filter: LogFilter| -> Vec<i64> { ids(&store.log_page(&filter, None, 100).unwrap()) };
        let name = |m: &str| Some(String::from(m));
        assert_eq!(
            page(LogFilter::default()),
            vec![5, 4, 3, 2, 1, 6],
            "{}",
            b.name
        );
        assert_eq!(
            page(LogFilter {
                meter: name("m1"),
                ..LogFilter::default()
            }),
            vec![2, 1, 6]
        );
        assert_eq!(
            page(LogFilter {
                request: name("nightly"),
                ..LogFilter::default()
            }),
            vec![6]
        );
        assert_eq!(
            page(LogFilter {
                item: name("energy"),
                request: name("billing"),
                ..LogFilter::default()
            }),
            vec![4, 3, 1]
        );
        let obis = ok("", "power", 0, 0.0).obis;
        assert_eq!(
            page(LogFilter {
                item: Some(obis),
                ..LogFilter::default()
            }),
            vec![5, 2]
        );
        assert_eq!(
            page(LogFilter {
                status: Some(StatusFilter::Failed),
                ..LogFilter::default()
            }),
            vec![4, 2]
        );
        assert_eq!(
            page(LogFilter {
                status: Some(StatusFilter::Ok),
                meter: name("m2"),
                ..LogFilter::default()
            }),
            vec![5, 3]
        );
        assert_eq!(
            page(LogFilter {
                since_ms: Some(20),
                until_ms: Some(50),
                ..LogFilter::default()
            }),
            vec![4, 3, 2]
        );
        assert!(page(LogFilter {
            meter: name("nobody"),
            ..LogFilter::default()
        })
        .is_empty());
        assert!(store
            .log_page(&LogFilter::default(), None, 0)
            .unwrap()
            .is_empty());
        // History: one item, oldest first, by name or OBIS code.
        let history: Vec<i64> = store
            .history("m2", "energy", 0, 100, 10)
            .unwrap()
            .iter()
            .map(|r| r.record.ts_ms)
            .collect();
        assert_eq!(history, vec![30, 40], "{}", b.name);
        assert_eq!(store.history("m2", "energy", 0, 100, 1).unwrap().len(), 1);
    }
}

#[test]
fn pages_neither_overlap_nor_skip_with_equal_timestamps() {
    for b in backends("ties") {
        let mut store = Database::open(&b.at).unwrap();
        let rows: Vec<_> = (0..20)
            .flat_map(|t| {
                ["m1", "m2"]
                    .into_iter()
                    .flat_map(move |m| ["a", "bb", "ccc"].map(|i| ok(m, i, t / 3, t as f64)))
            })
            .collect();
        store.insert_batch(&rows).unwrap();
        for page in [1, 4, 7, 200] {
            let all = page_all(&store, &LogFilter::default(), page);
            assert_eq!(all.len(), rows.len(), "{} page size {page}", b.name);
            let m1 = LogFilter {
                meter: Some("m1".into()),
                ..LogFilter::default()
            };
            let merged = page_all(&store, &m1, page);
            let from_all: Vec<_> = all
                .iter()
                .filter(|(_, id)| rows[(*id - 1) as usize].meter == "m1")
                .copied()
                .collect();
            assert_eq!(merged, from_all, "{} page size {page}", b.name);
        }
    }
}

#[test]
fn latest_per_item_is_the_newest_row_of_each_item() {
    for b in backends("latest") {
        let mut store = Database::open(&b.at).unwrap();
        store
            .insert_batch(&[
                ok("m1", "energy", 100, 1.0),
                ok("m1", "power", 100, 5.0),
                ok("m1", "energy", 200, 2.0),
                ok("m2", "energy", 150, 7.0),
                // Sorted bytewise, as SQLite does: upper case first.
                ok("M0", "energy", 10, 7.0),
            ])
            .unwrap();
        // A late row with an older time must not replace the latest value.
        store
            .insert_batch(&[
                ok("m1", "energy", 50, 0.5),
                failed("m1", "power", 300, "timeout"),
            ])
            .unwrap();
        // An item whose OBIS code was reconfigured: the newer series wins.
        let moved = Record {
            obis: "1.0.15.8.0.255".into(),
            ..ok("m2", "energy", 160, 8.0)
        };
        store.insert_batch(std::slice::from_ref(&moved)).unwrap();
        let latest: Vec<_> = store
            .latest_per_item()
            .unwrap()
            .into_iter()
            .map(|r| {
                (
                    r.record.meter,
                    r.record.item,
                    r.record.ts_ms,
                    r.record.status,
                )
            })
            .collect();
        let expect = |m: &str, i: &str, ts, s: &str| (m.into(), i.into(), ts, s.into());
        assert_eq!(
            latest,
            vec![
                expect("M0", "energy", 10, "ok"),
                expect("m1", "energy", 200, "ok"),
                expect("m1", "power", 300, "timeout"),
                expect("m2", "energy", 160, "ok"),
            ],
            "{}",
            b.name
        );
    }
}

#[test]
fn values_round_trip_exactly_and_export_alike() {
    let mut exports = Vec::new();
    for b in backends("exact") {
        let mut store = Database::open(&b.at).unwrap();
        let mut max = ok("m1", "counter", 1_700_000_000_000, 0.0);
        max.set_decimal(dlms_logger::dlms::unit::Decimal::from_int(u64::MAX as i128));
        let mut min = ok("m1", "signed", 1_700_000_000_001, 0.0);
        min.set_decimal(dlms_logger::dlms::unit::Decimal::from_int(i64::MIN as i128));
        let mut kwh = ok("m1", "energy", 1_700_000_000_002, 0.0);
        kwh.set_decimal("9430.701".parse().unwrap());
        let profile = Record {
            profile: true,
            meter_time: Some("2026-11-21T12:07:30+01:00 (invalid)".into()),
            ..ok("m1", "load", 1_700_000_000_003, 12.5)
        };
        let odd = Record {
            text: Some("a\0b \u{FFFF} \"quoted\", ünïcode".into()),
            value: None,
            attribute: -1,
            class: 65535,
            poll: 42,
            ts_ms: -5,
            meter: "m\0eter".into(),
            ..ok("m1", "status", 0, 0.0)
        };
        let far = ok("m1", "future", i64::MAX, 1.0);
        let nan_free = ok("m1", "tiny", 1_700_000_000_004, 1e-300);
        let rows = vec![max, min, kwh, profile, odd, far, nan_free];
        store.insert_batch(&rows).unwrap();
        let mut back: Vec<Row> = store.log_page(&LogFilter::default(), None, 100).unwrap();
        back.sort_by_key(|r| r.id);
        let back: Vec<Record> = back.into_iter().map(|r| r.record).collect();
        assert_eq!(back, rows, "{}", b.name);
        let (_, csv) = export(&store, &LogFilter::default(), ExportFormat::Csv);
        let (_, json) = export(&store, &LogFilter::default(), ExportFormat::Json);
        assert!(csv.contains(",18446744073709551615,"), "{csv}");
        assert!(json.contains(r#""value":-9223372036854775808,"#), "{json}");
        exports.push((b.name, csv, json));
    }
    for pair in exports.windows(2) {
        assert_eq!(
            pair[0].1, pair[1].1,
            "CSV of {} and {}",
            pair[0].0, pair[1].0
        );
        assert_eq!(
            pair[0].2, pair[1].2,
            "JSON of {} and {}",
            pair[0].0, pair[1].0
        );
    }
}

#[test]
fn changes_are_recorded_before_they_are_sent_and_completed_after() {
    for b in backends("writes") {
        let mut store = Database::open(&b.at).unwrap();
        let mut w = WriteRecord {
            ts_ms: 1,
            source: "cli".into(),
            meter: "m1".into(),
            kind: "set".into(),
            obis: "0.0.1.0.0.255".into(),
            class: 8,
            member: 2,
            request: "octet-string 07EA…".into(),
            old_value: Some("2026-12-06 10:00:00".into()),
            new_value: None,
            outcome: WriteOutcome::Sent,
            result: None,
            returned: None,
        };
        let id = store.begin_write(&w).unwrap();
        assert_eq!(store.writes(10).unwrap()[0].1.outcome, WriteOutcome::Sent);
        w.outcome = WriteOutcome::Done;
        w.result = Some("success".into());
        w.new_value = Some("2026-12-06 10:00:05".into());
        store.finish_write(id, &w).unwrap();
        assert_eq!(store.writes(10).unwrap(), vec![(id, w)], "{}", b.name);
    }
}

#[test]
fn a_newer_schema_is_refused() {
    for b in backends("newer_schema") {
        Database::open(&b.at).unwrap().close().unwrap();
        match &b.at {
            StoreLocation::Sqlite(path) => {
                let conn = rusqlite::Connection::open(path).unwrap();
                conn.pragma_update(None, "user_version", 99).unwrap();
            }
            StoreLocation::Postgres(_) => {
                pg_exec(&b.at, "UPDATE dlms_logger_schema SET version = 99");
            }
        }
        for err in [
            Database::open(&b.at).err().unwrap(),
            Database::open_read_only(&b.at).err().unwrap(),
        ] {
            assert!(matches!(err, StoreError::NewerSchema { .. }), "{err:?}");
            assert!(
                err.to_string()
                    .contains("was written by a newer dlms-logger (schema 99"),
                "{err}"
            );
            assert!(err.to_string().contains(&b.at.to_string()), "{err}");
        }
    }
}

#[test]
fn the_writer_and_the_query_service_work_alike() {
    for b in backends("writer_reader") {
        let (writer, handle) = Writer::spawn_at(&b.at, RetryPolicy::default()).unwrap();
        assert_eq!(handle.location(), &b.at);
        assert_eq!(handle.write(vec![ok("m1", "energy", 1, 1.0)]).unwrap(), 1);
        let pending: Vec<_> = (0..5)
            .map(|i| {
                handle
                    .submit(vec![ok("m1", "energy", 10 + i, 1.0)])
                    .unwrap()
            })
            .collect();
        for p in pending {
            assert_eq!(p.wait().unwrap(), 1);
        }
        let reader = spawn_reader_at(&b.at).unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let t = tx.clone();
        reader.counts(move |r| t.send(format!("{:?}", r.unwrap())).unwrap());
        let t = tx.clone();
        reader.log_page(LogFilter::default(), None, 2, move |r| {
            t.send(format!("{:?}", ids(&r.unwrap()))).unwrap()
        });
        reader.latest_per_item(move |r| tx.send(format!("{}", r.unwrap().len())).unwrap());
        let got: Vec<String> = (0..3)
            .map(|_| rx.recv_timeout(Duration::from_secs(10)).unwrap())
            .collect();
        assert_eq!(got, ["(6, 0)", "[6, 5]", "1"], "{}", b.name);
        writer.shutdown().unwrap();
        let err = handle.write(vec![ok("m1", "energy", 99, 1.0)]).unwrap_err();
        assert!(
            err.to_string()
                .contains(&format!("the writer of database {} has stopped", b.at)),
            "{err}"
        );
    }
}

/// PostgreSQL only: readings land in monthly partitions made on demand, times outside the
/// calendar in the default one, and none is refused.
#[test]
fn readings_are_partitioned_by_month() {
    let Some(b) = backends("partitions")
        .into_iter()
        .find(|b| b.name == "PostgreSQL")
    else {
        return;
    };
    let mut store = Database::open(&b.at).unwrap();
    let rows = [
        ok("m1", "e", 1_700_000_000_000, 1.0), // 2023-11
        ok("m1", "e", 1_701_388_800_000, 2.0), // 2023-12-01T00:00Z
        ok("m1", "e", -86_400_000, 3.0),       // 1969: default
        ok("m1", "e", i64::MAX, 4.0),          // beyond the calendar: default
    ];
    assert_eq!(store.insert_batch(&rows).unwrap(), 4);
    let url = pg_url(&b.at);
    let placed: Vec<(String, i64)> = block(async move {
        let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        client
            .query(
                "SELECT tableoid::regclass::text, count(*) FROM reading GROUP BY 1 ORDER BY 1",
                &[],
            )
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect()
    });
    assert_eq!(
        placed,
        vec![
            ("reading_2023_11".to_string(), 1),
            ("reading_2023_12".to_string(), 1),
            ("reading_default".to_string(), 2)
        ]
    );
    assert_eq!(store.counts().unwrap(), (4, 0));
}

/// A TCP relay in front of the PostgreSQL server that can be cut and restored, to play a
/// server going down and coming back.
struct Relay {
    port: u16,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    conns: std::sync::Arc<std::sync::Mutex<Vec<std::net::TcpStream>>>,
}

impl Relay {
    fn start(upstream: std::net::SocketAddr) -> Relay {
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let conns = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (u, c) = (up.clone(), conns.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if !u.load(Ordering::SeqCst) {
                    drop(client); // refused while down
                    continue;
                }
                let Ok(server) = std::net::TcpStream::connect(upstream) else {
                    continue;
                };
                c.lock().unwrap().push(client.try_clone().unwrap());
                c.lock().unwrap().push(server.try_clone().unwrap());
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Both);
                    });
                }
            }
        });
        Relay { port, up, conns }
    }

    fn down(&self) {
        self.up.store(false, std::sync::atomic::Ordering::SeqCst);
        for c in self.conns.lock().unwrap().drain(..) {
            let _ = c.shutdown(std::net::Shutdown::Both);
        }
    }

    fn up(&self) {
        self.up.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// PostgreSQL only: while the server is down, a batch is retried per the policy and stored
/// when it comes back; one that stays down comes back whole with an error naming the server,
/// its password masked.
#[test]
fn a_server_that_goes_down_is_retried_and_never_loses_a_batch() {
    let Some(b) = backends("server_down")
        .into_iter()
        .find(|b| b.name == "PostgreSQL")
    else {
        return;
    };
    let url = pg_url(&b.at);
    let config: tokio_postgres::Config = url.parse().unwrap();
    let host = match &config.get_hosts()[0] {
        tokio_postgres::config::Host::Tcp(h) => h.clone(),
        other => panic!("{other:?}"),
    };
    let upstream: std::net::SocketAddr =
        format!("{host}:{}", config.get_ports()[0]).parse().unwrap();
    let relay = Relay::start(upstream);
    let db = config.get_dbname().unwrap();
    // The test server trusts loopback, so the password is never checked, only carried.
    let via = StoreLocation::parse(&format!(
        "postgres://postgres:s3cret@127.0.0.1:{}/{db}",
        relay.port
    ))
    .unwrap();
    let policy = RetryPolicy {
        busy_timeout: Duration::from_millis(10),
        first_delay: Duration::from_millis(50),
        max_delay: Duration::from_millis(200),
        give_up_after: Duration::from_secs(20),
    };
    let (writer, handle) = Writer::spawn_at(&via, policy).unwrap();
    assert_eq!(handle.write(vec![ok("m1", "e", 1, 1.0)]).unwrap(), 1);

    relay.down();
    let pending = handle
        .submit(vec![ok("m1", "e", 2, 2.0), ok("m1", "e", 3, 3.0)])
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    relay.up();
    assert_eq!(pending.wait().unwrap(), 2, "stored once the server is back");

    relay.down();
    let quick = RetryPolicy {
        give_up_after: Duration::from_millis(300),
        ..policy
    };
    let (w2, h2) = {
        relay.up();
        let opened = Writer::spawn_at(&via, quick).unwrap();
        relay.down();
        opened
    };
    let batch = vec![ok("m1", "e", 4, 4.0)];
    let refused = h2.write_or_return(batch.clone()).unwrap_err();
    assert_eq!(refused.rows, batch, "the batch comes back whole");
    assert!(refused.error.is_transient(), "{:?}", refused.error);
    let text = refused.error.to_string();
    assert!(!text.contains("s3cret"), "{text}");
    assert!(
        text.contains(&format!("postgres://postgres:***@127.0.0.1:{}", relay.port)),
        "{text}"
    );
    relay.up();
    assert_eq!(h2.write_or_return(refused.rows).unwrap(), 1);
    w2.shutdown().unwrap();
    writer.shutdown().unwrap();
    assert_eq!(Database::open(&b.at).unwrap().counts().unwrap(), (4, 0));
}
