//! Meters that dial in: a listening connection accepts them, logs a DataNotification they push
//! on arrival, identifies each (logical device name or serial number, read over the public
//! client), and then runs that meter's requests over the incoming link.
//!
//! Unknown callers are logged and dropped without reading their data into the database.

use super::{fire_for_meter, lock, Cause, Shared};
use crate::dlms::client::{AttributeRef, ClientSettings, Referencing};
use crate::dlms::data::Data;
use crate::dlms::obis::Obis;
use crate::dlms::security::{
    decipher_apdu, Key, Policy as WirePolicy, SystemTitle, GENERAL_GLO as GENERAL_GLO_CIPHERING,
};
use crate::dlms::wrapper;
use crate::dlms::xdlms::Apdu;
use crate::engine::{Interface, MeterAddress, Session};
use crate::queue::{Auth, Connection, InterfaceKind, Meter, Policy};
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

/// What a caller pushed on arrival.
#[derive(Debug, Clone, PartialEq)]
enum Push {
    /// A plain DataNotification: its body.
    Plain(Data),
    /// A general-glo-ciphering APDU and the sender system title it carries.
    Ciphered { apdu: Vec<u8>, title: [u8; 8] },
}

/// How a caller was recognised, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Identity {
    SystemTitle,
    DeviceName,
    SerialNumber,
}

impl std::fmt::Display for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Identity::SystemTitle => "system title",
            Identity::DeviceName => "device name",
            Identity::SerialNumber => "serial number",
        })
    }
}

/// What the caller told about itself: over the public client, or in the push.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Reported {
    device_name: Option<String>,
    serial: Option<String>,
    system_title: Option<[u8; 8]>,
}

impl std::fmt::Display for Reported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // What the caller sent, quoted and escaped (it may hold control characters).
        let said = |v: &Option<String>| match v {
            Some(s) => format!("\"{}\"", crate::text::escape(s)),
            None => "not given".to_string(),
        };
        let title = self
            .system_title
            .map_or("not given".to_string(), |t| SystemTitle(t).to_string());
        write!(
            f,
            "device name {}, serial number {}, system title {title}",
            said(&self.device_name),
            said(&self.serial)
        )
    }
}

/// The logical device name, the serial number and the security setup's server system title.
fn identity_attributes() -> [AttributeRef; 3] {
    [
        AttributeRef::new(1, Obis::new(0, 0, 42, 0, 0, 255), 2),
        AttributeRef::new(1, Obis::new(0, 0, 96, 1, 0, 255), 2),
        AttributeRef::new(64, Obis::new(0, 0, 43, 0, 0, 255), 5),
    ]
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
    // A meter that dials in often pushes first (DataNotification, ciphered when it ciphers).
    let mut buf = vec![0u8; 8192];
    let push = match tokio::time::timeout(PUSH_WAIT, stream.read(&mut buf)).await {
        Ok(Ok(n)) if n > 0 => parse_push(&buf[..n]),
        Ok(Ok(_)) | Ok(Err(_)) => return Err("the caller closed the link".into()),
        Err(_) => None,
    };
    let timeout = Duration::from_millis(meters.first().map_or(5000, |m| m.timeout_ms));
    let mut reported = Reported {
        system_title: match &push {
            Some(Push::Ciphered { title, .. }) => Some(*title),
            _ => None,
        },
        ..Reported::default()
    };
    // A ciphered push names its sender: no need to ask. Otherwise ask over the public client.
    let (meter, how, stream) = match identify(&meters, &reported) {
        Some((m, how)) => (m, how, Box::new(stream) as BoxStream),
        None => {
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
                .read(&identity_attributes())
                .await
                .map_err(|e| e.to_string())?;
            let text = |r: &Result<Data, _>| r.as_ref().ok().map(|d| d.to_string());
            reported.device_name = text(&ids[0]);
            reported.serial = text(&ids[1]);
            if let Ok(Data::OctetString(t)) = &ids[2] {
                reported.system_title = <[u8; 8]>::try_from(t.as_slice())
                    .ok()
                    .or(reported.system_title);
            }
            let Some((meter, how)) = identify(&meters, &reported) else {
                let _ = s.close().await;
                return Err(format!(
                    "unknown meter ({reported}) dialed in; dropped without reading its data"
                ));
            };
            let (stream, _) = s.release().await.map_err(|e| e.to_string())?;
            (meter, how, stream)
        }
    };
    let push = match push {
        Some(p) => accept_push(&meter, p, Some(&shared.counters))?,
        None => None,
    };
    tracing::info!(
        "connection {connection}: meter {} dialed in (recognised by its {how})",
        meter.name
    );
    // The configured association (client, authentication, ciphering) over the same link.
    if meter.security.ic_obis.is_some() {
        tracing::warn!(
            "meter {}: ic_obis is ignored on an incoming link",
            meter.name
        );
    }
    let opened = crate::engine::Target::new(&conn, &meter)
        .open_over(
            stream,
            &shared.counters,
            Some(super::trace_sink(shared, &meter.name)),
        )
        .await
        .map_err(|e| match required_protection(&meter) {
            // The caller said it is this meter but could not prove it: nothing of it is stored.
            Some(what) => format!(
                "a caller recognised as meter {} by its {how} failed the {what} association it is \
             configured for, so it is not let in; dropped without reading its data: {e}",
                meter.name
            ),
            None => format!("meter {}: {e}", meter.name),
        })?;
    let mut session = opened;
    let keepalive = super::keepalive_of(&mut session, &meter).await;
    let kept = super::Kept {
        session: Box::new(session),
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
            fire_for_meter(shared, &r.name, &meter.name, Cause::Event("dial-in".into()));
        }
    }
    Ok(())
}

