//! One request against one meter over an open session: read the items (profiles with their
//! catch-up rules) and turn the answers into store rows (values and failures).

use super::profile::{self, ProfileError, Selection};
use super::value::{fill, text};
use super::{EngineError, Session};
use crate::dlms::client::AttributeRef;
use crate::dlms::data::Data;
use crate::queue::{Item, Meter, Request, TimeBound};
use crate::store::{Record, STATUS_OK};
use crate::transport::BoxStream;
use chrono::{Local, TimeZone, Utc};

/// A row with no value yet (status ok).
pub(super) fn blank(request: &str, meter: &str, item: String, poll: i64, ts_ms: i64) -> Record {
    Record {
        ts_ms,
        request: request.to_string(),
        meter: meter.to_string(),
        item,
        obis: String::new(),
        class: 0,
        attribute: 0,
        value: None,
        text: None,
        unit: None,
        status: STATUS_OK.into(),
        poll,
        profile: false,
        exact: None,
        meter_time: None,
    }
}

/// Template of a row for an item.
pub(super) fn row(req: &Request, m: &Meter, item: &Item, poll: i64, ts_ms: i64) -> Record {
    Record {
        obis: item.obis.to_string(),
        class: item.class_id,
        attribute: item.attribute,
        ..blank(&req.name, &m.name, item.name.clone(), poll, ts_ms)
    }
}

/// The rows of a DataNotification's body: one per element (`push[0]`, `push[1]`, …), or one
/// for a single value; numbers exact, the rest as text.
pub fn push_rows(meter: &str, body: Data, poll: i64) -> Vec<Record> {
    let ts_ms = Utc::now().timestamp_millis();
    let elements = match body {
        Data::Array(v) | Data::Structure(v) => v,
        d => vec![d],
    };
    elements
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let mut row = blank("push", meter, format!("push[{i}]"), poll, ts_ms);
            match d.as_decimal() {
                Some(n) => row.set_decimal(n),
                None => row.text = Some(text(d)),
            }
            row
        })
        .collect()
}

/// The rows of a report the meter sent unasked on an association (an APDU from
/// [`Session::take_pushes`]): an event notification (LN) gives one row of request `event`,
/// an information report (SN) one per variable, named `OBIS:attribute` (over SN by the object
/// list's base names, else `sn 0xNNNN`), at the meter's time when it gave a usable one (a
/// time with a warning clock status is kept in `meter_time`). `None` for any other APDU (a
/// DataNotification is `push_rows`' business). Each report is logged.
pub fn report_rows<S: crate::transport::Stream>(
    session: &Session<S>,
    meter: &str,
    apdu: &[u8],
    poll: i64,
) -> Option<Vec<Record>> {
    use crate::dlms::obis::Obis;
    use crate::dlms::xdlms::{Apdu, VariableAccess};
    /// One reported value: its row name, object (when known), class, attribute and value.
    struct Reported<'a>(String, Option<Obis>, u16, i8, &'a Data);
    let (time, values): (_, Vec<Reported>);
    let decoded = Apdu::decode(apdu).ok()?;
    match &decoded {
        Apdu::EventNotificationRequest(e) => {
            let a = &e.attribute;
            time = e.time;
            values = vec![Reported(
                format!("{}:{}", a.instance, a.attribute),
                Some(a.instance),
                a.class_id,
                a.attribute,
                &e.value,
            )];
        }
        Apdu::InformationReportRequest(r) => {
            time = r.time;
            let named = |v: &VariableAccess, d| {
                let name = match v {
                    VariableAccess::Name(n) | VariableAccess::Parameterized { name: n, .. } => *n,
                    VariableAccess::BlockNumber(n) => *n,
                };
                match session.dlms().attribute_of_short_name(name) {
                    Some((obis, a)) => Reported(format!("{obis}:{a}"), Some(obis), 0, a, d),
                    None => Reported(format!("sn 0x{name:04X}"), None, 0, 0, d),
                }
            };
            values = r
                .variables
                .iter()
                .zip(&r.values)
                .map(|(v, d)| named(v, d))
                .collect();
        }
        _ => return None,
    }
    tracing::info!(
        "meter {}: {}",
        crate::text::escape(meter),
        crate::text::escape(&decoded.summary())
    );
    let stamped = time.and_then(|t| t.to_chrono().map(|c| (t, c)));
    let ts_ms = stamped.map_or_else(
        || Utc::now().timestamp_millis(),
        |(_, c)| c.timestamp_millis(),
    );
    let meter_time = stamped
        .filter(|(t, _)| t.warns())
        .map(|(t, _)| t.to_string());
    Some(
        values
            .into_iter()
            .map(|Reported(item, obis, class, attribute, d)| {
                let mut row = blank("event", meter, item, poll, ts_ms);
                if let Some(obis) = obis {
                    row.obis = obis.to_string();
                }
                row.class = class;
                row.attribute = attribute;
                row.meter_time = meter_time.clone();
                match d.as_decimal() {
                    Some(n) => row.set_decimal(n),
                    None => row.text = Some(text(d)),
                }
                row
            })
            .collect(),
    )
}

