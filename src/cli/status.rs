//! `dlms-logger status`: the store (SQLite file or PostgreSQL, with the URL's password masked)
//! and whether it answers, the sinks of the logger logging to it, as the running logger last
//! reported them (its outbox file, `<db>.outbox`, updated every second), and whether that
//! logger is running (its control socket answers). With `--fleet URL`: the loggers of the
//! fleet and which one holds which connection (with its lease's expiry).

use anyhow::{Context, Result};
use clap::Args;
use dlms_logger::sink::SinkState;
use dlms_logger::store::outbox::{outbox_path, sink_states};
use dlms_logger::store::{Database, StoreLocation};
use std::path::PathBuf;

/// A report older than this means its logger is not running (or its sink thread is stuck).
const STALE_MS: i64 = 10_000;

/// Flags of `status`.
#[derive(Debug, Clone, Args)]
pub struct StatusArgs {
    /// The logger's store: an SQLite file or a PostgreSQL URL. Default: the `store` of the
    /// queue (-c FILE or ./dlms-logger.toml), else dlms-logger.db.
    #[arg(long = "store", visible_alias = "db", value_name = "URL|FILE")]
    pub store: Option<String>,
    /// The queue whose `store` names the log (default ./dlms-logger.toml when present).
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
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
    let configured = match &args.store {
        Some(_) => None,
        None => super::store::store_in_config(args.config.as_deref())?,
    };
    let at = super::store::location(args.store.as_deref(), configured.as_deref())?;
    let local = at.local_path();
    let socket = args
        .socket
        .clone()
        .unwrap_or_else(|| dlms_logger::runner::control::default_socket(&local));
    let running = tokio::net::UnixStream::connect(&socket).await.is_ok();
    let store = {
        let at = at.clone();
        tokio::task::spawn_blocking(move || store_state(&at)).await?
    };
    let path = outbox_path(&local);
    let now = chrono::Utc::now().timestamp_millis();
    let states = sink_states(&path).with_context(|| "reading the sinks' states".to_string())?;
    let mut sinks = Vec::new();
    for (name, json, updated) in states {
        let state: SinkState = serde_json::from_str(&json)
            .with_context(|| format!("the state of sink {name:?} in {}", path.display()))?;
        sinks.push((state, now - updated));
    }
    let healthy = store.reachable
        && sinks
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
        let mut out = serde_json::json!({
            "db": at.to_string(),
            "store": {
                "kind": at.kind(),
                "location": at.to_string(),
                "state": store.state,
                "rows": store.rows,
                "failures": store.failures,
                "error": store.error,
            },
            "running": running,
            "sinks": list,
        });
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
        "logger on {at}: {}",
        if running {
            "running"
        } else {
            "not running (its control socket does not answer)"
        }
    );
    match (&store.error, store.rows) {
        (None, Some(rows)) => println!(
            "store {} {at}: {}, {rows} rows ({} failures)",
            at.kind(),
            store.state,
            store.failures.unwrap_or(0)
        ),
        (Some(e), _) => println!(
            "store {} {at}: {}: {}",
            at.kind(),
            store.state,
            dlms_logger::text::escape(e)
        ),
        (None, None) => println!("store {} {at}: {}", at.kind(), store.state),
    }
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

/// What `status` says about the store.
struct StoreState {
    /// `connected`, `unreachable`, `missing` (no SQLite file yet) or `unreadable`.
    state: &'static str,
    /// False when a PostgreSQL server does not answer.
    reachable: bool,
    rows: Option<u64>,
    failures: Option<u64>,
    /// Why it could not be read (the URL masked).
    error: Option<String>,
}

/// Opens the store read-only and counts its rows.
fn store_state(at: &StoreLocation) -> StoreState {
    if let StoreLocation::Sqlite(path) = at {
        if !path.exists() {
            return StoreState {
                state: "missing",
                reachable: true,
                rows: None,
                failures: None,
                error: None,
            };
        }
    }
    match Database::open_read_only(at).and_then(|db| db.counts()) {
        Ok((rows, failures)) => StoreState {
            state: "connected",
            reachable: true,
            rows: Some(rows),
            failures: Some(failures),
            error: None,
        },
        Err(e) => {
            let unreachable = matches!(e, dlms_logger::store::StoreError::Unreachable { .. });
            StoreState {
                state: if unreachable {
                    "unreachable"
                } else {
                    "unreadable"
                },
                reachable: !unreachable,
                rows: None,
                failures: None,
                error: Some(e.to_string()),
            }
        }
    }
}
