//! A dedicated thread that owns the store and commits batches for the async runner.

use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::{Database, Record, StoreError, StoreLocation};

/// Batches waiting for the writer; when full, submitters block, which slows polling down
/// to the disk's pace instead of buffering without bound.
const QUEUE_DEPTH: usize = 1024;
/// Places in the queue async submitters wait for without a thread; the rest are kept for
/// blocking submitters and the shutdown, so an async one practically never finds it full.
const ASYNC_PLACES: usize = QUEUE_DEPTH - 64;

/// Most batches (and rows) one group commit takes.
const GROUP_BATCHES: usize = 256;
const GROUP_ROWS: usize = 20_000;

/// How the writer waits out a locked database or a full disk before giving up on a batch.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// SQLite's own wait for a lock, per attempt.
    pub busy_timeout: Duration,
    /// Pause after the first failed attempt; doubled after each further one.
    pub first_delay: Duration,
    /// Longest pause between attempts.
    pub max_delay: Duration,
    /// Time after which the error is returned to the caller instead of retrying.
    pub give_up_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            busy_timeout: Duration::from_secs(5),
            first_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(5),
            give_up_after: Duration::from_secs(60),
        }
    }
}

/// The result of one batch: rows stored, or why nothing was stored.
/// A batch the store could not take, given back with the reason (so the caller can keep it).
#[derive(Debug)]
pub struct Refused {
    /// Why the batch was not stored.
    pub error: StoreError,
    /// The batch, untouched.
    pub rows: Vec<Record>,
}

/// A batch's fate: rows stored, or refused with the rows given back.
type Outcome = Result<usize, Box<Refused>>;

enum Job {
    Write { batch: Vec<Record>, reply: Reply },
    Shutdown,
}

/// Where the writer answers a batch: a thread blocked on it, or a task awaiting it.
enum Reply {
    Blocking(SyncSender<Outcome>),
    /// With the task's place in the queue, given back once the batch is answered.
    Async(
        tokio::sync::oneshot::Sender<Outcome>,
        tokio::sync::OwnedSemaphorePermit,
    ),
}

impl Reply {
    /// The caller may have stopped waiting; the outcome is then of no use to anyone.
    fn send(self, outcome: Outcome) {
        match self {
            Reply::Blocking(s) => {
                let _ = s.send(outcome);
            }
            Reply::Async(s, place) => {
                let _ = s.send(outcome);
                drop(place);
            }
        }
    }
}

/// The writer thread; dropping it (or [`Writer::shutdown`]) finishes the queued batches and closes the database.
pub struct Writer {
    queue: SyncSender<Job>,
    thread: Option<JoinHandle<Result<(), StoreError>>>,
    path: Arc<Path>,
}

/// Submits batches to the writer; cheap to clone and send to other threads.
#[derive(Clone)]
pub struct WriterHandle {
    queue: SyncSender<Job>,
    /// [`ASYNC_PLACES`] permits: an async batch waits for one before it is queued.
    places: Arc<tokio::sync::Semaphore>,
    /// The log as named in messages (the masked URL for PostgreSQL).
    shown: Arc<Path>,
    location: Arc<StoreLocation>,
    /// The file the log's companions are named after ([`StoreLocation::local_path`]).
    local: Arc<Path>,
}

/// A submitted batch whose commit has not been awaited yet.
pub struct Pending {
    reply: Receiver<Outcome>,
    path: Arc<Path>,
}

impl Writer {
    /// Opens the database at `path` and starts the writer thread with the default retry policy.
    pub fn spawn(path: &Path) -> Result<(Writer, WriterHandle), StoreError> {
        Writer::spawn_with(path, RetryPolicy::default())
    }

    /// Opens the database at `path` and starts the writer thread.
    pub fn spawn_with(
        path: &Path,
        policy: RetryPolicy,
    ) -> Result<(Writer, WriterHandle), StoreError> {
        Writer::spawn_at(&StoreLocation::from(path), policy)
    }

