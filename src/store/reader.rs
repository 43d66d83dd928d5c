//! The query service: one read-only connection on its own thread, answering typed requests
//! through callbacks, so a user interface never waits for SQLite.
//!
//! Requests are answered in the order they were sent. An export runs on a thread of its own
//! with its own connection, so a long export never holds up the small queries behind it.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;

use super::{Cursor, Database, ExportFormat, LogFilter, Row, Scan, StoreError, StoreLocation};

/// Why a query was not answered.
#[derive(Debug, Clone, thiserror::Error)]
pub enum QueryError {
    /// The query connection could not be opened (the error is shared by every answer).
    #[error("the log database could not be opened for queries: {0}")]
    Unavailable(Arc<StoreError>),
    /// The query failed.
    #[error(transparent)]
    Store(Arc<StoreError>),
    /// The query thread has stopped.
    #[error("the query service of the log database has stopped")]
    Stopped,
    /// An export's file could not be created (an existing file is never overwritten).
    #[error("cannot create {path}: {source}")]
    Create {
        path: PathBuf,
        source: Arc<std::io::Error>,
    },
    /// An export's file could not be written to disk.
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: Arc<std::io::Error>,
    },
}

impl From<StoreError> for QueryError {
    fn from(e: StoreError) -> Self {
        QueryError::Store(Arc::new(e))
    }
}

type Job = Box<dyn FnOnce(Result<&Database, &QueryError>) + Send>;

/// Sends queries to the query thread; cheap to clone. The thread ends when every handle is dropped.
#[derive(Clone)]
pub struct ReaderHandle {
    jobs: mpsc::Sender<Job>,
    /// The log as shown (the masked URL for PostgreSQL).
    path: PathBuf,
    location: Arc<StoreLocation>,
}

impl std::fmt::Debug for ReaderHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReaderHandle")
            .field("path", &self.path)
            .finish()
    }
}

/// Starts the query thread on the database at `path` (opened read-only on the thread; when
/// that fails, every request is answered with [`QueryError::Unavailable`]).
pub fn spawn_reader(path: &Path) -> Result<ReaderHandle, StoreError> {
    spawn_reader_at(&StoreLocation::from(path))
}

/// Starts the query thread on the log at `location` (an SQLite file or a PostgreSQL database).
pub fn spawn_reader_at(location: &StoreLocation) -> Result<ReaderHandle, StoreError> {
    let (jobs, queue) = mpsc::channel::<Job>();
    let db = location.clone();
    let path = location.shown_path();
    std::thread::Builder::new()
        .name("store-reader".into())
        .spawn(move || {
            let open =
                || Database::open_read_only(&db).map_err(|e| QueryError::Unavailable(Arc::new(e)));
            let mut store = open();
            for job in queue {
                // A server that was down (PostgreSQL) is tried again at the next request.
                if matches!(&store, Err(QueryError::Unavailable(e)) if e.is_transient()) {
                    store = open();
                }
                job(store.as_ref());
            }
        })
        .map_err(|source| StoreError::Thread {
            path: path.clone(),
            source,
        })?;
    Ok(ReaderHandle {
        jobs,
        path,
        location: Arc::new(location.clone()),
    })
}

impl ReaderHandle {
    /// The database path (for PostgreSQL its masked URL), as shown.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the log is.
    pub fn location(&self) -> &StoreLocation {
        &self.location
    }

