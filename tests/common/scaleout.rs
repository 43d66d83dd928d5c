//! The fleet's scale-out proof, shared by `tests/fleet.rs` (small) and
//! `examples/fleet_scaleout.rs` (3 × 3,000; 4 × 100,000): real `dlms-logger run` processes
//! sharing one PostgreSQL and one queue, `dlms-logger simulate` processes serving the meters
//! (ciphered, one key for all, so a counter used twice would be a GCM nonce used twice) with
//! their association logs — one process while the meters fit its open-file limit (2 files per
//! meter), else several, each on a loopback address of its own (127.1.0.K) so that 100,000
//! meters find ports; one logger is killed with SIGKILL mid-run, later started again (unless
//! `kill` is off: then the fleet only runs, for a steady-state figure).
//!
//! What is checked comes from the meters' side (the simulator's association log) and the
//! loggers' stores:
//! * overlaps: two associations open on one meter at the same moment (must be 0);
//! * takeover: for each connection the killed logger held, the time from the kill to the
//!   next association on its meter (the lease's expiry, a renewal, and the next poll);
//! * lost: requests a meter answered whose run no store holds; duplicated: stored runs beyond
//!   the requests answered (per meter, over every logger's store);
//! * counters reused: `reuse` and `refused` lines of the log (a counter seen twice from our
//!   system title on any meter of one simulator process, or a request a meter refused as a
//!   replay);
//! * on time: of the polls due in the steady window (every meter once per period), those
//!   stored as read; per logger its CPU (cores), peak RSS and its links kept and run per run
//!   (its `--metrics`).
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
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
    /// Meters per simulator process (0: as many as its open-file limit allows).
    pub meters_per_sim: usize,
    /// Kill a logger and bring it back (false: run `before_kill` in a steady state only).
    pub kill: bool,
    /// Each logger's `--link-budget` (None: from its open-file limit).
    pub link_budget: Option<usize>,
}

/// Meters one simulator process can serve within the hard open-file limit (2 files each).
pub fn meters_per_sim_default() -> usize {
    let hard = rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(1024, |(_, h)| h);
    (hard.min(1 << 20).saturating_sub(1000) / 2).max(100) as usize
}

/// One logger's figures over the steady window.
#[derive(Debug, Clone, Default)]
pub struct InstanceFigures {
    pub name: String,
    /// Connections it held at the window's end.
    pub held: usize,
    /// CPU used over the window, in cores.
    pub cores: f64,
    /// Peak resident memory (VmHWM), MB.
    pub peak_rss_mb: f64,
    /// Its link budget (`dlms_link_budget`, `dlms_links_kept_limit`), links kept at the end
    /// (`dlms_links_kept`) and runs read over per-run links since start (`dlms_per_run_links`).
    pub budget: u64,
    pub keep_limit: u64,
    pub kept: u64,
    pub per_run: u64,
}

/// What was measured.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub associations: usize,
    pub overlaps: usize,
    pub overlap_examples: Vec<String>,
    /// A logger was killed and brought back (`Plan::kill`).
    pub killed: bool,
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
    /// Simulator processes.
    pub sims: usize,
    /// The steady window (balanced, one period settled, until the kill or the end).
    pub window: Duration,
    /// Polls due in it (meters × whole periods) and those stored as read.
    pub due: u64,
    pub on_time: u64,
    pub instances: Vec<InstanceFigures>,
    /// The simulators together: CPU cores over the window, peak RSS summed (MB).
    pub sim_cores: f64,
    pub sim_rss_mb: f64,
    /// Processes named `postgres` on this machine: CPU cores over the window.
    pub pg_cores: f64,
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

/// A base port with `n` free ports above it on `host` (below the ephemeral range).
fn free_ports_on(host: &str, n: usize) -> u16 {
    let mut seed = (std::process::id() as u64).wrapping_mul(2654435761) ^ ms_now() as u64;
    for _ in 0..50 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let span = 32000u64.saturating_sub(n as u64 + 10_000).max(1);
        let base = 10_000 + (seed >> 33) % span;
        let ok =
            (0..n).all(|i| std::net::TcpListener::bind((host, base as u16 + i as u16)).is_ok());
        if ok {
            return base as u16;
        }
    }
    panic!("no {n} consecutive free ports below 32000");
}

/// Where meter `i` listens: (host, port) of the simulators `sims`.
fn address(sims: &[Sim], per: usize, i: usize) -> (String, u16) {
    let s = &sims[i / per];
    (s.host.clone(), s.port + (i % per) as u16)
}

