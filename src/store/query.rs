//! Record the log: latest values, history, keyset-paged log pages, and the ordered scan behind them.

use std::collections::BinaryHeap;

use rusqlite::params_from_iter;

use super::{Cursor, LogFilter, Record, Row, Store, StoreError};

/// Direction of a scan through the log; ties in time are broken by row id in the same direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    /// Oldest row first.
    OldestFirst,
    /// Newest row first.
    NewestFirst,
}

impl Order {
    /// A key whose largest value is the row to emit next (the merge uses a max-heap).
    fn key(self, row: &Row) -> (i64, i64) {
        match self {
            Order::NewestFirst => (row.record.ts_ms, row.id),
            // Bitwise NOT reverses the order of i64 without the overflow of negation.
            Order::OldestFirst => (!row.record.ts_ms, !row.id),
        }
    }

    fn sql(self) -> &'static str {
        match self {
            Order::OldestFirst => "ORDER BY r.ts, r.id",
            Order::NewestFirst => "ORDER BY r.ts DESC, r.id DESC",
        }
    }
}

/// The columns [`decode`] reads, from `reading` as `r` and `series` as `s`.
const COLUMNS: &str = "r.id, r.ts, s.request, s.meter, s.item, s.obis, s.class, s.attribute, \
                       r.value, r.text, r.unit, r.status, r.poll, r.profile, r.exact, \
                       r.meter_time";

/// The next row of a scan source.
fn pull(stream: &mut rusqlite::Rows<'_>) -> rusqlite::Result<Option<Row>> {
    stream.next()?.map(decode).transpose()
}

fn decode(row: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok(Row {
        id: row.get(0)?,
        record: Record {
            ts_ms: row.get(1)?,
            request: row.get(2)?,
            meter: row.get(3)?,
            item: row.get(4)?,
            obis: row.get(5)?,
            class: row.get(6)?,
            attribute: row.get(7)?,
            value: row.get(8)?,
            text: row.get(9)?,
            unit: row.get(10)?,
            status: row.get(11)?,
            poll: row.get(12)?,
            profile: row.get(13)?,
            exact: row.get(14)?,
            meter_time: row.get(15)?,
        },
    })
}

/// The SQL of one scan source: the whole log, or (with `per_series`) one series bound as the first parameter.
pub(super) fn scan_sql(per_series: bool, conditions: &[&str], order: Order) -> String {
    let mut all = Vec::with_capacity(conditions.len() + 1);
    if per_series {
        all.push("r.series = ?");
    }
    all.extend_from_slice(conditions);
    let filter = if all.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", all.join(" AND "))
    };
    // CROSS JOIN pins `reading` as the outer loop, so the planner walks an index in the
    // requested order and stops at the limit instead of sorting.
    format!(
        "SELECT {COLUMNS} FROM reading AS r CROSS JOIN series AS s ON s.id = r.series {filter} {}",
        order.sql()
    )
}

/// The reads every backend answers the same way, written once over its ordered scan.
pub trait Scan {
    /// Feeds up to `limit` rows matching `filter`, strictly past `after`, in `order` to
    /// `visit`; returns how many (the backend's own scan).
    fn scan_rows(
        &self,
        filter: &LogFilter,
        after: Option<Cursor>,
        order: Order,
        limit: usize,
        visit: &mut dyn FnMut(Row) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError>;

    /// History of one item (name or OBIS code), oldest first, within [since, until).
    fn history(
        &self,
        meter: &str,
        item: &str,
        since_ms: i64,
        until_ms: i64,
        limit: usize,
    ) -> Result<Vec<Row>, StoreError> {
        let filter = LogFilter {
            meter: Some(meter.to_owned()),
            item: Some(item.to_owned()),
            since_ms: Some(since_ms),
            until_ms: Some(until_ms),
            ..LogFilter::default()
        };
        let mut rows = Vec::new();
        self.scan_rows(&filter, None, Order::OldestFirst, limit, &mut |row| {
            rows.push(row);
            Ok(())
        })?;
        Ok(rows)
    }

    /// A page of the log, newest first, keyset-paged: pass the last row's cursor to get the next page.
    fn log_page(
        &self,
        filter: &LogFilter,
        after: Option<Cursor>,
        limit: usize,
    ) -> Result<Vec<Row>, StoreError> {
        let mut rows = Vec::new();
        self.scan_rows(filter, after, Order::NewestFirst, limit, &mut |row| {
            rows.push(row);
            Ok(())
        })?;
        Ok(rows)
    }
}

impl Scan for Store {
    fn scan_rows(
        &self,
        filter: &LogFilter,
        after: Option<Cursor>,
        order: Order,
        limit: usize,
        visit: &mut dyn FnMut(Row) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        self.scan(filter, after, order, limit, visit)
    }
}

impl Store {
    /// The newest row of every (request, meter, item).
    pub fn latest_per_item(&self) -> Result<Vec<Row>, StoreError> {
        let fail = self.fail("reading the latest values");
        let mut stmt = self.conn.prepare_cached(&latest_sql()).map_err(&fail)?;
        let rows = stmt.query_map([], decode).map_err(&fail)?;
        rows.collect::<Result<_, _>>().map_err(fail)
    }

