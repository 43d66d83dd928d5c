//! CONNECTION-FLAGS shared by `read` and `objects`, and the item syntax `OBIS[:CLASS[:ATTR]]`.

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use dlms_logger::counters::CounterStore;
use dlms_logger::dlms::client::AttributeRef;
use dlms_logger::dlms::obis::Obis;
use dlms_logger::dlms::security::{Key, Policy, SystemTitle};
use dlms_logger::engine::Session;
use dlms_logger::engine::Target;
use dlms_logger::queue::{
    Auth, Config, Connection, Flow, InterfaceKind, KeySecret, Link, LinkMode, Meter, Parity,
    Policy as QueuePolicy, PreEstablished, ReferencingKind, Secret, SerialSettings,
};
use dlms_logger::transport::BoxStream;
use std::path::PathBuf;

/// Authentication levels accepted on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthLevel {
    /// No authentication (lowest level).
    None,
    /// Low level security: a password (--password or DLMS_PASSWORD).
    Low,
    /// HLS mechanism 2, manufacturer-specific: AES-128-ECB of the challenge with --secret.
    High,
    /// HLS mechanism 3: MD5 with --secret.
    Md5,
    /// HLS mechanism 4: SHA-1 with --secret.
    Sha1,
    /// HLS mechanism 6: SHA-256 with --secret and both system titles.
    Sha256,
    /// HLS mechanism 5: GMAC with the block and authentication keys.
    Gmac,
}

/// Security policies (security suite 0, AES-GCM-128).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SecurityArg {
    /// No ciphering.
    None,
    /// Authenticated (GMAC) APDUs.
    Auth,
    /// Encrypted APDUs.
    Enc,
    /// Authenticated and encrypted APDUs.
    Authenc,
}

impl SecurityArg {
    /// The protocol's policy.
    pub fn policy(self) -> Policy {
        match self {
            SecurityArg::None => Policy::None,
            SecurityArg::Auth => Policy::Auth,
            SecurityArg::Enc => Policy::Enc,
            SecurityArg::Authenc => Policy::AuthEnc,
        }
    }
}

/// How long a command may poll for each answer before parking its thread. The session polls
/// only while that proves faster than parking (`engine::spin`): on an idle machine a parked
/// thread wakes tens of microseconds late, on a busy one polling takes the CPU the meter's
/// process needs. `throughput --busy-poll-us N` measures other limits.
pub const BUSY_POLL: std::time::Duration = std::time::Duration::from_micros(50);

/// The default client system title ("DLG" + 1), when none is given.
pub const DEFAULT_SYSTEM_TITLE: &str = "444C470000000001";

