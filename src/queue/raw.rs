//! The file form of the config: serde structs with optional fields, turned into the model.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Deserializer};

use super::connection::{Connection, Flow, Link, LinkMode, Parity, SerialSettings, LISTEN_HOST};
use super::error::or_list;
use super::error::ConfigError;
use super::item::Item;
use super::locate::Doc;
use super::meter::{Auth, InterfaceKind, Meter, PreEstablished, ReferencingKind};
use super::path::{ConfigFault, FieldPath};
use super::request::Request;
use super::secret::{KeySecret, Secret, SecretSource};
use super::security::{parse_system_title, Policy, Security, TitleKey};
use super::sink::{MqttSink, Sink, SinkKind};
use super::step::Step;
use super::time_bound::TimeBound;
use super::Config;
use super::ValueError;
use crate::dlms::obis::Obis;
use crate::schedule::Schedule;

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table like { database = { env = \"DLMS_FLEET_URL\" } }"
)]
struct RawFleet {
    database: RawSecret,
    instance: Option<String>,
    renew: Option<String>,
    expiry: Option<String>,
    margin: Option<String>,
}

impl RawFleet {
    fn into_model(self) -> Result<crate::queue::FleetConfig, ConfigFault> {
        let path = FieldPath::default().key("fleet");
        let duration = |text: Option<String>, key: &str| {
            text.map(|t| {
                crate::schedule::parse_duration(&t)
                    .map_err(|e| ConfigFault::new(path.key(key), e.to_string()))
            })
            .transpose()
        };
        if self
            .instance
            .as_deref()
            .is_some_and(|i| i.is_empty() || i.len() > 100 || i.chars().any(char::is_control))
        {
            return Err(ConfigFault::new(
                path.key("instance"),
                "must be 1 to 100 characters, none of them control characters",
            ));
        }
        Ok(crate::queue::FleetConfig {
            database: self.database.secret(&path.key("database"))?,
            instance: self.instance,
            renew: duration(self.renew, "renew")?,
            expiry: duration(self.expiry, "expiry")?,
            margin: duration(self.margin, "margin")?,
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
struct RawSink {
    name: String,
    kind: RawSinkKind,
    enabled: Option<bool>,
    host: Option<String>,
    // Wider than the model so 70000 gets the same message as 0.
    port: Option<i64>,
    tls: Option<bool>,
    ca_file: Option<std::path::PathBuf>,
    username: Option<String>,
    password: Option<RawSecret>,
    client_id: Option<String>,
    topic: Option<String>,
    discovery: Option<bool>,
    discovery_prefix: Option<String>,
    outbox_limit: Option<u64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum RawSinkKind {
    Mqtt,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
struct RawConnection {
    name: String,
    tcp: Option<RawTcp>,
    serial: Option<RawSerial>,
    listen: Option<RawListen>,
    udp: Option<RawUdp>,
    mode: Option<LinkMode>,
    enabled: Option<bool>,
    passive: Option<bool>,
    simulator: Option<bool>,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table like { host = \"10.0.0.5\", port = 4059 }"
)]
struct RawTcp {
    host: String,
    // Wider than the model so 70000 gets the same message as 0.
    port: i64,
    persistent: Option<bool>,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table like { host = \"10.0.0.5\", port = 4059 }"
)]
struct RawUdp {
    host: String,
    // Wider than the model so 70000 gets the same message as 0.
    port: i64,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table like { host = \"0.0.0.0\", port = 4060 }"
)]
struct RawListen {
    host: Option<String>,
    // Wider than the model so 70000 gets the same message as 0.
    port: i64,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table like { port = \"/dev/ttyUSB0\", baud = 9600 }"
)]
struct RawSerial {
    port: String,
    baud: Option<u32>,
    data_bits: Option<u8>,
    // A name, so mark and space get their own message.
    parity: Option<String>,
    stop_bits: Option<u8>,
    flow: Option<Flow>,
    rs485_full_duplex: Option<bool>,
    frame_gap_ms: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
struct RawMeter {
    name: String,
    connection: String,
    interface: Option<InterfaceKind>,
    client: Option<u16>,
    server: Option<u16>,
    serial_number: Option<u64>,
    device_name: Option<String>,
    logical: Option<u16>,
    address_size: Option<u8>,
    referencing: Option<ReferencingKind>,
    auth: Option<RawAuth>,
    security: Option<RawSecurity>,
    timeout_ms: Option<u64>,
    retries: Option<u32>,
    enabled: Option<bool>,
    han_preset: Option<String>,
    pre_established: Option<bool>,
    conformance: Option<String>,
    max_pdu: Option<i64>,
    release: Option<bool>,
    hdlc_window: Option<u8>,
    gbt: Option<bool>,
    gbt_window: Option<u8>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table like { level = \"none\" }")]
struct RawAuth {
    level: String,
    password: Option<RawSecret>,
    secret: Option<RawSecret>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table like { policy = \"none\" }")]
struct RawSecurity {
    policy: Option<String>,
    system_title: Option<String>,
    block_key: Option<RawSecret>,
    auth_key: Option<RawSecret>,
    dedicated_key: Option<RawSecret>,
    ic_obis: Option<String>,
    server_system_title: Option<String>,
    #[serde(default)]
    keys: Vec<RawTitleKey>,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table like { system_title = \"…\", block_key = \"…\" }"
)]
struct RawTitleKey {
    system_title: String,
    block_key: RawSecret,
    auth_key: Option<RawSecret>,
}

/// A secret as written: the value itself, or `{ env = "VAR" }`.
enum RawSecret {
    Inline(String),
    Env(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEnv {
    env: String,
}

impl<'de> Deserialize<'de> for RawSecret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = RawSecret;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string or { env = \"VARIABLE\" }")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawSecret, E> {
                Ok(RawSecret::Inline(v.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<RawSecret, A::Error> {
                let de = serde::de::value::MapAccessDeserializer::new(map);
                Ok(RawSecret::Env(RawEnv::deserialize(de)?.env))
            }
        }
        d.deserialize_any(Visitor)
    }
}

impl RawSecret {
    /// The value, read from the environment when it names a variable.
    fn resolve(self, path: &FieldPath) -> Result<(String, SecretSource), ConfigFault> {
        match self {
            RawSecret::Inline(text) => Ok((text, SecretSource::Inline)),
            RawSecret::Env(var) => {
                SecretSource::env(&var).map_err(|e| ConfigFault::new(path.clone(), e))
            }
        }
    }

    fn secret(self, path: &FieldPath) -> Result<Secret, ConfigFault> {
        let (text, source) = self.resolve(path)?;
        Ok(Secret::with_source(text, source))
    }

    fn key(self, path: FieldPath) -> Result<KeySecret, ConfigFault> {
        let (text, source) = self.resolve(&path)?;
        let from = match &source {
            SecretSource::Env(var) => format!(" (from environment variable {var})"),
            SecretSource::Inline => String::new(),
        };
        KeySecret::parse(&text, source).map_err(|e| ConfigFault::new(path, e.to_string() + &from))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
struct RawRequest {
    name: String,
    enabled: Option<bool>,
    #[serde(default)]
    meters: Vec<String>,
    schedule: Schedule,
    timeout_ms: Option<u64>,
    on_success: Option<String>,
    on_failure: Option<String>,
    #[serde(default)]
    items: Vec<RawItem>,
    #[serde(default)]
    steps: Vec<RawStep>,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table like { clock_sync = true }, { set = \"OBIS:ATTR\", value = \"…\" } or { call = \"OBIS:METHOD\" }"
)]
struct RawStep {
    clock_sync: Option<bool>,
    when_drift_over: Option<String>,
    set: Option<String>,
    call: Option<String>,
    value: Option<String>,
    param: Option<String>,
    #[serde(rename = "type")]
    data_type: Option<String>,
    class: Option<u16>,
}

#[derive(Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a table like { name = \"energy\", obis = \"1.0.1.8.0.255\" }"
)]
struct RawItem {
    name: String,
    obis: String,
    class: Option<u16>,
    // Wider than the model so 200 gets the same message as 0.
    attribute: Option<i64>,
    #[serde(rename = "type")]
    data_type: Option<String>,
    scale: Option<f64>,
    unit: Option<String>,
    entries: Option<u32>,
    since: Option<String>,
    until: Option<String>,
    enabled: Option<bool>,
}

/// The top-level tables of a config file.
const SECTIONS: [&str; 6] = ["connection", "meter", "request", "sink", "fleet", "store"];

/// Where the model's entries came from in the file, and which entries did not load.
#[derive(Debug, Default)]
pub(super) struct Origins {
    /// Per section, the file index of each model entry.
    files: HashMap<&'static str, Vec<usize>>,
    /// Per section, the names of the entries that did not load (references to them are not
    /// reported again as unknown names).
    broken: HashMap<&'static str, HashSet<String>>,
}

impl Origins {
    /// Whether an entry of `section` named `name` is in the file but did not load.
    pub(super) fn is_broken(&self, section: &str, name: &str) -> bool {
        self.broken.get(section).is_some_and(|b| b.contains(name))
    }

    /// `path` with its entry index changed from the model's to the file's.
    pub(super) fn in_file(&self, path: &FieldPath) -> FieldPath {
        path.map_entry(|section, i| {
            self.files
                .get(section)
                .and_then(|f| f.get(i).copied())
                .unwrap_or(i)
        })
    }
}

/// Reads every entry of the file into the model, going on past broken ones: the model of
/// the entries that read, where each came from, and the problem of each that did not.
pub(super) fn read(doc: &Doc) -> (Config, Origins, Vec<ConfigError>) {
    let mut errors = doc.unknown_keys(&SECTIONS);
    let mut origins = Origins::default();
    let connections = section(
        doc,
        "connection",
        RawConnection::into_model,
        &mut origins,
        &mut errors,
    );
    let meters = section(
        doc,
        "meter",
        RawMeter::into_model,
        &mut origins,
        &mut errors,
    );
    let requests = section(
        doc,
        "request",
        RawRequest::into_model,
        &mut origins,
        &mut errors,
    );
    let sinks = section(doc, "sink", RawSink::into_model, &mut origins, &mut errors);
    let fleet = match doc.table::<RawFleet>("fleet") {
        None => None,
        Some(Ok(raw)) => raw
            .into_model()
            .map_err(|fault| errors.push(doc.error(fault)))
            .ok(),
        Some(Err(e)) => {
            errors.push(e);
            None
        }
    };
    let store = match doc.table::<String>("store") {
        None => None,
        Some(Ok(at)) => Some(at),
        Some(Err(e)) => {
            errors.push(e);
            None
        }
    };
    let config = Config {
        connections,
        meters,
        requests,
        sinks,
        fleet,
        store,
        index: Default::default(),
    };
    (config, origins, errors)
}

/// A raw entry that knows its name before it is turned into the model.
trait Named {
    fn name(&self) -> &str;
}

macro_rules! named {
    ($($t:ty),*) => {$(impl Named for $t {
        fn name(&self) -> &str {
            &self.name
        }
    })*};
}
named!(RawConnection, RawMeter, RawRequest, RawSink);

fn section<R: serde::de::DeserializeOwned + Named, T>(
    doc: &Doc,
    section: &'static str,
    convert: impl Fn(R, FieldPath) -> Result<T, ConfigFault>,
    origins: &mut Origins,
    errors: &mut Vec<ConfigError>,
) -> Vec<T> {
    let (good, bad) = doc.entries::<R>(section);
    let mut broken = HashSet::new();
    for (i, error) in bad {
        broken.extend(doc.entry_name(section, i));
        errors.push(error);
    }
    let mut files = Vec::new();
    let mut out = Vec::new();
    for (i, raw) in good {
        let name = raw.name().to_string();
        match convert(raw, FieldPath::entry(section, i)) {
            Ok(model) => {
                files.push(i);
                out.push(model);
            }
            Err(fault) => {
                broken.insert(name);
                errors.push(doc.error(fault));
            }
        }
    }
    origins.files.insert(section, files);
    origins.broken.insert(section, broken);
    out
}

/// A TCP port as the model holds it: 1 to 65535 (the same range validation names).
fn port(value: i64, path: FieldPath) -> Result<u16, ConfigFault> {
    u16::try_from(value)
        .ok()
        .filter(|p| *p >= 1)
        .ok_or_else(|| ConfigFault::new(path, format!("{value} is not allowed; use 1 to 65535")))
}

impl RawSink {
    fn into_model(self, path: FieldPath) -> Result<Sink, ConfigFault> {
        let kind = match self.kind {
            RawSinkKind::Mqtt => {
                let Some(host) = self.host else {
                    return Err(ConfigFault::new(
                        path.key("host"),
                        "is required: the MQTT broker's host name or address",
                    ));
                };
                let tls = self.tls.unwrap_or(false);
                let d = MqttSink::new(host);
                let port = match self.port {
                    Some(p) => port(p, path.key("port"))?,
                    None => MqttSink::default_port(tls),
                };
                let password = match self.password {
                    Some(p) => Some(p.secret(&path.key("password"))?),
                    None => None,
                };
                SinkKind::Mqtt(MqttSink {
                    port,
                    tls,
                    ca_file: self.ca_file,
                    username: self.username,
                    password,
                    client_id: self.client_id,
                    topic: self.topic.unwrap_or(d.topic.clone()),
                    discovery: self.discovery.unwrap_or(d.discovery),
                    discovery_prefix: self.discovery_prefix.unwrap_or(d.discovery_prefix.clone()),
                    outbox_limit: self.outbox_limit.unwrap_or(d.outbox_limit),
                    ..d
                })
            }
        };
        Ok(Sink {
            name: self.name,
            enabled: self.enabled.unwrap_or(true),
            kind,
        })
    }
}

impl RawConnection {
    fn into_model(self, path: FieldPath) -> Result<Connection, ConfigFault> {
        if self.simulator == Some(true) {
            let given = [
                ("tcp", self.tcp.is_some()),
                ("serial", self.serial.is_some()),
                ("listen", self.listen.is_some()),
                ("udp", self.udp.is_some()),
            ];
            if let Some((key, _)) = given.iter().find(|(_, g)| *g) {
                return Err(ConfigFault::new(
                    path.key(key),
                    "simulator = true is the built-in simulated meter, started on a free loopback port; remove this or remove simulator",
                ));
            }
            let d = Connection::simulator(self.name);
            return Ok(Connection {
                mode: self.mode.unwrap_or(d.mode),
                enabled: self.enabled.unwrap_or(d.enabled),
                passive: self.passive.unwrap_or(d.passive),
                ..d
            });
        }
        let link = match (self.tcp, self.serial, self.listen, self.udp) {
            (Some(tcp), None, None, None) => Link::Tcp {
                host: tcp.host,
                port: port(tcp.port, path.key("tcp").key("port"))?,
                persistent: tcp.persistent.unwrap_or(true),
            },
            (None, Some(serial), None, None) => Link::Serial(serial.into_model(path.key("serial"))?),
            (None, None, Some(listen), None) => Link::Listen {
                host: listen.host.unwrap_or_else(|| LISTEN_HOST.into()),
                port: port(listen.port, path.key("listen").key("port"))?,
            },
            (None, None, None, Some(udp)) => Link::Udp {
                host: udp.host,
                port: port(udp.port, path.key("udp").key("port"))?,
            },
            (None, None, None, None) => {
                return Err(ConfigFault::new(
                    path.key("tcp"),
                    "is missing; give tcp = { host = \"..\", port = 4059 }, udp = { host = \"..\", port = 4059 }, serial = { port = \"/dev/ttyUSB0\" } or listen = { port = 4060 }",
                ))
            }
            // Two or more: placed at the second of tcp, serial, listen and udp.
            (tcp, serial, listen, _) => {
                let extra = if tcp.is_some() && serial.is_some() {
                    "serial"
                } else if listen.is_some() && (tcp.is_some() || serial.is_some()) {
                    "listen"
                } else {
                    "udp"
                };
                return Err(ConfigFault::new(
                    path.key(extra),
                    "a connection has one of tcp, udp, serial or listen; remove the others",
                ));
            }
        };
        let d = Connection::new(self.name, link);
        Ok(Connection {
            mode: self.mode.unwrap_or(d.mode),
            enabled: self.enabled.unwrap_or(d.enabled),
            passive: self.passive.unwrap_or(d.passive),
            ..d
        })
    }
}

impl RawSerial {
    fn into_model(self, path: FieldPath) -> Result<SerialSettings, ConfigFault> {
        let d = SerialSettings::new(self.port);
        let parity = match self.parity {
            Some(name) => {
                Parity::from_name(&name).map_err(|e| ConfigFault::new(path.key("parity"), e))?
            }
            None => d.parity,
        };
        Ok(SerialSettings {
            baud: self.baud.unwrap_or(d.baud),
            data_bits: self.data_bits.unwrap_or(d.data_bits),
            parity,
            stop_bits: self.stop_bits.unwrap_or(d.stop_bits),
            flow: self.flow.unwrap_or(d.flow),
            rs485_full_duplex: self.rs485_full_duplex.unwrap_or(d.rs485_full_duplex),
            frame_gap_ms: self.frame_gap_ms.unwrap_or(d.frame_gap_ms),
            ..d
        })
    }
}

impl RawMeter {
    fn into_model(self, path: FieldPath) -> Result<Meter, ConfigFault> {
        if self.server.is_some() && self.serial_number.is_some() {
            return Err(ConfigFault::new(
                path.key("serial_number"),
                "give server or serial_number, not both (serial_number sets the physical address)",
            ));
        }
        let auth = match self.auth {
            Some(auth) => auth.into_model(path.key("auth"))?,
            None => Auth::None,
        };
        let security = match self.security {
            Some(security) => security.into_model(path.key("security"))?,
            None => Security::default(),
        };
        let pre_established = match (self.pre_established, self.conformance, self.max_pdu) {
            (Some(true), conformance, max_pdu) => Some(PreEstablished {
                conformance: conformance
                    .map(|c| conformance_bits(&c, path.key("conformance")))
                    .transpose()?,
                max_pdu: max_pdu
                    .map(|n| {
                        u16::try_from(n).ok().filter(|n| *n >= 64).ok_or_else(|| {
                            ConfigFault::new(
                                path.key("max_pdu"),
                                format!("{n} is not allowed; use 64 to 65535"),
                            )
                        })
                    })
                    .transpose()?
                    .unwrap_or(PreEstablished::DEFAULT_MAX_PDU),
            }),
            (_, Some(_), _) => {
                return Err(ConfigFault::new(
                    path.key("conformance"),
                    "is only used with pre_established = true; remove it or set that",
                ))
            }
            (_, _, Some(_)) => {
                return Err(ConfigFault::new(
                    path.key("max_pdu"),
                    "is only used with pre_established = true; remove it or set that",
                ))
            }
            _ => None,
        };
        let d = Meter::new(self.name, self.connection);
        // Serial-number addresses need more than one byte, so they change the default size.
        let size = if self.serial_number.is_some() {
            4
        } else {
            d.address_size
        };
        Ok(Meter {
            interface: self.interface.unwrap_or(d.interface),
            client: self.client.unwrap_or(d.client),
            physical: self.serial_number.map_or(
                self.server.unwrap_or(d.physical),
                Meter::physical_from_serial,
            ),
            serial_number: self.serial_number,
            device_name: self.device_name,
            logical: self.logical.unwrap_or(d.logical),
            address_size: self.address_size.unwrap_or(size),
            referencing: self.referencing.unwrap_or(d.referencing),
            auth,
            security,
            timeout_ms: self.timeout_ms.unwrap_or(d.timeout_ms),
            retries: self.retries.unwrap_or(d.retries),
            enabled: self.enabled.unwrap_or(d.enabled),
            han_preset: self.han_preset,
            pre_established,
            release: self.release.unwrap_or(d.release),
            hdlc_window: self.hdlc_window.unwrap_or(d.hdlc_window),
            gbt: self.gbt.unwrap_or(d.gbt),
            gbt_window: self.gbt_window.unwrap_or(d.gbt_window),
            ..d
        })
    }
}

/// A conformance block as 6 hex digits (the 24 bits an AARE carries, e.g. `"001E1D"`).
fn conformance_bits(text: &str, path: FieldPath) -> Result<u32, ConfigFault> {
    let t = text.trim();
    let t = t.strip_prefix("0x").unwrap_or(t);
    if t.len() == 6 && t.chars().all(|c| c.is_ascii_hexdigit()) {
        if let Ok(bits) = u32::from_str_radix(t, 16) {
            return Ok(bits);
        }
    }
    Err(ConfigFault::new(
        path,
        format!("{text:?} is not a conformance block; give 6 hex digits such as \"001E1D\" (as the meter's AARE carries them)"),
    ))
}

impl RawAuth {
    fn into_model(self, path: FieldPath) -> Result<Auth, ConfigFault> {
        let level = self.level.as_str();
        let auth = Auth::named(level).ok_or_else(|| {
            ConfigFault::new(
                path.key("level"),
                format!("{level:?} is not allowed; use {}", or_list(&Auth::LEVELS)),
            )
        })?;
        let wanted = auth.secret_key();
        let mut given = None;
        for (key, value) in [("password", self.password), ("secret", self.secret)] {
            match value {
                Some(value) if wanted == Some(key) => given = Some(value),
                Some(_) => {
                    let levels = match key {
                        "password" => "level = \"low\"",
                        _ => "level = \"high\", \"md5\", \"sha1\" or \"sha256\"",
                    };
                    return Err(ConfigFault::new(
                        path.key(key),
                        format!("is only used with {levels}; remove it or set the level"),
                    ));
                }
                None => {}
            }
        }
        match (wanted, given) {
            (Some(key), Some(value)) => Ok(auth.with_secret(value.secret(&path.key(key))?)),
            (Some(key), None) => Err(ConfigFault::new(
                path.key(key),
                format!("is required with level = {level:?}"),
            )),
            (None, _) => Ok(auth),
        }
    }
}

impl RawSecurity {
    fn into_model(self, path: FieldPath) -> Result<Security, ConfigFault> {
        let title = |text: Option<String>, key: &str| {
            text.map(|t| parse_system_title(&t))
                .transpose()
                .map_err(|e| ConfigFault::new(path.key(key), e))
        };
        let key = |raw: Option<RawSecret>, key: &str| raw.map(|r| r.key(path.key(key))).transpose();
        let d = Security::default();
        Ok(Security {
            policy: match self.policy {
                None => d.policy,
                Some(name) => Policy::from_name(&name).ok_or_else(|| {
                    ConfigFault::new(
                        path.key("policy"),
                        ValueError::NotAllowed {
                            name,
                            allowed: "none, auth, enc or authenc",
                        },
                    )
                })?,
            },
            system_title: title(self.system_title, "system_title")?.unwrap_or(d.system_title),
            block_key: key(self.block_key, "block_key")?,
            auth_key: key(self.auth_key, "auth_key")?,
            dedicated_key: key(self.dedicated_key, "dedicated_key")?,
            ic_obis: match self.ic_obis {
                Some(text) => Some(
                    text.parse::<Obis>()
                        .map_err(|e| ConfigFault::new(path.key("ic_obis"), e.to_string()))?,
                ),
                None => None,
            },
            server_system_title: title(self.server_system_title, "server_system_title")?,
            keys: self
                .keys
                .into_iter()
                .enumerate()
                .map(|(i, k)| {
                    let at = path.key("keys").index(i);
                    Ok(TitleKey {
                        system_title: parse_system_title(&k.system_title)
                            .map_err(|e| ConfigFault::new(at.key("system_title"), e))?,
                        block_key: k.block_key.key(at.key("block_key"))?,
                        auth_key: k.auth_key.map(|a| a.key(at.key("auth_key"))).transpose()?,
                    })
                })
                .collect::<Result<_, ConfigFault>>()?,
        })
    }
}

impl RawRequest {
    fn into_model(self, path: FieldPath) -> Result<Request, ConfigFault> {
        let items = self
            .items
            .into_iter()
            .enumerate()
            .map(|(i, item)| item.into_model(path.key("items").index(i)))
            .collect::<Result<_, _>>()?;
        let steps = self
            .steps
            .into_iter()
            .enumerate()
            .map(|(i, step)| step.into_model(path.key("steps").index(i)))
            .collect::<Result<_, _>>()?;
        let d = Request::new(self.name, self.meters, self.schedule);
        Ok(Request {
            enabled: self.enabled.unwrap_or(d.enabled),
            timeout_ms: self.timeout_ms.unwrap_or(d.timeout_ms),
            on_success: self.on_success,
            on_failure: self.on_failure,
            items,
            steps,
            ..d
        })
    }
}

impl RawStep {
    fn into_model(self, path: FieldPath) -> Result<Step, ConfigFault> {
        let kinds = [
            ("clock_sync", self.clock_sync.is_some()),
            ("set", self.set.is_some()),
            ("call", self.call.is_some()),
        ];
        let given: Vec<&str> = kinds.iter().filter(|k| k.1).map(|k| k.0).collect();
        if given.len() != 1 {
            return Err(ConfigFault::new(
                path,
                "give exactly one of clock_sync, set or call in each step",
            ));
        }
        let only = |key: &'static str, present: bool, kind: &str| {
            if present {
                Err(ConfigFault::new(
                    path.key(key),
                    format!("is not used by a {kind} step; remove it"),
                ))
            } else {
                Ok(())
            }
        };
        let class = |obis: &Obis| self.class.unwrap_or_else(|| super::default_class(obis));
        if self.clock_sync.is_some() {
            only("value", self.value.is_some(), "clock_sync")?;
            only("param", self.param.is_some(), "clock_sync")?;
            only("type", self.data_type.is_some(), "clock_sync")?;
            only("class", self.class.is_some(), "clock_sync")?;
            if self.clock_sync == Some(false) {
                return Err(ConfigFault::new(
                    path.key("clock_sync"),
                    "false makes an empty step; remove the step instead",
                ));
            }
            let when_drift_over = self
                .when_drift_over
                .map(|t| {
                    crate::schedule::parse_duration(&t).map_err(|_| {
                        ConfigFault::new(
                            path.key("when_drift_over"),
                            format!("{t:?} is not a duration; write it like 5s, 500ms, 2min or 1h"),
                        )
                    })
                })
                .transpose()?;
            return Ok(Step::ClockSync { when_drift_over });
        }
        only(
            "when_drift_over",
            self.when_drift_over.is_some(),
            "set or call",
        )?;
        if let Some(target) = self.set {
            only("param", self.param.is_some(), "set")?;
            let (obis, attribute) = super::step::obis_and_index(&target, "attribute")
                .map_err(|e| ConfigFault::new(path.key("set"), e))?;
            let Some(value) = self.value else {
                return Err(ConfigFault::new(
                    path.key("value"),
                    "is required with set; give the new value as text (\"60\", \"now\", \"00FF\")",
                ));
            };
            return Ok(Step::Set {
                class_id: class(&obis),
                obis,
                attribute,
                value,
                data_type: self.data_type,
            });
        }
        only("value", self.value.is_some(), "call")?;
        let target = self.call.unwrap_or_default();
        let (obis, method) = super::step::obis_and_index(&target, "method")
            .map_err(|e| ConfigFault::new(path.key("call"), e))?;
        Ok(Step::Call {
            class_id: class(&obis),
            obis,
            method,
            param: self.param,
            data_type: self.data_type,
        })
    }
}

impl RawItem {
    fn into_model(self, path: FieldPath) -> Result<Item, ConfigFault> {
        let obis: Obis = self
            .obis
            .parse()
            .map_err(|e| ConfigFault::new(path.key("obis"), format!("{e}")))?;
        let bound = |text: Option<String>, key: &str| {
            text.map(|t| t.parse::<TimeBound>())
                .transpose()
                .map_err(|e| ConfigFault::new(path.key(key), e.to_string()))
        };
        let d = Item::new(self.name, obis);
        Ok(Item {
            class_id: self.class.unwrap_or(d.class_id),
            attribute: match self.attribute {
                Some(a) => i8::try_from(a).map_err(|_| {
                    ConfigFault::new(
                        path.key("attribute"),
                        format!("{a} is not allowed; use 1 to 127"),
                    )
                })?,
                None => d.attribute,
            },
            data_type: self.data_type.filter(|t| t != "auto"),
            scale: self.scale,
            unit: self.unit,
            entries: self.entries,
            since: bound(self.since, "since")?,
            until: bound(self.until, "until")?,
            enabled: self.enabled.unwrap_or(d.enabled),
            ..d
        })
    }
}
