//! Rows the store could not take (the database locked past the writer's retries, a full disk):
//! kept in memory and written before the next batch, spilled to the spill file at shutdown or
//! beyond a bound, and imported from that file at the next start. The spill file is
//! `<db>.unstored.jsonl` unless one is configured (`run --spill PATH`, e.g. on another
//! filesystem than a database that fills its disk). A reading is never dropped silently: it is
//! stored, parked, spilled, or counted as dropped with a warning that says why.

use super::error::SpillImportError;
use crate::store::{Record, WriterHandle};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

/// Most rows kept in memory (about 40 MB); beyond it they go to the spill file at once.
pub const MAX_PARKED_ROWS: usize = 200_000;

/// The file beside the database that holds rows not yet stored.
pub fn spill_path(db: &Path) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push(".unstored.jsonl");
    PathBuf::from(s)
}

/// Rows waiting for the store to take them again.
#[derive(Debug)]
pub struct Parked {
    rows: Vec<Record>,
    bound: usize,
}

impl Default for Parked {
    fn default() -> Self {
        Parked::with_bound(MAX_PARKED_ROWS)
    }
}

impl Parked {
    /// Keeps at most `bound` rows in memory.
    pub fn with_bound(bound: usize) -> Self {
        Parked {
            rows: Vec::new(),
            bound,
        }
    }

    /// Keeps `rows` for the next write; what exceeds the bound is returned, to spill.
    pub fn park(&mut self, mut rows: Vec<Record>) -> Vec<Record> {
        let room = self.bound.saturating_sub(self.rows.len());
        let overflow = if rows.len() > room {
            rows.split_off(room)
        } else {
            Vec::new()
        };
        self.rows.extend(rows);
        overflow
    }

    /// Takes every parked row (to write them).
    pub fn take(&mut self) -> Vec<Record> {
        std::mem::take(&mut self.rows)
    }

    /// How many rows wait.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when nothing waits.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// Appends `rows` to the spill file of `db` (one JSON object per line) and syncs it.
pub fn spill(db: &Path, rows: &[Record]) -> std::io::Result<PathBuf> {
    spill_to(&spill_path(db), rows)
}

/// Why rows could not be spilled: the file, and the cause in words (`has no space left`).
#[derive(Debug, thiserror::Error)]
#[error("the spill file {} {why}", path.display())]
pub struct SpillError {
    /// The spill file.
    pub path: PathBuf,
    /// What went wrong, as a sentence part.
    pub why: String,
    /// True when its filesystem is full.
    pub no_space: bool,
}

impl SpillError {
    fn new(path: &Path, e: &std::io::Error) -> Self {
        let no_space = e.kind() == std::io::ErrorKind::StorageFull || e.raw_os_error() == Some(28);
        let why = if no_space {
            "has no space left on its filesystem".to_string()
        } else {
            format!("cannot be written: {e}")
        };
        SpillError {
            path: path.to_path_buf(),
            why,
            no_space,
        }
    }
}

/// Appends `rows` to the spill file `path`; the error says when its filesystem is full.
pub fn spill_rows(path: &Path, rows: &[Record]) -> Result<PathBuf, SpillError> {
    spill_to(path, rows).map_err(|e| SpillError::new(path, &e))
}

/// Appends `rows` to the spill file `path` (one JSON object per line) and syncs it.
pub fn spill_to(path: &Path, rows: &[Record]) -> std::io::Result<PathBuf> {
    let path = path.to_path_buf();
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let file = options.open(&path)?;
    let mut out = std::io::BufWriter::new(file);
    for r in rows {
        serde_json::to_writer(&mut out, r)?;
        out.write_all(b"\n")?;
    }
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    Ok(path)
}

/// The rows of the spill file of `db`, and how many of its lines were unreadable (a line cut
/// short by a crash while spilling).
pub fn read_spill(db: &Path) -> std::io::Result<(Vec<Record>, usize)> {
    read_spill_file(&spill_path(db))
}

/// The rows of the spill file `path`, and how many of its lines were unreadable.
pub fn read_spill_file(path: &Path) -> std::io::Result<(Vec<Record>, usize)> {
    let file = std::fs::File::open(path)?;
    let (mut rows, mut bad) = (Vec::new(), 0);
    for line in std::io::BufReader::new(file).lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Record>(&line) {
            Ok(r) => rows.push(r),
            Err(_) => bad += 1,
        }
    }
    Ok((rows, bad))
}

