//! Meters that dial in: a listening connection accepts them, logs a DataNotification they push
//! on arrival, identifies each (logical device name or serial number, read over the public
//! client), and then runs that meter's requests over the incoming link.
//!
//! Unknown callers are logged and dropped without reading their data into the database.

use super::{fire, lock, read, secure, Cause, Shared};
use crate::dlms::client::{AttributeRef, ClientSettings, Referencing};
use crate::dlms::data::Data;
use crate::dlms::obis::Obis;
use crate::dlms::wrapper;
use crate::dlms::xdlms::Apdu;
use crate::engine::{EngineError, Interface, MeterAddress, Session};
use crate::queue::{Connection, InterfaceKind, Meter};
use crate::store::{Reading, STATUS_OK};
use crate::transport::BoxStream;
use chrono::Utc;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// How long a meter that dialed in has to push before we start asking.
const PUSH_WAIT: Duration = Duration::from_millis(800);

/// Accepts meters on `host:port` until `stop`.
pub(super) async fn serve(
    shared: Arc<Shared>,
    connection: String,
    host: String,
    port: u16,
    mut stop: watch::Receiver<bool>,
) {
    let listener = match TcpListener::bind((host.as_str(), port)).await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!("connection {connection}: cannot listen on {host}:{port}: {e}");
            return;
        }
    };
    tracing::info!("connection {connection}: listening on {host}:{port} for meters that dial in");
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.changed() => return,
        };
        let Ok((stream, peer)) = accepted else {
            continue;
        };
        let (shared, connection) = (shared.clone(), connection.clone());
        tokio::spawn(async move {
            if let Err(e) = incoming(&shared, &connection, stream).await {
                tracing::warn!("connection {connection}: caller {peer}: {e}");
            }
        });
    }
}

/// One incoming link: push, identification, association, then the meter's requests.
async fn incoming(
    shared: &Arc<Shared>,
    connection: &str,
    mut stream: TcpStream,
) -> Result<(), String> {
    let config = shared.config();
    let conn = config
        .connection(connection)
        .ok_or("the connection is gone")?
        .clone();
    let meters: Vec<Meter> = config
        .meters
        .iter()
        .filter(|m| m.enabled && m.connection == connection)
        .cloned()
        .collect();
    let interface = meters
        .first()
        .map(|m| m.interface)
        .unwrap_or(InterfaceKind::Wrapper);
    // A meter that dials in often pushes first (DataNotification).
    let mut buf = vec![0u8; 8192];
    let push = match tokio::time::timeout(PUSH_WAIT, stream.read(&mut buf)).await {
        Ok(Ok(n)) if n > 0 => parse_push(&buf[..n]),
        Ok(Ok(_)) | Ok(Err(_)) => return Err("the caller closed the link".into()),
        Err(_) => None,
    };
    let timeout = Duration::from_millis(meters.first().map_or(5000, |m| m.timeout_ms));
    let public = MeterAddress {
        interface: match interface {
            InterfaceKind::Wrapper => Interface::Wrapper,
            InterfaceKind::Hdlc => Interface::Hdlc,
        },
        ..MeterAddress::default()
    };
    let mut s = Session::open(
        Box::new(stream) as BoxStream,
        &public,
        ClientSettings::new(Referencing::Ln),
        timeout,
        None,
    )
    .await
    .map_err(|e| format!("cannot associate as the public client: {e}"))?;
    let ids = s
        .read(&[
            AttributeRef::new(1, Obis::new(0, 0, 42, 0, 0, 255), 2),
            AttributeRef::new(1, Obis::new(0, 0, 96, 1, 0, 255), 2),
        ])
        .await
        .map_err(|e| e.to_string())?;
    let text = |r: &Result<Data, _>| r.as_ref().ok().map(|d| d.to_string());
    let (device_name, serial) = (text(&ids[0]), text(&ids[1]));
    let Some(meter) = identify(&meters, device_name.as_deref(), serial.as_deref()) else {
        let _ = s.close().await;
        return Err(format!(
            "unknown meter (device name {device_name:?}, serial number {serial:?}) dialed in; dropped without reading its data"
        ));
    };
    tracing::info!("connection {connection}: meter {} dialed in", meter.name);
    let (stream, _) = s.release().await.map_err(|e| e.to_string())?;
    // The configured association (client, authentication, ciphering) over the same link.
    let once = std::sync::Mutex::new(Some(stream));
    let link = || {
        let taken = lock(&once).take();
        async move {
            taken.ok_or_else(|| {
                EngineError::Address(
                    "an incoming link cannot be reopened (no ic_obis on meters that dial in)"
                        .into(),
                )
            })
        }
    };
    let mut settings = read::meter_settings(&meter);
    if meter.security.ic_obis.is_some() {
        tracing::warn!(
            "meter {}: ic_obis is ignored on an incoming link",
            meter.name
        );
    }
    if let Some(c) = settings.ciphering.as_mut() {
        c.invocation_counter = 0;
    }
    let opened = secure::open(
        link,
        &read::meter_address(&meter),
        settings,
        None,
        Some((&shared.writer, meter.name.as_str())),
        timeout,
        Some(super::trace_sink(shared, &meter.name)),
    )
    .await
    .map_err(|e| format!("meter {}: {e}", meter.name))?;
    let (mut session, lease) = opened;
    let keepalive = super::keepalive_of(&mut session, &meter).await;
    let kept = super::Kept {
        session: Box::new(session),
        lease,
        keepalive,
        last_used: std::time::Instant::now(),
    };
    lock(&shared.dialed_in).insert(meter.name.clone(), kept);
    if let Some(p) = push {
        store_push(shared, &meter, &conn, p).await;
        super::fire_event(shared, "push");
    }
    // Its requests run now over this link (and later fires too, while it stays connected).
    for r in config
        .requests
        .iter()
        .filter(|r| r.enabled && r.meters.contains(&meter.name))
    {
        if !matches!(r.schedule, crate::schedule::Schedule::Event(_)) {
            fire(shared, &r.name, Cause::Event("dial-in".into()), None);
        }
    }
    Ok(())
}

