//! Writing batches of readings, and keeping the per-series summary in step.

use std::collections::HashMap;

use rusqlite::{params, OptionalExtension, Transaction, TransactionBehavior};

use super::{Reading, Store, StoreError};

impl Store {
    /// Writes a batch in one transaction; returns how many rows were stored (duplicates of profile rows skipped).
    pub fn insert_batch(&mut self, rows: &[Reading]) -> Result<usize, StoreError> {
        let path = &self.path;
        let fail = |action| move |e| StoreError::sqlite(path, action, e);
        // IMMEDIATE takes the write lock up front, so a competing writer makes us wait
        // (busy timeout) instead of failing later when a read would upgrade to a write.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail("starting a write transaction"))?;
        let stored = write_rows(&tx, rows).map_err(fail("inserting a batch of readings"))?;
        tx.commit()
            .map_err(fail("committing a batch of readings"))?;
        Ok(stored)
    }
}

impl Store {
    /// Writes several batches in one transaction (group commit); returns each one's stored count.
    pub fn insert_batches(&mut self, batches: &[&[Reading]]) -> Result<Vec<usize>, StoreError> {
        let path = &self.path;
        let fail = |action| move |e| StoreError::sqlite(path, action, e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail("starting a write transaction"))?;
        let mut counts = Vec::with_capacity(batches.len());
        for rows in batches {
            counts.push(write_rows(&tx, rows).map_err(fail("inserting a batch of readings"))?);
        }
        tx.commit()
            .map_err(fail("committing a batch of readings"))?;
        Ok(counts)
    }
}

/// What a batch adds to one series row.
struct SeriesDelta {
    rows: i64,
    failed: i64,
    latest: (i64, i64),
}

/// The identity of a series: which object of which meter, read by which request under which name.
type SeriesKey<'a> = (&'a str, &'a str, &'a str, &'a str, u16, i8);

fn write_rows(tx: &Transaction<'_>, rows: &[Reading]) -> rusqlite::Result<usize> {
    // Series ids are cached for this batch only: a rolled-back batch must not leave
    // ids of series that were never committed behind.
    let mut series_ids: HashMap<SeriesKey<'_>, i64> = HashMap::new();
    let mut deltas: HashMap<i64, SeriesDelta> = HashMap::new();
    let mut find_series = tx.prepare_cached(
        "SELECT id FROM series WHERE request = ?1 AND meter = ?2 AND item = ?3 \
         AND obis = ?4 AND class = ?5 AND attribute = ?6",
    )?;
    let mut add_series = tx.prepare_cached(
        "INSERT INTO series (request, meter, item, obis, class, attribute) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    // DO NOTHING applies to uniqueness only (the profile index), unlike OR IGNORE,
    // which would also hide NOT NULL violations.
    let mut insert = tx.prepare_cached(
        "INSERT INTO reading (ts, series, value, text, unit, status, poll, profile) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT DO NOTHING",
    )?;
    let mut stored = 0;
    for r in rows {
        let key = (
            r.request.as_str(),
            r.meter.as_str(),
            r.item.as_str(),
            r.obis.as_str(),
            r.class,
            r.attribute,
        );
        let series = match series_ids.get(&key) {
            Some(&id) => id,
            None => {
                let bound = params![key.0, key.1, key.2, key.3, key.4, key.5];
                let id = match find_series.query_row(bound, |row| row.get(0)).optional()? {
                    Some(id) => id,
                    None => {
                        add_series.execute(bound)?;
                        tx.last_insert_rowid()
                    }
                };
                series_ids.insert(key, id);
                id
            }
        };
        let inserted = insert.execute(params![
            r.ts_ms, series, r.value, r.text, r.unit, r.status, r.poll, r.profile
        ])?;
        if inserted == 0 {
            continue; // a profile row stored before
        }
        stored += 1;
        let position = (r.ts_ms, tx.last_insert_rowid());
        let delta = deltas.entry(series).or_insert(SeriesDelta {
            rows: 0,
            failed: 0,
            latest: position,
        });
        delta.rows += 1;
        delta.failed += i64::from(r.is_failure());
        delta.latest = delta.latest.max(position);
    }
    let mut update = tx.prepare_cached(
        "UPDATE series SET row_count = row_count + ?2, failed_count = failed_count + ?3, \
         latest_ts = CASE WHEN latest_id IS NULL OR (?4, ?5) > (latest_ts, latest_id) \
                     THEN ?4 ELSE latest_ts END, \
         latest_id = CASE WHEN latest_id IS NULL OR (?4, ?5) > (latest_ts, latest_id) \
                     THEN ?5 ELSE latest_id END \
         WHERE id = ?1",
    )?;
    for (series, delta) in &deltas {
        let (ts, id) = delta.latest;
        update.execute(params![series, delta.rows, delta.failed, ts, id])?;
    }
    // Poll ids handed out in memory by a runner stay unique across restarts: the counter
    // never falls behind the ids already stored.
    if let Some(max_poll) = rows.iter().map(|r| r.poll).max() {
        tx.execute(
            "UPDATE meta SET value = max(value, ?1) WHERE key = 'last_poll'",
            params![max_poll],
        )?;
    }
    Ok(stored)
}

#[cfg(test)]
mod tests {
    use super::super::reading::sample;
    use super::super::LogFilter;
    use super::*;

    #[test]
    fn stored_poll_ids_advance_the_counter() {
        let mut store = Store::open_in_memory().unwrap();
        let mut r = sample::ok("m1", "energy", 5, 1.0);
        r.poll = 41;
        store.insert_batch(&[r]).unwrap();
        assert_eq!(store.next_poll_id().unwrap(), 42);
    }

    #[test]
    fn failures_are_rows_and_counted() {
        let mut store = Store::open_in_memory().unwrap();
        let failure = sample::failed(
            "m1",
            "energy",
            10,
            "no response from meter m1 after 3 tries",
        );
        store
            .insert_batch(&[sample::ok("m1", "energy", 5, 1.0), failure.clone()])
            .unwrap();
        let newest = store.log_page(&LogFilter::default(), None, 1).unwrap();
        assert_eq!(newest[0].reading, failure);
        assert!(newest[0].reading.is_failure());
        assert_eq!(store.counts().unwrap(), (2, 1));
    }

    #[test]
    fn profile_duplicates_are_stored_once() {
        let mut store = Store::open_in_memory().unwrap();
        let profile = |ts, value| Reading {
            profile: true,
            ..sample::ok("m1", "load", ts, value)
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
        assert_eq!(store.insert_batch(&again).unwrap(), 1);
        assert_eq!(store.counts().unwrap(), (3, 0));
        assert_eq!(store.last_profile_ts("m1", "load").unwrap(), Some(2700));
        assert_eq!(store.last_profile_ts("m2", "load").unwrap(), None);
        // Ordinary readings may repeat a timestamp.
        let plain = sample::ok("m1", "energy", 100, 1.0);
        assert_eq!(store.insert_batch(&[plain.clone(), plain]).unwrap(), 2);
        assert_eq!(store.last_profile_ts("m1", "energy").unwrap(), None);
    }
}
