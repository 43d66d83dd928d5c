//! The Log view's list of changes made to meters (the `writes` table): SETs, ACTIONs and clock
//! syncs from the command line and from action requests, newest first, with old → new and
//! what came of each.
//!
//! ```text
//! ┌ Changes made to meters (newest 200) ─────────────────────────────────────────┐
//! │ time                source  meter request                      old → new   outcome │
//! └──────────────────────────────────────────────────────────────────────────────┘
//! ```

use crate::store::{WriteOutcome, WriteRecord};
use crate::tui::app::{Ctx, Tab, TaskResult};
use chrono::{DateTime, Local};
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, Wrap};
use ratatui::Frame;

/// How many changes the list shows.
pub const SHOWN: usize = 200;

/// The list and where its rows come from.
#[derive(Debug, Default)]
pub struct Changes {
    rows: Vec<(i64, WriteRecord)>,
    problem: Option<String>,
    loaded: bool,
}

impl Changes {
    /// Asks the query thread for the newest changes; they arrive as [`TaskResult::Writes`].
    pub fn reload(&self, ctx: &Ctx) {
        let answer = ctx.answer(Tab::Log, TaskResult::Writes);
        ctx.queries.writes(SHOWN, answer);
    }

    /// Takes an answer.
    pub fn apply(&mut self, rows: Result<Vec<(i64, WriteRecord)>, String>) {
        self.loaded = true;
        match rows {
            Ok(rows) => {
                self.rows = rows;
                self.problem = None;
            }
            Err(e) => self.problem = Some(e),
        }
    }

    /// Draws the list.
    pub fn render(&self, f: &mut Frame, area: Rect) {
        let block = Block::default().borders(Borders::ALL).title(format!(
            " Changes made to meters (newest {SHOWN}) · w: back to readings "
        ));
        let note = |f: &mut Frame, text: &str, style: Style| {
            let p = Paragraph::new(text.to_string())
                .style(style)
                .wrap(Wrap { trim: true })
                .block(block.clone());
            f.render_widget(p, area);
        };
        if let Some(p) = &self.problem {
            return note(f, p, Style::default().fg(Color::Red));
        }
        if self.rows.is_empty() {
            let text = if self.loaded {
                "No changes made to meters yet (write, call, clock sync, or an action request)."
            } else {
                "Reading the changes…"
            };
            return note(f, text, Style::default());
        }
        let header = Row::new(["time", "source", "meter", "change", "old → new", "outcome"])
            .style(Style::default().add_modifier(Modifier::BOLD));
        let rows = self.rows.iter().map(|(_, w)| {
            let time = DateTime::from_timestamp_millis(w.ts_ms)
                .map(|t| {
                    t.with_timezone(&Local)
                        .format("%Y-%m-%d %H:%M:%S")
                        .to_string()
                })
                .unwrap_or_default();
            let values = match (&w.old_value, &w.new_value) {
                (Some(o), Some(n)) => format!("{o} → {n}"),
                (None, Some(n)) => format!("→ {n}"),
                (Some(o), None) => format!("{o} →"),
                (None, None) => String::new(),
            };
            let outcome = match &w.result {
                Some(r) => format!("{}: {r}", w.outcome.name()),
                None => w.outcome.name().to_string(),
            };
            let style = match w.outcome {
                WriteOutcome::Refused | WriteOutcome::Failed => Style::default().fg(Color::Red),
                WriteOutcome::Unknown | WriteOutcome::Sent => Style::default().fg(Color::Yellow),
                WriteOutcome::Done | WriteOutcome::Skipped => Style::default(),
            };
            let esc = |t: &str| crate::text::escape(t).into_owned();
            Row::new([
                Cell::new(time),
                Cell::new(esc(&w.source)),
                Cell::new(esc(&w.meter)),
                Cell::new(esc(&w.request)),
                Cell::new(esc(&values)),
                Cell::new(esc(&outcome)).style(style),
            ])
        });
        let widths = [
            Constraint::Length(19),
            Constraint::Fill(1),
            Constraint::Fill(1),
            Constraint::Fill(3),
            Constraint::Fill(2),
            Constraint::Fill(2),
        ];
        f.render_widget(Table::new(rows, widths).header(header).block(block), area);
    }
}

#[cfg(test)]
mod tests {
    use crate::store::{Store, WriteOutcome, WriteRecord};
    use crate::tui::app::View;
    use crate::tui::views::log::LogView;
    use crate::tui::views::testkit::{config, harness, key};
    use ratatui::crossterm::event::KeyCode;

    #[tokio::test]
    async fn w_shows_the_changes_made_to_meters_and_back() {
        let mut h = harness(config(1, &["m1"]), &[]);
        let mut store = Store::open(&h.dir.path().join("log.db")).unwrap();
        store
            .begin_write(&WriteRecord {
                ts_ms: 1_700_000_000_000,
                source: "nightly".into(),
                meter: "m1".into(),
                kind: "set".into(),
                obis: "1.0.1.8.0.255".into(),
                class: 3,
                member: 2,
                request: "set 1.0.1.8.0.255:2 to 5".into(),
                old_value: Some("1000000".into()),
                new_value: Some("5".into()),
                outcome: WriteOutcome::Done,
                result: Some("success (0)".into()),
                returned: None,
            })
            .unwrap();
        let mut view = LogView::default();
        h.refresh(&mut view);
        assert!(view.bindings().iter().any(|b| b.label == "w"));
        h.keys(&mut view, &[key(KeyCode::Char('w'))]);
        h.settle(&mut view);
        let screen = h.screen(&mut view, 120, 12).join("\n");
        assert!(screen.contains("Changes made to meters"), "{screen}");
        assert!(screen.contains("nightly"), "{screen}");
        assert!(screen.contains("1000000 → 5"), "{screen}");
        assert!(screen.contains("done: success (0)"), "{screen}");
        h.keys(&mut view, &[key(KeyCode::Char('w'))]);
        h.settle(&mut view);
        let screen = h.screen(&mut view, 120, 12).join("\n");
        assert!(screen.contains("No rows logged yet"), "{screen}");
    }
}
