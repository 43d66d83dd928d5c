//! The form's fields: which ones a node has, their text, their choices, and parsing text back.
//!
//! Every change goes through [`set`] with a text (a picked choice is a text too), so a typed
//! value and a cycled one are checked the same way. Parsing only checks the form of a value;
//! the rules between fields are left to `Config::validate`.

use super::node::Node;
use crate::dlms::data::hex;
use crate::dlms::obis::Obis;
use crate::queue::{
    data_type_names, default_class, parse_system_title, Auth, Config, Connection, Flow,
    InterfaceKind, Item, KeySecret, Link, LinkMode, Meter, Parity, Policy, ReferencingKind,
    Request, Secret, SecretSource, SerialSettings, TimeBound, BAUD_RATES, LISTEN_HOST,
};
use crate::schedule::Schedule;
use std::str::FromStr;

/// One editable value of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    /// Any node's name.
    Name,
    /// Connection: tcp, serial or listen.
    Kind,
    /// TCP or listening host.
    Host,
    /// TCP or listening port.
    Port,
    /// TCP: keep the socket open.
    Persistent,
    /// Serial device.
    SerialPort,
    /// Serial baud rate.
    Baud,
    /// Serial data bits.
    DataBits,
    /// Serial parity.
    Parity,
    /// Serial stop bits.
    StopBits,
    /// Serial flow control.
    Flow,
    /// Serial RS-485 full duplex.
    FullDuplex,
    FrameGap,
    /// Connection mode.
    Mode,
    /// Meter: its connection.
    Connection,
    /// Meter: WRAPPER or HDLC.
    Interface,
    /// Meter: client address.
    Client,
    /// Meter: addressed by server address or by serial number.
    Addressing,
    /// Meter: physical server address.
    Server,
    /// Meter: serial number.
    SerialNumber,
    /// Meter: the logical device name it reports when it dials in.
    DeviceName,
    /// Meter: logical server address.
    Logical,
    /// Meter: HDLC address size.
    AddressSize,
    /// Meter: LN or SN.
    Referencing,
    /// Meter: authentication level.
    AuthLevel,
    /// Meter: the low-level password.
    Password,
    /// Meter: the HLS secret (high, md5, sha1, sha256).
    Secret,
    /// Meter: security policy.
    Policy,
    /// Meter: our (the client's) system title.
    SystemTitle,
    /// Meter: the meter's expected system title.
    ServerSystemTitle,
    /// Meter: global block cipher key.
    BlockKey,
    /// Meter: authentication key.
    AuthKey,
    /// Meter: dedicated key.
    DedicatedKey,
    /// Meter: where to read the invocation counter.
    IcObis,
    /// Meter or request timeout.
    Timeout,
    /// Meter retries.
    Retries,
    /// Request: meter names.
    Meters,
    /// Request schedule.
    Schedule,
    /// Request: event on success.
    OnSuccess,
    /// Request: event on failure.
    OnFailure,
    /// Item OBIS code.
    Obis,
    /// Item class.
    Class,
    /// Item attribute.
    Attribute,
    /// Item expected type.
    Type,
    /// Item scale.
    Scale,
    /// Item unit (instead of the meter's).
    Unit,
    /// Item: newest profile rows.
    Entries,
    /// Item: profile rows from.
    Since,
    /// Item: profile rows up to.
    Until,
    /// Any node's enabled flag.
    Enabled,
}

/// How a field is changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// Free text, edited after Enter.
    Text,
    /// A password or key: edited after Enter (starting empty), always shown masked.
    Secret,
    /// One of a few values, cycled with ←/→, Space or Enter.
    Pick,
    /// One of a list, cycled with ←/→ or Space, or typed after Enter.
    PickOrType,
}

