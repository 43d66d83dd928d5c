//! A cold `dlms-logger read` (a new process: start, connect, associate, GET, release, exit),
//! plain and secured, against its floors measured in the same run.
//!
//! ```sh
//! cargo build --release && cargo run --release --example cold_read -- [--runs 21] [--rounds 3]
//! ```
//!
//! Two simulator processes serve the reads: one plain (WRAPPER, public client) and one that
//! asks for HLS-GMAC and authenticated encryption (client 1, the Green Book test keys). The
//! secured reads share a fresh counter store (`DLMS_COUNTER_DB` in a temporary folder), as
//! the reads of one user share theirs. In each round every command runs `--runs` times, the
//! commands taking turns:
//!
//! - `/bin/true`: what starting any process costs here;
//! - `dlms-logger --version`: what starting this binary costs (loading, relocating, parsing);
//! - the floor: a copy of this example that connects to an echo server of this process and
//!   makes the same round trips, of the same sizes, as the plain read (learnt from its
//!   `--trace`), with blocking sockets, then exits;
//! - `read` plain and `read` secured.
//!
//! Printed: the medians of each round, then the medians over the rounds and the ratios.
use anyhow::{bail, Context, Result};
use clap::Parser;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

/// Cold reads against /bin/true and a loopback floor.
#[derive(Debug, Parser)]
struct Args {
    /// The `dlms-logger` binary (default: target/release/dlms-logger beside this example).
    #[arg(long)]
    bin: Option<PathBuf>,
    /// Runs of every command in a round.
    #[arg(long, default_value_t = 21)]
    runs: u32,
    /// Rounds; the median over them is reported.
    #[arg(long, default_value_t = 3)]
    rounds: u32,
    /// Use HDLC (both simulators and the reads).
    #[arg(long)]
    hdlc: bool,
    /// Internal: be the floor's client (connect to ADDR, make the round trips of SCRIPT).
    #[arg(long, hide = true, value_names = ["ADDR", "SCRIPT"], num_args = 2)]
    floor_client: Option<Vec<String>>,
}

const BLOCK_KEY: &str = "000102030405060708090A0B0C0D0E0F";
const AUTH_KEY: &str = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF";
const ITEM: &str = "1.0.1.8.0.255";

/// Round trips: bytes out, bytes back.
type Script = Vec<(usize, usize)>;

fn parse_script(s: &str) -> Result<Script> {
    s.split(';')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (a, b) = p.split_once(',').context("OUT,BACK")?;
            Ok((a.parse()?, b.parse()?))
        })
        .collect()
}

fn main() -> Result<()> {
    let args = Args::parse();
    if let Some(fc) = &args.floor_client {
        return floor_client(&fc[0], &parse_script(&fc[1])?);
    }
    run(args)
}

/// The floor's client process: connect, the round trips, exit.
fn floor_client(addr: &str, script: &Script) -> Result<()> {
    let mut s = TcpStream::connect(addr)?;
    s.set_nodelay(true)?;
    let mut buf = vec![0u8; 64 * 1024];
    for &(out, back) in script {
        s.write_all(&vec![0x5A; out])?;
        s.read_exact(&mut buf[..back])?;
    }
    Ok(())
}

/// The floor's server: for every connection, reads each request and answers it.
fn echo_server(script: Script) -> Result<String> {
    let l = TcpListener::bind("127.0.0.1:0")?;
    let addr = l.local_addr()?.to_string();
    std::thread::spawn(move || {
        for c in l.incoming().flatten() {
            let _ = c.set_nodelay(true);
            let mut c = c;
            let mut buf = vec![0u8; 64 * 1024];
            for &(out, back) in &script {
                if c.read_exact(&mut buf[..out]).is_err() {
                    break;
                }
                if c.write_all(&vec![0xA5; back]).is_err() {
                    break;
                }
            }
        }
    });
    Ok(addr)
}

/// A child process killed when dropped.
struct Kid(Child);

