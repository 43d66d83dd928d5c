//! The Trace view: the last frames exchanged with a meter, decoded and in hex; Enter opens a
//! frame as a tree of fields (`tree.rs`: folding, search, the bytes of each field), `/`
//! searches the frames.
//!
//! ```text
//! ┌ Trace · m1 (1/2) · following ──────────────────────────────────────────────┐
//! │ 12:00:00.123 TX AARQ LN mechanism low            000100100001003E603CA1…   │
//! │ 12:00:00.140 RX AARE accepted                    0001000100100029612…      │
//! └ ←→ meter · f follow · Enter tree · / search · n/N match ───────────────────┘
//! ```
//!
//! Secrets never reach the screen: the engine masks them (their bytes are zeros in what it
//! keeps), and every hex of a whole frame shown here comes from [`TraceEntry::hex`], which
//! prints `**` for masked bytes. Ciphered APDUs are opened with the meter's keys, which are
//! never shown.

mod frames;
mod keys;
mod tree;

use crate::dlms::decode::Node;
use crate::engine::{Direction, TraceEntry};
use crate::tui::app::{Ctx, View};
use crate::tui::keymap::{self, Help};
use chrono::{DateTime, Local};
use keys::{Action, TreeAction, KEYS, TREE_KEYS};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, TableState, Wrap};
use ratatui::Frame;
use tree::{FrameTree, Search};

/// The search over the frames: the text, whether it is being typed, the matching frames.
#[derive(Debug, Default)]
struct FrameSearch {
    text: String,
    typing: bool,
    /// The matching frames, by their (time, direction), which stay put as frames come and go.
    hits: Vec<(std::time::SystemTime, Direction)>,
}

/// The Trace view.
#[derive(Debug)]
pub struct TraceView {
    /// Index of the meter in the running queue.
    meter: usize,
    entries: Vec<TraceEntry>,
    table: TableState,
    /// Keep the newest frame selected as frames arrive.
    follow: bool,
    /// The frame opened as a tree (a copy: new frames do not change it).
    tree: Option<FrameTree>,
    /// The search over the frames, once `/` was pressed.
    search: Option<FrameSearch>,
    /// Rows visible at the last draw, for PgUp/PgDn.
    page: usize,
}

impl Default for TraceView {
    fn default() -> Self {
        TraceView {
            meter: 0,
            entries: Vec::new(),
            table: TableState::default(),
            follow: true,
            tree: None,
            search: None,
            page: 10,
        }
    }
}

/// What a key does to a line being typed.
enum Typed {
    Editing,
    Done,
    Cancel,
}

/// Types `key` into `text`: characters, Backspace, Ctrl-u clears; Enter and Esc end it.
fn type_key(text: &mut String, key: KeyEvent) -> Typed {
    match key.code {
        KeyCode::Enter => Typed::Done,
        KeyCode::Esc => Typed::Cancel,
        KeyCode::Backspace => {
            text.pop();
            Typed::Editing
        }
        KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => {
            text.clear();
            Typed::Editing
        }
        KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
            text.push(c);
            Typed::Editing
        }
        _ => Typed::Editing,
    }
}

/// True when any field of `node` (or the summary) matches `query` (lower case).
fn node_matches(node: &Node, query: &str) -> bool {
    tree::matches(query, &node.name, &node.value, &node.bytes)
        || node.children.iter().any(|c| node_matches(c, query))
}

impl TraceView {
    fn meter_name(&self, ctx: &Ctx) -> Option<String> {
        ctx.config().meters.get(self.meter).map(|m| m.name.clone())
    }

    /// Selects row `i`, clamped to the frames.
    fn select(&mut self, i: usize) {
        let last = self.entries.len().saturating_sub(1);
        self.table
            .select((!self.entries.is_empty()).then(|| i.min(last)));
    }

    /// Selects row `i` for the user; following goes on at the newest frame and off elsewhere.
    fn go(&mut self, i: usize) {
        self.select(i);
        self.follow = i >= self.entries.len().saturating_sub(1);
    }

