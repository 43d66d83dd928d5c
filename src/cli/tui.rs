//! The full-screen UI's wiring: the command line opens the store, binds the control socket,
//! starts the runner and the query service, builds the UI's context and hands it to
//! `tui::run`, which only runs the event loop. Shutdown: the terminal is restored first, then
//! the runs in progress finish, the writer flushes and the socket is removed.

use super::connection::counter_store;
use super::run::{load, metrics_for, run, serve_metrics, RunArgs};
use super::simulate::shutdown_signal;
use anyhow::{Context, Result};
use dlms_logger::runner::{control, open_store, Runner, RunnerOptions};
use dlms_logger::tui::{self, Ctx};
use std::path::PathBuf;

/// Whether the UI can run: stdin and stdout are a terminal.
pub fn has_terminal() -> bool {
    use std::io::IsTerminal;
    std::io::stdout().is_terminal() && std::io::stdin().is_terminal()
}

/// Runs the full-screen UI; without a terminal (piped, cron, systemd) it runs headless instead.
pub async fn tui(args: RunArgs) -> Result<()> {
    if !has_terminal() {
        tracing::info!("no terminal: running headless (as `dlms-logger run`)");
        return run(args).await;
    }
    if args.fleet.database.is_some() {
        anyhow::bail!("the full-screen UI does not join a fleet: run the fleet's loggers with `dlms-logger run --fleet URL`");
    }
    let loaded = load(args.config.as_deref()).await?;
    if loaded.config.fleet.is_some() {
        anyhow::bail!("{} is shared by a fleet of loggers ([fleet]): the full-screen UI would run its connections beside them; run it with `dlms-logger run`", loaded.origin);
    }
    let config_path = args
        .config
        .clone()
        .unwrap_or_else(|| PathBuf::from("dlms-logger.toml"));
    let at = super::store::location(args.store.as_deref(), loaded.config.store.as_deref())?;
    let socket = args
        .socket
        .clone()
        .unwrap_or_else(|| control::default_socket(&at.local_path()));
    let warning = dlms_logger::queue::secrets_exposed(&config_path);

    let (writer, handle, first_poll) = {
        let at = at.clone();
        tokio::task::spawn_blocking(move || open_store(&at)).await??
    };
    let listener = control::bind(&socket).await?;
    let metrics = metrics_for(&args);
    let options = RunnerOptions {
        spill: args.spill.clone(),
        counters: Some(counter_store(args.counter_db.clone())),
        metrics: metrics.clone(),
        link_budget: args.link_budget.map(|n| n as usize),
        ..Default::default()
    };
    let mut runner = Runner::start_with(loaded.config, handle, first_poll, options);
    serve_metrics(&args, metrics, runner.handle()).await?;
    let events = runner.handle();
    let control = tokio::spawn(control::serve(listener, socket.clone(), move |n| {
        events.fire_event(n)
    }));
    let queries = dlms_logger::store::spawn_reader_at(&at)
        .with_context(|| format!("starting the query service of {at}"))?;
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let mut ctx = Ctx::new(runner.handle(), queries, config_path, tx);
    if let Some(w) = warning {
        ctx.error(w);
    }

    // A queue saved with the built-in simulator comes back without its address of this run.
    let sim_addr = loaded.sim_addr;
    let reload = |mut config: dlms_logger::queue::Config| {
        if let Some(addr) = sim_addr {
            config.point_at_simulator(addr);
        }
        runner.reload(config)
    };
    let result = tui::run(ctx, rx, reload, shutdown_signal()).await;
    control.abort();
    eprintln!("dlms-logger: finishing the runs in progress…");
    runner.shutdown().await;
    writer.shutdown()?;
    let _ = std::fs::remove_file(&socket);
    drop(loaded.sim);
    result.context("the terminal UI failed")
}
