//! The UI's error type: why a background task or an action of the operator failed.

use crate::queue::ConfigError;
use crate::store::QueryError;

/// Why work the UI started did not succeed; shown in the status bar or beside a field.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TuiError {
    /// The runner failed the test, read or probe (its errors arrive as sentences).
    #[error("{0}")]
    Runner(String),
    /// A query of the log database failed.
    #[error(transparent)]
    Read(#[from] QueryError),
    /// A file could not be read, created or written.
    #[error("cannot {action} {path}: {source}", path = path.display())]
    File {
        /// What was being done ("create", "list presets in").
        action: &'static str,
        /// The file or folder.
        path: std::path::PathBuf,
        /// Why.
        source: std::sync::Arc<std::io::Error>,
    },
    /// What the operator typed or chose cannot be used (the text says why and what would do).
    #[error("{0}")]
    Input(String),
    /// A queue or preset that does not validate, parse or save.
    #[error(transparent)]
    Queue(std::sync::Arc<ConfigError>),
}

impl From<ConfigError> for TuiError {
    fn from(e: ConfigError) -> Self {
        TuiError::Queue(std::sync::Arc::new(e))
    }
}

impl TuiError {
    /// An I/O failure while doing `action` on `path`.
    pub fn file(action: &'static str, path: &std::path::Path, source: std::io::Error) -> Self {
        TuiError::File {
            action,
            path: path.to_path_buf(),
            source: std::sync::Arc::new(source),
        }
    }

    /// What the operator typed cannot be used.
    pub fn input(text: impl Into<String>) -> Self {
        TuiError::Input(text.into())
    }
}
