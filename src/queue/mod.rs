//! The queue the operator edits: connections, meters, requests and their items.
//!
//! Loaded from and saved to TOML (see the Config section of the design). Every problem is a
//! [`ConfigError`] naming the file, the line and the field (`request "instant".items[2].obis`;
//! top-level entries by name when they have one, other indexes counted from 1). Unknown fields
//! are errors. Saving validates first and replaces the file atomically.

mod atomic;
mod connection;
mod error;
mod fleet;
pub mod han;
pub mod input;
mod item;
mod layout;
mod locate;
mod meter;
mod names;
mod path;
pub mod preset;
mod raw;
mod request;
mod secret;
mod security;
mod sink;
mod step;
mod time_bound;
mod validate;
mod value_error;
mod write;

#[cfg(test)]
mod tests;

use std::path::Path;

pub use connection::{
    Connection, Flow, Link, LinkMode, Parity, SerialSettings, BAUD_RATES, LISTEN_HOST,
    SIMULATOR_HOST, SIMULATOR_PORT,
};
pub use error::ConfigError;
pub use fleet::FleetConfig;
pub use item::{check_unit, data_type_names, default_class, Item, MAX_UNIT_CHARS, PROFILE_GENERIC};
pub use meter::{Auth, InterfaceKind, Meter, PreEstablished, ReferencingKind};
pub use preset::{request_from_preset, Preset, PresetObject};
pub use request::Request;
pub use secret::{KeySecret, Secret, SecretSource};
pub use security::{parse_system_title, Policy, Security, TitleKey, DEFAULT_SYSTEM_TITLE};
pub use sink::{
    check_topic, MqttSink, Sink, SinkKind, DEFAULT_DISCOVERY_PREFIX, DEFAULT_OUTBOX_LIMIT,
    DEFAULT_TOPIC, TOPIC_PLACEHOLDERS,
};
pub use step::Step;
pub use time_bound::{TimeBound, TimeBoundError};
pub use value_error::ValueError;

use locate::Doc;
use path::ConfigFault;

/// The whole queue, in the operator's order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Config {
    /// Links to meters.
    pub connections: Vec<Connection>,
    /// Meters, each on a connection.
    pub meters: Vec<Meter>,
    /// Read jobs, each over some meters.
    pub requests: Vec<Request>,
    /// Where readings go besides the log (MQTT brokers).
    pub sinks: Vec<Sink>,
    /// The fleet of loggers sharing this queue (`[fleet]`), if any.
    pub fleet: Option<FleetConfig>,
    /// Where the log is kept (`store = "…"`, top level): an SQLite file or a `postgres://`
    /// URL; `--store` wins over it. `None`: the command line's default.
    pub store: Option<String>,
    /// Connections, meters and requests by name (`names.rs`); `Default::default()` when building one.
    pub index: names::NameIndex,
}

