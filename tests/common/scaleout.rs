//! The fleet's scale-out proof, shared by `tests/fleet.rs` (small) and
//! `examples/fleet_scaleout.rs` (3 × 3,000): real `dlms-logger run` processes sharing one
//! PostgreSQL and one queue, one `dlms-logger simulate` process serving every meter (ciphered,
//! one key for all, so a counter used twice would be a GCM nonce used twice) with its
//! association log; one logger is killed with SIGKILL mid-run, later started again.
//!
//! What is checked comes from the meters' side (the simulator's association log) and the
//! loggers' stores:
//! * overlaps: two associations open on one meter at the same moment (must be 0);
//! * takeover: for each connection the killed logger held, the time from the kill to the
//!   next association on its meter (the lease's expiry, a renewal, and the next poll);
//! * lost: requests a meter answered whose run no store holds; duplicated: stored runs beyond
//!   the requests answered (per meter, over every logger's store);
//! * counters reused: `reuse` and `refused` lines of the log (a counter seen twice from our
//!   system title on any meter, or a request a meter refused as a replay).
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// What to run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The `dlms-logger` binary.
    pub bin: PathBuf,
    /// A folder for the queue, stores, logs.
    pub dir: PathBuf,
    /// The fleet's database.
    pub url: String,
    /// Simulated meters (one persistent TCP connection each).
    pub meters: usize,
    /// Loggers.
    pub instances: usize,
    /// Poll period of the one request (5 registers per meter).
    pub period: Duration,
    /// Lease timings (`--fleet-renew`, `--fleet-expiry`, `--fleet-margin`).
    pub renew: Duration,
    pub expiry: Duration,
    pub margin: Duration,
    /// How long to run once balanced, before the kill.
    pub before_kill: Duration,
    /// How long to run after the takeover, before the killed logger comes back.
    pub after_takeover: Duration,
    /// How long to run after it came back and the fleet is balanced again.
    pub after_return: Duration,
}

/// What was measured.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub associations: usize,
    pub overlaps: usize,
    pub overlap_examples: Vec<String>,
    pub killed_held: usize,
    /// Kill to the last of the killed logger's leases claimed by another (from the database).
    pub lease_takeover: Duration,
    /// Kill to the last first association on the killed logger's meters (from the meters).
    pub takeover: Duration,
    /// The returning logger: start to holding its share.
    pub rebalance: Duration,
    pub shares_before: Vec<(String, usize)>,
    pub shares_after_return: Vec<(String, usize)>,
    pub answered: u64,
    pub stored: u64,
    pub lost: u64,
    pub duplicated: u64,
    /// Runs stored as failures (timeouts under load, refusals), all loggers.
    pub failed_runs: u64,
    pub reused: usize,
    pub refused: usize,
    pub errors: Vec<String>,
}

struct Kid(Child);
impl Drop for Kid {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn ms_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

fn secs(d: Duration) -> String {
    format!("{}ms", d.as_millis())
}

/// A base port with `n` free ports above it (below the ephemeral range).
fn free_ports(n: usize) -> u16 {
    let mut seed = (std::process::id() as u64).wrapping_mul(2654435761) ^ ms_now() as u64;
    for _ in 0..50 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let span = 32000u64.saturating_sub(n as u64 + 10_000).max(1);
        let base = 10_000 + (seed >> 33) % span;
        let ok = (0..n)
            .all(|i| std::net::TcpListener::bind(("127.0.0.1", base as u16 + i as u16)).is_ok());
        if ok {
            return base as u16;
        }
    }
    panic!("no {n} consecutive free ports below 32000");
}

fn queue(plan: &Plan, port: u16) -> String {
    let mut t = String::new();
    for i in 0..plan.meters {
        t.push_str(&format!(
            "[[connection]]\nname = \"c{i:05}\"\ntcp = {{ host = \"127.0.0.1\", port = {}, persistent = true }}\n\
             [[meter]]\nname = \"m{i:05}\"\nconnection = \"c{i:05}\"\nclient = 1\n\
             security = {{ policy = \"authenc\", block_key = \"000102030405060708090A0B0C0D0E0F\", \
             auth_key = \"D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF\" }}\n",
            port as usize + i
        ));
    }
    let meters: Vec<String> = (0..plan.meters).map(|i| format!("\"m{i:05}\"")).collect();
    t.push_str(&format!(
        "[[request]]\nname = \"regs\"\nschedule = {{ every = \"{}\" }}\ntimeout_ms = 20000\nmeters = [{}]\nitems = [\n  \
         {{ name = \"energy_import\", obis = \"1.0.1.8.0.255\" }},\n  {{ name = \"energy_export\", obis = \"1.0.2.8.0.255\" }},\n  \
         {{ name = \"voltage_l1\", obis = \"1.0.32.7.0.255\" }},\n  {{ name = \"current_l1\", obis = \"1.0.31.7.0.255\" }},\n  \
         {{ name = \"power_l1\", obis = \"1.0.21.7.0.255\" }},\n]\n",
        secs(plan.period),
        meters.join(", ")
    ));
    t
}

