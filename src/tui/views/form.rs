//! A small form for dialogs and filter bars: labelled one-line fields and an inline error.

use crate::tui::keymap::{self, Binding, KeyPress};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};
use ratatui::Frame;

/// One line of a [`InputForm`]: free text, or a choice among fixed words.
#[derive(Debug, Clone)]
pub struct InputField {
    label: &'static str,
    text: Vec<char>,
    /// Insertion point in `text` (chars, so editing never splits a UTF-8 sequence).
    cursor: usize,
    choices: &'static [&'static str],
}

impl InputField {
    /// A free-text field holding `text`, cursor at the end.
    pub fn text(label: &'static str, text: &str) -> InputField {
        let text: Vec<char> = text.chars().collect();
        InputField {
            label,
            cursor: text.len(),
            text,
            choices: &[],
        }
    }

    /// A field cycling through `choices` with ←/→ or Space, showing `choices[selected]`.
    pub fn choice(
        label: &'static str,
        choices: &'static [&'static str],
        selected: usize,
    ) -> InputField {
        InputField {
            label,
            text: Vec::new(),
            cursor: selected.min(choices.len().saturating_sub(1)),
            choices,
        }
    }

    fn value(&self) -> String {
        match self.choices.get(self.cursor) {
            Some(choice) => (*choice).to_string(),
            _ => self.text.iter().collect::<String>().trim().to_string(),
        }
    }

    /// Applies an editing key; false when the key means nothing to a field.
    fn handle_key(&mut self, key: KeyEvent) -> bool {
        if !self.choices.is_empty() {
            let n = self.choices.len();
            match key.code {
                KeyCode::Right | KeyCode::Char(' ') => self.cursor = (self.cursor + 1) % n,
                KeyCode::Left => self.cursor = (self.cursor + n - 1) % n,
                _ => return false,
            }
            return true;
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match key.code {
            KeyCode::Char('u') if ctrl => {
                self.text.clear();
                self.cursor = 0;
            }
            KeyCode::Char(c) if !ctrl => {
                self.text.insert(self.cursor, c);
                self.cursor += 1;
            }
            KeyCode::Backspace if self.cursor > 0 => {
                self.cursor -= 1;
                self.text.remove(self.cursor);
            }
            KeyCode::Delete if self.cursor < self.text.len() => {
                self.text.remove(self.cursor);
            }
            KeyCode::Left => self.cursor = self.cursor.saturating_sub(1),
            KeyCode::Right => self.cursor = (self.cursor + 1).min(self.text.len()),
            KeyCode::Home => self.cursor = 0,
            KeyCode::End => self.cursor = self.text.len(),
            _ => return false,
        }
        true
    }

    /// The value as spans fitting `width` columns, the cursor shown when `focused`.
    fn spans(&self, focused: bool, width: usize) -> Vec<Span<'static>> {
        let cursor = Style::default().add_modifier(Modifier::REVERSED);
        if !self.choices.is_empty() {
            let shown = format!("‹ {} ›", self.value());
            return vec![if focused {
                Span::styled(shown, cursor)
            } else {
                Span::raw(shown)
            }];
        }
        // Scroll horizontally so the cursor stays visible in a narrow popup.
        let start = (self.cursor + 1).saturating_sub(width.max(1));
        let end = self.text.len().min(start + width.max(1));
        let before: String = self.text[start..self.cursor.max(start)].iter().collect();
        if !focused {
            return vec![Span::raw(self.text[start..end].iter().collect::<String>())];
        }
        let at = self.text.get(self.cursor).copied().unwrap_or(' ');
        let after: String = self
            .text
            .get(self.cursor + 1..end.max(self.cursor + 1))
            .unwrap_or_default()
            .iter()
            .collect();
        vec![
            Span::raw(before),
            Span::styled(at.to_string(), cursor),
            Span::raw(after),
        ]
    }
}

/// What a key did to a [`InputForm`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Enter: the caller checks the values and closes the form or sets an error.
    Submit,
    /// Esc: the caller drops the form.
    Cancel,
    /// Still editing.
    Editing,
}

/// What a dialog's keys do (other keys edit the focused field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormAction {
    /// Submit the form.
    Submit,
    /// Close it.
    Cancel,
    /// Focus the next field.
    Next,
    /// Focus the previous field.
    Previous,
}

/// Labelled fields, one focused, with an error line under them.
#[derive(Debug, Clone)]
pub struct InputForm {
    title: String,
    fields: Vec<InputField>,
    focus: usize,
    error: Option<String>,
    /// What the typed values mean, shown when there is no error (validation while typing).
    hint: Option<String>,
}

