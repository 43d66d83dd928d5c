//! An action request's steps on one meter, over an open session: each change read before,
//! made, read back, and described as a `store::WriteRecord`; a clock sync only when the drift
//! exceeds its bound. A lost answer stops the steps: what follows must not run on a meter in
//! an unknown state.

use super::{EngineError, Session};
use crate::dlms::client::{AttributeRef, Change, MethodRef};
use crate::dlms::data::Data;
use crate::dlms::datetime::CosemDateTime;
use crate::dlms::obis::Obis;
use crate::queue::input::{host_now, parse_as, parse_like};
use crate::queue::Step;
use crate::store::{WriteOutcome, WriteRecord};
use crate::transport::Stream;
use chrono::{DateTime, FixedOffset};

/// The clock.
const CLOCK: Obis = Obis::new(0, 0, 1, 0, 0, 255);

/// What the steps on one meter came to.
pub struct StepsOutcome {
    /// One record per step run (done, refused, skipped, unknown, failed).
    pub records: Vec<WriteRecord>,
    /// The error that stopped the steps, if one did.
    pub error: Option<EngineError>,
    /// The attribute to read back over a new association when the last answer was lost.
    pub read_back: Option<AttributeRef>,
}

/// The drift of a clock value from `host`, in seconds (meter − host).
pub fn drift(d: &Data, host: DateTime<FixedOffset>) -> Option<f64> {
    let t = match d {
        Data::OctetString(b) => CosemDateTime::from_octets(b)?,
        Data::DateTime(t) => *t,
        _ => return None,
    };
    Some((t.to_chrono()? - host).num_milliseconds() as f64 / 1000.0)
}

async fn read_one<S: Stream>(
    s: &mut Session<S>,
    attr: &AttributeRef,
) -> Result<Option<Data>, EngineError> {
    Ok(s.read(std::slice::from_ref(attr))
        .await?
        .into_iter()
        .next()
        .and_then(Result::ok))
}

/// Where the steps' records go as they happen: a change is recorded before it is sent and
/// completed after, so a crash in between leaves a `sent` row, never nothing.
pub trait Journal: Send {
    /// A change is about to be sent (its outcome is `Sent`).
    fn sending(&mut self, record: &WriteRecord);
    /// A step ended: the change announced by `sending`, or a step that sent nothing.
    fn ended(&mut self, record: &WriteRecord);
}

/// A journal that keeps nothing (the records are still returned).
pub struct NoJournal;

impl Journal for NoJournal {
    fn sending(&mut self, _: &WriteRecord) {}
    fn ended(&mut self, _: &WriteRecord) {}
}

/// Runs `steps` on the meter behind `session`; `source` (the request) and `meter` name the
/// records, which go to `journal` as they happen.
pub async fn run_steps<S: Stream>(
    session: &mut Session<S>,
    steps: &[Step],
    source: &str,
    meter: &str,
    journal: &mut dyn Journal,
) -> StepsOutcome {
    let mut out = StepsOutcome {
        records: Vec::new(),
        error: None,
        read_back: None,
    };
    for step in steps {
        let (obis, class, member, kind) = match step {
            Step::ClockSync { .. } => (CLOCK, 8, 2, "set"),
            Step::Set {
                obis,
                class_id,
                attribute,
                ..
            } => (*obis, *class_id, *attribute, "set"),
            Step::Call {
                obis,
                class_id,
                method,
                ..
            } => (*obis, *class_id, *method, "action"),
        };
        let mut record = WriteRecord {
            ts_ms: chrono::Utc::now().timestamp_millis(),
            source: source.to_string(),
            meter: meter.to_string(),
            kind: kind.into(),
            obis: obis.to_string(),
            class,
            member,
            request: step.describe(),
            old_value: None,
            new_value: None,
            outcome: WriteOutcome::Failed,
            result: None,
            returned: None,
        };
        let watch = (kind == "set").then(|| AttributeRef::new(class, obis, member));
        let old = match &watch {
            Some(a) => match read_one(session, a).await {
                Ok(v) => v,
                Err(e) => {
                    record.result = Some(e.to_string());
                    journal.ended(&record);
                    out.records.push(record);
                    out.error = Some(e);
                    return out;
                }
            },
            None => None,
        };
        record.old_value = old.as_ref().map(Data::shown);
        let (now, dst) = host_now();
        let change = match (step, &old) {
            (Step::ClockSync { when_drift_over }, Some(current)) => {
                let d = drift(current, now);
                if let (Some(bound), Some(d)) = (when_drift_over, d) {
                    if d.abs() <= bound.as_secs_f64() {
                        record.outcome = WriteOutcome::Skipped;
                        record.result = Some(format!(
                            "drift {d:+.1} s is within {}: not set",
                            crate::text::duration(*bound)
                        ));
                        journal.ended(&record);
                        out.records.push(record);
                        continue;
                    }
                }
                parse_like(current, "now", now, dst).map(|value| Change::Set {
                    attribute: AttributeRef::new(8, CLOCK, 2),
                    value,
                })
            }
            (
                Step::Set {
                    value, data_type, ..
                },
                _,
            ) => match (data_type, &old) {
                (Some(t), _) => parse_as(t, value, now),
                (None, Some(current)) => parse_like(current, value, now, dst),
                (None, None) => Err(crate::queue::input::InputError::NoTemplate(
                    "unreadable value",
                )),
            }
            .map(|v| Change::Set {
                attribute: AttributeRef::new(class, obis, member),
                value: v,
            }),
            (
                Step::Call {
                    param, data_type, ..
                },
                _,
            ) => match param {
                Some(p) => parse_as(data_type.as_deref().unwrap_or("i8"), p, now).map(Some),
                None => Ok(Some(Data::Integer(0))),
            }
            .map(|parameter| Change::Action {
                method: MethodRef::new(class, obis, member),
                parameter,
            }),
            (Step::ClockSync { .. }, None) => Err(crate::queue::input::InputError::NoTemplate(
                "unreadable clock",
            )),
        };
        let change = match change {
            Ok(c) => c,
            Err(e) => {
                record.result = Some(format!("not sent: {e}"));
                journal.ended(&record);
                out.records.push(record);
                continue;
            }
        };
        record.outcome = WriteOutcome::Sent;
        journal.sending(&record);
        match session.change(&change, false).await {
            Ok(o) => {
                record.outcome = if o.succeeded() {
                    WriteOutcome::Done
                } else {
                    WriteOutcome::Refused
                };
                record.result = Some(o.result.to_string());
                record.returned = o.returned.map(|r| match r {
                    Ok(d) => d.shown(),
                    Err(e) => format!("error: {e}"),
                });
            }
            Err(e) => {
                let unknown = matches!(e, EngineError::OutcomeUnknown(_));
                record.outcome = if unknown {
                    WriteOutcome::Unknown
                } else {
                    WriteOutcome::Failed
                };
                record.result = Some(e.to_string());
                journal.ended(&record);
                out.records.push(record);
                out.read_back = if unknown { watch } else { None };
                out.error = Some(e);
                return out;
            }
        }
        if let Some(a) = &watch {
            record.new_value = read_one(session, a).await.ok().flatten().map(|d| d.shown());
        }
        journal.ended(&record);
        out.records.push(record);
    }
    out
}