    /// The newest stored capture time of a profile item (name or OBIS code) for a meter (incremental profile reads).
    pub fn last_profile_ts(&self, meter: &str, item: &str) -> Result<Option<i64>, StoreError> {
        self.conn
            .query_row(LAST_PROFILE_SQL, [meter, item], |row| row.get(0))
            .map_err(self.fail("reading the last profile time"))
    }

    /// The newest stored capture time of any column of profile item `item` of `meter` (their
    /// items are named `item/OBIS`), for incremental profile reads.
    pub fn last_profile_capture(&self, meter: &str, item: &str) -> Result<Option<i64>, StoreError> {
        let escaped: String = item
            .chars()
            .flat_map(|c| match c {
                '%' | '_' | '\\' => vec!['\\', c],
                c => vec![c],
            })
            .collect();
        self.conn
            .query_row(
                "SELECT max(latest_ts) FROM series WHERE meter = ?1 AND item LIKE ?2 ESCAPE '\\'",
                [meter, &format!("{escaped}/%")],
                |row| row.get(0),
            )
            .map_err(self.fail("reading the last profile capture time"))
    }

    /// The ids of the series `filter` narrows to, or `None` if it does not narrow them.
    fn matching_series(&self, filter: &LogFilter) -> rusqlite::Result<Option<Vec<i64>>> {
        if !filter.selects_series() {
            return Ok(None);
        }
        let mut stmt = self.conn.prepare_cached(
            "SELECT id FROM series WHERE (?1 IS NULL OR meter = ?1) \
             AND (?2 IS NULL OR item = ?2 OR obis = ?2) AND (?3 IS NULL OR request = ?3)",
        )?;
        let ids = stmt.query_map([&filter.meter, &filter.item, &filter.request], |row| {
            row.get(0)
        })?;
        ids.collect::<rusqlite::Result<_>>().map(Some)
    }

    /// Feeds up to `limit` rows matching `filter`, strictly past `after`, in `order` to `visit`; returns how many.
    ///
    /// A meter or item filter selects a few series; each is read through its own
    /// (series, ts) index range and the streams are merged lazily, so a deep page costs
    /// index seeks plus `limit` steps however selective the filter is.
    pub(super) fn scan(
        &self,
        filter: &LogFilter,
        after: Option<Cursor>,
        order: Order,
        limit: usize,
        mut visit: impl FnMut(Row) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        let fail = self.fail("reading the log");
        if limit == 0 {
            return Ok(0);
        }
        let series = self.matching_series(filter).map_err(&fail)?;
        let (conditions, params) = filter.conditions(after, order);
        let sql = scan_sql(series.is_some(), &conditions, order);
        let sources: Vec<Option<i64>> = match series {
            Some(ids) => ids.into_iter().map(Some).collect(),
            None => vec![None],
        };
        let mut statements = sources
            .iter()
            .map(|_| self.conn.prepare_cached(&sql))
            .collect::<Result<Vec<_>, _>>()
            .map_err(&fail)?;
        let mut streams = Vec::with_capacity(sources.len());
        for (statement, series) in statements.iter_mut().zip(&sources) {
            let bound = series.iter().chain(&params);
            streams.push(statement.query(params_from_iter(bound)).map_err(&fail)?);
        }
        let mut heads = Vec::with_capacity(streams.len());
        let mut next = BinaryHeap::with_capacity(streams.len());
        for (source, stream) in streams.iter_mut().enumerate() {
            let head = pull(stream).map_err(&fail)?;
            if let Some(row) = &head {
                next.push((order.key(row), source));
            }
            heads.push(head);
        }
        let mut emitted = 0;
        while let Some((_, source)) = next.pop() {
            // Every source in the heap has its head row stored.
            let Some(row) = heads[source].take() else {
                continue;
            };
            visit(row)?;
            emitted += 1;
            if emitted == limit {
                break;
            }
            heads[source] = pull(&mut streams[source]).map_err(&fail)?;
            if let Some(row) = &heads[source] {
                next.push((order.key(row), source));
            }
        }
        Ok(emitted as u64)
    }
}

/// The newest profile capture time of a meter's item: one seek per matching series (normally one) on the profile index.
const LAST_PROFILE_SQL: &str = "SELECT max((SELECT r.ts FROM reading AS r \
     WHERE r.series = s.id AND r.profile = 1 ORDER BY r.ts DESC LIMIT 1)) \
     FROM series AS s WHERE s.meter = ?1 AND (s.item = ?2 OR s.obis = ?2)";

/// The newest row of every series, keeping per (request, meter, item) only the series
/// whose latest row is newest (an item whose OBIS code was reconfigured has several series).
pub(super) fn latest_sql() -> String {
    format!(
        "SELECT {COLUMNS} FROM series AS s CROSS JOIN reading AS r ON r.id = s.latest_id \
         WHERE NOT EXISTS (SELECT 1 FROM series AS o \
             WHERE o.request = s.request AND o.meter = s.meter AND o.item = s.item \
             AND (o.latest_ts, o.latest_id) > (s.latest_ts, s.latest_id)) \
         ORDER BY s.request, s.meter, s.item"
    )
}

#[cfg(test)]
mod tests {
    use super::super::record::sample;
    use super::super::StatusFilter;
    use super::*;

