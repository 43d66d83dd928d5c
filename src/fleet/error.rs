//! Why the fleet coordinator failed: sentences naming the database by its masked URL.

use thiserror::Error;

/// A fleet coordinator error; never shows the database's password.
#[derive(Debug, Error)]
pub enum FleetError {
    /// The database refused or failed a statement, or could not be reached.
    #[error("fleet database {url}: {action}: {source}")]
    Database {
        /// The database's URL, password masked.
        url: String,
        /// What was being done.
        action: &'static str,
        /// The client's error.
        source: tokio_postgres::Error,
    },
    /// The database did not answer in time.
    #[error("fleet database {url}: {action}: no answer within {}", crate::text::duration(*.after))]
    Timeout {
        /// The database's URL, password masked.
        url: String,
        /// What was being done.
        action: &'static str,
        /// How long we waited.
        after: std::time::Duration,
    },
    /// Another running logger of the fleet uses this instance name.
    #[error("another logger of the fleet is running as instance {0:?}: give each one its own --instance name")]
    InstanceTaken(String),
    /// Settings that cannot work.
    #[error("fleet settings: {0}")]
    Settings(String),
}
