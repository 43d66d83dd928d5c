//! A popup listing the preset files of a folder to load one.

use crate::tui::keymap::{self, Binding, KeyPress};
use crate::tui::TuiError;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::widgets::{Block, Borders, Clear, List, ListState};
use ratatui::Frame;
use std::path::{Path, PathBuf};

/// What a key did to a [`Picker`].
#[derive(Debug, PartialEq, Eq)]
pub enum Pick {
    /// Enter on a file.
    Chosen(PathBuf),
    /// Esc.
    Cancel,
    /// Still choosing.
    Choosing,
}

/// The `*.toml` files of a folder, one selected.
#[derive(Debug)]
pub struct Picker {
    files: Vec<PathBuf>,
    state: ListState,
}

/// What the picker's keys do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PickAction {
    /// The file above.
    Up,
    /// The file below.
    Down,
    /// Take the selected file.
    Choose,
    /// Close the list.
    Cancel,
}

impl Picker {
    /// The picker's keys.
    pub const KEYS: &'static [Binding<PickAction>] = &[Binding {
        keys: &[
            (KeyPress::new(KeyCode::Up), PickAction::Up),
            (KeyPress::new(KeyCode::Down), PickAction::Down),
            (KeyPress::ch('k'), PickAction::Up),
            (KeyPress::ch('j'), PickAction::Down),
            (KeyPress::new(KeyCode::Enter), PickAction::Choose),
            (KeyPress::new(KeyCode::Esc), PickAction::Cancel),
        ],
        label: "↑↓, Enter, Esc",
        help: "in the preset list: select, load, close",
        hint: None,
    }];

    /// Lists `dir/*.toml` by name; an error when there is none.
    pub fn open(dir: &Path) -> Result<Picker, TuiError> {
        let entries =
            std::fs::read_dir(dir).map_err(|e| TuiError::file("list presets in", dir, e))?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "toml"))
            .collect();
        if files.is_empty() {
            return Err(TuiError::input(format!(
                "no presets (*.toml) in {}",
                dir.display()
            )));
        }
        files.sort();
        Ok(Picker {
            files,
            state: ListState::default().with_selected(Some(0)),
        })
    }

    /// ↑↓ choose, Enter picks, Esc cancels.
    pub fn handle_key(&mut self, key: KeyEvent) -> Pick {
        match keymap::action(Picker::KEYS, &key) {
            Some(PickAction::Up) => self.state.select_previous(),
            Some(PickAction::Down) => self.state.select_next(),
            Some(PickAction::Cancel) => return Pick::Cancel,
            Some(PickAction::Choose) => {
                // The state may point past the end after ↓ on the last file.
                let i = self.state.selected().unwrap_or(0);
                if let Some(file) = self.files.get(i.min(self.files.len().saturating_sub(1))) {
                    return Pick::Chosen(file.clone());
                }
            }
            None => {}
        }
        Pick::Choosing
    }

    /// Draws the list centred over `area`.
    pub fn render(&mut self, f: &mut Frame, area: Rect) {
        let height = (self.files.len() as u16).saturating_add(2).min(20);
        let popup = area.centered(Constraint::Length(60), Constraint::Length(height));
        f.render_widget(Clear, popup);
        let names = self.files.iter().map(|p| {
            p.file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        });
        let list = List::new(names)
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .title(" load a preset (Enter loads, Esc cancels) "),
            )
            .highlight_style(Style::default().add_modifier(Modifier::REVERSED));
        f.render_stateful_widget(list, popup, &mut self.state);
    }
}
