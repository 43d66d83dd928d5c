//! The sinks' persistent outbox: messages waiting for a sink (an MQTT broker that is away),
//! kept in order in an SQLite file beside the log (`<db>.outbox`), bounded per sink with the
//! oldest dropped and counted; and each sink's last reported state, for `dlms-logger status`.
//!
//! One `Outbox` per sink, on the sink's own thread: the count it keeps in memory is its own
//! sink's. WAL with `synchronous=NORMAL`: a message survives the logger's crash or kill (the
//! OS has the WAL); a power loss may cost the last moments, which the log itself still holds.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};

/// A message for a sink: where it goes and what it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutMessage {
    /// The topic (MQTT) or other address within the sink.
    pub topic: String,
    /// The bytes to publish.
    pub payload: Vec<u8>,
    /// Kept by the broker for late subscribers (discovery configs).
    pub retain: bool,
}

/// Why the outbox failed.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    /// SQLite refused an operation.
    #[error("sink outbox {path}: {action} failed: {source}")]
    Sqlite {
        /// The outbox file.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// SQLite's error.
        source: rusqlite::Error,
    },
}

/// The outbox file of a log database: `<db>.outbox` beside it.
pub fn outbox_path(db: &Path) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push(".outbox");
    PathBuf::from(s)
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS message (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sink TEXT NOT NULL,
    topic TEXT NOT NULL,
    payload BLOB NOT NULL,
    retain INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS message_sink ON message (sink, id);
CREATE TABLE IF NOT EXISTS sink_state (
    sink TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    updated_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sink_dropped (
    sink TEXT PRIMARY KEY,
    dropped INTEGER NOT NULL
);
";

/// One sink's messages in the outbox file.
pub struct Outbox {
    conn: Connection,
    path: PathBuf,
    sink: String,
    queued: u64,
    dropped: u64,
}

impl Outbox {
    /// Opens (creating, owner-only) the outbox at `path` for `sink`.
    pub fn open(path: &Path, sink: &str) -> Result<Outbox, OutboxError> {
        let fail = |action| {
            let path = path.to_path_buf();
            move |source| OutboxError::Sqlite {
                path,
                action,
                source,
            }
        };
        if !path.exists() {
            // Created owner-only before SQLite opens it: payloads are the readings.
            let mut o = std::fs::OpenOptions::new();
            o.write(true).create(true).truncate(false);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
            let _ = o.open(path);
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(fail("opening"))?;
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(fail("setting the busy timeout"))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(fail("switching to WAL"))?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(fail("setting synchronous"))?;
        conn.execute_batch(SCHEMA)
            .map_err(fail("creating the tables"))?;
        let queued: i64 = conn
            .query_row(
                "SELECT count(*) FROM message WHERE sink = ?1",
                [sink],
                |r| r.get(0),
            )
            .map_err(fail("counting the messages"))?;
        let dropped: Option<i64> = conn
            .query_row(
                "SELECT dropped FROM sink_dropped WHERE sink = ?1",
                [sink],
                |r| r.get(0),
            )
            .optional()
            .map_err(fail("reading the drop count"))?;
        Ok(Outbox {
            conn,
            path: path.to_path_buf(),
            sink: sink.to_string(),
            queued: queued.max(0) as u64,
            dropped: dropped.unwrap_or(0).max(0) as u64,
        })
    }

    fn fail(&self, action: &'static str) -> impl FnOnce(rusqlite::Error) -> OutboxError {
        let path = self.path.clone();
        move |source| OutboxError::Sqlite {
            path,
            action,
            source,
        }
    }

    /// Messages waiting.
    pub fn queued(&self) -> u64 {
        self.queued
    }

    /// Messages dropped because the outbox was at its bound, ever (kept in the file).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Appends `messages` in order in one transaction; beyond `limit` messages the oldest are
    /// dropped. Returns how many were dropped now.
    pub fn push(&mut self, messages: &[OutMessage], limit: u64) -> Result<u64, OutboxError> {
        if messages.is_empty() {
            return Ok(0);
        }
        let tx = self
            .conn
            .transaction()
            .map_err(fail_at(&self.path, "starting a transaction"))?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO message (sink, topic, payload, retain) VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(fail_at(&self.path, "preparing an insert"))?;
            for m in messages {
                insert
                    .execute(params![self.sink, m.topic, m.payload, m.retain])
                    .map_err(fail_at(&self.path, "adding a message"))?;
            }
        }
        let total = self.queued + messages.len() as u64;
        let excess = total.saturating_sub(limit);
        if excess > 0 {
            tx.execute(
                "DELETE FROM message WHERE id IN \
                 (SELECT id FROM message WHERE sink = ?1 ORDER BY id LIMIT ?2)",
                params![self.sink, excess as i64],
            )
            .map_err(fail_at(&self.path, "dropping the oldest messages"))?;
            tx.execute(
                "INSERT INTO sink_dropped (sink, dropped) VALUES (?1, ?2) \
                 ON CONFLICT (sink) DO UPDATE SET dropped = dropped + ?2",
                params![self.sink, excess as i64],
            )
            .map_err(fail_at(&self.path, "counting dropped messages"))?;
        }
        tx.commit().map_err(fail_at(&self.path, "committing"))?;
        self.queued = total - excess;
        self.dropped += excess;
        Ok(excess)
    }

    /// Up to `n` messages after id `after`, oldest first, with their ids.
    pub fn after(&self, after: i64, n: usize) -> Result<Vec<(i64, OutMessage)>, OutboxError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT id, topic, payload, retain FROM message \
                 WHERE sink = ?1 AND id > ?2 ORDER BY id LIMIT ?3",
            )
            .map_err(self.fail("preparing a read"))?;
        let rows = stmt
            .query_map(params![self.sink, after, n as i64], |r| {
                Ok((
                    r.get(0)?,
                    OutMessage {
                        topic: r.get(1)?,
                        payload: r.get(2)?,
                        retain: r.get(3)?,
                    },
                ))
            })
            .map_err(fail_at(&self.path, "reading messages"))?;
        rows.collect::<Result<_, _>>()
            .map_err(fail_at(&self.path, "reading messages"))
    }

    /// Counts the waiting messages again from the file (another thread of the same sink — a
    /// reload's old one — may have delivered some meanwhile).
    pub fn recount(&mut self) -> Result<u64, OutboxError> {
        let n: i64 = self
            .conn
            .query_row(
                "SELECT count(*) FROM message WHERE sink = ?1",
                [&self.sink],
                |r| r.get(0),
            )
            .map_err(self.fail("counting the messages"))?;
        self.queued = n.max(0) as u64;
        Ok(self.queued)
    }

    /// Removes the messages up to and including id `through` (delivered).
    pub fn remove_through(&mut self, through: i64) -> Result<(), OutboxError> {
        let n = self
            .conn
            .execute(
                "DELETE FROM message WHERE sink = ?1 AND id <= ?2",
                params![self.sink, through],
            )
            .map_err(self.fail("removing delivered messages"))?;
        self.queued = self.queued.saturating_sub(n as u64);
        Ok(())
    }

    /// Records the sink's state (a JSON text) for `dlms-logger status`.
    pub fn put_state(&self, state: &str, now_ms: i64) -> Result<(), OutboxError> {
        self.conn
            .execute(
                "INSERT INTO sink_state (sink, state, updated_ms) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (sink) DO UPDATE SET state = ?2, updated_ms = ?3",
                params![self.sink, state, now_ms],
            )
            .map_err(self.fail("saving the sink's state"))?;
        Ok(())
    }
}

