//! The counter store's SQLite file: open (created private, WAL, synchronous=NORMAL: only a
//! reservation is fsynced, see `reserve`), schema.

use rusqlite::{Connection, TransactionBehavior};
use std::path::Path;
use std::time::Duration;

use super::CounterError;

pub(super) fn sqlite<'a>(
    path: &'a Path,
    action: &'static str,
) -> impl Fn(rusqlite::Error) -> CounterError + 'a {
    move |source| CounterError::Sqlite {
        path: path.to_path_buf(),
        action,
        source,
    }
}

const SCHEMA: &str = r#"
    CREATE TABLE IF NOT EXISTS ours (
        system_title TEXT NOT NULL,
        key_id TEXT NOT NULL,
        next INTEGER NOT NULL,
        PRIMARY KEY (system_title, key_id)
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS meter_floor (
        system_title TEXT NOT NULL,
        key_id TEXT NOT NULL,
        floor INTEGER NOT NULL,
        PRIMARY KEY (system_title, key_id)
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS legacy (
        key_id TEXT NOT NULL PRIMARY KEY,
        next INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS lease (
        system_title TEXT NOT NULL,
        key_id TEXT NOT NULL,
        next INTEGER NOT NULL,
        end_ INTEGER NOT NULL,
        boot_id TEXT NOT NULL,
        PRIMARY KEY (system_title, key_id)
    ) WITHOUT ROWID;
"#;
const VERSION: i64 = 1;
/// The tables of [`SCHEMA`] (a file that has them all at [`VERSION`] needs no write at open).
const TABLES: [&str; 4] = ["ours", "meter_floor", "legacy", "lease"];

/// Opens (creating it 0600, with its folder) the store's file.
pub(super) fn open(path: &Path) -> Result<Connection, CounterError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|source| CounterError::Folder {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    create_private(path)?;
    let fail = |action| sqlite(path, action);
    let mut conn = Connection::open(path).map_err(fail("opening"))?;
    conn.busy_timeout(Duration::from_secs(30))
        .map_err(fail("setting the lock timeout"))?;
    wal(&conn).map_err(fail("switching to WAL"))?;
    // The last process to close the file would checkpoint it and delete the WAL (fsyncs of
    // the WAL, the file and the folder), and the next one create it again: every short-lived
    // command would pay them. The WAL stays; SQLite checkpoints it as it grows, and each
    // reservation is checkpointed at once (see `reserve`), so the file itself always holds
    // the highest counter reserved.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
        true,
    )
    .map_err(fail("keeping the WAL"))?;
    // Every process that opens the file alone rebuilds the WAL's index by reading all of it,
    // so it is kept short: checkpointed (two fsyncs) once it holds 32 pages, which is every
    // ten or so short-lived commands, instead of SQLite's 1,000 (4 MB read at every start).
    conn.pragma_update(None, "wal_autocheckpoint", 32)
        .map_err(fail("setting the checkpoint interval"))?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(fail("setting synchronous"))?;
    if schema_is_current(&conn).map_err(fail("reading the schema"))? {
        return Ok(conn);
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(fail("starting the schema transaction"))?;
    let found: i64 = tx
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(fail("reading the schema version"))?;
    if found > VERSION {
        return Err(CounterError::Newer {
            path: path.to_path_buf(),
            found,
            known: VERSION,
        });
    }
    tx.execute_batch(SCHEMA).map_err(fail("creating tables"))?;
    tx.pragma_update(None, "user_version", VERSION)
        .map_err(fail("writing the schema version"))?;
    tx.commit().map_err(fail("committing the schema"))?;
    Ok(conn)
}

/// True when the file has every table at this version (a read: no write, no fsync).
fn schema_is_current(conn: &Connection) -> Result<bool, rusqlite::Error> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let tables: i64 = conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN (?1, ?2, ?3, ?4)",
        rusqlite::params![TABLES[0], TABLES[1], TABLES[2], TABLES[3]],
        |r| r.get(0),
    )?;
    Ok(version == VERSION && tables == TABLES.len() as i64)
}

/// Switches the file to WAL. SQLite answers "database is locked" at once, without waiting
/// on the busy timeout, when another process is opening a new file at the same moment, so the
/// switch is tried again for a while before it counts as an error.
fn wal(conn: &Connection) -> Result<(), rusqlite::Error> {
    let mut tries = 0;
    loop {
        match conn.pragma_update(None, "journal_mode", "WAL") {
            Err(e)
                if tries < 200
                    && e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) =>
            {
                tries += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
            r => return r,
        }
    }
}

/// Creates a missing file readable by its owner only.
fn create_private(path: &Path) -> Result<(), CounterError> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    match o.open(path) {
        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(CounterError::Folder {
            path: path.to_path_buf(),
            source: e,
        }),
        _ => Ok(()),
    }
}
