//! `dlms-logger probe`: finds how a meter is addressed and prints it as config to paste.

use super::connection::ConnectionArgs;
use anyhow::Result;
use clap::Args;
use dlms_logger::engine::probe::{self, EchoCancel};
use dlms_logger::engine::target::connect;
use dlms_logger::engine::Interface;
use dlms_logger::queue::{Config, Connection, Link};
use dlms_logger::transport::BoxStream;
use std::time::Duration;

/// Flags of `probe` (`--timeout` bounds the TCP connect; each try waits `--try-timeout`).
#[derive(Debug, Clone, Args)]
pub struct ProbeArgs {
    #[command(flatten)]
    pub conn: ConnectionArgs,
    /// Answer timeout of each try, in milliseconds.
    #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub try_timeout: u64,
    /// Drop the echo of what we send from the start (optical probes, half-duplex RS-485); an echo is also detected by itself.
    #[arg(long)]
    pub echo: bool,
}

/// Probes with the connection flags; progress on stderr, config on stdout; false when nothing answered.
pub async fn run(args: &ProbeArgs) -> Result<bool> {
    let conn = &args.conn;
    // The link of `-c FILE --meter NAME`, or of the link flags: the addressing is probed.
    let (resolved, _) = conn.resolve()?;
    let link = match resolved.link {
        Link::Tcp { host, port, .. } => Link::Tcp {
            host,
            port,
            persistent: true,
        },
        other => other,
    };
    let connection = Connection::new("link1", link);
    // --hdlc and --wrapper are plain switches, so either one set was given on purpose.
    // UDP carries WRAPPER PDUs only.
    let udp = matches!(connection.link, Link::Udp { .. });
    let only = match (conn.hdlc, conn.wrapper || udp) {
        (true, _) => Some(Interface::Hdlc),
        (_, true) => Some(Interface::Wrapper),
        _ => None,
    };
    let candidates = probe::candidates(conn.serial_number, only);
    let (connect_timeout, echo, target) =
        (Duration::from_millis(conn.timeout), args.echo, &connection);
    let connect = move || async move {
        let s = connect(target, connect_timeout).await?;
        Ok(if echo {
            Box::new(EchoCancel::new(s)) as BoxStream
        } else {
            s
        })
    };
    let width = candidates.len().to_string().len();
    let found = probe::probe(
        connect,
        &candidates,
        Duration::from_millis(args.try_timeout),
        |n, total, c, outcome| eprintln!("[{n:>width$}/{total}] {c} … {outcome}"),
    )
    .await;
    match found {
        Ok(r) => {
            eprintln!("{}", r.note);
            let snippet = probe::meter_snippet(&r, "meter1", &connection.name);
            let config = Config {
                connections: vec![connection],
                meters: vec![],
                requests: vec![],
                sinks: vec![],
                fleet: None,
                store: None,
                index: Default::default(),
            };
            print!("{}\n{snippet}", config.to_toml());
            Ok(true)
        }
        Err(e) => {
            let hint = match conn.serial {
                Some(_) => "check the cable, the port and --baud",
                None => "check the host and port, and that the meter or its gateway is on",
            };
            let target = conn.target();
            let e = e.to_string();
            let e = if e.contains(&target) {
                e
            } else {
                format!("{e} on {target}")
            };
            eprintln!("error: {e}; {hint}");
            Ok(false)
        }
    }
}
