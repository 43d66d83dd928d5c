//! The application state shared by every view, the `View` trait, and global key handling.
//!
//! ```text
//! ┌ dlms-logger ─ 1 Monitor │ 2 Queue │ 3 Log │ 4 Objects │ 5 Trace ──────────────┐  tabs
//! │                                                                                │
//! │                          the selected view                                    │
//! │                                                                                │
//! └ running 5 requests · dlms-logger.db · 1234 rows · 3 errors · message ──────────┘  status
//! ```

pub use super::ctx::Ctx;
pub use super::event::{AppEvent, Tab, TaskResult};
use super::keymap::{self, Binding, Help, KeyPress};
use crate::store::QueryError;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Row, Table, Tabs, Wrap};
use ratatui::Frame;

/// What the global keys do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Global {
    Quit,
    Help,
    Show(usize),
    Next,
    Previous,
}

/// Keys that work even while a view holds the keyboard or the help is open.
/// The smallest terminal the views are drawn in (smaller says so instead).
pub const MIN_WIDTH: u16 = 60;
/// See [`MIN_WIDTH`].
pub const MIN_HEIGHT: u16 = 16;

const ALWAYS: &[Binding<Global>] = &[Binding {
    keys: &[(KeyPress::ctrl('c'), Global::Quit)],
    label: "Ctrl-c",
    help: "quit, even from a dialog",
    hint: None,
}];

/// Keys of every view (after the view's own, unless the view holds the keyboard).
const GLOBAL: &[Binding<Global>] = &[
    Binding {
        keys: &[
            (KeyPress::ch('1'), Global::Show(0)),
            (KeyPress::ch('2'), Global::Show(1)),
            (KeyPress::ch('3'), Global::Show(2)),
            (KeyPress::ch('4'), Global::Show(3)),
            (KeyPress::ch('5'), Global::Show(4)),
            (KeyPress::new(KeyCode::Tab), Global::Next),
            (KeyPress::new(KeyCode::BackTab), Global::Previous),
        ],
        label: "1-5, Tab",
        help: "switch view",
        hint: None,
    },
    Binding {
        keys: &[
            (KeyPress::ch('?'), Global::Help),
            (KeyPress::new(KeyCode::F(1)), Global::Help),
        ],
        label: "?",
        help: "this help (Esc closes)",
        hint: Some("? help"),
    },
    Binding {
        keys: &[(KeyPress::ch('q'), Global::Quit)],
        label: "q",
        help: "quit",
        hint: Some("q quit"),
    },
];

/// Keys of the help overlay.
const HELP: &[Binding<()>] = &[Binding {
    keys: &[
        (KeyPress::new(KeyCode::Esc), ()),
        (KeyPress::ch('?'), ()),
        (KeyPress::ch('q'), ()),
    ],
    label: "Esc, ?, q",
    help: "close this help",
    hint: None,
}];

