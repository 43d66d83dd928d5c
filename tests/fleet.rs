//! Several loggers, one fleet (issue 18 §2), with a real PostgreSQL (`DLMS_TEST_PG`, started
//! by `.ci/run`; locally the tests skip with a message saying how to start one, under CI=true
//! they fail without it).
//!
//! * `three_loggers_share_a_fleet_and_take_over_a_killed_one`: the scale-out proof, small
//!   (3 loggers × 150 meters; `examples/fleet_scaleout.rs` runs 3 × 3,000): every meter
//!   associated with one logger at a time (from the simulator's own log), takeover within
//!   the bound, the returning logger gets its share back, no reading lost or duplicated, no
//!   counter reused.
//! * `counters_reserved_at_once_never_overlap`: four stores on one database (as four
//!   processes) take counters at once; no value twice.
//! * `an_unreachable_coordinator_stops_every_worker_before_its_lease_expires`: the lease
//!   tables locked (renewals hang, as in an outage): the logger's meters are released before
//!   their leases could expire, and nothing is opened until the database answers again
//!   (this logger joins through the queue's `[fleet]` section, the URL from the environment);
//!   `status --fleet` shows who holds what.

mod common;
#[path = "common/scaleout.rs"]
mod scaleout;

use dlms_logger::counters::CounterStore;
use dlms_logger::dlms::security::{Key, SystemTitle};
use std::collections::HashSet;
use std::time::Duration;

