//! A one-line text being edited, with a cursor.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::style::{Modifier, Style};
use ratatui::text::Span;

/// The text of a field being edited.
#[derive(Debug, Clone, Default)]
pub struct LineEdit {
    text: String,
    /// Position in characters, 0..=len.
    cursor: usize,
}

impl LineEdit {
    /// Editing `text`, with the cursor at its end.
    pub fn new(text: String) -> Self {
        let cursor = text.chars().count();
        LineEdit { text, cursor }
    }

    /// The text so far.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Applies an editing key (characters, Backspace, Delete, ←/→, Home/End, Ctrl-u clears).
    pub fn key(&mut self, key: KeyEvent) {
        let len = self.text.chars().count();
        match key.code {
            KeyCode::Char('u') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                *self = LineEdit::default();
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                let at = self.byte(self.cursor);
                self.text.insert(at, c);
                self.cursor += 1;
            }
            KeyCode::Backspace if self.cursor > 0 => {
                self.cursor -= 1;
                let at = self.byte(self.cursor);
                self.text.remove(at);
            }
            KeyCode::Delete if self.cursor < len => {
                let at = self.byte(self.cursor);
                self.text.remove(at);
            }
            KeyCode::Left => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Right => self.cursor = (self.cursor + 1).min(len),
            KeyCode::Home => self.cursor = 0,
            KeyCode::End => self.cursor = len,
            _ => {}
        }
    }

    /// The byte offset of character `n`.
    fn byte(&self, n: usize) -> usize {
        self.text
            .char_indices()
            .nth(n)
            .map_or(self.text.len(), |(b, _)| b)
    }

    /// The text with the cursor drawn reversed; `masked` draws every character as `*`.
    pub fn spans(&self, masked: bool) -> Vec<Span<'static>> {
        let shown: String = if masked {
            "*".repeat(self.text.chars().count())
        } else {
            self.text.clone()
        };
        let at = shown
            .char_indices()
            .nth(self.cursor)
            .map_or(shown.len(), |(b, _)| b);
        let (before, rest) = shown.split_at(at);
        let mut rest = rest.chars();
        let under = rest.next().map_or(" ".to_string(), String::from);
        vec![
            Span::raw(before.to_string()),
            Span::styled(under, Style::default().add_modifier(Modifier::REVERSED)),
            Span::raw(rest.as_str().to_string()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(edit: &mut LineEdit, code: KeyCode) {
        edit.key(KeyEvent::new(code, KeyModifiers::NONE));
    }

    #[test]
    fn edits_at_the_cursor() {
        let mut e = LineEdit::new("añb".into());
        press(&mut e, KeyCode::Left);
        press(&mut e, KeyCode::Backspace);
        press(&mut e, KeyCode::Char('x'));
        assert_eq!(e.text(), "axb");
        press(&mut e, KeyCode::Home);
        press(&mut e, KeyCode::Delete);
        press(&mut e, KeyCode::Backspace);
        press(&mut e, KeyCode::End);
        press(&mut e, KeyCode::Right);
        press(&mut e, KeyCode::Delete);
        press(&mut e, KeyCode::Char('!'));
        assert_eq!(e.text(), "xb!");
        e.key(KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL));
        assert_eq!(e.text(), "");
    }

    #[test]
    fn masks_every_character() {
        let e = LineEdit::new("pw".into());
        let shown: String = e
            .spans(true)
            .iter()
            .map(|s| s.content.to_string())
            .collect();
        assert_eq!(shown, "** ");
    }
}
