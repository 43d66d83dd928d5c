//! `dlms-logger listen --passive`: print what a meter that only talks (a HAN/P1 port) pushes,
//! one notification at a time, sending nothing.

use super::decode::value_json;
use anyhow::{bail, Context, Result};
use dlms_logger::dlms::decode::Value;
use dlms_logger::engine::passive::{Heard, Notification, PassiveMeter};
use dlms_logger::queue::{Config, Connection, Link, Parity, SerialSettings};
use dlms_logger::transport::BoxStream;
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;
use tokio::io::AsyncReadExt;

/// `listen`'s arguments.
#[derive(clap::Args, Debug)]
pub struct ListenArgs {
    /// Send nothing; decode what the meter pushes (a HAN/P1 port). The only mode so far, so
    /// it must be asked for: a meter that answers is read with `read` or `run`.
    #[arg(long, required = true)]
    pub passive: bool,
    /// Take the link, keys and HAN preset of this meter of a queue file; with --meter.
    #[arg(short = 'c', long = "config", value_name = "FILE", requires = "meter")]
    pub config: Option<PathBuf>,
    /// The meter of --config.
    #[arg(long, value_name = "NAME", requires = "config")]
    pub meter: Option<String>,
    /// The serial device of the HAN port (e.g. /dev/ttyUSB0).
    #[arg(long, value_name = "DEV", conflicts_with_all = ["tcp", "bind", "config"])]
    pub serial: Option<String>,
    /// Serial baud rate (HAN ports: 2400 in Norway and Sweden, 9600 or 115200 elsewhere).
    #[arg(long, default_value_t = 2400)]
    pub baud: u32,
    /// Serial parity: none, even or odd (Kaifa and Aidon in Norway: even).
    #[arg(long, default_value = "none")]
    pub parity: String,
    /// A TCP bridge of the port (ser2net, an ESP32 reader), HOST:PORT.
    #[arg(long, value_name = "HOST:PORT", conflicts_with_all = ["bind", "config"])]
    pub tcp: Option<String>,
    /// Wait for meters (or bridges) that connect to ADDR:PORT and push.
    #[arg(long, value_name = "ADDR:PORT", conflicts_with = "config")]
    pub bind: Option<String>,
    /// Keys and HAN preset.
    #[command(flatten)]
    pub keys: super::push_keys::PushKeyArgs,
    /// One JSON object per notification: time, meter_time, values.
    #[arg(long)]
    pub json: bool,
    /// Stop after this many notifications.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
}

/// Where the bytes come from.
enum Source {
    /// A link opened by us (serial port or TCP bridge), reopened after it closes.
    Open(Connection),
    /// A port meters connect to.
    Bind(tokio::net::TcpListener),
}

