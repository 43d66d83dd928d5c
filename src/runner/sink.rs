//! Where a run's rows go: the store's writer, parked rows when it refuses, the status.

use super::error::NotStored;
use super::*;

/// Writes a run's rows in one transaction; logs "stored" only once they are committed.
pub(super) async fn store(shared: &Arc<Shared>, req: &Request, poll: i64, rows: Vec<Record>) {
    if rows.is_empty() {
        return;
    }
    let failures = rows.iter().filter(|r| r.is_failure()).count() as u64;
    let result = persist(shared, rows).await;
    let mut st = lock(&shared.status);
    match result {
        Ok(n) => {
            st.rows_stored += n as u64;
            st.failures_stored += failures;
            st.store_error = None;
            drop(st);
            tracing::info!("stored {n} rows of request {} (poll {poll})", req.name);
        }
        Err(e) => {
            st.store_error = Some(e.to_string());
            drop(st);
            // Said once, then at most once a minute: a full disk refuses every run.
            if lock(&shared.refuse_log).note(e.cause()).is_some() {
                tracing::error!(
                    "request {} (poll {poll}): rows not stored yet: {e}",
                    req.name
                );
            }
        }
    }
}

/// Writes `rows` in one transaction, after any rows an earlier failure parked; returns how many
/// of `rows` were stored. Rows the store refuses are parked for the next write (spilled to a
/// file beyond the bound), never dropped: the error says where they are.
pub(super) async fn persist(shared: &Arc<Shared>, rows: Vec<Record>) -> Result<usize, NotStored> {
    let paused = lock(&shared.refused_at).is_some_and(|t| t.elapsed() < STORE_PAUSE);
    if paused {
        // The store refused rows a moment ago (a full disk): keep these without asking it
        // again, so polling goes on at its pace.
        park(shared, rows).await;
        let waiting = lock(&shared.parked).len();
        let last = lock(&shared.status).store_error.clone().unwrap_or_default();
        let last = last
            .split("; kept in memory")
            .next()
            .unwrap_or_default()
            .to_string();
        return Err(NotStored::Parked {
            error: last,
            waiting,
        });
    }
    let earlier = lock(&shared.parked).take();
    // Copies for the sinks, only when there are sinks: they get rows once they are stored.
    let feeding = lock(&shared.sinks).as_ref().is_some_and(|s| !s.is_empty());
    let earlier_copy = (feeding && !earlier.is_empty()).then(|| earlier.clone());
    let rows_copy = feeding.then(|| rows.clone());
    let earlier_failed = earlier.iter().filter(|r| r.is_failure()).count() as u64;
    // Awaited, not waited for in a blocking task: see `WriterHandle::store`.
    let first = match earlier.is_empty() {
        true => None,
        false => Some(shared.writer.store(earlier).await),
    };
    let now = shared.writer.store(rows).await;
    match first {
        Some(Ok(k)) => {
            let mut st = lock(&shared.status);
            st.rows_stored += k as u64;
            st.failures_stored += earlier_failed;
            drop(st);
            feed(shared, earlier_copy);
            tracing::info!("stored {k} rows kept from an earlier store failure");
        }
        Some(Err(refused)) => {
            *lock(&shared.refused_at) = Some(std::time::Instant::now());
            park(shared, refused.rows).await
        }
        None => {}
    }
    match now {
        Ok(k) => {
            *lock(&shared.refused_at) = None;
            feed(shared, rows_copy);
            Ok(k)
        }
        Err(refused) => {
            *lock(&shared.refused_at) = Some(std::time::Instant::now());
            let error = refused.error.to_string();
            park(shared, refused.rows).await;
            let waiting = lock(&shared.parked).len();
            Err(NotStored::Parked { error, waiting })
        }
    }
}

/// Hands stored rows to the sinks (never waits: each has a channel and a thread of its own).
pub(super) fn feed(shared: &Arc<Shared>, rows: Option<Vec<Record>>) {
    let Some(rows) = rows.filter(|r| !r.is_empty()) else {
        return;
    };
    if let Some(sinks) = lock(&shared.sinks).as_ref() {
        sinks.send(Arc::new(rows));
    }
}

/// Parks `rows` for the next write; beyond the bound they go to the spill file.
pub(super) async fn park(shared: &Arc<Shared>, rows: Vec<Record>) {
    let overflow = lock(&shared.parked).park(rows);
    if overflow.is_empty() {
        return;
    }
    let n = overflow.len();
    let spill = shared.spill.clone();
    let why = match tokio::task::spawn_blocking(move || parked::spill_rows(&spill, &overflow)).await
    {
        Ok(Ok(path)) => {
            let line = format!(
                "rows beyond the in-memory bound go to {} (stored at the next start)",
                path.display()
            );
            if let Some(l) = lock(&shared.store_log).note(&line) {
                tracing::warn!("{l}");
            }
            return;
        }
        Ok(Err(e)) => e.to_string(),
        Err(e) => format!("the spill task failed: {e}"),
    };
    let mut st = lock(&shared.status);
    st.rows_dropped += n as u64;
    let total = st.rows_dropped;
    st.store_error = Some(format!(
        "rows are being DROPPED: the store refuses them, memory holds its bound and {why}"
    ));
    drop(st);
    let line = format!(
        "rows DROPPED: not stored, memory at its bound, and {why}; free space there or give \
         run --spill a path on another filesystem"
    );
    if let Some(l) = lock(&shared.store_log).note(&line) {
        tracing::error!("{l} ({total} rows dropped so far)");
    }
}
