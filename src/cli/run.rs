//! `dlms-logger run`: the headless logger. Loads the queue, schedules it, logs every reading
//! and failure to SQLite or PostgreSQL until SIGINT/SIGTERM, then finishes the writes in flight.

use super::simulate::shutdown_signal;
use anyhow::{Context, Result};
use clap::Args;
use dlms_logger::metrics::{Metrics, SinkNumbers, Snapshot};
use dlms_logger::queue::{Config, Link};
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
        }
    });
    let bound = dlms_logger::metrics::serve(addr, metrics).await?;
    tracing::info!("metrics on http://{bound}/metrics");
    Ok(())
}

/// A loaded queue, and the simulator serving it when it is the demo.
pub struct Loaded {
    /// The queue.
    pub config: Config,
    /// Where it came from, for messages.
    pub origin: String,
    /// The in-process simulator of the demo (dropped = stopped).
    pub sim: Option<tokio::task::JoinHandle<()>>,
}

/// Loads `-c FILE`, else ./dlms-logger.toml, else the demo with an in-process simulator.
pub async fn load(config: Option<&Path>) -> Result<Loaded> {
    let default = Path::new("dlms-logger.toml");
    if let Some(path) = config.or(default.exists().then_some(default)) {
        let config = Config::load(path)?;
        if let Some(warning) = dlms_logger::queue::secrets_exposed(path) {
            eprintln!("warning: {warning}");
        }
        return Ok(Loaded {
            config,
            origin: path.display().to_string(),
            sim: None,
        });
    }
    let mut config = Config::parse(DEMO_CONFIG, "built-in demo config")?;
    let (addrs, handle) = sim::start(SimConfig {
        port: 0,
        ..SimConfig::default()
    })
    .await
    .context("cannot start the demo's simulated meter")?;
    for c in &mut config.connections {
        if let Link::Tcp { port, .. } = &mut c.link {
            *port = addrs[0].port();
        }
    }
    Ok(Loaded {
        config,
        origin: format!("the built-in demo (simulated meter on {})", addrs[0]),
        sim: Some(handle),
    })
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
    let options = dlms_logger::runner::RunnerOptions {
        spill: args.spill.clone(),
        counters: Some(super::connection::counter_store(args.counter_db.clone())),
        metrics: metrics.clone(),
        ..Default::default()
    };
    let runner = Runner::start_with(config, handle, first_poll, options);
    serve_metrics(&args, metrics, runner.handle()).await?;
    let events = runner.handle();
    let control = tokio::spawn(control::serve(listener, socket.clone(), move |name| {
        events.fire_event(name)
    }));
    shutdown_signal().await;
    tracing::info!("stopping: finishing the runs in progress");
    control.abort();
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
