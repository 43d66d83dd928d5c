//! Reading the PostgreSQL log: the same queries as SQLite's, and the `writes` table.

use tokio_postgres::types::ToSql;

use super::super::query::Order;
use super::super::{Cursor, LogFilter, Record, Row, WriteOutcome, WriteRecord};
use super::{block, from_pg, to_pg, PgStore, StoreError};

/// The columns [`decode`] reads, from `reading` as `r` and `series` as `s`.
const COLUMNS: &str = "r.id, r.ts, s.request, s.meter, s.item, s.obis, s.class, s.attribute, \
                       r.value, r.text, r.unit, r.status, r.poll, r.profile, r.exact, \
                       r.meter_time";

/// Rows fetched per round trip of a long scan (an export): bounded memory, keyset-paged.
const SCAN_PAGE: usize = 10_000;

fn text(row: &tokio_postgres::Row, i: usize) -> Result<String, tokio_postgres::Error> {
    row.try_get::<_, String>(i).map(from_pg)
}

fn opt_text(row: &tokio_postgres::Row, i: usize) -> Result<Option<String>, tokio_postgres::Error> {
    Ok(row.try_get::<_, Option<String>>(i)?.map(from_pg))
}

fn decode(row: &tokio_postgres::Row) -> Result<Row, tokio_postgres::Error> {
    let class: i32 = row.try_get(6)?;
    let attribute: i16 = row.try_get(7)?;
    Ok(Row {
        id: row.try_get(0)?,
        record: Record {
            ts_ms: row.try_get(1)?,
            request: text(row, 2)?,
            meter: text(row, 3)?,
            item: text(row, 4)?,
            obis: text(row, 5)?,
            // Written from a u16 and an i8; anything else was not written by us.
            class: u16::try_from(class).unwrap_or(u16::MAX),
            attribute: i8::try_from(attribute).unwrap_or(i8::MIN),
            value: row.try_get(8)?,
            text: opt_text(row, 9)?,
            unit: opt_text(row, 10)?,
            status: text(row, 11)?,
            poll: row.try_get(12)?,
            profile: row.try_get(13)?,
            exact: opt_text(row, 14)?,
            meter_time: opt_text(row, 15)?,
        },
    })
}

/// SQLite's `?` placeholders in order as PostgreSQL's `$n`, numbered from `first`.
fn numbered(conditions: &[&str], first: usize) -> Vec<String> {
    let mut n = first;
    conditions
        .iter()
        .map(|c| {
            let mut out = String::with_capacity(c.len() + 4);
            for ch in c.chars() {
                if ch == '?' {
                    out.push_str(&format!("${n}"));
                    n += 1;
                } else {
                    out.push(ch);
                }
            }
            out
        })
        .collect()
}

impl PgStore {
    /// Returns a new poll id, greater than every id handed out before.
    pub fn next_poll_id(&mut self) -> Result<i64, StoreError> {
        block(async {
            let client = self.client().await?;
            let row = client
                .query_one(
                    "UPDATE meta SET value = value + 1 WHERE key = 'last_poll' RETURNING value",
                    &[],
                )
                .await
                .map_err(self.fail("allocating a poll id"))?;
            Ok(row.get(0))
        })
    }

    /// Total rows and failed rows, from the series summaries.
    pub fn counts(&self) -> Result<(u64, u64), StoreError> {
        block(async {
            let client = self.client().await?;
            let row = client
                .query_one(
                    "SELECT coalesce(sum(row_count), 0)::int8, coalesce(sum(failed_count), 0)::int8 \
                     FROM series",
                    &[],
                )
                .await
                .map_err(self.fail("counting rows"))?;
            let (rows, failed): (i64, i64) = (row.get(0), row.get(1));
            Ok((
                u64::try_from(rows).unwrap_or(0),
                u64::try_from(failed).unwrap_or(0),
            ))
        })
    }

    /// The newest row of every (request, meter, item), as SQLite orders them (bytewise).
    pub fn latest_per_item(&self) -> Result<Vec<Row>, StoreError> {
        block(async {
            let client = self.client().await?;
            let fail = self.fail("reading the latest values");
            let sql = format!(
                "SELECT {COLUMNS} FROM series AS s JOIN reading AS r \
                     ON r.series = s.id AND r.ts = s.latest_ts AND r.id = s.latest_id \
                 WHERE NOT EXISTS (SELECT 1 FROM series AS o \
                     WHERE o.request = s.request AND o.meter = s.meter AND o.item = s.item \
                     AND (o.latest_ts, o.latest_id) > (s.latest_ts, s.latest_id)) \
                 ORDER BY s.request COLLATE \"C\", s.meter COLLATE \"C\", s.item COLLATE \"C\""
            );
            let rows = client.query(&sql, &[]).await.map_err(&fail)?;
            rows.iter()
                .map(decode)
                .collect::<Result<_, _>>()
                .map_err(fail)
        })
    }

