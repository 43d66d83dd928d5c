//! Action requests: a request with steps makes its changes on each meter through the
//! connection's worker (the kept association, or one opened for the run), records every step
//! in the `writes` table, and after a lost answer reads the value back over a new association.
//! Changes are never retried: a second try after an unknown outcome could make it twice.

use super::action::{read_back, with_session};
use super::worker::MeterRun;
use super::*;
use crate::engine::change::{run_steps, shown, StepsOutcome};
use crate::queue::{Connection, Meter};
use crate::store::{WriteOutcome, WriteRecord};

/// Runs the steps of `req` on meter `m`.
pub(super) async fn run_on_meter(
    shared: &Arc<Shared>,
    req: &Request,
    conn: &Connection,
    m: &Meter,
    links: &mut Links,
) -> MeterRun {
    let (steps, source, meter) = (req.steps.clone(), req.name.clone(), m.name.clone());
    let work = with_session(shared, conn, m, links, move |s| {
        Box::pin(async move { Ok(run_steps(s, &steps, &source, &meter).await) })
    });
    let outcome = match tokio::time::timeout(Duration::from_millis(req.timeout_ms), work).await {
        Ok(Ok(o)) => o,
        Ok(Err(e)) => StepsOutcome {
            records: vec![not_run(req, m, &e.to_string())],
            error: None,
            read_back: None,
        },
        Err(_) => StepsOutcome {
            records: vec![not_run(
                req,
                m,
                &format!("request timed out after {} ms", req.timeout_ms),
            )],
            error: None,
            read_back: None,
        },
    };
    let StepsOutcome {
        mut records,
        error,
        read_back: lost,
    } = outcome;
    // After a lost answer the meter's state is unknown: read it back over a new association.
    if let (Some(attr), Some(last)) = (lost, records.last_mut()) {
        last.new_value = read_back(shared, conn, m, &attr).await.map(|d| shown(&d));
    }
    let rtt = None;
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
    record_writes(shared, records).await;
    let summary = summary.join("; ");
    let error = match (failed, error) {
        (_, Some(e)) => Some(format!("{summary} ({e})")),
        (true, None) => Some(summary.clone()),
        (false, None) => None,
    };
    MeterRun {
        rows: Vec::new(),
        rtt,
        error,
        note: Some(summary),
    }
}

/// The record of a run that could not start (no link, no association).
fn not_run(req: &Request, m: &Meter, why: &str) -> WriteRecord {
    WriteRecord {
        ts_ms: Utc::now().timestamp_millis(),
        source: req.name.clone(),
        meter: m.name.clone(),
        kind: "action".into(),
        obis: String::new(),
        class: 0,
        member: 0,
        request: req
            .steps
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

/// Stores the records in the `writes` table (its own connection: the writer thread takes
/// readings; changes are few).
async fn record_writes(shared: &Arc<Shared>, records: Vec<WriteRecord>) {
    let path = shared.writer.path().to_path_buf();
    let n = records.len();
    let done = tokio::task::spawn_blocking(move || -> Result<(), crate::store::StoreError> {
        let mut store = crate::store::Store::open(&path)?;
        for r in &records {
            store.begin_write(r)?;
        }
        Ok(())
    })
    .await;
    match done {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!("{n} change record(s) not stored: {e}"),
        Err(e) => tracing::error!("{n} change record(s) not stored: {e}"),
    }
}
