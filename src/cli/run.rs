//! `dlms-logger run`: the headless logger. Loads the queue, schedules it, logs every reading
//! and failure to SQLite or PostgreSQL until SIGINT/SIGTERM, then finishes the writes in flight.

use super::simulate::shutdown_signal;
use anyhow::{Context, Result};
use clap::Args;
use dlms_logger::metrics::{LinkNumbers, Metrics, SinkNumbers, Snapshot};
use dlms_logger::queue::Config;
use dlms_logger::runner::{control, Runner};
use dlms_logger::sim::{self, SimConfig};
use std::path::{Path, PathBuf};

/// The demo queue compiled into the binary.
pub const DEMO_CONFIG: &str = include_str!("../../assets/demo.toml");

/// Flags of `run`.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// The queue (TOML). Default: ./dlms-logger.toml if present, else the built-in demo.
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where to log: an SQLite file, or a PostgreSQL URL (postgres://USER@HOST/DB; the
    /// password from the URL or PGPASSWORD). Default: the queue's `store`, else dlms-logger.db.
    #[arg(long = "store", visible_alias = "db", value_name = "URL|FILE")]
    pub store: Option<String>,
    /// The control socket for `dlms-logger trigger` (default: the database path + `.sock`).
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    /// The invocation counter store shared by every command (default: $XDG_DATA_HOME or ~/.local/share, dlms-logger/counters.db).
    #[arg(long, value_name = "FILE", env = "DLMS_COUNTER_DB")]
    pub counter_db: Option<PathBuf>,
    /// Where readings go when the database refuses them (full disk, locked) and memory holds
    /// its bound, e.g. on another filesystem (default: the database path + `.unstored.jsonl`).
    /// They are stored from there at the next start.
    #[arg(long, value_name = "PATH")]
    pub spill: Option<PathBuf>,
    /// Serve Prometheus metrics on this address (GET /metrics), e.g. 127.0.0.1:9464.
    #[arg(long, value_name = "ADDR:PORT")]
    pub metrics: Option<std::net::SocketAddr>,
    /// Most links (sockets, serial ports) open at once. Links of persistent connections are
    /// kept open between runs while the budget has room (an eighth of it stays
    /// for links opened per run); meters beyond it are read over a link opened and closed for
    /// each run. Default: the open-file limit (raised to the hard limit at start, `ulimit -Hn`)
    /// less 256 for the store, listeners and logs.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub link_budget: Option<u32>,
    #[command(flatten)]
    pub fleet: FleetArgs,
}

/// Flags that make `run` one logger of a fleet sharing a queue's connections.
#[derive(Debug, Clone, Args, Default)]
pub struct FleetArgs {
    /// Share the queue's connections with the other loggers using this PostgreSQL database
    /// (postgres://user:password@host:port/db, or DLMS_FLEET_URL): each connection is run by
    /// one of them; our invocation counters live there too.
    #[arg(
        long = "fleet",
        value_name = "URL",
        env = "DLMS_FLEET_URL",
        hide_env_values = true
    )]
    pub database: Option<String>,
    /// This logger's name in the fleet (default: hostname-pid).
    #[arg(long, value_name = "NAME")]
    pub instance: Option<String>,
    /// How often the fleet's leases are renewed [default: 3s].
    #[arg(long, value_name = "DURATION", value_parser = fleet_duration)]
    pub fleet_renew: Option<std::time::Duration>,
    /// How long a lease lasts without renewal (a dead logger's connections are taken over
    /// within this plus one renewal) [default: 15s].
    #[arg(long, value_name = "DURATION", value_parser = fleet_duration)]
    pub fleet_expiry: Option<std::time::Duration>,
    /// A connection whose lease was not renewed stops this long before it could expire
    /// [default: 5s].
    #[arg(long, value_name = "DURATION", value_parser = fleet_duration)]
    pub fleet_margin: Option<std::time::Duration>,
}

