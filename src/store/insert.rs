//! Writing batches of readings, and keeping the per-series summary in step.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use rusqlite::{params, OptionalExtension, Transaction, TransactionBehavior};

use super::{Record, Store, StoreError};

impl Store {
    /// Writes a batch in one transaction; returns how many rows were stored (duplicates of profile rows skipped).
    pub fn insert_batch(&mut self, rows: &[Record]) -> Result<usize, StoreError> {
        Ok(self.insert_batches(&[rows])?[0])
    }

    /// Writes several batches in one transaction (group commit); returns each one's stored count.
    pub fn insert_batches(&mut self, batches: &[&[Record]]) -> Result<Vec<usize>, StoreError> {
        let path = &self.path;
        let fail = |action| move |e| StoreError::sqlite(path, action, e);
        // Series created by this transaction are cached only once it commits: a rolled-back
        // batch must not leave ids of series that were never committed behind.
        let mut fresh = SeriesIds::default();
        // IMMEDIATE takes the write lock up front, so a competing writer makes us wait
        // (busy timeout) instead of failing later when a read would upgrade to a write.
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail("starting a write transaction"))?;
        let mut counts = Vec::with_capacity(batches.len());
        for rows in batches {
            let stored = write_rows(&tx, rows, &self.series, &mut fresh)
                .map_err(fail("inserting a batch of readings"))?;
            counts.push(stored);
        }
        tx.commit()
            .map_err(fail("committing a batch of readings"))?;
        self.series.ids.extend(fresh.ids);
        Ok(counts)
    }
}

/// A hash map with a fast non-cryptographic hasher: keys are configured names and row ids,
/// not attacker-chosen, and the lookups run once per inserted row.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Series ids by series name.
#[derive(Default)]
pub(super) struct SeriesIds {
    ids: FastMap<SeriesName, i64>,
}

impl SeriesIds {
    pub(super) fn get(&self, record: &Record) -> Option<i64> {
        self.ids.get(record as &dyn SeriesKey).copied()
    }

    /// Remembers `id` as the series of `record`.
    pub(super) fn remember(&mut self, record: &Record, id: i64) {
        if let Some(name) = SeriesName::new(record.key()) {
            self.ids.insert(name, id);
        }
    }

    /// Takes over the ids of `other` (a committed transaction's new series).
    pub(super) fn absorb(&mut self, other: SeriesIds) {
        self.ids.extend(other.ids);
    }

    /// How many series are cached.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.ids.len()
    }
}

/// The identity of a series: which object of which meter, read by which request under which
/// name. The four names are kept as one string (with the lengths of the first three), so a
/// cached series is one small allocation: a fleet of 10,000 meters with 5 items each has 50,000
/// series, about 5 MB cached this way instead of 13 MB as four strings each.
struct SeriesName {
    /// Request, meter, item and OBIS names, one after the other.
    names: Box<str>,
    /// Lengths of the request, meter and item names in `names`.
    lengths: [u32; 3],
    class: u16,
    attribute: i8,
}

impl SeriesName {
    /// The name of a series key; `None` for names too long to measure in 32 bits (such a
    /// series is then looked up in the database each time, never cached).
    fn new(
        (request, meter, item, obis, class, attribute): (&str, &str, &str, &str, u16, i8),
    ) -> Option<Self> {
        let len = |s: &str| u32::try_from(s.len()).ok();
        Some(SeriesName {
            names: [request, meter, item, obis].concat().into_boxed_str(),
            lengths: [len(request)?, len(meter)?, len(item)?],
            class,
            attribute,
        })
    }
}

/// A series identity borrowed from an owned name or from a reading, so that the cache is
/// searched with a reading's fields without allocating a key per row.
trait SeriesKey {
    fn key(&self) -> (&str, &str, &str, &str, u16, i8);
}

impl SeriesKey for SeriesName {
    fn key(&self) -> (&str, &str, &str, &str, u16, i8) {
        // The lengths were taken from the very strings joined, so every cut is on one of
        // their boundaries.
        let [r, m, i] = self.lengths.map(|l| l as usize);
        let part = |from: usize, to: usize| self.names.get(from..to).unwrap_or_default();
        (
            part(0, r),
            part(r, r + m),
            part(r + m, r + m + i),
            part(r + m + i, self.names.len()),
            self.class,
            self.attribute,
        )
    }
}

impl SeriesKey for Record {
    fn key(&self) -> (&str, &str, &str, &str, u16, i8) {
        let r = self;
        (&r.request, &r.meter, &r.item, &r.obis, r.class, r.attribute)
    }
}

// Hash and equality of names and borrowed keys both go through `key()`, as `Borrow` requires.
impl Hash for dyn SeriesKey + '_ {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key().hash(state);
    }
}

impl PartialEq for dyn SeriesKey + '_ {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for dyn SeriesKey + '_ {}

impl Hash for SeriesName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.key().hash(state);
    }
}

