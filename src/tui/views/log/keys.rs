//! The Log view's keys: the table its key handling and its help are drawn from.

use crate::tui::keymap::{Binding, KeyPress};
use ratatui::crossterm::event::KeyCode;

/// What the Log view's keys do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Down,
    Up,
    OlderPage,
    NewerPage,
    Newest,
    ClearFilter,
    Filter,
    Export,
    Changes,
    Detail,
    NextFailure,
    PreviousFailure,
    FailureKind,
    TimeRange,
    Chart,
}

/// The Log view's keys.
pub const KEYS: &[Binding<Action>] = &[
    Binding {
        keys: &[
            (KeyPress::new(KeyCode::Up), Action::Up),
            (KeyPress::new(KeyCode::Down), Action::Down),
            (KeyPress::ch('k'), Action::Up),
            (KeyPress::ch('j'), Action::Down),
        ],
        label: "↑↓, j/k",
        help: "select a row (turns the page at its ends)",
        hint: None,
    },
    Binding {
        keys: &[
            (KeyPress::new(KeyCode::Enter), Action::Detail),
            (KeyPress::ch('i'), Action::Detail),
        ],
        label: "Enter, i",
        help: "the row in full: its whole error and the frames behind it, decoded",
        hint: Some("Enter row"),
    },
    Binding {
        keys: &[
            (KeyPress::new(KeyCode::PageUp), Action::NewerPage),
            (KeyPress::new(KeyCode::PageDown), Action::OlderPage),
        ],
        label: "PgUp/PgDn",
        help: "newer / older page",
        hint: None,
    },
    Binding {
        keys: &[
            (KeyPress::ch('g'), Action::Newest),
            (KeyPress::new(KeyCode::Home), Action::Newest),
        ],
        label: "g, Home",
        help: "back to the newest rows",
        hint: None,
    },
    Binding {
        keys: &[(KeyPress::ch('w'), Action::Changes)],
        label: "w",
        help: "the changes made to meters (writes: set, action, clock sync) / back to readings",
        hint: Some("w changes"),
    },
    Binding {
        keys: &[(KeyPress::ch('/'), Action::Filter)],
        label: "/",
        help: "filter: meter, item, status, since, until, request, error (a text in the failure)",
        hint: Some("/ filter"),
    },
    Binding {
        keys: &[(KeyPress::new(KeyCode::Esc), Action::ClearFilter)],
        label: "Esc",
        help: "clear the filter",
        hint: None,
    },
    Binding {
        keys: &[
            (KeyPress::ch('f'), Action::NextFailure),
            (KeyPress::ch('F'), Action::PreviousFailure),
        ],
        label: "f/F",
        help: "the next older / newer failure (of the filtered rows), on whatever page it is",
        hint: Some("f/F failure"),
    },
    Binding {
        keys: &[(KeyPress::ch('E'), Action::FailureKind)],
        label: "E",
        help: "on a failed row: only the failures of its kind (the start of its error text)",
        hint: None,
    },
    Binding {
        keys: &[(KeyPress::ch('t'), Action::TimeRange)],
        label: "t",
        help: "time range: every row, the last 15 min, 1 h, 24 h, 7 d (/ types since..until)",
        hint: Some("t time"),
    },
    Binding {
        keys: &[(KeyPress::ch('c'), Action::Chart)],
        label: "c",
        help: "chart the selected row's item over the time range (Esc closes)",
        hint: Some("c chart"),
    },
    Binding {
        keys: &[(KeyPress::ch('x'), Action::Export)],
        label: "x",
        help: "export the filtered rows to CSV",
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
