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
    #[error("{}{field}: {problem}", place(origin.as_deref(), *line, *column))]
    Field {
        /// The file name; `None` for a config checked in memory.
        origin: Option<String>,
        /// Line, from 1; `None` when not known.
        line: Option<usize>,
        /// Column (characters) on that line, from 1; `None` when not known.
        column: Option<usize>,
        /// Dotted path, e.g. `request "instant".items[2].obis` (indexes from 1).
        field: String,
        /// What is wrong and what is allowed.
        problem: String,
    },
    /// Several problems, in file order (by line and column): one line each.
    #[error("{} problems:\n{}", problems.len(), lines(problems))]
    Several {
        /// Each problem (never `Several` itself), in file order.
        problems: Vec<ConfigError>,
    },
}

impl ConfigError {
    /// One error for `problems` (which must not be empty): the problem itself when there is
    /// one, else [`ConfigError::Several`] with them in file order.
    pub(crate) fn from_all(mut problems: Vec<ConfigError>) -> ConfigError {
        // A stable sort: problems at one place keep the order they were found in.
        problems.sort_by_key(ConfigError::position);
        if problems.len() == 1 {
            if let Some(only) = problems.pop() {
                return only;
            }
        }
        ConfigError::Several { problems }
    }

    /// The problems this error holds: itself, or each of [`ConfigError::Several`].
    pub fn problems(&self) -> &[ConfigError] {
        match self {
            ConfigError::Several { problems } => problems,
            one => std::slice::from_ref(one),
        }
    }

    /// Line and column, for ordering; unplaced problems come last.
    fn position(&self) -> (usize, usize) {
        match self {
            ConfigError::Syntax { line, column, .. } => (*line, *column),
            ConfigError::Field { line, column, .. } => {
                (line.unwrap_or(usize::MAX), column.unwrap_or(0))
            }
            _ => (usize::MAX, usize::MAX),
        }
    }
}

/// Each problem on its own line.
fn lines(problems: &[ConfigError]) -> String {
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    text.join("\n")
}

/// `file:line:column: `, `file:line: `, `file: `, `line N: ` or nothing.
fn place(origin: Option<&str>, line: Option<usize>, column: Option<usize>) -> String {
    match (origin, line, column) {
        (Some(o), Some(l), Some(c)) => format!("{o}:{l}:{c}: "),
        (Some(o), Some(l), None) => format!("{o}:{l}: "),
        (Some(o), None, _) => format!("{o}: "),
        (None, Some(l), _) => format!("line {l}: "),
        (None, None, _) => String::new(),
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
