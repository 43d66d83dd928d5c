//! The operator's actions on a link, run by the connection's worker between its polls: open
//! the link, test a meter, read its object list, probe for a meter. They use the association
//! the worker keeps (or a meter that dialed in) when there is one, and otherwise open their
//! own through the meter's `Target`, so nothing else ever holds the link at the same time.

use super::job::JobKind;
use super::*;
use crate::engine::{probe, EngineError, Session, Target};
use crate::queue::{Connection, Link, Meter};
use crate::transport::BoxStream;

/// How long the operator's changes may take, association and read-back included.
const CHANGE_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs a job that is not a poll.
pub(super) async fn run(
    shared: &Arc<Shared>,
    config: &Config,
    connection: &str,
    kind: JobKind,
    links: &mut Links,
) {
    let conn = config.connection(connection);
    match kind {
        JobKind::Poll { .. } => {}
        JobKind::TestLink { reply } => {
            let r = match conn {
                Some(c) => test_link(c, links).await,
                None => Err(RunnerError::NoConnection(connection.to_string())),
            };
            let _ = reply.send(r);
        }
        JobKind::Probe { name, reply } => {
            let r = match conn {
                Some(c) => probe_link(c, &name, links).await,
                None => Err(RunnerError::NoConnection(connection.to_string())),
            };
            let _ = reply.send(r);
        }
        JobKind::TestMeter { meter, reply } => {
            let m = config.meters.get(meter.0);
            let r = match (conn, m) {
                (Some(c), Some(m)) => {
                    with_session(shared, c, m, links, |s| Box::pin(read_clock(s))).await
                }
                _ => Err(RunnerError::NoConnection(connection.to_string())),
            };
            let _ = reply.send(r);
        }
        JobKind::Read {
            meter,
            attributes,
            reply,
        } => {
            let m = config.meters.get(meter.0);
            let r = match (conn, m) {
                (Some(c), Some(m)) => {
                    with_session(shared, c, m, links, move |s| {
                        Box::pin(async move {
                            let values = s.read(&attributes).await?;
                            Ok(values
                                .into_iter()
                                .map(|v| v.map_err(|e| e.to_string()))
                                .collect())
                        })
                    })
                    .await
                }
                _ => Err(RunnerError::NoConnection(connection.to_string())),
            };
            let _ = reply.send(r);
        }
        JobKind::Change {
            meter,
            steps,
            source,
            reply,
        } => {
            let m = config.meters.get(meter.0);
            let r = match (conn, m) {
                (Some(c), Some(m)) => {
                    let (records, _) = super::steps::change_meter(
                        shared,
                        &steps,
                        &source,
                        CHANGE_TIMEOUT,
                        c,
                        m,
                        links,
                    )
                    .await;
                    Ok(records)
                }
                _ => Err(RunnerError::NoConnection(connection.to_string())),
            };
            let _ = reply.send(r);
        }
        JobKind::Objects {
            meter,
            progress,
            reply,
        } => {
            let m = config.meters.get(meter.0);
            let r = match (conn, m) {
                (Some(c), Some(m)) => {
                    let source = format!("meter {}", m.name);
                    with_session(shared, c, m, links, move |s| {
                        Box::pin(async move {
                            crate::engine::objects::read_preset(s, &source, progress).await
                        })
                    })
                    .await
                }
                _ => Err(RunnerError::NoConnection(connection.to_string())),
            };
            let _ = reply.send(r);
        }
    }
}

/// What a job does with a session: boxed, so the worker's own future stays small.
pub(super) type SessionWork<'s, T> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<T, EngineError>> + Send + 's>>;

