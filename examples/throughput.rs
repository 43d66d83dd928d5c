//! End-to-end throughput: one association, N sequential GETs of 1.0.1.8.0.255:2, then the load
//! profile 1.0.99.1.0.255, against the built-in simulator (in-process, loopback) or another meter.
//!
//! ```sh
//! cargo run --release --example throughput -- [--interface wrapper|hdlc] [--count N]
//!     [--profile-entries N] [--host H --port P] [--runtime current|multi]
//! ```
//!
//! Prints `GET: <rate> reads/s` and `profile: <rows> entries in <ms> ms`. The built-in simulator
//! is given a load profile of `--profile-entries` entries (10,000 by default) and the whole
//! buffer is read; against another meter, `--profile-entries` limits the read to the newest.
use anyhow::{bail, Context, Result};
use clap::{Parser, ValueEnum};
use dlms_logger::dlms::client::{AttributeRef, ClientSettings, Referencing};
use dlms_logger::dlms::obis::Obis;
use dlms_logger::engine::profile::{self, Selection};
use dlms_logger::engine::{Interface, MeterAddress, Session};
use dlms_logger::sim::{self, SimConfig};
use dlms_logger::transport::tcp;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Iface {
    Wrapper,
    Hdlc,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Runtime {
    /// One thread: client and in-process simulator share it.
    Current,
    /// Tokio's multi-threaded runtime.
    Multi,
}

/// GET and load-profile throughput of one association.
#[derive(Debug, Parser)]
struct Args {
    /// Link framing.
    #[arg(long, value_enum, default_value = "wrapper")]
    interface: Iface,
    /// Number of sequential GETs of 1.0.1.8.0.255:2.
    #[arg(long, default_value_t = 10_000)]
    count: u32,
    /// Profile entries: the built-in simulator's profile depth, or the newest entries to read
    /// from another meter (whole buffer when not given).
    #[arg(long)]
    profile_entries: Option<u32>,
    /// Meter to measure instead of the built-in simulator (needs --port).
    #[arg(long, requires = "port")]
    host: Option<String>,
    /// TCP port of that meter (host defaults to 127.0.0.1).
    #[arg(long)]
    port: Option<u16>,
    /// Tokio runtime flavour. One association is strictly sequential, so one thread is the
    /// default: with the multi-threaded runtime every answer wakes a parked thread, which on an
    /// idle VM costs tens of microseconds per GET.
    #[arg(long, value_enum, default_value = "current")]
    runtime: Runtime,
}

fn main() -> Result<()> {
    let args = Args::parse();
    let rt = match args.runtime {
        Runtime::Current => tokio::runtime::Builder::new_current_thread(),
        Runtime::Multi => tokio::runtime::Builder::new_multi_thread(),
    }
    .enable_all()
    .build()?;
    rt.block_on(run(args))
}

async fn run(args: Args) -> Result<()> {
    let interface = match args.interface {
        Iface::Wrapper => Interface::Wrapper,
        Iface::Hdlc => Interface::Hdlc,
    };
    let (host, port, sim_task) = match args.port {
        Some(p) => (args.host.unwrap_or_else(|| "127.0.0.1".into()), p, None),
        None => {
            let entries = args.profile_entries.unwrap_or(10_000);
            let (addrs, task) = sim::start(SimConfig {
                port: 0,
                interface,
                profile_entries: entries,
                ..SimConfig::default()
            })
            .await
            .context("cannot start the simulator")?;
            println!(
                "meter: built-in simulator on {} ({entries} profile entries)",
                addrs[0],
            );
            (addrs[0].ip().to_string(), addrs[0].port(), Some(task))
        }
    };
    if sim_task.is_none() {
        println!("meter: {host}:{port}");
    }
    let timeout = Duration::from_secs(10);
    let stream = tcp::connect(&host, port, timeout).await?;
    let addr = MeterAddress {
        interface,
        ..MeterAddress::default()
    };
    let mut s = Session::open(
        stream,
        &addr,
        ClientSettings::new(Referencing::Ln),
        timeout,
        None,
    )
    .await
    .context("association failed")?;

    let energy = [AttributeRef::new(3, Obis::new(1, 0, 1, 8, 0, 255), 2)];
    // One warm-up read (also checks that the attribute is readable).
    if let Some(Err(e)) = s.read(&energy).await?.into_iter().next() {
        bail!("cannot read 1.0.1.8.0.255:2: {e}");
    }
    let t = Instant::now();
    for _ in 0..args.count {
        let r = s.read(&energy).await?;
        if let Some(Err(e)) = r.into_iter().next() {
            bail!("cannot read 1.0.1.8.0.255:2: {e}");
        }
    }
    let dt = t.elapsed();
    println!(
        "GET: {:.0} reads/s ({} reads in {:.3} s, {:.1} µs/read, {:?})",
        f64::from(args.count) / dt.as_secs_f64(),
        args.count,
        dt.as_secs_f64(),
        dt.as_secs_f64() * 1e6 / f64::from(args.count.max(1)),
        interface,
    );

    let selection = match (&sim_task, args.profile_entries) {
        (None, Some(n)) => Selection::Last(n),
        _ => Selection::Last(u32::MAX),
    };
    let t = Instant::now();
    let p = profile::read(&mut s, Obis::new(1, 0, 99, 1, 0, 255), &selection)
        .await
        .map_err(|e| match e {
            profile::ProfileError::Engine(e) => anyhow::Error::from(e),
            profile::ProfileError::Item(m) => anyhow::anyhow!("cannot read the profile: {m}"),
        })?;
    let dt = t.elapsed();
    println!(
        "profile: {} entries in {:.1} ms (method {})",
        p.rows.len(),
        dt.as_secs_f64() * 1e3,
        p.method
    );
    let _ = s.close().await;
    if let Some(task) = sim_task {
        task.abort();
    }
    Ok(())
}
