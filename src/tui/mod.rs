//! The full-screen terminal UI (ratatui + crossterm): Monitor, Queue, Log, Objects, Trace.
//!
//! The UI never talks to a meter or writes SQLite itself: it sends commands to the runner
//! (`RunnerHandle`) and reads through `store` queries. It redraws on input, on background
//! results and on a one-second tick (ages and live values), never in a busy loop.
pub mod app;
pub mod views;

use crate::queue::Config;
use crate::runner::{control, Runner};
use app::{App, AppEvent, Ctx};
use ratatui::crossterm::event::{self, Event, KeyEventKind};
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::mpsc;

/// What the UI runs.
pub struct TuiOptions {
    /// The queue.
    pub config: Config,
    /// Where the Queue view saves it.
    pub config_path: PathBuf,
    /// The log database.
    pub db: PathBuf,
    /// The control socket for `dlms-logger trigger`.
    pub socket: PathBuf,
    /// A warning to show at start (e.g. a config with secrets that others can read).
    pub warning: Option<String>,
    /// The invocation counter store.
    pub counters: std::sync::Arc<crate::counters::CounterStore>,
    /// Where rows the store refuses go beyond the in-memory bound (default beside the database).
    pub spill: Option<PathBuf>,
}

/// Runs the logger with the UI until the user quits (or SIGINT/SIGTERM).
pub async fn run(
    opts: TuiOptions,
    shutdown: impl std::future::Future<Output = ()>,
) -> anyhow::Result<()> {
    let (writer, handle, first_poll) = crate::runner::open_store(&opts.db)?;
    let listener = control::bind(&opts.socket).await?;
    let options = crate::runner::RunnerOptions {
        spill: opts.spill.clone(),
        counters: Some(opts.counters.clone()),
        ..Default::default()
    };
    let mut runner = Runner::start_with(opts.config, handle, first_poll, options);
    let events = runner.handle();
    let control = tokio::spawn(control::serve(listener, opts.socket.clone(), move |n| {
        events.fire_event(n)
    }));
    let (tx, mut rx) = mpsc::unbounded_channel();
    let store = crate::store::Store::open(&opts.db).ok();
    let ctx = Ctx::new(
        runner.handle(),
        store,
        opts.db.clone(),
        opts.config_path,
        tx.clone(),
    );
    let mut app = App::new(ctx);
    if let Some(w) = &opts.warning {
        app.ctx.error(w.clone());
    }

    let input = tx.clone();
    std::thread::spawn(move || loop {
        let ev = match event::read() {
            Ok(Event::Key(k)) if k.kind == KeyEventKind::Press => AppEvent::Key(k),
            Ok(Event::Resize(..)) => AppEvent::Resize,
            Ok(_) => continue,
            Err(_) => break,
        };
        if input.send(ev).is_err() {
            break;
        }
    });
    let ticker = tx.clone();
    let tick = tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(1));
        loop {
            every.tick().await;
            if ticker.send(AppEvent::Tick).is_err() {
                break;
            }
        }
    });

    let mut terminal = ratatui::init();
    tokio::pin!(shutdown);
    let result = loop {
        if let Err(e) = terminal.draw(|f| app.render(f)) {
            break Err(e.into());
        }
        let ev = tokio::select! {
            ev = rx.recv() => ev,
            _ = &mut shutdown => None,
        };
        match ev {
            None => break Ok(()),
            Some(AppEvent::Key(k)) => app.handle_key(k),
            Some(AppEvent::Resize) => {}
            Some(AppEvent::Tick) => app.refresh(),
            Some(AppEvent::Reload(config)) => {
                runner.reload(*config);
                let saved = format!(
                    "saved to {}; the scheduler now runs the new queue",
                    app.ctx.config_path.display()
                );
                app.ctx.info(saved);
                app.refresh();
            }
            Some(AppEvent::Task(tab, r)) => app.on_task(tab, r),
        }
        if app.quit {
            break Ok(());
        }
    };
    ratatui::restore();
    tick.abort();
    control.abort();
    eprintln!("dlms-logger: finishing the runs in progress…");
    runner.shutdown().await;
    writer.shutdown()?;
    let _ = std::fs::remove_file(&opts.socket);
    result
}
