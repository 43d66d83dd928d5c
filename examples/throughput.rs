//! GET throughput of one association, measured against its floor in the same run.
//!
//! ```sh
//! cargo build --release && cargo run --release --example throughput -- \
//!     [--simulator spawn|in-process|none] [CONNECTION-FLAGS of `read`] [--count N] [--rounds R]
//! ```
//!
//! The headline (`--simulator spawn`, the default) is a separate `dlms-logger simulate`
//! process, as a meter is: it is started with the same interface, authentication and
//! ciphering as the connection flags ask for (`--hdlc`, `--client`, `--auth`, `--password`,
//! `--secret`, `--security`, `--block-key`, `--auth-key`; keys default to the Green Book test
//! keys). `--simulator none` measures the meter at `--host`/`--port`. `--simulator in-process`
//! runs the simulator in the client's own thread: that figure is the codec and the runtime
//! only, no meter is like that.
//!
//! The floor is measured in the same run: two processes (this one and a copy of it) ping-pong
//! over loopback with blocking sockets, with the request and answer sizes the GETs had on the
//! wire. Each round measures the floor, then the GETs; the medians of `--rounds` rounds and
//! their ratio are printed. Then a full read of the load profile.
use anyhow::{bail, Context, Result};
use clap::{Parser, ValueEnum};
use dlms_logger::dlms::client::{AttributeRef, Authentication};
use dlms_logger::dlms::obis::Obis;
use dlms_logger::dlms::security::SystemTitle;
use dlms_logger::dlms::server::ServerCiphering;
use dlms_logger::engine::profile::{self, Selection};
use dlms_logger::engine::Target;
use dlms_logger::sim::{self, SimConfig};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::pin::Pin;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::Instant;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The CLI's connection flags, shared with `read`.
#[allow(dead_code)]
#[path = "../src/cli/connection.rs"]
mod connection;

/// `--port` of a meter (used by the connection flags).
fn meter_port(text: &str) -> Result<u16, String> {
    match text.trim().parse::<u16>() {
        Ok(p) if p >= 1 => Ok(p),
        _ => Err(format!("{text:?} is not a port number; use 1 to 65535")),
    }
}

