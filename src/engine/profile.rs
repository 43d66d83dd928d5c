//! Reading a profile generic (class 7): capture objects, capture period and entries in use,
//! then the buffer by range or by entry — falling back to the last N entries, then to the whole
//! buffer filtered here, when a meter does not support a selector — as rows with their own
//! capture time, each column scaled by its register's scaler_unit. Gaps the meter's own
//! buffer has are reported, never filled in.

use crate::dlms::client::{AttributeRef, ReadError, Reading};
use crate::dlms::data::Data;
use crate::dlms::datetime::CosemDateTime;
use crate::dlms::obis::Obis;
use crate::dlms::unit::ScalerUnit;
use crate::dlms::xdlms::SelectiveAccess;
use crate::engine::{EngineError, Session};
use crate::transport::Stream;
use chrono::{DateTime, Local, TimeZone};

/// One column of a profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Interface class of the captured object.
    pub class_id: u16,
    /// Its logical name.
    pub obis: Obis,
    /// The captured attribute.
    pub attribute: i8,
}

impl Column {
    /// True for the clock column that stamps each row.
    pub fn is_clock(&self) -> bool {
        self.class_id == 8 && self.attribute == 2
    }
}

/// Which entries to read.
#[derive(Debug, Clone, PartialEq)]
pub enum Selection {
    /// The newest N entries.
    Last(u32),
    /// Entries captured within [from, to].
    Range {
        /// First capture time (inclusive).
        from: DateTime<Local>,
        /// Last capture time (inclusive).
        to: DateTime<Local>,
    },
}

/// One captured row: its capture time and each non-clock column's value.
#[derive(Debug, Clone, PartialEq)]
pub struct ProfileRow {
    /// Capture time, UTC milliseconds.
    pub ts_ms: i64,
    /// The capture time as the meter stated it, when its clock status warns (invalid,
    /// doubtful, different clock base, invalid clock status): the row's time is then not to be
    /// trusted as it is, and every display of it says so. A row with a null clock cell
    /// (compressed buffers) inherits the warning of the row it follows.
    pub meter_time: Option<CosemDateTime>,
    /// (column index, value with its scaler_unit), clock column excluded.
    pub values: Vec<(usize, Reading)>,
}

/// A gap in the meter's own buffer: capture times that are missing between two rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Gap {
    /// The row before the gap (UTC ms).
    pub after_ms: i64,
    /// The row after the gap (UTC ms).
    pub before_ms: i64,
    /// Capture periods missing.
    pub missing: i64,
}

/// What a profile read produced.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Profile {
    /// The capture objects.
    pub columns: Vec<Column>,
    /// Seconds between captures (attribute 4), 0 when asynchronous.
    pub capture_period: u32,
    /// The rows read, oldest first.
    pub rows: Vec<ProfileRow>,
    /// Gaps among the rows read.
    pub gaps: Vec<Gap>,
    /// How the rows were selected in the end ("range", "entry", "whole buffer").
    pub method: &'static str,
}

/// Why a profile could not be read.
#[derive(Debug)]
pub enum ProfileError {
    /// The link or association failed (the run fails).
    Engine(EngineError),
    /// This profile could not be read (its item fails, other items do not).
    Item(String),
}

impl From<EngineError> for ProfileError {
    fn from(e: EngineError) -> Self {
        ProfileError::Engine(e)
    }
}

fn first(v: Vec<Result<Data, ReadError>>, what: &str) -> Result<Data, ProfileError> {
    v.into_iter()
        .next()
        .unwrap_or(Err(ReadError::Exception("no answer".into())))
        .map_err(|e| ProfileError::Item(format!("cannot read the profile's {what}: {e}")))
}

fn date_time(t: DateTime<Local>) -> Data {
    Data::OctetString(CosemDateTime::from_chrono(&t, 0xFF).to_bytes().to_vec())
}

fn by_range(from: DateTime<Local>, to: DateTime<Local>) -> SelectiveAccess {
    SelectiveAccess {
        selector: 1,
        parameters: Data::Structure(vec![
            Data::Structure(vec![
                Data::LongUnsigned(8),
                Data::OctetString(Obis::new(0, 0, 1, 0, 0, 255).0.to_vec()),
                Data::Integer(2),
                Data::LongUnsigned(0),
            ]),
            date_time(from),
            date_time(to),
            Data::Array(vec![]),
        ]),
    }
}

fn by_entry(from: u32, to: u32) -> SelectiveAccess {
    SelectiveAccess {
        selector: 2,
        parameters: Data::Structure(vec![
            Data::DoubleLongUnsigned(from.max(1)),
            Data::DoubleLongUnsigned(to),
            Data::LongUnsigned(1),
            Data::LongUnsigned(0),
        ]),
    }
}