    fn switch_meter(&mut self, forward: bool, ctx: &mut Ctx) {
        let n = ctx.config().meters.len().max(1);
        self.meter = if forward {
            (self.meter + 1) % n
        } else {
            (self.meter + n - 1) % n
        };
        self.entries.clear();
        self.follow = true;
        if let Some(s) = &mut self.search {
            s.hits.clear();
        }
        self.refresh(ctx);
    }

    /// The frames decoded in order with the meter's keys.
    fn trees(&self, ctx: &Ctx) -> Vec<Node> {
        let meter = ctx.config().meters.get(self.meter).cloned();
        let learned = meter
            .as_ref()
            .and_then(|m| ctx.runner.meter_system_title(&m.name));
        frames::decode_all(&self.entries, meter.as_ref(), learned)
    }

    /// Opens the selected frame as a tree, with the frames' search applied to it.
    fn open(&mut self, ctx: &mut Ctx) {
        let Some(i) = self.table.selected().filter(|&i| i < self.entries.len()) else {
            ctx.error("no frame to open");
            return;
        };
        let trees = self.trees(ctx);
        let e = &self.entries[i];
        let title = format!(
            "{} {} · {} bytes · {}",
            direction(e.direction),
            time(e),
            e.bytes.len(),
            e.summary
        );
        let hex = spaced(&e.hex());
        let mut tree = FrameTree::new(title, &trees[i]).with_frame_hex(hex);
        if let Some(s) = self
            .search
            .as_ref()
            .filter(|s| !s.typing && !s.text.is_empty())
        {
            tree.search = Some(Search::typed(&s.text));
            tree.apply_search();
        }
        self.tree = Some(tree);
    }

    /// Finds the frames that match the typed search; goes to the first at or before the
    /// selection (the newest frames are at the bottom).
    fn apply_search(&mut self, ctx: &mut Ctx) {
        let trees = self.trees(ctx);
        let Some(s) = &mut self.search else {
            return;
        };
        s.typing = false;
        let query = s.text.trim().to_lowercase();
        s.hits = self
            .entries
            .iter()
            .zip(&trees)
            .filter(|(e, t)| {
                !query.is_empty()
                    && (e.summary.to_lowercase().contains(&query) || node_matches(t, &query))
            })
            .map(|(e, _)| (e.at, e.direction))
            .collect();
        if s.hits.is_empty() {
            ctx.error(format!("no frame matches \"{}\"", s.text));
        } else {
            self.next_match(false, true);
        }
    }

    /// Goes to the next older (`older`) or newer matching frame, wrapping around; `here`
    /// counts the selected frame itself.
    fn next_match(&mut self, older: bool, here: bool) {
        let Some(s) = &self.search else {
            return;
        };
        let rows: Vec<usize> = self
            .entries
            .iter()
            .enumerate()
            .filter(|(_, e)| s.hits.contains(&(e.at, e.direction)))
            .map(|(i, _)| i)
            .collect();
        let at = self.table.selected().unwrap_or(usize::MAX);
        let found = if older {
            rows.iter()
                .rev()
                .find(|&&r| r < at || (here && r == at))
                .or(rows.last())
        } else {
            rows.iter().find(|&&r| r > at).or(rows.first())
        };
        if let Some(&r) = found {
            self.go(r);
            // A match is read where it is; new frames must not scroll it away.
            self.follow = false;
        }
    }

