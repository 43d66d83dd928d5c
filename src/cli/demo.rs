//! `dlms-logger` with no command: the built-in demo. Starts the simulator in-process on a
//! free loopback port and reads a few registers every 5 seconds until Ctrl-C.
//!
//! The full-screen UI and the scheduler replace this loop when they land; until then it shows
//! a new user live values from the real engine within a second.

use super::connection::{parse_item, ConnectionArgs};
use super::read::text_lines;
use super::simulate::shutdown_signal;
use anyhow::Result;
use clap::Parser;
use dlms_logger::sim::{self, SimConfig};
use std::io::Write;
use std::time::Duration;

const DEMO_ITEMS: [&str; 6] = [
    "0.0.1.0.0.255",
    "1.0.1.8.0.255",
    "1.0.2.8.0.255",
    "1.0.32.7.0.255",
    "1.0.31.7.0.255",
    "1.0.21.7.0.255",
];

/// Runs the demo until SIGINT/SIGTERM.
pub async fn run() -> Result<()> {
    let (addrs, _sim) = sim::start(SimConfig {
        port: 0,
        ..SimConfig::default()
    })
    .await?;
    let port = addrs[0].port();
    #[derive(Parser)]
    struct Wrap {
        #[command(flatten)]
        conn: ConnectionArgs,
    }
    let conn = Wrap::parse_from(["demo", "--port", &port.to_string()]).conn;
    let items = DEMO_ITEMS
        .iter()
        .map(|t| parse_item(t))
        .collect::<Result<Vec<_>>>()?;
    println!(
        "dlms-logger demo: built-in simulated meter on {}; reading every 5 s, Ctrl-C to stop.",
        addrs[0]
    );
    let poll = async {
        let mut session = conn.open().await?;
        loop {
            let results = session.read_scaled(&items).await?;
            let mut out = std::io::stdout().lock();
            writeln!(
                out,
                "--- {}",
                chrono::Local::now().format("%Y-%m-%d %H:%M:%S")
            )?;
            for (i, r) in items.iter().zip(&results) {
                write!(out, "{}", text_lines(i, r))?;
            }
            drop(out);
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
        #[allow(unreachable_code)]
        Ok::<(), anyhow::Error>(())
    };
    tokio::select! {
        r = poll => r?,
        _ = shutdown_signal() => {}
    }
    Ok(())
}
