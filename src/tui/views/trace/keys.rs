//! The Trace view's keys: the frame table's and the frame tree's.

use crate::tui::keymap::{Binding, KeyPress};
use ratatui::crossterm::event::KeyCode;

/// What the frame table's keys do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    PreviousMeter,
    NextMeter,
    Up,
    Down,
    PageUp,
    PageDown,
    Oldest,
    Newest,
    Follow,
    Open,
    Search,
    NextMatch,
    PreviousMatch,
}

/// The frame table's keys.
pub const KEYS: &[Binding<Action>] = &[
    Binding {
        keys: &[
            (KeyPress::new(KeyCode::Left), Action::PreviousMeter),
            (KeyPress::new(KeyCode::Right), Action::NextMeter),
            (KeyPress::ch('m'), Action::NextMeter),
        ],
        label: "←/→, m",
        help: "previous / next meter",
        hint: Some("←→ meter"),
    },
    Binding {
        keys: &[
            (KeyPress::new(KeyCode::Up), Action::Up),
            (KeyPress::new(KeyCode::Down), Action::Down),
            (KeyPress::ch('k'), Action::Up),
            (KeyPress::ch('j'), Action::Down),
        ],
        label: "↑↓, j/k",
        help: "select a frame (↑ stops following)",
        hint: None,
    },
    Binding {
        keys: &[
            (KeyPress::new(KeyCode::PageUp), Action::PageUp),
            (KeyPress::new(KeyCode::PageDown), Action::PageDown),
        ],
        label: "PgUp/PgDn",
        help: "a page up / down",
        hint: None,
    },
    Binding {
        keys: &[
            (KeyPress::ch('g'), Action::Oldest),
            (KeyPress::ch('G'), Action::Newest),
            (KeyPress::new(KeyCode::Home), Action::Oldest),
            (KeyPress::new(KeyCode::End), Action::Newest),
        ],
        label: "g/G, Home/End",
        help: "oldest / newest frame",
        hint: None,
    },
    Binding {
        keys: &[(KeyPress::ch('f'), Action::Follow)],
        label: "f",
        help: "follow the newest frame on / off",
        hint: Some("f follow"),
    },
    Binding {
        keys: &[(KeyPress::new(KeyCode::Enter), Action::Open)],
        label: "Enter",
        help: "the frame decoded as a tree (ciphered APDUs opened with the meter's keys)",
        hint: Some("Enter tree"),
    },
    Binding {
        keys: &[(KeyPress::ch('/'), Action::Search)],
        label: "/",
        help: "search the frames: summaries, decoded fields and values, bytes in hex",
        hint: Some("/ search"),
    },
    Binding {
        keys: &[
            (KeyPress::ch('n'), Action::NextMatch),
            (KeyPress::ch('N'), Action::PreviousMatch),
        ],
        label: "n/N",
        help: "the next / previous frame that matches the search",
        hint: Some("n/N match"),
    },
];

/// What the frame tree's keys do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TreeAction {
    Close,
    Up,
    Down,
    PageUp,
    PageDown,
    First,
    Last,
    Toggle,
    Fold,
    Unfold,
    OpenAll,
    FoldAll,
    Search,
    NextMatch,
    PreviousMatch,
}

/// The frame tree's keys.
pub const TREE_KEYS: &[Binding<TreeAction>] = &[
    Binding {
        keys: &[(KeyPress::new(KeyCode::Esc), TreeAction::Close)],
        label: "Esc",
        help: "in the tree: close it (back to the frames)",
        hint: None,
    },
    Binding {
        keys: &[
            (KeyPress::new(KeyCode::Up), TreeAction::Up),
            (KeyPress::new(KeyCode::Down), TreeAction::Down),
            (KeyPress::ch('k'), TreeAction::Up),
            (KeyPress::ch('j'), TreeAction::Down),
            (KeyPress::new(KeyCode::PageUp), TreeAction::PageUp),
            (KeyPress::new(KeyCode::PageDown), TreeAction::PageDown),
            (KeyPress::ch('g'), TreeAction::First),
            (KeyPress::ch('G'), TreeAction::Last),
            (KeyPress::new(KeyCode::Home), TreeAction::First),
            (KeyPress::new(KeyCode::End), TreeAction::Last),
        ],
        label: "↑↓ j/k PgUp/PgDn g/G",
        help: "in the tree: select a field; its bytes show beside the tree",
        hint: None,
    },
    Binding {
        keys: &[
            (KeyPress::new(KeyCode::Enter), TreeAction::Toggle),
            (KeyPress::ch(' '), TreeAction::Toggle),
        ],
        label: "Enter, Space",
        help: "in the tree: fold / unfold the field",
        hint: None,
    },
    Binding {
        keys: &[
            (KeyPress::new(KeyCode::Left), TreeAction::Fold),
            (KeyPress::ch('h'), TreeAction::Fold),
            (KeyPress::new(KeyCode::Right), TreeAction::Unfold),
            (KeyPress::ch('l'), TreeAction::Unfold),
        ],
        label: "←/→, h/l",
        help: "in the tree: fold (or up to the enclosing field) / unfold (or into it)",
        hint: None,
    },
    Binding {
        keys: &[
            (KeyPress::ch('+'), TreeAction::OpenAll),
            (KeyPress::ch('*'), TreeAction::OpenAll),
            (KeyPress::ch('-'), TreeAction::FoldAll),
        ],
        label: "+/-",
        help: "in the tree: unfold / fold everything",
        hint: None,
    },
    Binding {
        keys: &[(KeyPress::ch('/'), TreeAction::Search)],
        label: "/",
        help: "in the tree: search names, values and bytes (hex); folded fields open to a match",
        hint: None,
    },
    Binding {
        keys: &[
            (KeyPress::ch('n'), TreeAction::NextMatch),
            (KeyPress::ch('N'), TreeAction::PreviousMatch),
        ],
        label: "n/N",
        help: "in the tree: next / previous match",
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
        assert_eq!(keymap::bound_twice(&keymap::keys(TREE_KEYS)), []);
    }
}
