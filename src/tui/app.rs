//! The application state shared by every view, the `View` trait, and global key handling.
//!
//! ```text
//! ┌ dlms-logger ─ 1 Monitor │ 2 Queue │ 3 Log │ 4 Objects │ 5 Trace ──────────────┐  tabs
//! │                                                                                │
//! │                          the selected view                                    │
//! │                                                                                │
//! └ running 5 requests · dlms-logger.db · 1234 rows · 3 errors · message ──────────┘  status
//! ```

use crate::queue::{Config, Preset};
use crate::runner::RunnerHandle;
use crate::store::Store;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Row, Table, Tabs};
use ratatui::Frame;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::mpsc;

/// The five views, reached with 1–5.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    /// Live values and meter health.
    Monitor,
    /// The request queue editor.
    Queue,
    /// The logged rows.
    Log,
    /// A meter's object list and presets.
    Objects,
    /// Frames exchanged.
    Trace,
}

impl Tab {
    /// Every tab in order.
    pub const ALL: [Tab; 5] = [Tab::Monitor, Tab::Queue, Tab::Log, Tab::Objects, Tab::Trace];

    /// The tab's title.
    pub fn title(self) -> &'static str {
        match self {
            Tab::Monitor => "Monitor",
            Tab::Queue => "Queue",
            Tab::Log => "Log",
            Tab::Objects => "Objects",
            Tab::Trace => "Trace",
        }
    }

    fn index(self) -> usize {
        Tab::ALL.iter().position(|t| *t == self).unwrap_or(0)
    }
}

/// Results of background work, routed back to the view that started it.
#[derive(Debug)]
pub enum TaskResult {
    /// A `t` test of a queue node finished.
    Test {
        /// What was tested ("connection lab", "meter m1", "request instant").
        node: String,
        /// A one-line outcome.
        result: Result<String, String>,
    },
    /// Bytes of the object list received so far.
    ObjectsProgress(usize),
    /// The object list was read.
    Objects(Result<Preset, String>),
    /// A CSV export finished.
    Export(Result<String, String>),
    /// A probe of a connection found a meter (to add to the queue), or why not.
    Probe(Result<Box<(crate::queue::Meter, String)>, String>),
}

/// Events the loop handles.
#[derive(Debug)]
pub enum AppEvent {
    /// A key press.
    Key(KeyEvent),
    /// The terminal was resized.
    Resize,
    /// Time to refresh data from the runner and the store.
    Tick,
    /// A saved queue to run from now on.
    Reload(Box<Config>),
    /// Background work finished.
    Task(Tab, TaskResult),
}

/// What every view can use: the runner, the store, and ways to report.
pub struct Ctx {
    /// The running logger.
    pub runner: RunnerHandle,
    /// A query connection to the log database.
    pub store: Option<Store>,
    /// The database path (status bar).
    pub db_path: PathBuf,
    /// Where the queue is saved.
    pub config_path: PathBuf,
    /// Where presets are read and written.
    pub presets_dir: PathBuf,
    /// Sends events to the loop (background results, reloads).
    pub events: mpsc::UnboundedSender<AppEvent>,
    message: Option<(String, bool, Instant)>,
}

