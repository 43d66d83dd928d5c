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
        matches!(self, StoreError::Sqlite { source, .. }
            if source.sqlite_error_code() == Some(ErrorCode::DiskFull))
    }

    /// True when retrying later may succeed: another connection holds the lock, or the disk is full.
    pub fn is_transient(&self) -> bool {
        let StoreError::Sqlite { source, .. } = self else {
            return false;
        };
        matches!(
            source.sqlite_error_code(),
            Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked | ErrorCode::DiskFull)
        )
    }
}
