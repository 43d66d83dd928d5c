//! `dlms-logger simulate`: serve simulated meters until Ctrl-C.

use super::connection::{AuthLevel, SecurityArg};
use anyhow::{bail, Result};
use clap::Args;
use dlms_logger::dlms::client::{Authentication, Referencing};
use dlms_logger::dlms::security::{HlsMechanism, Key, SystemTitle};
use dlms_logger::dlms::server::ServerCiphering;
use dlms_logger::engine::Interface;
use dlms_logger::sim::{self, SimConfig};
use std::io::Write;

/// Flags of `simulate`.
#[derive(Debug, Clone, Args)]
pub struct SimulateArgs {
    /// Address to listen on (loopback by default).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Serve one meter on this serial device instead of TCP (e.g. one end of a null-modem cable or pty pair).
    #[arg(long, value_name = "DEV")]
    pub serial: Option<String>,
    /// Serial baud rate (with --iec: the highest baud the optical port offers).
    #[arg(long, default_value_t = 9600)]
    pub baud: u32,
    /// Answer an IEC 62056-21 mode E sign-on at 300 baud first, as an optical port does.
    #[arg(long, requires = "serial")]
    pub iec: bool,
    /// HDLC physical address to answer (any when not given); with --bus, the first of the line.
    #[arg(long)]
    pub server: Option<u16>,
    /// The meter's serial number: it answers the physical address SN % 10000 + 1000 (4-byte form).
    #[arg(long)]
    pub serial_number: Option<u64>,
    /// HDLC address size clients must use (1, 2 or 4; any when not given).
    #[arg(long)]
    pub address_size: Option<u8>,
    /// Meters on one serial line (HDLC), answering physical addresses --server, --server+1, …
    #[arg(long, default_value_t = 1)]
    pub bus: u32,
    /// Seconds between load profile entries.
    #[arg(long, default_value_t = 900, value_parser = clap::value_parser!(u32).range(1..))]
    pub capture_period: u32,
    /// The profile refuses selective access (by range and by entry), as some meters do.
    #[arg(long)]
    pub no_selective_access: bool,
    /// Entries the load profile holds (the newest, one per capture period).
    #[arg(long, default_value_t = 2880, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub profile_entries: u32,
    /// Clock status bits of every date-time sent (clock, profile capture times): 0x01 invalid,
    /// 0x02 doubtful, 0x04 different clock base, 0x08 invalid clock status, 0x80 daylight saving.
    #[arg(long, default_value = "0", value_name = "BITS", value_parser = parse_status)]
    pub clock_status: u8,
    /// Also serve test objects with edge values: 0.0.96.128.0.255 (u64 max), 0.0.96.128.1.255
    /// (i64 min), 1.0.1.8.128.255 (9430701 Wh), 1.0.32.7.128.255 (float32 230.7 V),
    /// 0.0.96.129.0-3.255 (date-times: invalid, doubtful, different base + invalid status, DST).
    #[arg(long)]
    pub test_objects: bool,
    /// The largest HDLC information field accepted (the UA answers the smaller of this and the
    /// client's proposal).
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u16).range(32..=2030))]
    pub hdlc_max_info: u16,
    /// The largest HDLC window accepted (1 to 7; the UA answers the smaller of this and the
    /// client's proposal).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=7))]
    pub hdlc_window: u8,
    /// Answer long GETs in general-block-transfer blocks to clients that propose it.
    #[arg(long)]
    pub gbt: bool,
    /// With --gbt: blocks sent a window (WRAPPER; over HDLC the window is 1).
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u8).range(1..=63))]
    pub gbt_window: u8,
    /// Misbehave: drop=N, garbage, bad-fcs, truncate, slow=MS, silent, reboot, exception, reject, inactivity=MS, bad-list, list-error, gbt-drop=N.
    #[arg(long, value_name = "KIND[=ARG]")]
    pub fault: Option<sim::fault::Fault>,
    /// Milliseconds the meter waits before each frame it sends.
    #[arg(long, default_value_t = 0)]
    pub frame_gap: u64,
    /// Microseconds a TCP meter polls for the next request while its client sends each one
    /// within that time (a client reading in a tight loop); 0: always park until it comes.
    #[arg(long, value_name = "US", default_value_t = sim::BUSY_POLL.as_micros() as u64, value_parser = clap::value_parser!(u64).range(0..=10_000))]
    pub busy_poll_us: u64,
    /// Dial out to a logger listening at HOST:PORT (a meter-initiated connection) instead of listening.
    #[arg(long, value_name = "HOST:PORT")]
    pub dial: Option<String>,
    /// A HAN/P1 port: answer nothing, push a three-phase list (clock, energy, power, voltage,
    /// current, demand with their units) this often, e.g. 10s; ciphered with --security.
    #[arg(long, value_name = "EVERY", value_parser = han_every)]
    pub han: Option<std::time::Duration>,
    /// With --han: push the list as compact data (class 62): the template_description, then
    /// the compact_buffer (template_id and the values without tags), no OBIS codes.
    #[arg(long, requires = "han")]
    pub han_compact: bool,
    /// With --dial: push a DataNotification (device name, clock, energy) right after connecting.
    #[arg(long, requires = "dial")]
    pub push: bool,
    /// First TCP port; meter i listens on PORT+i (0 = any free port; up to 65535).
    #[arg(long, default_value_t = 4059, value_parser = super::listen_port)]
    pub port: u16,
    /// Number of meters.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=60_000))]
    pub meters: u32,
    /// Serve HDLC frames.
    #[arg(long, conflicts_with = "wrapper")]
    pub hdlc: bool,
    /// Serve over UDP instead of TCP: one WRAPPER PDU per datagram, on the same ports.
    #[arg(long, conflicts_with_all = ["hdlc", "serial", "dial"])]
    pub udp: bool,
    /// Serve WRAPPER frames (the default).
    #[arg(long)]
    pub wrapper: bool,
    /// Short-name referencing.
    #[arg(long)]
    pub sn: bool,
    /// Logical device address.
    #[arg(long, default_value_t = 1)]
    pub logical: u16,
    /// Require low-level authentication with this password (or DLMS_SIM_PASSWORD).
    #[arg(long, env = "DLMS_SIM_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// Authentication required from clients other than the public client 16.
    #[arg(long, value_enum, default_value = "none")]
    pub auth: AuthLevel,
    /// HLS secret for --auth high/md5/sha1/sha256 (or DLMS_SIM_SECRET).
    #[arg(long, env = "DLMS_SIM_SECRET", hide_env_values = true)]
    pub secret: Option<String>,
    /// Ciphering required from clients other than the public client 16.
    #[arg(long, value_enum, default_value = "none")]
    pub security: SecurityArg,
    /// The meter's system title (16 hex digits; with --meters, meter i uses it plus i in its
    /// last four bytes). Default: 4D4D4D and five random bytes, new at each start, because the simulator's invocation counter starts again at 0 (a meter that
    /// did that under its old title would be refused as a replay).
    #[arg(long)]
    pub system_title: Option<String>,
    /// Block key, 32 hex digits (default: the DLMS UA Green Book test key; or DLMS_SIM_BLOCK_KEY).
    #[arg(
        long,
        env = "DLMS_SIM_BLOCK_KEY",
        hide_env_values = true,
        default_value = "000102030405060708090A0B0C0D0E0F",
        hide_default_value = true
    )]
    pub block_key: String,
    /// Authentication key, 32 hex digits (default: the Green Book test key; or DLMS_SIM_AUTH_KEY).
    #[arg(
        long,
        env = "DLMS_SIM_AUTH_KEY",
        hide_env_values = true,
        default_value = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF",
        hide_default_value = true
    )]
    pub auth_key: String,
    /// Serve this client address (SAP) without an association: its requests are answered
    /// with no AARQ first (a pre-established association; reading only, never ciphered).
    #[arg(long, value_name = "CLIENT")]
    pub pre_established: Option<u16>,
    /// Send an event notification (the energy register 1.0.1.8.0.255:2 with the time) every
    /// MS milliseconds on each plain WRAPPER association, unasked, between the client's requests.
    #[arg(long, value_name = "MS", conflicts_with = "hdlc", value_parser = clap::value_parser!(u64).range(1..))]
    pub event_every: Option<u64>,
    /// Log every association as the meters see it (open, close with the requests answered,
    /// invocation counters seen twice) to FILE, one tab-separated line per event.
    #[arg(long, value_name = "FILE")]
    pub association_log: Option<std::path::PathBuf>,
    /// Largest APDU the meter accepts (smaller values force block transfer sooner).
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u16).range(64..))]
    pub max_pdu: u16,
}