    fn run<T: 'static>(
        &self,
        query: impl FnOnce(&Database) -> Result<T, StoreError> + Send + 'static,
        reply: impl FnOnce(Result<T, QueryError>) + Send + 'static,
    ) {
        let job: Job = Box::new(move |store| {
            reply(match store {
                Ok(store) => query(store).map_err(QueryError::from),
                Err(e) => Err(e.clone()),
            })
        });
        if let Err(mpsc::SendError(job)) = self.jobs.send(job) {
            job(Err(&QueryError::Stopped));
        }
    }

    /// Total rows and failed rows.
    pub fn counts(&self, reply: impl FnOnce(Result<(u64, u64), QueryError>) + Send + 'static) {
        self.run(Database::counts, reply);
    }

    /// The newest row of every (request, meter, item).
    pub fn latest_per_item(
        &self,
        reply: impl FnOnce(Result<Vec<Row>, QueryError>) + Send + 'static,
    ) {
        self.run(Database::latest_per_item, reply);
    }

    /// History of one item within [since, until), oldest first, at most `limit` rows.
    pub fn history(
        &self,
        meter: String,
        item: String,
        since_ms: i64,
        until_ms: i64,
        limit: usize,
        reply: impl FnOnce(Result<Vec<Row>, QueryError>) + Send + 'static,
    ) {
        self.run(
            move |s| s.history(&meter, &item, since_ms, until_ms, limit),
            reply,
        );
    }

    /// A page of the log, newest first, after `after`.
    pub fn log_page(
        &self,
        filter: LogFilter,
        after: Option<Cursor>,
        limit: usize,
        reply: impl FnOnce(Result<Vec<Row>, QueryError>) + Send + 'static,
    ) {
        self.run(move |s| s.log_page(&filter, after, limit), reply);
    }

    /// The newest `limit` changes made to meters (the `writes` table), newest first.
    pub fn writes(
        &self,
        limit: usize,
        reply: impl FnOnce(Result<Vec<(i64, super::WriteRecord)>, QueryError>) + Send + 'static,
    ) {
        self.run(move |s| s.writes(limit), reply);
    }

    /// A page of the log as [`ReaderHandle::log_page`], of the rows whose status contains
    /// `error` (any case) when given.
    pub fn log_page_with_error(
        &self,
        filter: LogFilter,
        error: Option<String>,
        after: Option<Cursor>,
        limit: usize,
        reply: impl FnOnce(Result<Vec<Row>, QueryError>) + Send + 'static,
    ) {
        self.run(
            move |s| s.log_page_with_error(&filter, error.as_deref(), after, limit),
            reply,
        );
    }

    /// The nearest row matching `filter` and `error` strictly older (`older`) or newer than `from`.
    pub fn log_neighbour(
        &self,
        filter: LogFilter,
        error: Option<String>,
        from: Cursor,
        older: bool,
        reply: impl FnOnce(Result<Option<Row>, QueryError>) + Send + 'static,
    ) {
        self.run(
            move |s| s.log_neighbour(&filter, error.as_deref(), from, older),
            reply,
        );
    }

    /// The newest `limit` rows of one item within [since, until) (either open), oldest first.
    pub fn history_newest(
        &self,
        meter: String,
        item: String,
        since_ms: Option<i64>,
        until_ms: Option<i64>,
        limit: usize,
        reply: impl FnOnce(Result<Vec<Row>, QueryError>) + Send + 'static,
    ) {
        self.run(
            move |s| s.history_newest(&meter, &item, since_ms, until_ms, limit),
            reply,
        );
    }

    /// Calls `reply` once every request sent before has been answered.
    pub fn sync(&self, reply: impl FnOnce() + Send + 'static) {
        let job: Job = Box::new(move |_| reply());
        if let Err(mpsc::SendError(job)) = self.jobs.send(job) {
            job(Err(&QueryError::Stopped));
        }
    }

    /// Writes the rows of `filter` to a new file `file` (never overwriting one), on a thread
    /// with its own read-only connection; answers with the number of rows written.
    pub fn export(
        &self,
        filter: LogFilter,
        format: ExportFormat,
        file: PathBuf,
        reply: impl FnOnce(Result<u64, QueryError>) + Send + 'static,
    ) {
        let db = Arc::clone(&self.location);
        // Held outside the thread too, so a thread that cannot start still gets its answer.
        let reply = Arc::new(std::sync::Mutex::new(Some(reply)));
        let answer = reply.clone();
        let spawned = std::thread::Builder::new()
            .name("store-export".into())
            .spawn(move || {
                let result = export_file(&db, &filter, format, &file);
                if let Some(reply) = answer.lock().ok().and_then(|mut r| r.take()) {
                    reply(result);
                }
            });
        if let Err(source) = spawned {
            if let Some(reply) = reply.lock().ok().and_then(|mut r| r.take()) {
                reply(Err(QueryError::from(StoreError::Thread {
                    path: self.path.clone(),
                    source,
                })));
            }
        }
    }
}