/// How to reach and address a meter.
#[derive(Debug, Clone, Args)]
pub struct ConnectionArgs {
    /// Take the meter (link, addresses, authentication, ciphering) from this queue file
    /// instead of the link flags; with --meter.
    #[arg(short = 'c', long = "config", value_name = "FILE", requires = "meter")]
    pub config: Option<PathBuf>,
    /// The meter of --config to use.
    #[arg(long, value_name = "NAME", requires = "config")]
    pub meter: Option<String>,
    /// Meter host name or IP address.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// TCP port (1 to 65535); the UDP port with --udp.
    #[arg(long, default_value_t = 4059, value_parser = super::meter_port)]
    pub port: u16,
    /// UDP instead of TCP: one WRAPPER PDU per datagram to --host and --port, as GPRS and
    /// NB-IoT meters speak (IEC 62056-47).
    #[arg(long, conflicts_with_all = ["serial", "hdlc"])]
    pub udp: bool,
    /// Serial device instead of TCP (e.g. /dev/ttyUSB0); HDLC is then the usual framing.
    #[arg(long, value_name = "DEV")]
    pub serial: Option<String>,
    /// Serial baud rate.
    #[arg(long, default_value_t = 9600)]
    pub baud: u32,
    /// Serial data bits (5-8).
    #[arg(long, default_value_t = 8)]
    pub data_bits: u8,
    /// Serial parity: none, even or odd.
    #[arg(long, default_value = "none")]
    pub parity: String,
    /// Serial stop bits (1 or 2).
    #[arg(long, default_value_t = 1)]
    pub stop_bits: u8,
    /// "Start with IEC": sign on at 300 baud (IEC 62056-21 mode E), then HDLC at --baud (optical probes).
    #[arg(long, requires = "serial")]
    pub iec: bool,
    /// Serial flow control: none, rts-cts or xon-xoff.
    #[arg(long, default_value = "none")]
    pub flow: String,
    /// Use HDLC framing (IEC 62056-46).
    #[arg(long, conflicts_with = "wrapper")]
    pub hdlc: bool,
    /// Use WRAPPER framing (IEC 62056-47); the default.
    #[arg(long)]
    pub wrapper: bool,
    /// Client address (SAP): 16 public client, often 17 or 32 for a password.
    #[arg(long, default_value_t = 16)]
    pub client: u16,
    /// Serial-number addressing: physical address SN % 10000 + 1000, 4-byte address (as routers do).
    #[arg(long, value_name = "SN")]
    pub serial_number: Option<u64>,
    /// Minimal milliseconds between frames we send (slow meters and converters).
    #[arg(long, default_value_t = 0)]
    pub frame_gap: u64,
    /// Server physical address (HDLC lower address; used with --address-size 2 or 4).
    #[arg(long, default_value_t = 1)]
    pub server: u16,
    /// Server logical device address (HDLC upper address, WRAPPER destination port).
    #[arg(long, default_value_t = 1)]
    pub logical: u16,
    /// HDLC server address size in bytes.
    #[arg(long, default_value_t = 1, value_parser = parse_address_size)]
    pub address_size: u8,
    /// Short-name referencing (default: logical names).
    #[arg(long)]
    pub sn: bool,
    /// Authentication level.
    #[arg(long, value_enum, default_value = "none")]
    pub auth: AuthLevel,
    /// Password for --auth low (or the DLMS_PASSWORD environment variable, which stays out of shell history).
    #[arg(long, env = "DLMS_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// Secret for --auth high/md5/sha1/sha256 (or DLMS_SECRET).
    #[arg(long, env = "DLMS_SECRET", hide_env_values = true)]
    pub secret: Option<String>,
    /// Ciphering of every APDU (security suite 0).
    #[arg(long, value_enum, default_value = "none")]
    pub security: SecurityArg,
    /// Our (client) system title, 16 hex digits (or DLMS_SYSTEM_TITLE).
    #[arg(long, env = "DLMS_SYSTEM_TITLE", default_value = DEFAULT_SYSTEM_TITLE)]
    pub system_title: String,
    /// The meter's system title we expect (16 hex digits); another one is refused.
    #[arg(long, env = "DLMS_SERVER_SYSTEM_TITLE")]
    pub server_system_title: Option<String>,
    /// Global unicast encryption (block) key, 32 hex digits (or DLMS_BLOCK_KEY).
    #[arg(long, env = "DLMS_BLOCK_KEY", hide_env_values = true)]
    pub block_key: Option<String>,
    /// Authentication key, 32 hex digits (or DLMS_AUTH_KEY).
    #[arg(long, env = "DLMS_AUTH_KEY", hide_env_values = true)]
    pub auth_key: Option<String>,
    /// Dedicated key to propose for this association, 32 hex digits (or DLMS_DEDICATED_KEY).
    #[arg(long, env = "DLMS_DEDICATED_KEY", hide_env_values = true)]
    pub dedicated_key: Option<String>,
    /// Read the meter's invocation counter from this OBIS (over the public client) first.
    #[arg(long, env = "DLMS_IC_OBIS")]
    pub ic_obis: Option<String>,
    /// The invocation counter store shared by every command (default: $XDG_DATA_HOME or ~/.local/share, dlms-logger/counters.db).
    #[arg(long, value_name = "FILE", env = "DLMS_COUNTER_DB")]
    pub counter_db: Option<PathBuf>,
    /// No AARQ: the meter accepts this client's requests without an association (it is
    /// pre-established in the meter); no authentication or ciphering, and no release.
    #[arg(long)]
    pub pre_established: bool,
    /// With --pre-established: the conformance the meter was configured with, 6 hex digits as an
    /// AARE carries them (default: what we would propose).
    #[arg(long, value_name = "HEX", requires = "pre_established", value_parser = parse_conformance)]
    pub conformance: Option<u32>,
    /// With --pre-established: the largest APDU the meter accepts.
    #[arg(long, value_name = "BYTES", requires = "pre_established", value_parser = clap::value_parser!(u16).range(64..))]
    pub max_pdu: Option<u16>,
    /// HDLC window to propose (1 to 7 frames sent before an acknowledgement); the meter's UA
    /// decides.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=7))]
    pub hdlc_window: u8,
    /// Propose general-block-transfer: the meter may answer long GETs in GBT blocks.
    #[arg(long)]
    pub gbt: bool,
    /// With --gbt: the window we take (blocks the meter may stream before we acknowledge).
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u8).range(1..=63))]
    pub gbt_window: u8,
    /// Leave the association open at the meter when done (send no release request).
    #[arg(long)]
    pub no_release: bool,
    /// Print every frame exchanged (hex and a decoded summary) to stderr.
    #[arg(long)]
    pub trace: bool,
    /// Timeout for every answer, in milliseconds.
    #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub timeout: u64,
}