/// Runs the simulator until SIGINT/SIGTERM.
pub async fn run(args: SimulateArgs) -> Result<()> {
    if args.port != 0 && args.port as u32 + args.meters - 1 > u16::MAX as u32 {
        bail!(
            "--port {} with --meters {} goes beyond port 65535",
            args.port,
            args.meters
        );
    }
    let config = SimConfig {
        host: args.host.clone(),
        port: args.port,
        meters: args.meters,
        interface: if args.hdlc {
            Interface::Hdlc
        } else {
            Interface::Wrapper
        },
        referencing: if args.sn {
            Referencing::Sn
        } else {
            Referencing::Ln
        },
        logical: args.logical,
        authentication: sim_authentication(&args)?,
        ciphering: sim_ciphering(&args)?,
        max_pdu: args.max_pdu,
        physical: match args.serial_number {
            Some(sn) => Some(dlms_logger::dlms::hdlc::physical_from_serial_number(sn)),
            None => args.server,
        },
        address_size: args.address_size.or(args.serial_number.map(|_| 4)),
        bus: args.bus,
        fault: args.fault,
        capture_period: args.capture_period,
        selective_access: !args.no_selective_access,
        profile_entries: args.profile_entries,
        clock_status: args.clock_status,
        test_objects: args.test_objects,
        hdlc_max_info: args.hdlc_max_info,
        han_every: args.han,
        han_compact: args.han_compact,
        hdlc_window: args.hdlc_window,
        gbt_window: args.gbt.then_some(args.gbt_window),
        frame_gap: std::time::Duration::from_millis(args.frame_gap),
        busy_poll: std::time::Duration::from_micros(args.busy_poll_us),
        udp: args.udp,
        pre_established: args.pre_established,
        event_every: args.event_every.map(std::time::Duration::from_millis),
        association_log: match &args.association_log {
            Some(path) => Some(std::sync::Arc::new(
                sim::association_log::AssociationLog::create(path).map_err(|e| {
                    anyhow::anyhow!("cannot create the association log {}: {e}", path.display())
                })?,
            )),
            None => None,
        },
        ..SimConfig::default()
    };
    if let Some(target) = &args.dial {
        let stream = tokio::net::TcpStream::connect(target)
            .await
            .map_err(|e| anyhow::anyhow!("cannot dial {target}: {e}"))?;
        println!("dialed {target}");
        tokio::select! {
            r = sim::dial_in(stream, &config, 0, args.push) => r?,
            _ = shutdown_signal() => {}
        }
        return Ok(());
    }
    if let Some(dev) = &args.serial {
        let mut line = dlms_logger::queue::SerialSettings::new(dev.clone());
        line.baud = args.baud;
        // A device that cannot be opened at the start is an error (a typo); one that goes
        // away later is reopened with a backoff until it is back.
        let port = dlms_logger::transport::serial::open(&line)?;
        let config = SimConfig {
            end_on_disconnect: args.iec,
            ..config
        };
        println!("listening on serial {dev} at {} baud", args.baud);
        tokio::select! {
            _ = sim::serve_serial(port, &line, &config, args.iec) => {}
            _ = shutdown_signal() => {}
        }
        return Ok(());
    }
    if config.udp {
        let sockets = sim::bind_udp(&config).await?;
        {
            let mut out = std::io::stdout().lock();
            for s in &sockets {
                writeln!(out, "listening on udp {}", s.local_addr()?)?;
            }
            out.flush()?;
        }
        tokio::select! {
            _ = sim::serve_udp(config, sockets) => {}
            _ = shutdown_signal() => {}
        }
        return Ok(());
    }
    let listeners = sim::bind(&config).await?;
    {
        let mut out = std::io::stdout().lock();
        for l in &listeners {
            writeln!(out, "listening on {}", l.local_addr()?)?;
        }
        out.flush()?;
    }
    tokio::select! {
        _ = sim::serve(config, listeners) => {}
        _ = shutdown_signal() => {}
    }
    Ok(())
}

