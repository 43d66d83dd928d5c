//! One worker per connection: runs jobs in queue order over links it keeps or opens.

use super::job::{Job, JobKind, MeterId, RequestId};
use super::*;

pub(super) async fn worker(
    shared: Arc<Shared>,
    connection: String,
    mut jobs: super::mailbox::Receiver,
    mut stop: watch::Receiver<bool>,
    gate: Option<super::LeaseGate>,
) {
    let mut links = Links::new();
    // Only a worker with links to keep alive has a timer: most have none, so 10,000 idle
    // workers neither hold one nor wake four times a second for nothing.
    let mut tick: Option<tokio::time::Interval> = None;
    let listening = shared
        .config()
        .connection(&connection)
        .is_some_and(|c| matches!(c.link, crate::queue::Link::Listen { .. }));
    loop {
        if listening || links.values().any(|k| k.keepalive.is_some()) {
            tick.get_or_insert_with(|| {
                let every = Duration::from_millis(250);
                tokio::time::interval_at(tokio::time::Instant::now() + every, every)
            });
        } else {
            tick = None;
        }
        let job = tokio::select! {
            j = jobs.recv() => match j { Some(j) => j, None => break },
            _ = next_tick(&mut tick) => {
                Box::pin(keep_alive(&shared, &connection, &mut links)).await;
                continue;
            }
            _ = stop.changed() => break,
        };
        if *stop.borrow() {
            break;
        }
        // In a fleet: nothing starts on a lease about to expire (the coordinator stops the
        // worker then; this holds even if it is late).
        if let Some(g) = &gate {
            if *g.borrow() <= tokio::time::Instant::now() + super::LEASE_MARGIN {
                if let JobKind::Poll { key, .. } = &job.kind {
                    lock(&shared.in_flight).remove(key);
                }
                tracing::debug!(
                    "connection {connection}: its lease is about to expire; job dropped"
                );
                continue;
            }
        }
        // Boxed: the run's state exists only while it runs, so 10,000 idle workers stay small.
        let Job { config, kind } = *job;
        match kind {
            JobKind::Poll {
                request,
                meters,
                key,
                reply,
            } => {
                let started = std::time::Instant::now();
                if let Some(m) = &shared.metrics {
                    if let Some(fired) = lock(&shared.fired_at).remove(&key) {
                        m.queue_lag(&connection, started.duration_since(fired));
                    }
                }
                let (ok, summary) = Box::pin(run_poll(
                    &shared,
                    &config,
                    &connection,
                    request,
                    &meters,
                    &mut links,
                ))
                .await;
                lock(&shared.in_flight).remove(&key);
                if let (Some(m), Some(req)) = (&shared.metrics, config.requests.get(request.0)) {
                    m.poll(&req.name, &connection, ok, started.elapsed());
                }
                if let Some(reply) = reply {
                    let _ = reply.send(if ok {
                        Ok(summary)
                    } else {
                        Err(RunnerError::Failed(summary))
                    });
                }
                if let Some(req) = config.requests.get(request.0) {
                    lock(&shared.status)
                        .requests
                        .entry(req.name.clone())
                        .or_default()
                        .completed += 1;
                    let event = if ok { &req.on_success } else { &req.on_failure };
                    if let Some(e) = event {
                        fire_event(&shared, e);
                    }
                }
            }
            action => {
                Box::pin(super::action::run(
                    &shared,
                    &config,
                    &connection,
                    action,
                    &mut links,
                ))
                .await
            }
        }
    }
    for (meter, k) in links {
        Box::pin(close_link(*k.session, &meter)).await;
    }
}

/// The next tick of `tick`; never, without one.
async fn next_tick(tick: &mut Option<tokio::time::Interval>) {
    match tick {
        Some(t) => {
            t.tick().await;
        }
        None => std::future::pending().await,
    }
}

