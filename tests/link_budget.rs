//! The runner keeps to its link budget: 12 meters on persistent connections, a budget of 6
//! links (5 kept between runs, 1 for links opened per run). Exactly 5 meters keep their link
//! for the whole test, the other 7 are read over a link opened and closed per run, every poll
//! succeeds, and the runner never holds more than 6 sockets at once — counted from the
//! meters' side (the simulator's association log: associations open at one time) and from
//! ours (this process's sockets in /proc/self/fd, sampled while it runs).

mod common;

use dlms_logger::queue::Config;
use dlms_logger::runner::{Runner, RunnerOptions};
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const METERS: usize = 12;
const BUDGET: usize = 6;
const KEPT: usize = 5;

/// Sockets this process holds now (the runner's links: the simulator is another process).
fn sockets() -> usize {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return 0;
    };
    dir.flatten()
        .filter(|e| {
            std::fs::read_link(e.path()).is_ok_and(|l| l.to_string_lossy().starts_with("socket:"))
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meters_beyond_the_budget_are_read_over_links_opened_per_run() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("associations.log");
    let mut cmd = common::bin();
    cmd.args(["simulate", "--port", "0", "--meters", &METERS.to_string()])
        .arg("--association-log")
        .arg(&log)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut sim = common::Proc(cmd.spawn().unwrap());
    let mut lines = BufReader::new(sim.0.stdout.take().unwrap()).lines();
    let mut ports = Vec::new();
    for _ in 0..METERS {
        let line = lines.next().unwrap().unwrap();
        let port: u16 = line.rsplit(':').next().unwrap().trim().parse().unwrap();
        ports.push(port);
    }
    std::thread::spawn(move || for _ in lines {});

    let mut text = String::new();
    for (i, port) in ports.iter().enumerate() {
        text.push_str(&format!(
            "[[connection]]\nname = \"c{i:02}\"\ntcp = {{ host = \"127.0.0.1\", port = {port}, persistent = true }}\n\
             [[meter]]\nname = \"m{i:02}\"\nconnection = \"c{i:02}\"\n"
        ));
    }
    let names: Vec<String> = (0..METERS).map(|i| format!("\"m{i:02}\"")).collect();
    text.push_str(&format!(
        "[[request]]\nname = \"regs\"\nschedule = {{ every = \"1s\" }}\ntimeout_ms = 10000\nmeters = [{}]\n\
         items = [ {{ name = \"energy\", obis = \"1.0.1.8.0.255\" }}, {{ name = \"voltage\", obis = \"1.0.32.7.0.255\" }} ]\n",
        names.join(", ")
    ));
    let config = Config::parse(&text, "budget.toml").unwrap_or_else(|e| panic!("{e}"));

    // Sampled from before the runner starts until after it stopped.
    let baseline = sockets();
    let most = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (most, done) = (most.clone(), done.clone());
        std::thread::spawn(move || {
            let mut samples = 0u64;
            while !done.load(Ordering::Relaxed) {
                most.fetch_max(sockets().saturating_sub(baseline), Ordering::Relaxed);
                samples += 1;
            }
            samples
        })
    };

    let db = dir.path().join("log.db");
    let (writer, handle, first) = dlms_logger::runner::open_store(db.as_path()).unwrap();
    let options = RunnerOptions {
        counters: Some(dlms_logger::counters::CounterStore::new(
            dir.path().join("counters.db"),
        )),
        link_budget: Some(BUDGET),
        ..Default::default()
    };
    let runner = Runner::start_with(config, handle, first, options);
    let h = runner.handle();
    // Four periods after every meter was read once.
    let mut waited = Duration::ZERO;
    while h.status().meters.values().filter(|m| m.ok >= 4).count() < METERS
        && waited < Duration::from_secs(60)
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += Duration::from_millis(100);
    }
    let budget = h.link_budget();
    let status = h.status();
    runner.shutdown().await;
    writer.shutdown().unwrap();
    done.store(true, Ordering::Relaxed);
    let samples = sampler.join().unwrap();
    drop(sim);

    // Every poll of every meter succeeded.
    assert_eq!(status.meters.len(), METERS, "{status:?}");
    for (name, m) in &status.meters {
        assert!(m.ok >= 4, "meter {name} was not read four times: {m:?}");
        assert_eq!(m.failed, 0, "meter {name} failed: {m:?}");
    }
    assert_eq!(status.failures_stored, 0, "{status:?}");
    // The budget as the runner reports it.
    assert_eq!(
        (budget.budget, budget.keep_limit),
        (BUDGET, KEPT),
        "{budget:?}"
    );
    assert_eq!(budget.kept, KEPT, "{budget:?}");
    assert!(
        budget.per_run >= 4 * (METERS - KEPT) as u64,
        "runs over per-run links: {budget:?}"
    );

    // The meters' side: associations per meter, and how many were open at once.
    let text = std::fs::read_to_string(&log).unwrap();
    let mut events = Vec::new();
    let mut per_meter: HashMap<u32, (usize, u64)> = HashMap::new();
    for line in text.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let (Some(ms), Some(kind), Some(meter)) = (
            f.first().and_then(|v| v.parse::<i64>().ok()),
            f.get(1),
            f.get(2).and_then(|v| v.parse::<u32>().ok()),
        ) else {
            continue;
        };
        match *kind {
            "open" => {
                per_meter.entry(meter).or_default().0 += 1;
                events.push((ms, 1i32));
            }
            "close" => {
                per_meter.entry(meter).or_default().1 +=
                    f.get(5).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
                events.push((ms, -1));
            }
            _ => {}
        }
    }
    // Closes before opens at the same millisecond: the log is written in order, and a
    // per-run link is released before the next is let open.
    events.sort();
    let (mut open, mut at_once) = (0i32, 0i32);
    for (_, d) in events {
        open += d;
        at_once = at_once.max(open);
    }
    assert!(
        at_once as usize <= BUDGET,
        "{at_once} associations were open at once with a budget of {BUDGET}"
    );
    let kept: Vec<_> = per_meter
        .iter()
        .filter(|(_, (assoc, requests))| *assoc == 1 && *requests >= 4)
        .collect();
    assert_eq!(
        kept.len(),
        KEPT,
        "meters that kept one association for every poll: {per_meter:?}"
    );
    let per_run = per_meter
        .values()
        .filter(|(assoc, requests)| *assoc >= 4 && *requests == *assoc as u64)
        .count();
    assert_eq!(
        per_run,
        METERS - KEPT,
        "meters read over one association per poll: {per_meter:?}"
    );
    // Our side: sockets held at once.
    let most = most.load(Ordering::Relaxed);
    assert!(samples > 100, "the sampler ran {samples} times only");
    assert!(
        most <= BUDGET,
        "the runner held {most} sockets at once with a budget of {BUDGET}"
    );
    assert!(most >= KEPT, "the kept links were seen: {most}");
}
