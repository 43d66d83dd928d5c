//! The Trace view.

use crate::tui::app::{Ctx, View};
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

/// The Trace view.
#[derive(Default)]
pub struct TraceView {}

impl View for TraceView {
    fn keys(&self) -> Vec<(&'static str, &'static str)> {
        Vec::new()
    }

    fn handle_key(&mut self, _key: KeyEvent, _ctx: &mut Ctx) -> bool {
        false
    }

    fn render(&mut self, f: &mut Frame, area: Rect, _ctx: &Ctx) {
        f.render_widget(
            Paragraph::new("").block(Block::default().borders(Borders::ALL).title(" Trace ")),
            area,
        );
    }
}