/// A conformance block: 6 hex digits (`001E1D`), as an AARE carries it.
fn parse_conformance(s: &str) -> Result<u32, String> {
    let t = s.strip_prefix("0x").unwrap_or(s);
    match u32::from_str_radix(t, 16) {
        Ok(bits) if t.len() == 6 && t.chars().all(|c| c.is_ascii_hexdigit()) => Ok(bits),
        _ => Err(format!(
            "{s:?} is not a conformance block; give 6 hex digits such as 001E1D"
        )),
    }
}

fn parse_address_size(s: &str) -> Result<u8, String> {
    match s {
        "1" => Ok(1),
        "2" => Ok(2),
        "4" => Ok(4),
        _ => Err(format!("{s:?} is not an address size: use 1, 2 or 4")),
    }
}

impl ConnectionArgs {
    /// The connection and meter to use: from `-c FILE --meter NAME`, else built from the
    /// link flags into the same queue types (errors name the flag), so both go one way.
    pub fn resolve(&self) -> Result<(Connection, Meter)> {
        self.resolve_target().map(|t| (t.connection, t.meter))
    }

    /// The engine's `Target` of [`ConnectionArgs::resolve`]: the one place a meter's settings
    /// become link, address and association settings, for the CLI as for the logger.
    pub fn resolve_target(&self) -> Result<Target> {
        if let (Some(path), Some(name)) = (&self.config, &self.meter) {
            let config = Config::load(path)?;
            let Some(m) = config.meter(name) else {
                let known: Vec<&str> = config.meters.iter().map(|m| m.name.as_str()).collect();
                bail!(
                    "{}: no meter {name:?}; the meters there are: {}",
                    path.display(),
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                );
            };
            let target = Target::from_config(&config, &m.name)
                .with_context(|| format!("{}", path.display()))?;
            if matches!(target.connection.link, Link::Listen { .. }) {
                bail!(
                    "meter {name:?} is on the listening connection {:?}: it dials in, so it can \
                     only be read by a running logger",
                    target.connection.name
                );
            }
            return Ok(target);
        }
        let link = match self.serial_settings()? {
            Some(mut line) => {
                line.frame_gap_ms = self.frame_gap;
                Link::Serial(line)
            }
            None if self.udp => Link::Udp {
                host: self.host.clone(),
                port: self.port,
            },
            None => Link::Tcp {
                host: self.host.clone(),
                port: self.port,
                persistent: false,
            },
        };
        let mut conn = Connection::new("command line", link);
        if self.iec {
            conn.mode = LinkMode::Iec62056_21;
        }
        Ok(Target::new(&conn, &self.meter_from_flags()?))
    }