fn sim_authentication(args: &SimulateArgs) -> Result<Authentication> {
    let secret = || -> Result<Vec<u8>> {
        match &args.secret {
            Some(s) => Ok(s.as_bytes().to_vec()),
            None => bail!(
                "--auth {} needs --secret (or DLMS_SIM_SECRET)",
                clap::ValueEnum::to_possible_value(&args.auth)
                    .map_or_else(String::new, |v| v.get_name().to_string())
            ),
        }
    };
    let high = |mechanism| -> Result<Authentication> {
        Ok(Authentication::High {
            mechanism,
            secret: secret()?,
        })
    };
    Ok(match (args.auth, &args.password) {
        (AuthLevel::None, None) => Authentication::None,
        (AuthLevel::None | AuthLevel::Low, Some(p)) => Authentication::Low(p.as_bytes().to_vec()),
        (AuthLevel::Low, None) => bail!("--auth low needs --password (or DLMS_SIM_PASSWORD)"),
        (AuthLevel::High, _) => high(HlsMechanism::Manufacturer)?,
        (AuthLevel::Md5, _) => high(HlsMechanism::Md5)?,
        (AuthLevel::Sha1, _) => high(HlsMechanism::Sha1)?,
        (AuthLevel::Sha256, _) => high(HlsMechanism::Sha256)?,
        (AuthLevel::Gmac, _) => Authentication::High {
            mechanism: HlsMechanism::Gmac,
            secret: Vec::new(),
        },
    })
}

