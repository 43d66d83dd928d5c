//! The queue the operator edits: connections, meters, requests and their items.
//!
//! Loaded from and saved to TOML (see the Config section of the design). Every problem is a
//! [`ConfigError`] naming the file, the line and the field (`request "instant".items[2].obis`;
//! top-level entries by name when they have one, other indexes counted from 1). Unknown fields
//! are errors. Saving validates first and replaces the file atomically.

mod atomic;
mod connection;
mod error;
mod item;
mod locate;
mod meter;
mod path;
pub mod preset;
mod raw;
mod request;
mod secret;
mod time_bound;
mod validate;
mod write;

#[cfg(test)]
mod tests;

use std::path::Path;

pub use connection::{Connection, Flow, Link, LinkMode, Parity, SerialSettings, BAUD_RATES};
pub use error::ConfigError;
pub use item::{data_type_names, default_class, Item, PROFILE_GENERIC};
pub use meter::{Auth, InterfaceKind, Meter, ReferencingKind};
pub use preset::{request_from_preset, Preset, PresetObject};
pub use request::Request;
pub use secret::Secret;
pub use time_bound::{TimeBound, TimeBoundError};

use locate::Doc;
use path::Fault;

/// The whole queue, in the operator's order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Config {
    /// Links to meters.
    pub connections: Vec<Connection>,
    /// Meters, each on a connection.
    pub meters: Vec<Meter>,
    /// Read jobs, each over some meters.
    pub requests: Vec<Request>,
}

impl Config {
    /// Reads, parses and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = read(path)?;
        Config::parse(&text, &path.display().to_string())
    }

    /// Parses and validates a config text; `origin` names it in messages.
    pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let doc = Doc::parse(text, origin)?;
        let raw: raw::RawConfig = doc.deserialize()?;
        let config = raw.into_config().map_err(|f| doc.error(f))?;
        validate::check(&config).map_err(|f| doc.error(f))?;
        Ok(config)
    }

    /// Checks a config edited in memory; messages name the field but no line.
    pub fn validate(&self) -> Result<(), ConfigError> {
        validate::check(self).map_err(|f| self.error(f, None))
    }

    /// The config as TOML, in queue order, leaving out defaults; parses back to an equal config.
    pub fn to_toml(&self) -> String {
        write::config(self)
    }

    /// Validates, then replaces `path` atomically; mode 0600 when it holds a password.
    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        validate::check(self).map_err(|f| self.error(f, Some(path)))?;
        let private = self.meters.iter().any(|m| matches!(m.auth, Auth::Low(_)));
        atomic::write_atomic(path, &self.to_toml(), private)
    }

    /// The meter with this name.
    pub fn meter(&self, name: &str) -> Option<&Meter> {
        self.meters.iter().find(|m| m.name == name)
    }

    /// The connection with this name.
    pub fn connection(&self, name: &str) -> Option<&Connection> {
        self.connections.iter().find(|c| c.name == name)
    }

    /// The request with this name.
    pub fn request(&self, name: &str) -> Option<&Request> {
        self.requests.iter().find(|r| r.name == name)
    }

    fn error(&self, fault: Fault, file: Option<&Path>) -> ConfigError {
        let name_of = |section: &str, i: usize| match section {
            "connection" => self.connections.get(i).map(|c| c.name.clone()),
            "meter" => self.meters.get(i).map(|m| m.name.clone()),
            _ => self.requests.get(i).map(|r| r.name.clone()),
        };
        ConfigError::Field {
            origin: file.map(|p| p.display().to_string()),
            line: None,
            field: fault.path.render(name_of),
            problem: fault.problem,
        }
    }
}

/// The file's text.
fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.to_path_buf(),
        action: "read",
        source,
    })
}