    /// The meter the link flags describe (keys and titles validated; errors name the flag).
    fn meter_from_flags(&self) -> Result<Meter> {
        let mut m = Meter::new("command line", "command line");
        m.interface = if self.hdlc {
            InterfaceKind::Hdlc
        } else {
            InterfaceKind::Wrapper
        };
        m.client = self.client;
        m.logical = self.logical;
        (m.physical, m.address_size) = match self.serial_number {
            // The serial-number form is the 4-byte address unless a size is forced.
            Some(sn) => (
                dlms_logger::dlms::hdlc::physical_from_serial_number(sn),
                if self.address_size == 1 {
                    4
                } else {
                    self.address_size
                },
            ),
            None => (self.server, self.address_size),
        };
        m.serial_number = self.serial_number;
        m.referencing = if self.sn {
            ReferencingKind::Sn
        } else {
            ReferencingKind::Ln
        };
        m.timeout_ms = self.timeout;
        m.pre_established = self.pre_established.then(|| PreEstablished {
            conformance: self.conformance,
            max_pdu: self.max_pdu.unwrap_or(PreEstablished::DEFAULT_MAX_PDU),
        });
        m.release = !self.no_release;
        m.hdlc_window = self.hdlc_window;
        m.gbt = self.gbt;
        m.gbt_window = self.gbt_window;
        let secret = |level: &str| -> Result<Secret> {
            match &self.secret {
                Some(x) => Ok(Secret::new(x.clone())),
                None => bail!("--auth {level} needs a secret: give --secret or set DLMS_SECRET"),
            }
        };
        m.auth = match (self.auth, &self.password) {
            (AuthLevel::None, _) => Auth::None,
            (AuthLevel::Low, Some(p)) => Auth::Low(Secret::new(p.clone())),
            (AuthLevel::Low, None) => {
                bail!("--auth low needs a password: give --password or set DLMS_PASSWORD")
            }
            (AuthLevel::High, _) => Auth::High(secret("high")?),
            (AuthLevel::Md5, _) => Auth::Md5(secret("md5")?),
            (AuthLevel::Sha1, _) => Auth::Sha1(secret("sha1")?),
            (AuthLevel::Sha256, _) => Auth::Sha256(secret("sha256")?),
            (AuthLevel::Gmac, _) => Auth::Gmac,
        };
        let key = |flag: &str, v: &Option<String>| -> Result<Option<KeySecret>> {
            v.as_deref()
                .map(|text| {
                    text.parse::<Key>()
                        .map(|k| KeySecret::new(k.0))
                        .map_err(|e| anyhow::anyhow!("{flag}: {e}"))
                })
                .transpose()
        };
        let title = |flag: &str, v: &str| -> Result<[u8; 8]> {
            v.parse::<SystemTitle>()
                .map(|t| t.0)
                .map_err(|e| anyhow::anyhow!("{flag}: {e}"))
        };
        let sec = &mut m.security;
        sec.policy = match self.security {
            SecurityArg::None => QueuePolicy::None,
            SecurityArg::Auth => QueuePolicy::Auth,
            SecurityArg::Enc => QueuePolicy::Enc,
            SecurityArg::Authenc => QueuePolicy::AuthEnc,
        };
        sec.system_title = title("--system-title", &self.system_title)?;
        sec.block_key = key("--block-key", &self.block_key)?;
        sec.auth_key = key("--auth-key", &self.auth_key)?;
        sec.dedicated_key = key("--dedicated-key", &self.dedicated_key)?;
        sec.server_system_title = self
            .server_system_title
            .as_deref()
            .map(|t| title("--server-system-title", t))
            .transpose()?;
        sec.ic_obis = self
            .ic_obis
            .as_deref()
            .map(|o| {
                o.parse::<Obis>()
                    .map_err(|e| anyhow::anyhow!("--ic-obis: {e}"))
            })
            .transpose()?;
        let keyed = self.security != SecurityArg::None || self.auth == AuthLevel::Gmac;
        if keyed && (sec.block_key.is_none() || sec.auth_key.is_none()) {
            let flag = if sec.block_key.is_none() {
                "--block-key"
            } else {
                "--auth-key"
            };
            bail!("{flag} is needed for --security/--auth gmac (32 hex digits)");
        }
        Ok(m)
    }

    /// Where we connect, for messages.
    pub fn target(&self) -> String {
        if let (Some(path), Some(name)) = (&self.config, &self.meter) {
            return format!("{name} (from {})", path.display());
        }
        match &self.serial {
            Some(dev) => dev.clone(),
            None => format!("{}:{}", self.host, self.port),
        }
    }

    /// The serial line settings, when `--serial` is given (errors name the flag).
    pub fn serial_settings(&self) -> Result<Option<SerialSettings>> {
        let Some(dev) = &self.serial else {
            return Ok(None);
        };
        let mut s = SerialSettings::new(dev.clone());
        s.baud = self.baud;
        s.data_bits = self.data_bits;
        s.stop_bits = self.stop_bits;
        s.parity = Parity::from_name(&self.parity).map_err(|e| anyhow::anyhow!("--parity: {e}"))?;
        s.flow = match self.flow.as_str() {
            "none" => Flow::None,
            "rts-cts" => Flow::RtsCts,
            "xon-xoff" => Flow::XonXoff,
            f => bail!("--flow {f:?}: use none, rts-cts or xon-xoff"),
        };
        Ok(Some(s))
    }

    /// Connects and associates (reading the meter's counter first when `ic_obis` says so),
    /// the same way the logger does: one path from a meter's settings to a session.
    pub async fn open(&self) -> Result<Opened> {
        let mut target = self.resolve_target()?;
        // A command waits for nothing but this meter: it may poll before parking, from the
        // association's first answer.
        target.busy_poll = BUSY_POLL;
        let sink: Option<dlms_logger::engine::TraceSink> = self.trace.then(|| {
            Box::new(|e: dlms_logger::engine::TraceEntry| {
                let dir = match e.direction {
                    dlms_logger::engine::Direction::Tx => "TX",
                    dlms_logger::engine::Direction::Rx => "RX",
                };
                eprintln!("{dir} {}  {}", e.hex(), e.summary);
            }) as dlms_logger::engine::TraceSink
        });
        let counters = counter_store(self.counter_db.clone());
        let session = target
            .open(&counters, sink)
            .await
            .with_context(|| format!("cannot associate with the meter at {}", self.target()))?;
        Ok(Opened {
            session,
            counters: target.ciphered().then_some(counters),
        })
    }
}

