//! The form of the selected node: one line per field, problems in red under their field, the
//! next fire times under a schedule, and the outcome of the last test.

use super::field::{self, Entry, Field};
use super::input::LineEdit;
use super::node::Node;
use super::problems::Problems;
use crate::queue::Config;
use crate::schedule::Schedule;
use chrono::{DateTime, Local};
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

/// Width of the label column.
const LABEL: usize = 18;

/// Everything the form shows.
pub struct FormPane<'a> {
    /// The working copy.
    pub config: &'a Config,
    /// The node shown.
    pub node: Node,
    /// Its fields.
    pub fields: &'a [Field],
    /// The selected field, when the form has the focus.
    pub selected: Option<usize>,
    /// The text being edited (of the selected field).
    pub editing: Option<&'a LineEdit>,
    /// What is wrong with that text, checked as it is typed.
    pub live: Option<&'a str>,
    /// Problems of the working copy.
    pub problems: &'a Problems,
    /// The last test of this node: `None` while it runs.
    pub test: Option<&'a Option<Result<String, crate::tui::TuiError>>>,
    /// Now, for the schedule preview.
    pub now: DateTime<Local>,
    /// The runner's start, for the schedule preview.
    pub start: DateTime<Local>,
}

/// Draws the form into `area`, scrolled so the selected field and its notes are visible.
pub fn render(f: &mut Frame, area: Rect, form: &FormPane) {
    let width = usize::from(area.width);
    let mut lines = Vec::new();
    let mut selected = 0..0;
    for (n, &field) in form.fields.iter().enumerate() {
        let first = lines.len();
        field_lines(form, n, field, width, &mut lines);
        if form.selected == Some(n) {
            selected = first..lines.len();
        }
    }
    let bottom = form.problems.at_bottom(form.node);
    if !bottom.is_empty() {
        lines.push(Line::default());
    }
    for problem in bottom {
        lines.extend(wrapped(&format!("✗ {problem}"), width, 1, red()));
    }
    if let Some(test) = form.test {
        lines.push(Line::default());
        let (text, color) = match test {
            None => ("testing…".to_string(), Color::Yellow),
            Some(Ok(r)) => (format!("✓ {r}"), Color::Green),
            Some(Err(e)) => (format!("✗ {e}"), Color::Red),
        };
        let text = format!("test: {text}");
        lines.extend(wrapped(&text, width, 1, Style::default().fg(color)));
    }
    let height = usize::from(area.height);
    let scroll = selected.end.saturating_sub(height).min(selected.start);
    let scroll = u16::try_from(scroll).unwrap_or(u16::MAX);
    f.render_widget(Paragraph::new(lines).scroll((scroll, 0)), area);
}

fn red() -> Style {
    Style::default().fg(Color::Red)
}

fn dim() -> Style {
    Style::default().fg(Color::DarkGray)
}

/// The field's line, then its problem, then (schedule) its preview or (password, key) a hint.
fn field_lines(
    form: &FormPane,
    n: usize,
    field: Field,
    width: usize,
    out: &mut Vec<Line<'static>>,
) {
    let selected = form.selected == Some(n);
    let editing = form.editing.filter(|_| selected);
    let invalid = form.problems.invalid.get(&(form.node, field));
    let label_style = if selected {
        Style::default().add_modifier(Modifier::REVERSED)
    } else {
        Style::default().fg(Color::Cyan)
    };
    let mut spans = vec![
        Span::styled(format!(" {:<LABEL$}", field.label()), label_style),
        Span::raw(" "),
    ];
    let pick = matches!(field.entry(), Entry::Pick | Entry::PickOrType);
    let secret = field.entry() == Entry::Secret;
    match (editing, invalid) {
        (Some(edit), _) => spans.extend(edit.spans(secret)),
        (None, Some(invalid)) if secret => spans.push(Span::styled(
            "*".repeat(invalid.text.chars().count()),
            red(),
        )),
        (None, Some(invalid)) => spans.push(Span::styled(invalid.text.clone(), red())),
        (None, None) => {
            let text = field::text(form.config, form.node, field);
            match text.as_str() {
                "" => spans.push(Span::styled("—", dim())),
                _ if pick && selected => spans.push(Span::raw(format!("◂ {text} ▸"))),
                _ => spans.push(Span::raw(text)),
            }
        }
    }
    out.push(Line::from(spans));
    let indent = LABEL + 2;
    let problem = match editing {
        // While typing: the typed text's problem (the schedule's preview says its own).
        Some(edit) if field == Field::Schedule && edit.text().parse::<Schedule>().is_err() => None,
        Some(_) => form.live,
        None => form.problems.at_field(form.node, field),
    };
    if let Some(problem) = problem {
        out.extend(wrapped(&format!("✗ {problem}"), width, indent, red()));
    }
    match field {
        Field::Schedule => {
            let text = match (editing, invalid) {
                (Some(edit), _) => Some(edit.text().to_string()),
                // The problem under the field already says why the kept text does not parse.
                (None, Some(_)) => None,
                (None, None) => Some(field::text(form.config, form.node, field)),
            };
            if let Some(text) = text {
                for line in preview(&text, form) {
                    out.extend(wrapped(&line.0, width, indent, line.1));
                }
            }
        }
        Field::BlockKey | Field::AuthKey | Field::DedicatedKey if editing.is_some() => {
            out.extend(wrapped(
                "type 32 hex digits; Enter with nothing typed keeps the current key, - removes it",
                width,
                indent,
                dim(),
            ))
        }
        _ if secret && editing.is_some() => out.extend(wrapped(
            &format!(
                "type the new {}; Enter with nothing typed keeps the current one",
                field.label()
            ),
            width,
            indent,
            dim(),
        )),
        _ => {}
    }
}

/// The next three fire times of a schedule text, or why there are none.
fn preview(text: &str, form: &FormPane) -> Vec<(String, Style)> {
    let schedule = match text.parse::<Schedule>() {
        Ok(s) => s,
        Err(e) => return vec![(format!("✗ {e}"), red())],
    };
    if let Schedule::Event(name) = &schedule {
        return vec![(format!("fires when event {name} is raised"), dim())];
    }
    let times = schedule.preview(&form.now, &form.start, 3);
    if times.is_empty() {
        return vec![("does not fire again".into(), dim())];
    }
    let next = times
        .iter()
        .map(|t| (format!("· {}", t.format("%Y-%m-%d %H:%M:%S %a")), dim()));
    std::iter::once(("next fires:".to_string(), dim()))
        .chain(next)
        .collect()
}

/// `text` word-wrapped into lines that fit `width` after `indent` spaces (long words are cut).
fn wrapped(text: &str, width: usize, indent: usize, style: Style) -> Vec<Line<'static>> {
    let room = width.saturating_sub(indent + 1).max(8);
    let mut rows: Vec<String> = Vec::new();
    let mut row = String::new();
    for word in text.split(' ') {
        let chars: Vec<char> = word.chars().collect();
        for piece in chars.chunks(room) {
            let used = row.chars().count();
            if used > 0 && used + 1 + piece.len() > room {
                rows.push(std::mem::take(&mut row));
            }
            if !row.is_empty() {
                row.push(' ');
            }
            row.extend(piece);
        }
    }
    rows.push(row);
    rows.into_iter()
        .map(|r| Line::from(vec![Span::raw(" ".repeat(indent)), Span::styled(r, style)]))
        .collect()
}