/// The Green Book's test keys (the simulator's defaults).
const BLOCK_KEY: &str = "000102030405060708090A0B0C0D0E0F";
const AUTH_KEY: &str = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF";

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum SimulatorKind {
    /// A separate `dlms-logger simulate` process (the headline).
    Spawn,
    /// The simulator in this process's thread: codec + runtime only.
    InProcess,
    /// The meter at --host/--port.
    None,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Runtime {
    /// One thread.
    Current,
    /// Tokio's multi-threaded runtime.
    Multi,
}

/// GET and load-profile throughput of one association, with its loopback floor.
#[derive(Debug, Parser)]
struct Args {
    /// Which meter: a simulator process started here, one in this thread, or --host/--port.
    #[arg(long, value_enum, default_value = "spawn")]
    simulator: SimulatorKind,
    /// The `dlms-logger` binary to start with --simulator spawn (default: the one built beside
    /// this example, target/release/dlms-logger).
    #[arg(long, value_name = "PATH")]
    bin: Option<std::path::PathBuf>,
    #[command(flatten)]
    conn: connection::ConnectionArgs,
    /// Sequential GETs of 1.0.1.8.0.255:2 per round.
    #[arg(long, default_value_t = 10_000)]
    count: u32,
    /// Rounds (floor, then GETs); medians are reported.
    #[arg(long, default_value_t = 3)]
    rounds: u32,
    /// Profile entries of a simulator started here (10,000), or the newest entries to read
    /// from another meter (whole buffer when not given); 0 skips the profile.
    #[arg(long)]
    profile_entries: Option<u32>,
    /// Tokio runtime flavour (one association is sequential: one thread by default).
    #[arg(long, value_enum, default_value = "current")]
    runtime: Runtime,
    /// Microseconds to poll for each answer before parking (the CLI's commands: 50; the
    /// logger: 0).
    #[arg(long, default_value_t = connection::BUSY_POLL.as_micros() as u64)]
    busy_poll_us: u64,
    /// Microseconds the simulator polls for the next request while the client keeps pace
    /// (`simulate --busy-poll-us`; 0: it parks at once, as a meter's firmware would).
    #[arg(long, default_value_t = 50)]
    sim_busy_poll_us: u64,
    /// Internal: be the floor's echo process (answer REQ-byte messages with RESP bytes).
    #[arg(long, hide = true, value_name = "REQ,RESP")]
    floor_echo: Option<String>,
    /// Internal: the echo polls for each message this many µs before blocking.
    #[arg(long, hide = true, default_value_t = 0)]
    floor_poll_us: u64,
}

fn main() -> Result<()> {
    let args = Args::parse();
    if let Some(sizes) = &args.floor_echo {
        return floor_echo(sizes, std::time::Duration::from_micros(args.floor_poll_us));
    }
    let rt = match args.runtime {
        Runtime::Current => tokio::runtime::Builder::new_current_thread(),
        Runtime::Multi => tokio::runtime::Builder::new_multi_thread(),
    }
    .enable_all()
    .build()?;
    rt.block_on(run(args))
}

/// A child process killed when dropped.
struct Kid(Child);

impl Drop for Kid {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `cmd` and waits for its `listening on ADDR` line.
fn spawn_listening(mut cmd: Command) -> Result<(Kid, String)> {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    let out = child.stdout.take().context("no stdout")?;
    let kid = Kid(child);
    let mut lines = BufReader::new(out).lines();
    for line in lines.by_ref() {
        let line = line?;
        if let Some(addr) = line.strip_prefix("listening on ") {
            let addr = addr.trim().to_string();
            // Keep draining its output so it never blocks on a full pipe.
            std::thread::spawn(move || for _ in lines {});
            return Ok((kid, addr));
        }
    }
    bail!("{cmd:?} ended without saying where it listens")
}

fn split_addr(addr: &str) -> Result<(String, u16)> {
    let (h, p) = addr.rsplit_once(':').context("address without a port")?;
    Ok((h.trim_matches(['[', ']']).to_string(), p.parse()?))
}

/// Counts the bytes that cross a stream.
struct Counted<S> {
    inner: S,
    tx: Arc<AtomicU64>,
    rx: Arc<AtomicU64>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Counted<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        let n = (buf.filled().len() - before) as u64;
        self.rx.fetch_add(n, Ordering::Relaxed);
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counted<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &r {
            self.tx.fetch_add(*n as u64, Ordering::Relaxed);
        }
        r
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_shutdown(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The simulator's flags for the client's authentication and ciphering.
fn sim_flags(c: &connection::ConnectionArgs) -> Vec<String> {
    let name = |v: &dyn Fn() -> Option<clap::builder::PossibleValue>| {
        v().map(|p| p.get_name().to_string()).unwrap_or_default()
    };
    let mut f = vec![
        "--auth".to_string(),
        name(&|| clap::ValueEnum::to_possible_value(&c.auth)),
        "--security".to_string(),
        name(&|| clap::ValueEnum::to_possible_value(&c.security)),
        "--block-key".into(),
        c.block_key.clone().unwrap_or_else(|| BLOCK_KEY.into()),
        "--auth-key".into(),
        c.auth_key.clone().unwrap_or_else(|| AUTH_KEY.into()),
        "--logical".into(),
        c.logical.to_string(),
    ];
    if let Some(p) = &c.password {
        f.extend(["--password".into(), p.clone()]);
    }
    if let Some(s) = &c.secret {
        f.extend(["--secret".into(), s.clone()]);
    }
    if c.sn {
        f.push("--sn".into());
    }
    f
}

/// The in-process simulator serving what `target` asks for.
fn sim_config(target: &Target, entries: u32) -> SimConfig {
    let auth = match &target.settings.authentication {
        Authentication::None => Authentication::None,
        a => a.clone(),
    };
    SimConfig {
        port: 0,
        interface: target.address.interface,
        referencing: target.settings.referencing,
        logical: target.address.logical,
        authentication: auth,
        ciphering: target.settings.ciphering.as_ref().map(|c| ServerCiphering {
            policy: c.policy,
            system_title: SystemTitle(*b"MMM\x01\x02\x03\x04\x05"),
            block_key: c.block_key.clone(),
            auth_key: c.auth_key.clone(),
        }),
        profile_entries: entries,
        ..SimConfig::default()
    }
}

async fn run(mut args: Args) -> Result<()> {
    let secured = args.conn.security != connection::SecurityArg::None
        || args.conn.auth != connection::AuthLevel::None;
    if secured && args.conn.client == 16 {
        bail!("the public client 16 reads without security: give --client 1 (or another) with --auth/--security");
    }
    let keyed = args.conn.security != connection::SecurityArg::None
        || args.conn.auth == connection::AuthLevel::Gmac;
    if keyed && args.simulator != SimulatorKind::None {
        args.conn.block_key.get_or_insert_with(|| BLOCK_KEY.into());
        args.conn.auth_key.get_or_insert_with(|| AUTH_KEY.into());
    }
    let entries = args.profile_entries.unwrap_or(10_000);
    let mut _sim_process = None;
    let mut sim_task = None;
    match args.simulator {
        SimulatorKind::Spawn => {
            let bin = match &args.bin {
                Some(b) => b.clone(),
                None => std::env::current_exe()?
                    .parent()
                    .and_then(|d| d.parent())
                    .context("no folder above the example")?
                    .join("dlms-logger"),
            };
            let mut cmd = Command::new(&bin);
            cmd.args(["simulate", "--port", "0", "--profile-entries"])
                .arg(entries.max(1).to_string())
                .args(["--busy-poll-us", &args.sim_busy_poll_us.to_string()])
                .args(sim_flags(&args.conn));
            if args.conn.hdlc {
                cmd.arg("--hdlc");
            }
            let (kid, addr) = spawn_listening(cmd)
                .with_context(|| format!("{} (build it: cargo build --release)", bin.display()))?;
            println!("meter: `dlms-logger simulate` process on {addr}");
            (args.conn.host, args.conn.port) = split_addr(&addr)?;
            _sim_process = Some(kid);
        }
        SimulatorKind::InProcess => {
            let target = args.conn.resolve_target()?;
            let (addrs, task) = sim::start(sim_config(&target, entries.max(1)))
                .await
                .context("cannot start the simulator")?;
            println!(
                "meter: simulator in this thread on {} (codec + runtime only)",
                addrs[0]
            );
            args.conn.host = addrs[0].ip().to_string();
            args.conn.port = addrs[0].port();
            sim_task = Some(task);
        }
        SimulatorKind::None => println!("meter: {}", args.conn.target()),
    }
    let target = args.conn.resolve_target()?;
    let interface = target.address.interface;
    println!(
        "link: {interface:?}, client {}, auth {:?}, security {:?}",
        args.conn.client, args.conn.auth, args.conn.security
    );
    let counters = connection::counter_store(args.conn.counter_db.clone());
    let (tx, rx) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let stream = target.connect().await?;
    let stream = Counted {
        inner: stream,
        tx: tx.clone(),
        rx: rx.clone(),
    };
    let mut s = target
        .open_over(Box::new(stream), &counters, None)
        .await
        .context("association failed")?;
    s.set_busy_poll(std::time::Duration::from_micros(args.busy_poll_us));

    let energy = [AttributeRef::new(3, Obis::new(1, 0, 1, 8, 0, 255), 2)];
    // Warm-up reads (also check that the attribute is readable).
    for _ in 0..100 {
        if let Some(Err(e)) = s.read(&energy).await?.into_iter().next() {
            bail!("cannot read 1.0.1.8.0.255:2: {e}");
        }
    }
    // Sizes on the wire of one GET and its answer.
    let (t0, r0) = (tx.load(Ordering::Relaxed), rx.load(Ordering::Relaxed));
    for _ in 0..100 {
        s.read(&energy).await?;
    }
    let req = (tx.load(Ordering::Relaxed) - t0) / 100;
    let resp = (rx.load(Ordering::Relaxed) - r0) / 100;
    println!("one GET on the wire: {req} bytes out, {resp} bytes back");

    // The floors' echo processes: copies of this example. The blocking floor parks in the
    // kernel at every message on both ends; the polling floor polls for each message as
    // long as our client and the `simulate` process do (`--busy-poll-us`,
    // `--sim-busy-poll-us`), then blocks: the like-for-like floor of a pair that polls.
    let poll = std::time::Duration::from_micros(args.busy_poll_us.max(args.sim_busy_poll_us));
    let (_echo, mut floor) = connect_echo(req, resp, std::time::Duration::ZERO)?;
    let (_polling_echo, mut polling_floor) = connect_echo(req, resp, poll)?;
    polling_floor.set_nonblocking(true)?;
    let (mut out, mut back) = (vec![0x5Au8; req as usize], vec![0u8; resp as usize]);

    let mut gets = Vec::new();
    let mut floors = Vec::new();
    let mut ratios = Vec::new();
    let mut polled_ratios = Vec::new();
    for round in 1..=args.rounds.max(1) {
        // Floor: the same number of round trips of the same sizes, blocking.
        let t = Instant::now();
        for i in 0..args.count {
            out[0] = i as u8;
            floor.write_all(&out)?;
            floor.read_exact(&mut back)?;
        }
        let f = f64::from(args.count) / t.elapsed().as_secs_f64();
        let t = Instant::now();
        for i in 0..args.count {
            out[0] = i as u8;
            write_all_polling(&mut polling_floor, &out)?;
            read_exact_polling(&mut polling_floor, &mut back, poll)?;
        }
        let pf = f64::from(args.count) / t.elapsed().as_secs_f64();
        let t = Instant::now();
        for _ in 0..args.count {
            let r = s.read(&energy).await?;
            if let Some(Err(e)) = r.into_iter().next() {
                bail!("cannot read 1.0.1.8.0.255:2: {e}");
            }
        }
        let g = f64::from(args.count) / t.elapsed().as_secs_f64();
        println!(
            "round {round}: GET {g:.0}/s, floor {f:.0} round trips/s, ratio {:.3}; \
             polling floor {pf:.0}/s, ratio {:.3}",
            g / f,
            g / pf
        );
        gets.push(g);
        floors.push(f);
        ratios.push(g / f);
        polled_ratios.push((pf, g / pf));
    }
    drop(floor);
    drop(polling_floor);
    let (g, f, r) = (median(&mut gets), median(&mut floors), median(&mut ratios));
    let mut pfs: Vec<f64> = polled_ratios.iter().map(|p| p.0).collect();
    let mut prs: Vec<f64> = polled_ratios.iter().map(|p| p.1).collect();
    let (pf, pr) = (median(&mut pfs), median(&mut prs));
    let what = match args.simulator {
        SimulatorKind::InProcess => "codec + runtime, simulator in this thread",
        _ => "across processes",
    };
    println!(
        "GET: {g:.0} reads/s ({what}; {interface:?}, {} GETs × {} rounds, {:.1} µs/read)",
        args.count,
        args.rounds.max(1),
        1e6 / g
    );
    println!("floor: {f:.0} round trips/s ({req}/{resp} bytes, two processes, blocking loopback)");
    println!("ratio GET/floor: {r:.3} (median of the rounds' ratios)");
    println!(
        "polling floor: {pf:.0} round trips/s (the same, each end polling {} µs before it blocks)",
        poll.as_micros()
    );
    println!("ratio GET/polling floor: {pr:.3} (median of the rounds' ratios)");

    if entries > 0 {
        let selection = match (args.simulator, args.profile_entries) {
            (SimulatorKind::None, Some(n)) => Selection::Last(n),
            _ => Selection::Last(u32::MAX),
        };
        let t = Instant::now();
        let p = profile::read(&mut s, Obis::new(1, 0, 99, 1, 0, 255), &selection)
            .await
            .map_err(|e| match e {
                profile::ProfileError::Engine(e) => anyhow::Error::from(e),
                profile::ProfileError::Item(m) => anyhow::anyhow!("cannot read the profile: {m}"),
            })?;
        let dt = t.elapsed();
        println!(
            "profile: {} entries in {:.1} ms (method {})",
            p.rows.len(),
            dt.as_secs_f64() * 1e3,
            p.method
        );
    }
    let _ = s.close().await;
    if let Err(e) = counters.flush() {
        eprintln!("{e}");
    }
    if let Some(task) = sim_task {
        task.abort();
    }
    Ok(())
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Starts a floor echo process (polling for `poll` before it blocks) and connects to it.
fn connect_echo(req: u64, resp: u64, poll: std::time::Duration) -> Result<(Kid, TcpStream)> {
    let mut echo = Command::new(std::env::current_exe()?);
    echo.arg("--floor-echo")
        .arg(format!("{req},{resp}"))
        .arg("--floor-poll-us")
        .arg(poll.as_micros().to_string());
    let (child, addr) = spawn_listening(echo)?;
    let s = TcpStream::connect(&addr)?;
    s.set_nodelay(true)?;
    Ok((child, s))
}

/// The floor's other process: accepts one connection and answers every `req` bytes with
/// `resp` bytes until it closes; with a `poll`, it polls for each message that long first.
fn floor_echo(sizes: &str, poll: std::time::Duration) -> Result<()> {
    let (a, b) = sizes.split_once(',').context("REQ,RESP")?;
    let (req, resp): (usize, usize) = (a.parse()?, b.parse()?);
    let l = TcpListener::bind("127.0.0.1:0")?;
    println!("listening on {}", l.local_addr()?);
    std::io::stdout().flush()?;
    let (mut s, _) = l.accept()?;
    s.set_nodelay(true)?;
    s.set_nonblocking(!poll.is_zero())?;
    let (mut inb, out) = (vec![0u8; req], vec![0xA5u8; resp]);
    loop {
        if read_exact_polling(&mut s, &mut inb, poll).is_err() {
            return Ok(());
        }
        write_all_polling(&mut s, &out)?;
    }
}

/// `read_exact` on a socket that is non-blocking when `poll` is not zero: polls for up to
/// `poll`, then blocks for the rest.
fn read_exact_polling(
    s: &mut TcpStream,
    mut buf: &mut [u8],
    poll: std::time::Duration,
) -> std::io::Result<()> {
    if poll.is_zero() {
        return s.read_exact(buf);
    }
    let until = Instant::now() + poll;
    while !buf.is_empty() {
        match s.read(buf) {
            Ok(0) => return Err(std::io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => buf = &mut buf[n..],
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if Instant::now() >= until {
                    s.set_nonblocking(false)?;
                    let r = s.read_exact(buf);
                    s.set_nonblocking(true)?;
                    return r;
                }
                std::hint::spin_loop();
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// `write_all` that also works on a non-blocking socket.
fn write_all_polling(s: &mut TcpStream, mut buf: &[u8]) -> std::io::Result<()> {
    while !buf.is_empty() {
        match s.write(buf) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => buf = &buf[n..],
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::Interrupted | std::io::ErrorKind::WouldBlock
                ) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
