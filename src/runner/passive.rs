//! Passive connections: a link that only talks (a HAN/P1 port, a TCP bridge to one, or a
//! meter that connects to a listening port and pushes). Its task opens the link, reads what
//! comes and stores the rows of each notification; it never writes to the link and no request
//! is polled over it. After an error or a close the link is opened again, after a pause.

use super::sink::persist;
use super::*;
use crate::engine::passive::{notification_rows, Heard, PassiveMeter};
use crate::engine::{Direction, TraceEntry};
use crate::queue::Link;
use crate::transport::BoxStream;
use tokio::io::AsyncReadExt;

/// The pause before opening a link again.
const REOPEN: Duration = Duration::from_secs(5);

/// How long opening the link may take.
const OPEN_TIMEOUT: Duration = Duration::from_secs(10);

/// Listens on passive connection `connection` until `stop`.
pub(super) async fn run(shared: Arc<Shared>, connection: String, mut stop: watch::Receiver<bool>) {
    let config = shared.config();
    let (Some(conn), Some(meter)) = (
        config.connection(&connection),
        config
            .meters
            .iter()
            .find(|m| m.connection == connection && m.enabled),
    ) else {
        tracing::warn!("passive connection {connection} has no enabled meter: not opened");
        return;
    };
    let mut decoding = match PassiveMeter::new(meter) {
        Ok(p) => p,
        Err(e) => {
            failed(&shared, &meter.name, format!("cannot listen: {e}"));
            return;
        }
    };
    let listener = match &conn.link {
        Link::Listen { host, port } => {
            match tokio::net::TcpListener::bind((host.as_str(), *port)).await {
                Ok(l) => Some(l),
                Err(e) => {
                    failed(
                        &shared,
                        &meter.name,
                        format!("cannot listen on {host}:{port}: {e}"),
                    );
                    return;
                }
            }
        }
        _ => None,
    };
    tracing::info!(
        "connection {connection}: listening passively to meter {}",
        meter.name
    );
    loop {
        let opened = async {
            match &listener {
                Some(l) => l
                    .accept()
                    .await
                    .map(|(s, _)| Box::new(s) as BoxStream)
                    .map_err(|e| e.to_string()),
                None => crate::engine::target::connect(conn, OPEN_TIMEOUT)
                    .await
                    .map_err(|e| e.to_string()),
            }
        };
        let stream = tokio::select! {
            s = opened => s,
            _ = stop.changed() => return,
        };
        match stream {
            Ok(mut link) => {
                let why =
                    listen(&shared, &config, meter, &mut decoding, &mut link, &mut stop).await;
                match why {
                    None => return,
                    Some(why) => failed(&shared, &meter.name, why),
                }
            }
            Err(e) => failed(&shared, &meter.name, format!("cannot open the link: {e}")),
        }
        tokio::select! {
            _ = tokio::time::sleep(REOPEN) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Reads the link until it closes or fails (returns why) or `stop` (returns `None`).
async fn listen(
    shared: &Arc<Shared>,
    config: &Config,
    meter: &crate::queue::Meter,
    decoding: &mut PassiveMeter,
    link: &mut BoxStream,
    stop: &mut watch::Receiver<bool>,
) -> Option<String> {
    let mut trace = trace_sink(shared, &meter.name);
    let mut buf = vec![0u8; 4096];
    loop {
        let n = tokio::select! {
            r = link.read(&mut buf) => r,
            _ = stop.changed() => return None,
        };
        let n = match n {
            Ok(0) => return Some("the link closed".into()),
            Ok(n) => n,
            Err(e) => return Some(format!("reading the link: {e}")),
        };
        let bad_before = decoding.stats.bad;
        for heard in decoding.feed(&buf[..n]) {
            match heard {
                Heard::Frame { bytes, summary } => trace(TraceEntry {
                    at: std::time::SystemTime::now(),
                    direction: Direction::Rx,
                    bytes,
                    summary,
                    masked: Vec::new(),
                }),
                Heard::Notification(note) => {
                    let poll = shared
                        .poll
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let rows = notification_rows(
                        config,
                        meter,
                        &note,
                        poll,
                        Utc::now().timestamp_millis(),
                    );
                    store(shared, &meter.name, rows).await;
                }
            }
        }
        if decoding.stats.bad > bad_before {
            let s = &decoding.stats;
            failed(
                shared,
                &meter.name,
                format!(
                    "{} of {} frames not decoded; the last: {}",
                    s.bad,
                    s.frames,
                    s.last_bad.as_deref().unwrap_or("?")
                ),
            );
        }
    }
}

/// Stores a notification's rows and counts it as a success of the meter.
async fn store(shared: &Arc<Shared>, meter: &str, rows: Vec<Record>) {
    let n = rows.len();
    let result = if rows.is_empty() {
        Ok(0)
    } else {
        persist(shared, rows).await
    };
    let mut st = lock(&shared.status);
    match result {
        Ok(stored) => {
            st.rows_stored += stored as u64;
            st.store_error = None;
            let m = st.meters.entry(meter.to_string()).or_default();
            m.ok += 1;
            m.last_success = Some(Utc::now());
            drop(st);
            tracing::debug!("meter {meter}: a notification, {n} rows stored");
        }
        Err(e) => {
            st.store_error = Some(e.to_string());
            drop(st);
            tracing::error!("meter {meter}: rows of a notification not stored yet: {e}");
        }
    }
}

/// Records a problem of the passive link as the meter's last error.
fn failed(shared: &Arc<Shared>, meter: &str, why: String) {
    tracing::warn!("meter {meter} (passive): {why}");
    let mut st = lock(&shared.status);
    let m = st.meters.entry(meter.to_string()).or_default();
    m.failed += 1;
    m.last_error = Some((Utc::now(), why));
}
