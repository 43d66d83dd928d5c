//! `dlms-logger simulate`: serve simulated meters until Ctrl-C.

use anyhow::{bail, Result};
use clap::Args;
use dlms_logger::dlms::client::{Authentication, Referencing};
use dlms_logger::engine::Interface;
use dlms_logger::sim::{self, SimConfig};
use std::io::Write;

/// Flags of `simulate`.
#[derive(Debug, Clone, Args)]
pub struct SimulateArgs {
    /// Address to listen on (loopback by default).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// First TCP port; meter i listens on PORT+i (0 = any free port).
    #[arg(long, default_value_t = 4059)]
    pub port: u16,
    /// Number of meters.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=60_000))]
    pub meters: u32,
    /// Serve HDLC frames.
    #[arg(long, conflicts_with = "wrapper")]
    pub hdlc: bool,
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
        authentication: match &args.password {
            Some(p) => Authentication::Low(p.as_bytes().to_vec()),
            None => Authentication::None,
        },
        max_pdu: args.max_pdu,
        ..SimConfig::default()
    };
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