/// Runs a request on meters of one connection; returns true if all was read, and a one-line
/// summary.
async fn run_poll(
    shared: &Arc<Shared>,
    config: &Config,
    connection: &str,
    request: RequestId,
    meters: &[MeterId],
    links: &mut Links,
) -> (bool, String) {
    let Some(req) = config.requests.get(request.0) else {
        return (false, "the request is no longer in the queue".into());
    };
    let Some(conn) = config.connection(connection) else {
        return (
            false,
            format!("connection {connection:?} is no longer in the queue"),
        );
    };
    let mut summaries = Vec::new();
    let poll = shared.poll.fetch_add(1, Ordering::Relaxed);
    let mut rows = Vec::new();
    let mut all_ok = true;
    for id in meters {
        let Some(m) = config.meters.get(id.0) else {
            continue;
        };
        let run = if req.steps.is_empty() {
            run_meter(
                req,
                conn,
                m,
                poll,
                trace_sink(shared, &m.name),
                shared,
                links,
            )
            .await
        } else {
            // Boxed: action requests are rare, and their state would otherwise make every
            // read poll's future as large as theirs (8 KB instead of 3).
            Box::pin(super::steps::run_on_meter(shared, req, conn, m, links)).await
        };
        all_ok &= run.error.is_none() && read::all_ok(&run.rows);
        if let Some(metrics) = &shared.metrics {
            if let Some(rtt) = run.rtt {
                metrics.round_trip(connection, rtt);
            }
            // Items the meter refused in a run that otherwise went through.
            let refused = run.rows.iter().filter(|r| r.is_failure()).count() as u64;
            if run.error.is_none() && refused > 0 {
                metrics.failures("item", refused);
            }
        }
        let now = Utc::now();
        let mut st = lock(&shared.status);
        let ms = st.meters.entry(m.name.clone()).or_default();
        match &run.error {
            None => {
                ms.last_success = Some(now);
                ms.rtt = run.rtt;
                ms.ok += 1;
            }
            Some(e) => {
                ms.last_error = Some((now, e.clone()));
                ms.failed += 1;
            }
        }
        drop(st);
        match &run.error {
            None => {
                let s = run
                    .note
                    .clone()
                    .unwrap_or_else(|| crate::engine::value::summary(&run.rows));
                tracing::info!("{} {}: {s}", req.name, m.name);
                summaries.push(format!("{}: {s}", m.name));
            }
            Some(e) => summaries.push(format!("{}: {e}", m.name)),
        }
        rows.extend(run.rows);
    }
    store(shared, req, poll, rows).await;
    (all_ok, summaries.join("; "))
}

/// What one run of a request on one meter produced.
pub(super) struct MeterRun {
    /// Rows to store (readings and failures).
    pub(super) rows: Vec<Record>,
    /// Round-trip time of the last request, when associated.
    pub(super) rtt: Option<Duration>,
    /// The error that stopped the run, if any.
    pub(super) error: Option<String>,
    /// What an action run did, for the log (a read run is summed up from its rows).
    pub(super) note: Option<String>,
}

/// An association kept open between runs (persistent connections, meters that dialed in).
pub(super) struct Kept {
    /// Boxed: the map of kept links (one per worker) then holds pointers, not sessions.
    pub(super) session: Box<crate::engine::Session<crate::transport::BoxStream>>,
    /// Its place in the link budget (`budget.rs`), given back when it is dropped (after the
    /// session: fields drop in order); `None` for links meters opened (dial-in).
    pub(super) slot: Option<super::budget::Slot>,
    /// How often to touch the link so the meter's HDLC inactivity timeout never expires.
    pub(super) keepalive: Option<Duration>,
    pub(super) last_used: std::time::Instant,
}

/// Kept associations, per meter.
pub(super) type Links = HashMap<String, Kept>;