    fn handle_tree(&mut self, key: KeyEvent) {
        let Some(tree) = &mut self.tree else {
            return;
        };
        if let Some(s) = tree.search.as_mut().filter(|s| s.typing) {
            match type_key(&mut s.text, key) {
                Typed::Editing => {}
                Typed::Done => {
                    tree.apply_search();
                }
                Typed::Cancel => tree.search = None,
            }
            return;
        }
        match keymap::action(TREE_KEYS, &key) {
            Some(TreeAction::Close) => self.tree = None,
            Some(TreeAction::Up) => tree.step(-1),
            Some(TreeAction::Down) => tree.step(1),
            Some(TreeAction::PageUp) => tree.page(-1),
            Some(TreeAction::PageDown) => tree.page(1),
            Some(TreeAction::First) => tree.ends(false),
            Some(TreeAction::Last) => tree.ends(true),
            Some(TreeAction::Toggle) => {
                tree.toggle();
            }
            Some(TreeAction::Fold) => tree.fold(),
            Some(TreeAction::Unfold) => tree.unfold(),
            Some(TreeAction::OpenAll) => tree.all(true),
            Some(TreeAction::FoldAll) => tree.all(false),
            Some(TreeAction::Search) => tree.search = Some(Search::start()),
            Some(TreeAction::NextMatch) => {
                tree.next_hit(true);
            }
            Some(TreeAction::PreviousMatch) => {
                tree.next_hit(false);
            }
            None => {}
        }
    }

    fn render_search(&self, f: &mut Frame, area: Rect) {
        let Some(s) = &self.search else {
            return;
        };
        let line = if s.typing {
            Line::from(vec![
                Span::styled("/", Style::default().fg(Color::Yellow)),
                Span::raw(format!("{}▏ Enter finds, Esc cancels", s.text)),
            ])
        } else {
            let shown = self
                .entries
                .iter()
                .filter(|e| s.hits.contains(&(e.at, e.direction)))
                .count();
            let style = if shown == 0 {
                Style::default().fg(Color::Red)
            } else {
                Style::default().fg(Color::Yellow)
            };
            Line::styled(
                format!(
                    "\"{}\": {shown} frame(s) match · n/N older/newer · / again · Esc clears",
                    s.text
                ),
                style,
            )
        };
        f.render_widget(Paragraph::new(line), area);
    }
}

/// The frame decoded field by field (ciphered APDUs opened with the meter's keys, which are
/// never shown), or why it does not decode.
pub(super) fn decoded(entry: &TraceEntry, meter: Option<&crate::queue::Meter>) -> String {
    use crate::dlms::decode::decode_frame;
    match decode_frame(&entry.bytes, &frames::keys(meter, entry.direction)) {
        Ok(d) => d.tree.to_text(),
        Err(e) => format!("not decoded as a whole frame: {e}"),
    }
}

