//! One log, whichever backend keeps it: the calls the writer, the query service, the runner
//! and the command line make, answered by SQLite ([`Store`]) or PostgreSQL ([`PgStore`]).

use std::io::Write;
use std::path::PathBuf;

use super::export::write_export;
use super::location::StoreLocation;
use super::pg::PgStore;
use super::query::Order;
use super::{ExportFormat, LogFilter, Record, Row, Store, StoreError, WriteRecord};

/// An open log: an SQLite file or a PostgreSQL database.
pub enum Database {
    /// An SQLite file.
    Sqlite(Store),
    /// A PostgreSQL database.
    Postgres(PgStore),
}

/// Calls the same method on whichever store is open.
macro_rules! each {
    ($self:expr, $s:ident => $call:expr) => {
        match $self {
            Database::Sqlite($s) => $call,
            Database::Postgres($s) => $call,
        }
    };
}

impl Database {
    /// Opens (creating an SQLite file if missing) and migrates the log at `at`.
    pub fn open(at: &StoreLocation) -> Result<Database, StoreError> {
        Ok(match at {
            StoreLocation::Sqlite(path) => Database::Sqlite(Store::open(path)?),
            StoreLocation::Postgres(url) => Database::Postgres(PgStore::open(url)?),
        })
    }

    /// Opens an existing log for queries: nothing is created or migrated.
    pub fn open_read_only(at: &StoreLocation) -> Result<Database, StoreError> {
        Ok(match at {
            StoreLocation::Sqlite(path) => Database::Sqlite(Store::open_read_only(path)?),
            StoreLocation::Postgres(url) => Database::Postgres(PgStore::open_read_only(url)?),
        })
    }

    /// The log as named in messages (the masked URL for PostgreSQL).
    pub fn shown(&self) -> PathBuf {
        match self {
            Database::Sqlite(s) => s.path().to_path_buf(),
            Database::Postgres(s) => PathBuf::from(s.shown()),
        }
    }

    /// Sets how long SQLite waits for another connection's lock (PostgreSQL waits on its own).
    pub fn set_busy_timeout(&self, timeout: std::time::Duration) -> Result<(), StoreError> {
        match self {
            Database::Sqlite(s) => s.set_busy_timeout(timeout),
            Database::Postgres(_) => Ok(()),
        }
    }

    /// Returns a new poll id, greater than every id handed out before.
    pub fn next_poll_id(&mut self) -> Result<i64, StoreError> {
        each!(self, s => s.next_poll_id())
    }

    /// Inserts a batch in one transaction; returns how many rows were stored.
    pub fn insert_batch(&mut self, rows: &[Record]) -> Result<usize, StoreError> {
        each!(self, s => s.insert_batch(rows))
    }

    /// Inserts several batches in one transaction; returns the rows stored per batch.
    pub fn insert_batches(&mut self, batches: &[&[Record]]) -> Result<Vec<usize>, StoreError> {
        each!(self, s => s.insert_batches(batches))
    }

    /// Counters older versions kept in an SQLite log.
    pub fn legacy_counters(&self) -> Result<Vec<(String, u32)>, StoreError> {
        each!(self, s => s.legacy_counters())
    }

    /// Total rows and failed rows.
    pub fn counts(&self) -> Result<(u64, u64), StoreError> {
        each!(self, s => s.counts())
    }

    /// The newest row of every (request, meter, item).
    pub fn latest_per_item(&self) -> Result<Vec<Row>, StoreError> {
        each!(self, s => s.latest_per_item())
    }

    /// The newest stored capture time of a profile item of a meter.
    pub fn last_profile_ts(&self, meter: &str, item: &str) -> Result<Option<i64>, StoreError> {
        each!(self, s => s.last_profile_ts(meter, item))
    }

    /// The newest stored capture time of any column of profile item `item` of `meter`.
    pub fn last_profile_capture(&self, meter: &str, item: &str) -> Result<Option<i64>, StoreError> {
        each!(self, s => s.last_profile_capture(meter, item))
    }

    /// Streams the filtered rows, oldest first, to CSV or JSON lines; returns how many.
    /// Both backends write through the same formatter, so their exports are byte-equal.
    pub fn export(
        &self,
        filter: &LogFilter,
        format: ExportFormat,
        out: &mut dyn Write,
    ) -> Result<u64, StoreError> {
        match self {
            Database::Sqlite(s) => s.export(filter, format, out),
            Database::Postgres(s) => write_export(&self.shown(), format, out, |visit| {
                s.scan(filter, None, Order::OldestFirst, usize::MAX, visit)
            }),
        }
    }

    /// Records a change about to be sent; returns its id.
    pub fn begin_write(&mut self, w: &WriteRecord) -> Result<i64, StoreError> {
        each!(self, s => s.begin_write(w))
    }

    /// Completes a recorded change.
    pub fn finish_write(&mut self, id: i64, w: &WriteRecord) -> Result<(), StoreError> {
        each!(self, s => s.finish_write(id, w))
    }

    /// The newest `limit` changes, newest first.
    pub fn writes(&self, limit: usize) -> Result<Vec<(i64, WriteRecord)>, StoreError> {
        each!(self, s => s.writes(limit))
    }

    /// Closes the log, reporting a failure to flush it.
    pub fn close(self) -> Result<(), StoreError> {
        each!(self, s => s.close())
    }
}

impl From<Store> for Database {
    fn from(store: Store) -> Self {
        Database::Sqlite(store)
    }
}