    /// The EXPLAIN QUERY PLAN lines of `sql` with every parameter bound to 1.
    fn plan(store: &Store, sql: &str) -> Vec<String> {
        let mut stmt = store
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap();
        let params = vec![1_i64; stmt.parameter_count()];
        stmt.query_map(params_from_iter(params), |row| row.get::<_, String>(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    /// Asserts that `sql` reads `reading` only through index searches, never a scan or a sort.
    fn assert_seeks(store: &Store, name: &str, sql: &str) {
        let lines = plan(store, sql);
        let uses_index = lines
            .iter()
            .any(|l| l.starts_with("SEARCH r USING") && l.contains("INDEX"));
        let scans = lines
            .iter()
            .any(|l| l.starts_with("SCAN r") || l.contains("TEMP B-TREE"));
        assert!(uses_index && !scans, "{name}: {lines:?}");
    }

    #[test]
    fn queries_are_index_lookups() {
        let store = Store::open_in_memory().unwrap();
        let deep = Some(Cursor { ts_ms: 5, id: 5 });
        let page = |per_series, filter: LogFilter| {
            let (conditions, _) = filter.conditions(deep, Order::NewestFirst);
            scan_sql(per_series, &conditions, Order::NewestFirst)
        };
        let latest = plan(&store, &latest_sql());
        assert!(
            latest
                .iter()
                .any(|l| l == "SEARCH r USING INTEGER PRIMARY KEY (rowid=?)")
                && !latest
                    .iter()
                    .any(|l| l.starts_with("SCAN r") || l.contains("TEMP B-TREE")),
            "{latest:?}"
        );
        let range = LogFilter {
            since_ms: Some(1),
            until_ms: Some(9),
            ..LogFilter::default()
        };
        let (history, _) = range.conditions(None, Order::OldestFirst);
        assert_seeks(
            &store,
            "history",
            &scan_sql(true, &history, Order::OldestFirst),
        );
        assert_seeks(&store, "unfiltered", &page(false, LogFilter::default()));
        // A meter or item filter becomes one source per matching series.
        assert_seeks(&store, "by meter", &page(true, LogFilter::default()));
        for status in [StatusFilter::Ok, StatusFilter::Failed] {
            let filter = LogFilter {
                status: Some(status),
                ..LogFilter::default()
            };
            assert_seeks(&store, "by status", &page(false, filter.clone()));
            assert_seeks(&store, "by meter and status", &page(true, filter));
        }
        assert_seeks(&store, "by time", &page(false, range));
        let profile = plan(&store, LAST_PROFILE_SQL);
        assert!(
            profile
                .iter()
                .any(|l| l.contains("USING COVERING INDEX reading_profile")),
            "{profile:?}"
        );
    }

    fn store_with(rows: &[Record]) -> Store {
        let mut store = Store::open_in_memory().unwrap();
        store.insert_batch(rows).unwrap();
        store
    }

    fn ids(rows: &[Row]) -> Vec<i64> {
        rows.iter().map(|r| r.id).collect()
    }

    #[test]
    fn latest_per_item_is_the_newest_row_of_each_item() {
        let mut store = store_with(&[
            sample::ok("m1", "energy", 100, 1.0),
            sample::ok("m1", "power", 100, 5.0),
            sample::ok("m1", "energy", 200, 2.0),
            sample::ok("m2", "energy", 150, 7.0),
        ]);
        // A late profile-style row with an older time must not replace the latest value.
        store
            .insert_batch(&[
                sample::ok("m1", "energy", 50, 0.5),
                sample::failed("m1", "power", 300, "timeout"),
            ])
            .unwrap();
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
                expect("m1", "energy", 200, "ok"),
                expect("m1", "power", 300, "timeout"),
                expect("m2", "energy", 150, "ok"),
            ]
        );
    }

    #[test]
    fn latest_per_item_follows_an_item_whose_obis_changed() {
        let old = sample::ok("m1", "energy", 100, 1.0);
        let new = Record {
            obis: "1.0.15.8.0.255".into(),
            ts_ms: 200,
            ..old.clone()
        };
        let store = store_with(&[old, new.clone()]);
        let latest = store.latest_per_item().unwrap();
        assert_eq!(latest.len(), 1);
        assert_eq!(latest[0].record, new);
    }

    #[test]
    fn history_is_oldest_first_within_the_range_and_matches_obis() {
        let mut rows: Vec<_> = (0..10)
            .map(|i| sample::ok("m1", "energy", i * 10, i as f64))
            .collect();
        rows.push(sample::ok("m2", "energy", 30, 99.0));
        rows.push(sample::ok("m1", "power", 30, 99.0));
        let store = store_with(&rows);
        let values = |rows: Vec<Row>| -> Vec<_> { rows.iter().map(|r| r.record.ts_ms).collect() };
        assert_eq!(
            values(store.history("m1", "energy", 20, 60, 100).unwrap()),
            vec![20, 30, 40, 50]
        );
        assert_eq!(
            values(store.history("m1", "energy", 20, 60, 2).unwrap()),
            vec![20, 30]
        );
        let obis = rows[0].obis.clone();
        assert_eq!(store.history("m1", &obis, 0, 1000, 100).unwrap().len(), 10);
        assert!(store
            .history("m3", "energy", 0, 1000, 100)
            .unwrap()
            .is_empty());
    }

    /// All rows of `filter`, newest first, fetched `page` at a time.
    fn all_pages(store: &Store, filter: &LogFilter, page: usize) -> Vec<Row> {
        let mut all = Vec::new();
        let mut after = None;
        loop {
            let rows = store.log_page(filter, after, page).unwrap();
            assert!(rows.len() <= page);
            let Some(last) = rows.last() else { break };
            after = Some(last.cursor());
            all.extend(rows);
        }
        all
    }

    #[test]
    fn pages_neither_overlap_nor_skip_with_equal_timestamps() {
        // Three items per timestamp, two meters: many ties broken by id.
        let rows: Vec<_> = (0..20)
            .flat_map(|t| {
                ["m1", "m2"].into_iter().flat_map(move |m| {
                    ["a", "bb", "ccc"].map(|i| sample::ok(m, i, t / 3, t as f64))
                })
            })
            .collect();
        let store = store_with(&rows);
        for page in [1, 4, 7, 200] {
            let all = all_pages(&store, &LogFilter::default(), page);
            let mut expected: Vec<_> = all.iter().map(|r| (r.record.ts_ms, r.id)).collect();
            expected.sort_unstable_by(|a, b| b.cmp(a));
            expected.dedup();
            assert_eq!(all.len(), rows.len(), "page size {page}");
            assert_eq!(
                all.iter()
                    .map(|r| (r.record.ts_ms, r.id))
                    .collect::<Vec<_>>(),
                expected
            );

            // The merged per-series scan gives the same order as the time index.
            let m1 = LogFilter {
                meter: Some("m1".into()),
                ..LogFilter::default()
            };
            let merged = all_pages(&store, &m1, page);
            let from_all: Vec<_> = all
                .iter()
                .filter(|r| r.record.meter == "m1")
                .cloned()
                .collect();
            assert_eq!(ids(&merged), ids(&from_all), "page size {page}");
        }
    }

    #[test]
    fn a_request_filter_selects_that_requests_rows() {
        let mut other = sample::ok("m1", "energy", 20, 2.0);
        other.request = "nightly".into();
        let store = store_with(&[sample::ok("m1", "energy", 10, 1.0), other]);
        let page = |request: &str| -> Vec<i64> {
            let f = LogFilter {
                request: Some(request.into()),
                ..LogFilter::default()
            };
            ids(&store.log_page(&f, None, 100).unwrap())
        };
        assert_eq!(page("nightly"), vec![2]);
        assert_eq!(page("nobody"), Vec::<i64>::new());
    }

    #[test]
    fn filters_select_meter_item_status_and_time() {
        let store = store_with(&[
            sample::ok("m1", "energy", 10, 1.0),
            sample::failed("m1", "power", 20, "timeout"),
            sample::ok("m2", "energy", 30, 2.0),
            sample::failed("m2", "energy", 40, "refused"),
            sample::ok("m2", "power", 50, 3.0),
        ]);
        let page =
            |filter: LogFilter| -> Vec<i64> { ids(&store.log_page(&filter, None, 100).unwrap()) };
        assert_eq!(page(LogFilter::default()), vec![5, 4, 3, 2, 1]);
        let meter = |m: &str| Some(String::from(m));
        assert_eq!(
            page(LogFilter {
                meter: meter("m1"),
                ..LogFilter::default()
            }),
            vec![2, 1]
        );
        assert_eq!(
            page(LogFilter {
                item: meter("energy"),
                ..LogFilter::default()
            }),
            vec![4, 3, 1]
        );
        let obis = sample::ok("", "power", 0, 0.0).obis;
        assert_eq!(
            page(LogFilter {
                item: Some(obis),
                ..LogFilter::default()
            }),
            vec![5, 2]
        );
        assert_eq!(
            page(LogFilter {
                meter: meter("m2"),
                item: meter("energy"),
                ..LogFilter::default()
            }),
            vec![4, 3]
        );
        let failed = Some(StatusFilter::Failed);
        assert_eq!(
            page(LogFilter {
                status: failed,
                ..LogFilter::default()
            }),
            vec![4, 2]
        );
        assert_eq!(
            page(LogFilter {
                status: Some(StatusFilter::Ok),
                ..LogFilter::default()
            }),
            vec![5, 3, 1]
        );
        assert_eq!(
            page(LogFilter {
                meter: meter("m2"),
                status: failed,
                ..LogFilter::default()
            }),
            vec![4]
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
            meter: meter("nobody"),
            ..LogFilter::default()
        })
        .is_empty());
        assert!(store
            .log_page(&LogFilter::default(), None, 0)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn rows_round_trip_unchanged() {
        let reading = Record {
            text: Some("{\"a\":[1,2]}".into()),
            value: None,
            attribute: -1,
            class: 65535,
            poll: 42,
            ts_ms: -5,
            ..sample::ok("m1", "status", 0, 0.0)
        };
        let store = store_with(std::slice::from_ref(&reading));
        let rows = store.log_page(&LogFilter::default(), None, 10).unwrap();
        assert_eq!(
            rows,
            vec![Row {
                id: 1,
                record: reading
            }]
        );
    }

    #[test]
    fn exact_values_and_meter_times_round_trip() {
        let mut big = sample::ok("m1", "counter", 1, 0.0);
        big.set_decimal(crate::dlms::unit::Decimal::from_int(u64::MAX as i128));
        assert_eq!(big.exact.as_deref(), Some("18446744073709551615"));
        let profile = Record {
            profile: true,
            meter_time: Some("2026-11-21T12:07:30+01:00 (invalid)".into()),
            ..sample::ok("m1", "load", 2, 9430.701)
        };
        let store = store_with(&[big.clone(), profile.clone()]);
        let rows = store.log_page(&LogFilter::default(), None, 10).unwrap();
        let back: Vec<Record> = rows.into_iter().map(|r| r.record).collect();
        assert_eq!(back, vec![profile.clone(), big.clone()]);
        assert_eq!(
            back[1].value_text().as_deref(),
            Some("18446744073709551615")
        );
        assert_eq!(back[1].value_json().to_string(), "18446744073709551615");
        assert_eq!(back[0].value_text().as_deref(), Some("9430.701"));
    }
}
