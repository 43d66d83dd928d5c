//! The Trace view: the last frames exchanged with a meter, decoded and in hex.
//!
//! ```text
//! ┌ Trace · m1 (1/2) · following ──────────────────────────────────────────────┐
//! │ 12:00:00.123 TX AARQ LN mechanism low            000100100001003E603CA1…   │
//! │ 12:00:00.140 RX AARE accepted                    0001000100100029612…      │
//! └────────────────────────────────────────────────────────────────────────────┘
//! ```
//!
//! Secrets never reach the screen: the engine masks them, and every hex shown here comes
//! from [`TraceEntry::hex`], which prints `**` for masked bytes.

use crate::engine::{Direction, TraceEntry};
use crate::tui::app::{Ctx, View};
use crate::tui::keymap::{self, Binding, Help, KeyPress};
use chrono::{DateTime, Local};
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Cell, Clear, Paragraph, Row, Table, TableState, Wrap};
use ratatui::Frame;

/// What the Trace view's keys do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    PreviousMeter,
    NextMeter,
    Up,
    Down,
    PageUp,
    PageDown,
    Oldest,
    Newest,
    Follow,
    Open,
}

/// The Trace view's keys.
const KEYS: &[Binding<Action>] = &[
    Binding {
        keys: &[
            (KeyPress::new(KeyCode::Left), Action::PreviousMeter),
            (KeyPress::new(KeyCode::Right), Action::NextMeter),
            (KeyPress::ch('m'), Action::NextMeter),
        ],
        label: "←/→, m",
        help: "previous / next meter",
        hint: None,
    },
    Binding {
        keys: &[
            (KeyPress::new(KeyCode::Up), Action::Up),
            (KeyPress::new(KeyCode::Down), Action::Down),
            (KeyPress::ch('k'), Action::Up),
            (KeyPress::ch('j'), Action::Down),
        ],
        label: "↑↓, j/k",
        help: "select a frame (↑ stops following)",
        hint: None,
    },
    Binding {
        keys: &[
            (KeyPress::new(KeyCode::PageUp), Action::PageUp),
            (KeyPress::new(KeyCode::PageDown), Action::PageDown),
        ],
        label: "PgUp/PgDn",
        help: "a page up / down",
        hint: None,
    },
    Binding {
        keys: &[
            (KeyPress::ch('g'), Action::Oldest),
            (KeyPress::ch('G'), Action::Newest),
            (KeyPress::new(KeyCode::Home), Action::Oldest),
            (KeyPress::new(KeyCode::End), Action::Newest),
        ],
        label: "g/G, Home/End",
        help: "oldest / newest frame",
        hint: None,
    },
    Binding {
        keys: &[(KeyPress::ch('f'), Action::Follow)],
        label: "f",
        help: "follow the newest frame on / off",
        hint: None,
    },
    Binding {
        keys: &[(KeyPress::new(KeyCode::Enter), Action::Open)],
        label: "Enter",
        help: "the whole frame; Esc closes",
        hint: None,
    },
];

/// What the keys do in the frame popup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Detail {
    Close,
    Down,
    Up,
    PageDown,
    PageUp,
}

/// The frame popup's keys.
const DETAIL_KEYS: &[Binding<Detail>] = &[
    Binding {
        keys: &[
            (KeyPress::new(KeyCode::Esc), Detail::Close),
            (KeyPress::new(KeyCode::Enter), Detail::Close),
        ],
        label: "Esc, Enter",
        help: "in the frame: close it",
        hint: None,
    },
    Binding {
        keys: &[
            (KeyPress::new(KeyCode::Up), Detail::Up),
            (KeyPress::new(KeyCode::Down), Detail::Down),
            (KeyPress::ch('k'), Detail::Up),
            (KeyPress::ch('j'), Detail::Down),
            (KeyPress::new(KeyCode::PageUp), Detail::PageUp),
            (KeyPress::new(KeyCode::PageDown), Detail::PageDown),
        ],
        label: "↑↓, j/k, PgUp/PgDn",
        help: "in the frame: scroll",
        hint: None,
    },
];