    /// Opens the log at `location` (an SQLite file or a PostgreSQL database) and starts the
    /// writer thread.
    pub fn spawn_at(
        location: &StoreLocation,
        policy: RetryPolicy,
    ) -> Result<(Writer, WriterHandle), StoreError> {
        // Opened here so that a bad path or database is reported to the caller directly.
        let store = Database::open(location)?;
        store.set_busy_timeout(policy.busy_timeout)?;
        let path = location.shown_path();
        let path = path.as_path();
        let (queue, jobs) = sync_channel(QUEUE_DEPTH);
        let thread = std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || run(store, &jobs, &policy))
            .map_err(|source| StoreError::Thread {
                path: path.to_path_buf(),
                source,
            })?;
        let path: Arc<Path> = Arc::from(path);
        let handle = WriterHandle {
            queue: queue.clone(),
            places: Arc::new(tokio::sync::Semaphore::new(ASYNC_PLACES)),
            shown: Arc::clone(&path),
            location: Arc::new(location.clone()),
            local: Arc::from(location.local_path().as_path()),
        };
        let writer = Writer {
            queue,
            thread: Some(thread),
            path,
        };
        Ok((writer, handle))
    }

    /// Finishes the batches queued so far, closes the database and stops the thread; later submissions fail.
    pub fn shutdown(mut self) -> Result<(), StoreError> {
        self.stop()
    }

    fn stop(&mut self) -> Result<(), StoreError> {
        let Some(thread) = self.thread.take() else {
            return Ok(());
        };
        // If the thread is already gone the send fails; join then reports how it ended.
        let _ = self.queue.send(Job::Shutdown);
        thread.join().unwrap_or_else(|_| {
            Err(StoreError::WriterStopped {
                path: self.path.to_path_buf(),
            })
        })
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            tracing::error!("{e}");
        }
    }
}

impl WriterHandle {
    /// Writes a batch and blocks until it is committed (durable) or has finally failed.
    pub fn write(&self, batch: Vec<Record>) -> Result<usize, StoreError> {
        self.submit(batch)?.wait()
    }

    /// Like [`WriterHandle::write`], but a batch that could not be stored comes back with the
    /// error, for the caller to keep (nothing is copied on the way).
    pub fn write_or_return(&self, batch: Vec<Record>) -> Outcome {
        let (reply, outcome) = sync_channel(1);
        let reply = Reply::Blocking(reply);
        if let Err(std::sync::mpsc::SendError(job)) = self.queue.send(Job::Write { batch, reply }) {
            let rows = match job {
                Job::Write { batch, .. } => batch,
                _ => Vec::new(),
            };
            return Err(Box::new(Refused {
                error: self.stopped(),
                rows,
            }));
        }
        Pending {
            reply: outcome,
            path: Arc::clone(&self.shown),
        }
        .wait_or_return()
    }

    fn stopped(&self) -> StoreError {
        StoreError::WriterStopped {
            path: self.shown.to_path_buf(),
        }
    }

    /// [`WriterHandle::write_or_return`] for async code: the task waits, not a thread.
    ///
    /// A fleet's runs all end their polls at about the same moment; waiting in blocking tasks
    /// took one thread per run (tokio's pool grew to 512 threads and ~100 MB at 10,000
    /// meters). A full queue did that still: 10,000 runs ending together overflow 1,024
    /// places, and 200 threads were started at every period's end. So a task first waits for
    /// one of [`ASYNC_PLACES`] places (a semaphore, no thread); only when blocking submitters
    /// filled the places kept for them too does it wait off the runtime.
    pub async fn store(&self, batch: Vec<Record>) -> Outcome {
        use std::sync::mpsc::{SendError, TrySendError};
        let (reply, outcome) = tokio::sync::oneshot::channel();
        // The semaphore is never closed.
        let Ok(place) = self.places.clone().acquire_owned().await else {
            return Err(Box::new(Refused {
                error: self.stopped(),
                rows: batch,
            }));
        };
        let job = Job::Write {
            batch,
            reply: Reply::Async(reply, place),
        };
        let unsent = match self.queue.try_send(job) {
            Ok(()) => None,
            Err(TrySendError::Disconnected(job)) => Some(job),
            Err(TrySendError::Full(job)) => {
                let queue = self.queue.clone();
                match tokio::task::spawn_blocking(move || queue.send(job)).await {
                    Ok(Ok(())) => None,
                    Ok(Err(SendError(job))) => Some(job),
                    // The send cannot panic; were the task cancelled, the rows went with it.
                    Err(_) => {
                        return Err(Box::new(Refused {
                            error: self.stopped(),
                            rows: Vec::new(),
                        }))
                    }
                }
            }
        };
        if let Some(job) = unsent {
            let rows = match job {
                Job::Write { batch, .. } => batch,
                _ => Vec::new(),
            };
            return Err(Box::new(Refused {
                error: self.stopped(),
                rows,
            }));
        }
        // A dropped reply means the writer stopped before taking the batch (the rows went with it).
        outcome.await.unwrap_or_else(|_| {
            Err(Box::new(Refused {
                error: self.stopped(),
                rows: Vec::new(),
            }))
        })
    }

