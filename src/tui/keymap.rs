//! Keys as data: each view has tables of bindings (keys, the action each key triggers, how
//! the keys are written, what they do, a short footer hint). Key handling looks the action
//! up in the table; the footer hints and the `?` help are drawn from the same tables, so a
//! key and its description cannot drift apart.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// A key: a key code, with or without Ctrl.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyPress {
    code: KeyCode,
    ctrl: bool,
}

impl KeyPress {
    /// A key; it matches with any modifiers unless a Ctrl binding of the same key comes first.
    pub const fn new(code: KeyCode) -> KeyPress {
        KeyPress { code, ctrl: false }
    }

    /// A character key.
    pub const fn ch(c: char) -> KeyPress {
        KeyPress::new(KeyCode::Char(c))
    }

    /// Ctrl and a character.
    pub const fn ctrl(c: char) -> KeyPress {
        KeyPress {
            code: KeyCode::Char(c),
            ctrl: true,
        }
    }

    fn matches(&self, event: &KeyEvent) -> bool {
        self.code == event.code && (!self.ctrl || event.modifiers.contains(KeyModifiers::CONTROL))
    }
}

/// One row of a keymap: the keys and the action of each, and their description.
#[derive(Debug)]
pub struct Binding<A: 'static> {
    /// Each key and the action it triggers (↑ and ↓ share a row but not an action).
    pub keys: &'static [(KeyPress, A)],
    /// How the keys are written in the help ("↑/↓, j/k").
    pub label: &'static str,
    /// What they do.
    pub help: &'static str,
    /// The short form shown in the footer ("a add"), when the footer shows this row.
    pub hint: Option<&'static str>,
}

/// A row of the help overlay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Help {
    /// The keys as written.
    pub label: &'static str,
    /// What they do.
    pub help: &'static str,
}

/// The action `event` triggers in `map`: Ctrl bindings first, then plain keys (which match
/// with any modifiers, as Shift comes with capitals).
pub fn action<A: Copy>(map: &[Binding<A>], event: &KeyEvent) -> Option<A> {
    let keys = || map.iter().flat_map(|b| b.keys.iter());
    keys()
        .find(|(k, _)| k.ctrl && k.matches(event))
        .or_else(|| keys().find(|(k, _)| !k.ctrl && k.matches(event)))
        .map(|(_, a)| *a)
}

/// The help rows of `map`.
pub fn help<A>(map: &[Binding<A>]) -> impl Iterator<Item = Help> + '_ {
    map.iter().map(|b| Help {
        label: b.label,
        help: b.help,
    })
}

/// The footer hints of `map`, joined by `separator`.
pub fn footer<A>(map: &[Binding<A>], separator: &str) -> String {
    map.iter()
        .filter_map(|b| b.hint)
        .collect::<Vec<_>>()
        .join(separator)
}

/// The keys of `map`.
pub fn keys<A>(map: &[Binding<A>]) -> Vec<KeyPress> {
    map.iter()
        .flat_map(|b| b.keys.iter().map(|(k, _)| *k))
        .collect()
}

/// Keys bound more than once among the keys of the tables one mode looks keys up in (a
/// second binding would never be reached).
pub fn bound_twice(keys: &[KeyPress]) -> Vec<KeyPress> {
    let mut twice: Vec<KeyPress> = keys
        .iter()
        .enumerate()
        .filter(|(i, k)| keys[..*i].contains(k))
        .map(|(_, k)| *k)
        .collect();
    twice.dedup();
    twice
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum A {
        Save,
        Up,
        Down,
        Undo,
    }

    const MAP: &[Binding<A>] = &[
        Binding {
            keys: &[
                (KeyPress::new(KeyCode::Up), A::Up),
                (KeyPress::new(KeyCode::Down), A::Down),
            ],
            label: "↑/↓",
            help: "move",
            hint: None,
        },
        Binding {
            keys: &[(KeyPress::ch('s'), A::Save)],
            label: "s",
            help: "save",
            hint: Some("s save"),
        },
        Binding {
            keys: &[(KeyPress::ctrl('s'), A::Undo)],
            label: "Ctrl-s",
            help: "not save",
            hint: Some("^s"),
        },
    ];

    #[test]
    fn looks_up_ctrl_first_then_plain_keys_with_any_modifier() {
        let ev = |c, m| KeyEvent::new(c, m);
        assert_eq!(
            action(MAP, &ev(KeyCode::Down, KeyModifiers::NONE)),
            Some(A::Down)
        );
        assert_eq!(
            action(MAP, &ev(KeyCode::Char('s'), KeyModifiers::NONE)),
            Some(A::Save)
        );
        assert_eq!(
            action(MAP, &ev(KeyCode::Char('s'), KeyModifiers::CONTROL)),
            Some(A::Undo)
        );
        assert_eq!(
            action(MAP, &ev(KeyCode::Char('x'), KeyModifiers::NONE)),
            None
        );
        assert_eq!(footer(MAP, " · "), "s save · ^s");
        assert_eq!(help(MAP).count(), 3);
        assert!(bound_twice(&keys(MAP)).is_empty());
        let mut twice = keys(MAP);
        twice.push(KeyPress::ch('s'));
        assert_eq!(bound_twice(&twice), [KeyPress::ch('s')]);
    }
}