fn queue(plan: &Plan, sims: &[Sim], per: usize) -> String {
    let mut t = String::new();
    for i in 0..plan.meters {
        let (host, port) = address(sims, per, i);
        t.push_str(&format!(
            "[[connection]]\nname = \"c{i:05}\"\ntcp = {{ host = \"{host}\", port = {port}, persistent = true }}\n\
             [[meter]]\nname = \"m{i:05}\"\nconnection = \"c{i:05}\"\nclient = 1\n\
             security = {{ policy = \"authenc\", block_key = \"000102030405060708090A0B0C0D0E0F\", \
             auth_key = \"D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF\" }}\n"
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

fn logger(plan: &Plan, name: &str, metrics: u16) -> Kid {
    let log = std::fs::File::create(plan.dir.join(format!("{name}.log"))).expect("log file");
    let child = Command::new(&plan.bin)
        .args(["run", "-c"])
        .arg(plan.dir.join("queue.toml"))
        .arg("--db")
        .arg(plan.dir.join(format!("{name}.db")))
        .args(["--metrics", &format!("127.0.0.1:{metrics}")])
        .args(
            plan.link_budget
                .map(|n| vec!["--link-budget".to_string(), n.to_string()])
                .unwrap_or_default(),
        )
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
        // Each look lists every lease: less often in a large fleet.
        std::thread::sleep(Duration::from_millis(if plan.meters > 10_000 {
            3000
        } else {
            300
        }));
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

/// One simulator process: its meters listen on `host`, from `port` up.
struct Sim {
    kid: Kid,
    host: String,
    port: u16,
    log: PathBuf,
}

/// Starts the simulators for `plan.meters` meters, `per` in each; waits until all listen.
fn start_sims(plan: &Plan, per: usize) -> Vec<Sim> {
    let count = plan.meters.div_ceil(per);
    let mut sims = Vec::new();
    let mut readers = Vec::new();
    for k in 0..count {
        let n = per.min(plan.meters - k * per);
        // One simulator keeps the usual address; several get one each (ports for all).
        let host = if count == 1 {
            "127.0.0.1".to_string()
        } else {
            format!("127.1.{}.{}", k / 200, 1 + k % 200)
        };
        let port = free_ports_on(&host, n);
        let log = if count == 1 {
            plan.dir.join("associations.log")
        } else {
            plan.dir.join(format!("associations-{k}.log"))
        };
        let mut kid = Kid(Command::new(&plan.bin)
            .args(["simulate", "--host", &host, "--port", &port.to_string()])
            .args(["--meters", &n.to_string()])
            .args(["--security", "authenc", "--association-log"])
            .arg(&log)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("simulator starts"));
        let stdout = kid.0.stdout.take().expect("stdout");
        // Read each simulator's lines on a thread of its own: they start together.
        readers.push(std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            for _ in 0..n {
                match lines.next() {
                    Some(Ok(l)) if l.starts_with("listening on") => {}
                    other => return Err(format!("the simulator did not start: {other:?}")),
                }
            }
            std::thread::spawn(move || for _ in lines {});
            Ok(())
        }));
        sims.push(Sim {
            kid,
            host,
            port,
            log,
        });
    }
    for r in readers {
        if let Err(e) = r.join().expect("reader") {
            panic!("{e}");
        }
    }
    sims
}

/// A free port on 127.0.0.1 (for a logger's metrics).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_or(0, |a| a.port())
}

/// CPU seconds process `pid` used so far, threads that ended included (utime + stime of
/// /proc/PID/stat, in clock ticks: 100 per second on Linux).
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = after.split_whitespace().collect();
    let t = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    (t(11) + t(12)) as f64 / 100.0
}

/// CPU seconds used so far by every process named `postgres` on this machine (the server
/// the fleet uses, when it runs here).
fn postgres_cpu_seconds() -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0.0;
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "postgres")
        })
        .map(cpu_seconds)
        .sum()
}

/// Peak resident memory of process `pid` (VmHWM), MB.
fn peak_rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))?
                .split_whitespace()
                .nth(1)?
                .parse::<f64>()
                .ok()
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// The logger's metrics on `port`: name → value (no labels).
fn scrape(port: u16) -> HashMap<String, f64> {
    use std::io::{Read, Write};
    let mut out = HashMap::new();
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return out;
    };
    // An overloaded logger answers late.
    let _ = s.set_read_timeout(Some(Duration::from_secs(60)));
    let _ = s.write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n");
    let mut text = String::new();
    let _ = s.read_to_string(&mut text);
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        if let Some((name, v)) = line.split_once(' ') {
            if let Ok(v) = v.trim().parse::<f64>() {
                out.insert(name.to_string(), v);
            }
        }
    }
    out
}

