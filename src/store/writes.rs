//! The `writes` table: every change made to a meter (SET, ACTION, WRITE), its request, the
//! values before and after, and what came of it. A row is written before the change is sent
//! and completed after, so nothing sent is ever missing from it.

use super::{Store, StoreError};

/// What came of a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteOutcome {
    /// Recorded, about to be sent (a row left like this was interrupted).
    Sent,
    /// The meter said it was made.
    Done,
    /// The meter refused it (`result` says why).
    Refused,
    /// Sent, but the answer never came: the change may or may not have been made.
    Unknown,
    /// Not sent: the meter could not be reached or associated.
    Failed,
    /// Not needed (a clock sync whose drift is within its bound).
    Skipped,
}

impl WriteOutcome {
    /// The word stored and shown.
    pub fn name(self) -> &'static str {
        match self {
            WriteOutcome::Sent => "sent",
            WriteOutcome::Done => "done",
            WriteOutcome::Refused => "refused",
            WriteOutcome::Unknown => "unknown outcome",
            WriteOutcome::Failed => "failed",
            WriteOutcome::Skipped => "skipped",
        }
    }

    /// The outcome a stored word names (`sent` for a word this build does not know).
    pub fn from_name(name: &str) -> WriteOutcome {
        match name {
            "done" => WriteOutcome::Done,
            "refused" => WriteOutcome::Refused,
            "unknown outcome" => WriteOutcome::Unknown,
            "failed" => WriteOutcome::Failed,
            "skipped" => WriteOutcome::Skipped,
            _ => WriteOutcome::Sent,
        }
    }
}

/// One change as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteRecord {
    /// UTC milliseconds when it was sent.
    pub ts_ms: i64,
    /// Who made it: `cli`, or the request's name.
    pub source: String,
    /// The meter.
    pub meter: String,
    /// `set`, `action` or `write`.
    pub kind: String,
    /// The object's OBIS code.
    pub obis: String,
    /// Its class.
    pub class: u16,
    /// The attribute (set, write) or method (action).
    pub member: i8,
    /// The request as sent, decoded (value or parameter).
    pub request: String,
    /// The value read before, when it was.
    pub old_value: Option<String>,
    /// The value read back after, when it was.
    pub new_value: Option<String>,
    /// What came of it.
    pub outcome: WriteOutcome,
    /// The meter's result code in words, or the error.
    pub result: Option<String>,
    /// What a method returned.
    pub returned: Option<String>,
}

impl Store {
    /// Records a change about to be sent; returns its id for [`Store::finish_write`].
    pub fn begin_write(&mut self, w: &WriteRecord) -> Result<i64, StoreError> {
        self.conn
            .execute(
                "INSERT INTO writes (ts, source, meter, kind, obis, class, member, request, \
                 old_value, new_value, outcome, result, returned) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                rusqlite::params![
                    w.ts_ms,
                    w.source,
                    w.meter,
                    w.kind,
                    w.obis,
                    w.class,
                    w.member,
                    w.request,
                    w.old_value,
                    w.new_value,
                    w.outcome.name(),
                    w.result,
                    w.returned
                ],
            )
            .map_err(|e| StoreError::sqlite(&self.path, "recording a change", e))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Completes a recorded change with its outcome and the value read back.
    pub fn finish_write(&mut self, id: i64, w: &WriteRecord) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE writes SET new_value = ?2, outcome = ?3, result = ?4, returned = ?5 \
                 WHERE id = ?1",
                rusqlite::params![id, w.new_value, w.outcome.name(), w.result, w.returned],
            )
            .map_err(|e| StoreError::sqlite(&self.path, "recording a change's outcome", e))?;
        Ok(())
    }

    /// The newest `limit` changes, newest first.
    pub fn writes(&self, limit: usize) -> Result<Vec<(i64, WriteRecord)>, StoreError> {
        let fail = |e| StoreError::sqlite(&self.path, "reading the changes made to meters", e);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, ts, source, meter, kind, obis, class, member, request, old_value, \
                 new_value, outcome, result, returned FROM writes ORDER BY ts DESC, id DESC \
                 LIMIT ?1",
            )
            .map_err(fail)?;
        let rows = stmt
            .query_map([limit as i64], |r| {
                let outcome: String = r.get(11)?;
                Ok((
                    r.get(0)?,
                    WriteRecord {
                        ts_ms: r.get(1)?,
                        source: r.get(2)?,
                        meter: r.get(3)?,
                        kind: r.get(4)?,
                        obis: r.get(5)?,
                        class: r.get(6)?,
                        member: r.get(7)?,
                        request: r.get(8)?,
                        old_value: r.get(9)?,
                        new_value: r.get(10)?,
                        outcome: WriteOutcome::from_name(&outcome),
                        result: r.get(12)?,
                        returned: r.get(13)?,
                    },
                ))
            })
            .map_err(fail)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(fail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_is_recorded_before_it_is_sent_and_completed_after() {
        let mut store = Store::open_in_memory().unwrap();
        let mut w = WriteRecord {
            ts_ms: 1,
            source: "cli".into(),
            meter: "m1".into(),
            kind: "set".into(),
            obis: "0.0.1.0.0.255".into(),
            class: 8,
            member: 2,
            request: "octet-string 07EA…".into(),
            old_value: Some("2026-12-06 10:00:00".into()),
            new_value: None,
            outcome: WriteOutcome::Sent,
            result: None,
            returned: None,
        };
        let id = store.begin_write(&w).unwrap();
        assert_eq!(store.writes(10).unwrap()[0].1.outcome, WriteOutcome::Sent);
        w.outcome = WriteOutcome::Done;
        w.result = Some("success".into());
        w.new_value = Some("2026-12-06 10:00:05".into());
        store.finish_write(id, &w).unwrap();
        assert_eq!(store.writes(10).unwrap(), vec![(id, w)]);
    }
}