/// Runs `work` on the meter's association: the one the worker keeps, the one a meter that
/// dialed in opened, or a new one that is released afterwards.
pub(super) async fn with_session<T>(
    shared: &Arc<Shared>,
    conn: &Connection,
    m: &Meter,
    links: &mut Links,
    work: impl for<'s> FnOnce(&'s mut Session<BoxStream>) -> SessionWork<'s, T>,
) -> Result<T, RunnerError> {
    let incoming = matches!(conn.link, Link::Listen { .. });
    let kept = if incoming {
        lock(&shared.dialed_in).remove(&m.name)
    } else {
        links.remove(&m.name)
    };
    let Some(mut k) = kept else {
        if incoming {
            return Err(RunnerError::NotDialedIn {
                meter: m.name.clone(),
                connection: conn.name.clone(),
            });
        }
        let trace = trace_sink(shared, &m.name);
        let slot = shared.link_budget.slot().await;
        let mut s = Target::new(conn, m)
            .open(&shared.counters, Some(trace))
            .await?;
        let r = work(&mut s).await;
        close_link(s, &m.name).await;
        drop(slot);
        return Ok(r?);
    };
    let r = work(&mut k.session).await;
    match r {
        Ok(v) => {
            k.last_used = std::time::Instant::now();
            if incoming {
                lock(&shared.dialed_in).insert(m.name.clone(), k);
            } else {
                links.insert(m.name.clone(), k);
            }
            Ok(v)
        }
        Err(e) => {
            close_link(*k.session, &m.name).await;
            Err(e.into())
        }
    }
}

/// Reads one attribute over a new association (after a change whose answer was lost, the
/// old one is gone); `None` when it cannot be read.
pub(super) async fn read_back(
    shared: &Arc<Shared>,
    conn: &Connection,
    m: &Meter,
    attr: &crate::dlms::client::AttributeRef,
) -> Option<crate::dlms::data::Data> {
    let trace = trace_sink(shared, &m.name);
    let slot = shared.link_budget.slot().await;
    let mut s = Target::new(conn, m)
        .open(&shared.counters, Some(trace))
        .await
        .ok()?;
    let v = s.read(std::slice::from_ref(attr)).await.ok();
    close_link(s, &m.name).await;
    drop(slot);
    v?.into_iter().next()?.ok()
}

/// Reads the meter's clock: the test of a meter.
async fn read_clock(s: &mut Session<BoxStream>) -> Result<String, EngineError> {
    let clock = crate::dlms::client::AttributeRef::new(
        8,
        crate::dlms::obis::Obis::new(0, 0, 1, 0, 0, 255),
        2,
    );
    let r = s.read(&[clock]).await?;
    let rtt = s.last_rtt;
    Ok(match r.into_iter().next() {
        Some(Ok(d)) => format!(
            "associated; meter clock {d}; round trip {} ms",
            rtt.as_millis()
        ),
        Some(Err(e)) => format!("associated, but the clock could not be read: {e}"),
        None => "associated, but the meter sent no value for the clock".into(),
    })
}

/// Releases every association the worker keeps: a probe or a link test opens the link itself,
/// and a serial port or a meter that allows one association cannot have two.
async fn release_kept(links: &mut Links) {
    for (meter, k) in links.drain() {
        close_link(*k.session, &meter).await;
    }
}

/// Opens the link alone, and closes it.
async fn test_link(c: &Connection, links: &mut Links) -> Result<String, RunnerError> {
    release_kept(links).await;
    let t = std::time::Instant::now();
    crate::engine::target::connect(c, Duration::from_secs(5)).await?;
    let ms = t.elapsed().as_millis();
    Ok(match &c.link {
        Link::Tcp { host, port, .. } => format!("connected to {host}:{port} in {ms} ms"),
        Link::Serial(s) => format!("opened serial port {} at {} baud", s.port, s.baud),
        Link::Listen { host, port } => format!("listening on {host}:{port}"),
        // Nothing is sent yet: a UDP socket is ready whether or not a meter is there.
        Link::Udp { host, port } => format!(
            "UDP socket to {host}:{port} ready in {ms} ms (test the meter to know it answers)"
        ),
    })
}

/// Probes the link for a meter and returns it as a new meter named `name`.
async fn probe_link(
    c: &Connection,
    name: &str,
    links: &mut Links,
) -> Result<(Meter, String), RunnerError> {
    if matches!(c.link, Link::Listen { .. }) {
        return Err(RunnerError::CannotProbe(c.name.clone()));
    }
    release_kept(links).await;
    let found = probe::probe(
        || crate::engine::target::connect(c, Duration::from_secs(3)),
        &probe::candidates(None, None),
        Duration::from_millis(600),
        |_, _, _, _| {},
    )
    .await?;
    Ok((found.meter(name, &c.name), found.note.clone()))
}