/// Half the meter's HDLC inactivity timeout (IEC HDLC setup, attribute 8), when it has one.
pub(super) async fn keepalive_of(
    session: &mut crate::engine::Session<crate::transport::BoxStream>,
    m: &crate::queue::Meter,
) -> Option<Duration> {
    if m.interface != crate::queue::InterfaceKind::Hdlc {
        return None;
    }
    let setup = crate::dlms::client::AttributeRef::new(
        23,
        crate::dlms::obis::Obis::new(0, 0, 22, 0, 0, 255),
        8,
    );
    let secs = session
        .read(&[setup])
        .await
        .ok()?
        .into_iter()
        .next()?
        .ok()?
        .as_i128()?;
    // 0 means "no inactivity timeout".
    (secs > 0).then(|| Duration::from_millis((secs as u64 * 1000 / 2).max(500)))
}

/// Touches every kept link whose keep-alive is due (a clock read); drops those that fail.
pub(super) async fn keep_alive(shared: &Arc<Shared>, connection: &str, links: &mut Links) {
    let config = shared.config();
    let due = |k: &Kept| {
        k.keepalive
            .is_some_and(|every| k.last_used.elapsed() >= every)
    };
    let mut names: Vec<String> = links
        .iter()
        .filter(|(_, k)| due(k))
        .map(|(n, _)| n.clone())
        .collect();
    let incoming: Vec<String> = lock(&shared.dialed_in)
        .iter()
        .filter(|(n, k)| due(k) && config.meter(n).is_some_and(|m| m.connection == connection))
        .map(|(n, _)| n.clone())
        .collect();
    names.extend(incoming.iter().cloned());
    for name in names {
        let from_dial = incoming.contains(&name);
        let taken = if from_dial {
            lock(&shared.dialed_in).remove(&name)
        } else {
            links.remove(&name)
        };
        let Some(mut k) = taken else { continue };
        let timeout = config.meter(&name).map_or(5000, |m| m.timeout_ms);
        let clock = crate::dlms::client::AttributeRef::new(
            8,
            crate::dlms::obis::Obis::new(0, 0, 1, 0, 0, 255),
            2,
        );
        match tokio::time::timeout(Duration::from_millis(timeout), k.session.read(&[clock])).await {
            Ok(Ok(_)) => {
                k.last_used = std::time::Instant::now();
                let poll = shared.poll.fetch_add(1, Ordering::Relaxed);
                let pushes = listen::session_pushes(&mut k.session, &name, poll);
                if !pushes.is_empty() {
                    if let Err(e) = persist(shared, pushes).await {
                        tracing::error!("push from meter {name}: rows not stored yet: {e}");
                    }
                }
                if from_dial {
                    lock(&shared.dialed_in).insert(name, k);
                } else {
                    links.insert(name, k);
                }
            }
            _ => {
                tracing::info!(
                    "meter {name}: keep-alive failed; the link will be reopened when needed"
                );
                close_link(*k.session, &name).await;
            }
        }
    }
}

/// Releases an association (which keeps the meter's counter floor).
pub(super) async fn close_link(
    session: crate::engine::Session<crate::transport::BoxStream>,
    meter: &str,
) {
    if let Err(e) = session.close().await {
        tracing::debug!("meter {meter}: release: {e}");
    }
}

/// The newest stored capture time of each profile item of `req` for `m` (items with an
/// explicit time range read that range instead).
pub(super) fn last_captures(
    shared: &Shared,
    req: &Request,
    m: &crate::queue::Meter,
) -> HashMap<String, i64> {
    let profiles: Vec<&crate::queue::Item> = req
        .items
        .iter()
        .filter(|i| {
            i.enabled
                && i.class_id == 7
                && i.attribute == 2
                && i.since.is_none()
                && i.until.is_none()
        })
        .collect();
    if profiles.is_empty() {
        return HashMap::new();
    }
    let mut query = lock(&shared.query);
    if query.is_none() {
        *query = crate::store::Database::open(shared.writer.location()).ok();
    }
    let Some(store) = query.as_ref() else {
        return HashMap::new();
    };
    profiles
        .into_iter()
        .filter_map(|i| {
            store
                .last_profile_capture(&m.name, &i.name)
                .ok()
                .flatten()
                .map(|ts| (i.name.clone(), ts))
        })
        .collect()
}