    /// The newest stored capture time of a profile item (name or OBIS code) for a meter.
    pub fn last_profile_ts(&self, meter: &str, item: &str) -> Result<Option<i64>, StoreError> {
        block(async {
            let client = self.client().await?;
            let row = client
                .query_one(
                    "SELECT max(r.ts) FROM series AS s JOIN reading AS r \
                     ON r.series = s.id AND r.profile \
                     WHERE s.meter = $1 AND (s.item = $2 OR s.obis = $2)",
                    &[&to_pg(meter), &to_pg(item)],
                )
                .await
                .map_err(self.fail("reading the last profile time"))?;
            Ok(row.get(0))
        })
    }

    /// The newest stored capture time of any column (`item/OBIS`) of profile item `item`.
    pub fn last_profile_capture(&self, meter: &str, item: &str) -> Result<Option<i64>, StoreError> {
        let prefix = format!("{item}/");
        block(async {
            let client = self.client().await?;
            let row = client
                .query_one(
                    "SELECT max(latest_ts) FROM series WHERE meter = $1 AND starts_with(item, $2)",
                    &[&to_pg(meter), &to_pg(&prefix)],
                )
                .await
                .map_err(self.fail("reading the last profile capture time"))?;
            Ok(row.get(0))
        })
    }

    /// Our invocation counters as SQLite logs of older versions kept them: never here.
    pub fn legacy_counters(&self) -> Result<Vec<(String, u32)>, StoreError> {
        Ok(Vec::new())
    }

    /// Feeds up to `limit` rows matching `filter`, strictly past `after`, in `order` to
    /// `visit`; returns how many. Long scans go in keyset pages of [`SCAN_PAGE`] rows.
    pub(in crate::store) fn scan(
        &self,
        filter: &LogFilter,
        after: Option<Cursor>,
        order: Order,
        limit: usize,
        mut visit: impl FnMut(Row) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        if limit == 0 {
            return Ok(0);
        }
        let series = if filter.selects_series() {
            let ids = block(self.matching_series(filter))?;
            if ids.is_empty() {
                return Ok(0);
            }
            Some(ids)
        } else {
            None
        };
        let mut after = after;
        let mut emitted = 0usize;
        loop {
            let want = (limit - emitted).min(SCAN_PAGE);
            let page = block(self.page(filter, series.as_deref(), after, order, want))?;
            let got = page.len();
            for row in page {
                after = Some(row.cursor());
                visit(row)?;
            }
            emitted += got;
            if got < want || emitted == limit {
                return Ok(emitted as u64);
            }
        }
    }

    async fn matching_series(&self, filter: &LogFilter) -> Result<Vec<i64>, StoreError> {
        let client = self.client().await?;
        let (meter, item, request) = (
            filter.meter.as_deref().map(to_pg),
            filter.item.as_deref().map(to_pg),
            filter.request.as_deref().map(to_pg),
        );
        let rows = client
            .query(
                "SELECT id FROM series WHERE ($1::text IS NULL OR meter = $1) \
                 AND ($2::text IS NULL OR item = $2 OR obis = $2) \
                 AND ($3::text IS NULL OR request = $3)",
                &[&meter, &item, &request],
            )
            .await
            .map_err(self.fail("reading the log"))?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn page(
        &self,
        filter: &LogFilter,
        series: Option<&[i64]>,
        after: Option<Cursor>,
        order: Order,
        limit: usize,
    ) -> Result<Vec<Row>, StoreError> {
        let client = self.client().await?;
        let fail = self.fail("reading the log");
        let (conditions, params) = filter.conditions(after, order);
        let first = if series.is_some() { 2 } else { 1 };
        let mut all = Vec::with_capacity(conditions.len() + 1);
        if series.is_some() {
            all.push("r.series = ANY($1)".to_string());
        }
        all.extend(numbered(&conditions, first));
        let filter_sql = if all.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", all.join(" AND "))
        };
        let order_sql = match order {
            Order::OldestFirst => "ORDER BY r.ts, r.id",
            Order::NewestFirst => "ORDER BY r.ts DESC, r.id DESC",
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM reading AS r JOIN series AS s ON s.id = r.series \
             {filter_sql} {order_sql} LIMIT ${}",
            first + params.len()
        );
        let ids: Vec<i64> = series.map(<[i64]>::to_vec).unwrap_or_default();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut bound: Vec<&(dyn ToSql + Sync)> = Vec::with_capacity(params.len() + 2);
        if series.is_some() {
            bound.push(&ids);
        }
        bound.extend(params.iter().map(|p| p as &(dyn ToSql + Sync)));
        bound.push(&limit);
        let statement = client.prepare_cached(&sql).await.map_err(&fail)?;
        let rows = client.query(&statement, &bound).await.map_err(&fail)?;
        rows.iter()
            .map(decode)
            .collect::<Result<_, _>>()
            .map_err(fail)
    }