/// Hex pairs with a space between bytes.
fn spaced(hex: &str) -> String {
    hex.as_bytes()
        .chunks(2)
        .map(|pair| String::from_utf8_lossy(pair).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

fn direction(d: Direction) -> &'static str {
    match d {
        Direction::Tx => "TX",
        Direction::Rx => "RX",
    }
}

fn time(entry: &TraceEntry) -> String {
    DateTime::<Local>::from(entry.at)
        .format("%H:%M:%S%.3f")
        .to_string()
}

impl View for TraceView {
    fn bindings(&self) -> Vec<Help> {
        keymap::help(KEYS).chain(keymap::help(TREE_KEYS)).collect()
    }

    fn handle_key(&mut self, key: KeyEvent, ctx: &mut Ctx) -> bool {
        if self.tree.is_some() {
            self.handle_tree(key);
            return true;
        }
        if let Some(s) = self.search.as_mut().filter(|s| s.typing) {
            match type_key(&mut s.text, key) {
                Typed::Editing => {}
                Typed::Done => self.apply_search(ctx),
                Typed::Cancel => self.search = None,
            }
            return true;
        }
        if key.code == KeyCode::Esc && self.search.is_some() {
            self.search = None;
            return true;
        }
        let current = self.table.selected().unwrap_or(0);
        let Some(action) = keymap::action(KEYS, &key) else {
            return false;
        };
        match action {
            Action::PreviousMeter => self.switch_meter(false, ctx),
            Action::NextMeter => self.switch_meter(true, ctx),
            Action::Up => self.go(current.saturating_sub(1)),
            Action::Down => self.go(current + 1),
            Action::PageUp => self.go(current.saturating_sub(self.page)),
            Action::PageDown => self.go(current + self.page),
            Action::Oldest => self.go(0),
            Action::Newest => self.go(usize::MAX),
            Action::Follow => {
                if self.follow {
                    self.follow = false;
                } else {
                    self.go(usize::MAX);
                }
            }
            Action::Open => self.open(ctx),
            Action::Search => {
                self.search = Some(FrameSearch {
                    typing: true,
                    ..FrameSearch::default()
                })
            }
            Action::NextMatch | Action::PreviousMatch => match &self.search {
                Some(s) if !s.typing => self.next_match(action == Action::NextMatch, false),
                _ => ctx.error("nothing searched yet: / searches the frames"),
            },
        }
        true
    }

    fn refresh(&mut self, ctx: &mut Ctx) {
        let meters = ctx.config().meters.len();
        self.meter = self.meter.min(meters.saturating_sub(1));
        let Some(name) = self.meter_name(ctx) else {
            self.entries.clear();
            self.table.select(None);
            return;
        };
        // When not following, keep the selected frame selected as old frames drop off the front.
        let kept = current_entry(&self.entries, &self.table).map(|e| (e.at, e.direction));
        self.entries = ctx.runner.trace(&name);
        let at = if self.follow {
            usize::MAX
        } else {
            kept.and_then(|k| self.entries.iter().position(|e| (e.at, e.direction) == k))
                .unwrap_or(0)
        };
        self.select(at);
    }

    fn render(&mut self, f: &mut Frame, area: Rect, ctx: &Ctx) {
        let config = ctx.config();
        let Some(meter) = config.meters.get(self.meter) else {
            f.render_widget(
                Paragraph::new("No meters in the queue.")
                    .block(Block::default().borders(Borders::ALL).title(" Trace ")),
                area,
            );
            return;
        };
        let state = if self.follow {
            "following"
        } else {
            "paused (f follows)"
        };
        let title = format!(
            " Trace · {} ({}/{}) · {state} ",
            meter.name,
            self.meter + 1,
            config.meters.len()
        );
        let hints = format!(" {} ", keymap::footer(KEYS, " · "));
        let block = Block::default()
            .borders(Borders::ALL)
            .title(title)
            .title_bottom(Line::styled(hints, Style::default().fg(Color::DarkGray)));
        let bar = u16::from(self.search.is_some());
        let [table_area, bar_area] =
            Layout::vertical([Constraint::Min(0), Constraint::Length(bar)]).areas(area);
        if self.entries.is_empty() {
            let text = format!(
                "No frames exchanged with {} yet (←/→ picks another meter).",
                meter.name
            );
            f.render_widget(
                Paragraph::new(text).wrap(Wrap { trim: true }).block(block),
                table_area,
            );
        } else {
            self.page = usize::from(table_area.height.saturating_sub(2)).max(1);
            // No hex cell can show more than the screen is wide.
            let width = usize::from(area.width);
            let hits: &[(std::time::SystemTime, Direction)] =
                self.search.as_ref().map_or(&[], |s| &s.hits);
            let rows = self.entries.iter().map(|e| {
                let dir_style = match e.direction {
                    Direction::Tx => Style::default().fg(Color::Cyan),
                    Direction::Rx => Style::default().fg(Color::Green),
                };
                let mut hex = e.hex();
                hex.truncate(width);
                let summary_style = if hits.contains(&(e.at, e.direction)) {
                    Style::default().fg(Color::Yellow)
                } else {
                    Style::default()
                };
                Row::new([
                    Cell::new(time(e)),
                    Cell::new(direction(e.direction)).style(dir_style),
                    Cell::new(e.summary.clone()).style(summary_style),
                    Cell::new(hex).style(Style::default().fg(Color::DarkGray)),
                ])
            });
            let widths = [
                Constraint::Length(12),
                Constraint::Length(2),
                Constraint::Fill(1),
                Constraint::Fill(1),
            ];
            let table = Table::new(rows, widths)
                .block(block)
                .row_highlight_style(Style::default().add_modifier(Modifier::REVERSED));
            f.render_stateful_widget(table, table_area, &mut self.table);
        }
        self.render_search(f, bar_area);
        if let Some(tree) = &mut self.tree {
            tree.render(f, area);
        }
    }

    fn captures_keys(&self) -> bool {
        self.tree.is_some() || self.search.as_ref().is_some_and(|s| s.typing)
    }
}

/// A view on these frames, the newest selected (for snapshots).
#[cfg(test)]
pub(crate) fn with_entries(entries: Vec<TraceEntry>) -> TraceView {
    let mut view = TraceView {
        entries,
        ..TraceView::default()
    };
    view.select(usize::MAX);
    view
}

fn current_entry<'a>(entries: &'a [TraceEntry], table: &TableState) -> Option<&'a TraceEntry> {
    table.selected().and_then(|i| entries.get(i))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    use crate::tui::views::testkit::{config, every_key, harness, key};
    use std::time::{Duration, SystemTime};

    /// An AARQ carrying the LLS password "secret12" (73 65 63 72 65 74 31 32) at bytes 8..16.
    fn aarq() -> TraceEntry {
        let mut bytes = vec![0x00, 0x01, 0x00, 0x10, 0x00, 0x01, 0x00, 0x10];
        bytes.extend_from_slice(b"secret12");
        bytes.extend_from_slice(&[0xBE, 0x10]);
        TraceEntry {
            at: SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123),
            direction: Direction::Tx,
            bytes,
            summary: "AARQ LN mechanism low".into(),
            masked: std::iter::once(8..16).collect(),
        }
    }

    fn aare() -> TraceEntry {
        TraceEntry {
            at: SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_200),
            direction: Direction::Rx,
            bytes: vec![0x61, 0x29, 0xA1, 0x09],
            summary: "AARE accepted".into(),
            masked: Vec::new(),
        }
    }

    /// A queue whose meter `m1` has the keys of [`ciphered_push`].
    pub(crate) fn ciphered_config() -> crate::queue::Config {
        let text = "[[connection]]\nname = \"lab\"\ntcp = { host = \"127.0.0.1\", port = 1 }\n\
                    [[meter]]\nname = \"m1\"\nconnection = \"lab\"\n\
                    security = { policy = \"authenc\", \
                    block_key = \"42424242424242424242424242424242\", \
                    auth_key = \"24242424242424242424242424242424\" }\n";
        crate::queue::Config::parse(text, "test.toml").unwrap_or_else(|e| panic!("{e}"))
    }

    /// A ciphered data-notification (general-glo-ciphering, AuthEnc) in a WRAPPER PDU,
    /// sealed with the keys of [`ciphered_config`]: the energy register and 1234.
    pub(crate) fn ciphered_push() -> TraceEntry {
        use crate::dlms::data::Data;
        use crate::dlms::push::{build, Framing, Sealing};
        use crate::dlms::security::{Key, Policy, SystemTitle};
        use crate::dlms::xdlms::DataNotification;
        let n = DataNotification {
            long_invoke_id: 7,
            date_time: None,
            body: Data::Structure(vec![
                Data::OctetString(vec![1, 0, 1, 8, 0, 255]),
                Data::DoubleLongUnsigned(1234),
            ]),
        };
        let (ek, ak) = (Key([0x42; 16]), Key([0x24; 16]));
        let bytes = build(
            &n,
            Some(&Sealing {
                policy: Policy::AuthEnc,
                system_title: SystemTitle(*b"ABC\x00\x00\x00\x00\x01"),
                invocation_counter: 9,
                block_key: &ek,
                auth_key: &ak,
            }),
            &Framing::Wrapper {
                source: 1,
                destination: 16,
            },
        )
        .unwrap();
        TraceEntry {
            at: SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_300),
            direction: Direction::Rx,
            bytes,
            summary: "general-glo-ciphering".into(),
            masked: Vec::new(),
        }
    }

    #[tokio::test]
    async fn a_ciphered_frame_opens_deciphered_folds_and_searches() {
        let mut h = harness(ciphered_config(), &[]);
        let mut view = TraceView {
            entries: vec![aare(), ciphered_push()],
            ..TraceView::default()
        };
        view.select(usize::MAX);
        // Search the frames for a value only the plain APDU holds.
        h.keys(&mut view, &[key(KeyCode::Char('/'))]);
        assert!(view.captures_keys(), "typing the search");
        h.type_text(&mut view, "1234");
        h.keys(&mut view, &[key(KeyCode::Enter)]);
        let screen = h.screen(&mut view, 100, 8).join("\n");
        assert!(screen.contains("\"1234\": 1 frame(s) match"), "{screen}");
        h.keys(
            &mut view,
            &[key(KeyCode::Char('g')), key(KeyCode::Char('n'))],
        );
        assert_eq!(view.table.selected(), Some(1), "n goes to the match");
        // Open it: the match is selected in the tree, inside the deciphered APDU.
        h.keys(&mut view, &[key(KeyCode::Enter)]);
        let tree = view.tree.as_ref().unwrap();
        assert!(
            tree.selected_name().contains("double-long-unsigned")
                || tree.lines().iter().any(|l| l.contains("1234")),
            "{:?}",
            tree.lines()
        );
        let lines = tree.lines().join("\n");
        for want in [
            "deciphered APDU: tag verified",
            "ciphered text",
            "invocation counter: 9",
            "data-notification",
        ] {
            assert!(lines.contains(want), "{want} in\n{lines}");
        }
        let screen = h.screen(&mut view, 120, 30).join("\n");
        assert!(screen.contains("match 1 of 1"), "{screen}");
        assert!(
            !screen.contains("42 42 42 42") && !screen.contains("24 24 24 24"),
            "no key: {screen}"
        );
        // Enter folds the deciphered APDU's group, / finds inside it again.
        h.keys(&mut view, &[key(KeyCode::Char('-'))]);
        assert_eq!(
            view.tree.as_ref().unwrap().lines().len(),
            3,
            "{:?}",
            view.tree.as_ref().unwrap().lines()
        );
        h.keys(&mut view, &[key(KeyCode::Char('/'))]);
        h.type_text(&mut view, "invocation");
        h.keys(&mut view, &[key(KeyCode::Enter)]);
        let tree = view.tree.as_ref().unwrap();
        assert_eq!(tree.selected_name(), "invocation counter");
        assert_eq!(tree.hit_position(), Some((1, 1)));
        h.keys(&mut view, &[key(KeyCode::Enter)]);
        assert_eq!(
            view.tree.as_ref().unwrap().selected_name(),
            "invocation counter",
            "a leaf does not fold"
        );
        h.keys(&mut view, &[key(KeyCode::Left), key(KeyCode::Enter)]);
        assert!(
            view.tree
                .as_ref()
                .unwrap()
                .lines()
                .iter()
                .any(|l| l.contains("▸ general-glo-ciphering") || l.contains("▸ ")),
            "{:?}",
            view.tree.as_ref().unwrap().lines()
        );
        h.keys(&mut view, &[key(KeyCode::Esc)]);
        assert!(view.tree.is_none() && !view.captures_keys());
        // Without the keys the frame still opens, saying why it is not deciphered.
        let mut h = harness(config(1, &["m1"]), &[]);
        h.keys(&mut view, &[key(KeyCode::Enter)]);
        let lines = view.tree.as_ref().unwrap().lines().join("\n");
        assert!(
            lines.contains("not decoded") && lines.contains("why"),
            "{lines}"
        );
    }

    #[tokio::test]
    async fn masks_secrets_in_the_table_and_the_popup() {
        let mut h = harness(config(1, &["m1"]), &[]);
        let mut view = TraceView {
            entries: vec![aarq(), aare()],
            ..TraceView::default()
        };
        view.select(usize::MAX);
        let password = "7365637265743132";
        let screen = h.screen(&mut view, 100, 6).join("\n");
        assert!(
            screen.contains("0001001000010010****************BE10")
                && screen.contains("AARQ LN mechanism low")
                && screen.contains("AARE accepted")
                && screen.contains("6129A109"),
            "{screen}"
        );
        assert!(!screen.contains(password), "{screen}");

        h.keys(&mut view, &[key(KeyCode::Up), key(KeyCode::Enter)]);
        assert!(view.captures_keys());
        let popup = h.screen(&mut view, 100, 12).join("\n");
        assert!(
            popup.contains("TX")
                && popup.contains("18 bytes")
                && popup.contains("10 ** ** ** ** ** ** ** ** BE"),
            "{popup}"
        );
        assert!(!popup.contains("73 65 63"), "{popup}");
        h.keys(&mut view, &[key(KeyCode::Esc)]);
        assert!(!view.captures_keys());
    }

    #[tokio::test]
    async fn follows_the_newest_frame_until_the_user_scrolls_up() {
        let mut h = harness(config(1, &["m1", "m2"]), &[]);
        let mut view = TraceView {
            entries: vec![aarq(), aare(), aarq()],
            ..TraceView::default()
        };
        view.select(usize::MAX);
        h.keys(&mut view, &[key(KeyCode::Up)]);
        assert_eq!((view.table.selected(), view.follow), (Some(1), false));
        h.keys(&mut view, &[key(KeyCode::Down)]);
        assert!(view.follow, "back at the newest frame, following again");
        h.keys(&mut view, &[key(KeyCode::Char('f'))]);
        assert!(!view.follow);
        h.keys(&mut view, &[key(KeyCode::Char('f'))]);
        assert_eq!((view.table.selected(), view.follow), (Some(2), true));
        // The runner has no frames for m2.
        h.keys(&mut view, &[key(KeyCode::Right)]);
        let screen = h.screen(&mut view, 80, 5).join("\n");
        assert!(
            screen.contains("m2 (2/2)") && screen.contains("No frames"),
            "{screen}"
        );
    }

    #[tokio::test]
    async fn shows_the_summaries_of_a_real_session_with_the_password_masked() {
        let (addrs, _sim) = crate::sim::start(crate::sim::SimConfig {
            port: 0,
            authentication: crate::dlms::client::Authentication::Low(b"secret12".to_vec()),
            ..Default::default()
        })
        .await
        .unwrap();
        let mut cfg = config(addrs[0].port(), &["m1"]);
        cfg.meters[0].auth = crate::queue::Auth::Low(crate::queue::Secret::new("secret12"));
        let mut h = harness(cfg, &[]);
        h.ctx.runner.test_meter("m1").await.unwrap();
        let mut view = TraceView::default();
        view.refresh(&mut h.ctx);
        let screen = h.screen(&mut view, 100, 10).join("\n");
        assert!(
            screen.contains("AARQ LN mechanism low") && screen.contains("AARE accepted"),
            "{screen}"
        );
        h.keys(&mut view, &[key(KeyCode::Char('g')), key(KeyCode::Enter)]);
        let popup = h.screen(&mut view, 100, 20).join("\n");
        assert!(
            popup.contains("** ** ** ** ** ** ** **") && !popup.contains("73 65 63 72"),
            "{popup}"
        );
    }

    #[tokio::test]
    async fn no_key_panics_at_any_size() {
        let mut h = harness(config(1, &["m1"]), &[]);
        let mut view = TraceView {
            entries: vec![aarq(), aare()],
            ..TraceView::default()
        };
        for k in every_key() {
            h.keys(&mut view, &[k, key(KeyCode::Enter)]);
            h.screen(&mut view, 20, 5);
            h.keys(&mut view, &[key(KeyCode::Esc)]);
            h.screen(&mut view, 80, 24);
        }
        // The queue has no meters after all.
        let mut h = harness(crate::queue::Config::default(), &[]);
        view.refresh(&mut h.ctx);
        assert!(h.screen(&mut view, 40, 5).join("\n").contains("No meters"));
    }
}
