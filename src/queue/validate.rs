//! The rules a config must follow, checked on the model so in-memory edits get them too.

use std::collections::HashSet;
use std::ops::RangeInclusive;

use super::connection::{Connection, Link, BAUD_RATES};
use super::error::or_list;
use super::item::{check_unit, data_type_names, Item, PROFILE_GENERIC};
use super::meter::{Auth, InterfaceKind, Meter};
use super::path::{ConfigFault, FieldPath};
use super::raw::Origins;
use super::request::Request;
use super::security::Policy;
use super::sink::{check_topic, Sink, SinkKind};
use super::step::Step;
use super::time_bound::TimeBound;
use super::Config;
use crate::schedule::Schedule;

/// The first rule the config breaks.
pub(super) fn check(config: &Config) -> Result<(), ConfigFault> {
    match check_all(config, &Origins::default()).into_iter().next() {
        Some(fault) => Err(fault),
        None => Ok(()),
    }
}

/// Every rule the config breaks, in config order: per entry (and per item) the first rule
/// it breaks. References to entries that did not load (`origins`) are not reported again.
pub(super) fn check_all(config: &Config, origins: &Origins) -> Vec<ConfigFault> {
    let mut out = Vec::new();
    unique_names(
        "connection",
        config.connections.iter().map(|c| &c.name),
        &mut out,
    );
    unique_names("meter", config.meters.iter().map(|m| &m.name), &mut out);
    unique_names("request", config.requests.iter().map(|r| &r.name), &mut out);
    for (i, c) in config.connections.iter().enumerate() {
        out.extend(connection(c, FieldPath::entry("connection", i)).err());
    }
    for (i, m) in config.meters.iter().enumerate() {
        meter(config, m, FieldPath::entry("meter", i), origins, &mut out);
    }
    for (i, r) in config.requests.iter().enumerate() {
        request(config, r, FieldPath::entry("request", i), origins, &mut out);
    }
    unique_names("sink", config.sinks.iter().map(|s| &s.name), &mut out);
    for (i, s) in config.sinks.iter().enumerate() {
        out.extend(sink(s, FieldPath::entry("sink", i)).err());
    }
    out.extend(event_cycles(config).err());
    out
}