    /// Records a change about to be sent; returns its id.
    pub fn begin_write(&mut self, w: &WriteRecord) -> Result<i64, StoreError> {
        block(async {
            let client = self.client().await?;
            let row = client
                .query_one(
                    "INSERT INTO writes (ts, source, meter, kind, obis, class, member, request, \
                     old_value, new_value, outcome, result, returned) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
                    &[
                        &w.ts_ms,
                        &to_pg(&w.source),
                        &to_pg(&w.meter),
                        &to_pg(&w.kind),
                        &to_pg(&w.obis),
                        &i32::from(w.class),
                        &i16::from(w.member),
                        &to_pg(&w.request),
                        &w.old_value.as_deref().map(to_pg),
                        &w.new_value.as_deref().map(to_pg),
                        &w.outcome.name(),
                        &w.result.as_deref().map(to_pg),
                        &w.returned.as_deref().map(to_pg),
                    ],
                )
                .await
                .map_err(self.fail("recording a change"))?;
            Ok(row.get(0))
        })
    }

    /// Completes a recorded change with its outcome and the value read back.
    pub fn finish_write(&mut self, id: i64, w: &WriteRecord) -> Result<(), StoreError> {
        block(async {
            let client = self.client().await?;
            client
                .execute(
                    "UPDATE writes SET new_value = $2, outcome = $3, result = $4, returned = $5 \
                     WHERE id = $1",
                    &[
                        &id,
                        &w.new_value.as_deref().map(to_pg),
                        &w.outcome.name(),
                        &w.result.as_deref().map(to_pg),
                        &w.returned.as_deref().map(to_pg),
                    ],
                )
                .await
                .map_err(self.fail("recording a change's outcome"))?;
            Ok(())
        })
    }

    /// The newest `limit` changes, newest first.
    pub fn writes(&self, limit: usize) -> Result<Vec<(i64, WriteRecord)>, StoreError> {
        block(async {
            let client = self.client().await?;
            let fail = self.fail("reading the changes made to meters");
            let rows = client
                .query(
                    "SELECT id, ts, source, meter, kind, obis, class, member, request, old_value, \
                     new_value, outcome, result, returned FROM writes ORDER BY ts DESC, id DESC \
                     LIMIT $1",
                    &[&i64::try_from(limit).unwrap_or(i64::MAX)],
                )
                .await
                .map_err(&fail)?;
            rows.iter()
                .map(|r| {
                    let class: i32 = r.try_get(6)?;
                    let member: i16 = r.try_get(7)?;
                    let outcome = text(r, 11)?;
                    Ok((
                        r.try_get(0)?,
                        WriteRecord {
                            ts_ms: r.try_get(1)?,
                            source: text(r, 2)?,
                            meter: text(r, 3)?,
                            kind: text(r, 4)?,
                            obis: text(r, 5)?,
                            class: u16::try_from(class).unwrap_or(u16::MAX),
                            member: i8::try_from(member).unwrap_or(i8::MIN),
                            request: text(r, 8)?,
                            old_value: opt_text(r, 9)?,
                            new_value: opt_text(r, 10)?,
                            outcome: WriteOutcome::from_name(&outcome),
                            result: opt_text(r, 12)?,
                            returned: opt_text(r, 13)?,
                        },
                    ))
                })
                .collect::<Result<Vec<_>, tokio_postgres::Error>>()
                .map_err(fail)
        })
    }
}

impl super::super::query::Scan for PgStore {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_in_order() {
        assert_eq!(
            numbered(
                &["r.ts >= ?", "(r.ts < ? OR r.id < ?)", "r.status = 'ok'"],
                2
            ),
            ["r.ts >= $2", "(r.ts < $3 OR r.id < $4)", "r.status = 'ok'"]
        );
    }
}
