//! A meter as the engine reaches it: its link, its address on the link, its security and the
//! client settings, built in exactly one place from the queue's `Connection` and `Meter`. The
//! logger takes those from its config; the command line builds the same types from its flags
//! (or takes them from `-c FILE --meter NAME`), so both open sessions the same way.

use super::{secure, EngineError, Interface, MeterAddress, Session, TraceSink, Waits};
use crate::counters::CounterStore;
use crate::dlms::acse::Conformance;
use crate::dlms::client::{Authentication, Ciphering, ClientSettings, PreEstablished, Referencing};
use crate::dlms::security::{HlsMechanism, Key, SystemTitle};
use crate::queue::{
    Auth, Config, Connection, InterfaceKind, KeySecret, Link, LinkMode, Meter, Policy,
    ReferencingKind, Secret,
};
use crate::transport::BoxStream;
use std::sync::Arc;
use std::time::Duration;
use thiserror::Error;

/// Why a meter named in a config cannot be reached.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum TargetError {
    /// No meter of that name.
    #[error("there is no meter {0:?} in the queue")]
    NoMeter(String),
    /// The meter names a connection that is not there.
    #[error("meter {meter:?} is on connection {connection:?}, which is not in the queue")]
    NoConnection {
        /// The meter.
        meter: String,
        /// The connection it names.
        connection: String,
    },
}

/// Everything needed to reach and talk to one meter.
#[derive(Debug, Clone)]
pub struct Target {
    /// The link the meter is on.
    pub connection: Connection,
    /// The meter as configured.
    pub meter: Meter,
    /// Its address on the link.
    pub address: MeterAddress,
    /// What we propose when we associate (authentication, ciphering, referencing).
    pub settings: ClientSettings,
    /// How long to wait for each answer.
    pub timeout: Duration,
    /// How long a session may poll for each answer before parking (see
    /// [`Session::set_busy_poll`]); zero for the logger, set by one-shot commands.
    pub busy_poll: Duration,
}

impl Target {
    /// The target of a configured meter on its connection.
    pub fn new(connection: &Connection, meter: &Meter) -> Target {
        Target {
            connection: connection.clone(),
            meter: meter.clone(),
            address: address(meter),
            settings: settings(meter),
            timeout: Duration::from_millis(meter.timeout_ms),
            busy_poll: Duration::ZERO,
        }
    }

    /// The target of the meter named `name` in `config`.
    pub fn from_config(config: &Config, name: &str) -> Result<Target, TargetError> {
        let m = config
            .meter(name)
            .ok_or_else(|| TargetError::NoMeter(name.to_string()))?;
        let c = config
            .connection(&m.connection)
            .ok_or_else(|| TargetError::NoConnection {
                meter: m.name.clone(),
                connection: m.connection.clone(),
            })?;
        Ok(Target::new(c, m))
    }

    /// True when the association is ciphered (and so takes invocation counters).
    pub fn ciphered(&self) -> bool {
        self.settings.ciphering.is_some()
    }

    /// Opens the link alone (a TCP connection or the serial port), without associating.
    pub async fn connect(&self) -> Result<BoxStream, EngineError> {
        connect(&self.connection, self.timeout).await
    }

    /// Opens a session: the link, then the association with security prepared (a fresh HLS
    /// challenge, the meter's counter read first when configured, our counters from `counters`).
    pub async fn open(
        &self,
        counters: &Arc<CounterStore>,
        trace: Option<TraceSink>,
    ) -> Result<Session<BoxStream>, EngineError> {
        let link = || connect(&self.connection, self.timeout);
        let mut session = secure::open(
            link,
            &self.address,
            self.settings.clone(),
            self.meter.security.ic_obis,
            Some(counters),
            Waits {
                timeout: self.timeout,
                busy_poll: self.busy_poll,
            },
            trace,
        )
        .await?;
        if let Link::Serial(line) = &self.connection.link {
            session.set_frame_gap(Duration::from_millis(line.frame_gap_ms));
        }
        session.set_release(self.meter.release);
        Ok(session)
    }

    /// Associates over a stream the meter opened (a meter that dialed in). There is no link to
    /// reopen, so the meter's counter is not read first (`ic_obis` does not apply).
    pub async fn open_over(
        &self,
        stream: BoxStream,
        counters: &Arc<CounterStore>,
        trace: Option<TraceSink>,
    ) -> Result<Session<BoxStream>, EngineError> {
        let once = std::sync::Mutex::new(Some(stream));
        let link = || {
            let taken = once.lock().unwrap_or_else(|e| e.into_inner()).take();
            async move {
                taken.ok_or_else(|| {
                    EngineError::Address("an incoming link cannot be reopened".into())
                })
            }
        };
        let mut settings = self.settings.clone();
        if let Some(c) = settings.ciphering.as_mut() {
            c.invocation_counter = 0;
        }
        let mut session = secure::open(
            link,
            &self.address,
            settings,
            None,
            Some(counters),
            Waits {
                timeout: self.timeout,
                busy_poll: self.busy_poll,
            },
            trace,
        )
        .await?;
        session.set_release(self.meter.release);
        Ok(session)
    }
}

