//! The error type of the store.

use std::path::PathBuf;

use rusqlite::ErrorCode;

/// Everything that can go wrong while opening, writing or reading the log database.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database file could not be created or opened.
    #[error("cannot open the database {path}: {source}")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    /// The database file could not be created with owner-only permissions.
    #[error("cannot create the database file {path}: {source}")]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is not an SQLite database, or its pages are damaged.
    #[error("database {path} is corrupt or not an SQLite database ({action}: {source})")]
    Corrupt {
        path: PathBuf,
        action: &'static str,
        source: rusqlite::Error,
    },
    /// The file is an SQLite database written by some other program.
    #[error("database {path} is not a dlms-logger database (it already holds other tables or another application id)")]
    Foreign { path: PathBuf },
    /// The schema is newer than this build understands.
    #[error("database {path} was written by a newer dlms-logger (schema {found}, this one knows up to {known})")]
    NewerSchema {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    /// A read-only connection found a schema the writer has not migrated (or no schema at all).
    #[error(
        "database {path} has schema {found}, not {known}; only the logger's writer migrates it"
    )]
    NotMigrated {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    /// An SQLite operation failed.
    #[error("database {path}: {action} failed: {source}")]
    Sqlite {
        path: PathBuf,
        action: &'static str,
        source: rusqlite::Error,
    },
    /// Writing an export to its destination failed.
    #[error("exporting from database {path} failed while writing the output: {source}")]
    Export {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The writer thread could not be started.
    #[error("cannot start the writer thread for database {path}: {source}")]
    Thread {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The writer thread is no longer running, so the batch was not stored.
    #[error("the writer of database {path} has stopped; the batch was not stored")]
    WriterStopped { path: PathBuf },
    /// The store's location is neither a file name nor a PostgreSQL URL this build reads.
    #[error("{0}")]
    BadLocation(String),
    /// The PostgreSQL server could not be reached (down, refused, wrong password).
    #[error("cannot reach the PostgreSQL server {server}: {reason}")]
    Unreachable { server: String, reason: String },
    /// A PostgreSQL operation failed.
    #[error(
        "PostgreSQL database {server}: {action} failed: {}",
        postgres_text(source)
    )]
    Postgres {
        server: String,
        action: &'static str,
        source: tokio_postgres::Error,
    },
    /// The PostgreSQL database holds tables named like ours that are not a dlms-logger log.
    #[error("PostgreSQL database {server} is not a dlms-logger log ({reason})")]
    ForeignPostgres { server: String, reason: String },
}

impl StoreError {
    /// Maps an SQLite error raised during `action`, singling out corruption so the user learns the file is damaged.
    pub(super) fn sqlite(
        path: &std::path::Path,
        action: &'static str,
        source: rusqlite::Error,
    ) -> Self {
        let path = path.to_path_buf();
        match source.sqlite_error_code() {
            Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => StoreError::Corrupt {
                path,
                action,
                source,
            },
            _ => StoreError::Sqlite {
                path,
                action,
                source,
            },
        }
    }

    /// True when the disk (or the database's size limit) is full.
    pub fn is_disk_full(&self) -> bool {
        match self {
            StoreError::Sqlite { source, .. } => {
                source.sqlite_error_code() == Some(ErrorCode::DiskFull)
            }
            StoreError::Postgres { source, .. } => {
                source.code() == Some(&tokio_postgres::error::SqlState::DISK_FULL)
            }
            _ => false,
        }
    }

    /// True when retrying later may succeed: another connection holds the lock, the disk is
    /// full, or (PostgreSQL) the server is down, restarting or lost the connection.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Sqlite { source, .. } => matches!(
                source.sqlite_error_code(),
                Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked | ErrorCode::DiskFull)
            ),
            StoreError::Unreachable { .. } => true,
            StoreError::Postgres { source, .. } => postgres_transient(source),
            _ => false,
        }
    }
}

/// A PostgreSQL error that may pass: no answer from the server (the connection broke or was
/// never made), or a state the server reports as temporary.
fn postgres_transient(e: &tokio_postgres::Error) -> bool {
    use tokio_postgres::error::SqlState;
    let Some(code) = e.code() else {
        // Not the server's answer: the connection, not the statement, failed.
        return true;
    };
    [
        SqlState::T_R_SERIALIZATION_FAILURE,
        SqlState::T_R_DEADLOCK_DETECTED,
        SqlState::LOCK_NOT_AVAILABLE,
        SqlState::ADMIN_SHUTDOWN,
        SqlState::CRASH_SHUTDOWN,
        SqlState::CANNOT_CONNECT_NOW,
        SqlState::TOO_MANY_CONNECTIONS,
        SqlState::DISK_FULL,
        SqlState::OUT_OF_MEMORY,
        SqlState::CONNECTION_EXCEPTION,
        SqlState::CONNECTION_FAILURE,
    ]
    .contains(code)
}

/// A PostgreSQL error in words: the server's message (tokio-postgres shows only "db error"),
/// else the client's error and its cause.
pub(super) fn postgres_text(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut text = format!("{} ({})", db.message(), db.code().code());
        if let Some(detail) = db.detail() {
            text.push_str(&format!("; {detail}"));
        }
        return text;
    }
    match std::error::Error::source(e) {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    }
}
