//! One request against one meter: connect, associate, read the items, turn the answers into
//! store rows (readings and failures).

use super::profile::{self, ProfileError, Selection};
use crate::dlms::client::{
    AttributeRef, ClientSettings, ReadError, Reading as DlmsReading, Referencing,
};
use crate::dlms::data::Data;
use crate::dlms::unit::Decimal;
use crate::engine::{EngineError, Interface, MeterAddress, Session};
use crate::queue::{
    Auth, Connection, InterfaceKind, Item, KeySecret, Link, Meter, Policy, ReferencingKind,
    Request, Secret, TimeBound,
};
use crate::store::{decimal_json, Reading, STATUS_OK};
use crate::transport::BoxStream;
use chrono::{Local, TimeZone, Utc};
use std::time::Duration;

/// What one run of a request on one meter produced.
pub struct MeterRun {
    /// Rows to store (readings and failures).
    pub rows: Vec<Reading>,
    /// True when the meter was reached and associated.
    pub associated: bool,
    /// Round-trip time of the last request, when associated.
    pub rtt: Option<Duration>,
    /// The error that stopped the run, if any.
    pub error: Option<String>,
}

/// The engine address of a configured meter.
pub fn meter_address(m: &Meter) -> MeterAddress {
    MeterAddress {
        interface: match m.interface {
            InterfaceKind::Wrapper => Interface::Wrapper,
            InterfaceKind::Hdlc => Interface::Hdlc,
        },
        client: m.client,
        physical: m.physical,
        logical: m.logical,
        address_size: m.address_size,
    }
}

/// The association settings of a configured meter.
pub fn meter_settings(m: &Meter) -> ClientSettings {
    use crate::dlms::client::{Authentication, Ciphering};
    use crate::dlms::security::{HlsMechanism, Key, Policy as Wire, SystemTitle};
    let mut s = ClientSettings::new(match m.referencing {
        ReferencingKind::Ln => Referencing::Ln,
        ReferencingKind::Sn => Referencing::Sn,
    });
    let high = |mechanism, secret: &Secret| Authentication::High {
        mechanism,
        secret: secret.expose().as_bytes().to_vec(),
    };
    s.authentication = match &m.auth {
        Auth::None => Authentication::None,
        Auth::Low(secret) => Authentication::Low(secret.expose().as_bytes().to_vec()),
        Auth::High(secret) => high(HlsMechanism::Manufacturer, secret),
        Auth::Md5(secret) => high(HlsMechanism::Md5, secret),
        Auth::Sha1(secret) => high(HlsMechanism::Sha1, secret),
        Auth::Sha256(secret) => high(HlsMechanism::Sha256, secret),
        Auth::Gmac => Authentication::High {
            mechanism: HlsMechanism::Gmac,
            secret: Vec::new(),
        },
    };
    let sec = &m.security;
    let key = |k: &KeySecret| Key(k.expose());
    let sha256 = matches!(m.auth, Auth::Sha256(_));
    let keyed = sec.policy != Policy::None || matches!(m.auth, Auth::Gmac) || sha256;
    // HLS-SHA256 hashes both system titles but needs no key: without keys the ciphering
    // settings only carry the titles (policy none, so no key is ever used).
    let (block, auth) = match (&sec.block_key, &sec.auth_key) {
        (Some(b), Some(a)) => (Some(key(b)), Some(key(a))),
        _ if sha256 && sec.policy == Policy::None => (Some(Key([0; 16])), Some(Key([0; 16]))),
        _ => (None, None),
    };
    s.ciphering = match (block, auth) {
        (Some(block_key), Some(auth_key)) if keyed => Some(Ciphering {
            policy: match sec.policy {
                Policy::None => Wire::None,
                Policy::Auth => Wire::Auth,
                Policy::Enc => Wire::Enc,
                Policy::AuthEnc => Wire::AuthEnc,
            },
            system_title: SystemTitle(sec.system_title),
            block_key,
            auth_key,
            dedicated_key: sec.dedicated_key.as_ref().map(key),
            server_system_title: sec.server_system_title.map(SystemTitle),
            invocation_counter: 0,
            meter_counter_floor: 0,
        }),
        _ => None,
    };
    s
}

/// Opens the connection's link: a TCP connection or the serial port.
pub async fn connect(conn: &Connection, timeout: Duration) -> Result<BoxStream, EngineError> {
    match &conn.link {
        Link::Tcp { host, port, .. } => crate::transport::tcp::connect(host, *port, timeout)
            .await
            .map(|s| Box::new(s) as BoxStream)
            .map_err(|e| EngineError::Io(std::io::Error::other(e.to_string()))),
        Link::Serial(s) if conn.mode == crate::queue::LinkMode::Iec62056_21 => {
            crate::transport::serial::open_mode_e(s, timeout)
                .await
                .map(|p| Box::new(p) as BoxStream)
                .map_err(|e| EngineError::Io(std::io::Error::other(e.to_string())))
        }
        Link::Serial(s) => crate::transport::serial::open(s)
            .map(|p| Box::new(p) as BoxStream)
            .map_err(|e| EngineError::Io(std::io::Error::other(e.to_string()))),
        Link::Listen { .. } => Err(EngineError::Io(std::io::Error::other(
            "a listening connection has no outgoing link; its meters dial in",
        ))),
    }
}

