//! Parsing a field's text back into the queue: each field checks the form of its value and
//! says what is allowed; the rules between fields are left to `Config::validate`.

use super::*;
use std::str::FromStr;

/// Why a field's text was not taken; the config is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldError {
    /// Not one of the words the field takes.
    #[error("{text:?} is not allowed; use {allowed}")]
    NotAllowed {
        /// What was typed.
        text: String,
        /// The words that would do.
        allowed: String,
    },
    /// Not a whole number in the field's range.
    #[error("{text:?} is not allowed; use a whole number {allowed}")]
    NotANumber {
        /// What was typed.
        text: String,
        /// The range, in words.
        allowed: &'static str,
    },
    /// The queue's own parser (OBIS, schedule, time) refused it; its message says why.
    #[error("{0}")]
    Invalid(String),
    /// The queue refused the value (a key, a system title, a unit, a parity).
    #[error("{0}")]
    Value(#[from] crate::queue::ValueError),
}

impl From<String> for FieldError {
    fn from(e: String) -> Self {
        FieldError::Invalid(e)
    }
}

fn not_allowed(text: &str, allowed: impl Into<String>) -> FieldError {
    FieldError::NotAllowed {
        text: text.to_string(),
        allowed: allowed.into(),
    }
}

/// Sets a pick field to the next (or previous) choice.
pub fn cycle(
    config: &mut Config,
    node: Node,
    field: Field,
    forward: bool,
) -> Result<(), FieldError> {
    let choices = choices(config, field);
    if choices.is_empty() {
        return Ok(());
    }
    let current = text(config, node, field);
    let n = choices.len();
    let next = match choices.iter().position(|c| *c == current) {
        Some(p) if forward => (p + 1) % n,
        Some(p) => (p + n - 1) % n,
        None if forward => 0,
        None => n - 1,
    };
    set(config, node, field, &choices[next])
}

/// Parses `text` into the field; on error the config is unchanged and the message says what is allowed.
pub fn set(config: &mut Config, node: Node, field: Field, text: &str) -> Result<(), FieldError> {
    if field == Field::Name {
        rename(config, node, text.trim());
        return Ok(());
    }
    match node {
        Node::Connection(i) => match config.connections.get_mut(i) {
            Some(c) => set_connection(c, field, text),
            None => Ok(()),
        },
        Node::Meter(i) => match config.meters.get_mut(i) {
            Some(m) => set_meter(m, field, text),
            None => Ok(()),
        },
        Node::Request(i) => match config.requests.get_mut(i) {
            Some(r) => set_request(r, field, text),
            None => Ok(()),
        },
        Node::Item(r, i) => match config.requests.get_mut(r).and_then(|r| r.items.get_mut(i)) {
            Some(item) => set_item(item, field, text),
            None => Ok(()),
        },
    }
}

/// Renames a node; meters follow a renamed connection and requests a renamed meter, unless
/// another node still has the old name.
fn rename(config: &mut Config, node: Node, name: &str) {
    let name = name.to_string();
    match node {
        Node::Connection(i) => {
            let Some(c) = config.connections.get_mut(i) else {
                return;
            };
            let old = std::mem::replace(&mut c.name, name.clone());
            if config.connection(&old).is_none() {
                for m in config.meters.iter_mut().filter(|m| m.connection == old) {
                    m.connection = name.clone();
                }
            }
        }
        Node::Meter(i) => {
            let Some(m) = config.meters.get_mut(i) else {
                return;
            };
            let old = std::mem::replace(&mut m.name, name.clone());
            if config.meter(&old).is_none() {
                let uses = config.requests.iter_mut().flat_map(|r| r.meters.iter_mut());
                for m in uses.filter(|m| **m == old) {
                    *m = name.clone();
                }
            }
        }
        Node::Request(i) => {
            if let Some(r) = config.requests.get_mut(i) {
                r.name = name;
            }
        }
        Node::Item(r, i) => {
            if let Some(item) = config.requests.get_mut(r).and_then(|r| r.items.get_mut(i)) {
                item.name = name;
            }
        }
    }
}

fn pick<T: Copy>(table: &[(&str, T)], text: &str) -> Result<T, FieldError> {
    let found = table
        .iter()
        .find(|(n, _)| *n == text.trim())
        .map(|(_, v)| *v);
    found.ok_or_else(|| {
        let all: Vec<&str> = table.iter().map(|(n, _)| *n).collect();
        not_allowed(text.trim(), all.join(", "))
    })
}

fn number<T: FromStr>(text: &str, allowed: &'static str) -> Result<T, FieldError> {
    let text = text.trim();
    text.parse().map_err(|_| FieldError::NotANumber {
        text: text.to_string(),
        allowed,
    })
}