/// The Trace view.
#[derive(Debug)]
pub struct TraceView {
    /// Index of the meter in the running queue.
    meter: usize,
    entries: Vec<TraceEntry>,
    table: TableState,
    /// Keep the newest frame selected as frames arrive.
    follow: bool,
    /// The frame in the popup (a copy, so new frames do not change it), its scroll, and the
    /// frame decoded field by field.
    detail: Option<(TraceEntry, u16, String)>,
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
            detail: None,
            page: 10,
        }
    }
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
        self.refresh(ctx);
    }

    fn handle_detail(&mut self, key: KeyEvent) {
        let Some((_, scroll, _)) = &mut self.detail else {
            return;
        };
        match keymap::action(DETAIL_KEYS, &key) {
            Some(Detail::Close) => self.detail = None,
            Some(Detail::Down) => *scroll = scroll.saturating_add(1),
            Some(Detail::Up) => *scroll = scroll.saturating_sub(1),
            Some(Detail::PageDown) => *scroll = scroll.saturating_add(10),
            Some(Detail::PageUp) => *scroll = scroll.saturating_sub(10),
            None => {}
        }
    }

    fn render_detail(entry: &TraceEntry, scroll: u16, tree: &str, f: &mut Frame, area: Rect) {
        let popup = area.centered(Constraint::Percentage(90), Constraint::Percentage(80));
        f.render_widget(Clear, popup);
        // One space between bytes, so wrapping breaks lines between bytes, never inside one.
        let hex = entry.hex();
        let spaced: Vec<String> = hex
            .as_bytes()
            .chunks(2)
            .map(|pair| String::from_utf8_lossy(pair).into_owned())
            .collect();
        let mut lines = vec![
            Line::from(format!(
                "{} {} · {} bytes",
                direction(entry.direction),
                time(entry),
                entry.bytes.len()
            )),
            Line::styled(
                entry.summary.clone(),
                Style::default().add_modifier(Modifier::BOLD),
            ),
            Line::from(""),
            Line::from(spaced.join(" ")),
            Line::from(""),
        ];
        lines.extend(tree.lines().map(|l| Line::from(l.to_string())));
        let block = Block::default()
            .borders(Borders::ALL)
            .title(" frame (↑↓ scroll, Esc closes) ");
        f.render_widget(
            Paragraph::new(lines)
                .wrap(Wrap { trim: false })
                .scroll((scroll, 0))
                .block(block),
            popup,
        );
    }
}

/// The frame decoded field by field (ciphered APDUs opened with the meter's keys, which are
/// never shown), or why it does not decode.
pub(super) fn decoded(entry: &TraceEntry, meter: Option<&crate::queue::Meter>) -> String {
    use crate::dlms::decode::{decode_frame, Keys};
    use crate::dlms::security::{Key, SystemTitle};
    let keys = match meter {
        Some(m) => {
            let s = &m.security;
            Keys {
                block_key: s.block_key.as_ref().map(|k| Key(k.expose())),
                auth_key: s.auth_key.as_ref().map(|k| Key(k.expose())),
                dedicated_key: s.dedicated_key.as_ref().map(|k| Key(k.expose())),
                // A glo- APDU names no sender: ours when we sent it, the meter's otherwise.
                system_title: match entry.direction {
                    Direction::Tx => Some(SystemTitle(s.system_title)),
                    Direction::Rx => s.server_system_title.map(SystemTitle),
                },
            }
        }
        None => Keys::default(),
    };
    match decode_frame(&entry.bytes, &keys) {
        Ok(d) => d.tree.to_text(),
        Err(e) => format!("not decoded as a whole frame: {e}"),
    }
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
        keymap::help(KEYS)
            .chain(keymap::help(DETAIL_KEYS))
            .collect()
    }

    fn handle_key(&mut self, key: KeyEvent, ctx: &mut Ctx) -> bool {
        if self.detail.is_some() {
            self.handle_detail(key);
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
            Action::Open => {
                let meter = ctx.config().meters.get(self.meter).cloned();
                self.detail = current_entry(&self.entries, &self.table)
                    .map(|e| (e.clone(), 0, decoded(e, meter.as_ref())));
            }
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
        let block = Block::default().borders(Borders::ALL).title(title);
        if self.entries.is_empty() {
            let text = format!(
                "No frames exchanged with {} yet (←/→ picks another meter).",
                meter.name
            );
            f.render_widget(
                Paragraph::new(text).wrap(Wrap { trim: true }).block(block),
                area,
            );
        } else {
            self.page = usize::from(area.height.saturating_sub(2)).max(1);
            // No hex cell can show more than the screen is wide.
            let width = usize::from(area.width);
            let rows = self.entries.iter().map(|e| {
                let dir_style = match e.direction {
                    Direction::Tx => Style::default().fg(Color::Cyan),
                    Direction::Rx => Style::default().fg(Color::Green),
                };
                let mut hex = e.hex();
                hex.truncate(width);
                Row::new([
                    Cell::new(time(e)),
                    Cell::new(direction(e.direction)).style(dir_style),
                    Cell::new(e.summary.clone()),
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
            f.render_stateful_widget(table, area, &mut self.table);
        }
        if let Some((entry, scroll, tree)) = &self.detail {
            TraceView::render_detail(entry, *scroll, tree, f, area);
        }
    }

    fn captures_keys(&self) -> bool {
        self.detail.is_some()
    }
}

fn current_entry<'a>(entries: &'a [TraceEntry], table: &TableState) -> Option<&'a TraceEntry> {
    table.selected().and_then(|i| entries.get(i))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_key_is_bound_twice() {
        assert_eq!(keymap::bound_twice(&keymap::keys(KEYS)), []);
        assert_eq!(keymap::bound_twice(&keymap::keys(DETAIL_KEYS)), []);
    }
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
