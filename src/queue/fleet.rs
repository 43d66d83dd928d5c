//! `[fleet]`: the queue is shared by several loggers coordinated through one PostgreSQL
//! database (see `crate::fleet`). `run --fleet URL` / `--instance NAME` override it.

use super::secret::{Secret, SecretSource};
use std::time::Duration;

/// The fleet this queue's loggers join.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetConfig {
    /// The coordinating PostgreSQL URL (`postgres://user:password@host/db`), or
    /// `{ env = "VAR" }`; shown masked.
    pub database: Secret,
    /// This logger's name (default: hostname-pid; a command-line `--instance` wins).
    pub instance: Option<String>,
    /// How often leases are renewed (default 3 s).
    pub renew: Option<Duration>,
    /// How long a lease lasts without renewal (default 15 s).
    pub expiry: Option<Duration>,
    /// How long before expiry an unrenewed lease's worker stops (default 5 s).
    pub margin: Option<Duration>,
}

impl FleetConfig {
    /// True when the database URL is written in the file (it may hold a password).
    pub fn holds_inline_secret(&self) -> bool {
        self.database.source() == &SecretSource::Inline
    }
}

#[cfg(test)]
mod tests {
    use crate::queue::Config;
    use std::time::Duration;

    const BASE: &str =
        "[[connection]]\nname = \"c\"\ntcp = { host = \"127.0.0.1\", port = 4059 }\n";

    #[test]
    fn a_fleet_section_reads_and_writes_back_the_same() {
        let text = format!(
            "{BASE}\n[fleet]\ndatabase = \"postgres://fleet:hunter2@db/dlms\"\ninstance = \"a\"\nrenew = \"2s\"\nexpiry = \"12s\"\n"
        );
        let c = Config::parse(&text, "q.toml").unwrap();
        let f = c.fleet.as_ref().unwrap();
        assert_eq!(f.database.expose(), "postgres://fleet:hunter2@db/dlms");
        assert_eq!(f.instance.as_deref(), Some("a"));
        assert_eq!(f.renew, Some(Duration::from_secs(2)));
        assert_eq!(f.expiry, Some(Duration::from_secs(12)));
        assert_eq!(f.margin, None);
        assert!(c.holds_inline_secret());
        assert!(!format!("{f:?}").contains("hunter2"));
        let again = Config::parse(&crate::queue::write::config(&c), "again").unwrap();
        assert_eq!(again.fleet, c.fleet);
    }

    #[test]
    fn the_fleet_database_may_come_from_the_environment() {
        // The variable every `run --fleet` also reads; set by no test.
        let text = format!("{BASE}\n[fleet]\ndatabase = {{ env = \"DLMS_TEST_FLEET_UNSET\" }}\n");
        let e = Config::parse(&text, "q.toml").unwrap_err().to_string();
        assert!(e.contains("fleet.database"), "{e}");
        assert!(e.contains("DLMS_TEST_FLEET_UNSET"), "{e}");
        let bad = format!("{BASE}\n[fleet]\ndatabase = \"postgres://h/d\"\nrenew = \"soon\"\n");
        let e = Config::parse(&bad, "q.toml").unwrap_err().to_string();
        assert!(e.contains("fleet.renew"), "{e}");
        let unknown = format!("{BASE}\n[fleet]\ndatabase = \"postgres://h/d\"\nleader = true\n");
        assert!(Config::parse(&unknown, "q.toml").is_err());
    }
}
