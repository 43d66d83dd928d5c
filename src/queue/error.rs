//! Why a config or preset cannot be loaded or saved.

use std::path::PathBuf;

/// A config or preset problem; each message is one sentence naming the file, line and field.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file cannot be read or written.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed, e.g. `read`.
        action: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// The text is not TOML.
    #[error("{origin}:{line}:{column}: this is not valid TOML: {message}")]
    Syntax {
        /// The file name.
        origin: String,
        /// Line, from 1.
        line: usize,
        /// Column (characters), from 1.
        column: usize,
        /// What the TOML parser expected.
        message: String,
    },
    /// A field is missing, unknown or has a value that is not allowed.
    #[error("{}{field}: {problem}", place(origin.as_deref(), *line))]
    Field {
        /// The file name; `None` for a config checked in memory.
        origin: Option<String>,
        /// Line, from 1; `None` when not known.
        line: Option<usize>,
        /// Dotted path, e.g. `request "instant".items[2].obis` (indexes from 1).
        field: String,
        /// What is wrong and what is allowed.
        problem: String,
    },
}

/// `file:line: `, `file: `, `line N: ` or nothing.
fn place(origin: Option<&str>, line: Option<usize>) -> String {
    match (origin, line) {
        (Some(o), Some(l)) => format!("{o}:{l}: "),
        (Some(o), None) => format!("{o}: "),
        (None, Some(l)) => format!("line {l}: "),
        (None, None) => String::new(),
    }
}

/// `a`, `a or b`, `a, b or c`: the allowed values in a message.
pub(crate) fn or_list<T: std::fmt::Display>(items: &[T]) -> String {
    let text: Vec<String> = items.iter().map(T::to_string).collect();
    match text.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => text.concat(),
    }
}