/// What the meter's configuration makes the caller prove: "ciphered", "authenticated" (HLS),
/// both, or nothing (`None`).
fn required_protection(meter: &Meter) -> Option<&'static str> {
    let ciphered = meter.security.policy != Policy::None;
    let hls = !matches!(meter.auth, Auth::None | Auth::Low(_));
    match (ciphered, hls) {
        (true, true) => Some("ciphered and authenticated"),
        (true, false) => Some("ciphered"),
        (false, true) => Some("authenticated"),
        (false, false) => None,
    }
}

/// The body of the caller's push once it is known to be `meter`, `Ok(None)` when the push is
/// set aside (logged), or an error when the push shows the caller is not that meter.
/// `counters`, when given, refuses a push whose invocation counter the meter already used
/// (a replayed call) and raises the meter's floor above it.
fn accept_push(
    meter: &Meter,
    push: Push,
    counters: Option<&crate::counters::CounterStore>,
) -> Result<Option<Data>, String> {
    let sec = &meter.security;
    match push {
        Push::Plain(_) if sec.policy != Policy::None => {
            tracing::warn!(
                "meter {}: it is configured for ciphering but pushed a plain DataNotification; \
                 the push is not stored",
                meter.name
            );
            Ok(None)
        }
        Push::Plain(body) => Ok(Some(body)),
        Push::Ciphered { apdu, title } => {
            let (Some(block), Some(auth)) = (&sec.block_key, &sec.auth_key) else {
                tracing::warn!(
                    "meter {}: it pushed a ciphered DataNotification but no keys are configured \
                     for it; the push is not stored",
                    meter.name
                );
                return Ok(None);
            };
            if let Some(want) = sec.server_system_title.filter(|w| *w != title) {
                return Err(format!(
                    "a caller recognised as meter {} pushed with system title {}, not the \
                     configured {}; dropped without reading its data",
                    meter.name,
                    SystemTitle(title),
                    SystemTitle(want)
                ));
            }
            let block = Key(block.expose());
            let d = decipher_apdu(
                &apdu,
                &SystemTitle(title),
                |dedicated| (!dedicated).then(|| block.clone()),
                &Key(auth.expose()),
            )
            .map_err(|e| {
                format!(
                    "a caller recognised as meter {} pushed a notification that does not \
                     decipher with the meter's keys ({e}); dropped without reading its data",
                    meter.name
                )
            })?;
            if let Some(store) = counters {
                let floor = store
                    .meter_floor(SystemTitle(title), &block)
                    .map_err(|e| e.to_string())?;
                if d.invocation_counter < floor {
                    return Err(format!(
                        "a caller recognised as meter {} pushed with invocation counter {}, \
                         below {floor} which its earlier sessions reached (a replayed call); \
                         dropped without reading its data",
                        meter.name, d.invocation_counter
                    ));
                }
                store
                    .raise_meter_floor(
                        SystemTitle(title),
                        &block,
                        d.invocation_counter.saturating_add(1),
                    )
                    .map_err(|e| e.to_string())?;
            }
            let authenticated = matches!(d.policy, WirePolicy::Auth | WirePolicy::AuthEnc);
            if matches!(sec.policy, Policy::Auth | Policy::AuthEnc) && !authenticated {
                tracing::warn!(
                    "meter {}: its push is not authenticated (no GMAC tag) although the meter \
                     is configured for authentication; the push is not stored",
                    meter.name
                );
                return Ok(None);
            }
            match Apdu::decode(&d.plain) {
                Ok(Apdu::DataNotification(n)) => Ok(Some(n.body)),
                Ok(other) => {
                    tracing::warn!(
                        "meter {}: its ciphered push holds a {}, not a DataNotification; \
                         not stored",
                        meter.name,
                        other.name()
                    );
                    Ok(None)
                }
                Err(e) => {
                    tracing::warn!(
                        "meter {}: its push does not decode ({e}); not stored",
                        meter.name
                    );
                    Ok(None)
                }
            }
        }
    }
}