fn logger(plan: &Plan, name: &str) -> Kid {
    let log = std::fs::File::create(plan.dir.join(format!("{name}.log"))).expect("log file");
    let child = Command::new(&plan.bin)
        .args(["run", "-c"])
        .arg(plan.dir.join("queue.toml"))
        .arg("--db")
        .arg(plan.dir.join(format!("{name}.db")))
        .args(["--fleet", &plan.url, "--instance", name])
        .args(["--fleet-renew", &secs(plan.renew)])
        .args(["--fleet-expiry", &secs(plan.expiry)])
        .args(["--fleet-margin", &secs(plan.margin)])
        .env("DLMS_LOG", "warn,dlms_logger::fleet=info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("dlms-logger run starts");
    Kid(child)
}

/// A logger whose fleet comes from the queue's `[fleet]` section (the URL from the
/// environment, as `{ env = "DLMS_SCALEOUT_FLEET" }`), not from flags.
fn logger_from_queue(plan: &Plan, name: &str) -> Kid {
    let log = std::fs::File::create(plan.dir.join(format!("{name}.log"))).expect("log file");
    let child = Command::new(&plan.bin)
        .args(["run", "-c"])
        .arg(plan.dir.join("queue.toml"))
        .arg("--db")
        .arg(plan.dir.join(format!("{name}.db")))
        .env("DLMS_SCALEOUT_FLEET", &plan.url)
        .env_remove("DLMS_FLEET_URL")
        .env("DLMS_LOG", "warn,dlms_logger::fleet=info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("dlms-logger run starts");
    Kid(child)
}

/// Leases valid now: connection → holder (`status --fleet --json`, as an operator sees it).
fn holders(plan: &Plan) -> HashMap<String, String> {
    let out = Command::new(&plan.bin)
        .args(["status", "--json", "--db"])
        .arg(plan.dir.join("none.db"))
        .args(["--fleet", &plan.url])
        .output()
        .expect("dlms-logger status runs");
    let v: serde_json::Value = match serde_json::from_slice(&out.stdout) {
        Ok(v) => v,
        Err(_) => return HashMap::new(),
    };
    v["fleet"]["leases"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|l| l["expires_in_ms"].as_i64().unwrap_or(0) > 0)
                .filter_map(|l| {
                    Some((
                        l["connection"].as_str()?.to_string(),
                        l["holder"].as_str()?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn shares(h: &HashMap<String, String>) -> Vec<(String, usize)> {
    let mut by: BTreeMap<String, usize> = BTreeMap::new();
    for holder in h.values() {
        *by.entry(holder.clone()).or_default() += 1;
    }
    by.into_iter().collect()
}

/// Waits until every connection is held and each of `names` holds at most its share.
fn wait_balanced(
    plan: &Plan,
    names: &[String],
    limit: Duration,
) -> Option<HashMap<String, String>> {
    let share = plan.meters.div_ceil(names.len());
    let start = Instant::now();
    while start.elapsed() < limit {
        let h = holders(plan);
        let s = shares(&h);
        if h.len() == plan.meters
            && s.len() == names.len()
            && s.iter().all(|(n, c)| names.contains(n) && *c <= share)
        {
            return Some(h);
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    None
}

fn terminate(kid: &mut Kid) {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(kid.0.id().to_string())
        .status();
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if let Ok(Some(_)) = kid.0.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Runs the plan and measures.
pub fn run(plan: &Plan) -> Outcome {
    let mut out = Outcome::default();
    let port = free_ports(plan.meters);
    std::fs::write(plan.dir.join("queue.toml"), queue(plan, port)).expect("queue written");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(
            plan.dir.join("queue.toml"),
            std::fs::Permissions::from_mode(0o600),
        );
    }
    let log_path = plan.dir.join("associations.log");
    let mut sim = Kid(Command::new(&plan.bin)
        .args([
            "simulate",
            "--port",
            &port.to_string(),
            "--meters",
            &plan.meters.to_string(),
        ])
        .args(["--security", "authenc", "--association-log"])
        .arg(&log_path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("simulator starts"));
    let stdout = sim.0.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    for _ in 0..plan.meters {
        match lines.next() {
            Some(Ok(l)) if l.starts_with("listening on") => {}
            other => panic!("the simulator did not start: {other:?}"),
        }
    }
    std::thread::spawn(move || for _ in lines {});

    let names: Vec<String> = (1..=plan.instances).map(|i| format!("i{i}")).collect();
    let mut loggers: Vec<Kid> = names.iter().map(|n| logger(plan, n)).collect();
    let Some(_) = wait_balanced(plan, &names, Duration::from_secs(60)) else {
        out.errors.push(format!(
            "the fleet did not balance: {:?}",
            shares(&holders(plan))
        ));
        return out;
    };
    out.shares_before = shares(&holders(plan));
    std::thread::sleep(plan.before_kill);
    // Kill in the middle of a period, when the runs of its start are done.
    let p = plan.period.as_millis() as i64;
    let to_mid = (p / 2 - ms_now() % p).rem_euclid(p);
    std::thread::sleep(Duration::from_millis(to_mid as u64));

    let victim = names[1 % names.len()].clone();
    let before = holders(plan);
    let killed: HashSet<String> = before
        .iter()
        .filter(|(_, h)| **h == victim)
        .map(|(c, _)| c.clone())
        .collect();
    out.killed_held = killed.len();
    let kill_ms = ms_now();
    let vi = 1 % names.len();
    let _ = loggers[vi].0.kill();
    let _ = loggers[vi].0.wait();
    let kill_at = Instant::now();
    // Until every connection it held is held by another.
    loop {
        let h = holders(plan);
        if killed
            .iter()
            .all(|c| h.get(c).is_some_and(|x| *x != victim))
        {
            out.lease_takeover = kill_at.elapsed();
            break;
        }
        if kill_at.elapsed() > Duration::from_secs(90) {
            out.errors
                .push("the killed logger's connections were not taken over within 90 s".into());
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(plan.after_takeover.max(plan.period * 2));

    // It comes back and takes its share back.
    let back = Instant::now();
    loggers[vi] = logger(plan, &victim);
    match wait_balanced_with(plan, &names, &victim, Duration::from_secs(90)) {
        Some(h) => {
            out.rebalance = back.elapsed();
            out.shares_after_return = shares(&h);
        }
        None => out.errors.push(format!(
            "the returning logger did not get its share: {:?}",
            shares(&holders(plan))
        )),
    }
    std::thread::sleep(plan.after_return);

    for l in &mut loggers {
        terminate(l);
    }
    std::thread::sleep(Duration::from_millis(500));
    drop(sim);

    analyse(plan, &log_path, kill_ms, &killed, &mut out);
    out
}

/// Like [`wait_balanced`], and `returning` holds its whole share.
fn wait_balanced_with(
    plan: &Plan,
    names: &[String],
    returning: &str,
    limit: Duration,
) -> Option<HashMap<String, String>> {
    let share = plan.meters.div_ceil(names.len());
    let floor = plan.meters / names.len();
    let start = Instant::now();
    while start.elapsed() < limit {
        if let Some(h) = wait_balanced(plan, names, Duration::from_millis(1)) {
            if shares(&h)
                .iter()
                .any(|(n, c)| n == returning && *c >= floor && *c <= share)
            {
                return Some(h);
            }
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    None
}

/// The meter index of connection `c00012`.
fn meter_of(connection: &str) -> Option<u32> {
    connection.trim_start_matches('c').parse().ok()
}

fn analyse(plan: &Plan, log: &Path, kill_ms: i64, killed: &HashSet<String>, out: &mut Outcome) {
    let text = std::fs::read_to_string(log).expect("association log");
    // Per meter: (open ms, close ms, requests).
    let mut open: HashMap<(u32, String), i64> = HashMap::new();
    let mut spans: HashMap<u32, Vec<(i64, i64)>> = HashMap::new();
    let mut answered: HashMap<u32, u64> = HashMap::new();
    let end_ms = ms_now();
    for line in text.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let (Some(ms), Some(kind)) = (f.first().and_then(|v| v.parse::<i64>().ok()), f.get(1))
        else {
            continue;
        };
        let meter = f
            .get(2)
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(u32::MAX);
        match *kind {
            "open" => {
                let peer = f.get(4).unwrap_or(&"").to_string();
                open.insert((meter, peer), ms);
            }
            "close" => {
                let peer = f.get(4).unwrap_or(&"").to_string();
                let n: u64 = f.get(5).and_then(|v| v.parse().ok()).unwrap_or(0);
                *answered.entry(meter).or_default() += n;
                if let Some(o) = open.remove(&(meter, peer)) {
                    spans.entry(meter).or_default().push((o, ms));
                }
            }
            "reuse" => out.reused += 1,
            "refused" => out.refused += 1,
            _ => {}
        }
    }
    // Associations never closed in the log (the simulator stopped first) last until the end.
    for ((meter, _), o) in open {
        spans.entry(meter).or_default().push((o, end_ms));
    }
    for (meter, s) in &mut spans {
        out.associations += s.len();
        s.sort();
        for w in s.windows(2) {
            if w[1].0 < w[0].1 {
                out.overlaps += 1;
                if out.overlap_examples.len() < 5 {
                    out.overlap_examples
                        .push(format!("meter {meter}: {:?} and {:?}", w[0], w[1]));
                }
            }
        }
    }
    let mut takeover = 0i64;
    for c in killed {
        let Some(m) = meter_of(c) else { continue };
        let first = spans
            .get(&m)
            .and_then(|s| s.iter().map(|(o, _)| *o).filter(|o| *o > kill_ms).min());
        match first {
            Some(o) => takeover = takeover.max(o - kill_ms),
            None => out.errors.push(format!(
                "connection {c} was never associated again after the kill"
            )),
        }
    }
    out.takeover = Duration::from_millis(takeover.max(0) as u64);
    // Stored runs per meter, over every logger's store.
    let mut stored: HashMap<u32, u64> = HashMap::new();
    for i in 1..=plan.instances {
        let db = plan.dir.join(format!("i{i}.db"));
        let Ok(conn) = rusqlite::Connection::open(&db) else {
            continue;
        };
        let mut q = conn
            .prepare(
                "SELECT s.meter, count(DISTINCT r.poll) FROM reading r JOIN series s ON s.id = r.series \
                 WHERE r.status = 'ok' AND s.item = 'energy_import' GROUP BY s.meter",
            )
            .expect("query");
        let rows = q
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
            .expect("rows");
        for (meter, n) in rows.flatten() {
            if let Ok(m) = meter.trim_start_matches('m').parse::<u32>() {
                *stored.entry(m).or_default() += n as u64;
            }
        }
        let failed: i64 = conn
            .query_row(
                "SELECT count(DISTINCT r.poll || ' ' || s.meter) FROM reading r JOIN series s ON s.id = r.series \
                 WHERE r.status <> 'ok' AND s.item = 'energy_import'",
                [],
                |r| r.get(0),
            )
            .unwrap_or(0);
        out.failed_runs += failed as u64;
    }
    for m in 0..plan.meters as u32 {
        let a = answered.get(&m).copied().unwrap_or(0);
        let s = stored.get(&m).copied().unwrap_or(0);
        out.answered += a;
        out.stored += s;
        out.lost += a.saturating_sub(s);
        out.duplicated += s.saturating_sub(a);
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "shares before the kill:        {:?}", self.shares_before)?;
        writeln!(
            f,
            "killed logger held:            {} connection(s)",
            self.killed_held
        )?;
        writeln!(
            f,
            "leases taken over after:       {:.1} s (kill to the last claim, from the database)",
            self.lease_takeover.as_secs_f64()
        )?;
        writeln!(f, "meters associated again after: {:.1} s (kill to the last first association, from the meters)", self.takeover.as_secs_f64())?;
        writeln!(
            f,
            "returning logger's share in:   {:.1} s {:?}",
            self.rebalance.as_secs_f64(),
            self.shares_after_return
        )?;
        writeln!(f, "associations:                  {}", self.associations)?;
        writeln!(
            f,
            "overlapping associations:      {} {:?}",
            self.overlaps, self.overlap_examples
        )?;
        writeln!(f, "polls answered by the meters:  {}", self.answered)?;
        writeln!(f, "polls stored (all loggers):    {}", self.stored)?;
        writeln!(
            f,
            "readings lost / duplicated:    {} / {}",
            self.lost, self.duplicated
        )?;
        writeln!(f, "runs stored as failures:       {}", self.failed_runs)?;
        writeln!(
            f,
            "counters reused / refused:     {} / {}",
            self.reused, self.refused
        )?;
        for e in &self.errors {
            writeln!(f, "ERROR: {e}")?;
        }
        Ok(())
    }
}

/// What the outage test saw.
#[derive(Debug, Clone, Default)]
pub struct OutageOutcome {
    /// Associations opened before the database stopped answering.
    pub open_before: usize,
    /// Associations still open when the leases could expire (must be 0).
    pub open_past_expiry: usize,
    /// Associations opened after the leases could expire and before the database answered.
    pub opened_after_expiry: usize,
    /// Associations opened after the database answered again.
    pub reopened_after: bool,
    /// `dlms-logger status --fleet URL` while the logger ran.
    pub status_text: String,
    pub errors: Vec<String>,
}

/// One logger runs `plan.meters` meters; then its database stops answering (the fleet's
/// tables locked by another session) for `lock_for`.
pub fn outage(plan: &Plan, lock_for: Duration) -> OutageOutcome {
    let mut out = OutageOutcome::default();
    let port = free_ports(plan.meters);
    let section = format!(
        "\n[fleet]\ndatabase = {{ env = \"DLMS_SCALEOUT_FLEET\" }}\ninstance = \"i1\"\nrenew = \"{}\"\nexpiry = \"{}\"\nmargin = \"{}\"\n",
        secs(plan.renew),
        secs(plan.expiry),
        secs(plan.margin)
    );
    std::fs::write(plan.dir.join("queue.toml"), queue(plan, port) + &section)
        .expect("queue written");
    let log_path = plan.dir.join("associations.log");
    let mut sim = Kid(Command::new(&plan.bin)
        .args([
            "simulate",
            "--port",
            &port.to_string(),
            "--meters",
            &plan.meters.to_string(),
        ])
        .args(["--security", "authenc", "--association-log"])
        .arg(&log_path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("simulator starts"));
    let stdout = sim.0.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    for _ in 0..plan.meters {
        let _ = lines.next();
    }
    std::thread::spawn(move || for _ in lines {});
    let names = vec!["i1".to_string()];
    let mut l = logger_from_queue(plan, "i1");
    if wait_balanced(plan, &names, Duration::from_secs(30)).is_none() {
        out.errors
            .push("the logger did not claim its meters".into());
        return out;
    }
    std::thread::sleep(plan.period * 2);
    let status = Command::new(&plan.bin)
        .args(["status", "--db"])
        .arg(plan.dir.join("i1.db"))
        .args(["--fleet", &plan.url])
        .output()
        .expect("dlms-logger status runs");
    out.status_text = String::from_utf8_lossy(&status.stdout).into_owned();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (lock_ms, unlock_ms) = rt.block_on(async {
        let (client, conn) = tokio_postgres::connect(&plan.url, tokio_postgres::NoTls)
            .await
            .expect("database");
        tokio::spawn(conn);
        client
            .batch_execute("BEGIN; LOCK TABLE fleet_lease, fleet_instance IN ACCESS EXCLUSIVE MODE")
            .await
            .expect("lock");
        let lock_ms = ms_now();
        tokio::time::sleep(lock_for).await;
        let unlock_ms = ms_now();
        client.batch_execute("ROLLBACK").await.expect("unlock");
        (lock_ms, unlock_ms)
    });
    std::thread::sleep(plan.expiry + plan.period * 3);
    terminate(&mut l);
    std::thread::sleep(Duration::from_millis(300));
    drop(sim);
    // No renewal succeeded after the lock: every lease expires by then.
    let expiry_bound = lock_ms + plan.expiry.as_millis() as i64;
    let text = std::fs::read_to_string(&log_path).expect("association log");
    let mut open: HashMap<(String, String), i64> = HashMap::new();
    let mut spans = Vec::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let Some(ms) = f.first().and_then(|v| v.parse::<i64>().ok()) else {
            continue;
        };
        let key = (
            f.get(2).unwrap_or(&"").to_string(),
            f.get(4).unwrap_or(&"").to_string(),
        );
        match f.get(1) {
            Some(&"open") => {
                open.insert(key, ms);
            }
            Some(&"close") => {
                if let Some(o) = open.remove(&key) {
                    spans.push((o, ms));
                }
            }
            _ => {}
        }
    }
    let end = ms_now();
    spans.extend(open.into_values().map(|o| (o, end)));
    for (o, c) in spans {
        if o < lock_ms {
            out.open_before += 1;
        }
        if o < expiry_bound && c > expiry_bound {
            out.open_past_expiry += 1;
        }
        if o >= expiry_bound && o < unlock_ms {
            out.opened_after_expiry += 1;
        }
        if o > unlock_ms {
            out.reopened_after = true;
        }
    }
    out
}