/// The counter store at `path` (default: the user's, see `dlms_logger::counters`), with the
/// counters of the command line's older store (`$XDG_STATE_HOME/dlms-logger/counters.db`)
/// imported so that none of them is used again.
pub fn counter_store(path: Option<PathBuf>) -> std::sync::Arc<CounterStore> {
    let store = CounterStore::new(path.unwrap_or_else(dlms_logger::counters::default_path));
    let old = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .map(|b| b.join("dlms-logger/counters.db"));
    if let Some(old) = old.filter(|p| p.exists()) {
        let rows = dlms_logger::store::Store::open(&old).and_then(|s| s.legacy_counters());
        match rows.map(|rows| store.import_legacy(&rows)) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!("{e}"),
            Err(e) => tracing::warn!("older invocation counters not read: {e}"),
        }
    }
    store
}

/// An open session and, when ciphered, the counter store to flush on close.
pub struct Opened {
    /// The association.
    pub session: Session<BoxStream>,
    counters: Option<std::sync::Arc<CounterStore>>,
}

impl Opened {
    /// Releases the association, keeps the meter's counter floor and gives back the counters
    /// this process reserved and did not use.
    pub async fn close(self) {
        if let Err(e) = self.session.close().await {
            tracing::debug!("release: {e}");
        }
        if let Some(store) = self.counters {
            if let Err(e) = store.flush() {
                tracing::warn!("{e} (unused counters are skipped, never reused)");
            }
        }
    }
}

/// Parses `OBIS[:CLASS[:ATTR]]`; OBIS in either text form (`1-0:1.8.0*255` contains a ':').
pub fn parse_item(text: &str) -> Result<AttributeRef> {
    let parts: Vec<&str> = text.split(':').collect();
    let (obis_text, rest) = if parts[0].contains('-') && parts.len() >= 2 {
        (format!("{}:{}", parts[0], parts[1]), &parts[2..])
    } else {
        (parts[0].to_string(), &parts[1..])
    };
    let obis: Obis = obis_text.parse()?;
    if rest.len() > 2 {
        bail!(
            "item {text:?}: expected OBIS[:CLASS[:ATTR]], got {} extra ':' parts",
            rest.len() - 2
        );
    }
    let class_id = match rest.first() {
        Some(c) => c.parse::<u16>().with_context(|| {
            format!("item {text:?}: class {c:?} is not a number from 0 to 65535")
        })?,
        None => dlms_logger::queue::default_class(&obis),
    };
    let attribute = match rest.get(1) {
        Some(a) => match a.parse::<i8>() {
            Ok(n) if n >= 1 => n,
            _ => bail!("item {text:?}: attribute {a:?} is not a number from 1 to 127"),
        },
        None => 2,
    };
    Ok(AttributeRef::new(class_id, obis, attribute))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_parse_with_defaults() {
        let i = parse_item("1.0.1.8.0.255").unwrap();
        assert_eq!((i.class_id, i.attribute), (3, 2));
        let i = parse_item("1-0:32.7.0*255:3:3").unwrap();
        assert_eq!(
            (i.class_id, i.obis.to_string().as_str(), i.attribute),
            (3, "1.0.32.7.0.255", 3)
        );
        assert_eq!(parse_item("0.0.1.0.0.255").unwrap().class_id, 8);
        assert_eq!(parse_item("0.0.96.1.0.255").unwrap().class_id, 1);
        assert_eq!(parse_item("1.0.99.1.0.255").unwrap().class_id, 7);
        assert_eq!(parse_item("1.0.1.6.0.255").unwrap().class_id, 4);
        assert_eq!(parse_item("1.0.1.4.0.255").unwrap().class_id, 5);
        assert_eq!(
            parse_item("1-0:1.8.0").unwrap().obis.to_string(),
            "1.0.1.8.0.255"
        );
    }

    #[test]
    fn bad_items_say_why() {
        for (t, needle) in [
            ("1.0.1.8.0", "6"),
            ("1.0.1.8.0.255:x", "class"),
            ("1.0.1.8.0.255:3:0", "attribute"),
            ("1.0.1.8.0.255:3:2:1", "extra"),
        ] {
            let e = format!("{:#}", parse_item(t).unwrap_err());
            assert!(e.contains(needle), "{t}: {e}");
        }
    }
}
