//! `dlms-logger status`: the sinks of the logger logging to a database, as the running logger
//! last reported them (its outbox file, `<db>.outbox`, updated every second), and whether that
//! logger is running (its control socket answers). With `--fleet URL`: the loggers of the
//! fleet and which one holds which connection (with its lease's expiry).

use anyhow::{Context, Result};
use clap::Args;
use dlms_logger::sink::SinkState;
use dlms_logger::store::outbox::{outbox_path, sink_states};
use std::path::PathBuf;

/// A report older than this means its logger is not running (or its sink thread is stuck).
const STALE_MS: i64 = 10_000;

/// Flags of `status`.
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// The logger's database.
    #[arg(long, value_name = "FILE", default_value = "dlms-logger.db")]
    pub db: PathBuf,
    /// The logger's control socket (default: the database path + `.sock`).
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// One JSON object: `running` and `sinks` (each with `age_ms`, how old its report is),
    /// and `fleet` with `--fleet`.
    #[arg(long)]
    pub json: bool,
    /// Also show the fleet on this PostgreSQL database (or DLMS_FLEET_URL): its loggers and
    /// which one holds which connection.
    #[arg(
        long = "fleet",
        value_name = "URL",
        env = "DLMS_FLEET_URL",
        hide_env_values = true
    )]
    pub fleet: Option<String>,
}

/// Prints the state; false when a sink is disconnected or has dropped messages.
pub async fn run(args: &StatusArgs) -> Result<bool> {
    let socket = args
        .socket
        .clone()
        .unwrap_or_else(|| dlms_logger::runner::control::default_socket(&args.db));
    let running = tokio::net::UnixStream::connect(&socket).await.is_ok();
    let path = outbox_path(&args.db);
    let now = chrono::Utc::now().timestamp_millis();
    let states = sink_states(&path).with_context(|| "reading the sinks' states".to_string())?;
    let mut sinks = Vec::new();
    for (name, json, updated) in states {
        let state: SinkState = serde_json::from_str(&json)
            .with_context(|| format!("the state of sink {name:?} in {}", path.display()))?;
        sinks.push((state, now - updated));
    }
    let healthy = sinks
        .iter()
        .all(|(s, age)| !running || (s.connected && s.dropped == 0 && *age < STALE_MS));
    let fleet = match &args.fleet {
        Some(url) => Some(dlms_logger::fleet::report(url).await?),
        None => None,
    };
    if args.json {
        let list: Vec<serde_json::Value> = sinks
            .iter()
            .map(|(s, age)| {
                let mut v = serde_json::to_value(s).unwrap_or_default();
                v["age_ms"] = (*age).into();
                v
            })
            .collect();
        let mut out = serde_json::json!({ "db": args.db, "running": running, "sinks": list });
        if let Some(f) = &fleet {
            out["fleet"] = serde_json::to_value(f)?;
        }
        println!("{out}");
        return Ok(healthy);
    }
    if let Some(f) = &fleet {
        print_fleet(f);
    }
    println!(
        "logger on {}: {}",
        args.db.display(),
        if running {
            "running"
        } else {
            "not running (its control socket does not answer)"
        }
    );
    if sinks.is_empty() {
        println!("no sinks have reported (none configured, or the logger never ran with them)");
    }
    for (s, age) in &sinks {
        let name = dlms_logger::text::escape(&s.name);
        let stale = if *age >= STALE_MS {
            format!(
                " (reported {} ago)",
                dlms_logger::text::duration(std::time::Duration::from_millis(*age as u64))
            )
        } else {
            String::new()
        };
        println!(
            "sink {name} ({} {}): {}, {} queued, {} dropped, {} published{stale}",
            s.kind,
            dlms_logger::text::escape(&s.target),
            if s.connected {
                "connected"
            } else {
                "disconnected"
            },
            s.queued,
            s.dropped,
            s.published,
        );
        if let Some(e) = &s.last_error {
            println!("  last error: {}", dlms_logger::text::escape(e));
        }
    }
    Ok(healthy)
}

/// The fleet's loggers and leases, one line each.
fn print_fleet(f: &dlms_logger::fleet::FleetReport) {
    use dlms_logger::text::{duration, escape};
    let ms = |v: i64| duration(std::time::Duration::from_millis(v.unsigned_abs()));
    let alive = f.instances.iter().filter(|i| i.alive).count();
    println!(
        "fleet on {}: {alive} logger(s) alive, {} connection(s) leased",
        f.database,
        f.leases.iter().filter(|l| l.expires_in_ms > 0).count()
    );
    for i in &f.instances {
        println!(
            "  logger {} ({} pid {}): {}, holds {} connection(s), last heartbeat {} ago",
            escape(&i.name),
            escape(&i.host),
            i.pid,
            if i.alive { "alive" } else { "gone" },
            i.holds,
            ms(i.seen_ms_ago)
        );
    }
    for l in &f.leases {
        let state = if l.expires_in_ms > 0 {
            format!("lease expires in {}", ms(l.expires_in_ms))
        } else {
            format!("lease expired {} ago (free)", ms(l.expires_in_ms))
        };
        println!(
            "  connection {}: {} (epoch {}), {state}",
            escape(&l.connection),
            escape(&l.holder),
            l.epoch
        );
    }
}
