//! The Objects view's keys: the table its key handling and its help are drawn from.

use crate::tui::keymap::{Binding, KeyPress};
use ratatui::crossterm::event::KeyCode;

/// What the Objects view's keys do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    PreviousMeter,
    NextMeter,
    Read,
    Up,
    Down,
    PageUp,
    PageDown,
    First,
    Last,
    Filter,
    ClearFilter,
    Mark,
    MarkShown,
    Save,
    Load,
    NewRequest,
    Open,
}

/// The Objects view's keys.
pub const KEYS: &[Binding<Action>] = &[
    Binding {
        keys: &[
            (KeyPress::new(KeyCode::Left), Action::PreviousMeter),
            (KeyPress::new(KeyCode::Right), Action::NextMeter),
        ],
        label: "←/→",
        help: "previous / next meter",
        hint: None,
    },
    Binding {
        keys: &[(KeyPress::ch('r'), Action::Read)],
        label: "r",
        help: "read the meter's object list",
        hint: None,
    },
    Binding {
        keys: &[
            (KeyPress::new(KeyCode::Up), Action::Up),
            (KeyPress::new(KeyCode::Down), Action::Down),
            (KeyPress::ch('k'), Action::Up),
            (KeyPress::ch('j'), Action::Down),
            (KeyPress::new(KeyCode::PageUp), Action::PageUp),
            (KeyPress::new(KeyCode::PageDown), Action::PageDown),
        ],
        label: "↑↓, j/k, PgUp/PgDn",
        help: "select an object",
        hint: None,
    },
    Binding {
        keys: &[
            (KeyPress::ch('g'), Action::First),
            (KeyPress::ch('G'), Action::Last),
            (KeyPress::new(KeyCode::Home), Action::First),
            (KeyPress::new(KeyCode::End), Action::Last),
        ],
        label: "g/G, Home/End",
        help: "first / last object",
        hint: None,
    },
    Binding {
        keys: &[
            (KeyPress::ch('/'), Action::Filter),
            (KeyPress::new(KeyCode::Esc), Action::ClearFilter),
        ],
        label: "/",
        help: "filter by OBIS code or name; Esc clears",
        hint: None,
    },
    Binding {
        keys: &[(KeyPress::new(KeyCode::Enter), Action::Open)],
        label: "Enter",
        help: "open the object: its attributes, access rights and methods",
        hint: None,
    },
    Binding {
        keys: &[(KeyPress::ch(' '), Action::Mark)],
        label: "Space",
        help: "mark / unmark the object",
        hint: None,
    },
    Binding {
        keys: &[(KeyPress::ch('*'), Action::MarkShown)],
        label: "*",
        help: "mark / unmark every object shown",
        hint: None,
    },
    Binding {
        keys: &[(KeyPress::ch('s'), Action::Save)],
        label: "s",
        help: "save the marked (or all) objects as a preset",
        hint: None,
    },
    Binding {
        keys: &[(KeyPress::ch('p'), Action::Load)],
        label: "p",
        help: "load a preset from the presets folder",
        hint: None,
    },
    Binding {
        keys: &[(KeyPress::ch('n'), Action::NewRequest)],
        label: "n",
        help: "new request from the marked (or all) objects",
        hint: None,
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::keymap;

    #[test]
    fn no_key_is_bound_twice() {
        assert_eq!(keymap::bound_twice(&keymap::keys(KEYS)), []);
    }
}