/// What one attempt at a meter needs besides its link.
struct Attempt<'a> {
    shared: &'a Shared,
    req: &'a Request,
    conn: &'a crate::queue::Connection,
    m: &'a crate::queue::Meter,
    poll: i64,
    last: &'a HashMap<String, i64>,
    persistent: bool,
}

/// An association to release after a run, with its place in the link budget.
pub(super) type ToClose = Option<(
    Box<crate::engine::Session<crate::transport::BoxStream>>,
    Option<super::budget::Slot>,
)>;

/// One attempt at reading a meter: over the kept association `cached`, or a new one; returns
/// the rows, the round-trip time and the association to keep (persistent links). One not
/// kept is left in `to_close`: its release is not part of the request's timeout, so rows
/// read are not lost to a slow release (a fleet's counter floor written at release).
async fn run_attempt(
    a: Attempt<'_>,
    cached: Option<Kept>,
    sink: Arc<Mutex<crate::engine::TraceSink>>,
    to_close: &mut ToClose,
) -> Result<(Vec<Record>, Duration, Option<Kept>), crate::engine::EngineError> {
    let Attempt {
        shared,
        req,
        conn,
        m,
        poll,
        last,
        persistent,
    } = a;
    // The session stays boxed (as it is kept), so this future holds a pointer to it. Opening
    // is a boxed function of its own: the session it makes would otherwise be held across
    // every wait of this future, and make each poll in flight 0.9 KB larger.
    let (mut session, keepalive, slot) = match cached {
        Some(k) => (k.session, k.keepalive, k.slot),
        None => {
            let (s, keepalive, slot) =
                Box::pin(open_link(shared, conn, m, persistent, sink)).await?;
            (s, keepalive, Some(slot))
        }
    };
    if lock(&shared.no_with_list).contains(&m.name) {
        session.disable_with_list();
    }
    let rows = read::read_items(&mut session, req, m, poll, last)
        .await
        .map(|mut rows| {
            // Pushes the meter sent meanwhile are logged with this run.
            rows.extend(listen::session_pushes(&mut session, &m.name, poll));
            rows
        });
    if !session.uses_with_list() && lock(&shared.no_with_list).insert(m.name.clone()) {
        tracing::warn!(
            "meter {}: its GET-with-list answers are broken; its items are read one by one from now on",
            m.name
        );
    }
    let rtt = session.last_rtt;
    // Kept while the link budget has room; a link a meter opened (dial-in) has no slot and
    // is always kept.
    let slot = match (slot, persistent && rows.is_ok()) {
        (Some(slot), true) => shared
            .link_budget
            .keep(slot, &m.name)
            .map(Some)
            .map_err(Some),
        (None, true) => Ok(None),
        (slot, false) => Err(slot),
    };
    match slot {
        Ok(slot) => {
            return Ok((
                rows?,
                rtt,
                Some(Kept {
                    session,
                    slot,
                    keepalive,
                    last_used: std::time::Instant::now(),
                }),
            ))
        }
        Err(slot) => *to_close = Some((session, slot)),
    }
    Ok((rows?, rtt, None))
}

/// Ends [`STOP_GRACE`] after the runner was told to stop.
async fn stopped(stopping: &watch::Sender<bool>) {
    let _ = stopping.subscribe().wait_for(|s| *s).await;
    // Boxed: every poll in flight waits on this beside its read, and the grace timer only
    // starts at a stop.
    Box::pin(tokio::time::sleep(STOP_GRACE)).await;
}

/// Opens a new association with `m` once the link budget has room; with the keep-alive
/// interval it needs when kept, and its slot in the budget.
async fn open_link(
    shared: &Shared,
    conn: &crate::queue::Connection,
    m: &crate::queue::Meter,
    persistent: bool,
    sink: Arc<Mutex<crate::engine::TraceSink>>,
) -> Result<
    (
        Box<crate::engine::Session<crate::transport::BoxStream>>,
        Option<Duration>,
        super::budget::Slot,
    ),
    crate::engine::EngineError,