impl Config {
    /// Reads, parses and validates a config file (secrets given as `{ env = "VAR" }` are read
    /// from the environment); warns when it holds secrets that other users can read.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = read(path)?;
        let config = Config::parse(&text, &path.display().to_string())?;
        if let Some(warning) = exposed(path, &config) {
            tracing::warn!("{warning}");
        }
        Ok(config)
    }

    /// Parses and validates a config text; `origin` names it in messages. Every problem is
    /// reported, not only the first: a broken entry is left out and the others are still read
    /// and checked (one error, or [`ConfigError::Several`] in file order).
    pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let doc = Doc::parse(text, origin)?;
        let (config, origins, mut errors) = raw::read(&doc);
        let faults = validate::check_all(&config, &origins);
        errors.extend(faults.into_iter().map(|f| {
            let path = origins.in_file(&f.path);
            doc.error(ConfigFault::new(path, f.problem))
        }));
        if errors.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError::from_all(errors))
        }
    }

    /// Every rule a config edited in memory breaks, in queue order; messages name the field but no line.
    pub fn problems(&self) -> Vec<ConfigError> {
        let faults = validate::check_all(self, &raw::Origins::default());
        faults.into_iter().map(|f| self.error(f, None)).collect()
    }

    /// Checks a config edited in memory; messages name the field but no line.
    pub fn validate(&self) -> Result<(), ConfigError> {
        validate::check(self).map_err(|f| self.error(f, None))
    }

    /// The config as TOML, in queue order, leaving out defaults; parses back to an equal config.
    pub fn to_toml(&self) -> String {
        write::config(self)
    }

    /// Validates, then replaces `path` atomically; mode 0600 when it holds a password, secret
    /// or key itself (secrets from the environment are written as `{ env = "VAR" }`).
    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        validate::check(self).map_err(|f| self.error(f, Some(path)))?;
        let mut text = self.to_toml();
        // Over a file that is there, keep its comments and order — only when the result
        // reads back as exactly this queue.
        if let Ok(old) = std::fs::read_to_string(path) {
            if let Some(merged) = layout::keep_layout(&old, &text) {
                let name = path.display().to_string();
                if Config::parse(&merged, &name).is_ok_and(|c| c.same_on_disk(self)) {
                    text = merged;
                }
            }
        }
        atomic::write_atomic(path, &text, self.holds_inline_secret())
    }

    /// Whether a connection is the built-in simulator (`simulator = true`).
    pub fn uses_simulator(&self) -> bool {
        self.connections.iter().any(|c| c.simulator)
    }

    /// Points every simulator connection at the simulator started on `addr`.
    pub fn point_at_simulator(&mut self, addr: std::net::SocketAddr) {
        for c in self.connections.iter_mut().filter(|c| c.simulator) {
            if let Link::Tcp { host, port, .. } = &mut c.link {
                *host = addr.ip().to_string();
                *port = addr.port();
            }
        }
    }

    /// Equal as written to a file: the simulator's address of this run is not written.
    pub fn same_on_disk(&self, other: &Config) -> bool {
        let unpointed = |c: &Config| {
            let mut c = c.clone();
            for conn in c.connections.iter_mut().filter(|c| c.simulator) {
                conn.link = Connection::simulator("").link;
            }
            c
        };
        unpointed(self) == unpointed(other)
    }

    /// Whether a meter has a password, secret or key written in the config itself.
    pub fn holds_inline_secret(&self) -> bool {
        self.meters.iter().any(Meter::holds_inline_secret)
            || self.sinks.iter().any(Sink::holds_inline_secret)
            || self
                .fleet
                .as_ref()
                .is_some_and(FleetConfig::holds_inline_secret)
            || self.store.as_deref().is_some_and(url_has_password)
    }

    /// The meter with this name.
    pub fn meter(&self, name: &str) -> Option<&Meter> {
        self.meter_position(name).map(|i| &self.meters[i])
    }

    /// Where the meter with this name is in [`Config::meters`].
    pub fn meter_position(&self, name: &str) -> Option<usize> {
        self.index
            .position(names::Kind::Meter, &self.meters, name, |m| &m.name)
    }

    /// Where the request with this name is in [`Config::requests`].
    pub fn request_position(&self, name: &str) -> Option<usize> {
        self.index
            .position(names::Kind::Request, &self.requests, name, |r| &r.name)
    }

    /// The connection with this name.
    pub fn connection(&self, name: &str) -> Option<&Connection> {
        self.index
            .position(names::Kind::Connection, &self.connections, name, |c| {
                &c.name
            })
            .map(|i| &self.connections[i])
    }

    /// The sink with this name.
    pub fn sink(&self, name: &str) -> Option<&Sink> {
        self.sinks.iter().find(|s| s.name == name)
    }

    /// The request with this name.
    pub fn request(&self, name: &str) -> Option<&Request> {
        self.request_position(name).map(|i| &self.requests[i])
    }

    fn error(&self, fault: ConfigFault, file: Option<&Path>) -> ConfigError {
        let name_of = |section: &str, i: usize| match section {
            "connection" => self.connections.get(i).map(|c| c.name.clone()),
            "meter" => self.meters.get(i).map(|m| m.name.clone()),
            "sink" => self.sinks.get(i).map(|s| s.name.clone()),
            _ => self.requests.get(i).map(|r| r.name.clone()),
        };
        ConfigError::Field {
            origin: file.map(|p| p.display().to_string()),
            line: None,
            column: None,
            field: fault.path.render(name_of),
            problem: fault.problem,
        }
    }
}

/// The warning to show when the config file at `path` holds secrets (not from the environment)
/// and other users can read it; `None` when it is private, holds none, or cannot be loaded.
pub fn secrets_exposed(path: &Path) -> Option<String> {
    let text = read(path).ok()?;
    exposed(path, &Config::parse(&text, "").ok()?)
}

#[cfg(unix)]
fn exposed(path: &Path, config: &Config) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode();
    let path = path.display();
    (config.holds_inline_secret() && mode & 0o077 != 0)
        .then(|| format!("{path} holds secrets and can be read by other users; chmod 600 {path}"))
}

#[cfg(not(unix))]
fn exposed(_path: &Path, _config: &Config) -> Option<String> {
    None
}

/// The file's text.
fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        path: path.to_path_buf(),
        action: "read",
        source,
    })
}

/// True when a store URL carries a password (`scheme://user:password@host`, `password=`).
fn url_has_password(url: &str) -> bool {
    let Some((_, rest)) = url.split_once("://") else {
        return false;
    };
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let in_user = authority
        .rsplit_once('@')
        .is_some_and(|(user, _)| user.contains(':'));
    in_user || url.to_ascii_lowercase().contains("password=")
}