    /// Queues a batch (blocking only while the queue is full) and returns a handle to await its commit.
    ///
    /// From async code, use [`WriterHandle::store`].
    pub fn submit(&self, batch: Vec<Record>) -> Result<Pending, StoreError> {
        // Capacity 1: the writer never blocks on replying, even if nobody waits.
        let (reply, outcome) = sync_channel(1);
        let reply = Reply::Blocking(reply);
        self.queue
            .send(Job::Write { batch, reply })
            .map_err(|_| StoreError::WriterStopped {
                path: self.shown.to_path_buf(),
            })?;
        Ok(Pending {
            reply: outcome,
            path: Arc::clone(&self.shown),
        })
    }
}

impl WriterHandle {
    /// The database file this writer writes; for PostgreSQL the file its companions (spill
    /// file, outbox, control socket) are named after, see [`StoreLocation::local_path`].
    pub fn path(&self) -> &Path {
        &self.local
    }

    /// Where the log is: an SQLite file or a PostgreSQL database.
    pub fn location(&self) -> &StoreLocation {
        &self.location
    }
}

impl Pending {
    /// Blocks until the batch is committed, returning how many rows were stored.
    pub fn wait(self) -> Result<usize, StoreError> {
        self.wait_or_return().map_err(|r| r.error)
    }

    /// Blocks until the batch is committed; on failure the rows come back with the error.
    pub fn wait_or_return(self) -> Outcome {
        // A closed reply channel means the writer stopped before taking the batch (the rows
        // went with it).
        self.reply.recv().unwrap_or_else(|_| {
            Err(Box::new(Refused {
                error: StoreError::WriterStopped {
                    path: self.path.to_path_buf(),
                },
                rows: Vec::new(),
            }))
        })
    }
}

