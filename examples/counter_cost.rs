//! What the invocation counter store costs: GETs per second over one authenticated and
//! encrypted association (HLS-GMAC, policy authenc) against the in-process simulator, with
//! counters from a counter store (as every command uses) and without (the settings' counter,
//! as only tests may). Rounds alternate, so both see the same machine noise.
//!
//! ```sh
//! cargo run --release --example counter_cost -- [--count 20000] [--rounds 5]
//! ```
use anyhow::Result;
use clap::Parser;
use dlms_logger::counters::CounterStore;
use dlms_logger::dlms::client::{
    AttributeRef, Authentication, Ciphering, ClientSettings, Referencing,
};
use dlms_logger::dlms::security::{HlsMechanism, Key, Policy, SystemTitle};
use dlms_logger::dlms::server::ServerCiphering;
use dlms_logger::engine::{MeterAddress, Session, SessionCounters};
use dlms_logger::sim::{self, SimConfig};
use std::time::{Duration, Instant};

/// GET rate with and without the counter store.
#[derive(Debug, Parser)]
struct Args {
    /// GETs per round.
    #[arg(long, default_value_t = 20_000)]
    count: u32,
    /// Rounds of each (the median is printed).
    #[arg(long, default_value_t = 5)]
    rounds: usize,
}

const BK: Key = Key([
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x0E, 0x0F,
]);
const AK: Key = Key([
    0xD0, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8, 0xD9, 0xDA, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF,
]);

fn settings(title: &[u8; 8], first_ic: u32) -> ClientSettings {
    let mut s = ClientSettings::new(Referencing::Ln);
    s.authentication = Authentication::High {
        mechanism: HlsMechanism::Gmac,
        secret: Vec::new(),
    };
    s.challenge = dlms_logger::engine::secure::random_bytes(16);
    s.ciphering = Some(Ciphering {
        policy: Policy::AuthEnc,
        system_title: SystemTitle(*title),
        block_key: BK,
        auth_key: AK,
        dedicated_key: None,
        server_system_title: None,
        invocation_counter: first_ic,
        meter_counter_floor: 0,
    });
    s
}

fn main() -> Result<()> {
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(run(args))
}

async fn rate(
    port: u16,
    count: u32,
    counters: Option<SessionCounters>,
    first_ic: u32,
) -> Result<f64> {
    let stream =
        dlms_logger::transport::tcp::connect("127.0.0.1", port, Duration::from_secs(5)).await?;
    let addr = MeterAddress {
        client: 1,
        ..MeterAddress::default()
    };
    let mut s = Session::open_with(
        stream,
        &addr,
        settings(
            if counters.is_some() {
                b"BENCH002"
            } else {
                b"BENCH001"
            },
            first_ic,
        ),
        Duration::from_secs(5),
        None,
        counters,
    )
    .await?;
    let item = [AttributeRef::new(3, "1.0.1.8.0.255".parse()?, 2)];
    let t = Instant::now();
    for _ in 0..count {
        s.read(&item).await?;
    }
    let r = f64::from(count) / t.elapsed().as_secs_f64();
    s.close().await?;
    Ok(r)
}

async fn run(args: Args) -> Result<()> {
    let (addrs, _sim) = sim::start(SimConfig {
        port: 0,
        authentication: Authentication::High {
            mechanism: HlsMechanism::Gmac,
            secret: Vec::new(),
        },
        ciphering: Some(ServerCiphering {
            policy: Policy::AuthEnc,
            system_title: SystemTitle(*b"MMM00001"),
            block_key: BK,
            auth_key: AK,
        }),
        ..SimConfig::default()
    })
    .await?;
    let port = addrs[0].port();
    let dir = tempfile::tempdir()?;
    let store = CounterStore::new(dir.path().join("counters.db"));
    // Without a store, each session must start above everything used before (the simulator
    // refuses a counter that does not increase): a generous step per round. The two modes
    // use different client system titles, so their counters never meet.
    let step = args.count + 1000;
    let mut plain_ic = 0u32;
    let (mut with, mut without) = (Vec::new(), Vec::new());
    for _ in 0..args.rounds {
        without.push(rate(port, args.count, None, plain_ic).await?);
        plain_ic += step;
        let c = SessionCounters::new(store.clone(), 0);
        with.push(rate(port, args.count, Some(c), 0).await?);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (w, wo) = (median(&mut with), median(&mut without));
    println!("authenc GET, settings' counter (no store): {wo:.0} reads/s");
    println!("authenc GET, counters from the store:       {w:.0} reads/s");
    println!(
        "store / no store: {:.3} ({:+.2} %)",
        w / wo,
        (w / wo - 1.0) * 100.0
    );
    Ok(())
}