/// Opens a connection's link: a TCP connection, a UDP socket or the serial port (after the IEC 62056-21
/// mode E sign-on when the connection asks for it).
pub async fn connect(conn: &Connection, timeout: Duration) -> Result<BoxStream, EngineError> {
    let io = |e: &dyn std::fmt::Display| EngineError::Io(std::io::Error::other(e.to_string()));
    match &conn.link {
        Link::Tcp { host, port, .. } => crate::transport::tcp::connect(host, *port, timeout)
            .await
            .map(|s| Box::new(s) as BoxStream)
            .map_err(|e| io(&e)),
        Link::Udp { host, port } => crate::transport::udp::connect(host, *port, timeout)
            .await
            .map(|s| Box::new(s) as BoxStream)
            .map_err(|e| io(&e)),
        Link::Serial(s) if conn.mode == LinkMode::Iec62056_21 => {
            crate::transport::serial::open_mode_e(s, timeout)
                .await
                .map(|p| Box::new(p) as BoxStream)
                .map_err(|e| io(&e))
        }
        Link::Serial(s) => crate::transport::serial::open(s)
            .map(|p| Box::new(p) as BoxStream)
            .map_err(|e| io(&e)),
        Link::Listen { .. } => Err(EngineError::Io(std::io::Error::other(
            "a listening connection has no outgoing link; its meters dial in",
        ))),
    }
}

/// The address of a configured meter.
fn address(m: &Meter) -> MeterAddress {
    MeterAddress {
        interface: match m.interface {
            InterfaceKind::Wrapper => Interface::Wrapper,
            InterfaceKind::Hdlc => Interface::Hdlc,
        },
        client: m.client,
        physical: m.physical,
        logical: m.logical,
        address_size: m.address_size,
        hdlc_window: m.hdlc_window,
    }
}

/// The association settings of a configured meter.
fn settings(m: &Meter) -> ClientSettings {
    let mut s = ClientSettings::new(match m.referencing {
        ReferencingKind::Ln => Referencing::Ln,
        ReferencingKind::Sn => Referencing::Sn,
    });
    let high = |mechanism, secret: &Secret| Authentication::High {
        mechanism,
        secret: secret.expose().as_bytes().to_vec(),
    };
    s.authentication = match &m.auth {
        Auth::None => Authentication::None,
        Auth::Low(secret) => Authentication::Low(secret.expose().as_bytes().to_vec()),
        Auth::High(secret) => high(HlsMechanism::Manufacturer, secret),
        Auth::Md5(secret) => high(HlsMechanism::Md5, secret),
        Auth::Sha1(secret) => high(HlsMechanism::Sha1, secret),
        Auth::Sha256(secret) => high(HlsMechanism::Sha256, secret),
        Auth::Gmac => Authentication::High {
            mechanism: HlsMechanism::Gmac,
            secret: Vec::new(),
        },
    };
    s.pre_established = m.pre_established.map(|p| PreEstablished {
        conformance: p.conformance.map_or(s.conformance, Conformance),
        max_pdu: p.max_pdu,
    });
    s.gbt = m.gbt;
    s.gbt_window = m.gbt_window;
    let sec = &m.security;
    let key = |k: &KeySecret| Key(k.expose());
    let sha256 = matches!(m.auth, Auth::Sha256(_));
    let keyed = sec.policy != Policy::None || matches!(m.auth, Auth::Gmac) || sha256;
    // HLS-SHA256 hashes both system titles but needs no key: without keys the ciphering
    // settings only carry the titles (policy none, so no key is ever used).
    let (block, auth) = match (&sec.block_key, &sec.auth_key) {
        (Some(b), Some(a)) => (Some(key(b)), Some(key(a))),
        _ if sha256 && sec.policy == Policy::None => (Some(Key([0; 16])), Some(Key([0; 16]))),
        _ => (None, None),
    };
    s.ciphering = match (block, auth) {
        (Some(block_key), Some(auth_key)) if keyed => Some(Ciphering {
            policy: sec.policy,
            system_title: SystemTitle(sec.system_title),
            block_key,
            auth_key,
            dedicated_key: sec.dedicated_key.as_ref().map(key),
            server_system_title: sec.server_system_title.map(SystemTitle),
            invocation_counter: 0,
            meter_counter_floor: 0,
        }),
        _ => None,
    };
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_meter_is_found_by_name_or_the_error_says_what_is_missing() {
        let mut config = Config::default();
        assert_eq!(
            Target::from_config(&config, "m1").unwrap_err().to_string(),
            "there is no meter \"m1\" in the queue"
        );
        config.meters.push(Meter::new("m1", "gone"));
        assert_eq!(
            Target::from_config(&config, "m1").unwrap_err().to_string(),
            "meter \"m1\" is on connection \"gone\", which is not in the queue"
        );
    }

    #[test]
    fn settings_follow_the_meters_config() {
        let mut m = Meter::new("m1", "c1");
        m.interface = InterfaceKind::Hdlc;
        m.physical = 17;
        m.referencing = ReferencingKind::Sn;
        m.auth = Auth::Low(Secret::new("00000000"));
        let c = Connection::new(
            "c1",
            Link::Tcp {
                host: "127.0.0.1".into(),
                port: 4059,
                persistent: false,
            },
        );
        let t = Target::new(&c, &m);
        assert_eq!(t.address.interface, Interface::Hdlc);
        assert_eq!(t.address.physical, 17);
        assert_eq!(t.settings.referencing, Referencing::Sn);
        assert!(
            matches!(t.settings.authentication, Authentication::Low(ref p) if p == b"00000000")
        );
        assert!(!t.ciphered());
    }
}
