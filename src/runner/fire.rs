//! When requests fire: schedulers, events, dial-in fires; coalescing per request and meter.

use super::job::{Job, JobKind, MeterId, Reply, RequestId};
use super::*;

pub(super) fn fire_event(shared: &Arc<Shared>, name: &str) -> usize {
    let names: Vec<String> = shared
        .config()
        .requests
        .iter()
        .filter(|r| r.enabled && matches!(&r.schedule, Schedule::Event(e) if e == name))
        .map(|r| r.name.clone())
        .collect();
    for n in &names {
        fire(shared, n, Cause::Event(name.to_string()), None);
    }
    names.len()
}

/// Queues a run of `request` on each connection its meters use; coalesces with runs in flight.
pub(super) fn fire(
    shared: &Arc<Shared>,
    request: &str,
    cause: Cause,
    reply: Option<Reply<String>>,
) -> bool {
    fire_where(shared, request, cause, reply, None)
}

/// Fires `request` for one of its meters only (a meter that dialed in). Runs for different
/// meters of one listening connection do not coalesce: each meter's call is answered.
pub(super) fn fire_for_meter(
    shared: &Arc<Shared>,
    request: &str,
    meter: &str,
    cause: Cause,
) -> bool {
    fire_where(shared, request, cause, None, Some(meter))
}

pub(super) fn fire_where(
    shared: &Arc<Shared>,
    request: &str,
    cause: Cause,
    mut reply: Option<Reply<String>>,
    only: Option<&str>,
) -> bool {
    let config = shared.config();
    // By name through the queue's index: a scan per fire and meter was a third of a
    // 10,000-meter logger's CPU.
    let Some(rid) = config
        .request_position(request)
        .filter(|i| config.requests[*i].enabled)
    else {
        return false;
    };
    let req = &config.requests[rid];
    // Connections in the order of their first meter; found by name, not by a scan (a
    // request over 100,000 meters).
    let mut by_conn: Vec<(String, Vec<MeterId>)> = Vec::new();
    let mut slot: HashMap<&str, usize> = HashMap::new();
    for mname in req.meters.iter().filter(|m| only.is_none_or(|o| o == *m)) {
        let Some(i) = config
            .meter_position(mname)
            .filter(|i| config.meters[*i].enabled)
        else {
            continue;
        };
        let m = &config.meters[i];
        match slot.get(m.connection.as_str()) {
            Some(&k) => by_conn[k].1.push(MeterId(i)),
            None => {
                slot.insert(m.connection.as_str(), by_conn.len());
                by_conn.push((m.connection.clone(), vec![MeterId(i)]));
            }
        }
    }
    for (conn, meters) in by_conn {
        let Some(tx) = lock(&shared.workers).get(&conn).cloned() else {
            continue;
        };
        let key = match only {
            Some(meter) => (req.name.clone(), format!("{conn}\u{0}{meter}")),
            None => (req.name.clone(), conn.clone()),
        };
        let fresh = lock(&shared.in_flight).insert(key.clone());
        let mut st = lock(&shared.status);
        let rs = st.requests.entry(req.name.clone()).or_default();
        rs.fired += 1;
        if !fresh {
            rs.skipped += 1;
            tracing::info!(
                "request {} on {conn}: still running, fire by {cause} skipped",
                req.name
            );
            continue;
        }
        drop(st);
        if shared.metrics.is_some() {
            lock(&shared.fired_at).insert(key.clone(), std::time::Instant::now());
        }
        // A reply (the UI's test) goes with the first connection's run.
        let job = Box::new(Job {
            config: config.clone(),
            kind: JobKind::Poll {
                request: RequestId(rid),
                meters,
                key: key.clone(),
                reply: reply.take(),
            },
        });
        if tx.send(job).is_err() {
            lock(&shared.in_flight).remove(&key);
            lock(&shared.fired_at).remove(&key);
        }
    }
    true
}

/// Fires the scheduled requests of one generation (`requests`: name and schedule each, in
/// queue order): one task and one timer for all of them, so 10,000 requests cost one heap
/// entry each, not a task (about 700 bytes) each.
pub(super) async fn scheduler(
    shared: Arc<Shared>,
    requests: Vec<(String, Schedule)>,
    after: DateTime<Local>,
    mut stop: watch::Receiver<bool>,
) {
    use std::cmp::Reverse;
    let start = shared.start;
    // Each request's next fire, the earliest on top (ties in queue order).
    let mut due = std::collections::BinaryHeap::new();
    let plan = |due: &mut std::collections::BinaryHeap<_>, i: usize, after: &DateTime<Local>| {
        let (name, schedule): &(String, Schedule) = &requests[i];
        let next = schedule.next_after(after, &start);
        if next.is_none() && !matches!(schedule, Schedule::Once) {
            tracing::warn!("request {name}: schedule \"{schedule}\" fires no more");
        }
        lock(&shared.status)
            .requests
            .entry(name.clone())
            .or_default()
            .next_fire = next;
        if let Some(next) = next {
            due.push(Reverse((next, i)));
        }
    };
    for i in 0..requests.len() {
        plan(&mut due, i, &after);
    }
    while let Some(&Reverse((next, _))) = due.peek() {
        let wait = (next - Local::now()).to_std().unwrap_or(Duration::ZERO);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
        // Every request due by now (a timer that woke a moment early fires nothing and
        // sleeps the rest).
        while let Some(&Reverse((next, i))) = due.peek() {
            let now = Local::now();
            if next > now {
                break;
            }
            due.pop();
            fire(&shared, &requests[i].0, Cause::Schedule, None);
            // After a stall (suspend, overload) resume from now rather than replaying every
            // missed fire; coalescing would skip them anyway.
            let after = if now - next > chrono::Duration::seconds(1) {
                now
            } else {
                next
            };
            plan(&mut due, i, &after);
        }
    }
}