/// The first DataNotification in the bytes a meter sent (WRAPPER; HDLC pushes come in UI frames).
fn parse_push(bytes: &[u8]) -> Option<Data> {
    let apdu = match wrapper::decode(bytes) {
        Ok(Some((_, apdu, _))) => apdu,
        _ => {
            let mut link = crate::dlms::link::ClientLink::Hdlc(
                crate::dlms::hdlc::HdlcClient::new(
                    1,
                    crate::dlms::hdlc::HdlcAddress {
                        logical: 1,
                        physical: None,
                        size: crate::dlms::hdlc::AddressSize::One,
                    },
                    Default::default(),
                )
                .ok()?,
            );
            link.receive(bytes)
                .ok()?
                .into_iter()
                .find_map(|e| match e {
                    crate::dlms::link::LinkEvent::Apdu(a) => Some(a),
                    _ => None,
                })?
        }
    };
    match Apdu::decode(&apdu) {
        Ok(Apdu::DataNotification(n)) => Some(n.body),
        _ => None,
    }
}

/// The configured meter matching what the caller reported.
fn identify(meters: &[Meter], device_name: Option<&str>, serial: Option<&str>) -> Option<Meter> {
    meters
        .iter()
        .find(|m| {
            let by_name = m
                .device_name
                .as_deref()
                .is_some_and(|n| Some(n) == device_name);
            let by_serial = m
                .serial_number
                .is_some_and(|sn| serial.and_then(|s| s.trim().parse::<u64>().ok()) == Some(sn));
            by_name || by_serial
        })
        .cloned()
}

/// The rows of the pushes a session set aside (DataNotifications that came between answers).
pub(super) fn session_pushes(
    session: &mut Session<BoxStream>,
    meter: &str,
    poll: i64,
) -> Vec<Reading> {
    session
        .take_pushes()
        .iter()
        .filter_map(|a| match Apdu::decode(a) {
            Ok(Apdu::DataNotification(n)) => Some(push_rows(meter, n.body, poll)),
            _ => None,
        })
        .flatten()
        .collect()
}

/// One row per pushed element (`push[0]`, `push[1]`, …), or one for a single value.
pub(super) fn push_rows(meter: &str, body: Data, poll: i64) -> Vec<Reading> {
    let ts_ms = Utc::now().timestamp_millis();
    let elements = match body {
        Data::Array(v) | Data::Structure(v) => v,
        d => vec![d],
    };
    elements
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let (value, text) = match d.as_f64() {
                Some(v) if !matches!(d, Data::Boolean(_)) => (Some(v), None),
                _ => (
                    None,
                    Some(match d {
                        Data::Array(_) | Data::Structure(_) => read::data_json(d).to_string(),
                        d => d.to_string(),
                    }),
                ),
            };
            Reading {
                ts_ms,
                request: "push".into(),
                meter: meter.to_string(),
                item: format!("push[{i}]"),
                obis: String::new(),
                class: 0,
                attribute: 0,
                value,
                text,
                unit: None,
                status: STATUS_OK.into(),
                poll,
                profile: false,
            }
        })
        .collect()
}

/// Stores the rows of a push from `meter`.
async fn store_push(shared: &Arc<Shared>, meter: &Meter, _conn: &Connection, body: Data) {
    let poll = shared
        .poll
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let rows = push_rows(&meter.name, body, poll);
    let n = rows.len();
    let writer = shared.writer.clone();
    match tokio::task::spawn_blocking(move || writer.write(rows)).await {
        Ok(Ok(_)) => tracing::info!(
            "stored {n} rows of a push from meter {} (poll {poll})",
            meter.name
        ),
        Ok(Err(e)) => tracing::error!("push from meter {}: rows NOT stored: {e}", meter.name),
        Err(e) => tracing::error!("push from meter {}: rows NOT stored: {e}", meter.name),
    }
}
