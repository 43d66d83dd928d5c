//! Writing batches of readings into PostgreSQL: one transaction per group, rows by binary COPY.

use std::collections::{HashMap, HashSet};

use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};

use super::super::insert::SeriesIds;
use super::super::Record;
use super::{block, to_pg, PgStore, StoreError};

/// The columns COPY fills, and their types in that order.
const COPY_COLUMNS: &str =
    "(id, ts, series, value, text, unit, status, poll, profile, exact, meter_time)";
const COPY_TYPES: [Type; 11] = [
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::FLOAT8,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::INT8,
    Type::BOOL,
    Type::TEXT,
    Type::TEXT,
];

/// What a group adds to one series row.
struct SeriesDelta {
    rows: i64,
    failed: i64,
    latest: (i64, i64),
}

impl PgStore {
    /// Inserts a batch in one transaction; returns how many rows were stored (a profile row
    /// stored before is skipped, as in SQLite).
    pub fn insert_batch(&mut self, rows: &[Record]) -> Result<usize, StoreError> {
        Ok(self.insert_batches(&[rows])?.first().copied().unwrap_or(0))
    }

    /// Inserts several batches in one transaction (group commit); returns the rows stored per
    /// batch. Nothing is stored if any batch fails.
    pub fn insert_batches(&mut self, batches: &[&[Record]]) -> Result<Vec<usize>, StoreError> {
        block(self.write(batches))
    }