/// Stores the rows of a spill file left by an earlier run and removes the file; returns how many
/// rows it held (0 when there is none). On failure the file stays for the next start.
pub fn import(writer: &WriterHandle) -> Result<usize, SpillImportError> {
    import_from(writer, &spill_path(writer.path()))
}

/// Stores the rows of the spill file `path` and removes it (see [`import`]).
pub fn import_from(writer: &WriterHandle, path: &Path) -> Result<usize, SpillImportError> {
    import_and_hand(writer, path, &|_| {})
}

/// [`import_from`], handing the rows to `stored` once they are stored (the sinks).
pub(super) fn import_and_hand(
    writer: &WriterHandle,
    path: &Path,
    stored: &dyn Fn(Vec<Record>),
) -> Result<usize, SpillImportError> {
    if !path.exists() {
        return Ok(0);
    }
    let (rows, bad) = read_spill_file(path).map_err(|source| SpillImportError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if bad > 0 {
        tracing::warn!(
            "{}: {bad} line(s) unreadable (cut short by a crash while spilling); skipped",
            path.display()
        );
    }
    let n = rows.len();
    if n > 0 {
        writer
            .write(rows.clone())
            .map_err(|e| SpillImportError::Store {
                rows: n,
                path: path.to_path_buf(),
                error: e.to_string(),
            })?;
        stored(rows);
    }
    std::fs::remove_file(path).map_err(|source| SpillImportError::Remove {
        rows: n,
        path: path.to_path_buf(),
        source,
    })?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(i: i64) -> Record {
        Record {
            ts_ms: 1_700_000_000_000 + i,
            request: "r".into(),
            meter: "m".into(),
            item: "energy".into(),
            obis: "1.0.1.8.0.255".into(),
            class: 3,
            attribute: 2,
            value: Some(i as f64),
            text: None,
            unit: Some("Wh".into()),
            status: "ok".into(),
            poll: i,
            profile: false,
            exact: None,
            meter_time: None,
        }
    }

    #[test]
    fn parking_is_bounded_and_returns_the_overflow() {
        let mut p = Parked::default();
        assert!(p.park((0..10).map(row).collect()).is_empty());
        let overflow = p.park((0..MAX_PARKED_ROWS as i64).map(row).collect());
        assert_eq!(p.len(), MAX_PARKED_ROWS);
        assert_eq!(overflow.len(), 10);
        assert_eq!(p.take().len(), MAX_PARKED_ROWS);
        assert!(p.is_empty());
    }

    #[test]
    fn spilled_rows_read_back_and_a_cut_line_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("log.db");
        let rows: Vec<Record> = (0..3).map(row).collect();
        let path = spill(&db, &rows[..2]).unwrap();
        spill(&db, &rows[2..]).unwrap();
        // A crash in the middle of a line.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        f.write_all(b"{\"ts_ms\":17").unwrap();
        let (back, bad) = read_spill(&db).unwrap();
        assert_eq!(back, rows);
        assert_eq!(bad, 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn import_stores_the_spill_file_once() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("log.db");
        spill(&db, &(0..5).map(row).collect::<Vec<_>>()).unwrap();
        let (writer, handle) = crate::store::Writer::spawn(&db).unwrap();
        assert_eq!(import(&handle).unwrap(), 5);
        assert!(!spill_path(&db).exists());
        assert_eq!(import(&handle).unwrap(), 0);
        writer.shutdown().unwrap();
        let store = crate::store::Store::open(&db).unwrap();
        assert_eq!(store.counts().unwrap(), (5, 0));
    }
}
