//! A read of 20 registers over a serial line at a real line rate, against the bytes' wire time.
//!
//! ```sh
//! cargo run --release --example serial_line -- [--baud 9600] [--rounds 3] [--frame-gap MS]
//! ```
//!
//! Two pseudo-terminal pairs and a line between them: the client (the engine, opening the pty
//! by its path as `read --serial` does) on one, the simulator (HDLC, with its test objects) on
//! the other, and in the middle a relay that passes every byte on no earlier than a UART at
//! `--baud` 8N1 would (10 bits a byte, each direction on its own wire, bytes queued behind
//! the ones still on the wire). A pty alone moves bytes at memory speed, which no meter does.
//!
//! Each round is one whole session, as `dlms-logger read` makes it: SNRM/UA, AARQ/AARE, one
//! GET with-list of 20 items (29 attributes with the registers' scaler_units), release and
//! DISC. Printed: the session's time, the wire time of the bytes that crossed the line (both
//! directions: the protocol is half duplex, they add up) and their ratio; medians of the rounds.
use anyhow::{bail, Context, Result};
use clap::Parser;
use dlms_logger::counters::CounterStore;
use dlms_logger::dlms::client::AttributeRef;
use dlms_logger::dlms::obis::Obis;
use dlms_logger::engine::{Interface, Target};
use dlms_logger::queue::{Connection, InterfaceKind, Link, Meter, SerialSettings};
use dlms_logger::sim::{self, SimConfig};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;
use tokio_serial::{SerialPort, SerialStream};

/// Session time against wire time on a paced serial line.
#[derive(Debug, Parser)]
struct Args {
    /// The line's baud rate (8N1: 10 bits a byte).
    #[arg(long, default_value_t = 9600)]
    baud: u32,
    /// Sessions to time; the median is reported.
    #[arg(long, default_value_t = 3)]
    rounds: u32,
    /// The client's minimal gap between frames it sends (ms), as `--frame-gap`.
    #[arg(long, default_value_t = 0)]
    frame_gap: u64,
}

/// Twenty items of the simulator: nine registers (read with their scaler_unit), the clock,
/// names, test values and the disconnect control.
fn items() -> Vec<AttributeRef> {
    let o = |s: &str| s.parse::<Obis>().expect("a valid OBIS code");
    let mut v: Vec<AttributeRef> = [
        (3, "1.0.1.8.0.255"),
        (3, "1.0.2.8.0.255"),
        (3, "1.0.32.7.0.255"),
        (3, "1.0.31.7.0.255"),
        (3, "1.0.21.7.0.255"),
        (4, "1.0.1.6.0.255"),
        (5, "1.0.1.4.0.255"),
        (3, "1.0.1.8.128.255"),
        (3, "1.0.32.7.128.255"),
        (8, "0.0.1.0.0.255"),
        (1, "0.0.96.1.0.255"),
        (1, "0.0.42.0.0.255"),
        (1, "0.0.96.128.0.255"),
        (1, "0.0.96.128.1.255"),
        (1, "0.0.96.129.0.255"),
        (1, "0.0.96.129.1.255"),
        (1, "0.0.96.129.2.255"),
        (1, "0.0.96.129.3.255"),
    ]
    .into_iter()
    .map(|(c, s)| AttributeRef::new(c, o(s), 2))
    .collect();
    v.push(AttributeRef::new(70, o("0.0.96.3.10.255"), 2));
    v.push(AttributeRef::new(70, o("0.0.96.3.10.255"), 3));
    v
}

/// Passes bytes from `from` to `to` no earlier than a UART at `byte_time` a byte delivers
/// them; counts them.
async fn wire(
    mut from: tokio::io::ReadHalf<SerialStream>,
    mut to: tokio::io::WriteHalf<SerialStream>,
    byte_time: Duration,
    count: Arc<AtomicU64>,
) {
    let mut buf = [0u8; 4096];
    let mut free = Instant::now();
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let now = Instant::now();
        if free < now {
            free = now;
        }
        for b in &buf[..n] {
            free += byte_time;
            tokio::time::sleep_until(free).await;
            if to.write_all(std::slice::from_ref(b)).await.is_err() {
                return;
            }
            count.fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn main() -> Result<()> {
    let args = Args::parse();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(run(args))
}

async fn run(args: Args) -> Result<()> {
    // 8N1: a start bit, 8 data bits, a stop bit.
    let byte_time = Duration::from_secs_f64(10.0 / f64::from(args.baud));
    let (client_master, client_slave) = SerialStream::pair().context("a pty pair")?;
    let (meter_master, meter_slave) = SerialStream::pair().context("a pty pair")?;
    let client_dev = client_slave.name().context("the pty has no name")?;
    let config = SimConfig {
        interface: Interface::Hdlc,
        test_objects: true,
        ..SimConfig::default()
    };
    tokio::spawn(async move {
        let _ = sim::serve_stream(meter_slave, &config, 0).await;
    });
    let (up, down) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let (cr, cw) = tokio::io::split(client_master);
    let (mr, mw) = tokio::io::split(meter_master);
    tokio::spawn(wire(cr, mw, byte_time, up.clone()));
    tokio::spawn(wire(mr, cw, byte_time, down.clone()));

    let mut line = SerialSettings::new(client_dev.clone());
    line.baud = args.baud;
    line.frame_gap_ms = args.frame_gap;
    let conn = Connection::new("line", Link::Serial(line));
    let mut meter = Meter::new("meter", "line");
    meter.interface = InterfaceKind::Hdlc;
    meter.timeout_ms = 10_000;
    let target = Target::new(&conn, &meter);
    let counters = CounterStore::new(std::env::temp_dir().join("dlms-serial-line-unused.db"));
    let items = items();
    println!(
        "line: {client_dev} ↔ relay at {} baud 8N1 ({:.3} ms a byte) ↔ simulator (HDLC)",
        args.baud,
        byte_time.as_secs_f64() * 1e3
    );
    let (mut times, mut wires, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for round in 1..=args.rounds.max(1) {
        let (u0, d0) = (up.load(Ordering::Relaxed), down.load(Ordering::Relaxed));
        let t = Instant::now();
        let mut s = target.open(&counters, None).await?;
        let results = s.read_scaled(&items).await?;
        s.close().await?;
        let dt = t.elapsed().as_secs_f64();
        // The last byte may still be on the wire when close returns (DISC's UA is read first).
        tokio::time::sleep(byte_time * 4).await;
        let failed = results.iter().filter(|r| r.is_err()).count();
        if failed > 0 {
            bail!("{failed} of {} items failed", results.len());
        }
        let (u, d) = (
            up.load(Ordering::Relaxed) - u0,
            down.load(Ordering::Relaxed) - d0,
        );
        let w = (u + d) as f64 * byte_time.as_secs_f64();
        println!(
            "round {round}: session {:.1} ms, {u} bytes out + {d} back = {:.1} ms on the wire, ratio {:.3}",
            dt * 1e3,
            w * 1e3,
            dt / w
        );
        times.push(dt);
        wires.push(w);
        ratios.push(dt / w);
    }
    let m = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    println!(
        "median: session {:.1} ms, wire {:.1} ms, ratio {:.3} ({} items, {} baud)",
        m(&mut times) * 1e3,
        m(&mut wires) * 1e3,
        m(&mut ratios),
        items.len(),
        args.baud
    );
    drop(client_slave);
    Ok(())
}