impl FleetArgs {
    /// The fleet settings, when `--fleet` is given or the queue has a `[fleet]` section (the
    /// flags win, field by field).
    pub fn settings(
        &self,
        queue: Option<&dlms_logger::queue::FleetConfig>,
    ) -> Option<dlms_logger::fleet::FleetSettings> {
        let url = self
            .database
            .clone()
            .or_else(|| queue.map(|q| q.database.expose().to_string()))?;
        let instance = self
            .instance
            .clone()
            .or_else(|| queue.and_then(|q| q.instance.clone()));
        let mut s = dlms_logger::fleet::FleetSettings::new(url, instance);
        let pick = |flag: Option<std::time::Duration>,
                    file: Option<std::time::Duration>,
                    default| { flag.or(file).unwrap_or(default) };
        s.renew = pick(self.fleet_renew, queue.and_then(|q| q.renew), s.renew);
        s.expiry = pick(self.fleet_expiry, queue.and_then(|q| q.expiry), s.expiry);
        s.margin = pick(self.fleet_margin, queue.and_then(|q| q.margin), s.margin);
        Some(s)
    }
}

fn fleet_duration(text: &str) -> Result<std::time::Duration, String> {
    dlms_logger::schedule::parse_duration(text).map_err(|e| e.to_string())
}

/// The metrics to record into when `--metrics` is given (before the runner starts).
pub fn metrics_for(args: &RunArgs) -> Option<std::sync::Arc<Metrics>> {
    args.metrics.map(|_| Metrics::new())
}

/// Serves the metrics on `--metrics`, with the running logger's snapshot.
pub async fn serve_metrics(
    args: &RunArgs,
    metrics: Option<std::sync::Arc<Metrics>>,
    runner: dlms_logger::runner::RunnerHandle,
) -> Result<()> {
    let (Some(addr), Some(metrics)) = (args.metrics, metrics) else {
        return Ok(());
    };
    metrics.set_snapshot(move || {
        let st = runner.status();
        Snapshot {
            rows_stored: st.rows_stored,
            failures_stored: st.failures_stored,
            rows_dropped: st.rows_dropped,
            sinks: runner
                .sinks()
                .into_iter()
                .map(|s| SinkNumbers {
                    name: s.name,
                    connected: s.connected,
                    queued: s.queued,
                    dropped: s.dropped,
                    published: s.published,
                })
                .collect(),
            counter_space: runner.counter_space(),
            links: {
                let b = runner.link_budget();
                LinkNumbers {
                    budget: b.budget as u64,
                    keep_limit: b.keep_limit as u64,
                    kept: b.kept as u64,
                    per_run: b.per_run,
                }
            },
        }
    });
    let bound = dlms_logger::metrics::serve(addr, metrics).await?;
    tracing::info!("metrics on http://{bound}/metrics");
    Ok(())
}

/// A loaded queue, and the simulator serving it when it has a `simulator = true` connection.
pub struct Loaded {
    /// The queue.
    pub config: Config,
    /// Where it came from, for messages.
    pub origin: String,
    /// The in-process simulator (dropped = stopped).
    pub sim: Option<tokio::task::JoinHandle<()>>,
    /// Where the in-process simulator listens: queues loaded later (a reload, a file changed
    /// on disk) are pointed at it too.
    pub sim_addr: Option<std::net::SocketAddr>,
}

/// Loads `-c FILE`, else ./dlms-logger.toml, else the demo; a queue with a `simulator = true`
/// connection (the demo, or a demo saved from the UI) gets the simulator started in-process
/// on a free loopback port.
pub async fn load(config: Option<&Path>) -> Result<Loaded> {
    let default = Path::new("dlms-logger.toml");
    let (mut config, origin) = match config.or(default.exists().then_some(default)) {
        Some(path) => {
            // A file others can read that holds secrets is warned about by `Config::load`
            // (a log line, `<4>` without a terminal) and in the UI's status bar.
            let config = Config::load(path)?;
            (config, path.display().to_string())
        }
        None => (
            Config::parse(DEMO_CONFIG, "built-in demo config")?,
            "the built-in demo".to_string(),
        ),
    };
    if !config.uses_simulator() {
        return Ok(Loaded {
            config,
            origin,
            sim: None,
            sim_addr: None,
        });
    }
    let (addrs, handle) = sim::start(SimConfig {
        port: 0,
        ..SimConfig::default()
    })
    .await
    .context("cannot start the built-in simulated meter (simulator = true)")?;
    config.point_at_simulator(addrs[0]);
    Ok(Loaded {
        config,
        origin: format!("{origin} (simulated meter on {})", addrs[0]),
        sim: Some(handle),
        sim_addr: Some(addrs[0]),
    })
}