    async fn write(&mut self, batches: &[&[Record]]) -> Result<Vec<usize>, StoreError> {
        if batches.iter().all(|b| b.is_empty()) {
            return Ok(vec![0; batches.len()]);
        }
        let mut months: Vec<i64> = Vec::new();
        let mut outside = false;
        for batch in batches {
            for r in batch.iter() {
                match super::schema::month_of(r.ts_ms) {
                    Some(m) if months.last() != Some(&m) => months.push(m),
                    Some(_) => {}
                    None => outside = true,
                }
            }
        }
        // A group within one month (the usual case) goes straight into its partition, which
        // spares the server routing each row.
        let into = match months.as_slice() {
            [m] if !outside => super::schema::partition_name(*m),
            _ => None,
        }
        .unwrap_or_else(|| "reading".to_string());
        self.ensure_partitions(months).await?;
        let mut client = self.client().await?;
        let fail = self.fail("inserting a batch of readings");
        let tx = client.transaction().await.map_err(&fail)?;
        // The row lock on last_reading orders concurrent writers: ids grow in commit order, and
        // the check for stored profile rows below sees every earlier writer's rows.
        let mut last_id: i64 = tx
            .query_one(
                "SELECT value FROM meta WHERE key = 'last_reading' FOR UPDATE",
                &[],
            )
            .await
            .map_err(&fail)?
            .get(0);

        // Series ids: committed ones from the cache, the rest found or created now and cached
        // only after the commit.
        let mut fresh = SeriesIds::default();
        let mut series_of = Vec::with_capacity(batches.iter().map(|b| b.len()).sum());
        let upsert = tx
            .prepare_cached(
                "INSERT INTO series (request, meter, item, obis, class, attribute) \
                 VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (request, meter, item, obis, class, attribute) \
                 DO UPDATE SET request = EXCLUDED.request RETURNING id",
            )
            .await
            .map_err(&fail)?;
        for r in batches
            .iter()
            .flat_map(|b| b.iter())
            .collect::<Vec<&Record>>()
        {
            let id = match self.series.get(r).or_else(|| fresh.get(r)) {
                Some(id) => id,
                None => {
                    let id: i64 = tx
                        .query_one(
                            &upsert,
                            &[
                                &to_pg(&r.request),
                                &to_pg(&r.meter),
                                &to_pg(&r.item),
                                &to_pg(&r.obis),
                                &i32::from(r.class),
                                &i16::from(r.attribute),
                            ],
                        )
                        .await
                        .map_err(&fail)?
                        .get(0);
                    fresh.remember(r, id);
                    id
                }
            };
            series_of.push(id);
        }

        // Profile rows stored before (or twice in this group) are skipped, keeping ids dense.
        let records: Vec<&Record> = batches.iter().flat_map(|b| b.iter()).collect();
        let (p_series, p_ts): (Vec<i64>, Vec<i64>) = records
            .iter()
            .zip(&series_of)
            .filter(|(r, _)| r.profile)
            .map(|(r, s)| (*s, r.ts_ms))
            .unzip();
        let mut seen: HashSet<(i64, i64)> = HashSet::new();
        if !p_series.is_empty() {
            for row in tx
                .query(
                    "SELECT r.series, r.ts FROM reading AS r \
                     JOIN unnest($1::int8[], $2::int8[]) AS p (series, ts) \
                     ON r.series = p.series AND r.ts = p.ts WHERE r.profile",
                    &[&p_series, &p_ts],
                )
                .await
                .map_err(&fail)?
            {
                seen.insert((row.get(0), row.get(1)));
            }
        }

        let copy = format!("COPY {into} {COPY_COLUMNS} FROM STDIN (FORMAT binary)");
        let sink = tx.copy_in(&copy).await.map_err(&fail)?;
        let writer = BinaryCopyInWriter::new(sink, &COPY_TYPES);
        let mut writer = std::pin::pin!(writer);
        let mut counts = Vec::with_capacity(batches.len());
        let mut deltas: HashMap<i64, SeriesDelta> = HashMap::new();
        let mut max_poll: Option<i64> = None;
        let mut at = 0;
        for batch in batches {
            let mut stored = 0;
            for r in batch.iter() {
                let series = series_of[at];
                at += 1;
                if r.profile && !seen.insert((series, r.ts_ms)) {
                    continue;
                }
                last_id += 1;
                let text = r.text.as_deref().map(to_pg);
                let unit = r.unit.as_deref().map(to_pg);
                let status = to_pg(&r.status);
                let exact = r.exact.as_deref().map(to_pg);
                let meter_time = r.meter_time.as_deref().map(to_pg);
                let values: [&(dyn ToSql + Sync); 11] = [
                    &last_id,
                    &r.ts_ms,
                    &series,
                    &r.value,
                    &text,
                    &unit,
                    &status,
                    &r.poll,
                    &r.profile,
                    &exact,
                    &meter_time,
                ];
                writer.as_mut().write(&values).await.map_err(&fail)?;
                stored += 1;
                let position = (r.ts_ms, last_id);
                let delta = deltas.entry(series).or_insert(SeriesDelta {
                    rows: 0,
                    failed: 0,
                    latest: position,
                });
                delta.rows += 1;
                delta.failed += i64::from(r.is_failure());
                delta.latest = delta.latest.max(position);
            }
            if let Some(p) = batch.iter().map(|r| r.poll).max() {
                max_poll = Some(max_poll.map_or(p, |m: i64| m.max(p)));
            }
            counts.push(stored);
        }
        writer.finish().await.map_err(&fail)?;

        let mut ids = Vec::with_capacity(deltas.len());
        let mut rows = Vec::with_capacity(deltas.len());
        let mut failed = Vec::with_capacity(deltas.len());
        let mut ts = Vec::with_capacity(deltas.len());
        let mut rid = Vec::with_capacity(deltas.len());
        for (id, d) in &deltas {
            ids.push(*id);
            rows.push(d.rows);
            failed.push(d.failed);
            ts.push(d.latest.0);
            rid.push(d.latest.1);
        }
        tx.execute(
            "UPDATE series AS s SET row_count = s.row_count + d.n, \
             failed_count = s.failed_count + d.f, \
             latest_ts = CASE WHEN s.latest_id IS NULL OR (d.ts, d.rid) > (s.latest_ts, s.latest_id) \
                         THEN d.ts ELSE s.latest_ts END, \
             latest_id = CASE WHEN s.latest_id IS NULL OR (d.ts, d.rid) > (s.latest_ts, s.latest_id) \
                         THEN d.rid ELSE s.latest_id END \
             FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::int8[], $5::int8[]) \
                 AS d (id, n, f, ts, rid) \
             WHERE s.id = d.id",
            &[&ids, &rows, &failed, &ts, &rid],
        )
        .await
        .map_err(&fail)?;
        tx.execute(
            "UPDATE meta SET value = $1 WHERE key = 'last_reading'",
            &[&last_id],
        )
        .await
        .map_err(&fail)?;
        // Poll ids handed out in memory by a runner stay unique across restarts.
        if let Some(p) = max_poll {
            tx.execute(
                "UPDATE meta SET value = greatest(value, $1) WHERE key = 'last_poll'",
                &[&p],
            )
            .await
            .map_err(&fail)?;
        }
        tx.commit()
            .await
            .map_err(self.fail("committing a batch of readings"))?;
        self.series.absorb(fresh);
        Ok(counts)
    }
}
