//! The coordinator of one logger: a loop that renews its heartbeat and its leases every
//! `renew`, claims free connections up to its share and gives back what is above it; and a
//! guard that stops a connection's worker before its lease could expire.
//!
//! Safety (no connection polled by two loggers at once):
//!
//! * A lease's validity is known locally as `sent + expiry`, where `sent` is the instant the
//!   claim or renewal left this process: the database set `expires_at = now() + expiry` at a
//!   moment after that, so the lease is valid at least until then (clock rates, not clock
//!   values, are compared).
//! * The guard checks every 200 ms: a lease valid for less than `margin` more has its worker
//!   stopped, cut off at the latest 500 ms before the lease could expire (`RunnerHandle::
//!   stop_connection` returns only when the worker's tasks have ended and its sockets are
//!   closed). A database outage therefore stops every worker in time; the others claim the
//!   connections only after the leases have expired by the database's clock.
//! * The worker itself starts a job only while its lease is valid for at least
//!   `runner::LEASE_MARGIN` more (a gate the coordinator moves at each renewal), so a logger
//!   that was frozen (SIGSTOP, a paused VM) starts nothing after it wakes up.
//! * Giving back (balancing, a clean stop) stops the worker first, waits until it has ended,
//!   and only then deletes the lease, naming its epoch.
//!
//! What remains: a process frozen in the middle of a run and woken after its lease expired
//! may finish that one run (at most the request's timeout) while the new holder starts; no
//! lease can fence a meter that does not know about leases.

use super::balance::{plan, Plan};
use super::{instance, lease, masked, FleetError, FleetSettings};
use crate::runner::RunnerHandle;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_postgres::Client;

/// How often the guard looks at the leases' validity.
const GUARD_TICK: Duration = Duration::from_millis(200);
/// A stopped worker is cut off at the latest this long before its lease could expire.
const CUT_BEFORE_EXPIRY: Duration = Duration::from_millis(500);
/// How long a run in progress may take when its connection is given back to balance.
const BALANCE_PATIENCE: Duration = Duration::from_secs(5);

/// A lease this logger holds.
struct Held {
    epoch: i64,
    /// Valid until (local instant); the worker's gate.
    until: watch::Sender<Instant>,
    /// Its worker is being stopped (given back, or its lease is about to expire).
    stopping: bool,
}

type Leases = Arc<Mutex<HashMap<String, Held>>>;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A logger's membership in a fleet: runs until [`Fleet::shutdown`].
pub struct Fleet {
    settings: FleetSettings,
    token: String,
    leases: Leases,
    runner: RunnerHandle,
    stop: watch::Sender<bool>,
    /// The coordinator's thread: renewals and the guard on a runtime of their own, so a
    /// logger busy with thousands of meters never delays a renewal or a stop.
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Connects to the database (the connection is driven by a task of its own).
pub(super) async fn connect(url: &str) -> Result<Client, FleetError> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(|source| FleetError::Database {
            url: masked(url),
            action: "connecting",
            source,
        })?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!("fleet database connection ended: {e}");
        }
    });
    Ok(client)
}

/// Runs `f` within `limit`, naming `action` in the error.
async fn timed<T>(
    settings: &FleetSettings,
    action: &'static str,
    limit: Duration,
    f: impl std::future::Future<Output = Result<T, tokio_postgres::Error>>,
) -> Result<T, FleetError> {
    match tokio::time::timeout(limit, f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(source)) => Err(FleetError::Database {
            url: masked(&settings.database),
            action,
            source,
        }),
        Err(_) => Err(FleetError::Timeout {
            url: masked(&settings.database),
            action,
            after: limit,
        }),
    }
}

