//! Where readings go besides the log: sinks (`[[sink]]`), each optional, several at once.
//!
//! The only kind so far is an MQTT broker (`kind = "mqtt"`); a second kind is one more
//! variant of [`SinkKind`], with its own fields checked in `validate.rs`.

use super::secret::{Secret, SecretSource};
use std::path::PathBuf;

/// One configured sink.
#[derive(Debug, Clone, PartialEq)]
pub struct Sink {
    /// Unique name (status, metrics, the outbox).
    pub name: String,
    /// Off: configured but not fed.
    pub enabled: bool,
    /// What it is.
    pub kind: SinkKind,
}

/// The kinds of sink.
#[derive(Debug, Clone, PartialEq)]
pub enum SinkKind {
    /// An MQTT broker (3.1.1), QoS 1.
    Mqtt(MqttSink),
}

impl SinkKind {
    /// The name written as `kind = "…"`.
    pub fn name(&self) -> &'static str {
        match self {
            SinkKind::Mqtt(_) => "mqtt",
        }
    }
}

/// An MQTT broker and what is published to it.
#[derive(Debug, Clone, PartialEq)]
pub struct MqttSink {
    /// Broker host name or address.
    pub host: String,
    /// Broker port (default 1883, 8883 with TLS).
    pub port: u16,
    /// TLS (rustls); the broker's certificate is checked against `ca_file`, else the
    /// public roots (webpki-roots).
    pub tls: bool,
    /// A PEM file of certificate authorities to trust for the broker.
    pub ca_file: Option<PathBuf>,
    /// User name, if the broker wants one.
    pub username: Option<String>,
    /// Password (never printed; may come from the environment).
    pub password: Option<Secret>,
    /// MQTT client id (default `dlms-logger-<sink name>`).
    pub client_id: Option<String>,
    /// Topic template: `{meter}`, `{item}`, `{obis}`, `{request}` are replaced.
    pub topic: String,
    /// Home Assistant MQTT discovery: a retained config message per item.
    pub discovery: bool,
    /// The discovery prefix Home Assistant listens on.
    pub discovery_prefix: String,
    /// Most messages the outbox keeps while the broker is away; beyond, the oldest are dropped
    /// (and counted).
    pub outbox_limit: u64,
}

/// The default topic template.
pub const DEFAULT_TOPIC: &str = "dlms/{meter}/{item}";
/// Home Assistant's default discovery prefix.
pub const DEFAULT_DISCOVERY_PREFIX: &str = "homeassistant";
/// The default outbox bound (messages).
pub const DEFAULT_OUTBOX_LIMIT: u64 = 1_000_000;
/// The placeholders a topic template may hold.
pub const TOPIC_PLACEHOLDERS: [&str; 4] = ["meter", "item", "obis", "request"];

impl MqttSink {
    /// A broker at `host` with every default.
    pub fn new(host: impl Into<String>) -> Self {
        MqttSink {
            host: host.into(),
            port: 1883,
            tls: false,
            ca_file: None,
            username: None,
            password: None,
            client_id: None,
            topic: DEFAULT_TOPIC.into(),
            discovery: true,
            discovery_prefix: DEFAULT_DISCOVERY_PREFIX.into(),
            outbox_limit: DEFAULT_OUTBOX_LIMIT,
        }
    }

    /// The default port: 8883 with TLS, else 1883.
    pub fn default_port(tls: bool) -> u16 {
        if tls {
            8883
        } else {
            1883
        }
    }
}

impl Sink {
    /// Whether a password is written in the config itself.
    pub fn holds_inline_secret(&self) -> bool {
        match &self.kind {
            SinkKind::Mqtt(m) => {
                m.password.as_ref().map(Secret::source) == Some(&SecretSource::Inline)
            }
        }
    }
}

/// Checks a topic template: placeholders known and closed, no MQTT wildcards, and `{meter}`
/// plus `{item}` or `{obis}` so each meter's item has a topic of its own.
pub fn check_topic(template: &str) -> Result<(), String> {
    if template.trim().is_empty() {
        return Err(format!(
            "is empty; give a template such as {DEFAULT_TOPIC:?}"
        ));
    }
    if template.contains(['+', '#', '\0']) {
        return Err("holds an MQTT wildcard (+ or #) or a NUL; topics to publish to cannot".into());
    }
    let mut rest = template;
    let mut seen = Vec::new();
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            return Err("has a { without its }".into());
        };
        let name = &after[..close];
        if !TOPIC_PLACEHOLDERS.contains(&name) {
            return Err(format!(
                "has an unknown placeholder {{{name}}}; use {}",
                super::error::or_list(
                    &TOPIC_PLACEHOLDERS
                        .iter()
                        .map(|p| format!("{{{p}}}"))
                        .collect::<Vec<_>>()
                )
            ));
        }
        seen.push(name);
        rest = &after[close + 1..];
    }
    if rest.contains('}') {
        return Err("has a } without its {".into());
    }
    if !seen.contains(&"meter") || !(seen.contains(&"item") || seen.contains(&"obis")) {
        return Err(
            "must hold {meter} and {item} (or {obis}) so that each meter's item has its own topic"
                .into(),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_templates() {
        assert_eq!(check_topic(DEFAULT_TOPIC), Ok(()));
        assert_eq!(check_topic("site/a/{meter}/{obis}"), Ok(()));
        assert!(check_topic("dlms/{meter}").unwrap_err().contains("{item}"));
        assert!(check_topic("dlms/+/{meter}/{item}")
            .unwrap_err()
            .contains("wildcard"));
        assert!(check_topic("dlms/{meter}/{name}")
            .unwrap_err()
            .contains("unknown placeholder {name}"));
        assert!(check_topic("dlms/{meter/{item}").is_err());
        assert!(check_topic("dlms/{meter}/{item}}").is_err());
        assert!(check_topic(" ").is_err());
    }

    #[test]
    fn the_password_never_prints() {
        let mut m = MqttSink::new("broker");
        m.password = Some(Secret::new("hunter2"));
        assert!(!format!("{m:?}").contains("hunter2"));
    }
}