/// A sink's fields: a broker to reach, a topic template that names each item, bounds.
fn sink(s: &Sink, path: FieldPath) -> Result<(), ConfigFault> {
    match &s.kind {
        SinkKind::Mqtt(m) => {
            if m.host.trim().is_empty() {
                return Err(ConfigFault::new(
                    path.key("host"),
                    "is empty; give the MQTT broker's host name or address",
                ));
            }
            in_range(m.port, 1..=65535, path.key("port"))?;
            check_topic(&m.topic).map_err(|e| ConfigFault::new(path.key("topic"), e))?;
            let prefix = &m.discovery_prefix;
            if prefix.trim().is_empty() || prefix.contains(['+', '#', '\0']) {
                return Err(ConfigFault::new(
                    path.key("discovery_prefix"),
                    "must be a topic without wildcards, such as \"homeassistant\"",
                ));
            }
            in_range(m.outbox_limit, 1..=100_000_000, path.key("outbox_limit"))?;
            if m.password.is_some() && m.username.is_none() {
                return Err(ConfigFault::new(
                    path.key("password"),
                    "is given without a username; MQTT sends a password only with a user name",
                ));
            }
            if m.ca_file.is_some() && !m.tls {
                return Err(ConfigFault::new(
                    path.key("ca_file"),
                    "is given without tls = true; set tls = true to use it",
                ));
            }
            if let Some(id) = &m.client_id {
                if id.is_empty() || id.len() > 128 {
                    return Err(ConfigFault::new(
                        path.key("client_id"),
                        "must be 1 to 128 characters",
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Refuses a chain of `on_success` / `on_failure` events that leads back to where it started:
/// each run would fire the next without end. Every request is checked, enabled or not (the
/// operator may enable one later).
fn event_cycles(config: &Config) -> Result<(), ConfigFault> {
    let requests = &config.requests;
    // The requests an event fires: those with `schedule = { event = name }`.
    let listeners = |event: &str| -> Vec<usize> {
        requests
            .iter()
            .enumerate()
            .filter(|(_, r)| matches!(&r.schedule, Schedule::Event(e) if e == event))
            .map(|(i, _)| i)
            .collect()
    };
    let edges = |i: usize| -> Vec<(&'static str, usize)> {
        let r = &requests[i];
        let mut out = Vec::new();
        for (key, event) in [("on_success", &r.on_success), ("on_failure", &r.on_failure)] {
            if let Some(e) = event {
                out.extend(listeners(e).into_iter().map(|j| (key, j)));
            }
        }
        out
    };
    for start in 0..requests.len() {
        // Depth-first search for a way back to `start`; `path` holds the requests on the way.
        let mut seen = vec![false; requests.len()];
        let mut stack: Vec<(usize, Vec<(&'static str, usize)>)> = vec![(start, edges(start))];
        let mut first_key = None;
        while let Some((_, next)) = stack.last_mut() {
            let Some((key, j)) = next.pop() else {
                stack.pop();
                continue;
            };
            if stack.len() == 1 {
                first_key = Some(key);
            }
            if j == start {
                let mut names: Vec<String> = stack
                    .iter()
                    .map(|(i, _)| format!("{:?}", requests[*i].name))
                    .collect();
                names.push(format!("{:?}", requests[start].name));
                return Err(ConfigFault::new(
                    FieldPath::entry("request", start).key(first_key.unwrap_or(key)),
                    format!(
                        "the event chain forms a cycle: request {}; each run would fire the next without end, so break the chain",
                        names.join(" → ")
                    ),
                ));
            }
            if !seen[j] {
                seen[j] = true;
                stack.push((j, edges(j)));
            }
        }
    }
    Ok(())
}

fn unique_names<'a>(
    section: &str,
    names: impl Iterator<Item = &'a String>,
    out: &mut Vec<ConfigFault>,
) {
    let mut seen = HashSet::new();
    for (i, name) in names.enumerate() {
        let path = FieldPath::entry(section, i).key("name");
        if name.trim().is_empty() {
            out.push(ConfigFault::new(
                path,
                format!("is empty; give each {section} a unique name"),
            ));
        } else if !seen.insert(name) {
            out.push(ConfigFault::new(
                path,
                format!("another {section} is already named {name:?}; names must be unique"),
            ));
        }
    }
}

fn in_range<T: PartialOrd + std::fmt::Display>(
    value: T,
    allowed: RangeInclusive<T>,
    path: FieldPath,
) -> Result<(), ConfigFault> {
    if allowed.contains(&value) {
        return Ok(());
    }
    let (lo, hi) = allowed.into_inner();
    Err(ConfigFault::new(
        path,
        format!("{value} is not allowed; use {lo} to {hi}"),
    ))
}

fn one_of<T: PartialEq + std::fmt::Display>(
    value: T,
    allowed: &[T],
    path: FieldPath,
) -> Result<(), ConfigFault> {
    if allowed.contains(&value) {
        return Ok(());
    }
    Err(ConfigFault::new(
        path,
        format!("{value} is not allowed; use {}", or_list(allowed)),
    ))
}

fn connection(c: &Connection, path: FieldPath) -> Result<(), ConfigFault> {
    if c.passive && c.mode != super::connection::LinkMode::Dlms {
        return Err(ConfigFault::new(
            path.key("mode"),
            "a passive connection sends nothing, so it cannot start with an IEC 62056-21 sign-on; remove mode",
        ));
    }
    match &c.link {
        Link::Tcp { host, port, .. } => {
            let tcp = path.key("tcp");
            if host.trim().is_empty() {
                return Err(ConfigFault::new(
                    tcp.key("host"),
                    "is empty; give a host name or IP address",
                ));
            }
            in_range(*port, 1..=u16::MAX, tcp.key("port"))
        }
        Link::Serial(s) => {
            let serial = path.key("serial");
            if s.port.trim().is_empty() {
                return Err(ConfigFault::new(
                    serial.key("port"),
                    "is empty; give a device such as /dev/ttyUSB0",
                ));
            }
            one_of(s.baud, &BAUD_RATES, serial.key("baud"))?;
            in_range(s.data_bits, 5..=8, serial.key("data_bits"))?;
            in_range(s.frame_gap_ms, 0..=10_000, serial.key("frame_gap_ms"))?;
            one_of(s.stop_bits, &[1, 2], serial.key("stop_bits"))
        }
        Link::Udp { host, port } => {
            let udp = path.key("udp");
            if host.trim().is_empty() {
                return Err(ConfigFault::new(
                    udp.key("host"),
                    "is empty; give a host name or IP address",
                ));
            }
            in_range(*port, 1..=u16::MAX, udp.key("port"))
        }
        Link::Listen { host, port } => {
            let listen = path.key("listen");
            if host.trim().is_empty() {
                return Err(ConfigFault::new(
                    listen.key("host"),
                    "is empty; give the address to listen on, such as 0.0.0.0 (every interface) or 127.0.0.1",
                ));
            }
            in_range(*port, 1..=u16::MAX, listen.key("port"))
        }
    }
}

/// A meter's problems: one per group of related fields (its connection and identity, HAN
/// preset, windows, pre-established association, addresses, secret, keys, timeout, retries).
fn meter(
    config: &Config,
    m: &Meter,
    path: FieldPath,
    origins: &Origins,
    out: &mut Vec<ConfigFault>,
) {
    // A connection that did not load has its own problem reported; the rules that depend
    // on it are left until it loads.
    let connection = config.connection(&m.connection);
    let groups = [
        meter_link(config, m, connection, &path, origins),
        m.han_preset.as_ref().map_or(Ok(()), |name| {
            super::han::load(name)
                .map(drop)
                .map_err(|e| ConfigFault::new(path.key("han_preset"), e.to_string()))
        }),
        in_range(m.hdlc_window, 1..=7, path.key("hdlc_window")),
        in_range(m.gbt_window, 1..=63, path.key("gbt_window")),
        pre_established(m, &path),
        addresses(m, &path),
        auth_secret(m, &path),
        security(m, path.key("security")),
        in_range(m.timeout_ms, 1..=600_000, path.key("timeout_ms")),
        in_range(m.retries, 0..=10, path.key("retries")),
    ];
    out.extend(groups.into_iter().filter_map(Result::err));
}

/// The meter's connection, and what it asks of the meter: an identity to be recognised
/// when it dials in, one meter on a passive port, WRAPPER over UDP.
fn meter_link(
    config: &Config,
    m: &Meter,
    connection: Option<&Connection>,
    path: &FieldPath,
    origins: &Origins,
) -> Result<(), ConfigFault> {
    if connection.is_none() && !origins.is_broken("connection", &m.connection) {
        return Err(ConfigFault::new(
            path.key("connection"),
            format!(
                "there is no connection named {:?}; use {}",
                m.connection,
                names(config.connections.iter().map(|c| &c.name))
            ),
        ));
    }
    if let Some(name) = &m.device_name {
        let at = path.key("device_name");
        if name.trim().is_empty() {
            return Err(ConfigFault::new(
                at,
                "is empty; give the logical device name the meter reports (0.0.42.0.0.255), or remove it",
            ));
        }
        let n = name.chars().count();
        if n > 64 {
            return Err(ConfigFault::new(
                at,
                format!("has {n} characters; use at most 64"),
            ));
        }
    }
    let identified = m.device_name.is_some()
        || m.serial_number.is_some()
        || m.security.server_system_title.is_some();
    let listening = connection.is_some_and(|c| matches!(c.link, Link::Listen { .. }));
    if listening && !identified {
        return Err(ConfigFault::new(
            path.clone(),
            format!("a meter on the listening connection {:?} needs device_name, serial_number or security.server_system_title to be recognised when it dials in", m.connection),
        ));
    }
    if connection.is_some_and(|c| c.passive) {
        let others = config
            .meters
            .iter()
            .filter(|o| o.connection == m.connection && o.name != m.name)
            .count();
        if others > 0 {
            return Err(ConfigFault::new(
                path.key("connection"),
                format!(
                    "the passive connection {:?} already has a meter; a port that only talks \
                     talks for one meter, so give each its own connection",
                    m.connection
                ),
            ));
        }
    }
    let udp = connection.is_some_and(|c| matches!(c.link, Link::Udp { .. }));
    if m.interface == InterfaceKind::Hdlc && udp {
        return Err(ConfigFault::new(
            path.key("interface"),
            format!("is \"hdlc\", but the connection {:?} is UDP, which carries WRAPPER PDUs; use interface = \"wrapper\"", m.connection),
        ));
    }
    Ok(())
}

/// A pre-established association has no AARQ: no authentication, no ciphering.
fn pre_established(m: &Meter, path: &FieldPath) -> Result<(), ConfigFault> {
    if m.pre_established.is_some() {
        if m.auth != Auth::None {
            return Err(ConfigFault::new(
                path.key("pre_established"),
                "a pre-established association has no authentication (there is no AARQ to carry it); set auth level \"none\" or remove pre_established",
            ));
        }
        if m.security.policy != Policy::None {
            return Err(ConfigFault::new(
                path.key("pre_established"),
                "a ciphered pre-established association is not supported; set security policy \"none\" or remove pre_established",
            ));
        }
    }
    Ok(())
}

/// The client and server addresses the interface can carry.
fn addresses(m: &Meter, path: &FieldPath) -> Result<(), ConfigFault> {
    if m.interface == InterfaceKind::Hdlc {
        in_range(m.client, 0..=127, path.key("client"))
            .map_err(|f| ConfigFault::new(f.path, f.problem + " with interface = \"hdlc\""))?;
    }
    one_of(m.address_size, &[1, 2, 4], path.key("address_size"))?;
    let physical_field = match m.serial_number {
        Some(sn) => {
            in_range(sn, 0..=i64::MAX as u64, path.key("serial_number"))?;
            let want = Meter::physical_from_serial(sn);
            if m.physical != want {
                return Err(ConfigFault::new(
                    path.key("serial_number"),
                    format!("gives physical address {want} (SN % 10000 + 1000), not {}; set physical to {want}", m.physical),
                ));
            }
            path.key("serial_number")
        }
        None => path.key("server"),
    };
    // HDLC server addresses: the upper (logical) and lower (physical) parts share the address bytes.
    if m.interface == InterfaceKind::Hdlc {
        let size = format!(" with address_size = {}", m.address_size);
        let with_size = |f: ConfigFault| ConfigFault::new(f.path, f.problem + &size);
        let max = match m.address_size {
            4 => 16383,
            _ => 127,
        };
        in_range(m.logical, 0..=max, path.key("logical")).map_err(with_size)?;
        if m.address_size != 1 {
            in_range(m.physical, 0..=max, physical_field).map_err(with_size)?;
        }
    }
    Ok(())
}

/// A password or secret that is there is not empty.
fn auth_secret(m: &Meter, path: &FieldPath) -> Result<(), ConfigFault> {
    if let (Some(secret), Some(key)) = (m.auth.secret(), m.auth.secret_key()) {
        if secret.expose().is_empty() {
            return Err(ConfigFault::new(
                path.key("auth").key(key),
                format!(
                    "is empty; level = {:?} needs the meter's {key}",
                    m.auth.level()
                ),
            ));
        }
    }
    Ok(())
}

/// Ciphering and GMAC authentication need the block and authentication keys.
fn security(m: &Meter, path: FieldPath) -> Result<(), ConfigFault> {
    let s = &m.security;
    let why = match (s.policy, &m.auth) {
        (Policy::None, Auth::Gmac) => "auth = { level = \"gmac\" }".to_string(),
        (Policy::None, _) => return Ok(()),
        (policy, _) => format!("policy = {:?}", policy.name()),
    };
    for (key, value) in [("block_key", &s.block_key), ("auth_key", &s.auth_key)] {
        if value.is_none() {
            return Err(ConfigFault::new(
                path.key(key),
                format!("is required with {why}; give 32 hex digits or {{ env = \"VARIABLE\" }}"),
            ));
        }
    }
    Ok(())
}

/// `"a", "b" or "c"`, or a hint when there is none yet.
fn names<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let quoted: Vec<String> = names.map(|n| format!("{n:?}")).collect();
    if quoted.is_empty() {
        return "a name defined by a [[...]] table first".to_string();
    }
    or_list(&quoted)
}

fn event(name: Option<&str>, path: FieldPath) -> Result<(), ConfigFault> {
    match name {
        Some(name) => Schedule::event(name)
            .map(drop)
            .map_err(|e| ConfigFault::new(path, e.to_string())),
        None => Ok(()),
    }
}

fn request(
    config: &Config,
    r: &Request,
    path: FieldPath,
    origins: &Origins,
    out: &mut Vec<ConfigFault>,
) {
    match request_fields(config, r, &path, origins) {
        Err(fault) => out.push(fault),
        Ok(()) if !r.steps.is_empty() => out.extend(steps(r, path).err()),
        Ok(()) => items(r, path, out),
    }
}

/// The request's own fields and whether it has items or steps as it should.
fn request_fields(
    config: &Config,
    r: &Request,
    path: &FieldPath,
    origins: &Origins,
) -> Result<(), ConfigFault> {
    if r.meters.is_empty() {
        return Err(ConfigFault::new(
            path.key("meters"),
            "is empty; list at least one meter name",
        ));
    }
    let mut seen = HashSet::new();
    for (i, name) in r.meters.iter().enumerate() {
        let at = path.key("meters").index(i);
        if config.meter(name).is_none() && origins.is_broken("meter", name) {
            continue; // the meter's own problem is reported
        }
        if config.meter(name).is_none() {
            let all = names(config.meters.iter().map(|m| &m.name));
            return Err(ConfigFault::new(
                at,
                format!("there is no meter named {name:?}; use {all}"),
            ));
        }
        if !seen.insert(name) {
            return Err(ConfigFault::new(at, format!("{name:?} is listed twice")));
        }
        let passive = config
            .meter(name)
            .and_then(|m| config.connection(&m.connection))
            .is_some_and(|c| c.passive);
        if passive && !r.steps.is_empty() {
            return Err(ConfigFault::new(
                at,
                format!("meter {name:?} is on a passive connection, which sends nothing: it cannot be changed"),
            ));
        }
    }
    if let Schedule::Event(name) = &r.schedule {
        event(Some(name), path.key("schedule"))?;
    }
    in_range(r.timeout_ms, 1..=86_400_000, path.key("timeout_ms"))?;
    event(r.on_success.as_deref(), path.key("on_success"))?;
    event(r.on_failure.as_deref(), path.key("on_failure"))?;
    if !r.steps.is_empty() && !r.items.is_empty() {
        return Err(ConfigFault::new(
            path.key("items"),
            "an action request (with steps) reads no items; put them in a request of their own",
        ));
    }
    if r.steps.is_empty() && r.items.is_empty() {
        return Err(ConfigFault::new(
            path.key("items"),
            "is empty; give at least one item (or steps, for an action request)",
        ));
    }
    Ok(())
}

/// Each item's first problem.
fn items(r: &Request, path: FieldPath, out: &mut Vec<ConfigFault>) {
    let mut seen = HashSet::new();
    for (i, item_) in r.items.iter().enumerate() {
        let at = path.key("items").index(i);
        if item_.name.trim().is_empty() {
            out.push(ConfigFault::new(
                at.key("name"),
                "is empty; give each item a unique name",
            ));
        } else if !seen.insert(&item_.name) {
            out.push(ConfigFault::new(
                at.key("name"),
                format!(
                    "another item of this request is already named {:?}; names must be unique",
                    item_.name
                ),
            ));
        } else {
            out.extend(item(item_, at).err());
        }
    }
}

fn item(item: &Item, path: FieldPath) -> Result<(), ConfigFault> {
    in_range(item.attribute, 1..=127, path.key("attribute"))?;
    if let Some(t) = &item.data_type {
        if !data_type_names().any(|name| name == t) {
            let all: Vec<_> = std::iter::once("auto").chain(data_type_names()).collect();
            return Err(ConfigFault::new(
                path.key("type"),
                format!("{t:?} is not a DLMS data type; use {}", or_list(&all)),
            ));
        }
    }
    if let Some(scale) = item.scale {
        if !scale.is_finite() || scale == 0.0 {
            return Err(ConfigFault::new(
                path.key("scale"),
                format!("{scale} is not allowed; use a finite number other than 0"),
            ));
        }
    }
    if let Some(unit) = &item.unit {
        check_unit(unit).map_err(|e| ConfigFault::new(path.key("unit"), e))?;
    }
    let profile_fields = [
        ("entries", item.entries.is_some()),
        ("since", item.since.is_some()),
        ("until", item.until.is_some()),
    ];
    if item.class_id != PROFILE_GENERIC {
        if let Some((key, _)) = profile_fields.iter().find(|(_, set)| *set) {
            return Err(ConfigFault::new(
                path.key(key),
                format!(
                    "is only for profile generic items (class 7), not class {}; remove it",
                    item.class_id
                ),
            ));
        }
    }
    if let Some(entries) = item.entries {
        in_range(entries, 1..=u32::MAX, path.key("entries"))?;
        if item.since.is_some() || item.until.is_some() {
            return Err(ConfigFault::new(
                path.key("entries"),
                "cannot be combined with since/until; read by count or by time",
            ));
        }
    }
    let ordered = match (&item.since, &item.until) {
        (Some(TimeBound::At(since)), Some(TimeBound::At(until))) => since < until,
        (Some(TimeBound::Ago(since)), Some(TimeBound::Ago(until))) => since > until,
        _ => true,
    };
    if !ordered {
        return Err(ConfigFault::new(
            path.key("until"),
            "must be later than since",
        ));
    }
    Ok(())
}

/// The steps of an action request: a value with a type must be of that type (a value without
/// one is typed like the meter's when the step runs).
fn steps(r: &Request, path: FieldPath) -> Result<(), ConfigFault> {
    // Any instant does: only the form of the text is checked here.
    let now = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00+00:00")
        .unwrap_or_else(|_| chrono::Utc::now().fixed_offset());
    for (i, step) in r.steps.iter().enumerate() {
        let at = path.key("steps").index(i);
        let (text, ty) = match step {
            Step::Set {
                value, data_type, ..
            } => (Some(value), data_type.as_deref()),
            Step::Call {
                param, data_type, ..
            } => (param.as_ref(), Some(data_type.as_deref().unwrap_or("i8"))),
            Step::ClockSync { .. } => (None, None),
        };
        if let (Some(text), Some(ty)) = (text, ty) {
            let key = if matches!(step, Step::Set { .. }) {
                "value"
            } else {
                "param"
            };
            super::input::parse_as(ty, text, now).map_err(|e| match e {
                super::input::InputError::UnknownType(_) => {
                    ConfigFault::new(at.key("type"), e.to_string())
                }
                e => ConfigFault::new(at.key(key), e.to_string()),
            })?;
        }
    }
    Ok(())
}