impl PartialEq for SeriesName {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for SeriesName {}

impl<'a> Borrow<dyn SeriesKey + 'a> for SeriesName {
    fn borrow(&self) -> &(dyn SeriesKey + 'a) {
        self
    }
}

/// What a batch adds to one series row.
struct SeriesDelta {
    rows: i64,
    failed: i64,
    latest: (i64, i64),
}

/// Inserts `rows`, finding series ids in `committed` (ids known to be committed), then in
/// `fresh` (ids this transaction has looked up or created), then in the database.
fn write_rows(
    tx: &Transaction<'_>,
    rows: &[Record],
    committed: &SeriesIds,
    fresh: &mut SeriesIds,
) -> rusqlite::Result<usize> {
    let mut deltas: FastMap<i64, SeriesDelta> = FastMap::default();
    // DO NOTHING applies to uniqueness only (the profile index), unlike OR IGNORE,
    // which would also hide NOT NULL violations.
    let mut insert = tx.prepare_cached(
        "INSERT INTO reading (ts, series, value, text, unit, status, poll, profile, exact, \
         meter_time) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT DO NOTHING",
    )?;
    let mut stored = 0;
    for r in rows {
        let series = match committed.get(r).or_else(|| fresh.get(r)) {
            Some(id) => id,
            None => series_id(tx, r, fresh)?,
        };
        // Bound one by one: no slice of trait objects per row.
        insert.raw_bind_parameter(1, r.ts_ms)?;
        insert.raw_bind_parameter(2, series)?;
        insert.raw_bind_parameter(3, r.value)?;
        insert.raw_bind_parameter(4, &r.text)?;
        insert.raw_bind_parameter(5, &r.unit)?;
        insert.raw_bind_parameter(6, &r.status)?;
        insert.raw_bind_parameter(7, r.poll)?;
        insert.raw_bind_parameter(8, r.profile)?;
        insert.raw_bind_parameter(9, &r.exact)?;
        insert.raw_bind_parameter(10, &r.meter_time)?;
        let inserted = insert.raw_execute()?;
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
        tx.prepare_cached("UPDATE meta SET value = max(value, ?1) WHERE key = 'last_poll'")?
            .execute(params![max_poll])?;
    }
    Ok(stored)
}

/// The id of `r`'s series, created if missing; remembered in `fresh`.
fn series_id(tx: &Transaction<'_>, r: &Record, fresh: &mut SeriesIds) -> rusqlite::Result<i64> {
    let (request, meter, item, obis, class, attribute) = r.key();
    let bound = params![request, meter, item, obis, class, attribute];
    let found = tx
        .prepare_cached(
            "SELECT id FROM series WHERE request = ?1 AND meter = ?2 AND item = ?3 \
             AND obis = ?4 AND class = ?5 AND attribute = ?6",
        )?
        .query_row(bound, |row| row.get(0))
        .optional()?;
    let id = match found {
        Some(id) => id,
        None => {
            tx.prepare_cached(
                "INSERT INTO series (request, meter, item, obis, class, attribute) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(bound)?;
            tx.last_insert_rowid()
        }
    };
    fresh.remember(r, id);
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::super::record::sample;
    use super::super::LogFilter;
    use super::super::Scan;
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
        assert_eq!(newest[0].record, failure);
        assert!(newest[0].record.is_failure());
        assert_eq!(store.counts().unwrap(), (2, 1));
    }

    /// Makes every insert of a row with timestamp 666 fail, rolling back its transaction.
    fn fail_on_666(store: &Store) {
        store
            .conn
            .execute_batch(
                "CREATE TEMP TRIGGER fail_666 BEFORE INSERT ON reading WHEN NEW.ts = 666 \
                 BEGIN SELECT RAISE(ABORT, 'test failure'); END",
            )
            .unwrap();
    }

    #[test]
    fn a_cached_series_name_gives_back_its_key() {
        for key in [
            ("r", "m1", "energy", "1.0.1.8.0.255", 3, 2),
            ("", "", "", "", 0, 0),
            ("ré", "zähler", "", "1.0.1.8.0.255", 7, -1),
            ("ab", "c", "de", "f", 1, 1),
        ] {
            let name = SeriesName::new(key).unwrap();
            assert_eq!(name.key(), key);
        }
        // Names that differ only in where one ends and the next begins are other series.
        let a = SeriesName::new(("ab", "c", "x", "o", 1, 2)).unwrap();
        let b = SeriesName::new(("a", "bc", "x", "o", 1, 2)).unwrap();
        assert!(a != b);
        let mut ids = SeriesIds::default();
        let mut r = sample::ok("m1", "energy", 1, 1.0);
        ids.remember(&r, 7);
        assert_eq!(ids.get(&r), Some(7));
        r.meter = "m".into();
        r.request = format!("{}1", r.request);
        assert_eq!(ids.get(&r), None);
    }

    #[test]
    fn series_ids_are_cached_across_batches() {
        let mut store = Store::open_in_memory().unwrap();
        store
            .insert_batch(&[sample::ok("m1", "energy", 1, 1.0)])
            .unwrap();
        assert_eq!(store.series.len(), 1);
        store
            .insert_batch(&[
                sample::ok("m1", "energy", 2, 2.0),
                sample::ok("m1", "power", 2, 3.0),
            ])
            .unwrap();
        assert_eq!(store.series.len(), 2);
        let latest = store.latest_per_item().unwrap();
        let summary: Vec<_> = latest
            .iter()
            .map(|r| (r.record.item.as_str(), r.record.ts_ms))
            .collect();
        assert_eq!(summary, [("energy", 2), ("power", 2)]);
        assert_eq!(store.counts().unwrap(), (3, 0));
    }

    #[test]
    fn a_rolled_back_batch_leaves_no_cached_series_ids() {
        let mut store = Store::open_in_memory().unwrap();
        store
            .insert_batch(&[sample::ok("m1", "energy", 1, 1.0)])
            .unwrap();
        fail_on_666(&store);
        // m2's series is created inside the transaction, then rolled back with it.
        let failing = [
            sample::ok("m2", "energy", 5, 2.0),
            sample::ok("m1", "energy", 666, 0.0),
        ];
        assert!(store.insert_batch(&failing).is_err());
        // In a group commit, one failing batch rolls back the series of the others too.
        let m3 = [sample::ok("m3", "energy", 6, 3.0)];
        let m4_failing = [sample::ok("m4", "energy", 666, 0.0)];
        assert!(store.insert_batches(&[&m3, &m4_failing]).is_err());
        assert_eq!(store.series.len(), 1, "only m1's series was committed");
        // A new series now takes the id m2 had inside the rolled-back transaction; a stale
        // cache entry would file m2's next row under m5.
        store
            .insert_batch(&[sample::ok("m5", "energy", 7, 4.0)])
            .unwrap();
        store
            .insert_batch(&[sample::ok("m2", "energy", 8, 5.0)])
            .unwrap();
        let log = store.log_page(&LogFilter::default(), None, 10).unwrap();
        let meters: Vec<_> = log
            .iter()
            .map(|r| (r.record.meter.as_str(), r.record.ts_ms))
            .collect();
        assert_eq!(meters, [("m2", 8), ("m5", 7), ("m1", 1)]);
        assert_eq!(store.series.len(), 3);
        assert_eq!(store.latest_per_item().unwrap().len(), 3);
    }

    #[test]
    fn ids_follow_the_batch_and_summaries_match_the_rows() {
        const RUN: usize = 64;
        let mut store = Store::open_in_memory().unwrap();
        // Runs of ordinary rows broken up by profile rows, one of them a duplicate, and
        // failures among them.
        let mut batch = Vec::new();
        for i in 0..(3 * RUN as i64 + 10) {
            let meter = format!("m{}", i % 7);
            let mut r = if i % 11 == 0 {
                sample::failed(&meter, "energy", 1_000 - i, "timeout")
            } else {
                sample::ok(&meter, "energy", 1_000 - i, i as f64)
            };
            if i == RUN as i64 + 3 || i == 2 * RUN as i64 + 5 {
                r = Record {
                    profile: true,
                    ts_ms: 7,
                    ..sample::ok("m1", "load", 7, 1.0)
                };
            }
            batch.push(r);
        }
        let expected: Vec<Record> = batch
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != 2 * RUN + 5)
            .map(|(_, r)| r.clone())
            .collect();
        assert_eq!(store.insert_batch(&batch).unwrap(), expected.len());
        let failed = expected.iter().filter(|r| r.is_failure()).count();
        assert_eq!(
            store.counts().unwrap(),
            (expected.len() as u64, failed as u64)
        );
        // Ids follow the batch order (timestamps fall, so newest first is id order).
        let log = store
            .log_page(&LogFilter::default(), None, expected.len())
            .unwrap();
        let by_id: Vec<_> = {
            let mut rows = log.clone();
            rows.sort_by_key(|r| r.id);
            rows.into_iter().map(|r| r.record).collect()
        };
        assert_eq!(by_id, expected);
        // Every series summary agrees with its rows.
        let mismatched: i64 = store
            .conn
            .query_row(
                "SELECT count(*) FROM series AS s WHERE \
                 s.row_count <> (SELECT count(*) FROM reading WHERE series = s.id) \
                 OR s.failed_count <> (SELECT count(*) FROM reading \
                     WHERE series = s.id AND status <> 'ok') \
                 OR s.latest_id <> (SELECT id FROM reading WHERE series = s.id \
                     ORDER BY ts DESC, id DESC LIMIT 1)",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert_eq!(mismatched, 0);
    }

    #[test]
    fn profile_duplicates_are_stored_once() {
        let mut store = Store::open_in_memory().unwrap();
        let profile = |ts, value| Record {
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