/// A failure row for every item (the meter could not be read at all).
pub fn failure_rows(req: &Request, m: &Meter, poll: i64, error: &str) -> Vec<Record> {
    let now = Utc::now().timestamp_millis();
    items(req)
        .map(|item| Record {
            status: error.to_string(),
            ..row(req, m, item, poll, now)
        })
        .collect()
}

fn items(req: &Request) -> impl Iterator<Item = &Item> {
    req.items.iter().filter(|i| i.enabled)
}

fn is_profile(item: &Item) -> bool {
    item.class_id == 7 && item.attribute == 2
}

/// Reads every enabled item of `req` from an open session.
pub async fn read_items(
    session: &mut Session<BoxStream>,
    req: &Request,
    m: &Meter,
    poll: i64,
    last: &std::collections::HashMap<String, i64>,
) -> Result<Vec<Record>, EngineError> {
    let (profiles, plain): (Vec<&Item>, Vec<&Item>) = items(req).partition(|i| is_profile(i));
    let refs: Vec<AttributeRef> = plain
        .iter()
        .map(|i| AttributeRef::new(i.class_id, i.obis, i.attribute))
        .collect();
    let mut out = Vec::new();
    if !refs.is_empty() {
        let values = session.read_scaled(&refs).await?;
        let now = Utc::now().timestamp_millis();
        for (item, v) in plain.iter().zip(values) {
            out.push(fill(row(req, m, item, poll, now), item, v));
        }
    }
    for item in profiles {
        // Boxed: most requests read no profile, and a register read's future stays small.
        let read = Box::pin(read_profile(
            session,
            req,
            m,
            item,
            poll,
            last.get(&item.name).copied(),
        ));
        match read.await {
            Ok(rows) => out.extend(rows),
            Err(ProfileError::Engine(e)) => return Err(e),
            Err(ProfileError::Item(msg)) => out.push(Record {
                status: msg,
                ..row(req, m, item, poll, Utc::now().timestamp_millis())
            }),
        }
    }
    Ok(out)
}

/// Reads a profile item: its `since`/`until` range when given; otherwise what is new since
/// `last` (the newest capture time already stored), which also back-fills an outage; otherwise
/// the newest `entries` (96 by default). Each column of each row is a row of its own with the
/// row's capture time; a gap in the meter's buffer is reported as a row, never filled in.
async fn read_profile(
    session: &mut Session<BoxStream>,
    req: &Request,
    m: &Meter,
    item: &Item,
    poll: i64,
    last: Option<i64>,
) -> Result<Vec<Record>, ProfileError> {
    let now = Local::now();
    let selection = if item.since.is_some() || item.until.is_some() {
        let bound = |b: &Option<TimeBound>, default| b.as_ref().map_or(default, |b| b.resolve(now));
        Selection::Range {
            from: bound(&item.since, now - chrono::Duration::days(1)),
            to: bound(&item.until, now),
        }
    } else if let Some(ts) = last.and_then(|ts| Local.timestamp_millis_opt(ts + 1000).single()) {
        Selection::Range { from: ts, to: now }
    } else {
        Selection::Last(item.entries.unwrap_or(96))
    };
    let p = profile::read(session, item.obis, &selection).await?;
    let mut out = Vec::new();
    for r in &p.rows {
        for (i, reading) in &r.values {
            let Some(col) = p.columns.get(*i) else {
                continue;
            };
            let base = Record {
                item: format!("{}/{}", item.name, col.obis),
                obis: col.obis.to_string(),
                class: col.class_id,
                attribute: col.attribute,
                profile: true,
                meter_time: r.meter_time.map(|t| t.to_string()),
                ..row(req, m, item, poll, r.ts_ms)
            };
            out.push(fill(base, item, Ok(reading.clone())));
        }
    }
    // A gap between the newest stored row and the first new one counts too.
    let mut gaps = p.gaps.clone();
    if let (Some(prev), Some(first), true) = (last, p.rows.first(), p.capture_period > 0) {
        let step = p.capture_period as i64 * 1000;
        if first.ts_ms - prev > step {
            gaps.insert(
                0,
                profile::Gap {
                    after_ms: prev,
                    before_ms: first.ts_ms,
                    missing: (first.ts_ms - prev) / step - 1,
                },
            );
        }
    }
    let time = |ms: i64| {
        Local
            .timestamp_millis_opt(ms)
            .single()
            .map(|t| t.to_rfc3339())
            .unwrap_or_default()
    };
    for g in gaps {
        out.push(Record {
            status: format!(
                "gap in the meter's profile: {} capture period(s) missing between {} and {}",
                g.missing,
                time(g.after_ms),
                time(g.before_ms)
            ),
            ..row(req, m, item, poll, g.before_ms)
        });
    }
    Ok(out)
}

/// True when every row of a run is a success.
pub fn all_ok(rows: &[Record]) -> bool {
    rows.iter().all(|r| r.status == STATUS_OK)
}