fn fail_at(path: &Path, action: &'static str) -> impl FnOnce(rusqlite::Error) -> OutboxError {
    let path = path.to_path_buf();
    move |source| OutboxError::Sqlite {
        path,
        action,
        source,
    }
}

/// The sinks' last reported states in the outbox at `path`: (sink, state JSON, updated ms),
/// by name; empty when there is no outbox file.
pub fn sink_states(path: &Path) -> Result<Vec<(String, String, i64)>, OutboxError> {
    if !path.exists() {
        return Ok(Vec::new());
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(fail_at(path, "opening"))?;
    conn.busy_timeout(Duration::from_secs(5))
        .map_err(fail_at(path, "setting the busy timeout"))?;
    let has: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'sink_state'",
            [],
            |r| r.get(0),
        )
        .map_err(fail_at(path, "reading the tables"))?;
    if has == 0 {
        return Ok(Vec::new());
    }
    let mut stmt = conn
        .prepare("SELECT sink, state, updated_ms FROM sink_state ORDER BY sink")
        .map_err(fail_at(path, "reading the states"))?;
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .map_err(fail_at(path, "reading the states"))?;
    rows.collect::<Result<_, _>>()
        .map_err(fail_at(path, "reading the states"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(i: usize) -> OutMessage {
        OutMessage {
            topic: format!("t/{i}"),
            payload: i.to_string().into_bytes(),
            retain: i.is_multiple_of(2),
        }
    }

    #[test]
    fn keeps_order_across_reopen_and_drops_the_oldest_beyond_the_bound() {
        let dir = tempfile::tempdir().unwrap();
        let path = outbox_path(&dir.path().join("log.db"));
        let mut a = Outbox::open(&path, "a").unwrap();
        let mut b = Outbox::open(&path, "b").unwrap();
        let first: Vec<_> = (0..5).map(msg).collect();
        assert_eq!(a.push(&first, 8).unwrap(), 0);
        assert_eq!(b.push(&first[..1], 8).unwrap(), 0);
        assert_eq!(a.push(&(5..10).map(msg).collect::<Vec<_>>(), 8).unwrap(), 2);
        assert_eq!((a.queued(), a.dropped(), b.queued()), (8, 2, 1));
        drop(a);
        let mut a = Outbox::open(&path, "a").unwrap();
        assert_eq!((a.queued(), a.dropped()), (8, 2));
        let got = a.after(0, 100).unwrap();
        let topics: Vec<_> = got.iter().map(|(_, m)| m.topic.clone()).collect();
        assert_eq!(
            topics,
            (2..10).map(|i| format!("t/{i}")).collect::<Vec<_>>()
        );
        assert_eq!(got[0].1, msg(2));
        let third = got[2].0;
        assert_eq!(a.after(third, 2).unwrap()[0].1, msg(5));
        a.remove_through(third).unwrap();
        assert_eq!(a.queued(), 5);
        // Another handle of the same sink removes one: a recount sees it.
        Outbox::open(&path, "a")
            .unwrap()
            .remove_through(got[3].0)
            .unwrap();
        assert_eq!((a.queued(), a.recount().unwrap()), (5, 4));
        assert_eq!(a.after(0, 1).unwrap()[0].1, msg(6));
        // The other sink's messages are its own.
        assert_eq!(b.after(0, 10).unwrap().len(), 1);
        a.put_state("{\"connected\":true}", 7).unwrap();
        let states = sink_states(&path).unwrap();
        assert_eq!(states, vec![("a".into(), "{\"connected\":true}".into(), 7)]);
        assert!(sink_states(&dir.path().join("none")).unwrap().is_empty());
    }
}