/// Runs `listen`; false when it stopped with frames that did not decode.
pub async fn run(args: &ListenArgs) -> Result<bool> {
    let (source, mut meter) = setup(args).await?;
    let mut heard = 0u64;
    let mut out = std::io::stdout().lock();
    loop {
        let mut link: BoxStream = match &source {
            Source::Open(c) => dlms_logger::engine::target::connect(c, Duration::from_secs(10))
                .await
                .with_context(|| format!("cannot open {}", describe(c)))?,
            Source::Bind(l) => {
                let (s, peer) = l.accept().await.context("accepting a connection")?;
                eprintln!("{peer} connected");
                Box::new(s)
            }
        };
        let mut buf = vec![0u8; 4096];
        loop {
            let n = match link.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    eprintln!("reading the link: {e}");
                    break;
                }
            };
            for h in meter.feed(&buf[..n]) {
                match h {
                    Heard::Frame { summary, .. } if summary.starts_with("not decoded") => {
                        eprintln!("frame {summary}");
                    }
                    Heard::Frame { .. } => {}
                    Heard::Notification(note) => {
                        print(&mut out, &note, args.json)?;
                        heard += 1;
                        if args.count.is_some_and(|c| heard >= c) {
                            return Ok(meter.stats.bad == 0);
                        }
                    }
                }
            }
        }
        eprintln!(
            "the link closed after {} frames ({} not decoded); opening it again",
            meter.stats.frames, meter.stats.bad
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

async fn setup(args: &ListenArgs) -> Result<(Source, PassiveMeter)> {
    if let (Some(path), Some(name)) = (&args.config, &args.meter) {
        let config = Config::load(path)?;
        let m = config
            .meter(name)
            .with_context(|| format!("{} has no meter {name:?}", path.display()))?;
        let c = config
            .connection(&m.connection)
            .with_context(|| format!("{} has no connection {:?}", path.display(), m.connection))?;
        let meter = PassiveMeter::new(m)?;
        let source = match &c.link {
            Link::Listen { host, port } => Source::Bind(
                tokio::net::TcpListener::bind((host.as_str(), *port))
                    .await
                    .with_context(|| format!("cannot listen on {host}:{port}"))?,
            ),
            _ => Source::Open(c.clone()),
        };
        return Ok((source, meter));
    }
    let keys = args.keys.keys()?;
    let layout = args.keys.preset()?.map(|p| p.layout);
    let meter = PassiveMeter::with(keys, layout);
    let source = match (&args.serial, &args.tcp, &args.bind) {
        (Some(dev), None, None) => {
            let mut s = SerialSettings::new(dev.clone());
            s.baud = args.baud;
            s.parity =
                Parity::from_name(&args.parity).map_err(|e| anyhow::anyhow!("--parity: {e}"))?;
            Source::Open(Connection::new("han", Link::Serial(s)))
        }
        (None, Some(addr), None) => {
            let (host, port) = host_port(addr, "--tcp")?;
            Source::Open(Connection::new(
                "han",
                Link::Tcp {
                    host,
                    port,
                    persistent: true,
                },
            ))
        }
        (None, None, Some(addr)) => {
            let (host, port) = host_port(addr, "--bind")?;
            Source::Bind(
                tokio::net::TcpListener::bind((host.as_str(), port))
                    .await
                    .with_context(|| format!("cannot listen on {addr}"))?,
            )
        }
        _ => bail!("say where the meter talks: --serial DEV, --tcp HOST:PORT, --bind ADDR:PORT or -c FILE --meter NAME"),
    };
    Ok((source, meter))
}

/// `HOST:PORT` (the last colon splits, so `[::1]:4059` and `::1:4059` both work).
fn host_port(text: &str, flag: &str) -> Result<(String, u16)> {
    let Some((host, port)) = text.rsplit_once(':') else {
        bail!("{flag} {text:?}: give HOST:PORT");
    };
    let port = super::meter_port(port).map_err(|e| anyhow::anyhow!("{flag}: {e}"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        bail!("{flag} {text:?}: the host is missing");
    }
    Ok((host.to_string(), port))
}

fn describe(c: &Connection) -> String {
    match &c.link {
        Link::Tcp { host, port, .. } => format!("{host}:{port}"),
        Link::Serial(s) => s.port.clone(),
        Link::Listen { host, port } => format!("{host}:{port}"),
        Link::Udp { host, port } => format!("udp {host}:{port}"),
    }
}

fn print(out: &mut impl Write, note: &Notification, as_json: bool) -> Result<()> {
    let now = chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, false);
    if as_json {
        let values: Vec<serde_json::Value> = note.values.iter().map(value_json).collect();
        writeln!(
            out,
            "{}",
            json!({
                "time": now,
                "meter_time": note.meter_time.map(|t| t.to_string()),
                "system_title": note.sender.map(|t| t.to_string()),
                "values": values,
            })
        )?;
    } else {
        let when = note
            .meter_time
            .map_or("no time".to_string(), |t| t.to_string());
        let from = note
            .sender
            .map_or(String::new(), |t| format!(" from system title {t}"));
        writeln!(
            out,
            "{now}  notification of {when}{from}, {} values",
            note.values.len()
        )?;
        for v in &note.values {
            writeln!(out, "  {}", line(v))?;
        }
    }
    out.flush()?;
    Ok(())
}

/// `1.0.1.7.0.255  Active power import  1122 W`
fn line(v: &Value) -> String {
    let obis = v.obis.map_or("-".to_string(), |o| o.to_string());
    let value = match (v.scaled(), v.date_time()) {
        (_, Some(t)) => t.to_string(),
        (Some(s), None) => s.to_string(),
        (None, None) => v.data.shown(),
    };
    let unit = v
        .scaler_unit
        .and_then(|su| su.unit_name())
        .map(|u| format!(" {u}"))
        .unwrap_or_default();
    let name = v
        .name
        .clone()
        .or_else(|| {
            v.obis
                .as_ref()
                .and_then(dlms_logger::dlms::obis_names::obis_name)
        })
        .unwrap_or_default();
    format!("{obis:<16} {name:<28} {value}{unit}")
}
