//! A larger round trip through the store: 50,000 rows written in batches, then paged and exported.

use std::time::Instant;

use dlms_logger::store::{ExportFormat, LogFilter, Record, StatusFilter, Store, STATUS_OK};

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

/// Pages through `filter` newest first and returns (ts, id) of every row, checking the order as it goes.
fn page_all(store: &Store, filter: &LogFilter, page: usize) -> Vec<(i64, i64)> {
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let rows = store.log_page(filter, after, page).unwrap();
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

#[test]
fn fifty_thousand_rows_page_and_export_in_order() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.db");
    let mut store = Store::open(&path).unwrap();
    let all: Vec<Record> = (0..ROWS).map(reading).collect();
    for batch in all.chunks(BATCH) {
        assert_eq!(store.insert_batch(batch).unwrap(), batch.len());
    }
    let failures = all.iter().filter(|r| r.is_failure()).count() as u64;
    assert_eq!(store.counts().unwrap(), (ROWS as u64, failures));

    let everything = page_all(&store, &LogFilter::default(), 1000);
    assert_eq!(everything.len(), ROWS);
    assert_eq!(everything.first().unwrap().1, ROWS as i64);

    let m3 = LogFilter {
        meter: Some("m3".into()),
        ..LogFilter::default()
    };
    let expected: Vec<_> = everything
        .iter()
        .filter(|(_, id)| all[(*id - 1) as usize].meter == "m3")
        .copied()
        .collect();
    assert_eq!(page_all(&store, &m3, 333), expected);

    let failed = LogFilter {
        status: Some(StatusFilter::Failed),
        ..LogFilter::default()
    };
    assert_eq!(page_all(&store, &failed, 500).len() as u64, failures);

    assert_eq!(
        store.latest_per_item().unwrap().len(),
        METERS.len() * ITEMS.len()
    );
    let mut csv = Vec::new();
    let exported = store.export(&m3, ExportFormat::Csv, &mut csv).unwrap();
    assert_eq!(exported as usize, expected.len());
    assert_eq!(
        csv.iter().filter(|&&b| b == b'\n').count(),
        expected.len() + 1
    );
    store.close().unwrap();

    // Reopening sees everything that insert_batch reported as stored.
    assert_eq!(
        Store::open(&path).unwrap().counts().unwrap(),
        (ROWS as u64, failures)
    );
    eprintln!("store round trip took {:?}", started.elapsed());
}
