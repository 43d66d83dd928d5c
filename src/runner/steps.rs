//! Action requests: a request with steps makes its changes on each meter through the
//! connection's worker (the kept association, or one opened for the run), records every step
//! in the `writes` table, and after a lost answer reads the value back over a new association.
//! Changes are never retried: a second try after an unknown outcome could make it twice.

use super::action::{read_back, with_session};
use super::worker::MeterRun;
use super::*;
use crate::engine::change::{run_steps, Journal, StepsOutcome};
use crate::engine::EngineError;
use crate::queue::{Connection, Meter, Step};
use crate::store::{WriteOutcome, WriteRecord};

/// Runs the steps of `req` on meter `m`.
pub(super) async fn run_on_meter(
    shared: &Arc<Shared>,
    req: &Request,
    conn: &Connection,
    m: &Meter,
    links: &mut Links,
) -> MeterRun {
    let timeout = Duration::from_millis(req.timeout_ms);
    let (records, error) =
        change_meter(shared, &req.steps, &req.name, timeout, conn, m, links).await;
    let summary: Vec<String> = records
        .iter()
        .map(|r| {
            format!(
                "{}: {}{}",
                r.request,
                r.outcome.name(),
                r.result
                    .as_deref()
                    .map(|x| format!(" ({x})"))
                    .unwrap_or_default()
            )
        })
        .collect();
    let failed = records.iter().any(|r| {
        matches!(
            r.outcome,
            WriteOutcome::Refused | WriteOutcome::Unknown | WriteOutcome::Failed
        )
    });
    let summary = summary.join("; ");
    let error = match (failed, error) {
        (_, Some(e)) => Some(format!("{summary} ({e})")),
        (true, None) => Some(summary.clone()),
        (false, None) => None,
    };
    MeterRun {
        rows: Vec::new(),
        rtt: None,
        error,
        note: Some(summary),
    }
}

/// Makes `steps` on meter `m` (named `source` in the records), each recorded in the `writes`
/// table before it is sent and completed after; after a lost answer the value is read back
/// over a new association. Returns the records and the error that stopped the steps.
pub(super) async fn change_meter(
    shared: &Arc<Shared>,
    steps: &[Step],
    source: &str,
    timeout: Duration,
    conn: &Connection,
    m: &Meter,
    links: &mut Links,
) -> (Vec<WriteRecord>, Option<EngineError>) {
    let location = shared.writer.location().clone();
    let journal = tokio::task::spawn_blocking(move || StoreJournal::open(&location))
        .await
        .unwrap_or(StoreJournal {
            store: None,
            open: None,
            last: None,
        });
    let shared_journal = Arc::new(Mutex::new(journal));
    let outcome = {
        let (steps, source, meter) = (steps.to_vec(), source.to_string(), m.name.clone());
        let mut journal = JournalHandle(shared_journal.clone());
        let work = with_session(shared, conn, m, links, move |s| {
            Box::pin(async move { Ok(run_steps(s, &steps, &source, &meter, &mut journal).await) })
        });
        tokio::time::timeout(timeout, work).await
    };
    let mut journal = JournalHandle(shared_journal);
    let not_started = |why: String| StepsOutcome {
        records: vec![not_run(source, steps, m, &why)],
        error: None,
        read_back: None,
    };
    let outcome = match outcome {
        Ok(Ok(o)) => o,
        Ok(Err(e)) => not_started(e.to_string()),
        Err(_) => not_started(format!("timed out after {} ms", timeout.as_millis())),
    };
    let StepsOutcome {
        mut records,
        error,
        read_back: lost,
    } = outcome;
    match (lost, records.last_mut()) {
        // After a lost answer the meter's state is unknown: read it back over a new association.
        (Some(attr), Some(last)) => {
            last.new_value = read_back(shared, conn, m, &attr).await.map(|d| d.shown());
            lock(&journal.0).amend_last(last);
        }
        // A run that never reached the meter has one record the steps never saw.
        (None, Some(last)) if lock(&journal.0).is_empty() => journal.ended(last),
        _ => {}
    }
    (records, error)
}

/// The record of a run that could not start (no link, no association).
fn not_run(source: &str, steps: &[Step], m: &Meter, why: &str) -> WriteRecord {
    WriteRecord {
        ts_ms: Utc::now().timestamp_millis(),
        source: source.to_string(),
        meter: m.name.clone(),
        kind: "action".into(),
        obis: String::new(),
        class: 0,
        member: 0,
        request: steps
            .iter()
            .map(|s| s.describe())
            .collect::<Vec<_>>()
            .join("; "),
        old_value: None,
        new_value: None,
        outcome: WriteOutcome::Failed,
        result: Some(why.to_string()),
        returned: None,
    }
}

/// The `writes` table as the steps' journal: its own connection (the writer thread takes
/// readings; changes are few and each must be on disk before it is sent).
struct StoreJournal {
    store: Option<crate::store::Database>,
    /// The row of the change being sent.
    open: Option<i64>,
    /// The row of the last record.
    last: Option<i64>,
}

impl StoreJournal {
    fn open(location: &crate::store::StoreLocation) -> Self {
        let store = crate::store::Database::open(location)
            .map_err(|e| tracing::error!("changes will not be recorded: {e}"))
            .ok();
        StoreJournal {
            store,
            open: None,
            last: None,
        }
    }

    /// True before any record was stored.
    fn is_empty(&self) -> bool {
        self.last.is_none() && self.open.is_none()
    }

    /// Completes the last record again (the value read back after a lost answer).
    fn amend_last(&mut self, record: &WriteRecord) {
        if let (Some(s), Some(id)) = (self.store.as_mut(), self.last) {
            if let Err(e) = s.finish_write(id, record) {
                tracing::error!("change record not completed: {e}");
            }
        }
    }
}

/// The journal shared between the steps (inside the association's work) and the read-back.
struct JournalHandle(Arc<Mutex<StoreJournal>>);

impl Journal for JournalHandle {
    fn sending(&mut self, record: &WriteRecord) {
        lock(&self.0).sending(record);
    }

    fn ended(&mut self, record: &WriteRecord) {
        lock(&self.0).ended(record);
    }
}

impl StoreJournal {
    fn sending(&mut self, record: &WriteRecord) {
        if let Some(s) = self.store.as_mut() {
            match s.begin_write(record) {
                Ok(id) => self.open = Some(id),
                Err(e) => tracing::error!("change record not stored: {e}"),
            }
        }
    }

    fn ended(&mut self, record: &WriteRecord) {
        let Some(s) = self.store.as_mut() else {
            return;
        };
        let r = match self.open.take() {
            Some(id) => s.finish_write(id, record).map(|()| id),
            None => s.begin_write(record),
        };
        match r {
            Ok(id) => self.last = Some(id),
            Err(e) => tracing::error!("change record not stored: {e}"),
        }
    }
}