/// Empty text is "not set".
fn optional<T, E: Into<FieldError>>(
    text: &str,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<Option<T>, FieldError> {
    match text.trim() {
        "" => Ok(None),
        text => parse(text).map(Some).map_err(Into::into),
    }
}

fn set_connection(c: &mut Connection, field: Field, text: &str) -> Result<(), FieldError> {
    let word = text.trim();
    if c.simulator && matches!(field, Field::Kind | Field::Host | Field::Port) {
        if field == Field::Kind && word == SIMULATOR {
            return Ok(());
        }
        // Given an address of its own, it is no longer the built-in simulator (it keeps this
        // run's address until changed).
        let mut plain = c.clone();
        plain.simulator = false;
        set_connection(&mut plain, field, text)?;
        *c = plain;
        return Ok(());
    }
    match (field, &mut c.link) {
        (Field::Kind, link) => {
            *link = match (word, &*link) {
                ("tcp", Link::Tcp { .. })
                | ("serial", Link::Serial(_))
                | ("listen", Link::Listen { .. })
                | ("udp", Link::Udp { .. }) => return Ok(()),
                ("tcp", _) => Link::Tcp {
                    host: "127.0.0.1".into(),
                    port: 4059,
                    persistent: true,
                },
                ("serial", _) => Link::Serial(SerialSettings::new("/dev/ttyUSB0")),
                ("listen", _) => Link::Listen {
                    host: LISTEN_HOST.into(),
                    port: 4060,
                },
                ("udp", _) => Link::Udp {
                    host: "127.0.0.1".into(),
                    port: 4059,
                },
                _ => return Err(not_allowed(word, "tcp, serial, listen or udp")),
            }
        }
        (
            Field::Host,
            Link::Tcp { host, .. } | Link::Listen { host, .. } | Link::Udp { host, .. },
        ) => *host = word.into(),
        (
            Field::Port,
            Link::Tcp { port, .. } | Link::Listen { port, .. } | Link::Udp { port, .. },
        ) => *port = number(text, "from 1 to 65535")?,
        (Field::Persistent, Link::Tcp { persistent, .. }) => *persistent = pick(&YES_NO, text)?,
        (Field::SerialPort, Link::Serial(s)) => s.port = word.into(),
        (Field::Baud, Link::Serial(s)) => s.baud = number(text, "such as 9600")?,
        (Field::DataBits, Link::Serial(s)) => s.data_bits = number(text, "from 5 to 8")?,
        (Field::Parity, Link::Serial(s)) => s.parity = pick(&PARITIES, text)?,
        (Field::StopBits, Link::Serial(s)) => s.stop_bits = number(text, "1 or 2")?,
        (Field::Flow, Link::Serial(s)) => s.flow = pick(&FLOWS, text)?,
        (Field::FullDuplex, Link::Serial(s)) => s.rs485_full_duplex = pick(&YES_NO, text)?,
        (Field::FrameGap, Link::Serial(s)) => s.frame_gap_ms = number(text, "from 0 to 10000")?,
        (Field::Mode, _) => c.mode = pick(&MODES, text)?,
        (Field::Enabled, _) => c.enabled = pick(&YES_NO, text)?,
        _ => {}
    }
    Ok(())
}

fn set_meter(m: &mut Meter, field: Field, text: &str) -> Result<(), FieldError> {
    match field {
        Field::Connection => m.connection = text.trim().into(),
        Field::Interface => m.interface = pick(&INTERFACES, text)?,
        Field::Client => m.client = number(text, "from 0 to 65535")?,
        Field::Addressing => match text.trim() {
            "server" => m.serial_number = None,
            "serial number" => {
                let sn = m.serial_number.unwrap_or_default();
                m.serial_number = Some(sn);
                m.physical = Meter::physical_from_serial(sn);
            }
            other => return Err(not_allowed(other, "server or serial number")),
        },
        Field::Server => m.physical = number(text, "from 0 to 65535")?,
        Field::SerialNumber => {
            let sn = number(text, "from 0 up")?;
            m.serial_number = Some(sn);
            // The physical address follows the serial number (SN % 10000 + 1000).
            m.physical = Meter::physical_from_serial(sn);
        }
        Field::DeviceName => {
            m.device_name = optional(text, |t| Ok::<_, FieldError>(t.to_string()))?
        }
        Field::Logical => m.logical = number(text, "from 0 to 65535")?,
        Field::AddressSize => m.address_size = number(text, "1, 2 or 4")?,
        Field::Referencing => m.referencing = pick(&REFERENCINGS, text)?,
        Field::AuthLevel => {
            let word = text.trim();
            let level =
                Auth::named(word).ok_or_else(|| not_allowed(word, Auth::LEVELS.join(", ")))?;
            // The HLS levels share their secret; a password never becomes one, or back.
            m.auth = match m.auth.secret() {
                Some(kept) if level.secret_key() == m.auth.secret_key() => {
                    level.with_secret(kept.clone())
                }
                _ => level,
            };
        }
        // Nothing typed keeps the secret: the field never shows it, so it cannot be edited in place.
        Field::Password | Field::Secret if !text.is_empty() => {
            m.auth = m.auth.with_secret(Secret::new(text))
        }
        Field::Policy => m.security.policy = pick(&POLICIES, text)?,
        Field::SystemTitle => m.security.system_title = parse_system_title(text.trim())?,
        Field::ServerSystemTitle => {
            m.security.server_system_title = optional(text, parse_system_title)?
        }
        Field::BlockKey => set_key(&mut m.security.block_key, text)?,
        Field::AuthKey => set_key(&mut m.security.auth_key, text)?,
        Field::DedicatedKey => set_key(&mut m.security.dedicated_key, text)?,
        Field::IcObis => m.security.ic_obis = optional(text, obis)?,
        Field::Timeout => m.timeout_ms = number(text, "of milliseconds from 1 to 600000")?,
        Field::Retries => m.retries = number(text, "from 0 to 10")?,
        Field::Enabled => m.enabled = pick(&YES_NO, text)?,
        _ => {}
    }
    Ok(())
}

/// A key from 32 hex digits; nothing typed keeps it (it is never shown), `-` removes it.
fn set_key(key: &mut Option<KeySecret>, text: &str) -> Result<(), FieldError> {
    match text.trim() {
        "" => {}
        "-" => *key = None,
        hex => *key = Some(KeySecret::parse(hex, SecretSource::Inline)?),
    }
    Ok(())
}

fn obis(text: &str) -> Result<Obis, FieldError> {
    text.parse()
        .map_err(|e: crate::dlms::obis::ObisError| FieldError::Invalid(e.to_string()))
}

fn set_request(r: &mut Request, field: Field, text: &str) -> Result<(), FieldError> {
    let event = |t: &str| match Schedule::event(t) {
        Ok(_) => Ok(t.to_string()),
        Err(e) => Err(FieldError::Invalid(e.to_string())),
    };
    match field {
        Field::Enabled => r.enabled = pick(&YES_NO, text)?,
        Field::Meters => {
            r.meters = text
                .split(',')
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(String::from)
                .collect()
        }
        Field::Schedule => {
            r.schedule = text
                .parse::<Schedule>()
                .map_err(|e| FieldError::Invalid(e.to_string()))?
        }
        Field::Timeout => r.timeout_ms = number(text, "of milliseconds from 1 to 86400000")?,
        Field::OnSuccess => r.on_success = optional(text, event)?,
        Field::OnFailure => r.on_failure = optional(text, event)?,
        _ => {}
    }
    Ok(())
}

fn set_item(item: &mut Item, field: Field, text: &str) -> Result<(), FieldError> {
    let bound = |t: &str| {
        t.parse::<TimeBound>()
            .map_err(|e| FieldError::Invalid(e.to_string()))
    };
    match field {
        Field::Obis => {
            let obis = obis(text)?;
            // A class still at the old code's default follows the new code.
            if item.class_id == default_class(&item.obis) {
                item.class_id = default_class(&obis);
            }
            item.obis = obis;
        }
        Field::Class => item.class_id = number(text, "from 0 to 65535")?,
        Field::Attribute => item.attribute = number(text, "from 1 to 127")?,
        Field::Type => {
            let known = |t: &str| match t {
                "auto" => Ok(None),
                t if data_type_names().any(|n| n == t) => Ok(Some(t.to_string())),
                t => Err(FieldError::Invalid(format!(
                    "{t:?} is not a DLMS data type; ←/→ picks one"
                ))),
            };
            item.data_type = optional(text, known)?.flatten()
        }
        Field::Scale => {
            let scale = |t: &str| {
                t.parse::<f64>().map_err(|_| {
                    FieldError::Invalid(format!(
                        "{t:?} is not a number; write e.g. 0.001, or nothing"
                    ))
                })
            };
            item.scale = optional(text, scale)?
        }
        Field::Unit => {
            let unit = |t: &str| crate::queue::check_unit(t).map(|()| t.to_string());
            item.unit = optional(text, unit)?
        }
        Field::Entries => item.entries = optional(text, |t| number(t, "from 1 up, or nothing"))?,
        Field::Since => item.since = optional(text, bound)?,
        Field::Until => item.until = optional(text, bound)?,
        Field::Enabled => item.enabled = pick(&YES_NO, text)?,
        _ => {}
    }
    Ok(())
}
