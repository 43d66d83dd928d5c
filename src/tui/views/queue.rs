//! The Queue view.

use crate::tui::app::{Ctx, View};
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

/// The Queue view.
pub struct QueueView {}

impl QueueView {
    /// The view, showing the running queue.
    pub fn new(_ctx: &Ctx) -> Self {
        QueueView {}
    }
}

impl View for QueueView {
    fn keys(&self) -> Vec<(&'static str, &'static str)> {
        Vec::new()
    }

    fn handle_key(&mut self, _key: KeyEvent, _ctx: &mut Ctx) -> bool {
        false
    }

    fn render(&mut self, f: &mut Frame, area: Rect, _ctx: &Ctx) {
        f.render_widget(
            Paragraph::new("").block(Block::default().borders(Borders::ALL).title(" Queue ")),
            area,
        );
    }
}