/// Reads profile `obis` as selected.
pub async fn read<S: Stream>(
    session: &mut Session<S>,
    obis: Obis,
    selection: &Selection,
) -> Result<Profile, ProfileError> {
    let attr = |a| AttributeRef::new(7, obis, a);
    let columns =
        parse_capture_objects(&first(session.read(&[attr(3)]).await?, "capture objects")?)
            .ok_or_else(|| {
                ProfileError::Item("the profile's capture objects are malformed".into())
            })?;
    let head = session.read(&[attr(4), attr(7)]).await?;
    let capture_period = head
        .first()
        .and_then(|r| r.as_ref().ok())
        .and_then(Data::as_i128)
        .unwrap_or(0) as u32;
    let in_use = head
        .get(1)
        .and_then(|r| r.as_ref().ok())
        .and_then(Data::as_i128)
        .unwrap_or(0) as u32;
    // Registers among the columns: their scaler_unit scales the column.
    let su_refs: Vec<AttributeRef> = columns
        .iter()
        .filter(|c| matches!(c.class_id, 3 | 4) && c.attribute == 2)
        .map(|c| AttributeRef::new(c.class_id, c.obis, 3))
        .collect();
    let su_results = if su_refs.is_empty() {
        Vec::new()
    } else {
        session.read(&su_refs).await?
    };
    let scalers: Vec<Option<ScalerUnit>> = columns
        .iter()
        .map(|c| {
            su_refs
                .iter()
                .position(|s| s.obis == c.obis && c.attribute == 2)
                .and_then(|i| su_results.get(i))
                .and_then(|r| r.as_ref().ok())
                .and_then(ScalerUnit::from_data)
        })
        .collect();
    // Try the selector asked for, then by entry, then the whole buffer (filtered here).
    let mut tries: Vec<(&'static str, Option<SelectiveAccess>)> = Vec::new();
    match selection {
        Selection::Range { from, to } => {
            tries.push(("range", Some(by_range(*from, *to))));
            if capture_period > 0 && in_use > 0 {
                let span = ((*to - *from).num_seconds().max(0) as u64 / capture_period as u64 + 2)
                    .min(in_use as u64) as u32;
                tries.push((
                    "entry",
                    Some(by_entry(in_use.saturating_sub(span) + 1, in_use)),
                ));
            }
        }
        Selection::Last(n) => {
            if in_use == 0 {
                return Ok(Profile {
                    columns,
                    capture_period,
                    method: "entry",
                    ..Profile::default()
                });
            }
            tries.push((
                "entry",
                Some(by_entry(in_use.saturating_sub(*n) + 1, in_use)),
            ));
        }
    }
    tries.push(("whole buffer", None));
    let mut last_error = String::new();
    for (method, access) in tries {
        let mut r = attr(2);
        r.access = access;
        match first(session.read(&[r]).await?, "buffer") {
            Ok(Data::Array(raw)) => {
                let mut rows = to_rows(&columns, &scalers, raw, capture_period);
                // Whatever the meter sent, keep exactly what was selected.
                match selection {
                    Selection::Range { from, to } => {
                        let (f, t) = (from.timestamp_millis(), to.timestamp_millis());
                        rows.retain(|r| r.ts_ms >= f && r.ts_ms <= t);
                    }
                    Selection::Last(n) => {
                        let skip = rows.len().saturating_sub(*n as usize);
                        rows.drain(..skip);
                    }
                }
                let gaps = gaps(&rows, capture_period);
                return Ok(Profile {
                    columns,
                    capture_period,
                    rows,
                    gaps,
                    method,
                });
            }
            Ok(other) => {
                last_error = format!("the buffer is a {}, not an array", other.type_name())
            }
            Err(ProfileError::Item(e)) => last_error = e,
            Err(e) => return Err(e),
        }
        tracing::debug!("profile {obis}: selection by {method} failed: {last_error}");
    }
    Err(ProfileError::Item(last_error))
}

fn parse_capture_objects(d: &Data) -> Option<Vec<Column>> {
    let Data::Array(cols) = d else { return None };
    cols.iter()
        .map(|c| match c {
            Data::Structure(f) if f.len() >= 3 => Some(Column {
                class_id: f[0].as_i128()? as u16,
                obis: f[1].as_obis()?,
                attribute: f[2].as_i128()? as i8,
            }),
            _ => None,
        })
        .collect()
}

/// Capture time of a row in UTC ms; a date-time without deviation is logger-local time.
fn capture_time_ms(dt: &CosemDateTime) -> Option<i64> {
    match dt.to_chrono() {
        Some(t) => Some(t.timestamp_millis()),
        None => Local
            .from_local_datetime(&dt.naive()?)
            .earliest()
            .map(|t| t.timestamp_millis()),
    }
}

/// Buffer entries to rows; a null clock cell (compressed buffers) is the previous time plus
/// one capture period.
fn to_rows(
    columns: &[Column],
    scalers: &[Option<ScalerUnit>],
    raw: Vec<Data>,
    period: u32,
) -> Vec<ProfileRow> {
    let clock = columns.iter().position(Column::is_clock);
    let mut prev: Option<(i64, Option<CosemDateTime>)> = None;
    let mut out = Vec::with_capacity(raw.len());
    for entry in raw {
        let Data::Structure(cells) = entry else {
            continue;
        };
        let stamped = match clock.and_then(|i| cells.get(i)) {
            Some(Data::Null) => prev.map(|(p, warned)| {
                let ts = p + period as i64 * 1000;
                // The time follows from a suspect one: it is as suspect.
                let warned = warned.map(|w| shifted(&w, ts).unwrap_or(w));
                (ts, warned)
            }),
            Some(d) => d
                .as_date_time()
                .and_then(|dt| Some((capture_time_ms(&dt)?, dt.warns().then_some(dt)))),
            None => None,
        };
        let Some((ts, meter_time)) = stamped else {
            continue;
        };
        prev = Some((ts, meter_time));
        let values = cells
            .into_iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != clock)
            .map(|(i, data)| {
                (
                    i,
                    Reading {
                        data,
                        scaler_unit: scalers.get(i).copied().flatten(),
                    },
                )
            })
            .collect();
        out.push(ProfileRow {
            ts_ms: ts,
            meter_time,
            values,
        });
    }
    out
}

