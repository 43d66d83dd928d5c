//! Soak: a fleet of simulated meters, a share of them misbehaving, polled by the real runner
//! and store for a long time. Prints polls, failures by kind, rows stored vs reported, and RSS
//! and open file descriptors at start, middle and end (no growth beyond noise, no leak).
//!
//! `cargo run --release --example soak -- --duration 30m [--meters 60] [--period 1s] [--faults all|none]`
//!
//! The simulated meters run in this process (their memory counts in the RSS figures).

use dlms_logger::queue::Config;
use dlms_logger::runner::Runner;
use dlms_logger::sim::{self, fault::Fault, SimConfig};
use dlms_logger::store::Scan;
use dlms_logger::store::{Store, Writer};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| default.to_string())
}

fn duration(text: &str) -> Duration {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (n, unit) = text.split_at(split);
    let n: u64 = n
        .parse()
        .unwrap_or_else(|_| panic!("bad duration {text:?}: use e.g. 90s, 30m, 2h"));
    Duration::from_secs(match unit {
        "s" | "" => n,
        "m" | "min" => n * 60,
        "h" => n * 3600,
        _ => panic!("bad duration unit in {text:?}: use s, m or h"),
    })
}

/// Resident set size in KiB and open file descriptors of this process.
fn resources() -> (u64, usize) {
    let rss = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0);
    let fds = std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0);
    (rss, fds)
}

/// The kind of a failure status, for the summary.
fn kind(status: &str) -> &'static str {
    for (needle, kind) in [
        ("closed the connection", "link dropped"),
        ("no answer", "timeout"),
        ("timed out", "timeout"),
        ("HDLC", "bad frame"),
        ("WRAPPER", "bad frame"),
        ("check sequence", "bad frame"),
        ("exception", "exception"),
        ("rejected", "association refused"),
        ("block", "block transfer"),
    ] {
        if status.contains(needle) {
            return kind;
        }
    }
    "other"
}

#[tokio::main]
async fn main() {
    let run_for = duration(&arg("--duration", "60s"));
    let meters: usize = arg("--meters", "60").parse().expect("--meters N");
    let period = arg("--period", "1s");
    let faulty = arg("--faults", "all") == "all";
    let faults = [
        Some(Fault::DropAfter(3)),
        Some(Fault::Garbage),
        Some(Fault::Slow(Duration::from_millis(1500))),
        Some(Fault::Exception),
        Some(Fault::RejectAssociation),
        Some(Fault::Silent),
        Some(Fault::RebootMidBlock),
        Some(Fault::Truncate),
    ];
    let mut toml = String::new();
    let mut names = Vec::new();
    let mut sims = Vec::new();
    for i in 0..meters {
        // Every third meter misbehaves, cycling through the fault kinds.
        let fault = if faulty && i % 3 == 0 {
            faults[(i / 3) % faults.len()]
        } else {
            None
        };
        let (addrs, handle) = sim::start(SimConfig {
            port: 0,
            fault,
            ..SimConfig::default()
        })
        .await
        .expect("simulator");
        sims.push(handle);
        let port = addrs[0].port();
        toml.push_str(&format!(
            "[[connection]]\nname = \"c{i}\"\ntcp = {{ host = \"127.0.0.1\", port = {port} }}\n[[meter]]\nname = \"m{i}\"\nconnection = \"c{i}\"\ntimeout_ms = 1000\nretries = 1\n"
        ));
        names.push(format!("\"m{i}\""));
    }
    for (i, m) in names.iter().enumerate() {
        toml.push_str(&format!(
            "[[request]]\nname = \"r{i}\"\nmeters = [{m}]\nschedule = {{ every = \"{period}\" }}\ntimeout_ms = 5000\nitems = [{{ name = \"energy\", obis = \"1.0.1.8.0.255\" }}, {{ name = \"volts\", obis = \"1.0.32.7.0.255\" }}, {{ name = \"load\", obis = \"1.0.99.1.0.255\", entries = 8 }}]\n"
        ));
    }
    let config = Config::parse(&toml, "soak.toml").expect("config");
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("soak.db");
    let (writer, handle) = Writer::spawn(&db).expect("store");
    let start = resources();
    let started = Instant::now();
    let runner = Runner::start(config, handle, 1);
    let h = runner.handle();
    tokio::time::sleep(run_for / 2).await;
    let middle = resources();
    tokio::time::sleep(run_for - run_for / 2).await;
    runner.shutdown().await;
    // After shutdown: the runs that finished while stopping are counted too.
    let status = h.status();
    writer.shutdown().expect("store shutdown");
    let end = resources();
    let elapsed = started.elapsed();

    let store = Store::open(&db).expect("store");
    let (stored, failed_rows) = store.counts().expect("counts");
    let fired: u64 = status.requests.values().map(|r| r.fired).sum();
    let completed: u64 = status.requests.values().map(|r| r.completed).sum();
    let skipped: u64 = status.requests.values().map(|r| r.skipped).sum();
    let mut by_kind: BTreeMap<&str, u64> = BTreeMap::new();
    let mut after = None;
    loop {
        let filter = dlms_logger::store::LogFilter {
            status: Some(dlms_logger::store::StatusFilter::Failed),
            ..Default::default()
        };
        let page = store.log_page(&filter, after, 5000).expect("log page");
        let Some(last) = page.last() else { break };
        after = Some(last.cursor());
        for r in &page {
            *by_kind.entry(kind(&r.record.status)).or_default() += 1;
        }
    }
    println!(
        "soak: {meters} meters ({} misbehaving), every {period}, for {:.0} s",
        if faulty { meters.div_ceil(3) } else { 0 },
        elapsed.as_secs_f64()
    );
    println!("polls: fired {fired}, completed {completed}, skipped (coalesced) {skipped}");
    println!(
        "rows: in the database {stored} (of which failures {failed_rows}); reported stored by the runner {}; lost {}",
        status.rows_stored,
        status.rows_stored.abs_diff(stored)
    );
    println!("failure rows by kind:");
    for (k, n) in &by_kind {
        println!("  {k:<20} {n}");
    }
    println!(
        "RSS KiB: start {} middle {} end {}",
        start.0, middle.0, end.0
    );
    println!(
        "open fds: start {} middle {} end {}",
        start.1, middle.1, end.1
    );
    drop(sims);
}