impl Fleet {
    /// Joins the fleet: creates the tables when missing, registers this logger (refused when
    /// a live process holds its name), then claims and runs its share of `connections` (the
    /// queue's enabled connections; every logger of the fleet runs the same queue).
    pub async fn start(
        settings: FleetSettings,
        runner: RunnerHandle,
        connections: Vec<String>,
    ) -> Result<Fleet, FleetError> {
        settings.check()?;
        let db = connect(&settings.database).await?;
        timed(
            &settings,
            "creating the fleet's tables",
            Duration::from_secs(30),
            db.batch_execute(&super::schema::sql()),
        )
        .await?;
        let token = format!(
            "{:016x}{:016x}",
            rand_u64(),
            u64::from(std::process::id()) << 32 ^ rand_u64()
        );
        let expiry_ms = settings.expiry.as_millis() as i64;
        // A process that just died under this name (a quick restart) still has a live row:
        // wait until it expires rather than refuse; a live one keeps renewing it.
        let waited = Instant::now();
        loop {
            let alive = timed(
                &settings,
                "registering this logger",
                settings.renew,
                instance::heartbeat(&db, &settings.instance, &token, expiry_ms),
            )
            .await?;
            if alive.is_some() {
                break;
            }
            if waited.elapsed() > settings.expiry + settings.renew {
                return Err(FleetError::InstanceTaken(settings.instance.clone()));
            }
            tracing::info!(
                "instance name {} is held by another process; waiting until its heartbeat expires",
                crate::text::escape(&settings.instance)
            );
            tokio::time::sleep(settings.renew).await;
        }
        tracing::info!(
            "joined the fleet on {} as {} ({} connection(s) to share)",
            masked(&settings.database),
            crate::text::escape(&settings.instance),
            connections.len()
        );
        drop(db);
        let leases: Leases = Arc::new(Mutex::new(HashMap::new()));
        let (stop, stop_rx) = watch::channel(false);
        // Workers are started on the logger's runtime; the coordinator runs on its own.
        let main = tokio::runtime::Handle::current();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| FleetError::Settings(format!("no runtime for the coordinator: {e}")))?;
        let (s, l, r, t) = (
            settings.clone(),
            leases.clone(),
            runner.clone(),
            token.clone(),
        );
        let thread = std::thread::Builder::new()
            .name("fleet".into())
            .spawn(move || {
                rt.block_on(async move {
                    let g = tokio::spawn(guard(s.clone(), l.clone(), r.clone(), stop_rx.clone()));
                    coordinate(s, t, main, l, r, connections, stop_rx).await;
                    let _ = g.await;
                });
            })
            .map_err(|e| FleetError::Settings(format!("no thread for the coordinator: {e}")))?;
        Ok(Fleet {
            settings,
            token,
            leases,
            runner,
            stop,
            thread: Some(thread),
        })
    }

    /// The connections this logger holds now (running or being stopped), sorted.
    pub fn held(&self) -> Vec<String> {
        let mut v: Vec<String> = lock(&self.leases).keys().cloned().collect();
        v.sort();
        v
    }

    /// Leaves the fleet: stops every worker (runs in progress get `patience`), then frees its
    /// leases and deletes its row, so the others take over at their next renewal.
    pub async fn shutdown(mut self, patience: Duration) {
        let _ = self.stop.send(true);
        if let Some(t) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || t.join()).await;
        }
        let held: Vec<(String, i64)> = lock(&self.leases)
            .iter()
            .map(|(n, h)| (n.clone(), h.epoch))
            .collect();
        let mut stops = tokio::task::JoinSet::new();
        for (name, _) in &held {
            let runner = self.runner.clone();
            let name = name.clone();
            stops.spawn(async move { runner.stop_connection(&name, patience).await });
        }
        while stops.join_next().await.is_some() {}
        let s = &self.settings;
        let freed = async {
            let db = connect(&s.database).await?;
            // One statement for all (a logger of a large fleet holds 25,000).
            timed(
                s,
                "freeing the leases",
                s.renew,
                lease::release_all(&db, &s.instance, &held),
            )
            .await?;
            timed(
                s,
                "leaving the fleet",
                s.renew,
                instance::leave(&db, &s.instance, &self.token),
            )
            .await
        };
        match freed.await {
            Ok(()) => tracing::info!("left the fleet: {} connection(s) given back", held.len()),
            Err(e) => tracing::warn!(
                "{e}; this logger's {} lease(s) expire by themselves within {}",
                held.len(),
                crate::text::duration(s.expiry)
            ),
        }
    }
}

/// 64 random bits (the process's token in the fleet).
fn rand_u64() -> u64 {
    let mut b = [0u8; 8];
    // Without an OS random source, time and pid still tell processes apart.
    if getrandom::fill(&mut b).is_err() {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        return t ^ u64::from(std::process::id());
    }
    u64::from_le_bytes(b)
}

