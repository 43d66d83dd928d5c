//! The full-screen terminal UI (ratatui + crossterm): Monitor, Queue, Log, Objects, Trace.
//!
//! The UI never talks to a meter or opens the database itself: the command line builds its
//! [`Ctx`] (runner handle, query service, files) and [`run`] only runs the event loop. Commands
//! go to the runner (`RunnerHandle`); reads go to the store's query thread and come back as
//! [`AppEvent`]s, so drawing renders the last answers and never runs a query. It redraws on
//! input, on background results and on a one-second tick (ages and live values), never in a
//! busy loop.
pub mod app;
pub mod columns;
pub mod ctx;
pub mod error;
pub mod event;
pub mod keymap;
pub mod views;

pub use ctx::Ctx;
pub use error::TuiError;
pub use event::{AppEvent, Tab, TaskResult};

use crate::queue::Config;
use app::App;
use ratatui::crossterm::event::{self as terminal, Event, KeyEventKind};
use std::time::Duration;
use tokio::sync::mpsc;

/// Runs the UI on `ctx` until the user quits or `shutdown` completes; `events` is the loop's
/// end of `ctx.events`, and `reload` hands a saved queue to the runner. The terminal is
/// restored before this returns.
pub async fn run(
    ctx: Ctx,
    mut events: mpsc::UnboundedReceiver<AppEvent>,
    mut reload: impl FnMut(Config),
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let input = ctx.events.clone();
    let ticker = ctx.events.clone();
    let mut app = App::new(ctx);
    std::thread::spawn(move || loop {
        let ev = match terminal::read() {
            Ok(Event::Key(k)) if k.kind == KeyEventKind::Press => AppEvent::Key(k),
            Ok(Event::Resize(..)) => AppEvent::Resize,
            Ok(_) => continue,
            Err(_) => break,
        };
        if input.send(ev).is_err() {
            break;
        }
    });
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
            break Err(e);
        }
        let ev = tokio::select! {
            ev = events.recv() => ev,
            _ = &mut shutdown => None,
        };
        match ev {
            None => break Ok(()),
            Some(AppEvent::Key(k)) => app.handle_key(k),
            Some(AppEvent::Resize) => {}
            Some(AppEvent::Tick) => app.refresh(),
            Some(AppEvent::Reload(config)) => {
                reload(*config);
                let saved = format!(
                    "saved to {}; the scheduler now runs the new queue",
                    app.ctx.config_path.display()
                );
                app.ctx.info(saved);
                app.refresh();
            }
            Some(AppEvent::Task(tab, r)) => app.on_task(tab, r),
            Some(AppEvent::Counts(r)) => app.on_counts(r),
        }
        if app.quit {
            break Ok(());
        }
    };
    ratatui::restore();
    tick.abort();
    result
}