fn sim_ciphering(args: &SimulateArgs) -> Result<Option<ServerCiphering>> {
    if args.security == SecurityArg::None
        && !matches!(args.auth, AuthLevel::Gmac | AuthLevel::Sha256)
    {
        return Ok(None);
    }
    Ok(Some(ServerCiphering {
        policy: args.security.policy(),
        system_title: match &args.system_title {
            Some(t) => t
                .parse::<SystemTitle>()
                .map_err(|e| anyhow::anyhow!("--system-title: {e}"))?,
            None => {
                let mut t = *b"MMM\0\0\0\0\0";
                t[3..].copy_from_slice(&dlms_logger::engine::secure::random_bytes(5));
                let t = SystemTitle(t);
                eprintln!("simulated meter system title {t}");
                t
            }
        },
        block_key: args
            .block_key
            .parse::<Key>()
            .map_err(|e| anyhow::anyhow!("--block-key: {e}"))?,
        auth_key: args
            .auth_key
            .parse::<Key>()
            .map_err(|e| anyhow::anyhow!("--auth-key: {e}"))?,
    }))
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// A clock status byte: decimal or 0x-prefixed hex.
fn parse_status(s: &str) -> Result<u8, String> {
    let parsed = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u8::from_str_radix(hex, 16),
        None => s.parse(),
    };
    parsed.map_err(|_| format!("{s:?} is not a status byte; use 0 to 255 or 0x00 to 0xFF"))
}

/// `--han` EVERY: a duration such as 10s or 2.5s, at least 10 ms.
fn han_every(text: &str) -> Result<std::time::Duration, String> {
    let d = dlms_logger::schedule::parse_duration(text).map_err(|e| e.to_string())?;
    if d < std::time::Duration::from_millis(10) {
        return Err(format!("{text:?} is too often; push at most every 10ms"));
    }
    Ok(d)
}