/// The renewal loop.
async fn coordinate(
    s: FleetSettings,
    token: String,
    main: tokio::runtime::Handle,
    leases: Leases,
    runner: RunnerHandle,
    connections: Vec<String>,
    mut stop: watch::Receiver<bool>,
) {
    let expiry_ms = s.expiry.as_millis() as i64;
    // Connected on this thread's runtime, which drives the connection.
    let mut db: Option<Arc<Client>> = None;
    let mut tick = tokio::time::interval(s.renew);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick is now; loggers that start together see each other before claiming
    // (one renewal later), instead of the first claiming everything and giving most back.
    tick.tick().await;
    let mut said: Option<String> = None;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
        let client = match &db {
            Some(c) if !c.is_closed() => c.clone(),
            _ => match tokio::time::timeout(s.renew, connect(&s.database)).await {
                Ok(Ok(c)) => {
                    let c = Arc::new(c);
                    db = Some(c.clone());
                    c
                }
                Ok(Err(e)) => {
                    note(&mut said, e.to_string());
                    continue;
                }
                Err(_) => {
                    note(
                        &mut said,
                        format!(
                            "fleet database {}: no connection within {}",
                            masked(&s.database),
                            crate::text::duration(s.renew)
                        ),
                    );
                    continue;
                }
            },
        };
        match round(
            &s,
            &token,
            &client,
            &leases,
            &runner,
            &main,
            &connections,
            expiry_ms,
        )
        .await
        {
            Ok(()) => {
                if said.take().is_some() {
                    tracing::info!("the fleet database answers again");
                }
            }
            Err(e) => {
                note(&mut said, e.to_string());
                if client.is_closed() {
                    db = None;
                }
            }
        }
    }
}

/// Logs a coordinator error once until it changes or clears.
fn note(said: &mut Option<String>, e: String) {
    if said.as_deref() != Some(e.as_str()) {
        tracing::warn!("{e}; connections whose lease cannot be renewed stop before it expires");
        *said = Some(e);
    }
}