/// A full-screen view.
pub trait View {
    /// The rows of this view's keymaps, for the help overlay.
    fn bindings(&self) -> Vec<Help>;
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
    /// The last row counts the query service sent, and whether a count is under way.
    counts: Option<Result<(u64, u64), QueryError>>,
    counting: bool,
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
            counts: None,
            counting: false,
        };
        app.refresh();
        app
    }

    /// Switches to a tab and refreshes it.
    pub fn show(&mut self, tab: Tab) {
        self.tab = tab;
        self.refresh();
    }

    /// Refreshes the visible view and asks for the row counts (unless a count is under way).
    pub fn refresh(&mut self) {
        if !self.counting {
            self.counting = true;
            let tx = self.ctx.events.clone();
            self.ctx.queries.counts(move |r| {
                let _ = tx.send(AppEvent::Counts(r));
            });
        }
        let i = self.tab.index();
        self.views[i].refresh(&mut self.ctx);
    }

    /// Takes the row counts for the status bar.
    pub fn on_counts(&mut self, counts: Result<(u64, u64), QueryError>) {
        self.counting = false;
        self.counts = Some(counts);
    }

    /// Routes a background result to its view.
    pub fn on_task(&mut self, tab: Tab, result: TaskResult) {
        let i = tab.index();
        self.views[i].on_task(result, &mut self.ctx);
    }

    /// Handles a key: Ctrl-c, then help, then a view that holds the keyboard, then the
    /// view's keys, then global keys.
    pub fn handle_key(&mut self, key: KeyEvent) {
        if keymap::action(ALWAYS, &key) == Some(Global::Quit) {
            self.quit = true;
            return;
        }
        // The next action replaces the last one's message (or shows the keys again).
        self.ctx.clear_message();
        if self.help {
            if keymap::action(HELP, &key).is_some() {
                self.help = false;
            }
            return;
        }
        let i = self.tab.index();
        if self.views[i].captures_keys() {
            self.views[i].handle_key(key, &mut self.ctx);
            return;
        }
        let n = Tab::ALL.len();
        match keymap::action(GLOBAL, &key) {
            Some(Global::Quit) => self.quit = true,
            Some(Global::Help) => self.help = true,
            Some(Global::Show(t)) => self.show(Tab::ALL[t]),
            Some(Global::Next) => self.show(Tab::ALL[(i + 1) % n]),
            Some(Global::Previous) => self.show(Tab::ALL[(i + n - 1) % n]),
            None => {
                self.views[i].handle_key(key, &mut self.ctx);
            }
        }
    }

    /// Draws the whole screen.
    pub fn render(&mut self, f: &mut Frame) {
        let area = f.area();
        if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
            let text = format!(
                "The terminal is {}×{}; dlms-logger needs at least {MIN_WIDTH}×{MIN_HEIGHT}. \
                 Make it larger, or press q to quit.",
                area.width, area.height
            );
            f.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), area);
            return;
        }
        // A message longer than the bar gets the lines it needs (up to three), never cut.
        let message_lines = self
            .ctx
            .fresh_message()
            .map_or(1, |(m, _)| {
                (m.chars().count() as u16 + 3).div_ceil(area.width.max(1))
            })
            .clamp(1, 3);
        let [top, body, bottom] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(3),
            Constraint::Length(message_lines),
        ])
        .areas(area);
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
        // The database's counts as last answered; the runner's own until the first answer.
        let (rows, failed) = match &self.counts {
            Some(Ok(counts)) => *counts,
            _ => (st.rows_stored, st.failures_stored),
        };
        spans.push(Span::raw(format!("· {rows} rows ")));
        let err_style = if failed > 0 {
            Style::default().fg(Color::Red)
        } else {
            Style::default()
        };
        spans.push(Span::styled(format!("· {failed} errors "), err_style));
        // Each sink: connected or not, what waits, what was dropped.
        for sink in self.ctx.runner.sinks() {
            let style = if !sink.connected || sink.dropped > 0 {
                Style::default().fg(Color::Red)
            } else {
                Style::default()
            };
            let summary = sink.summary();
            let text = crate::text::escape(&summary);
            spans.push(Span::styled(format!("· {text} "), style));
        }
        if let Some(e) = &st.store_error {
            spans.push(Span::styled(
                format!("· store: {e} "),
                Style::default().fg(Color::Red),
            ));
        }
        if let Some((m, is_err)) = self.ctx.fresh_message() {
            // The message alone: what the operator just did matters more than the counts.
            let style = if is_err {
                Style::default().fg(Color::Red)
            } else {
                Style::default().fg(Color::Cyan)
            };
            let text =
                Paragraph::new(Line::styled(format!(" {m}"), style)).wrap(Wrap { trim: false });
            f.render_widget(text, area);
            return;
        } else {
            spans.push(Span::styled(
                format!("· {}", keymap::footer(GLOBAL, "  ")),
                Style::default().fg(Color::DarkGray),
            ));
        }
        f.render_widget(Paragraph::new(Line::from(spans)), area);
    }

    fn render_help(&self, f: &mut Frame, area: Rect) {
        let view_keys = self.views[self.tab.index()].bindings();
        let rows: Vec<Row> = view_keys
            .into_iter()
            .chain(keymap::help(GLOBAL))
            .chain(keymap::help(ALWAYS))
            .map(|h| Row::new(vec![h.label, h.help]))
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
    use crate::queue::Config;
    use crate::store::spawn_reader;
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;
    use tokio::sync::mpsc;

    fn screen(app: &mut App) -> String {
        screen_of(app, 100, 30)
    }

    fn screen_of(app: &mut App, width: u16, height: u16) -> String {
        let mut term = Terminal::new(TestBackend::new(width, height)).unwrap();
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

    #[test]
    fn global_keys_are_bound_once() {
        let all = [keymap::keys(ALWAYS), keymap::keys(GLOBAL)].concat();
        assert_eq!(keymap::bound_twice(&all), []);
    }

    #[tokio::test]
    async fn each_sink_is_shown_in_the_status_bar() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("log.db");
        // A broker that is not there: the sink says so, and keeps its messages.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let config = Config::parse(
            &format!(
                "[[sink]]\nname = \"ha\"\nkind = \"mqtt\"\nhost = \"127.0.0.1\"\nport = {port}\n"
            ),
            "t.toml",
        )
        .unwrap();
        let (_writer, handle) = crate::store::Writer::spawn(&db).unwrap();
        let runner = crate::runner::Runner::start(config, handle, 1);
        let (tx, _rx) = mpsc::unbounded_channel();
        let mut app = App::new(Ctx::new(
            runner.handle(),
            spawn_reader(&db).unwrap(),
            dir.path().join("q.toml"),
            tx,
        ));
        let s = screen(&mut app);
        assert!(s.contains("mqtt ha: DISCONNECTED, 0 queued"), "{s}");
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
            spawn_reader(&db).unwrap(),
            dir.path().join("q.toml"),
            tx,
        ));
        let s = screen(&mut app);
        assert!(s.contains("passed 90 %"), "{s}");
    }

    #[tokio::test]
    async fn messages_are_shown_whole_and_go_with_the_next_key_and_a_small_terminal_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("log.db");
        let (_writer, handle) = crate::store::Writer::spawn(&db).unwrap();
        let runner = crate::runner::Runner::start(Config::default(), handle, 1);
        let (tx, _rx) = mpsc::unbounded_channel();
        let mut app = App::new(Ctx::new(
            runner.handle(),
            spawn_reader(&db).unwrap(),
            dir.path().join("q.toml"),
            tx,
        ));
        let long = "meter m1: cannot associate: the meter refused the association \
                    (authentication failure: the password is wrong) after 3 tries; the last \
                    frame was an AARE with result rejected-permanent";
        app.ctx.error(long);
        let s = screen_of(&mut app, 80, 24);
        let shown: String = s
            .lines()
            .rev()
            .take(3)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .map(str::trim)
            .collect::<Vec<_>>()
            .join(" ");
        assert!(
            shown.contains("rejected-permanent"),
            "the end is shown: {s}"
        );
        app.handle_key(KeyEvent::from(KeyCode::Char('j')));
        assert_eq!(app.ctx.message(), None, "the next key clears it");
        assert!(screen_of(&mut app, 80, 24).contains("? help"));
        let small = screen_of(&mut app, 40, 10);
        assert!(
            small.contains("40×10") && small.contains("at least 60×16"),
            "{small}"
        );
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
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut app = App::new(Ctx::new(
            runner.handle(),
            spawn_reader(&db).unwrap(),
            dir.path().join("q.toml"),
            tx,
        ));
        // The counts arrive as a message; drawing never asks the database.
        let counts = loop {
            match rx.recv().await {
                Some(AppEvent::Counts(c)) => break c,
                Some(_) => {}
                None => panic!("the event channel closed"),
            }
        };
        assert_eq!(counts.as_ref().ok(), Some(&(0, 0)));
        app.on_counts(Ok((1234, 5)));
        let s = screen(&mut app);
        assert!(
            s.contains("1234 rows") && s.contains("5 errors") && s.contains("? help  q quit"),
            "{s}"
        );
        app.on_counts(counts);
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