/// Opens a session to a meter, with its security prepared (counters from `counters`).
pub async fn open_secure(
    conn: &Connection,
    m: &Meter,
    counters: &std::sync::Arc<crate::counters::CounterStore>,
    trace: Option<crate::engine::TraceSink>,
) -> Result<Session<BoxStream>, EngineError> {
    let timeout = Duration::from_millis(m.timeout_ms);
    let conn_link = conn.link.clone();
    let conn = conn.clone();
    let link = move || {
        let conn = conn.clone();
        async move { connect(&conn, timeout).await }
    };
    super::secure::open(
        link,
        &meter_address(m),
        meter_settings(m),
        m.security.ic_obis,
        Some(counters),
        timeout,
        trace,
    )
    .await
    .map(|mut session| {
        if let Link::Serial(line) = &conn_link {
            session.set_frame_gap(Duration::from_millis(line.frame_gap_ms));
        }
        session
    })
}

/// The JSON form of a value, for the text column of structures: integers exact (all of u64
/// and i64), floats as the decimal they print as, date-times as text with their clock status.
pub fn data_json(d: &Data) -> serde_json::Value {
    use serde_json::{json, Value};
    match d {
        Data::Array(v) | Data::Structure(v) => Value::Array(v.iter().map(data_json).collect()),
        Data::Null => Value::Null,
        Data::Boolean(b) => json!(b),
        Data::Float32(_) | Data::Float64(_) => match d.as_decimal() {
            Some(n) => decimal_json(n),
            None => Value::Null,
        },
        _ => match d.as_decimal() {
            Some(n) => decimal_json(n),
            None => json!(d.to_string()),
        },
    }
}

/// Template of a row for an item.
fn row(req: &Request, m: &Meter, item: &Item, poll: i64, ts_ms: i64) -> Reading {
    Reading {
        ts_ms,
        request: req.name.clone(),
        meter: m.name.clone(),
        item: item.name.clone(),
        obis: item.obis.to_string(),
        class: item.class_id,
        attribute: item.attribute,
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

/// A failure row for every item (the meter could not be read at all).
pub fn failure_rows(req: &Request, m: &Meter, poll: i64, error: &str) -> Vec<Reading> {
    let now = Utc::now().timestamp_millis();
    items(req)
        .map(|item| Reading {
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

/// Fills a row from a read value: scaled number and unit, or text.
fn fill(mut r: Reading, item: &Item, v: Result<DlmsReading, ReadError>) -> Reading {
    match v {
        Err(e) => r.status = e.to_string(),
        Ok(reading) => {
            if let Some(want) = &item.data_type {
                if reading.data.type_name() != want {
                    r.status = format!(
                        "expected {want}, the meter sent {}",
                        reading.data.type_name()
                    );
                    return r;
                }
            }
            r.unit = match &item.unit {
                Some(u) => Some(u.clone()),
                None => reading.unit().map(str::to_string),
            };
            match reading.decimal() {
                Some(v) => match scaled(v, item.scale) {
                    Some(n) => r.set_decimal(n),
                    // Beyond 38 digits: the float product is the best there is.
                    None => r.value = Some(v.to_f64() * item.scale.unwrap_or(1.0)),
                },
                None => {
                    r.text = Some(match &reading.data {
                        Data::Array(_) | Data::Structure(_) => data_json(&reading.data).to_string(),
                        d => d.to_string(),
                    })
                }
            }
        }
    }
    r
}

/// A value × the item's `scale`, exactly: the scale counts as the decimal it is written as
/// (0.001 is 10^-3), so 9430701 × 0.001 is 9430.701, never 9430.701000000001.
fn scaled(v: Decimal, scale: Option<f64>) -> Option<Decimal> {
    match scale {
        None => Some(v),
        Some(s) => v.checked_mul(Decimal::from_f64(s)?),
    }
}

/// Reads every enabled item of `req` from an open session.
pub async fn read_items(
    session: &mut Session<BoxStream>,
    req: &Request,
    m: &Meter,
    poll: i64,
    last: &std::collections::HashMap<String, i64>,
) -> Result<Vec<Reading>, EngineError> {
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
        match read_profile(session, req, m, item, poll, last.get(&item.name).copied()).await {
            Ok(rows) => out.extend(rows),
            Err(ProfileError::Engine(e)) => return Err(e),
            Err(ProfileError::Item(msg)) => out.push(Reading {
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
) -> Result<Vec<Reading>, ProfileError> {
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
            let base = Reading {
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
        out.push(Reading {
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
pub fn all_ok(rows: &[Reading]) -> bool {
    rows.iter().all(|r| r.status == STATUS_OK)
}
