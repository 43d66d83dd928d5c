//! Test helpers for the views: a context on a real runner, a temporary database and its query
//! service, keys, screens. Keys, refreshes and screens wait for the query answers they cause
//! and hand them to the view, as the loop would.

use crate::queue::Config;
use crate::runner::Runner;
use crate::store::{spawn_reader, Record, Writer, STATUS_OK};
use crate::tui::app::{AppEvent, Ctx, Tab, TaskResult, View};
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use std::collections::VecDeque;
use std::time::Duration;
use tokio::sync::mpsc::UnboundedReceiver;

/// A context on a running queue, with the loop's event channel and the files behind it.
pub struct Harness {
    /// What the view under test gets.
    pub ctx: Ctx,
    /// The loop's side of `ctx.events`.
    pub rx: UnboundedReceiver<AppEvent>,
    /// Holds the database, the saved queue and the presets.
    pub dir: tempfile::TempDir,
    /// Events seen while waiting for query answers, for [`Harness::task`].
    held: VecDeque<AppEvent>,
    _writer: Writer,
    _runner: Runner,
}

/// A queue of one connection to `127.0.0.1:port` and `meters`, no requests.
pub fn config(port: u16, meters: &[&str]) -> Config {
    let mut text = format!(
        "[[connection]]\nname = \"lab\"\ntcp = {{ host = \"127.0.0.1\", port = {port} }}\n"
    );
    for m in meters {
        text.push_str(&format!(
            "[[meter]]\nname = \"{m}\"\nconnection = \"lab\"\n"
        ));
    }
    Config::parse(&text, "test.toml").unwrap_or_else(|e| panic!("{e}"))
}

/// Starts `config` on a fresh database holding `rows`; must run inside a tokio runtime.
pub fn harness(config: Config, rows: &[Record]) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("log.db");
    let (writer, handle) = Writer::spawn(&db).unwrap();
    if !rows.is_empty() {
        handle.write(rows.to_vec()).unwrap();
    }
    let runner = Runner::start(config, handle, 1);
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let mut ctx = Ctx::new(
        runner.handle(),
        spawn_reader(&db).unwrap(),
        dir.path().join("queue.toml"),
        tx,
    );
    ctx.presets_dir = dir.path().join("presets");
    Harness {
        ctx,
        rx,
        dir,
        held: VecDeque::new(),
        _writer: writer,
        _runner: runner,
    }
}

impl Harness {
    /// Waits (at most 5 s) for the next background result, skipping other events.
    pub async fn task(&mut self) -> (Tab, TaskResult) {
        while let Some(event) = self.held.pop_front() {
            if let AppEvent::Task(tab, result) = event {
                return (tab, result);
            }
        }
        let wait = async {
            loop {
                match self.rx.recv().await {
                    Some(AppEvent::Task(tab, result)) => return (tab, result),
                    Some(_) => {}
                    None => panic!("the event channel closed"),
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(5), wait)
            .await
            .expect("no background result within 5 s")
    }

    /// Hands `view` the answers of every query asked so far (and of the queries those
    /// answers ask), as the loop would; other events are kept for [`Harness::task`].
    pub fn settle(&mut self, view: &mut dyn View) {
        loop {
            let (tx, rx) = std::sync::mpsc::channel();
            self.ctx.queries.sync(move || {
                let _ = tx.send(());
            });
            rx.recv_timeout(Duration::from_secs(5))
                .expect("the query service answers within 5 s");
            let mut answered = false;
            while let Ok(event) = self.rx.try_recv() {
                match event {
                    AppEvent::Task(_, r @ TaskResult::LogPage { .. })
                    | AppEvent::Task(_, r @ TaskResult::Latest(_))
                    | AppEvent::Task(_, r @ TaskResult::History { .. })
                    | AppEvent::Task(_, r @ TaskResult::Writes(_))
                    | AppEvent::Task(_, r @ TaskResult::LogFailure { .. }) => {
                        view.on_task(r, &mut self.ctx);
                        answered = true;
                    }
                    AppEvent::Counts(_) => {}
                    other => self.held.push_back(other),
                }
            }
            if !answered {
                return;
            }
        }
    }

    /// Every event not handed to a view so far (held or waiting), oldest first.
    pub fn events(&mut self) -> Vec<AppEvent> {
        let mut all: Vec<AppEvent> = self.held.drain(..).collect();
        all.extend(std::iter::from_fn(|| self.rx.try_recv().ok()));
        all
    }

    /// Refreshes `view` as a tick does, with the answers.
    pub fn refresh(&mut self, view: &mut dyn View) {
        view.refresh(&mut self.ctx);
        self.settle(view);
    }

    /// Presses each key in turn.
    pub fn keys(&mut self, view: &mut dyn View, keys: &[KeyEvent]) {
        for k in keys {
            view.handle_key(*k, &mut self.ctx);
            self.settle(view);
        }
    }

    /// Types `text` one character at a time.
    pub fn type_text(&mut self, view: &mut dyn View, text: &str) {
        for c in text.chars() {
            view.handle_key(key(KeyCode::Char(c)), &mut self.ctx);
        }
        self.settle(view);
    }

    /// Draws `view` on a `width`×`height` screen once the answers its draw asked for (a new
    /// page size) are in; returns its lines.
    pub fn screen(&mut self, view: &mut dyn View, width: u16, height: u16) -> Vec<String> {
        self.draw(view, width, height);
        self.settle(view);
        self.draw(view, width, height)
    }

    /// Draws `view` once, with what it has.
    pub fn draw(&self, view: &mut dyn View, width: u16, height: u16) -> Vec<String> {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        terminal
            .draw(|f| view.render(f, f.area(), &self.ctx))
            .unwrap();
        let buffer = terminal.backend().buffer();
        (0..height)
            .map(|y| {
                (0..width)
                    .map(|x| buffer[(x, y)].symbol())
                    .collect::<String>()
            })
            .collect()
    }
}

/// A key press without modifiers.
pub fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

/// A successful reading of `meter`'s `item` at `ts_ms`.
pub fn reading(meter: &str, item: &str, ts_ms: i64, value: f64) -> Record {
    Record {
        ts_ms,
        request: "billing".into(),
        meter: meter.into(),
        item: item.into(),
        obis: format!("1.0.{}.8.0.255", item.len()),
        class: 3,
        attribute: 2,
        value: Some(value),
        text: None,
        unit: Some("kWh".into()),
        status: STATUS_OK.into(),
        poll: 1,
        profile: false,
        exact: None,
        meter_time: None,
    }
}

/// Every key a view might get, for "nothing panics" tests.
pub fn every_key() -> Vec<KeyEvent> {
    let mut codes = vec![
        KeyCode::Up,
        KeyCode::Down,
        KeyCode::Left,
        KeyCode::Right,
        KeyCode::PageUp,
        KeyCode::PageDown,
        KeyCode::Home,
        KeyCode::End,
        KeyCode::Enter,
        KeyCode::Tab,
        KeyCode::BackTab,
        KeyCode::Backspace,
        KeyCode::Delete,
    ];
    codes.extend((' '..='~').map(KeyCode::Char));
    codes.push(KeyCode::Esc);
    codes.into_iter().map(key).collect()
}