/// The APDU of the first frame in the bytes a meter sent (WRAPPER; HDLC pushes come in UI frames).
fn first_apdu(bytes: &[u8]) -> Option<Vec<u8>> {
    match wrapper::decode(bytes) {
        Ok(Some((_, apdu, _))) => Some(apdu),
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
            link.receive(bytes).ok()?.into_iter().find_map(|e| match e {
                crate::dlms::link::LinkEvent::Apdu(a) => Some(a),
                _ => None,
            })
        }
    }
}

/// The push in the bytes a meter sent on arrival: a plain DataNotification or a
/// general-glo-ciphering APDU (its system title read, the rest left for the meter's keys).
fn parse_push(bytes: &[u8]) -> Option<Push> {
    let apdu = first_apdu(bytes)?;
    if apdu.first() == Some(&GENERAL_GLO_CIPHERING) {
        let title = <[u8; 8]>::try_from(apdu.get(2..10)?).ok()?;
        return (apdu.get(1) == Some(&8)).then_some(Push::Ciphered { apdu, title });
    }
    match Apdu::decode(&apdu) {
        Ok(Apdu::DataNotification(n)) => Some(Push::Plain(n.body)),
        _ => None,
    }
}

/// The configured meter matching what the caller reported, and by which identity: the system
/// title first (it is what a ciphering meter proves it holds the keys for), then the logical
/// device name, then the serial number.
fn identify(meters: &[Meter], reported: &Reported) -> Option<(Meter, Identity)> {
    let serial = reported
        .serial
        .as_deref()
        .and_then(|s| s.trim().parse::<u64>().ok());
    let by = |how: Identity| {
        meters.iter().find(|m| match how {
            Identity::SystemTitle => {
                m.security.server_system_title.is_some()
                    && m.security.server_system_title == reported.system_title
            }
            Identity::DeviceName => {
                m.device_name.is_some() && m.device_name == reported.device_name
            }
            Identity::SerialNumber => m.serial_number.is_some() && m.serial_number == serial,
        })
    };
    [
        Identity::SystemTitle,
        Identity::DeviceName,
        Identity::SerialNumber,
    ]
    .into_iter()
    .find_map(|how| by(how).map(|m| (m.clone(), how)))
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
            let (number, text) = match d.as_decimal() {
                Some(v) => (Some(v), None),
                None => (
                    None,
                    Some(match d {
                        Data::Array(_) | Data::Structure(_) => {
                            crate::engine::value::data_json(d).to_string()
                        }
                        d => d.to_string(),
                    }),
                ),
            };
            let mut row = Reading {
                ts_ms,
                request: "push".into(),
                meter: meter.to_string(),
                item: format!("push[{i}]"),
                obis: String::new(),
                class: 0,
                attribute: 0,
                value: None,
                text,
                unit: None,
                status: STATUS_OK.into(),
                poll,
                profile: false,
                exact: None,
                meter_time: None,
            };
            if let Some(n) = number {
                row.set_decimal(n);
            }
            row
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
    match super::persist(shared, rows).await {
        Ok(_) => tracing::info!(
            "stored {n} rows of a push from meter {} (poll {poll})",
            meter.name
        ),
        Err(e) => tracing::error!("push from meter {}: rows not stored yet: {e}", meter.name),
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_caller_is_described_in_words_not_debug_text() {
        let r = Reported {
            device_name: Some("DLG\u{1b}[2J".into()),
            serial: None,
            system_title: Some(*b"MMM\0\0\x01\x02\x03"),
        };
        assert_eq!(
            r.to_string(),
            "device name \"DLG\\x1b[2J\", serial number not given, system title 4D4D4D0000010203"
        );
    }

    use super::*;
    use crate::dlms::security::Policy as Wire;
    use crate::dlms::server::ServerCiphering;
    use crate::queue::KeySecret;
    use crate::sim::SimConfig;

    const TITLE: [u8; 8] = *b"SIM00001";
    const BK: [u8; 16] = [0x11; 16];
    const AK: [u8; 16] = [0x22; 16];

    fn secured(name: &str) -> Meter {
        let mut m = Meter::new(name, "in");
        m.security.policy = Policy::AuthEnc;
        m.security.block_key = Some(KeySecret::new(BK));
        m.security.auth_key = Some(KeySecret::new(AK));
        m.security.server_system_title = Some(TITLE);
        m
    }

    /// The push our simulator sends as meter 0, ciphered under `policy` with `bk` when given.
    fn push(cipher: Option<(Wire, [u8; 16], [u8; 8])>) -> Push {
        let config = SimConfig {
            ciphering: cipher.map(|(policy, bk, title)| ServerCiphering {
                policy,
                system_title: SystemTitle(title),
                block_key: Key(bk),
                auth_key: Key(AK),
            }),
            ..SimConfig::default()
        };
        let now = chrono::Local::now().fixed_offset();
        parse_push(&crate::sim::push_frame(&config, 0, now, 5).unwrap()).unwrap()
    }

    #[test]
    fn a_ciphered_push_names_its_sender_and_deciphers_with_its_keys() {
        let p = push(Some((Wire::AuthEnc, BK, TITLE)));
        assert!(matches!(&p, Push::Ciphered { title, .. } if *title == TITLE));
        let body = accept_push(&secured("m"), p, None).unwrap().unwrap();
        assert!(body.to_string().contains("DLG0000000000001"), "{body}");
    }

    #[test]
    fn a_push_that_does_not_decipher_drops_the_caller() {
        let e = accept_push(
            &secured("m"),
            push(Some((Wire::AuthEnc, [0x33; 16], TITLE))),
            None,
        )
        .unwrap_err();
        assert!(e.contains("does not decipher with the meter's keys"), "{e}");
        assert!(e.contains("dropped without reading its data"), "{e}");
    }

    #[test]
    fn a_push_from_another_system_title_drops_the_caller() {
        let e = accept_push(
            &secured("m"),
            push(Some((Wire::AuthEnc, BK, *b"OTHER001"))),
            None,
        )
        .unwrap_err();
        assert!(e.contains("not the configured"), "{e}");
    }

    #[test]
    fn plain_or_unauthenticated_pushes_of_a_secured_meter_are_not_stored() {
        assert_eq!(accept_push(&secured("m"), push(None), None), Ok(None));
        assert_eq!(
            accept_push(&secured("m"), push(Some((Wire::Enc, BK, TITLE))), None),
            Ok(None)
        );
        // A meter without ciphering keeps its plain push; a ciphered one it cannot read is set aside.
        let plain = Meter::new("p", "in");
        assert!(matches!(accept_push(&plain, push(None), None), Ok(Some(_))));
        assert_eq!(
            accept_push(&plain, push(Some((Wire::AuthEnc, BK, TITLE))), None),
            Ok(None)
        );
    }

    #[test]
    fn identification_prefers_the_system_title_then_name_then_serial() {
        let mut by_name = Meter::new("by-name", "in");
        by_name.device_name = Some("DLG1".into());
        let mut by_serial = Meter::new("by-serial", "in");
        by_serial.serial_number = Some(12345678);
        let meters = vec![by_name, by_serial, secured("by-title")];
        let found = |r: Reported| identify(&meters, &r).map(|(m, how)| (m.name, how));
        assert_eq!(
            found(Reported {
                device_name: Some("DLG1".into()),
                system_title: Some(TITLE),
                ..Reported::default()
            }),
            Some(("by-title".into(), Identity::SystemTitle))
        );
        assert_eq!(
            found(Reported {
                device_name: Some("DLG1".into()),
                serial: Some("12345678".into()),
                ..Reported::default()
            }),
            Some(("by-name".into(), Identity::DeviceName))
        );
        assert_eq!(
            found(Reported {
                serial: Some(" 12345678 ".into()),
                system_title: Some(*b"OTHER001"),
                ..Reported::default()
            }),
            Some(("by-serial".into(), Identity::SerialNumber))
        );
        // Meters without an identity never match a caller without one.
        assert_eq!(found(Reported::default()), None);
    }

    proptest::proptest! {
        /// Whatever a caller sends first, reading it as a push never panics, and a ciphered
        /// push (any bytes after a valid header) is refused or set aside, never trusted.
        #[test]
        fn any_first_bytes_are_a_push_or_nothing(bytes in proptest::collection::vec(0u8.., 0..300)) {
            if let Some(p) = parse_push(&bytes) {
                let _ = accept_push(&secured("m"), p, None);
            }
            let mut frame = vec![0, 1, 0, 1, 0, 1];
            let apdu = [&[GENERAL_GLO_CIPHERING, 8][..], &TITLE, &bytes].concat();
            frame.extend_from_slice(&(apdu.len() as u16).to_be_bytes());
            frame.extend_from_slice(&apdu);
            let p = parse_push(&frame);
            let named = matches!(&p, Some(Push::Ciphered { title, .. }) if *title == TITLE);
            proptest::prop_assert!(named);
            let accepted = accept_push(&secured("m"), p.unwrap(), None);
            proptest::prop_assert!(!matches!(accepted, Ok(Some(_))));
        }
    }

    #[test]
    fn what_a_meter_must_prove() {
        assert_eq!(required_protection(&Meter::new("m", "in")), None);
        assert_eq!(required_protection(&secured("m")), Some("ciphered"));
        let mut hls = Meter::new("m", "in");
        hls.auth = Auth::Gmac;
        assert_eq!(required_protection(&hls), Some("authenticated"));
    }
}