fn export_file(
    db: &StoreLocation,
    filter: &LogFilter,
    format: ExportFormat,
    file: &Path,
) -> Result<u64, QueryError> {
    let store = Database::open_read_only(db).map_err(|e| QueryError::Unavailable(Arc::new(e)))?;
    let mut out = File::create_new(file).map_err(|e| QueryError::Create {
        path: file.to_path_buf(),
        source: Arc::new(e),
    })?;
    let rows = store.export(filter, format, &mut out)?;
    out.sync_all().map_err(|e| QueryError::Write {
        path: file.to_path_buf(),
        source: Arc::new(e),
    })?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Record, Store, STATUS_OK};

    fn reading(ts_ms: i64) -> Record {
        Record {
            ts_ms,
            request: "r".into(),
            meter: "m1".into(),
            item: "e".into(),
            obis: "1.0.1.8.0.255".into(),
            class: 3,
            attribute: 2,
            value: Some(1.0),
            text: None,
            unit: None,
            status: STATUS_OK.into(),
            poll: 1,
            profile: false,
            exact: None,
            meter_time: None,
        }
    }

    fn answer<T: Send + 'static>(
        ask: impl FnOnce(Box<dyn FnOnce(Result<T, QueryError>) + Send>),
    ) -> Result<T, QueryError> {
        let (tx, rx) = mpsc::channel();
        ask(Box::new(move |r| {
            let _ = tx.send(r);
        }));
        rx.recv_timeout(std::time::Duration::from_secs(5)).unwrap()
    }

    #[test]
    fn answers_queries_off_the_callers_thread_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("log.db");
        let mut store = Store::open(&db).unwrap();
        store
            .insert_batch(&(0..5).map(reading).collect::<Vec<_>>())
            .unwrap();
        let reader = spawn_reader(&db).unwrap();
        assert_eq!(answer(|r| reader.counts(r)).unwrap(), (5, 0));
        assert_eq!(answer(|r| reader.latest_per_item(r)).unwrap().len(), 1);
        let page = answer(|r| reader.log_page(LogFilter::default(), None, 3, r)).unwrap();
        assert_eq!(
            page.iter().map(|r| r.record.ts_ms).collect::<Vec<_>>(),
            [4, 3, 2]
        );
        let history = answer(|r| reader.history("m1".into(), "e".into(), 1, 3, 10, r)).unwrap();
        assert_eq!(history.len(), 2);
        let out = dir.path().join("out.csv");
        assert_eq!(
            answer(|r| reader.export(LogFilter::default(), ExportFormat::Csv, out.clone(), r))
                .unwrap(),
            5
        );
        let again = answer(|r| reader.export(LogFilter::default(), ExportFormat::Csv, out, r));
        assert!(matches!(again, Err(QueryError::Create { .. })), "{again:?}");
        let (tx, rx) = mpsc::channel();
        reader.sync(move || tx.send(()).unwrap());
        rx.recv_timeout(std::time::Duration::from_secs(5)).unwrap();
    }

    #[test]
    fn the_reader_never_creates_or_writes_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("missing.db");
        let reader = spawn_reader(&db).unwrap();
        let e = answer(|r| reader.counts(r)).unwrap_err();
        assert!(
            e.to_string().contains("could not be opened for queries"),
            "{e}"
        );
        assert!(!db.exists());
    }
}
