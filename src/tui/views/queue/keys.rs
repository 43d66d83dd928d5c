//! The Queue view's keymaps: keys of the whole view, moving, the tree, the form, a field
//! being edited, and the yes/no question. Footers and the help are drawn from these tables.

use crate::tui::keymap::{Binding, KeyPress};
use ratatui::crossterm::event::KeyCode;

/// Keys of the whole view (tree and form).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Common {
    Save,
    Undo,
    Test,
}

pub const COMMON: &[Binding<Common>] = &[
    Binding {
        keys: &[(KeyPress::ch('u'), Common::Undo)],
        label: "u",
        help: "undo all unsaved changes (asks first)",
        hint: None,
    },
    Binding {
        keys: &[(KeyPress::ch('t'), Common::Test)],
        label: "t",
        help: "test the node with the running queue",
        hint: Some("t test"),
    },
    Binding {
        // Plain keys match with Ctrl too, so this is also Ctrl-s.
        keys: &[(KeyPress::ch('s'), Common::Save)],
        label: "s, Ctrl-s",
        help: "check and save the queue, then run it",
        hint: Some("s save"),
    },
];

/// Moving in the focused pane (tree rows or form fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    Up,
    Down,
    First,
    Last,
}

pub const MOVE: &[Binding<Move>] = &[
    Binding {
        keys: &[
            (KeyPress::new(KeyCode::Up), Move::Up),
            (KeyPress::new(KeyCode::Down), Move::Down),
            (KeyPress::ch('k'), Move::Up),
            (KeyPress::ch('j'), Move::Down),
        ],
        label: "↑/↓, j/k",
        help: "move in the tree or between fields",
        hint: None,
    },
    Binding {
        keys: &[
            (KeyPress::ch('g'), Move::First),
            (KeyPress::ch('G'), Move::Last),
            (KeyPress::new(KeyCode::Home), Move::First),
            (KeyPress::new(KeyCode::End), Move::Last),
        ],
        label: "g/G, Home/End",
        help: "first / last row or field",
        hint: None,
    },
];

/// Keys of the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tree {
    Open,
    Add,
    AddChild,
    Duplicate,
    MoveUp,
    MoveDown,
    Toggle,
    Delete,
    Probe,
    LastError,
}

pub const TREE: &[Binding<Tree>] = &[
    Binding {
        keys: &[
            (KeyPress::new(KeyCode::Enter), Tree::Open),
            (KeyPress::new(KeyCode::Right), Tree::Open),
            (KeyPress::ch('l'), Tree::Open),
        ],
        label: "Enter, →/l",
        help: "open the form of the selected node",
        hint: None,
    },
    Binding {
        keys: &[(KeyPress::ch('a'), Tree::Add)],
        label: "a",
        help: "add a node after the selected one",
        hint: Some("a add"),
    },
    Binding {
        keys: &[(KeyPress::ch('A'), Tree::AddChild)],
        label: "A",
        help: "add a child (meter, item; a request on a meter)",
        hint: Some("A child"),
    },
    Binding {
        keys: &[(KeyPress::ch('c'), Tree::Duplicate)],
        label: "c",
        help: "duplicate the selected node",
        hint: Some("c copy"),
    },
    Binding {
        keys: &[
            (KeyPress::ch('K'), Tree::MoveUp),
            (KeyPress::ch('J'), Tree::MoveDown),
        ],
        label: "K / J",
        help: "move the node up / down",
        hint: Some("K/J move"),
    },
    Binding {
        keys: &[
            (KeyPress::ch('e'), Tree::Toggle),
            (KeyPress::ch(' '), Tree::Toggle),
        ],
        label: "e, Space",
        help: "enable / disable the node",
        hint: Some("e on/off"),
    },
    Binding {
        keys: &[
            (KeyPress::ch('d'), Tree::Delete),
            (KeyPress::new(KeyCode::Delete), Tree::Delete),
        ],
        label: "d",
        help: "delete the node (asks first)",
        hint: Some("d delete"),
    },
    Binding {
        keys: &[(KeyPress::ch('i'), Tree::LastError)],
        label: "i",
        help: "the last failure of the selected request, meter or item in full (error, frames, when, how often)",
        hint: Some("i last error"),
    },
    Binding {
        keys: &[(KeyPress::ch('p'), Tree::Probe)],
        label: "p",
        help:
            "probe a connection for a meter and add it (tries interfaces, addresses, referencing)",
        hint: None,
    },
];

