//! The store handle: opening the database and the small whole-database operations.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::insert::SeriesIds;
use super::{schema, StoreError};

/// How long a statement waits for another connection's lock before failing with "database is locked".
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Page cache per connection, in KiB (negative for `PRAGMA cache_size`): the hot index pages of
/// a few thousand series. 8 MiB inserts as fast as 16, 32 or 64 MiB (`cargo bench --bench
/// store`), and every MiB more is resident in a long-running logger; a fleet's tens of
/// thousands of series outgrow any of them, and their pages then come from the kernel's cache.
const CACHE_SIZE_KIB: i64 = -8 * 1024;

/// WAL pages after which a commit checkpoints (SQLite's default is 1,000): about 40 MiB.
const WAL_CHECKPOINT_PAGES: i64 = 10_000;

/// The SQLite log of every reading and failure.
pub struct Store {
    pub(super) conn: Connection,
    pub(super) path: PathBuf,
    /// Ids of committed series, kept across batches (series rows are never deleted).
    pub(super) series: SeriesIds,
}

impl Store {
    /// Opens (creating if missing, owner-only on unix) and migrates the database at `path`; the parent folder must exist.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        create_private(path)?;
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        Store::setup(conn, path.to_path_buf())
    }

    /// Opens an existing database read-only (queries beside the writer): no file is created,
    /// nothing is migrated, and a schema this build does not know is refused.
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).map_err(|source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        let store = Store {
            conn,
            path: path.to_path_buf(),
            series: SeriesIds::default(),
        };
        store.set_busy_timeout(BUSY_TIMEOUT)?;
        let version: i64 = store
            .conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(store.fail("reading the schema version"))?;
        if version > schema::SCHEMA_VERSION {
            return Err(StoreError::NewerSchema {
                path: path.to_path_buf(),
                found: version,
                known: schema::SCHEMA_VERSION,
            });
        }
        if version < schema::SCHEMA_VERSION {
            // Only the writer migrates; an older file is not read as if it were current.
            return Err(StoreError::NotMigrated {
                path: path.to_path_buf(),
                found: version,
                known: schema::SCHEMA_VERSION,
            });
        }
        Ok(store)
    }

    /// Opens a fresh database in memory (tests, dry runs).
    pub fn open_in_memory() -> Result<Store, StoreError> {
        let path = PathBuf::from(":memory:");
        let conn = Connection::open_in_memory().map_err(|source| StoreError::Open {
            path: path.clone(),
            source,
        })?;
        Store::setup(conn, path)
    }

    fn setup(conn: Connection, path: PathBuf) -> Result<Store, StoreError> {
        let mut store = Store {
            conn,
            path,
            series: SeriesIds::default(),
        };
        store.set_busy_timeout(BUSY_TIMEOUT)?;
        // WAL lets the UI read while the writer commits. synchronous=FULL fsyncs the WAL
        // at every commit: with NORMAL a power cut may lose the last commits, which would
        // break the promise that a batch reported as stored survives a crash.
        store
            .conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(()))
            .map_err(store.fail("switching to WAL mode"))?;
        store
            .conn
            .pragma_update(None, "synchronous", "FULL")
            .map_err(store.fail("setting synchronous=FULL"))?;
        // A commit dirties the tail leaf of every series in the (series, ts) index; with the
        // default 2 MiB cache those pages are evicted and re-read on every batch. Pages are
        // allocated only as used, so small logs stay small.
        store
            .conn
            .pragma_update(None, "cache_size", CACHE_SIZE_KIB)
            .map_err(store.fail("setting the page cache size"))?;
        // Checkpoints copy every page dirtied since the last one into the database and fsync
        // it; the hot index pages are rewritten by every batch, so a longer WAL copies each
        // of them once per many batches instead of once per one or two.
        store
            .conn
            .pragma_update(None, "wal_autocheckpoint", WAL_CHECKPOINT_PAGES)
            .map_err(store.fail("setting the WAL checkpoint interval"))?;
        schema::migrate(&mut store.conn, &store.path)?;
        Ok(store)
    }

    /// The database path (`:memory:` for in-memory stores), as shown in error messages.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sets how long statements wait for another connection's lock.
    pub fn set_busy_timeout(&self, timeout: Duration) -> Result<(), StoreError> {
        self.conn
            .busy_timeout(timeout)
            .map_err(self.fail("setting the busy timeout"))
    }

    /// Returns a new poll id, greater than every id handed out before (also across restarts).
    pub fn next_poll_id(&mut self) -> Result<i64, StoreError> {
        self.conn
            .query_row(
                "UPDATE meta SET value = value + 1 WHERE key = 'last_poll' RETURNING value",
                [],
                |row| row.get(0),
            )
            .map_err(self.fail("allocating a poll id"))
    }

    /// Our invocation counters as older versions kept them here (per meter name and key
    /// fingerprint), highest per key: the counter store starts above them.
    pub fn legacy_counters(&self) -> Result<Vec<(String, u32)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT key_id, max(next) FROM invocation_counter \
                 WHERE key_id NOT LIKE 'meter-%' GROUP BY key_id",
            )
            .map_err(self.fail("reading older invocation counters"))?;
        let rows = stmt
            .query_map([], |r| {
                let next: i64 = r.get(1)?;
                Ok((r.get(0)?, u32::try_from(next.max(0)).unwrap_or(u32::MAX)))
            })
            .map_err(self.fail("reading older invocation counters"))?;
        rows.collect::<Result<_, _>>()
            .map_err(self.fail("reading older invocation counters"))
    }

    /// Total rows and failed rows (status bar).
    pub fn counts(&self) -> Result<(u64, u64), StoreError> {
        // Summed from the per-series counters, so this stays instant on huge logs.
        let (rows, failed): (i64, i64) = self
            .conn
            .query_row(
                "SELECT coalesce(sum(row_count), 0), coalesce(sum(failed_count), 0) FROM series",
                [],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .map_err(self.fail("counting rows"))?;
        Ok((
            u64::try_from(rows).unwrap_or(0),
            u64::try_from(failed).unwrap_or(0),
        ))
    }

    /// Closes the database, reporting a failure to flush it.
    pub fn close(self) -> Result<(), StoreError> {
        let path = self.path;
        self.conn
            .close()
            .map_err(|(_, e)| StoreError::sqlite(&path, "closing the database", e))
    }

    /// Wraps an SQLite error raised during `action` with this database's path.
    pub(super) fn fail(&self, action: &'static str) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        move |e| StoreError::sqlite(&self.path, action, e)
    }
}