> {
    let slot = shared.link_budget.slot().await;
    let target = crate::engine::Target::new(conn, m);
    let open = target.open(&shared.counters, Some(Box::new(move |e| (lock(&sink))(e))));
    let mut s = Box::new(Box::pin(open).await?);
    let keepalive = if persistent {
        Box::pin(keepalive_of(&mut s, m)).await
    } else {
        None
    };
    Ok((s, keepalive, slot))
}

/// Reads one meter with retries inside the request's timeout.
pub(super) async fn run_meter(
    req: &Request,
    conn: &crate::queue::Connection,
    m: &crate::queue::Meter,
    poll: i64,
    trace: crate::engine::TraceSink,
    shared: &Shared,
    links: &mut Links,
) -> MeterRun {
    let dialed_in = &shared.dialed_in;
    let last = last_captures(shared, req, m);
    // One sink for every attempt: the engine takes it by value, so share it behind a lock.
    let trace = Arc::new(Mutex::new(trace));
    let deadline = tokio::time::Instant::now() + Duration::from_millis(req.timeout_ms);
    let incoming = matches!(conn.link, crate::queue::Link::Listen { .. });
    let persistent = incoming
        || matches!(
            conn.link,
            crate::queue::Link::Tcp {
                persistent: true,
                ..
            }
        );
    let failed = |kind: &'static str| {
        if let Some(metrics) = &shared.metrics {
            metrics.failures(kind, 1);
        }
    };
    if incoming && !lock(dialed_in).contains_key(&m.name) {
        failed("not_dialed_in");
        let error = format!(
            "meter {} has not dialed in (it is on the listening connection {})",
            m.name, conn.name
        );
        return MeterRun {
            rows: read::failure_rows(req, m, poll, &error),
            rtt: None,
            error: Some(error),
            note: None,
        };
    }
    let mut attempt = 0;
    let mut kind;
    loop {
        let sink = trace.clone();
        // A persistent connection reuses the association of the last run; when the meter
        // dropped it meanwhile (its inactivity timeout), we reconnect at once, without
        // spending a retry.
        let cached = match (incoming, persistent) {
            (true, _) => lock(dialed_in).remove(&m.name),
            (false, true) => links.remove(&m.name),
            _ => None,
        };
        let reused = cached.is_some();
        let mut to_close: ToClose = None;
        if incoming && cached.is_none() {
            failed("link");
            let error = format!(
                "meter {}'s incoming link dropped; it must dial in again",
                m.name
            );
            return MeterRun {
                rows: read::failure_rows(req, m, poll, &error),
                rtt: None,
                error: Some(error),
                note: None,
            };
        }
        let outcome = tokio::select! {
            r = tokio::time::timeout_at(
                deadline,
                run_attempt(
                    Attempt {
                        shared,
                        req,
                        conn,
                        m,
                        poll,
                        last: &last,
                        persistent,
                    },
                    cached,
                    sink,
                    &mut to_close,
                ),
            ) => Some(r),
            _ = stopped(&shared.stopping) => None,
        };
        if let Some((session, slot)) = to_close.take() {
            // Bounded on its own (a release waits for its answer; the counter store may be
            // slow), then the socket is closed and only then its place given back.
            let close = Box::pin(close_link(*session, &m.name));
            if tokio::time::timeout(Duration::from_millis(m.timeout_ms), close)
                .await
                .is_err()
            {
                tracing::debug!("meter {}: the release took too long; link closed", m.name);
            }
            drop(slot);
        }
        let Some(outcome) = outcome else {
            failed("stopped");
            let error = "the logger stopped before the meter answered".to_string();
            tracing::warn!("request {} meter {}: {error}", req.name, m.name);
            return MeterRun {
                rows: read::failure_rows(req, m, poll, &error),
                rtt: None,
                error: Some(error),
                note: None,
            };
        };
        let error = match outcome {
            Ok(Ok((rows, rtt, keep))) => {
                if let Some(open) = keep {
                    if incoming {
                        lock(dialed_in).insert(m.name.clone(), open);
                    } else {
                        links.insert(m.name.clone(), open);
                    }
                }
                if let Some(l) = lock(&shared.failure_log).remove(&m.name) {
                    drop(l);
                    tracing::info!("request {} meter {}: answering again", req.name, m.name);
                }
                return MeterRun {
                    rows,
                    rtt: Some(rtt),
                    error: None,
                    note: None,
                };
            }
            Ok(Err(e)) if reused && !incoming => {
                tracing::info!(
                    "meter {}: the kept association is gone ({e}); reconnecting",
                    m.name
                );
                continue;
            }
            Ok(Err(e)) => {
                kind = e.kind();
                e.to_string()
            }
            Err(_) => {
                kind = "timeout";
                format!("request timed out after {} ms", req.timeout_ms)
            }
        };
        let backoff = Duration::from_millis(200u64 << attempt.min(5));
        let timed_out = tokio::time::Instant::now() + backoff >= deadline;
        let stopping = *shared.stopping.borrow();
        if attempt >= m.retries || timed_out || stopping {
            let error = if stopping && attempt < m.retries {
                format!("{error}; not tried again: the logger is stopping")
            } else {
                error
            };
            let error = if attempt > 0 {
                format!("{error} (after {} tries)", attempt + 1)
            } else {
                error
            };
            // A meter that keeps failing the same way (a serial adapter unplugged) is said
            // once, then at most once a minute with a count; its failure rows are stored each time.
            let line = format!("request {} meter {}: {error}", req.name, m.name);
            let said = lock(&shared.failure_log)
                .entry(m.name.clone())
                .or_insert_with(|| {
                    crate::transport::retry::LogLimiter::new(Duration::from_secs(60))
                })
                .note(&line);
            if let Some(line) = said {
                tracing::warn!("{line}");
            }
            failed(kind);
            return MeterRun {
                rows: read::failure_rows(req, m, poll, &error),
                rtt: None,
                error: Some(error),
                note: None,
            };
        }
        tracing::debug!(
            "request {} meter {}: {error}; retrying in {}",
            req.name,
            m.name,
            crate::text::duration(backoff)
        );
        // A stop cuts the pause short; the loop then gives up instead of trying again.
        let mut stop = shared.stopping.subscribe();
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = stop.wait_for(|s| *s) => {
                failed(kind);
                let error = format!("{error}; not tried again: the logger is stopping");
                tracing::warn!("request {} meter {}: {error}", req.name, m.name);
                return MeterRun {
                    rows: read::failure_rows(req, m, poll, &error),
                                rtt: None,
                    error: Some(error),
                    note: None,
                };
            }
        }
        attempt += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The size of the future `f` would return (`f` is never called).
    fn future_size<F: std::future::Future>(_: impl FnOnce() -> F) -> usize {
        std::mem::size_of::<F>()
    }

    /// Every meter of a fleet has a poll in flight at once when they fire together, so these
    /// sizes are paid 10,000 times: action steps, profile reads and the rare steps of an open
    /// are boxed so that they do not size every register read (run_poll was 8.2 KB with them,
    /// 2.9 KB without), and so are a read's state, the frame gap's and the stop's timers and
    /// the sending of link control frames (2.75 KB → 2.26 KB).
    #[test]
    #[allow(unreachable_code, clippy::diverging_sub_expression)]
    fn a_register_poll_and_an_idle_worker_stay_small() {
        let shared: fn() -> &'static Arc<Shared> = || unreachable!();
        let links: fn() -> &'static mut Links = || unreachable!();
        let poll =
            future_size(|| run_poll(shared(), unreachable!(), "", RequestId(0), &[], links()));
        let target: fn() -> &'static crate::engine::Target = || unreachable!();
        let open = future_size(|| target().open(unreachable!(), None));
        let idle = future_size(|| {
            worker(
                unreachable!(),
                unreachable!(),
                unreachable!(),
                unreachable!(),
                None,
            )
        });
        assert!(poll <= 2560, "a poll's future is {poll} bytes");
        assert!(open <= 4096, "an open's future is {open} bytes");
        assert!(idle <= 1024, "a worker's future is {idle} bytes");
    }
}