fn bin() -> std::path::PathBuf {
    env!("CARGO_BIN_EXE_dlms-logger").into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_loggers_share_a_fleet_and_take_over_a_killed_one() {
    let Some(url) = common::pg::fresh_database("fleet_scaleout").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let plan = scaleout::Plan {
        bin: bin(),
        dir: dir.path().to_path_buf(),
        url: url.clone(),
        meters: 150,
        instances: 3,
        period: Duration::from_secs(2),
        renew: Duration::from_secs(1),
        expiry: Duration::from_secs(5),
        margin: Duration::from_secs(2),
        before_kill: Duration::from_secs(3),
        after_takeover: Duration::from_secs(3),
        after_return: Duration::from_secs(3),
        meters_per_sim: 0,
        kill: true,
        link_budget: None,
    };
    let o = tokio::task::spawn_blocking(move || scaleout::run(&plan))
        .await
        .unwrap();
    eprintln!("{o}");
    assert!(o.errors.is_empty(), "{o}");
    assert_eq!(o.overlaps, 0, "{o}");
    assert!(o.killed_held >= 40, "the killed logger held its share: {o}");
    // Lease expiry (5 s) + a renewal (1 s) + the next poll (2 s) + the checks' own pace.
    assert!(o.lease_takeover <= Duration::from_secs(8), "{o}");
    assert!(o.takeover <= Duration::from_secs(10), "{o}");
    assert!(o.answered > 150 * 5, "the meters were polled: {o}");
    assert_eq!(o.duplicated, 0, "{o}");
    assert_eq!(o.lost, 0, "{o}");
    assert_eq!((o.reused, o.refused), (0, 0), "{o}");
    assert_eq!(o.failed_runs, 0, "{o}");
    // Renewals rewrite every held lease: the lease table's pages are kept half empty so that
    // they are HOT updates (`fleet/schema.rs`).
    let (db, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let options: Vec<String> = db
        .query_one(
            "SELECT coalesce(reloptions, '{}') FROM pg_class WHERE relname = 'fleet_lease'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        options.iter().any(|o| o == "fillfactor=50"),
        "fleet_lease has {options:?}"
    );
}

/// Meter floors raised in a fleet are written together at a flush (one statement), the
/// highest value wins, and another logger reads them back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meter_floors_are_written_together_and_only_ever_rise() {
    let Some(url) = common::pg::fresh_database("fleet_floors").await else {
        return;
    };
    let key = Key([9; 16]);
    let meter = |i: u32| {
        let mut t = *b"MTR\x00\x00\x00\x00\x00";
        t[4..].copy_from_slice(&i.to_be_bytes());
        SystemTitle(t)
    };
    tokio::task::spawn_blocking(move || {
        let one = CounterStore::postgres(&url, "test database");
        for i in 0..2000 {
            one.raise_meter_floor(meter(i), &key, 100 + i).unwrap();
        }
        one.flush().unwrap();
        // A lower floor later (another logger's older session) never lowers it.
        let two = CounterStore::postgres(&url, "test database");
        two.raise_meter_floor(meter(7), &key, 3).unwrap();
        two.raise_meter_floor(meter(8), &key, 5000).unwrap();
        two.flush().unwrap();
        let three = CounterStore::postgres(&url, "test database");
        assert_eq!(three.meter_floor(meter(0), &key).unwrap(), 100);
        assert_eq!(three.meter_floor(meter(1999), &key).unwrap(), 2099);
        assert_eq!(three.meter_floor(meter(7), &key).unwrap(), 107);
        assert_eq!(three.meter_floor(meter(8), &key).unwrap(), 5000);
        assert_eq!(three.meter_floor(meter(2000), &key).unwrap(), 0);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counters_reserved_at_once_never_overlap() {
    let Some(url) = common::pg::fresh_database("fleet_counters").await else {
        return;
    };
    let title = SystemTitle(*b"DLG\x00\x00\x00\x00\x01");
    let key = Key([7; 16]);
    let mut threads = Vec::new();
    for _ in 0..4 {
        let (url, key) = (url.clone(), key.clone());
        threads.push(std::thread::spawn(move || {
            // A store of its own: its own connection, as another process has.
            let store = CounterStore::postgres(&url, "test database");
            let counters = store.counters(title, &key);
            let mut got = Vec::new();
            for i in 0..3000u32 {
                // Sessions start now and then, as associations on meters do.
                let at_least = if i % 500 == 0 {
                    counters.session_floor().unwrap()
                } else {
                    0
                };
                let first = counters.take(at_least, 4).unwrap();
                got.extend(first..first + 3);
                counters.give_back(first + 3, first + 4);
            }
            store.flush().unwrap();
            got
        }));
    }
    let mut seen = HashSet::new();
    let mut total = 0;
    for t in threads {
        for v in t.join().unwrap() {
            total += 1;
            assert!(seen.insert(v), "counter {v} handed out twice");
        }
    }
    assert_eq!(total, 4 * 3000 * 3);
    // A fifth store (a process started later) starts above all of them.
    let store = CounterStore::postgres(&url, "test database");
    let first = store.take(title, &key, 0, 1).unwrap();
    assert!(
        seen.iter().all(|v| *v < first),
        "a later process went below: {first}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_coordinator_stops_every_worker_before_its_lease_expires() {
    let Some(url) = common::pg::fresh_database("fleet_outage").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let plan = scaleout::Plan {
        bin: bin(),
        dir: dir.path().to_path_buf(),
        url: url.clone(),
        meters: 20,
        instances: 1,
        period: Duration::from_secs(1),
        renew: Duration::from_secs(1),
        expiry: Duration::from_secs(5),
        margin: Duration::from_secs(2),
        before_kill: Duration::ZERO,
        after_takeover: Duration::ZERO,
        after_return: Duration::ZERO,
        meters_per_sim: 0,
        kill: false,
        link_budget: None,
    };
    let o = tokio::task::spawn_blocking(move || scaleout::outage(&plan, Duration::from_secs(9)))
        .await
        .unwrap();
    eprintln!("{o:?}");
    assert!(o.errors.is_empty(), "{o:?}");
    assert!(
        o.open_before > 0,
        "meters were associated before the outage: {o:?}"
    );
    assert_eq!(
        o.open_past_expiry, 0,
        "associations still open when the leases could expire: {o:?}"
    );
    assert_eq!(o.opened_after_expiry, 0, "{o:?}");
    assert!(
        o.reopened_after,
        "polling resumed once the database answered: {o:?}"
    );
    // Who holds what, as an operator sees it.
    let text = &o.status_text;
    assert!(
        text.contains("1 logger(s) alive, 20 connection(s) leased"),
        "{text}"
    );
    assert!(text.contains("  logger i1 ("), "{text}");
    assert!(text.contains("alive, holds 20 connection(s)"), "{text}");
    assert!(
        text.contains("  connection c00000: i1 (epoch 1), lease expires in "),
        "{text}"
    );
    assert!(text.contains(": running"), "{text}");
}

/// A lease the database says this logger holds but that it does not run (a claim whose
/// answer was lost, a row left by an earlier process of the same name) is freed at the next
/// renewal, not renewed for ever with nobody polling the meter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lease_held_in_the_database_but_not_run_is_freed_at_the_next_renewal() {
    let Some(url) = common::pg::fresh_database("fleet_stray").await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (addrs, _sim) = dlms_logger::sim::start(dlms_logger::sim::SimConfig {
        port: 0,
        ..Default::default()
    })
    .await
    .unwrap();
    let config = dlms_logger::queue::Config::parse(
        &format!(
            r#"
[[connection]]
name = "c1"
tcp = {{ host = "127.0.0.1", port = {} }}
[[meter]]
name = "m1"
connection = "c1"
[[request]]
name = "regs"
meters = ["m1"]
schedule = {{ every = "1s" }}
items = [{{ name = "energy", obis = "1.0.1.8.0.255" }}]
"#,
            addrs[0].port()
        ),
        "stray.toml",
    )
    .unwrap();
    let (writer, handle, first) =
        dlms_logger::runner::open_store(dir.path().join("log.db").as_path()).unwrap();
    let runner = dlms_logger::runner::Runner::start_with(
        config,
        handle,
        first,
        dlms_logger::runner::RunnerOptions {
            counters: Some(CounterStore::new(dir.path().join("counters.db"))),
            leased: true,
            ..Default::default()
        },
    );
    let mut settings = dlms_logger::fleet::FleetSettings::new(url.clone(), Some("i1".into()));
    settings.renew = Duration::from_millis(500);
    settings.expiry = Duration::from_secs(15);
    settings.margin = Duration::from_secs(2);
    let fleet = dlms_logger::fleet::Fleet::start(settings, runner.handle(), vec!["c1".into()])
        .await
        .unwrap();
    let (db, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let mut waited = Duration::ZERO;
    while fleet.held() != ["c1"] && waited < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += Duration::from_millis(100);
    }
    assert_eq!(fleet.held(), ["c1"], "the logger claimed its connection");
    // A lease of ours nobody runs: a connection not in this logger's queue.
    db.execute(
        "INSERT INTO fleet_lease (connection, holder, epoch, claimed_at, renewed_at, expires_at) \
         VALUES ('ghost', 'i1', 7, now(), now(), now() + interval '15 seconds')",
        &[],
    )
    .await
    .unwrap();
    let count = |sql: &'static str| {
        let db = &db;
        async move { db.query_one(sql, &[]).await.unwrap().get::<_, i64>(0) }
    };
    let mut waited = Duration::ZERO;
    while count("SELECT count(*) FROM fleet_lease WHERE connection = 'ghost'").await > 0
        && waited < Duration::from_secs(5)
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += Duration::from_millis(100);
    }
    assert_eq!(
        count("SELECT count(*) FROM fleet_lease WHERE connection = 'ghost'").await,
        0,
        "the stray lease was still held after {waited:?} (renewals every 500 ms)"
    );
    // The lease it runs is kept.
    assert_eq!(
        count("SELECT count(*) FROM fleet_lease WHERE connection = 'c1' AND holder = 'i1' AND expires_at > now()").await,
        1
    );
    fleet.shutdown(Duration::from_secs(2)).await;
    assert_eq!(
        count("SELECT count(*) FROM fleet_lease").await,
        0,
        "leaving the fleet frees every lease in one statement"
    );
    runner.shutdown().await;
    writer.shutdown().unwrap();
}