/// Keys of the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormKey {
    /// EditKey the field, or take the next choice of a pick-only field.
    Activate,
    /// The previous choice; on a text field, back to the tree.
    Previous,
    /// The next choice.
    Next,
    Back,
}

pub const FORM: &[Binding<FormKey>] = &[
    Binding {
        keys: &[(KeyPress::new(KeyCode::Enter), FormKey::Activate)],
        label: "Enter",
        help: "in the form: edit a field (Enter keeps, Esc cancels)",
        hint: Some("Enter edit"),
    },
    Binding {
        keys: &[
            (KeyPress::new(KeyCode::Left), FormKey::Previous),
            (KeyPress::new(KeyCode::Right), FormKey::Next),
            (KeyPress::ch('h'), FormKey::Previous),
            (KeyPress::ch('l'), FormKey::Next),
            (KeyPress::ch(' '), FormKey::Next),
        ],
        label: "←/→, Space",
        help: "in the form: change a choice",
        hint: Some("←/→ change"),
    },
    Binding {
        keys: &[(KeyPress::new(KeyCode::Esc), FormKey::Back)],
        label: "Esc, ←/h",
        help: "back from the form to the tree",
        hint: Some("Esc back"),
    },
];

/// Keys while a field is being edited (other keys edit the text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EditKey {
    Keep,
    Cancel,
    Clear,
    KeepAndSave,
}

pub const EDIT: &[Binding<EditKey>] = &[
    Binding {
        keys: &[
            (KeyPress::new(KeyCode::Enter), EditKey::Keep),
            (KeyPress::new(KeyCode::Esc), EditKey::Cancel),
        ],
        label: "Enter, Esc",
        help: "while editing: keep / cancel the text",
        hint: Some("Enter keep · Esc cancel"),
    },
    Binding {
        keys: &[(KeyPress::ctrl('u'), EditKey::Clear)],
        label: "Ctrl-u",
        help: "while editing: clear the text",
        hint: Some("Ctrl-u clear"),
    },
    Binding {
        keys: &[(KeyPress::ctrl('s'), EditKey::KeepAndSave)],
        label: "Ctrl-s",
        help: "while editing: keep the text and save",
        hint: None,
    },
];

/// The answer to a yes/no question (other keys keep asking).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Yes,
    No,
}

pub const CONFIRM: &[Binding<Answer>] = &[
    Binding {
        keys: &[
            (KeyPress::ch('y'), Answer::Yes),
            (KeyPress::ch('Y'), Answer::Yes),
        ],
        label: "y",
        help: "in a question: yes",
        hint: Some("y yes"),
    },
    Binding {
        keys: &[
            (KeyPress::ch('n'), Answer::No),
            (KeyPress::ch('N'), Answer::No),
            (KeyPress::new(KeyCode::Esc), Answer::No),
        ],
        label: "n, Esc",
        help: "in a question: no",
        hint: Some("n or Esc no"),
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::keymap::{bound_twice, keys};

    #[test]
    fn no_key_is_bound_twice_in_a_mode() {
        // The tree and the form look keys up in the view's keys, then moving, then their own.
        let tree = [keys(COMMON), keys(MOVE), keys(TREE)].concat();
        let form = [keys(COMMON), keys(MOVE), keys(FORM)].concat();
        assert_eq!(bound_twice(&tree), []);
        assert_eq!(bound_twice(&form), []);
        assert_eq!(bound_twice(&keys(EDIT)), []);
        assert_eq!(bound_twice(&keys(CONFIRM)), []);
    }
}