fn run(mut store: Database, jobs: &Receiver<Job>, policy: &RetryPolicy) -> Result<(), StoreError> {
    let mut next: Option<Job> = None;
    loop {
        let Some(job) = next.take().or_else(|| jobs.recv().ok()) else {
            break;
        };
        match job {
            Job::Write { batch, reply } => {
                // Group commit: what is queued now goes in the same transaction, so a busy
                // logger pays one disk sync for many runs. Each caller is still answered only
                // after the commit that holds its rows.
                let mut group = vec![(batch, reply)];
                let mut rows = group[0].0.len();
                while group.len() < GROUP_BATCHES && rows < GROUP_ROWS {
                    match jobs.try_recv() {
                        Ok(Job::Write { batch, reply }) => {
                            rows += batch.len();
                            group.push((batch, reply));
                        }
                        Ok(other) => {
                            next = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                write_group(&mut store, group, policy);
            }
            Job::Shutdown => break,
        }
    }
    store.close()
}

/// Commits a group of batches in one transaction (with retries); if the group fails, each
/// batch is tried on its own so that one bad batch cannot fail the others.
fn write_group(store: &mut Database, group: Vec<(Vec<Record>, Reply)>, policy: &RetryPolicy) {
    if group.len() > 1 {
        let batches: Vec<&[Record]> = group.iter().map(|(b, _)| b.as_slice()).collect();
        if let Ok(counts) = store.insert_batches(&batches) {
            drop(batches);
            for ((_, reply), n) in group.into_iter().zip(counts) {
                reply.send(Ok(n));
            }
            return;
        }
    }
    for (batch, reply) in group {
        let outcome = write_with_retry(store, &batch, policy);
        reply.send(outcome.map_err(|error| Box::new(Refused { error, rows: batch })));
    }
}

/// Inserts a batch, retrying transient failures with exponential backoff until the policy gives up.
fn write_with_retry(
    store: &mut Database,
    batch: &[Record],
    policy: &RetryPolicy,
) -> Result<usize, StoreError> {
    let started = Instant::now();
    let mut delay = policy.first_delay;
    let mut tries = 0u32;
    loop {
        tries += 1;
        match store.insert_batch(batch) {
            // A full disk is tried twice only: space seldom comes back within a minute, and the
            // caller keeps the rows (the runner parks and spills them) so polling goes on.
            Err(e)
                if e.is_transient()
                    && !(e.is_disk_full() && tries >= 2)
                    && started.elapsed().saturating_add(delay) <= policy.give_up_after =>
            {
                tracing::warn!(
                    rows = batch.len(),
                    retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                    "{e}; retrying"
                );
                std::thread::sleep(delay);
                delay = delay.saturating_mul(2).min(policy.max_delay);
            }
            outcome => return outcome,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::record::sample;
    use super::super::Scan;
    use super::super::{LogFilter, Store};
    use super::*;

    #[test]
    fn counters_of_older_versions_are_read_per_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.db");
        let (writer, _handle) = Writer::spawn(&path).unwrap();
        writer.shutdown().unwrap();
        let conn = rusqlite::Connection::open(&path).unwrap();
        conn.execute_batch(
            "INSERT INTO invocation_counter VALUES ('m1', 'k1', 100), ('m2', 'k1', 300), \
             ('m1', 'k2', 7), ('m1', 'meter-k1', 999)",
        )
        .unwrap();
        drop(conn);
        let store = Store::open(&path).unwrap();
        let mut rows = store.legacy_counters().unwrap();
        rows.sort();
        assert_eq!(rows, vec![("k1".into(), 300), ("k2".into(), 7)]);
    }

    #[test]
    fn batches_are_committed_before_write_returns() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.db");
        let (writer, handle) = Writer::spawn(&path).unwrap();
        assert_eq!(
            handle
                .write(vec![sample::ok("m1", "energy", 1, 1.0)])
                .unwrap(),
            1
        );
        // Another connection sees the rows as soon as write returns.
        assert_eq!(Store::open(&path).unwrap().counts().unwrap(), (1, 0));
        let pending: Vec<_> = (0..5)
            .map(|i| {
                handle
                    .submit(vec![sample::ok("m1", "energy", 10 + i, 1.0)])
                    .unwrap()
            })
            .collect();
        for p in pending {
            assert_eq!(p.wait().unwrap(), 1);
        }
        writer.shutdown().unwrap();
        assert_eq!(Store::open(&path).unwrap().counts().unwrap(), (6, 0));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn awaited_batches_are_committed_before_store_returns_and_come_back_once_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.db");
        let (writer, handle) = Writer::spawn(&path).unwrap();
        // Many runs awaiting at once, on one thread: no thread per run, all committed.
        let runs = (0..200).map(|i| {
            let h = handle.clone();
            async move { h.store(vec![sample::ok("m1", "energy", i, 1.0)]).await }
        });
        for outcome in futures_join_all(runs).await {
            assert_eq!(outcome.unwrap(), 1);
        }
        assert_eq!(Store::open(&path).unwrap().counts().unwrap(), (200, 0));
        writer.shutdown().unwrap();
        let refused = handle
            .store(vec![sample::ok("m1", "energy", 999, 1.0)])
            .await
            .unwrap_err();
        assert_eq!(refused.rows.len(), 1, "the rows come back to be kept");
        assert!(matches!(refused.error, StoreError::WriterStopped { .. }));
    }

    /// Awaits every future on this task (no extra crate for a test).
    async fn futures_join_all<F: std::future::Future>(
        futs: impl Iterator<Item = F>,
    ) -> Vec<F::Output> {
        let mut out = Vec::new();
        // Polled together so that all of them are queued before the first answer comes.
        let mut pending: Vec<_> = futs.map(|f| Some(Box::pin(f))).collect();
        std::future::poll_fn(|cx| {
            let mut all = true;
            for f in pending.iter_mut() {
                if let Some(fut) = f {
                    match fut.as_mut().poll(cx) {
                        std::task::Poll::Ready(v) => {
                            out.push(v);
                            *f = None;
                        }
                        std::task::Poll::Pending => all = false,
                    }
                }
            }
            if all {
                std::task::Poll::Ready(())
            } else {
                std::task::Poll::Pending
            }
        })
        .await;
        out
    }

    #[test]
    fn shutdown_finishes_queued_batches_then_refuses_more() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.db");
        let (writer, handle) = Writer::spawn(&path).unwrap();
        let queued: Vec<_> = (0..4)
            .map(|i| {
                handle
                    .submit(vec![sample::ok("m1", "energy", i, 1.0)])
                    .unwrap()
            })
            .collect();
        writer.shutdown().unwrap();
        for p in queued {
            assert_eq!(p.wait().unwrap(), 1);
        }
        let err = handle
            .write(vec![sample::ok("m1", "energy", 9, 1.0)])
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "the writer of database {} has stopped; the batch was not stored",
                path.display()
            )
        );
        let store = Store::open(&path).unwrap();
        assert_eq!(
            store
                .log_page(&LogFilter::default(), None, 10)
                .unwrap()
                .len(),
            4
        );
    }

    fn quick_retries(give_up_after: Duration) -> RetryPolicy {
        RetryPolicy {
            busy_timeout: Duration::from_millis(10),
            first_delay: Duration::from_millis(20),
            max_delay: Duration::from_millis(50),
            give_up_after,
        }
    }

    /// Holds the write lock of `path` from another connection until the returned connection commits.
    fn lock(path: &Path) -> rusqlite::Connection {
        let conn = rusqlite::Connection::open(path).unwrap();
        conn.execute_batch("BEGIN IMMEDIATE").unwrap();
        conn
    }

    #[test]
    fn a_locked_database_is_retried_until_it_frees_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.db");
        let (writer, handle) =
            Writer::spawn_with(&path, quick_retries(Duration::from_secs(5))).unwrap();
        let other = lock(&path);
        let pending = handle
            .submit(vec![sample::ok("m1", "energy", 1, 1.0)])
            .unwrap();
        std::thread::sleep(Duration::from_millis(150));
        other.execute_batch("COMMIT").unwrap();
        assert_eq!(pending.wait().unwrap(), 1);
        writer.shutdown().unwrap();
    }

    #[test]
    fn a_refused_batch_comes_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.db");
        let (writer, handle) =
            Writer::spawn_with(&path, quick_retries(Duration::from_millis(100))).unwrap();
        let other = lock(&path);
        let batch = vec![
            sample::ok("m1", "energy", 1, 1.0),
            sample::ok("m1", "power", 1, 2.0),
        ];
        let refused = handle.write_or_return(batch.clone()).unwrap_err();
        assert!(refused.error.is_transient(), "{:?}", refused.error);
        assert_eq!(refused.rows, batch);
        other.execute_batch("ROLLBACK").unwrap();
        assert_eq!(handle.write_or_return(refused.rows).unwrap(), 2);
        writer.shutdown().unwrap();
    }

    #[test]
    fn a_lock_that_stays_is_reported_not_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.db");
        let (writer, handle) =
            Writer::spawn_with(&path, quick_retries(Duration::from_millis(100))).unwrap();
        let other = lock(&path);
        let err = handle
            .write(vec![sample::ok("m1", "energy", 1, 1.0)])
            .unwrap_err();
        assert!(err.is_transient(), "{err:?}");
        assert_eq!(
            err.to_string(),
            format!(
                "database {}: starting a write transaction failed: database is locked",
                path.display()
            )
        );
        other.execute_batch("ROLLBACK").unwrap();
        writer.shutdown().unwrap();
    }
}