/// `like`'s deviation and clock status at the instant `ts_ms` (a time derived from it).
fn shifted(like: &CosemDateTime, ts_ms: i64) -> Option<CosemDateTime> {
    let offset = chrono::FixedOffset::east_opt(-(like.deviation? as i32) * 60)?;
    let t = offset.timestamp_millis_opt(ts_ms).single()?;
    Some(CosemDateTime::from_chrono(&t, like.status.unwrap_or(0)))
}

/// Missing capture periods between consecutive rows.
fn gaps(rows: &[ProfileRow], period: u32) -> Vec<Gap> {
    if period == 0 {
        return Vec::new();
    }
    let step = period as i64 * 1000;
    rows.windows(2)
        .filter_map(|w| {
            let d = w[1].ts_ms - w[0].ts_ms;
            (d > step).then(|| Gap {
                after_ms: w[0].ts_ms,
                before_ms: w[1].ts_ms,
                missing: d / step - 1,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The columns of a typical load profile: the clock, then +A energy.
    fn clock_and_energy() -> Vec<Column> {
        vec![
            Column {
                class_id: 8,
                obis: Obis::new(0, 0, 1, 0, 0, 255),
                attribute: 2,
            },
            Column {
                class_id: 3,
                obis: Obis::new(1, 0, 1, 8, 0, 255),
                attribute: 2,
            },
        ]
    }

    #[test]
    fn null_clock_cells_follow_the_capture_period_and_gaps_are_found() {
        let cols = clock_and_energy();
        let t0 = chrono::Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap();
        let dt = |t: chrono::DateTime<chrono::Utc>| {
            Data::OctetString(CosemDateTime::from_chrono(&t, 0).to_bytes().to_vec())
        };
        let raw = vec![
            Data::Structure(vec![dt(t0), Data::DoubleLongUnsigned(1)]),
            Data::Structure(vec![Data::Null, Data::DoubleLongUnsigned(2)]),
            Data::Structure(vec![
                dt(t0 + chrono::Duration::minutes(60)),
                Data::DoubleLongUnsigned(3),
            ]),
        ];
        let rows = to_rows(&cols, &[None, None], raw, 900);
        assert_eq!(rows[1].ts_ms - rows[0].ts_ms, 900_000);
        assert!(rows.iter().all(|r| r.meter_time.is_none()), "a sound clock");
        let g = gaps(&rows, 900);
        assert_eq!(g.len(), 1);
        assert_eq!(
            g[0].missing, 2,
            "15 and 30 minutes after the second row are missing"
        );
    }

    #[test]
    fn a_capture_time_with_a_warning_status_keeps_it() {
        let cols = clock_and_energy();
        let plus1 = chrono::FixedOffset::east_opt(3600).unwrap();
        let t0 = plus1.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap();
        let dt = |t, status| {
            Data::OctetString(CosemDateTime::from_chrono(&t, status).to_bytes().to_vec())
        };
        let raw = vec![
            Data::Structure(vec![dt(t0, 0x01), Data::DoubleLongUnsigned(1)]),
            Data::Structure(vec![Data::Null, Data::DoubleLongUnsigned(2)]),
            Data::Structure(vec![
                dt(t0 + chrono::Duration::minutes(30), 0x02),
                Data::DoubleLongUnsigned(3),
            ]),
            Data::Structure(vec![
                dt(t0 + chrono::Duration::minutes(45), 0x80),
                Data::DoubleLongUnsigned(4),
            ]),
        ];
        let rows = to_rows(&cols, &[None, None], raw, 900);
        let times: Vec<Option<String>> = rows
            .iter()
            .map(|r| r.meter_time.map(|t| t.to_string()))
            .collect();
        assert_eq!(
            times,
            [
                Some("2026-11-21T12:00:00+01:00 (invalid)".to_string()),
                Some("2026-11-21T12:15:00+01:00 (invalid)".to_string()),
                Some("2026-11-21T12:30:00+01:00 (doubtful)".to_string()),
                None, // daylight saving alone is no warning
            ]
        );
        assert_eq!(rows[0].ts_ms, t0.timestamp_millis(), "the time is kept");
    }
}
