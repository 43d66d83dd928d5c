//! Where the log is kept: an SQLite file, or a PostgreSQL database named by a URL.
//!
//! A URL may carry a password (`postgres://logger:secret@db.example/meters`); it is kept
//! only inside the location and never shown: `Display` and `Debug` print `***` in its place,
//! and every message about the store names the masked form. Without a password in the URL,
//! `PGPASSWORD` from the environment is used (libpq's convention; `PGUSER` likewise).

use std::path::{Path, PathBuf};

use super::StoreError;

/// An SQLite file or a PostgreSQL URL.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreLocation {
    /// An SQLite database file.
    Sqlite(PathBuf),
    /// A PostgreSQL database.
    Postgres(PgUrl),
}

/// A PostgreSQL URL: the text as given (with its secrets) and its masked form.
#[derive(Clone, PartialEq, Eq)]
pub struct PgUrl {
    url: String,
    shown: String,
}

impl StoreLocation {
    /// `postgres://…` or `postgresql://…` selects PostgreSQL; anything else is an SQLite file.
    pub fn parse(text: &str) -> Result<StoreLocation, StoreError> {
        let lower = text.get(..13).unwrap_or(text).to_ascii_lowercase();
        if lower.starts_with("postgres://") || lower.starts_with("postgresql://") {
            // The client reads the scheme in lower case only.
            let (scheme, rest) = text.split_once("://").unwrap_or((text, ""));
            let text = format!("{}://{rest}", scheme.to_ascii_lowercase());
            let url = PgUrl {
                shown: mask(&text),
                url: text,
            };
            // Checked now, so a typo is reported before anything starts.
            url.config()?;
            return Ok(StoreLocation::Postgres(url));
        }
        if text.is_empty() {
            return Err(StoreError::BadLocation(
                "the store is empty: give a database file or a postgres:// URL".into(),
            ));
        }
        Ok(StoreLocation::Sqlite(PathBuf::from(text)))
    }

    /// `SQLite` or `PostgreSQL`.
    pub fn kind(&self) -> &'static str {
        match self {
            StoreLocation::Sqlite(_) => "SQLite",
            StoreLocation::Postgres(_) => "PostgreSQL",
        }
    }

    /// The file the companions of the log are named after (the control socket `.sock`, the
    /// spill file `.unstored.jsonl`, the sinks' outbox `.outbox`): the database file itself,
    /// or for PostgreSQL `dlms-logger-HOST-PORT-DATABASE` in the working folder.
    pub fn local_path(&self) -> PathBuf {
        match self {
            StoreLocation::Sqlite(path) => path.clone(),
            StoreLocation::Postgres(url) => {
                let (host, port, db) = url
                    .config()
                    .map(|c| {
                        let host = match c.get_hosts().first() {
                            Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
                            #[cfg(unix)]
                            Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
                            None => "localhost".into(),
                        };
                        let port = c.get_ports().first().copied().unwrap_or(5432);
                        let db = c
                            .get_dbname()
                            .or(c.get_user())
                            .unwrap_or("postgres")
                            .to_string();
                        (host, port, db)
                    })
                    .unwrap_or_else(|_| ("localhost".into(), 5432, "postgres".into()));
                let safe = |s: &str| -> String {
                    s.chars()
                        .map(|c| {
                            if c.is_ascii_alphanumeric() || c == '.' || c == '_' {
                                c
                            } else {
                                '_'
                            }
                        })
                        .take(40)
                        .collect()
                };
                PathBuf::from(format!("dlms-logger-{}-{port}-{}", safe(&host), safe(&db)))
            }
        }
    }

    /// The location as shown in messages, as a path (the masked URL for PostgreSQL).
    pub fn shown_path(&self) -> PathBuf {
        match self {
            StoreLocation::Sqlite(path) => path.clone(),
            StoreLocation::Postgres(url) => PathBuf::from(&url.shown),
        }
    }
}

