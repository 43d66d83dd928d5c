//! Reads for browsing the log by eye: the failures of one kind (a text in the error), the
//! nearest matching row older or newer than a row (jump to the next failure), and the newest
//! history of an item in a window (a chart). Each is built on the ordered, index-range scan
//! of `query.rs`, so none sorts or reads the whole log.

use super::database::Database;
use super::query::{Order, Scan};
use super::{Cursor, LogFilter, Row, StoreError};

/// Rows scanned at a time when rows are kept by their error text.
const CHUNK: usize = 512;

/// True when `row`'s status contains `text` (lower case), ignoring case.
fn error_has(row: &Row, text: &str) -> bool {
    row.record.status.to_lowercase().contains(text)
}

impl Scan for Database {
    fn scan_rows(
        &self,
        filter: &LogFilter,
        after: Option<Cursor>,
        order: Order,
        limit: usize,
        visit: &mut dyn FnMut(Row) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        match self {
            Database::Sqlite(s) => s.scan(filter, after, order, limit, visit),
            Database::Postgres(s) => s.scan(filter, after, order, limit, visit),
        }
    }
}

impl Database {
    /// Up to `limit` rows matching `filter` strictly past `after` in `order`, of those whose
    /// status contains `error` (any case; `None`: every row). The error text is not indexed:
    /// the filter's rows (with a failed status filter, the index of failures) are read in
    /// chunks until `limit` match.
    fn scan_with_error(
        &self,
        filter: &LogFilter,
        error: Option<&str>,
        after: Option<Cursor>,
        order: Order,
        limit: usize,
    ) -> Result<Vec<Row>, StoreError> {
        let mut out = Vec::new();
        let Some(text) = error.map(str::to_lowercase) else {
            self.scan_rows(filter, after, order, limit, &mut |row| {
                out.push(row);
                Ok(())
            })?;
            return Ok(out);
        };
        let mut cursor = after;
        while out.len() < limit {
            let mut last = None;
            let read = self.scan_rows(filter, cursor, order, CHUNK, &mut |row| {
                last = Some(row.cursor());
                if out.len() < limit && error_has(&row, &text) {
                    out.push(row);
                }
                Ok(())
            })?;
            if read < CHUNK as u64 {
                break;
            }
            cursor = last;
        }
        Ok(out)
    }

    /// A page of the log as [`Database::log_page`], of the rows whose status contains `error`
    /// (any case) when given: the Log view's filter by the kind of failure.
    pub fn log_page_with_error(
        &self,
        filter: &LogFilter,
        error: Option<&str>,
        after: Option<Cursor>,
        limit: usize,
    ) -> Result<Vec<Row>, StoreError> {
        self.scan_with_error(filter, error, after, Order::NewestFirst, limit)
    }

    /// The nearest row matching `filter` (and `error`, as in [`Database::log_page_with_error`])
    /// strictly older (`older`) or newer than `from`: the next failure from a row.
    pub fn log_neighbour(
        &self,
        filter: &LogFilter,
        error: Option<&str>,
        from: Cursor,
        older: bool,
    ) -> Result<Option<Row>, StoreError> {
        let order = if older {
            Order::NewestFirst
        } else {
            Order::OldestFirst
        };
        Ok(self
            .scan_with_error(filter, error, Some(from), order, 1)?
            .pop())
    }

    /// The newest `limit` rows of one item (name or OBIS code) of `meter` within
    /// [since, until) (either open), oldest first: a chart of the item over a window that
    /// may hold more rows than it can draw shows the latest of them.
    pub fn history_newest(
        &self,
        meter: &str,
        item: &str,
        since_ms: Option<i64>,
        until_ms: Option<i64>,
        limit: usize,
    ) -> Result<Vec<Row>, StoreError> {
        let filter = LogFilter {
            meter: Some(meter.to_owned()),
            item: Some(item.to_owned()),
            since_ms,
            until_ms,
            ..LogFilter::default()
        };
        let mut rows = self.scan_with_error(&filter, None, None, Order::NewestFirst, limit)?;
        rows.reverse();
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::super::record::sample;
    use super::super::{Record, StatusFilter};
    use super::*;

    /// 2000 rows a second apart; every 100th a timeout, every 250th (not a timeout) refused.
    fn store() -> Database {
        let rows: Vec<Record> = (0..2000)
            .map(|i| {
                let mut r = sample::ok(
                    if i % 2 == 0 { "m1" } else { "m2" },
                    "e",
                    i * 1000,
                    i as f64,
                );
                if i % 100 == 0 {
                    r.status = format!("timed out after {i} ms");
                    r.value = None;
                } else if i % 250 == 0 {
                    r.status = "Connection refused".into();
                    r.value = None;
                }
                r
            })
            .collect();
        let mut store = super::super::Store::open_in_memory().unwrap();
        store.insert_batch(&rows).unwrap();
        Database::Sqlite(store)
    }

    fn times(rows: &[Row]) -> Vec<i64> {
        rows.iter().map(|r| r.record.ts_ms / 1000).collect()
    }

    #[test]
    fn pages_of_one_kind_of_failure_go_past_many_chunks() {
        let store = store();
        let failed = LogFilter {
            status: Some(StatusFilter::Failed),
            ..LogFilter::default()
        };
        let page = store
            .log_page_with_error(&failed, Some("REFUSED"), None, 3)
            .unwrap();
        assert_eq!(times(&page), [1750, 1250, 750]);
        let next = store
            .log_page_with_error(&failed, Some("refused"), Some(page[2].cursor()), 3)
            .unwrap();
        assert_eq!(times(&next), [250]);
        // Without a status filter the ok rows are scanned too (four chunks and more).
        let all = store
            .log_page_with_error(&LogFilter::default(), Some("timed out"), None, 100)
            .unwrap();
        assert_eq!(all.len(), 20);
        assert_eq!(
            store
                .log_page_with_error(&LogFilter::default(), None, None, 5)
                .unwrap()
                .len(),
            5
        );
    }

    #[test]
    fn finds_the_nearest_failure_either_way() {
        let store = store();
        let failed = LogFilter {
            status: Some(StatusFilter::Failed),
            ..LogFilter::default()
        };
        let from = Cursor {
            ts_ms: 1_234_000,
            id: 1235,
        };
        let older = store.log_neighbour(&failed, None, from, true).unwrap();
        let newer = store.log_neighbour(&failed, None, from, false).unwrap();
        assert_eq!(older.map(|r| r.record.ts_ms), Some(1_200_000));
        assert_eq!(newer.map(|r| r.record.ts_ms), Some(1_250_000));
        let refused = store
            .log_neighbour(&failed, Some("refused"), from, false)
            .unwrap();
        assert_eq!(refused.map(|r| r.record.ts_ms), Some(1_250_000));
        let last = Cursor {
            ts_ms: 1_999_000,
            id: 2000,
        };
        assert_eq!(
            store.log_neighbour(&failed, None, last, false).unwrap(),
            None
        );
    }

    #[test]
    fn history_newest_keeps_the_latest_of_a_window_oldest_first() {
        let store = store();
        let rows = store
            .history_newest("m1", "e", Some(100_000), Some(200_000), 3)
            .unwrap();
        assert_eq!(times(&rows), [194, 196, 198]);
        let open = store.history_newest("m2", "e", None, None, 2).unwrap();
        assert_eq!(times(&open), [1997, 1999]);
    }
}
