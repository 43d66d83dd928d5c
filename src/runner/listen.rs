//! Meters that dial in: a listening connection accepts them, logs a DataNotification they push
//! on arrival, identifies each (logical device name or serial number, read over the public
//! client), and then runs that meter's requests over the incoming link.
//!
//! Unknown callers are logged and dropped without reading their data into the database. The
//! bytes, frames and ciphering of pushes are `dlms::push`'s; this module decides which meter
//! called, what it must prove, and what is stored.

mod identify;
mod push;

pub(super) use push::session_pushes;

use super::error::DialInError;
use super::{fire_for_meter, lock, Cause, Shared};
use crate::dlms::push::Push;
use crate::queue::{Auth, InterfaceKind, Meter, Policy};
use crate::transport::BoxStream;
use identify::{identify, Reported};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// How long a meter that dialed in has to push before we start asking.
const PUSH_WAIT: Duration = Duration::from_millis(800);

/// The most bytes read while waiting for the rest of a push that came cut short.
const MAX_PUSH: usize = 64 * 1024;

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

/// The push a caller sends on arrival, if any: bytes are read until they hold a whole push
/// (a frame cut short waits for its rest), `PUSH_WAIT` passes, or they are not a push.
async fn first_push(stream: &mut TcpStream, connection: &str) -> Result<Option<Push>, DialInError> {
    let deadline = tokio::time::Instant::now() + PUSH_WAIT;
    let mut got = Vec::new();
    let mut buf = vec![0u8; 8192];
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => got.extend_from_slice(&buf[..n]),
            Ok(Ok(_)) | Ok(Err(_)) => return Err(DialInError::Closed),
            Err(_) if got.is_empty() => return Ok(None),
            Err(_) => {
                tracing::debug!(
                    "connection {connection}: the caller's first {} bytes are no whole push",
                    got.len()
                );
                return Ok(None);
            }
        }
        match Push::parse(&got) {
            Ok(p) => return Ok(Some(p)),
            Err(e) if e.is_truncated() && got.len() < MAX_PUSH => {}
            Err(e) => {
                tracing::debug!("connection {connection}: the caller's first bytes: {e}");
                return Ok(None);
            }
        }
    }
}

/// One incoming link: push, identification, association, then the meter's requests.
async fn incoming(
    shared: &Arc<Shared>,
    connection: &str,
    mut stream: TcpStream,
) -> Result<(), DialInError> {
    let config = shared.config();
    let Some(conn) = config.connection(connection).cloned() else {
        return Err(DialInError::ConnectionGone);
    };
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
    let push = first_push(&mut stream, connection).await?;
    let timeout = Duration::from_millis(meters.first().map_or(5000, |m| m.timeout_ms));
    let mut reported = Reported {
        system_title: push.as_ref().and_then(Push::system_title).map(|t| t.0),
        ..Reported::default()
    };
    // A ciphered push names its sender: no need to ask. Otherwise ask over the public client.
    let stream = Box::new(stream) as BoxStream;
    let (meter, how, stream) = match identify(&meters, &reported) {
        Some((m, how)) => (m, how, stream),
        None => identify::ask(stream, interface, timeout, &meters, &mut reported).await?,
    };
    let push = match push {
        Some(p) => push::accept_push(&meter, p, Some(&shared.counters))?,
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
        .map_err(|error| match required_protection(&meter) {
            // The caller said it is this meter but could not prove it: nothing of it is stored.
            Some(what) => DialInError::NotProven {
                meter: meter.name.clone(),
                how: how.to_string(),
                what,
                error: Box::new(error),
            },
            None => DialInError::Association {
                meter: meter.name.clone(),
                error: Box::new(error),
            },
        })?;
    let mut session = opened;
    let keepalive = super::keepalive_of(&mut session, &meter).await;
    let kept = super::Kept {
        session: Box::new(session),
        slot: None,
        keepalive,
        last_used: std::time::Instant::now(),
    };
    lock(&shared.dialed_in).insert(meter.name.clone(), kept);
    if let Some(body) = push {
        push::store_push(shared, &meter, body).await;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_meter_must_prove() {
        assert_eq!(required_protection(&Meter::new("m", "in")), None);
        assert_eq!(
            required_protection(&push::tests::secured("m")),
            Some("ciphered")
        );
        let mut hls = Meter::new("m", "in");
        hls.auth = Auth::Gmac;
        assert_eq!(required_protection(&hls), Some("authenticated"));
    }
}
