//! The config as TOML text, in the documented layout, leaving out default values.

use serde::Serialize;

use super::connection::{Connection, Link, LinkMode, SerialSettings};
use super::default_class;
use super::item::Item;
use super::meter::Meter;
use super::request::Request;
use super::secret::SecretSource;
use super::security::Security;
use super::sink::{MqttSink, Sink, SinkKind};
use super::step::Step;
use super::Config;
use crate::dlms::data::hex;

/// Key/value pairs of one table, written as lines or inline.
#[derive(Default)]
struct Fields(Vec<(&'static str, String)>);

impl Fields {
    fn set<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) {
        // Plain values never fail to serialize; `validate` keeps integers within TOML's i64.
        let text = toml::Value::try_from(value).map_or_else(|_| String::new(), |v| v.to_string());
        self.0.push((key, text));
    }

    fn set_if<T: Serialize + ?Sized>(&mut self, write: bool, key: &'static str, value: &T) {
        if write {
            self.set(key, value);
        }
    }

    fn set_some<T: Serialize>(&mut self, key: &'static str, value: Option<T>) {
        if let Some(value) = value {
            self.set(key, &value);
        }
    }

    /// A secret as it was given: its value, or `{ env = "VAR" }` (never the value read from it).
    fn secret(&mut self, key: &'static str, value: &str, source: &SecretSource) {
        match source {
            SecretSource::Inline => self.set(key, value),
            SecretSource::Env(var) => {
                let mut env = Fields::default();
                env.set("env", var);
                self.table(key, &env);
            }
        }
    }

    fn table(&mut self, key: &'static str, table: &Fields) {
        self.0.push((key, table.inline()));
    }

    fn inline(&self) -> String {
        let pairs: Vec<String> = self.0.iter().map(|(k, v)| format!("{k} = {v}")).collect();
        format!("{{ {} }}", pairs.join(", "))
    }

    fn lines(&self, out: &mut String) {
        for (k, v) in &self.0 {
            out.push_str(&format!("{k} = {v}\n"));
        }
    }
}

/// The whole config, in queue order.
pub(super) fn config(config: &Config) -> String {
    let mut out = String::new();
    if let Some(store) = &config.store {
        // Top-level keys come before the first table.
        let mut f = Fields::default();
        f.set("store", store);
        f.lines(&mut out);
        out.push('\n');
    }
    for c in &config.connections {
        table(&mut out, "connection", connection(c));
    }
    for m in &config.meters {
        table(&mut out, "meter", meter(m));
    }
    for r in &config.requests {
        table(&mut out, "request", request(r));
        if r.steps.is_empty() || !r.items.is_empty() {
            let items: Vec<String> = r
                .items
                .iter()
                .map(|i| format!("  {},\n", item(i).inline()))
                .collect();
            out.push_str(&format!("items = [\n{}]\n", items.concat()));
        }
        if !r.steps.is_empty() {
            let steps: Vec<String> = r
                .steps
                .iter()
                .map(|s| format!("  {},\n", step(s).inline()))
                .collect();
            out.push_str(&format!("steps = [\n{}]\n", steps.concat()));
        }
    }
    for s in &config.sinks {
        table(&mut out, "sink", sink(s));
    }
    if let Some(f) = &config.fleet {
        let mut fields = Fields::default();
        fields.secret("database", f.database.expose(), f.database.source());
        fields.set_some("instance", f.instance.as_ref());
        for (key, d) in [
            ("renew", f.renew),
            ("expiry", f.expiry),
            ("margin", f.margin),
        ] {
            fields.set_some(key, d.map(crate::schedule::format_duration));
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str("[fleet]\n");
        fields.lines(&mut out);
    }
    out
}

fn sink(s: &Sink) -> Fields {
    let mut f = Fields::default();
    f.set("name", &s.name);
    f.set("kind", s.kind.name());
    match &s.kind {
        SinkKind::Mqtt(m) => {
            let d = MqttSink::new(&m.host);
            f.set("host", &m.host);
            f.set_if(m.port != MqttSink::default_port(m.tls), "port", &m.port);
            f.set_if(m.tls, "tls", &m.tls);
            f.set_some(
                "ca_file",
                m.ca_file.as_ref().map(|p| p.display().to_string()),
            );
            f.set_some("username", m.username.as_ref());
            if let Some(p) = &m.password {
                f.secret("password", p.expose(), p.source());
            }
            f.set_some("client_id", m.client_id.as_ref());
            f.set_if(m.topic != d.topic, "topic", &m.topic);
            f.set_if(m.discovery != d.discovery, "discovery", &m.discovery);
            f.set_if(
                m.discovery_prefix != d.discovery_prefix,
                "discovery_prefix",
                &m.discovery_prefix,
            );
            f.set_if(
                m.outbox_limit != d.outbox_limit,
                "outbox_limit",
                &m.outbox_limit,
            );
        }
    }
    f.set_if(!s.enabled, "enabled", &s.enabled);
    f
}

fn table(out: &mut String, section: &str, fields: Fields) {
    if !out.is_empty() {
        out.push('\n');
    }
    out.push_str(&format!("[[{section}]]\n"));
    fields.lines(out);
}

fn connection(c: &Connection) -> Fields {
    let mut f = Fields::default();
    f.set("name", &c.name);
    match &c.link {
        // Its address is this run's free port: the next start picks another.
        _ if c.simulator => f.set("simulator", &true),
        Link::Tcp {
            host,
            port,
            persistent,
        } => {
            let mut tcp = Fields::default();
            tcp.set("host", host);
            tcp.set("port", port);
            tcp.set_if(!persistent, "persistent", persistent);
            f.table("tcp", &tcp);
        }
        Link::Udp { host, port } => {
            let mut udp = Fields::default();
            udp.set("host", host);
            udp.set("port", port);
            f.table("udp", &udp);
        }
        Link::Serial(s) => f.table("serial", &serial(s)),
        // The host is written even as the default: it decides who can reach the socket.
        Link::Listen { host, port } => {
            let mut listen = Fields::default();
            listen.set("host", host);
            listen.set("port", port);
            f.table("listen", &listen);
        }
    }
    f.set_if(c.mode != LinkMode::Dlms, "mode", &c.mode);
    f.set_if(!c.enabled, "enabled", &c.enabled);
    f.set_if(c.passive, "passive", &c.passive);
    f
}

fn serial(s: &SerialSettings) -> Fields {
    let d = SerialSettings::new(&s.port);
    let mut f = Fields::default();
    f.set("port", &s.port);
    f.set("baud", &s.baud);
    f.set_if(s.data_bits != d.data_bits, "data_bits", &s.data_bits);
    f.set_if(s.parity != d.parity, "parity", &s.parity);
    f.set_if(s.stop_bits != d.stop_bits, "stop_bits", &s.stop_bits);
    f.set_if(s.flow != d.flow, "flow", &s.flow);
    f.set_if(
        s.rs485_full_duplex,
        "rs485_full_duplex",
        &s.rs485_full_duplex,
    );
    f.set_if(s.frame_gap_ms != 0, "frame_gap_ms", &s.frame_gap_ms);
    f
}

fn meter(m: &Meter) -> Fields {
    let d = Meter::new(&m.name, &m.connection);
    let mut f = Fields::default();
    f.set("name", &m.name);
    f.set("connection", &m.connection);
    f.set_if(m.interface != d.interface, "interface", &m.interface);
    f.set_if(m.client != d.client, "client", &m.client);
    match m.serial_number {
        Some(sn) => f.set("serial_number", &sn),
        None => f.set_if(m.physical != d.physical, "server", &m.physical),
    }
    f.set_some("device_name", m.device_name.as_ref());
    f.set_if(m.logical != d.logical, "logical", &m.logical);
    let size = if m.serial_number.is_some() {
        4
    } else {
        d.address_size
    };
    f.set_if(m.address_size != size, "address_size", &m.address_size);
    f.set_if(
        m.referencing != d.referencing,
        "referencing",
        &m.referencing,
    );
    if m.auth != d.auth {
        let mut auth = Fields::default();
        auth.set("level", m.auth.level());
        if let (Some(key), Some(secret)) = (m.auth.secret_key(), m.auth.secret()) {
            auth.secret(key, secret.expose(), secret.source());
        }
        f.table("auth", &auth);
    }
    if m.security != d.security {
        f.table("security", &security(&m.security));
    }
    f.set_if(m.timeout_ms != d.timeout_ms, "timeout_ms", &m.timeout_ms);
    f.set_if(m.retries != d.retries, "retries", &m.retries);
    f.set_if(!m.enabled, "enabled", &m.enabled);
    f.set_some("han_preset", m.han_preset.as_ref());
    if let Some(pre) = &m.pre_established {
        f.set("pre_established", &true);
        if let Some(bits) = pre.conformance {
            f.set("conformance", &format!("{bits:06X}"));
        }
        f.set_if(
            pre.max_pdu != crate::queue::PreEstablished::DEFAULT_MAX_PDU,
            "max_pdu",
            &pre.max_pdu,
        );
    }
    f.set_if(!m.release, "release", &m.release);
    f.set_if(
        m.hdlc_window != d.hdlc_window,
        "hdlc_window",
        &m.hdlc_window,
    );
    f.set_if(m.gbt, "gbt", &m.gbt);
    f.set_if(m.gbt_window != d.gbt_window, "gbt_window", &m.gbt_window);
    f
}

fn security(s: &Security) -> Fields {
    let d = Security::default();
    let mut f = Fields::default();
    f.set_if(s.policy != d.policy, "policy", s.policy.name());
    f.set_if(
        s.system_title != d.system_title,
        "system_title",
        &hex(&s.system_title),
    );
    for (key, value) in [
        ("block_key", &s.block_key),
        ("auth_key", &s.auth_key),
        ("dedicated_key", &s.dedicated_key),
    ] {
        if let Some(k) = value {
            f.secret(key, &hex(&k.expose()), k.source());
        }
    }
    f.set_some("ic_obis", s.ic_obis.map(|o| o.to_string()));
    f.set_some(
        "server_system_title",
        s.server_system_title.map(|t| hex(&t)),
    );
    if !s.keys.is_empty() {
        let tables: Vec<String> = s
            .keys
            .iter()
            .map(|k| {
                let mut t = Fields::default();
                t.set("system_title", &hex(&k.system_title));
                t.secret(
                    "block_key",
                    &hex(&k.block_key.expose()),
                    k.block_key.source(),
                );
                if let Some(a) = &k.auth_key {
                    t.secret("auth_key", &hex(&a.expose()), a.source());
                }
                t.inline()
            })
            .collect();
        f.0.push(("keys", format!("[{}]", tables.join(", "))));
    }
    f
}

/// The request's fields but its items, which go last as a multi-line array.
fn request(r: &Request) -> Fields {
    let d = Request::new(&r.name, Vec::new(), r.schedule.clone());
    let mut f = Fields::default();
    f.set("name", &r.name);
    f.set_if(!r.enabled, "enabled", &r.enabled);
    f.set("meters", &r.meters);
    f.set("schedule", &r.schedule);
    f.set_if(r.timeout_ms != d.timeout_ms, "timeout_ms", &r.timeout_ms);
    f.set_some("on_success", r.on_success.as_ref());
    f.set_some("on_failure", r.on_failure.as_ref());
    f
}

fn step(s: &Step) -> Fields {
    let mut f = Fields::default();
    match s {
        Step::ClockSync { when_drift_over } => {
            f.set("clock_sync", &true);
            f.set_some(
                "when_drift_over",
                when_drift_over.map(crate::schedule::format_duration),
            );
        }
        Step::Set {
            obis,
            class_id,
            attribute,
            value,
            data_type,
        } => {
            f.set("set", &format!("{obis}:{attribute}"));
            f.set_if(*class_id != default_class(obis), "class", class_id);
            f.set("value", value);
            f.set_some("type", data_type.as_ref());
        }
        Step::Call {
            obis,
            class_id,
            method,
            param,
            data_type,
        } => {
            f.set("call", &format!("{obis}:{method}"));
            f.set_if(*class_id != default_class(obis), "class", class_id);
            f.set_some("param", param.as_ref());
            f.set_some("type", data_type.as_ref());
        }
    }
    f
}

fn item(i: &Item) -> Fields {
    let d = Item::new(&i.name, i.obis);
    let mut f = Fields::default();
    f.set("name", &i.name);
    f.set("obis", &i.obis.to_string());
    f.set_if(i.class_id != d.class_id, "class", &i.class_id);
    f.set_if(i.attribute != d.attribute, "attribute", &i.attribute);
    f.set_some("type", i.data_type.as_ref());
    f.set_some("unit", i.unit.as_ref());
    f.set_some("scale", i.scale);
    f.set_some("entries", i.entries);
    f.set_some("since", i.since.as_ref().map(ToString::to_string));
    f.set_some("until", i.until.as_ref().map(ToString::to_string));
    f.set_if(!i.enabled, "enabled", &i.enabled);
    f
}
