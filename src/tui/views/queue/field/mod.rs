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

mod parse;
mod show;

pub use parse::{cycle, set, FieldError};
pub use show::{choices, text};

/// One editable value of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    /// Any node's name.
    Name,
    /// Connection: tcp, serial, listen or udp.
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
const LINKS: [&str; 4] = ["tcp", "serial", "listen", "udp"];
/// The link of a `simulator = true` connection (not a choice: the simulator is started with the logger).
const SIMULATOR: &str = "built-in simulator";
const ADDRESSINGS: [&str; 2] = ["server", "serial number"];
const POLICIES: [(&str, Policy); 4] = Policy::NAMES;

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
                Link::Listen { .. } | Link::Udp { .. } => &[Host, Port],
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