/// Runs the plan and measures.
pub fn run(plan: &Plan) -> Outcome {
    let mut out = Outcome::default();
    let per = match plan.meters_per_sim {
        0 => meters_per_sim_default(),
        n => n,
    }
    .min(plan.meters.max(1));
    let sims = start_sims(plan, per);
    out.sims = sims.len();
    std::fs::write(plan.dir.join("queue.toml"), queue(plan, &sims, per)).expect("queue written");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(
            plan.dir.join("queue.toml"),
            std::fs::Permissions::from_mode(0o600),
        );
    }

    let names: Vec<String> = (1..=plan.instances).map(|i| format!("i{i}")).collect();
    let ports: Vec<u16> = names.iter().map(|_| free_port()).collect();
    let mut loggers: Vec<Kid> = names
        .iter()
        .zip(&ports)
        .map(|(n, p)| logger(plan, n, *p))
        .collect();
    // Claiming 25,000 leases takes a while: a second per 500 meters, at least a minute.
    let patience = Duration::from_secs(60).max(Duration::from_millis(plan.meters as u64 * 2));
    let Some(_) = wait_balanced(plan, &names, patience) else {
        out.errors.push(format!(
            "the fleet did not balance: {:?}",
            shares(&holders(plan))
        ));
        return out;
    };
    let balanced = holders(plan);
    out.shares_before = shares(&balanced);
    // The steady window starts after a period to settle, at a period's start.
    std::thread::sleep(plan.period);
    let p = plan.period.as_millis() as i64;
    std::thread::sleep(Duration::from_millis(
        (p - ms_now() % p).rem_euclid(p) as u64
    ));
    let window_start = ms_now();
    let t0 = Instant::now();
    let cpu0: Vec<f64> = loggers.iter().map(|l| cpu_seconds(l.0.id())).collect();
    let sim_cpu0: f64 = sims.iter().map(|s| cpu_seconds(s.kid.0.id())).sum();
    let pg_cpu0 = postgres_cpu_seconds();
    std::thread::sleep(plan.before_kill);
    // Kill in the middle of a period, when the runs of its start are done.
    let to_mid = (p / 2 - ms_now() % p).rem_euclid(p);
    if plan.kill {
        std::thread::sleep(Duration::from_millis(to_mid as u64));
    }
    let wall = t0.elapsed().as_secs_f64();
    out.window = t0.elapsed();
    let window_end = ms_now();
    out.pg_cores = (postgres_cpu_seconds() - pg_cpu0) / wall;
    // Scraped at once: each answers when its runtime gets to it.
    let scrapes: Vec<_> = ports
        .iter()
        .map(|p| {
            let p = *p;
            std::thread::spawn(move || scrape(p))
        })
        .collect();
    let scrapes: Vec<HashMap<String, f64>> = scrapes
        .into_iter()
        .map(|t| t.join().unwrap_or_default())
        .collect();
    for (i, l) in loggers.iter().enumerate() {
        let m = &scrapes[i];
        let get = |k: &str| m.get(k).copied().unwrap_or(0.0) as u64;
        out.instances.push(InstanceFigures {
            name: names[i].clone(),
            held: balanced.values().filter(|h| **h == names[i]).count(),
            cores: (cpu_seconds(l.0.id()) - cpu0[i]) / wall,
            peak_rss_mb: peak_rss_mb(l.0.id()),
            budget: get("dlms_link_budget"),
            keep_limit: get("dlms_links_kept_limit"),
            kept: get("dlms_links_kept"),
            per_run: get("dlms_per_run_links_total"),
        });
    }
    out.sim_cores = (sims.iter().map(|s| cpu_seconds(s.kid.0.id())).sum::<f64>() - sim_cpu0) / wall;
    out.sim_rss_mb = sims.iter().map(|s| peak_rss_mb(s.kid.0.id())).sum();

    let mut kill_ms = i64::MAX;
    let mut killed = HashSet::new();
    out.killed = plan.kill;
    if plan.kill {
        let victim = names[1 % names.len()].clone();
        let before = holders(plan);
        killed = before
            .iter()
            .filter(|(_, h)| **h == victim)
            .map(|(c, _)| c.clone())
            .collect();
        out.killed_held = killed.len();
        kill_ms = ms_now();
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
        loggers[vi] = logger(plan, &victim, ports[vi]);
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
    }

    for l in &mut loggers {
        terminate(l);
    }
    std::thread::sleep(Duration::from_millis(500));
    let logs: Vec<(PathBuf, usize)> = sims
        .iter()
        .enumerate()
        .map(|(k, s)| (s.log.clone(), k * per))
        .collect();
    drop(sims);

    analyse(plan, &logs, kill_ms, &killed, &mut out);
    on_time(plan, window_start, window_end, &mut out);
    out
}