impl Drop for Kid {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn simulator(bin: &PathBuf, extra: &[&str]) -> Result<(Kid, u16)> {
    let mut child = Command::new(bin)
        .args(["simulate", "--port", "0"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {}", bin.display()))?;
    let out = child.stdout.take().context("no stdout")?;
    let kid = Kid(child);
    let mut lines = BufReader::new(out).lines();
    for line in lines.by_ref() {
        let line = line?;
        if let Some(addr) = line.strip_prefix("listening on ") {
            let port = addr.trim().rsplit_once(':').context("no port")?.1.parse()?;
            std::thread::spawn(move || for _ in lines {});
            return Ok((kid, port));
        }
    }
    bail!("the simulator ended without saying where it listens")
}

/// The round trips of one read, from its `--trace` (TX/RX lines with the bytes in hex).
fn script_of(mut cmd: Command) -> Result<Script> {
    let out = cmd.arg("--trace").output()?;
    if !out.status.success() {
        bail!(
            "the traced read failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let mut script: Script = Vec::new();
    for line in String::from_utf8_lossy(&out.stderr).lines() {
        let Some((dir, rest)) = line.split_once(' ') else {
            continue;
        };
        let hex = rest.split_whitespace().next().unwrap_or("");
        let n = hex.len() / 2;
        match dir {
            "TX" => script.push((n, 0)),
            "RX" => {
                if let Some(last) = script.last_mut() {
                    last.1 += n;
                }
            }
            _ => {}
        }
    }
    Ok(script)
}

fn time(cmd: &mut Command) -> Result<f64> {
    let t = Instant::now();
    let st = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .with_context(|| format!("{cmd:?}"))?;
    let dt = t.elapsed().as_secs_f64() * 1e3;
    if !st.success() {
        bail!("{cmd:?} failed");
    }
    Ok(dt)
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn run(args: Args) -> Result<()> {
    let bin = match &args.bin {
        Some(b) => b.clone(),
        None => std::env::current_exe()?
            .parent()
            .and_then(|d| d.parent())
            .context("no folder above the example")?
            .join("dlms-logger"),
    };
    println!("binary: {} ({})", bin.display(), linkage(&bin)?);
    let link: &[&str] = if args.hdlc { &["--hdlc"] } else { &[] };
    let (_plain_sim, plain_port) = simulator(&bin, link)?;
    let mut secured_flags = vec![
        "--auth",
        "gmac",
        "--security",
        "authenc",
        "--block-key",
        BLOCK_KEY,
        "--auth-key",
        AUTH_KEY,
    ];
    let (_secured_sim, secured_port) = simulator(&bin, &[link, &secured_flags[..]].concat())?;
    let dir = tempfile::tempdir()?;
    let counters = dir.path().join("counters.db");
    let read = |port: u16, extra: &[&str]| {
        let mut c = Command::new(&bin);
        c.args(["read", "--port", &port.to_string()])
            .args(link)
            .args(extra)
            .arg(ITEM)
            .env("DLMS_COUNTER_DB", &counters)
            .env_remove("DLMS_LOG");
        c
    };
    let script = script_of(read(plain_port, &[]))?;
    let script_text: String = script.iter().map(|(a, b)| format!("{a},{b};")).collect();
    println!(
        "plain read on the wire: {} round trips ({})",
        script.len(),
        script_text.trim_end_matches(';')
    );
    let echo = echo_server(script)?;
    secured_flags.extend(["--client", "1"]);
    let me = std::env::current_exe()?;
    let mut commands: Vec<(&str, Command)> = vec![
        ("/bin/true", Command::new("/bin/true")),
        ("dlms-logger --version", {
            let mut c = Command::new(&bin);
            c.arg("--version");
            c
        }),
        ("floor", {
            let mut c = Command::new(&me);
            c.arg("--floor-client").arg(&echo).arg(&script_text);
            c
        }),
        ("read plain", read(plain_port, &[])),
        ("read secured", read(secured_port, &secured_flags)),
    ];
    // Warm up: page cache, the counter store's file and its first block.
    for (_, c) in commands.iter_mut() {
        for _ in 0..3 {
            time(c)?;
        }
    }
    let mut per_round: Vec<Vec<f64>> = vec![Vec::new(); commands.len()];
    for round in 1..=args.rounds.max(1) {
        let mut samples: Vec<Vec<f64>> = vec![Vec::new(); commands.len()];
        for _ in 0..args.runs.max(1) {
            for (i, (_, c)) in commands.iter_mut().enumerate() {
                samples[i].push(time(c)?);
            }
        }
        let meds: Vec<f64> = samples.iter_mut().map(|s| median(s)).collect();
        print!("round {round}:");
        for ((name, _), m) in commands.iter().zip(&meds) {
            print!(" {name} {m:.2} ms;");
        }
        println!(
            " read/floor {:.2}, secured/plain {:.2}",
            meds[3] / meds[2],
            meds[4] / meds[3]
        );
        for (i, m) in meds.into_iter().enumerate() {
            per_round[i].push(m);
        }
    }
    let m: Vec<f64> = per_round.iter_mut().map(|v| median(v)).collect();
    println!(
        "median of {} rounds × {} runs ({}): /bin/true {:.2} ms, dlms-logger --version {:.2} ms, \
         floor {:.2} ms, read plain {:.2} ms, read secured {:.2} ms",
        args.rounds.max(1),
        args.runs.max(1),
        if args.hdlc { "HDLC" } else { "WRAPPER" },
        m[0],
        m[1],
        m[2],
        m[3],
        m[4]
    );
    println!(
        "ratios: read/floor {:.2}, read/(dlms-logger --version) {:.2}, secured/plain {:.2}",
        m[3] / m[2],
        m[3] / m[1],
        m[4] / m[3]
    );
    Ok(())
}

/// How the binary at `path` is linked, from its ELF header and program headers: the shipped
/// one (`cargo ship`) is a static PIE, `cargo build --release` makes a dynamic one.
fn linkage(path: &PathBuf) -> Result<&'static str> {
    let elf = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let u16_at = |o: usize| elf.get(o..o + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let u64_at = |o: usize| {
        elf.get(o..o + 8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("eight bytes")))
    };
    if elf.get(..5) != Some(b"\x7fELF\x02".as_slice()) {
        return Ok("not a 64-bit ELF file");
    }
    let (Some(kind), Some(phoff), Some(phsize), Some(phnum)) =
        (u16_at(16), u64_at(32), u16_at(54), u16_at(56))
    else {
        return Ok("a truncated ELF file");
    };
    const PT_INTERP: u32 = 3;
    let interp = (0..usize::from(phnum)).any(|i| {
        let at = phoff as usize + i * usize::from(phsize);
        elf.get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            == Some(PT_INTERP)
    });
    Ok(match (kind, interp) {
        (3, false) => "static PIE: `cargo ship`, the shipped binary",
        (3, true) => "dynamically linked PIE: `cargo build --release`, not the shipped binary",
        (2, false) => "static, not position-independent",
        _ => "dynamically linked, not position-independent",
    })
}