impl Field {
    /// The label in the form.
    pub fn label(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::Kind => "link",
            Field::Host => "host",
            Field::Port => "port",
            Field::Persistent => "persistent",
            Field::SerialPort => "serial port",
            Field::Baud => "baud",
            Field::DataBits => "data bits",
            Field::Parity => "parity",
            Field::StopBits => "stop bits",
            Field::Flow => "flow control",
            Field::FullDuplex => "RS-485 full duplex",
            Field::FrameGap => "frame gap ms",
            Field::Mode => "mode",
            Field::Connection => "connection",
            Field::Interface => "interface",
            Field::Client => "client",
            Field::Addressing => "addressing",
            Field::Server => "server",
            Field::SerialNumber => "serial number",
            Field::DeviceName => "device name",
            Field::Logical => "logical",
            Field::AddressSize => "address size",
            Field::Referencing => "referencing",
            Field::AuthLevel => "auth level",
            Field::Password => "password",
            Field::Secret => "secret",
            Field::Policy => "security policy",
            Field::SystemTitle => "system title",
            Field::ServerSystemTitle => "meter system title",
            Field::BlockKey => "block key",
            Field::AuthKey => "auth key",
            Field::DedicatedKey => "dedicated key",
            Field::IcObis => "IC OBIS",
            Field::Timeout => "timeout ms",
            Field::Retries => "retries",
            Field::Meters => "meters",
            Field::Schedule => "schedule",
            Field::OnSuccess => "on success event",
            Field::OnFailure => "on failure event",
            Field::Obis => "OBIS",
            Field::Class => "class",
            Field::Attribute => "attribute",
            Field::Type => "type",
            Field::Scale => "scale",
            Field::Unit => "unit",
            Field::Entries => "entries",
            Field::Since => "since",
            Field::Until => "until",
            Field::Enabled => "enabled",
        }
    }

    /// How the field is changed.
    pub fn entry(self) -> Entry {
        match self {
            Field::Password
            | Field::Secret
            | Field::BlockKey
            | Field::AuthKey
            | Field::DedicatedKey => Entry::Secret,
            Field::Kind
            | Field::Persistent
            | Field::Parity
            | Field::Flow
            | Field::FullDuplex
            | Field::Mode
            | Field::Connection
            | Field::Interface
            | Field::Addressing
            | Field::Referencing
            | Field::AuthLevel
            | Field::Policy
            | Field::Enabled => Entry::Pick,
            Field::Baud | Field::DataBits | Field::StopBits | Field::AddressSize | Field::Type => {
                Entry::PickOrType
            }
            _ => Entry::Text,
        }
    }
}

const YES_NO: [(&str, bool); 2] = [("yes", true), ("no", false)];
const PARITIES: [(&str, Parity); 3] = Parity::NAMES;
const FLOWS: [(&str, Flow); 3] = [
    ("none", Flow::None),
    ("rts-cts", Flow::RtsCts),
    ("xon-xoff", Flow::XonXoff),
];
const MODES: [(&str, LinkMode); 2] = [
    ("dlms", LinkMode::Dlms),
    ("iec62056-21", LinkMode::Iec62056_21),
];
const INTERFACES: [(&str, InterfaceKind); 2] = [
    ("wrapper", InterfaceKind::Wrapper),
    ("hdlc", InterfaceKind::Hdlc),
];
const REFERENCINGS: [(&str, ReferencingKind); 2] =
    [("ln", ReferencingKind::Ln), ("sn", ReferencingKind::Sn)];
const LINKS: [&str; 3] = ["tcp", "serial", "listen"];
const ADDRESSINGS: [&str; 2] = ["server", "serial number"];
const POLICIES: [(&str, Policy); 4] = [
    ("none", Policy::None),
    ("auth", Policy::Auth),
    ("enc", Policy::Enc),
    ("authenc", Policy::AuthEnc),
];

/// The fields of a node, in form order; they depend on the link kind, addressing, auth level
/// and security policy.
pub fn fields(config: &Config, node: Node) -> Vec<Field> {
    use Field::*;
    match node {
        Node::Connection(i) => {
            let Some(c) = config.connections.get(i) else {
                return Vec::new();
            };
            let link: &[Field] = match c.link {
                Link::Tcp { .. } => &[Host, Port, Persistent],
                Link::Serial(_) => &[
                    SerialPort, Baud, DataBits, Parity, StopBits, Flow, FullDuplex, FrameGap,
                ],
                Link::Listen { .. } => &[Host, Port],
            };
            [&[Name, Kind], link, &[Mode, Enabled]].concat()
        }
        Node::Meter(i) => {
            let Some(m) = config.meters.get(i) else {
                return Vec::new();
            };
            let address = if m.serial_number.is_some() {
                SerialNumber
            } else {
                Server
            };
            let mut fields = vec![Name, Connection, Interface, Client, Addressing, address];
            // The identity of a meter that dials in; shown elsewhere only to clear it.
            let listening = config
                .connection(&m.connection)
                .is_some_and(|c| matches!(c.link, Link::Listen { .. }));
            if listening || m.device_name.is_some() {
                fields.push(DeviceName);
            }
            fields.extend([Logical, AddressSize, Referencing, AuthLevel]);
            match m.auth.secret_key() {
                Some("password") => fields.push(Password),
                Some(_) => fields.push(Secret),
                None => {}
            }
            fields.push(Policy);
            // Keys and titles matter for ciphering, GMAC and SHA-256 (which hashes the titles).
            let titled = matches!(m.auth, Auth::Gmac | Auth::Sha256(_));
            if m.security.policy != crate::queue::Policy::None || titled {
                fields.extend([
                    SystemTitle,
                    ServerSystemTitle,
                    BlockKey,
                    AuthKey,
                    DedicatedKey,
                    IcObis,
                ]);
            }
            fields.extend([Timeout, Retries, Enabled]);
            fields
        }
        Node::Request(i) if i < config.requests.len() => vec![
            Name, Enabled, Meters, Schedule, Timeout, OnSuccess, OnFailure,
        ],
        Node::Item(r, i) if item(config, r, i).is_some() => vec![
            Name, Obis, Class, Attribute, Type, Unit, Scale, Entries, Since, Until, Enabled,
        ],
        _ => Vec::new(),
    }
}