impl PgUrl {
    /// The URL with its password masked.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// The client configuration: the URL, with `PGPASSWORD` / `PGUSER` from the environment
    /// when the URL has none.
    pub(super) fn config(&self) -> Result<tokio_postgres::Config, StoreError> {
        let mut config: tokio_postgres::Config = self.url.parse().map_err(|e| {
            StoreError::BadLocation(format!(
                "{} is not a PostgreSQL URL this client understands: {}",
                self.shown,
                super::error::postgres_text(&e)
            ))
        })?;
        if config.get_password().is_none() {
            if let Ok(password) = std::env::var("PGPASSWORD") {
                config.password(password);
            }
        }
        if config.get_user().is_none() {
            if let Ok(user) = std::env::var("PGUSER").or_else(|_| std::env::var("USER")) {
                config.user(user);
            }
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(std::time::Duration::from_secs(5));
        }
        config.application_name("dlms-logger");
        Ok(config)
    }
}

impl std::fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreLocation::Sqlite(path) => write!(f, "{}", path.display()),
            StoreLocation::Postgres(url) => f.write_str(&url.shown),
        }
    }
}

impl std::fmt::Debug for StoreLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreLocation::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            StoreLocation::Postgres(url) => f.debug_tuple("Postgres").field(&url.shown).finish(),
        }
    }
}

impl std::fmt::Debug for PgUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

impl From<&Path> for StoreLocation {
    fn from(path: &Path) -> Self {
        StoreLocation::Sqlite(path.to_path_buf())
    }
}

impl From<PathBuf> for StoreLocation {
    fn from(path: PathBuf) -> Self {
        StoreLocation::Sqlite(path)
    }
}

impl From<&PathBuf> for StoreLocation {
    fn from(path: &PathBuf) -> Self {
        StoreLocation::Sqlite(path.clone())
    }
}

impl From<&StoreLocation> for StoreLocation {
    fn from(location: &StoreLocation) -> Self {
        location.clone()
    }
}

/// The URL with the password of its user part and any `password=` parameter replaced by `***`.
fn mask(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    // The authority ends at the first '/', '?' or '#'; the user part at its last '@'.
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let authority = match authority.rsplit_once('@') {
        Some((user, host)) => match user.split_once(':') {
            Some((name, _)) => format!("{name}:***@{host}"),
            None => format!("{user}@{host}"),
        },
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let params: Vec<String> = query
                .split('&')
                .map(|p| match p.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => p.to_string(),
                })
                .collect();
            format!("{path}?{}", params.join("&"))
        }
        None => tail.to_string(),
    };
    format!("{scheme}://{authority}{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_select_postgres_and_never_show_the_password() {
        for url in [
            "postgres://logger:s3cret@db.example:5433/meters",
            "postgresql://logger:s3cret@db.example/meters?sslmode=disable",
            "postgres://logger@db.example/meters?password=s3cret&application_name=x",
            "POSTGRES://logger:s3cret@db.example/meters",
        ] {
            let at = StoreLocation::parse(url).unwrap();
            assert_eq!(at.kind(), "PostgreSQL");
            for shown in [
                at.to_string(),
                format!("{at:?}"),
                at.shown_path().display().to_string(),
                at.local_path().display().to_string(),
            ] {
                assert!(!shown.contains("s3cret"), "{shown}");
            }
            assert!(at.to_string().contains("***"), "{at}");
            assert!(at.to_string().contains("db.example"), "{at}");
        }
        let at = StoreLocation::parse("postgres://u:p@10.0.0.1:5444/log").unwrap();
        assert_eq!(at.to_string(), "postgres://u:***@10.0.0.1:5444/log");
        assert_eq!(
            at.local_path(),
            PathBuf::from("dlms-logger-10.0.0.1-5444-log")
        );
    }

    #[test]
    fn anything_else_is_a_file() {
        let at = StoreLocation::parse("logs/dlms-logger.db").unwrap();
        assert_eq!(at, StoreLocation::Sqlite("logs/dlms-logger.db".into()));
        assert_eq!(at.kind(), "SQLite");
        assert_eq!(at.local_path(), PathBuf::from("logs/dlms-logger.db"));
        assert!(StoreLocation::parse("").is_err());
    }

    #[test]
    fn a_bad_url_is_refused_without_its_password() {
        let err = StoreLocation::parse("postgres://u:s3cret@host:notaport/db").unwrap_err();
        let text = err.to_string();
        assert!(!text.contains("s3cret"), "{text}");
        assert!(text.contains("not a PostgreSQL URL"), "{text}");
    }
}