/// Polls due in the window (each meter once per whole period in it) and those stored as
/// read (an `ok` reading of the first item with its time in the window, at most one per
/// period and meter).
fn on_time(plan: &Plan, from_ms: i64, to_ms: i64, out: &mut Outcome) {
    let p = plan.period.as_millis() as i64;
    let periods = ((to_ms - from_ms) / p).max(0);
    let end = from_ms + periods * p;
    out.due = plan.meters as u64 * periods as u64;
    let mut per_slot: HashSet<(String, i64)> = HashSet::new();
    for i in 1..=plan.instances {
        let Ok(conn) = rusqlite::Connection::open(plan.dir.join(format!("i{i}.db"))) else {
            continue;
        };
        let Ok(mut q) = conn.prepare(
            "SELECT s.meter, r.ts FROM reading r JOIN series s ON s.id = r.series \
             WHERE r.status = 'ok' AND s.item = 'energy_import' AND r.ts >= ?1 AND r.ts < ?2",
        ) else {
            continue;
        };
        let Ok(rows) = q.query_map([from_ms, end], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        }) else {
            continue;
        };
        for (meter, ts) in rows.flatten() {
            per_slot.insert((meter, (ts - from_ms) / p));
        }
    }
    out.on_time = per_slot.len() as u64;
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

/// `logs`: each simulator's association log with the index of its first meter.
fn analyse(
    plan: &Plan,
    logs: &[(PathBuf, usize)],
    kill_ms: i64,
    killed: &HashSet<String>,
    out: &mut Outcome,
) {
    // Per meter: (open ms, close ms, requests).
    let mut open: HashMap<(u32, String), i64> = HashMap::new();
    let mut spans: HashMap<u32, Vec<(i64, i64)>> = HashMap::new();
    let mut answered: HashMap<u32, u64> = HashMap::new();
    let end_ms = ms_now();
    for (log, first) in logs {
        let text = std::fs::read_to_string(log).expect("association log");
        for line in text.lines() {
            let f: Vec<&str> = line.split('\t').collect();
            let (Some(ms), Some(kind)) = (f.first().and_then(|v| v.parse::<i64>().ok()), f.get(1))
            else {
                continue;
            };
            let meter = f
                .get(2)
                .and_then(|v| v.parse::<u32>().ok())
                .map_or(u32::MAX, |m| m + *first as u32);
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
        writeln!(f, "simulator processes:           {}", self.sims)?;
        writeln!(f, "shares when balanced:          {:?}", self.shares_before)?;
        let pct = |a: u64, b: u64| {
            if b == 0 {
                0.0
            } else {
                100.0 * a as f64 / b as f64
            }
        };
        writeln!(
            f,
            "steady window:                 {:.0} s: {} of {} polls stored as read in their period ({:.2} %)",
            self.window.as_secs_f64(),
            self.on_time,
            self.due,
            pct(self.on_time, self.due)
        )?;
        for i in &self.instances {
            writeln!(
                f,
                "  logger {}: {} connections, {:.2} cores, peak RSS {:.0} MB, links kept {} (limit {}, budget {}), runs over per-run links {}",
                i.name, i.held, i.cores, i.peak_rss_mb, i.kept, i.keep_limit, i.budget, i.per_run
            )?;
        }
        writeln!(
            f,
            "  simulators: {:.2} cores, peak RSS {:.0} MB together; PostgreSQL (processes named postgres here): {:.2} cores",
            self.sim_cores, self.sim_rss_mb, self.pg_cores
        )?;
        if self.killed {
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
        }
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
    let sims = start_sims(plan, plan.meters);
    let section = format!(
        "\n[fleet]\ndatabase = {{ env = \"DLMS_SCALEOUT_FLEET\" }}\ninstance = \"i1\"\nrenew = \"{}\"\nexpiry = \"{}\"\nmargin = \"{}\"\n",
        secs(plan.renew),
        secs(plan.expiry),
        secs(plan.margin)
    );
    std::fs::write(
        plan.dir.join("queue.toml"),
        queue(plan, &sims, plan.meters) + &section,
    )
    .expect("queue written");
    let log_path = sims[0].log.clone();
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
    drop(sims);
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
