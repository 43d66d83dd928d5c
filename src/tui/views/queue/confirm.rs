//! The yes/no question shown before a delete or an undo.

use ratatui::layout::Rect;
use ratatui::style::{Color, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

/// Draws `question` in a box centred in `area`, with the answer keys (`keys`).
pub fn render(f: &mut Frame, area: Rect, question: &str, keys: &str) {
    let width = area.width.min(60);
    let height = area.height.min(6);
    let popup = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    let text = vec![
        Line::raw(question.to_string()),
        Line::styled(keys.to_string(), Style::default().fg(Color::DarkGray)),
    ];
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(Style::default().fg(Color::Yellow))
        .title(" confirm ");
    f.render_widget(Clear, popup);
    f.render_widget(
        Paragraph::new(text).wrap(Wrap { trim: true }).block(block),
        popup,
    );
}