impl InputForm {
    /// The keys of every dialog.
    pub const KEYS: &'static [Binding<FormAction>] = &[Binding {
        keys: &[
            (KeyPress::new(KeyCode::Tab), FormAction::Next),
            (KeyPress::new(KeyCode::Down), FormAction::Next),
            (KeyPress::new(KeyCode::BackTab), FormAction::Previous),
            (KeyPress::new(KeyCode::Up), FormAction::Previous),
            (KeyPress::new(KeyCode::Enter), FormAction::Submit),
            (KeyPress::new(KeyCode::Esc), FormAction::Cancel),
        ],
        label: "Tab, Enter, Esc",
        help: "in a dialog: next field, ok, cancel",
        hint: None,
    }];

    /// A form titled `title` with `fields`, the first one focused.
    pub fn new(title: impl Into<String>, fields: Vec<InputField>) -> InputForm {
        InputForm {
            title: title.into(),
            fields,
            focus: 0,
            error: None,
            hint: None,
        }
    }

    /// The trimmed value of the field labelled `label` ("" if there is none).
    pub fn value(&self, label: &str) -> String {
        self.fields
            .iter()
            .find(|f| f.label == label)
            .map(InputField::value)
            .unwrap_or_default()
    }

    /// Shows `error` under the fields until the next edit.
    pub fn set_error(&mut self, error: impl Into<String>) {
        self.error = Some(error.into());
    }

    /// Shows `hint` under the fields while there is no error.
    pub fn set_hint(&mut self, hint: impl Into<String>) {
        self.hint = Some(hint.into());
    }

    /// The error shown, if any.
    pub fn error(&self) -> Option<&str> {
        self.error.as_deref()
    }

    /// Handles a key: Enter submits, Esc cancels, Tab/↓ and Shift-Tab/↑ move between fields.
    pub fn handle_key(&mut self, key: KeyEvent) -> Outcome {
        let n = self.fields.len().max(1);
        match keymap::action(InputForm::KEYS, &key) {
            Some(FormAction::Submit) => return Outcome::Submit,
            Some(FormAction::Cancel) => return Outcome::Cancel,
            Some(FormAction::Next) => self.focus = (self.focus + 1) % n,
            Some(FormAction::Previous) => self.focus = (self.focus + n - 1) % n,
            None => {
                if let Some(field) = self.fields.get_mut(self.focus) {
                    if field.handle_key(key) {
                        self.error = None;
                    }
                }
            }
        }
        Outcome::Editing
    }

    /// Rows the form needs: the fields, the error or hint line, and the border.
    pub fn height(&self) -> u16 {
        self.fields.len() as u16 + 3
    }

    /// Draws the form centred over `area`, as a dialog.
    pub fn render_popup(&self, f: &mut Frame, area: Rect) {
        let popup = area.centered(Constraint::Length(64), Constraint::Length(self.height()));
        self.render(f, popup);
    }

    /// Draws the form filling `area`.
    pub fn render(&self, f: &mut Frame, area: Rect) {
        f.render_widget(Clear, area);
        let label_width = self.fields.iter().map(|f| f.label.len()).max().unwrap_or(0);
        let value_width = usize::from(area.width).saturating_sub(label_width + 4);
        let mut lines: Vec<Line> = self
            .fields
            .iter()
            .enumerate()
            .map(|(i, field)| {
                let focused = i == self.focus;
                let label_style = if focused {
                    Style::default().add_modifier(Modifier::BOLD)
                } else {
                    Style::default().fg(Color::DarkGray)
                };
                let mut spans = vec![Span::styled(
                    format!("{:>label_width$} ", field.label),
                    label_style,
                )];
                spans.extend(field.spans(focused, value_width));
                Line::from(spans)
            })
            .collect();
        lines.push(match (&self.error, &self.hint) {
            (Some(e), _) => Line::styled(e.clone(), Style::default().fg(Color::Red)),
            (None, Some(h)) => Line::styled(h.clone(), Style::default().fg(Color::Cyan)),
            (None, None) => Line::styled(
                "Enter ok · Esc cancel · Tab next field",
                Style::default().fg(Color::DarkGray),
            ),
        });
        let block = Block::default()
            .borders(Borders::ALL)
            .title(format!(" {} ", self.title));
        f.render_widget(Paragraph::new(lines).block(block), area);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::views::testkit::key;

    #[test]
    fn edits_text_moves_focus_and_cycles_choices() {
        let mut form = InputForm::new(
            "t",
            vec![
                InputField::text("name", "ab"),
                InputField::choice("status", &["any", "ok", "failed"], 0),
            ],
        );
        for code in [
            KeyCode::Left,
            KeyCode::Char('é'),
            KeyCode::End,
            KeyCode::Backspace,
            KeyCode::Char('c'),
        ] {
            assert_eq!(form.handle_key(key(code)), Outcome::Editing);
        }
        assert_eq!(form.value("name"), "aéc");
        form.handle_key(key(KeyCode::Tab));
        form.handle_key(key(KeyCode::Left));
        assert_eq!(form.value("status"), "failed");
        form.set_error("bad");
        form.handle_key(key(KeyCode::Char(' ')));
        assert_eq!(
            (form.value("status").as_str(), form.error.as_deref()),
            ("any", None)
        );
        assert_eq!(form.handle_key(key(KeyCode::Enter)), Outcome::Submit);
        assert_eq!(form.handle_key(key(KeyCode::Esc)), Outcome::Cancel);
        assert_eq!(form.value("missing"), "");
    }

    #[test]
    fn long_text_scrolls_to_keep_the_cursor_visible() {
        let field = InputField::text("f", "0123456789");
        let shown: String = field
            .spans(true, 4)
            .iter()
            .map(|s| s.content.to_string())
            .collect();
        assert_eq!(shown, "789 ");
    }
}
