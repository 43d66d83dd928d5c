//! The database schema and its migrations, versioned by `PRAGMA user_version`.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior};

use super::StoreError;

/// Marks files as dlms-logger databases (`PRAGMA application_id`), ASCII "DLMS".
const APPLICATION_ID: i64 = 0x444C_4D53;

/// Migration `n` (0-based) brings the schema from version `n` to `n + 1`.
const MIGRATIONS: &[&str] = &[
    // Version 1. Names live once in `series`; `reading` rows only reference them. The
    // `latest_*` and `*_count` columns are maintained by every insert in the same
    // transaction, so "latest per item" and the status-bar counts never scan `reading`.
    r#"
    CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value INTEGER NOT NULL
    ) WITHOUT ROWID;
    INSERT INTO meta (key, value) VALUES ('last_poll', 0);

    CREATE TABLE series (
        id INTEGER PRIMARY KEY,
        request TEXT NOT NULL,
        meter TEXT NOT NULL,
        item TEXT NOT NULL,
        obis TEXT NOT NULL,
        class INTEGER NOT NULL,
        attribute INTEGER NOT NULL,
        latest_id INTEGER,
        latest_ts INTEGER,
        row_count INTEGER NOT NULL DEFAULT 0,
        failed_count INTEGER NOT NULL DEFAULT 0,
        UNIQUE (request, meter, item, obis, class, attribute)
    );

    CREATE TABLE reading (
        id INTEGER PRIMARY KEY,
        ts INTEGER NOT NULL,
        series INTEGER NOT NULL REFERENCES series (id),
        value REAL,
        text TEXT,
        unit TEXT,
        status TEXT NOT NULL,
        poll INTEGER NOT NULL,
        profile INTEGER NOT NULL
    );
    -- The whole log by time (the rowid is the implicit tie-breaker in every index).
    CREATE INDEX reading_ts ON reading (ts);
    -- One series by time: history and meter/item-filtered pages.
    CREATE INDEX reading_series_ts ON reading (series, ts);
    -- Failures are rare, so these partial indexes are small and make failure pages seeks.
    CREATE INDEX reading_failed_ts ON reading (ts) WHERE status <> 'ok';
    CREATE INDEX reading_failed_series_ts ON reading (series, ts) WHERE status <> 'ok';
    -- A profile entry is stored once per series and capture time.
    CREATE UNIQUE INDEX reading_profile ON reading (series, ts) WHERE profile = 1;
    "#,
    // Version 2. Our invocation counter per meter and key, as versions before the counter
    // store (`crate::counters`) kept it. Only read now: the counter store starts above it.
    r#"
    CREATE TABLE invocation_counter (
        meter TEXT NOT NULL,
        key_id TEXT NOT NULL,
        next INTEGER NOT NULL,
        PRIMARY KEY (meter, key_id)
    ) WITHOUT ROWID;
    "#,
    // Version 3. Values exactly as the meter said them: `exact` holds the decimal digits of
    // `value` when the REAL cannot (integers beyond 2^53, more digits than a double holds),
    // NULL when `value` prints exactly; `meter_time` the row's time as the meter stated it
    // when its clock status warns (`2026-11-21T12:07:30+01:00 (invalid)`), NULL otherwise.
    r#"
    ALTER TABLE reading ADD COLUMN exact TEXT;
    ALTER TABLE reading ADD COLUMN meter_time TEXT;
    "#,
    // Version 4. Every change made to a meter (SET, ACTION, WRITE): recorded before it is
    // sent (outcome 'sent'), then updated with what came back, so a crash or a lost answer
    // leaves a row that says the outcome is unknown.
    r#"
    CREATE TABLE writes (
        id INTEGER PRIMARY KEY,
        ts INTEGER NOT NULL,
        source TEXT NOT NULL,
        meter TEXT NOT NULL,
        kind TEXT NOT NULL,
        obis TEXT NOT NULL,
        class INTEGER NOT NULL,
        member INTEGER NOT NULL,
        request TEXT NOT NULL,
        old_value TEXT,
        new_value TEXT,
        outcome TEXT NOT NULL,
        result TEXT,
        returned TEXT
    );
    CREATE INDEX writes_ts ON writes (ts);
    "#,
];

/// The newest schema version this build knows.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings the database to [`SCHEMA_VERSION`], refusing foreign and newer databases.
pub(super) fn migrate(conn: &mut Connection, path: &Path) -> Result<(), StoreError> {
    let fail = |action| move |e| StoreError::sqlite(path, action, e);
    // IMMEDIATE takes the write lock before reading the version, so two processes
    // opening a fresh file cannot both run the same migration.
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(fail("starting the schema migration"))?;
    let read = |pragma: &str| tx.pragma_query_value(None, pragma, |row| row.get::<_, i64>(0));
    let version = read("user_version").map_err(fail("reading the schema version"))?;
    let application = read("application_id").map_err(fail("reading the application id"))?;
    let foreign = if version == 0 {
        let objects: i64 = tx
            .query_row("SELECT count(*) FROM sqlite_schema", [], |row| row.get(0))
            .map_err(fail("reading the schema"))?;
        objects > 0 || application != 0
    } else {
        application != APPLICATION_ID || version < 0
    };
    if foreign {
        return Err(StoreError::Foreign {
            path: path.to_path_buf(),
        });
    }
    if version > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            path: path.to_path_buf(),
            found: version,
            known: SCHEMA_VERSION,
        });
    }
    if version == 0 {
        tx.pragma_update(None, "application_id", APPLICATION_ID)
            .map_err(fail("marking the file as a dlms-logger database"))?;
    }
    for (done, sql) in (1..)
        .zip(MIGRATIONS)
        .skip(usize::try_from(version).unwrap_or(0))
    {
        tx.execute_batch(sql)
            .map_err(fail("migrating the schema"))?;
        tx.pragma_update(None, "user_version", done)
            .map_err(fail("recording the schema version"))?;
    }
    tx.commit().map_err(fail("committing the schema migration"))
}

#[cfg(test)]
mod tests {
    use super::super::Scan;
    use super::*;

    /// A database written by the build before version 3 opens with its rows intact; the new
    /// columns are empty.
    #[test]
    fn version_2_databases_gain_the_exact_and_meter_time_columns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v2.db");
        {
            let conn = Connection::open(&path).unwrap();
            conn.pragma_update(None, "application_id", APPLICATION_ID)
                .unwrap();
            for sql in &MIGRATIONS[..2] {
                conn.execute_batch(sql).unwrap();
            }
            conn.pragma_update(None, "user_version", 2).unwrap();
            conn.execute_batch(
                "INSERT INTO series (id, request, meter, item, obis, class, attribute) \
                 VALUES (1, 'r', 'm', 'i', '1.0.1.8.0.255', 3, 2);
                 INSERT INTO reading (ts, series, value, status, poll, profile) \
                 VALUES (5, 1, 1.5, 'ok', 1, 0);",
            )
            .unwrap();
        }
        let store = crate::store::Store::open(&path).unwrap();
        let rows = store
            .log_page(&crate::store::LogFilter::default(), None, 10)
            .unwrap();
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].record.value, Some(1.5));
        assert_eq!(rows[0].record.exact, None);
        assert_eq!(rows[0].record.meter_time, None);
    }
}
