//! A logged row in full: every field, the whole status text (an error is never cut short
//! here), how the meter has fared, and the frames exchanged with it around that moment,
//! decoded. Enter on a Log row or a Monitor item opens it.

use super::trace::decoded;
use crate::engine::{Direction, TraceEntry};
use crate::store::Record;
use crate::tui::app::Ctx;
use crate::tui::keymap::{self, Binding, KeyPress};
use chrono::{DateTime, Local};
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

/// Frames this close to a row's time are shown with it.
const NEAR_MS: i64 = 15_000;

/// What the detail's keys do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Close,
    Up,
    Down,
    PageUp,
    PageDown,
}

/// The detail's keys.
pub const KEYS: &[Binding<Key>] = &[
    Binding {
        keys: &[
            (KeyPress::new(KeyCode::Esc), Key::Close),
            (KeyPress::new(KeyCode::Enter), Key::Close),
            (KeyPress::ch('i'), Key::Close),
        ],
        label: "Esc",
        help: "in a row's detail: close it",
        hint: None,
    },
    Binding {
        keys: &[
            (KeyPress::new(KeyCode::Up), Key::Up),
            (KeyPress::new(KeyCode::Down), Key::Down),
            (KeyPress::ch('k'), Key::Up),
            (KeyPress::ch('j'), Key::Down),
            (KeyPress::new(KeyCode::PageUp), Key::PageUp),
            (KeyPress::new(KeyCode::PageDown), Key::PageDown),
        ],
        label: "↑↓ PgUp/PgDn",
        help: "in a row's detail: scroll",
        hint: None,
    },
];

/// A row opened in full.
#[derive(Debug)]
pub struct RowDetail {
    lines: Vec<Line<'static>>,
    scroll: u16,
}

fn local(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .map(|t| {
            t.with_timezone(&Local)
                .format("%Y-%m-%d %H:%M:%S%.3f")
                .to_string()
        })
        .unwrap_or_else(|| ms.to_string())
}

impl RowDetail {
    /// The detail of `r`; `alike` is how many of the rows shown for the same meter and item
    /// have the same status, and of how many.
    pub fn new(r: &Record, ctx: &Ctx, alike: (usize, usize)) -> RowDetail {
        let bold = Style::default().add_modifier(Modifier::BOLD);
        let esc = |s: &str| crate::text::escape(s).into_owned();
        let mut lines = vec![
            Line::styled(
                format!("{} · {} · {}", esc(&r.meter), esc(&r.request), esc(&r.item)),
                bold,
            ),
            Line::from(format!(
                "OBIS {}, class {}, attribute {} · poll {}{}",
                r.obis,
                r.class,
                r.attribute,
                r.poll,
                if r.profile { " · a profile row" } else { "" }
            )),
            Line::from(format!("logged for {}", local(r.ts_ms))),
        ];
        if let Some(t) = &r.meter_time {
            lines.push(Line::from(format!("the meter's time: {t}")));
        }
        let unit = r
            .unit
            .as_deref()
            .map(|u| format!(" {u}"))
            .unwrap_or_default();
        let value = match (&r.exact, r.value, &r.text) {
            (Some(x), _, _) => format!("{x}{unit}"),
            (None, Some(v), _) => format!("{v}{unit}"),
            (None, None, Some(t)) => esc(t),
            _ => "none".into(),
        };
        lines.push(Line::from(format!("value: {value}")));
        let status_style = if r.is_failure() {
            Style::default().fg(Color::Red)
        } else {
            Style::default()
        };
        lines.push(Line::styled(
            format!("status: {}", esc(&r.status)),
            status_style,
        ));
        let (same, of) = alike;
        if of > 1 {
            lines.push(Line::from(format!(
                "{same} of the {of} rows shown for this item have this status"
            )));
        }
        let st = ctx.runner.status();
        if let Some(m) = st.meters.get(&r.meter) {
            let mut health = format!("meter {}: {} runs ok, {} failed", r.meter, m.ok, m.failed);
            if let Some((at, e)) = &m.last_error {
                health.push_str(&format!(
                    "; last error at {}: {}",
                    at.with_timezone(&Local).format("%H:%M:%S"),
                    esc(e)
                ));
            }
            lines.push(Line::from(health));
        }
        lines.push(Line::from(""));
        let meter = ctx.config().meter(&r.meter).cloned();
        let frames: Vec<TraceEntry> = ctx
            .runner
            .trace(&r.meter)
            .into_iter()
            .filter(|e| {
                let at = DateTime::<chrono::Utc>::from(e.at).timestamp_millis();
                (at - r.ts_ms).abs() <= NEAR_MS
            })
            .collect();
        if frames.is_empty() {
            lines.push(Line::from(format!(
                "No frames exchanged with {} within {} s of this row are still kept (the Trace \
                 view keeps the last ones).",
                r.meter,
                NEAR_MS / 1000
            )));
        } else {
            lines.push(Line::styled(
                format!("frames within {} s of this row:", NEAR_MS / 1000),
                bold,
            ));
            for e in &frames {
                let dir = match e.direction {
                    Direction::Tx => "TX",
                    Direction::Rx => "RX",
                };
                let at = DateTime::<Local>::from(e.at).format("%H:%M:%S%.3f");
                lines.push(Line::styled(format!("{at} {dir} {}", e.summary), bold));
                for l in decoded(e, meter.as_ref()).lines() {
                    lines.push(Line::from(format!("  {l}")));
                }
            }
        }
        RowDetail { lines, scroll: 0 }
    }

    /// Handles a key; false when the detail closes.
    pub fn handle_key(&mut self, key: KeyEvent) -> bool {
        match keymap::action(KEYS, &key) {
            Some(Key::Close) => return false,
            Some(Key::Down) => self.scroll = self.scroll.saturating_add(1),
            Some(Key::Up) => self.scroll = self.scroll.saturating_sub(1),
            Some(Key::PageDown) => self.scroll = self.scroll.saturating_add(10),
            Some(Key::PageUp) => self.scroll = self.scroll.saturating_sub(10),
            None => {}
        }
        true
    }

    /// Draws the detail over `area`.
    pub fn render(&self, f: &mut Frame, area: Rect) {
        let popup = area.centered(Constraint::Percentage(94), Constraint::Percentage(90));
        f.render_widget(Clear, popup);
        let block = Block::default()
            .borders(Borders::ALL)
            .title(" row detail (↑↓ scroll, Esc closes) ");
        f.render_widget(
            Paragraph::new(self.lines.clone())
                .wrap(Wrap { trim: false })
                .scroll((self.scroll, 0))
                .block(block),
            popup,
        );
    }
}
