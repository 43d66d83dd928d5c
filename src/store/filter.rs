//! Which rows a log page, history or export selects, and the SQL conditions that say so.

use super::query::Order;
use super::Cursor;

/// Whether to show successful reads, failures, or (`None` in [`LogFilter`]) both.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusFilter {
    /// Only rows with status `ok`.
    Ok,
    /// Only failures.
    Failed,
}

/// Selects rows of the log; every `None` field matches everything.
#[derive(Default, Clone, Debug)]
pub struct LogFilter {
    /// Request name.
    pub request: Option<String>,
    /// Meter name.
    pub meter: Option<String>,
    /// Item name or OBIS code.
    pub item: Option<String>,
    /// Successful reads or failures only.
    pub status: Option<StatusFilter>,
    /// Inclusive lower bound of the timestamp (UTC milliseconds).
    pub since_ms: Option<i64>,
    /// Exclusive upper bound of the timestamp (UTC milliseconds).
    pub until_ms: Option<i64>,
}

impl LogFilter {
    /// True if the filter narrows the series (meter or item), which changes how the log is scanned.
    pub(super) fn selects_series(&self) -> bool {
        self.request.is_some() || self.meter.is_some() || self.item.is_some()
    }

    /// Conditions on the `reading` table (alias `r`) for the status, the time range and
    /// the rows strictly past `after` in scan `order`, with their parameters in order.
    pub(super) fn conditions(
        &self,
        after: Option<Cursor>,
        order: Order,
    ) -> (Vec<&'static str>, Vec<i64>) {
        let mut sql = Vec::new();
        let mut params = Vec::new();
        match self.status {
            Some(StatusFilter::Ok) => sql.push("r.status = 'ok'"),
            // Written exactly as in the partial indexes' WHERE, so the planner can use them.
            Some(StatusFilter::Failed) => sql.push("r.status <> 'ok'"),
            None => {}
        }
        if let Some(since) = self.since_ms {
            sql.push("r.ts >= ?");
            params.push(since);
        }
        if let Some(until) = self.until_ms {
            sql.push("r.ts < ?");
            params.push(until);
        }
        if let Some(Cursor { ts_ms, id }) = after {
            // The plain bound on ts is what the index range uses; the second term breaks ties by id.
            sql.extend(match order {
                Order::NewestFirst => ["r.ts <= ?", "(r.ts < ? OR r.id < ?)"],
                Order::OldestFirst => ["r.ts >= ?", "(r.ts > ? OR r.id > ?)"],
            });
            params.extend([ts_ms, ts_ms, id]);
        }
        (sql, params)
    }
}
