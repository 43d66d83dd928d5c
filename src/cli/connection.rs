//! CONNECTION-FLAGS shared by `read` and `objects`, and the item syntax `OBIS[:CLASS[:ATTR]]`.

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};
use dlms_logger::dlms::client::{AttributeRef, Authentication, ClientSettings, Referencing};
use dlms_logger::dlms::obis::Obis;
use dlms_logger::engine::{Interface, MeterAddress, Session};
use std::time::Duration;
use tokio::net::TcpStream;

/// Authentication levels accepted on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthLevel {
    /// No authentication (lowest level).
    None,
    /// Low level security: a password (--password or DLMS_PASSWORD).
    Low,
}

/// How to reach and address a meter.
#[derive(Debug, Clone, Args)]
pub struct ConnectionArgs {
    /// Meter host name or IP address.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// TCP port.
    #[arg(long, default_value_t = 4059)]
    pub port: u16,
    /// Use HDLC framing (IEC 62056-46).
    #[arg(long, conflicts_with = "wrapper")]
    pub hdlc: bool,
    /// Use WRAPPER framing (IEC 62056-47); the default.
    #[arg(long)]
    pub wrapper: bool,
    /// Client address (SAP): 16 public client, often 17 or 32 for a password.
    #[arg(long, default_value_t = 16)]
    pub client: u16,
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
    /// Print every frame exchanged (hex and a decoded summary) to stderr.
    #[arg(long)]
    pub trace: bool,
    /// Timeout for every answer, in milliseconds.
    #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u64).range(1..=600_000))]
    pub timeout: u64,
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
    /// The link addressing.
    pub fn address(&self) -> MeterAddress {
        MeterAddress {
            interface: if self.hdlc {
                Interface::Hdlc
            } else {
                Interface::Wrapper
            },
            client: self.client,
            physical: self.server,
            logical: self.logical,
            address_size: self.address_size,
        }
    }

    /// The association settings.
    pub fn settings(&self) -> Result<ClientSettings> {
        let mut s = ClientSettings::new(if self.sn {
            Referencing::Sn
        } else {
            Referencing::Ln
        });
        s.authentication = match (self.auth, &self.password) {
            (AuthLevel::None, _) => Authentication::None,
            (AuthLevel::Low, Some(p)) => Authentication::Low(p.as_bytes().to_vec()),
            (AuthLevel::Low, None) => {
                bail!("--auth low needs a password: give --password or set DLMS_PASSWORD")
            }
        };
        Ok(s)
    }

    /// Where we connect, for messages.
    pub fn target(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// Connects and associates.
    pub async fn open(&self) -> Result<Session<TcpStream>> {
        let timeout = Duration::from_millis(self.timeout);
        let settings = self.settings()?;
        let stream = dlms_logger::transport::tcp::connect(&self.host, self.port, timeout).await?;
        let sink: Option<dlms_logger::engine::TraceSink> = self.trace.then(|| {
            Box::new(|e: dlms_logger::engine::TraceEntry| {
                let dir = match e.direction {
                    dlms_logger::engine::Direction::Tx => "TX",
                    dlms_logger::engine::Direction::Rx => "RX",
                };
                eprintln!("{dir} {}  {}", e.hex(), e.summary);
            }) as dlms_logger::engine::TraceSink
        });
        Session::open(stream, &self.address(), settings, timeout, sink)
            .await
            .with_context(|| format!("cannot associate with the meter at {}", self.target()))
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
