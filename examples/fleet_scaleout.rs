//! The fleet's scale-out proof at full size (issue 18 §2): 3 loggers × 3,000 simulated meters
//! sharing one PostgreSQL; one logger killed with SIGKILL mid-run, later started again.
//!
//! ```text
//! eval "$(scripts/test-postgres.sh)"      # a throwaway PostgreSQL; sets DLMS_TEST_PG
//! cargo build --bin dlms-logger --example fleet_scaleout
//! target/debug/examples/fleet_scaleout    # 3 × 3,000, period 10 s, default lease timings
//! target/debug/examples/fleet_scaleout --meters 9000 --instances 3 --period 30s
//! # 100,000 meters over 4 loggers, steady state only (no kill), release build:
//! cargo build --release --bin dlms-logger --example fleet_scaleout
//! target/release/examples/fleet_scaleout --meters 100000 --instances 4 --period 60s \
//!     --no-kill --before-kill 180s
//! ```
//!
//! Real processes: one `dlms-logger simulate --meters N --security authenc
//! --association-log FILE` (every meter ciphered with one key, so a counter used twice would
//! be a GCM nonce used twice) and `--instances` × `dlms-logger run --fleet URL --instance iK`
//! over one queue (one persistent TCP connection and 5 registers per meter). Prints the shares,
//! the takeover time (from the database and from the meters), overlapping associations (from
//! the simulator's own log; must be 0), readings lost or duplicated (polls the meters answered
//! against runs stored by all loggers) and counters reused; exits 1 when a check fails. The
//! harness is `tests/common/scaleout.rs`, which `tests/fleet.rs` runs at 3 × 150.
//!
//! A simulator needs 2 open files per meter: the meters are split over as many simulator
//! processes as the hard open-file limit needs (`--meters-per-sim`), each on a loopback
//! address of its own. A logger keeps one socket per meter while its link budget allows (the
//! open-file limit, raised to the hard limit at start, less 256); beyond it its meters are
//! read over links opened per run, and the figures say how many of each.

#[path = "../tests/common/scaleout.rs"]
mod scaleout;

use anyhow::{bail, Context, Result};
use clap::Parser;
use std::time::Duration;

/// Command-line flags.
#[derive(Debug, Parser)]
#[command(about = "Three loggers, one fleet: kill one, check takeover, overlaps, losses, counters")]
struct Args {
    /// Simulated meters (one connection each).
    #[arg(long, default_value_t = 3000)]
    meters: usize,
    /// Loggers in the fleet.
    #[arg(long, default_value_t = 3)]
    instances: usize,
    /// Poll period.
    #[arg(long, default_value = "10s", value_parser = duration)]
    period: Duration,
    /// Lease renewal (`run --fleet-renew`).
    #[arg(long, default_value = "3s", value_parser = duration)]
    renew: Duration,
    /// Lease expiry (`run --fleet-expiry`).
    #[arg(long, default_value = "15s", value_parser = duration)]
    expiry: Duration,
    /// Lease margin (`run --fleet-margin`).
    #[arg(long, default_value = "5s", value_parser = duration)]
    margin: Duration,
    /// Running time once balanced, before the kill (with --no-kill: the steady window).
    #[arg(long, default_value = "30s", value_parser = duration)]
    before_kill: Duration,
    /// Run the fleet in a steady state only: no logger killed and brought back.
    #[arg(long)]
    no_kill: bool,
    /// Meters per simulator process (default: as many as the hard open-file limit allows,
    /// 2 files each).
    #[arg(long)]
    meters_per_sim: Option<usize>,
    /// Each logger's `--link-budget` (default: its open-file limit less 256).
    #[arg(long)]
    link_budget: Option<usize>,
    /// Running time after the takeover, before the killed logger returns.
    #[arg(long, default_value = "30s", value_parser = duration)]
    after_takeover: Duration,
    /// Running time after the return.
    #[arg(long, default_value = "30s", value_parser = duration)]
    after_return: Duration,
    /// The PostgreSQL server (default: DLMS_TEST_PG); a fresh database is made on it.
    #[arg(long, env = "DLMS_TEST_PG", hide_env_values = true)]
    server: String,
    /// The dlms-logger binary (default: beside this example's folder).
    #[arg(long)]
    bin: Option<std::path::PathBuf>,
    /// Keep the queue, stores and logs here (default: a temporary folder, removed).
    #[arg(long)]
    keep: Option<std::path::PathBuf>,
}

fn duration(s: &str) -> Result<Duration, String> {
    dlms_logger::schedule::parse_duration(s).map_err(|e| e.to_string())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args = Args::parse();
    let bin = match args.bin {
        Some(b) => b,
        None => std::env::current_exe()?
            .parent()
            .and_then(|p| p.parent())
            .map(|p| p.join("dlms-logger"))
            .context("no folder for the binary")?,
    };
    if !bin.exists() {
        bail!(
            "{} not found: cargo build --bin dlms-logger first",
            bin.display()
        );
    }
    let name = format!("fleet_scaleout_{}", std::process::id());
    let (client, conn) = tokio_postgres::connect(&args.server, tokio_postgres::NoTls)
        .await
        .with_context(|| format!("PostgreSQL at {}", dlms_logger::fleet::masked(&args.server)))?;
    tokio::spawn(conn);
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await?;
    let base = args
        .server
        .rsplit_once('/')
        .map_or(args.server.as_str(), |(b, _)| b);
    let url = format!("{base}/{name}");
    let temp = tempfile::tempdir()?;
    let dir = match &args.keep {
        Some(k) => {
            std::fs::create_dir_all(k)?;
            k.clone()
        }
        None => temp.path().to_path_buf(),
    };
    let plan = scaleout::Plan {
        bin,
        dir,
        url,
        meters: args.meters,
        instances: args.instances,
        period: args.period,
        renew: args.renew,
        expiry: args.expiry,
        margin: args.margin,
        before_kill: args.before_kill,
        after_takeover: args.after_takeover,
        after_return: args.after_return,
        meters_per_sim: args.meters_per_sim.unwrap_or(0),
        kill: !args.no_kill,
        link_budget: args.link_budget,
    };
    println!(
        "{} loggers × {} meters, period {} s, leases renewed every {} s, expiring after {} s",
        plan.instances,
        plan.meters,
        plan.period.as_secs_f64(),
        plan.renew.as_secs_f64(),
        plan.expiry.as_secs_f64()
    );
    let started = std::time::Instant::now();
    let o = tokio::task::spawn_blocking(move || scaleout::run(&plan)).await?;
    print!("{o}");
    println!(
        "whole run:                     {:.0} s",
        started.elapsed().as_secs_f64()
    );
    let _ = client
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await;
    let ok = o.errors.is_empty()
        && o.overlaps == 0
        && o.lost == 0
        && o.duplicated == 0
        && o.reused == 0
        && o.refused == 0
        && (args.no_kill || o.takeover <= Duration::from_secs(30));
    println!("{}", if ok { "PASS" } else { "FAIL" });
    if !ok {
        std::process::exit(1);
    }
    Ok(())
}