impl Ctx {
    /// A context; `store` may be `None` when the database cannot be opened for queries.
    pub fn new(
        runner: RunnerHandle,
        store: Option<Store>,
        db_path: PathBuf,
        config_path: PathBuf,
        events: mpsc::UnboundedSender<AppEvent>,
    ) -> Ctx {
        Ctx {
            runner,
            store,
            db_path,
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
}

/// A full-screen view.
pub trait View {
    /// Keys of this view for the help overlay: (key, what it does).
    fn keys(&self) -> Vec<(&'static str, &'static str)>;
    /// Handles a key; returns true when the view used it.
    fn handle_key(&mut self, key: KeyEvent, ctx: &mut Ctx) -> bool;
    /// Refreshes data (on every tick while visible, and when shown).
    fn refresh(&mut self, _ctx: &mut Ctx) {}
    /// Receives the result of background work it started.
    fn on_task(&mut self, _result: TaskResult, _ctx: &mut Ctx) {}
    /// Draws the view.
    fn render(&mut self, f: &mut Frame, area: Rect, ctx: &Ctx);
    /// True while a text field or a dialog has the keyboard (global keys then go to the view).
    fn captures_keys(&self) -> bool {
        false
    }
}

/// The application: tabs, views, help overlay.
pub struct App {
    /// The visible tab.
    pub tab: Tab,
    /// Shared services.
    pub ctx: Ctx,
    views: Vec<Box<dyn View>>,
    help: bool,
    /// Set when the user quits.
    pub quit: bool,
}

impl App {
    /// An app with the five views.
    pub fn new(ctx: Ctx) -> App {
        let views: Vec<Box<dyn View>> = vec![
            Box::new(super::views::monitor::MonitorView::default()),
            Box::new(super::views::queue::QueueView::new(&ctx)),
            Box::new(super::views::log::LogView::default()),
            Box::new(super::views::objects::ObjectsView::default()),
            Box::new(super::views::trace::TraceView::default()),
        ];
        let mut app = App {
            tab: Tab::Monitor,
            ctx,
            views,
            help: false,
            quit: false,
        };
        app.refresh();
        app
    }

    /// Switches to a tab and refreshes it.
    pub fn show(&mut self, tab: Tab) {
        self.tab = tab;
        self.refresh();
    }

    /// Refreshes the visible view.
    pub fn refresh(&mut self) {
        let i = self.tab.index();
        self.views[i].refresh(&mut self.ctx);
    }

    /// Routes a background result to its view.
    pub fn on_task(&mut self, tab: Tab, result: TaskResult) {
        let i = tab.index();
        self.views[i].on_task(result, &mut self.ctx);
    }

    /// Handles a key: help first, then a view that holds the keyboard, then global keys.
    pub fn handle_key(&mut self, key: KeyEvent) {
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            self.quit = true;
            return;
        }
        if self.help {
            if matches!(
                key.code,
                KeyCode::Esc | KeyCode::Char('?') | KeyCode::Char('q')
            ) {
                self.help = false;
            }
            return;
        }
        let i = self.tab.index();
        if self.views[i].captures_keys() {
            self.views[i].handle_key(key, &mut self.ctx);
            return;
        }
        match key.code {
            KeyCode::Char('q') => self.quit = true,
            KeyCode::Char('?') | KeyCode::F(1) => self.help = true,
            KeyCode::Char(c @ '1'..='5') => self.show(Tab::ALL[(c as u8 - b'1') as usize]),
            KeyCode::Tab => self.show(Tab::ALL[(i + 1) % Tab::ALL.len()]),
            KeyCode::BackTab => self.show(Tab::ALL[(i + Tab::ALL.len() - 1) % Tab::ALL.len()]),
            _ => {
                self.views[i].handle_key(key, &mut self.ctx);
            }
        }
    }

    /// Draws the whole screen.
    pub fn render(&mut self, f: &mut Frame) {
        let [top, body, bottom] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(3),
            Constraint::Length(1),
        ])
        .areas(f.area());
        let titles: Vec<Line> = Tab::ALL
            .iter()
            .enumerate()
            .map(|(n, t)| Line::from(format!("{} {}", n + 1, t.title())))
            .collect();
        let tabs = Tabs::new(titles)
            .select(self.tab.index())
            .highlight_style(Style::default().add_modifier(Modifier::BOLD | Modifier::REVERSED))
            .divider("│");
        let [brand, tabs_area] =
            Layout::horizontal([Constraint::Length(13), Constraint::Min(10)]).areas(top);
        f.render_widget(
            Paragraph::new(" dlms-logger ").style(Style::default().add_modifier(Modifier::BOLD)),
            brand,
        );
        f.render_widget(tabs, tabs_area);
        let i = self.tab.index();
        self.views[i].render(f, body, &self.ctx);
        self.render_status(f, bottom);
        if self.help {
            self.render_help(f, body);
        }
    }

    fn render_status(&self, f: &mut Frame, area: Rect) {
        let st = self.ctx.runner.status();
        let config = self.ctx.config();
        let active = config.requests.iter().filter(|r| r.enabled).count();
        let mut spans = vec![
            Span::styled(
                format!(" running {active} request(s) "),
                Style::default().fg(Color::Black).bg(Color::Green),
            ),
            Span::raw(format!(" {} ", self.ctx.db_path.display())),
        ];
        // Before the counts: it must not be cut off on a narrow terminal.
        if let Some(w) = &st.counter_warning {
            spans.insert(
                1,
                Span::styled(format!(" {w} "), Style::default().fg(Color::Yellow)),
            );
        }
        let (rows, failed) = self
            .ctx
            .store
            .as_ref()
            .and_then(|s| s.counts().ok())
            .unwrap_or((st.rows_stored, st.failures_stored));
        spans.push(Span::raw(format!("· {rows} rows ")));
        let err_style = if failed > 0 {
            Style::default().fg(Color::Red)
        } else {
            Style::default()
        };
        spans.push(Span::styled(format!("· {failed} errors "), err_style));
        if let Some(e) = &st.store_error {
            spans.push(Span::styled(
                format!("· store: {e} "),
                Style::default().fg(Color::Red),
            ));
        }
        if let Some((m, is_err)) = self.ctx.message() {
            let style = if is_err {
                Style::default().fg(Color::Red)
            } else {
                Style::default().fg(Color::Cyan)
            };
            spans.push(Span::styled(format!("· {m}"), style));
        } else {
            spans.push(Span::styled(
                "· ? help  q quit",
                Style::default().fg(Color::DarkGray),
            ));
        }
        f.render_widget(Paragraph::new(Line::from(spans)), area);
    }

    fn render_help(&self, f: &mut Frame, area: Rect) {
        let global = [
            ("1-5, Tab", "switch view"),
            ("?", "this help (Esc closes)"),
            ("q, Ctrl-c", "quit"),
        ];
        let view_keys = self.views[self.tab.index()].keys();
        let rows: Vec<Row> = view_keys
            .iter()
            .chain(global.iter())
            .map(|(k, d)| Row::new(vec![k.to_string(), d.to_string()]))
            .collect();
        let h = (rows.len() as u16 + 2).min(area.height);
        let w = 64.min(area.width);
        let popup = Rect {
            x: area.x + (area.width - w) / 2,
            y: area.y + (area.height - h) / 2,
            width: w,
            height: h,
        };
        f.render_widget(Clear, popup);
        let table = Table::new(rows, [Constraint::Length(16), Constraint::Min(10)]).block(
            Block::default()
                .borders(Borders::ALL)
                .title(format!(" {} keys ", self.tab.title())),
        );
        f.render_widget(table, popup);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    fn screen(app: &mut App) -> String {
        let mut term = Terminal::new(TestBackend::new(100, 30)).unwrap();
        term.draw(|f| app.render(f)).unwrap();
        let buf = term.backend().buffer().clone();
        (0..buf.area.height)
            .map(|y| {
                (0..buf.area.width)
                    .map(|x| buf[(x, y)].symbol().to_string())
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[tokio::test]
    async fn a_key_near_the_end_of_its_counters_is_shown_in_the_status_bar() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("log.db");
        let counters = crate::counters::CounterStore::new(dir.path().join("counters.db"));
        let title = crate::dlms::security::SystemTitle(*b"DLMSLOG1");
        counters
            .take(
                title,
                &crate::dlms::security::Key([1; 16]),
                u32::MAX / 100 * 95,
                1,
            )
            .unwrap();
        let config = Config::parse(
            "[[connection]]\nname = \"c\"\ntcp = { host = \"127.0.0.1\", port = 9 }\n",
            "t.toml",
        )
        .unwrap();
        let (_writer, handle) = crate::store::Writer::spawn(&db).unwrap();
        let runner = crate::runner::Runner::start_with(
            config,
            handle,
            1,
            crate::runner::RunnerOptions {
                counters: Some(counters),
                ..Default::default()
            },
        );
        let (tx, _rx) = mpsc::unbounded_channel();
        let mut app = App::new(Ctx::new(
            runner.handle(),
            Store::open(&db).ok(),
            db.clone(),
            dir.path().join("q.toml"),
            tx,
        ));
        let s = screen(&mut app);
        assert!(s.contains("passed 90 %"), "{s}");
    }

    #[tokio::test]
    async fn tabs_help_status_and_quit() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("log.db");
        let config = Config::parse(
            "[[connection]]\nname = \"c\"\ntcp = { host = \"127.0.0.1\", port = 9 }\n[[meter]]\nname = \"m1\"\nconnection = \"c\"\n[[request]]\nname = \"r\"\nmeters = [\"m1\"]\nschedule = { event = \"never\" }\nitems = [{ name = \"e\", obis = \"1.0.1.8.0.255\" }]\n",
            "t.toml",
        )
        .unwrap();
        let (writer, handle) = crate::store::Writer::spawn(&db).unwrap();
        let runner = crate::runner::Runner::start(config, handle, 1);
        let (tx, _rx) = mpsc::unbounded_channel();
        let store = Store::open(&db).ok();
        let mut app = App::new(Ctx::new(
            runner.handle(),
            store,
            db.clone(),
            dir.path().join("q.toml"),
            tx,
        ));
        let s = screen(&mut app);
        assert!(s.contains("1 Monitor") && s.contains("5 Trace"), "{s}");
        assert!(
            s.contains("running 1 request(s)") && s.contains("0 rows"),
            "{s}"
        );
        for (key, tab) in [
            ('2', Tab::Queue),
            ('3', Tab::Log),
            ('4', Tab::Objects),
            ('5', Tab::Trace),
            ('1', Tab::Monitor),
        ] {
            app.handle_key(KeyEvent::from(KeyCode::Char(key)));
            assert_eq!(app.tab, tab);
            screen(&mut app);
        }
        app.handle_key(KeyEvent::from(KeyCode::Tab));
        assert_eq!(app.tab, Tab::Queue);
        app.handle_key(KeyEvent::from(KeyCode::BackTab));
        assert_eq!(app.tab, Tab::Monitor);
        app.handle_key(KeyEvent::from(KeyCode::Char('?')));
        let s = screen(&mut app);
        assert!(
            s.contains("Monitor keys") && s.contains("read the selected item's request now"),
            "{s}"
        );
        app.handle_key(KeyEvent::from(KeyCode::Char('3')));
        assert_eq!(
            app.tab,
            Tab::Monitor,
            "keys go to the help overlay while it is open"
        );
        app.handle_key(KeyEvent::from(KeyCode::Esc));
        assert!(!screen(&mut app).contains("Monitor keys"));
        // Every view at 80×24 and at a large size shows its frame and content.
        for (w, h) in [(80, 24), (200, 60)] {
            for (tab, needle) in [
                (Tab::Monitor, "Items"),
                (Tab::Queue, "request \"r\""),
                (Tab::Log, "Log"),
                (Tab::Objects, "Objects"),
                (Tab::Trace, "Trace"),
            ] {
                app.show(tab);
                if tab == Tab::Queue {
                    // Select the request in the tree (connection, meter, request).
                    app.handle_key(KeyEvent::from(KeyCode::Char('g')));
                    for _ in 0..2 {
                        app.handle_key(KeyEvent::from(KeyCode::Down));
                    }
                }
                let mut term = Terminal::new(TestBackend::new(w, h)).unwrap();
                term.draw(|f| app.render(f)).unwrap();
                let buf = term.backend().buffer().clone();
                let text: String = (0..buf.area.height)
                    .map(|y| {
                        (0..buf.area.width)
                            .map(|x| buf[(x, y)].symbol().to_string())
                            .collect::<String>()
                            + "\n"
                    })
                    .collect();
                assert!(text.contains(needle), "{tab:?} at {w}x{h}:\n{text}");
                assert!(
                    text.contains("running 1 request(s)"),
                    "{tab:?} at {w}x{h}: status bar"
                );
            }
        }
        // A tiny terminal never panics.
        let mut term = Terminal::new(TestBackend::new(20, 5)).unwrap();
        for tab in Tab::ALL {
            app.show(tab);
            term.draw(|f| app.render(f)).unwrap();
        }
        app.handle_key(KeyEvent::from(KeyCode::Char('q')));
        assert!(app.quit);
        runner.shutdown().await;
        writer.shutdown().unwrap();
    }
}