fn item(config: &Config, r: usize, i: usize) -> Option<&Item> {
    config.requests.get(r)?.items.get(i)
}

/// The field's value as text; a password or key shows as `********` (or nothing when unset).
pub fn text(config: &Config, node: Node, field: Field) -> String {
    let text = match node {
        Node::Connection(i) => config.connections.get(i).map(|c| connection_text(c, field)),
        Node::Meter(i) => config.meters.get(i).map(|m| meter_text(m, field)),
        Node::Request(i) => config.requests.get(i).map(|r| request_text(r, field)),
        Node::Item(r, i) => item(config, r, i).map(|i| item_text(i, field)),
    };
    text.unwrap_or_default()
}

fn name_of<T: PartialEq>(table: &[(&'static str, T)], value: &T) -> String {
    let name = table.iter().find(|(_, v)| v == value).map(|(n, _)| *n);
    name.unwrap_or_default().to_string()
}

fn connection_text(c: &Connection, field: Field) -> String {
    match (&c.link, field) {
        (_, Field::Name) => c.name.clone(),
        (Link::Tcp { .. }, Field::Kind) => LINKS[0].into(),
        (Link::Serial(_), Field::Kind) => LINKS[1].into(),
        (Link::Listen { .. }, Field::Kind) => LINKS[2].into(),
        (Link::Tcp { host, .. } | Link::Listen { host, .. }, Field::Host) => host.clone(),
        (Link::Tcp { port, .. } | Link::Listen { port, .. }, Field::Port) => port.to_string(),
        (Link::Tcp { persistent, .. }, Field::Persistent) => name_of(&YES_NO, persistent),
        (Link::Serial(s), Field::SerialPort) => s.port.clone(),
        (Link::Serial(s), Field::Baud) => s.baud.to_string(),
        (Link::Serial(s), Field::DataBits) => s.data_bits.to_string(),
        (Link::Serial(s), Field::FrameGap) => s.frame_gap_ms.to_string(),
        (Link::Serial(s), Field::Parity) => name_of(&PARITIES, &s.parity),
        (Link::Serial(s), Field::StopBits) => s.stop_bits.to_string(),
        (Link::Serial(s), Field::Flow) => name_of(&FLOWS, &s.flow),
        (Link::Serial(s), Field::FullDuplex) => name_of(&YES_NO, &s.rs485_full_duplex),
        (_, Field::Mode) => name_of(&MODES, &c.mode),
        (_, Field::Enabled) => name_of(&YES_NO, &c.enabled),
        _ => String::new(),
    }
}

fn meter_text(m: &Meter, field: Field) -> String {
    match field {
        Field::Name => m.name.clone(),
        Field::Connection => m.connection.clone(),
        Field::Interface => name_of(&INTERFACES, &m.interface),
        Field::Client => m.client.to_string(),
        Field::Addressing => ADDRESSINGS[usize::from(m.serial_number.is_some())].into(),
        Field::Server => m.physical.to_string(),
        Field::SerialNumber => m.serial_number.map(|n| n.to_string()).unwrap_or_default(),
        Field::DeviceName => m.device_name.clone().unwrap_or_default(),
        Field::Logical => m.logical.to_string(),
        Field::AddressSize => m.address_size.to_string(),
        Field::Referencing => name_of(&REFERENCINGS, &m.referencing),
        Field::AuthLevel => m.auth.level().into(),
        Field::Password | Field::Secret => match m.auth.secret() {
            Some(secret) if !secret.expose().is_empty() => masked(secret, secret.source()),
            _ => String::new(),
        },
        Field::Policy => m.security.policy.name().into(),
        Field::SystemTitle => hex(&m.security.system_title),
        Field::ServerSystemTitle => m
            .security
            .server_system_title
            .map(|t| hex(&t))
            .unwrap_or_default(),
        Field::BlockKey => masked_key(&m.security.block_key),
        Field::AuthKey => masked_key(&m.security.auth_key),
        Field::DedicatedKey => masked_key(&m.security.dedicated_key),
        Field::IcObis => m
            .security
            .ic_obis
            .map(|o| o.to_string())
            .unwrap_or_default(),
        Field::Timeout => m.timeout_ms.to_string(),
        Field::Retries => m.retries.to_string(),
        Field::Enabled => name_of(&YES_NO, &m.enabled),
        _ => String::new(),
    }
}

/// `********`, and the variable it comes from.
fn masked(secret: &impl std::fmt::Display, source: &SecretSource) -> String {
    match source {
        SecretSource::Inline => secret.to_string(),
        SecretSource::Env(var) => format!("{secret} from ${var}"),
    }
}

fn masked_key(key: &Option<KeySecret>) -> String {
    key.as_ref()
        .map(|k| masked(k, k.source()))
        .unwrap_or_default()
}

fn request_text(r: &Request, field: Field) -> String {
    match field {
        Field::Name => r.name.clone(),
        Field::Enabled => name_of(&YES_NO, &r.enabled),
        Field::Meters => r.meters.join(", "),
        Field::Schedule => r.schedule.to_string(),
        Field::Timeout => r.timeout_ms.to_string(),
        Field::OnSuccess => r.on_success.clone().unwrap_or_default(),
        Field::OnFailure => r.on_failure.clone().unwrap_or_default(),
        _ => String::new(),
    }
}

fn item_text(i: &Item, field: Field) -> String {
    let shown = |v: Option<String>| v.unwrap_or_default();
    match field {
        Field::Name => i.name.clone(),
        Field::Obis => i.obis.to_string(),
        Field::Class => i.class_id.to_string(),
        Field::Attribute => i.attribute.to_string(),
        Field::Type => i.data_type.clone().unwrap_or_else(|| "auto".into()),
        Field::Scale => shown(i.scale.map(|s| s.to_string())),
        Field::Unit => shown(i.unit.clone()),
        Field::Entries => shown(i.entries.map(|e| e.to_string())),
        Field::Since => shown(i.since.as_ref().map(TimeBound::to_string)),
        Field::Until => shown(i.until.as_ref().map(TimeBound::to_string)),
        Field::Enabled => name_of(&YES_NO, &i.enabled),
        _ => String::new(),
    }
}

/// The values a pick field cycles through (empty for free text).
pub fn choices(config: &Config, field: Field) -> Vec<String> {
    fn names<T>(table: &[(&str, T)]) -> Vec<String> {
        table.iter().map(|(n, _)| n.to_string()).collect()
    }
    fn numbers<T: ToString>(values: &[T]) -> Vec<String> {
        values.iter().map(T::to_string).collect()
    }
    fn words(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }
    match field {
        Field::Kind => words(&LINKS),
        Field::Persistent | Field::FullDuplex | Field::Enabled => names(&YES_NO),
        Field::Baud => numbers(&BAUD_RATES),
        Field::DataBits => numbers(&[5, 6, 7, 8]),
        Field::Parity => names(&PARITIES),
        Field::StopBits => numbers(&[1, 2]),
        Field::Flow => names(&FLOWS),
        Field::Mode => names(&MODES),
        Field::Connection => config.connections.iter().map(|c| c.name.clone()).collect(),
        Field::Interface => names(&INTERFACES),
        Field::Addressing => words(&ADDRESSINGS),
        Field::AddressSize => numbers(&[1, 2, 4]),
        Field::Referencing => names(&REFERENCINGS),
        Field::AuthLevel => words(&Auth::LEVELS),
        Field::Policy => names(&POLICIES),
        Field::Type => std::iter::once("auto")
            .chain(data_type_names())
            .map(String::from)
            .collect(),
        _ => Vec::new(),
    }
}

/// Sets a pick field to the next (or previous) choice.
pub fn cycle(config: &mut Config, node: Node, field: Field, forward: bool) -> Result<(), String> {
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
pub fn set(config: &mut Config, node: Node, field: Field, text: &str) -> Result<(), String> {
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

fn pick<T: Copy>(table: &[(&str, T)], text: &str) -> Result<T, String> {
    let found = table
        .iter()
        .find(|(n, _)| *n == text.trim())
        .map(|(_, v)| *v);
    found.ok_or_else(|| {
        let all: Vec<&str> = table.iter().map(|(n, _)| *n).collect();
        format!("{:?} is not allowed; use {}", text.trim(), all.join(", "))
    })
}

fn number<T: FromStr>(text: &str, allowed: &str) -> Result<T, String> {
    let text = text.trim();
    text.parse()
        .map_err(|_| format!("{text:?} is not allowed; use a whole number {allowed}"))
}

/// Empty text is "not set".
fn optional<T>(text: &str, parse: impl Fn(&str) -> Result<T, String>) -> Result<Option<T>, String> {
    match text.trim() {
        "" => Ok(None),
        text => parse(text).map(Some),
    }
}

fn set_connection(c: &mut Connection, field: Field, text: &str) -> Result<(), String> {
    let word = text.trim();
    match (field, &mut c.link) {
        (Field::Kind, link) => {
            *link = match (word, &*link) {
                ("tcp", Link::Tcp { .. })
                | ("serial", Link::Serial(_))
                | ("listen", Link::Listen { .. }) => return Ok(()),
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
                _ => {
                    return Err(format!(
                        "{word:?} is not allowed; use tcp, serial or listen"
                    ))
                }
            }
        }
        (Field::Host, Link::Tcp { host, .. } | Link::Listen { host, .. }) => *host = word.into(),
        (Field::Port, Link::Tcp { port, .. } | Link::Listen { port, .. }) => {
            *port = number(text, "from 1 to 65535")?
        }
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

fn set_meter(m: &mut Meter, field: Field, text: &str) -> Result<(), String> {
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
            other => {
                return Err(format!(
                    "{other:?} is not allowed; use server or serial number"
                ))
            }
        },
        Field::Server => m.physical = number(text, "from 0 to 65535")?,
        Field::SerialNumber => {
            let sn = number(text, "from 0 up")?;
            m.serial_number = Some(sn);
            // The physical address follows the serial number (SN % 10000 + 1000).
            m.physical = Meter::physical_from_serial(sn);
        }
        Field::DeviceName => m.device_name = optional(text, |t| Ok(t.to_string()))?,
        Field::Logical => m.logical = number(text, "from 0 to 65535")?,
        Field::AddressSize => m.address_size = number(text, "1, 2 or 4")?,
        Field::Referencing => m.referencing = pick(&REFERENCINGS, text)?,
        Field::AuthLevel => {
            let word = text.trim();
            let level = Auth::named(word).ok_or_else(|| {
                format!("{word:?} is not allowed; use {}", Auth::LEVELS.join(", "))
            })?;
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
fn set_key(key: &mut Option<KeySecret>, text: &str) -> Result<(), String> {
    match text.trim() {
        "" => {}
        "-" => *key = None,
        hex => *key = Some(KeySecret::parse(hex, SecretSource::Inline)?),
    }
    Ok(())
}

fn obis(text: &str) -> Result<Obis, String> {
    text.parse()
        .map_err(|e: crate::dlms::obis::ObisError| e.to_string())
}

fn set_request(r: &mut Request, field: Field, text: &str) -> Result<(), String> {
    let event = |t: &str| match Schedule::event(t) {
        Ok(_) => Ok(t.to_string()),
        Err(e) => Err(e.to_string()),
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
        Field::Schedule => r.schedule = text.parse::<Schedule>().map_err(|e| e.to_string())?,
        Field::Timeout => r.timeout_ms = number(text, "of milliseconds from 1 to 86400000")?,
        Field::OnSuccess => r.on_success = optional(text, event)?,
        Field::OnFailure => r.on_failure = optional(text, event)?,
        _ => {}
    }
    Ok(())
}

fn set_item(item: &mut Item, field: Field, text: &str) -> Result<(), String> {
    let bound = |t: &str| t.parse::<TimeBound>().map_err(|e| e.to_string());
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
                t => Err(format!("{t:?} is not a DLMS data type; ←/→ picks one")),
            };
            item.data_type = optional(text, known)?.flatten()
        }
        Field::Scale => {
            let scale = |t: &str| {
                t.parse::<f64>()
                    .map_err(|_| format!("{t:?} is not a number; write e.g. 0.001, or nothing"))
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
