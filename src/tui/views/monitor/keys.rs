//! The Monitor view's keys: the table its key handling and its help are drawn from.

use crate::tui::keymap::{Binding, KeyPress};
use ratatui::crossterm::event::KeyCode;

/// What the Monitor view's keys do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Up,
    Down,
    First,
    Last,
    ReadNow,
    Detail,
}

/// The Monitor view's keys.
pub const KEYS: &[Binding<Action>] = &[
    Binding {
        keys: &[
            (KeyPress::new(KeyCode::Enter), Action::Detail),
            (KeyPress::ch('i'), Action::Detail),
        ],
        label: "Enter, i",
        help: "the item's last row in full: its whole error and the frames behind it",
        hint: None,
    },
    Binding {
        keys: &[
            (KeyPress::new(KeyCode::Up), Action::Up),
            (KeyPress::new(KeyCode::Down), Action::Down),
            (KeyPress::ch('k'), Action::Up),
            (KeyPress::ch('j'), Action::Down),
        ],
        label: "↑/↓, j/k",
        help: "select an item (the chart follows)",
        hint: None,
    },
    Binding {
        keys: &[
            (KeyPress::ch('g'), Action::First),
            (KeyPress::ch('G'), Action::Last),
            (KeyPress::new(KeyCode::Home), Action::First),
            (KeyPress::new(KeyCode::End), Action::Last),
        ],
        label: "g / G",
        help: "first / last item",
        hint: None,
    },
    Binding {
        keys: &[(KeyPress::ch('r'), Action::ReadNow)],
        label: "r",
        help: "read the selected item's request now",
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