/// Creates a missing database file readable by its owner only: logs reveal consumption patterns.
#[cfg(unix)]
fn create_private(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(StoreError::Create {
            path: path.to_path_buf(),
            source: e,
        }),
        _ => Ok(()),
    }
}

/// On other systems SQLite creates the file with the default permissions.
#[cfg(not(unix))]
fn create_private(_path: &Path) -> Result<(), StoreError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::record::sample;
    use super::super::Scan;
    use super::*;

    fn user_version(store: &Store) -> i64 {
        store
            .conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .unwrap()
    }

    #[test]
    fn fresh_database_is_migrated_to_the_current_schema() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("log.db")).unwrap();
        assert_eq!(user_version(&store), schema::SCHEMA_VERSION);
        let mode: String = store
            .conn
            .pragma_query_value(None, "journal_mode", |row| row.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let synchronous: i64 = store
            .conn
            .pragma_query_value(None, "synchronous", |row| row.get(0))
            .unwrap();
        assert_eq!(synchronous, 2, "FULL");
        for (pragma, value) in [
            ("cache_size", CACHE_SIZE_KIB),
            ("wal_autocheckpoint", WAL_CHECKPOINT_PAGES),
        ] {
            let set: i64 = store
                .conn
                .pragma_query_value(None, pragma, |row| row.get(0))
                .unwrap();
            assert_eq!(set, value, "{pragma}");
        }
        assert_eq!(store.counts().unwrap(), (0, 0));
    }

    #[cfg(unix)]
    #[test]
    fn new_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.db");
        let _store = Store::open(&path).unwrap();
        // SQLite gives the WAL and shared-memory files the database file's permissions.
        for suffix in ["", "-wal", "-shm"] {
            let file = format!("{}{suffix}", path.display());
            let mode = std::fs::metadata(&file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{file}");
        }
    }

    #[test]
    fn reopening_keeps_rows_and_poll_ids_keep_increasing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.db");
        let mut store = Store::open(&path).unwrap();
        assert_eq!(store.next_poll_id().unwrap(), 1);
        assert_eq!(store.next_poll_id().unwrap(), 2);
        store
            .insert_batch(&[sample::ok("m1", "energy", 1_000, 1.5)])
            .unwrap();
        store.close().unwrap();

        let mut store = Store::open(&path).unwrap();
        assert_eq!(user_version(&store), schema::SCHEMA_VERSION);
        assert_eq!(store.next_poll_id().unwrap(), 3);
        assert_eq!(store.counts().unwrap(), (1, 0));
    }

    #[test]
    fn newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.db");
        let store = Store::open(&path).unwrap();
        store
            .conn
            .pragma_update(None, "user_version", schema::SCHEMA_VERSION + 1)
            .unwrap();
        store.close().unwrap();
        let err = Store::open(&path).err().unwrap();
        assert_eq!(
            err.to_string(),
            format!(
                "database {} was written by a newer dlms-logger (schema {}, this one knows up to {})",
                path.display(),
                schema::SCHEMA_VERSION + 1,
                schema::SCHEMA_VERSION
            )
        );
    }

    #[test]
    fn garbage_file_is_reported_as_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.db");
        std::fs::write(
            &path,
            b"this is not an SQLite database at all, just some text".repeat(100),
        )
        .unwrap();
        let err = Store::open(&path).err().unwrap();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
        let message = err.to_string();
        assert!(
            message.starts_with(&format!("database {} is corrupt", path.display())),
            "{message}"
        );
    }

    #[test]
    fn damaged_pages_are_reported_as_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.db");
        let mut store = Store::open(&path).unwrap();
        let batch: Vec<_> = (0..2000)
            .map(|i| sample::ok("m1", "energy", i, 1.0))
            .collect();
        store.insert_batch(&batch).unwrap();
        store
            .conn
            .pragma_update(None, "journal_mode", "DELETE")
            .unwrap();
        store.close().unwrap();
        // Keep the header page intact and overwrite the rest with garbage.
        let mut bytes = std::fs::read(&path).unwrap();
        for b in &mut bytes[4096..] {
            *b = 0xA5;
        }
        std::fs::write(&path, bytes).unwrap();
        let err = Store::open(&path)
            .and_then(|store| store.log_page(&Default::default(), None, 10))
            .err()
            .unwrap();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
        assert!(err.to_string().contains(&path.display().to_string()));
    }

    #[test]
    fn other_programs_databases_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("other.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch("CREATE TABLE contacts (name TEXT)")
            .unwrap();
        drop(conn);
        let err = Store::open(&path).err().unwrap();
        assert!(matches!(err, StoreError::Foreign { .. }), "{err:?}");
    }

    #[test]
    fn missing_folder_is_an_error_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("log.db");
        let err = Store::open(&path).err().unwrap();
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
    }
}