#[allow(clippy::too_many_arguments)]
/// One renewal: heartbeat, leases, then claim or give back to stay at this logger's share.
async fn round(
    s: &FleetSettings,
    token: &str,
    db: &Arc<Client>,
    leases: &Leases,
    runner: &RunnerHandle,
    main: &tokio::runtime::Handle,
    connections: &[String],
    expiry_ms: i64,
) -> Result<(), FleetError> {
    let Some(alive) = timed(
        s,
        "renewing this logger's heartbeat",
        s.renew,
        instance::heartbeat(db, &s.instance, token, expiry_ms),
    )
    .await?
    else {
        // Our row expired and another process took the name: hold nothing.
        tracing::error!(
            "another logger took the instance name {:?} while this one could not renew it: \
             stopping every connection",
            s.instance
        );
        let now = Instant::now();
        for h in lock(leases).values() {
            h.until.send_replace(now);
        }
        return Ok(());
    };
    let sent = Instant::now();
    let renewed = timed(
        s,
        "renewing leases",
        s.renew,
        lease::renew(db, &s.instance, expiry_ms),
    )
    .await?;
    let mut lost = 0;
    let (mine, stray) = {
        let map = lock(leases);
        // Renewed in the database but not run here under that epoch: a claim whose answer
        // never came back, a lease the guard gave up on. Nobody polls them: free them.
        let stray: Vec<(String, i64)> = renewed
            .iter()
            .filter(|(n, e)| map.get(n).is_none_or(|h| h.epoch != *e))
            .cloned()
            .collect();
        let renewed: std::collections::HashMap<String, i64> = renewed.into_iter().collect();
        for (name, h) in map.iter() {
            if renewed.get(name) == Some(&h.epoch) {
                h.until.send_replace(sent + s.expiry);
            } else {
                // Expired or taken: the guard stops its worker now.
                h.until.send_replace(sent);
                lost += 1;
            }
        }
        (map.values().filter(|h| !h.stopping).count(), stray)
    };
    if lost > 0 {
        tracing::warn!("{lost} lease(s) could not be renewed (expired): their workers stop");
    }
    if !stray.is_empty() {
        let freed = timed(
            s,
            "freeing leases nobody runs here",
            s.renew,
            lease::release_all(db, &s.instance, &stray),
        )
        .await?;
        tracing::info!("freed {freed} lease(s) this logger held in the database but did not run");
    }
    match plan(connections.len(), alive, mine) {
        Plan::Keep => {}
        Plan::Claim(n) => {
            let ours: std::collections::HashSet<String> = lock(leases).keys().cloned().collect();
            let candidates: Vec<String> = connections
                .iter()
                .filter(|c| !ours.contains(*c))
                .cloned()
                .collect();
            let free = timed(
                s,
                "looking for free connections",
                s.renew,
                lease::free(db, &candidates, n),
            )
            .await?;
            if free.is_empty() {
                return Ok(());
            }
            let sent = Instant::now();
            let claimed = timed(
                s,
                "claiming connections",
                s.renew,
                lease::claim(db, &s.instance, &free, expiry_ms),
            )
            .await?;
            let mut started = 0;
            for (name, epoch) in claimed {
                let (until, gate) = watch::channel(sent + s.expiry);
                lock(leases).insert(
                    name.clone(),
                    Held {
                        epoch,
                        until,
                        stopping: false,
                    },
                );
                let on_main = main.enter();
                let ok = runner.start_connection(&name, Some(gate));
                drop(on_main);
                if ok {
                    started += 1;
                }
            }
            if started > 0 {
                tracing::info!(
                    "claimed {started} connection(s); {} held (share {} of {} with {alive} logger(s) alive)",
                    mine + started,
                    super::balance::share(connections.len(), alive),
                    connections.len()
                );
            }
        }
        Plan::Release(n) => {
            let chosen: Vec<(String, i64)> = {
                let mut map = lock(leases);
                let mut names: Vec<&String> = map
                    .iter()
                    .filter(|(_, h)| !h.stopping)
                    .map(|(n, _)| n)
                    .collect();
                names.sort();
                let chosen: Vec<String> = names.into_iter().rev().take(n).cloned().collect();
                chosen
                    .into_iter()
                    .filter_map(|name| {
                        let h = map.get_mut(&name)?;
                        h.stopping = true;
                        Some((name, h.epoch))
                    })
                    .collect()
            };
            tracing::info!(
                "giving back {} connection(s) to balance the fleet ({alive} logger(s) alive)",
                chosen.len()
            );
            for (name, epoch) in chosen {
                let (db, runner, leases, me) = (
                    db.clone(),
                    runner.clone(),
                    leases.clone(),
                    s.instance.clone(),
                );
                let limit = s.renew;
                tokio::spawn(async move {
                    // The worker first, the lease after: never two loggers on one link.
                    runner.stop_connection(&name, BALANCE_PATIENCE).await;
                    let _ =
                        tokio::time::timeout(limit, lease::release(&db, &me, &name, epoch)).await;
                    lock(&leases).remove(&name);
                });
            }
        }
    }
    Ok(())
}

/// Stops the worker of every lease about to expire; forgets it once stopped.
async fn guard(
    s: FleetSettings,
    leases: Leases,
    runner: RunnerHandle,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(GUARD_TICK);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        let now = Instant::now();
        let due: Vec<(String, Instant)> = {
            let mut map = lock(&leases);
            map.iter_mut()
                .filter(|(_, h)| !h.stopping && *h.until.borrow() <= now + s.margin)
                .map(|(n, h)| {
                    h.stopping = true;
                    (n.clone(), *h.until.borrow())
                })
                .collect()
        };
        if !due.is_empty() {
            tracing::warn!(
                "{} connection(s) stop: their leases were not renewed and expire within {}",
                due.len(),
                crate::text::duration(s.margin)
            );
        }
        for (name, until) in due {
            let patience = until
                .checked_duration_since(now + CUT_BEFORE_EXPIRY)
                .unwrap_or(Duration::ZERO);
            let (runner, leases) = (runner.clone(), leases.clone());
            tokio::spawn(async move {
                runner.stop_connection(&name, patience).await;
                // The lease expires by itself; the coordinator no longer renews it.
                lock(&leases).remove(&name);
            });
        }
    }
}
