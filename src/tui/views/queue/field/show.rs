//! A field's value as text, and the choices of a pick field.

use super::*;

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
        (_, Field::Kind) if c.simulator => SIMULATOR.into(),
        (Link::Tcp { .. }, Field::Kind) => LINKS[0].into(),
        (Link::Serial(_), Field::Kind) => LINKS[1].into(),
        (Link::Listen { .. }, Field::Kind) => LINKS[2].into(),
        (Link::Udp { .. }, Field::Kind) => LINKS[3].into(),
        (
            Link::Tcp { host, .. } | Link::Listen { host, .. } | Link::Udp { host, .. },
            Field::Host,
        ) => host.clone(),
        (
            Link::Tcp { port, .. } | Link::Listen { port, .. } | Link::Udp { port, .. },
            Field::Port,
        ) => port.to_string(),
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
