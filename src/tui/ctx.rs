//! The context every view gets: the runner, the query service, the files, and ways to report.
//!
//! It is built by the command line (`cli/tui.rs`), which owns the runner, the writer and the
//! control socket; the UI only holds handles. Queries go to the store's query thread and come
//! back as [`AppEvent`]s, so nothing on the UI thread waits for SQLite.

use super::event::{AppEvent, Tab, TaskResult};
use crate::queue::Config;
use crate::runner::RunnerHandle;
use crate::store::ReaderHandle;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::mpsc;

/// What every view can use.
pub struct Ctx {
    /// The running logger.
    pub runner: RunnerHandle,
    /// Read-only queries of the log database, answered on their own thread.
    pub queries: ReaderHandle,
    /// The database path (status bar).
    pub db_path: PathBuf,
    /// Where the queue is saved.
    pub config_path: PathBuf,
    /// Where presets are read and written.
    pub presets_dir: PathBuf,
    /// Sends events to the loop (background results, query answers, reloads).
    pub events: mpsc::UnboundedSender<AppEvent>,
    message: Option<(String, bool, Instant)>,
}

impl Ctx {
    /// A context on a running logger and the query service of its database.
    pub fn new(
        runner: RunnerHandle,
        queries: ReaderHandle,
        config_path: PathBuf,
        events: mpsc::UnboundedSender<AppEvent>,
    ) -> Ctx {
        Ctx {
            runner,
            db_path: queries.path().to_path_buf(),
            queries,
            config_path,
            presets_dir: PathBuf::from("presets"),
            events,
            message: None,
        }
    }

    /// The queue being run.
    pub fn config(&self) -> Arc<Config> {
        self.runner.config()
    }

    /// Shows a message in the status bar.
    pub fn info(&mut self, text: impl Into<String>) {
        self.message = Some((text.into(), false, Instant::now()));
    }

    /// Shows an error in the status bar.
    pub fn error(&mut self, text: impl Into<String>) {
        self.message = Some((text.into(), true, Instant::now()));
    }

    /// The current status-bar message, if any.
    pub fn message(&self) -> Option<(&str, bool)> {
        self.message.as_ref().map(|(m, e, _)| (m.as_str(), *e))
    }

    /// The message while it is fresh: news for 6 s, an error for 20 s (then the bar shows
    /// the keys again, so a stale message never reads as the state of things).
    pub fn fresh_message(&self) -> Option<(&str, bool)> {
        let (m, e, at) = self.message.as_ref()?;
        let keep = if *e { 20 } else { 6 };
        (at.elapsed() < std::time::Duration::from_secs(keep)).then_some((m.as_str(), *e))
    }

    /// Forgets the message (the operator moved on).
    pub fn clear_message(&mut self) {
        self.message = None;
    }

    /// Asks the loop to run this queue from now on (after a save).
    pub fn reload(&self, config: Config) {
        let _ = self.events.send(AppEvent::Reload(Box::new(config)));
    }

    /// Runs `work` in the background and routes its result to `tab`.
    pub fn spawn(
        &self,
        tab: Tab,
        work: impl std::future::Future<Output = TaskResult> + Send + 'static,
    ) {
        let tx = self.events.clone();
        tokio::spawn(async move {
            let r = work.await;
            let _ = tx.send(AppEvent::Task(tab, r));
        });
    }

    /// A query answer callback that routes `wrap(answer)` to `tab` through the loop.
    pub fn answer<T>(
        &self,
        tab: Tab,
        wrap: impl FnOnce(T) -> TaskResult + Send + 'static,
    ) -> impl FnOnce(T) + Send + 'static {
        let tx = self.events.clone();
        move |answer| {
            let _ = tx.send(AppEvent::Task(tab, wrap(answer)));
        }
    }
}