/// `check`: loads the queue file as `run` would (without starting anything) and says what it
/// holds; every problem is the error.
pub fn check(config: Option<&Path>) -> Result<()> {
    let path = config.unwrap_or(Path::new("dlms-logger.toml"));
    let queue = Config::load(path)?;
    let enabled = queue.requests.iter().filter(|r| r.enabled).count();
    println!(
        "{}: ok: {} connection(s), {} meter(s), {} request(s) ({enabled} enabled), {} sink(s)",
        path.display(),
        queue.connections.len(),
        queue.meters.len(),
        queue.requests.len(),
        queue.sinks.len()
    );
    Ok(())
}

/// Runs until SIGINT/SIGTERM.
pub async fn run(args: RunArgs) -> Result<()> {
    let loaded = load(args.config.as_deref()).await?;
    let at = super::store::location(args.store.as_deref(), loaded.config.store.as_deref())?;
    let (writer, handle, first_poll) = {
        let at = at.clone();
        tokio::task::spawn_blocking(move || dlms_logger::runner::open_store(&at)).await??
    };
    let socket = args
        .socket
        .clone()
        .unwrap_or_else(|| control::default_socket(&at.local_path()));
    let listener = control::bind(&socket).await?;
    let config = loaded.config.clone();
    tracing::info!(
        "logging {} request(s) on {} meter(s) from {} to {}",
        config.requests.iter().filter(|r| r.enabled).count(),
        config.meters.len(),
        loaded.origin,
        at
    );
    let metrics = metrics_for(&args);
    let fleet = args.fleet.settings(config.fleet.as_ref());
    if let Some(f) = &fleet {
        f.check()?;
    }
    // In a fleet our counters live in its database, shared by every logger of it.
    let counters = match &fleet {
        Some(f) => dlms_logger::counters::CounterStore::postgres(
            &f.database,
            &dlms_logger::fleet::masked(&f.database),
        ),
        None => super::connection::counter_store(args.counter_db.clone()),
    };
    let connections: Vec<String> = config
        .connections
        .iter()
        .filter(|c| c.enabled)
        .map(|c| c.name.clone())
        .collect();
    let options = dlms_logger::runner::RunnerOptions {
        spill: args.spill.clone(),
        counters: Some(counters),
        metrics: metrics.clone(),
        leased: fleet.is_some(),
        link_budget: args.link_budget.map(|n| n as usize),
        ..Default::default()
    };
    let runner = Runner::start_with(config, handle, first_poll, options);
    let fleet = match fleet {
        None => None,
        Some(f) => match dlms_logger::fleet::Fleet::start(f, runner.handle(), connections).await {
            Ok(f) => Some(f),
            Err(e) => {
                runner.shutdown().await;
                writer.shutdown()?;
                let _ = std::fs::remove_file(&socket);
                return Err(e).context("cannot join the fleet");
            }
        },
    };
    serve_metrics(&args, metrics, runner.handle()).await?;
    let events = runner.handle();
    let control = tokio::spawn(control::serve(listener, socket.clone(), move |name| {
        events.fire_event(name)
    }));
    shutdown_signal().await;
    tracing::info!("stopping: finishing the runs in progress");
    control.abort();
    // The fleet first: every worker stops, then its leases are freed for the others.
    if let Some(f) = fleet {
        f.shutdown(dlms_logger::runner::STOP_GRACE).await;
    }
    // Read after the shutdown: runs that finish after "stopping" are counted too.
    let handle = runner.handle();
    runner.shutdown().await;
    let status = handle.status();
    writer.shutdown()?;
    let _ = std::fs::remove_file(&socket);
    tracing::info!(
        "stopped: {} rows stored ({} failures) in {}",
        status.rows_stored,
        status.failures_stored,
        at
    );
    if status.rows_dropped > 0 {
        tracing::error!(
            "{} rows were DROPPED: the database refused them and the spill file could not take them",
            status.rows_dropped
        );
    }
    drop(loaded.sim);
    Ok(())
}
