//! A ciphered session replayed later is refused: the meter's invocation counters must stay above
//! the highest it used in earlier sessions with the same key, which the logger keeps durably.

use dlms_logger::counters::CounterStore;
use dlms_logger::dlms::client::AttributeRef;
use dlms_logger::dlms::security::{Key, Policy};
use dlms_logger::dlms::server::ServerCiphering;
use dlms_logger::engine::Target;
use dlms_logger::queue::Config;

/// Opens a session the way the logger does: the meter's `Target`, counters from `store`.
async fn open_secure(
    conn: &dlms_logger::queue::Connection,
    meter: &dlms_logger::queue::Meter,
    store: &std::sync::Arc<dlms_logger::counters::CounterStore>,
    trace: Option<dlms_logger::engine::TraceSink>,
) -> Result<
    dlms_logger::engine::Session<dlms_logger::transport::BoxStream>,
    dlms_logger::engine::EngineError,
> {
    Target::new(conn, meter).open(store, trace).await
}
use dlms_logger::sim::{self, SimConfig};
use std::time::Duration;

const BK: &str = "000102030405060708090A0B0C0D0E0F";
const AK: &str = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF";

/// A ciphering simulator on `port`; its invocation counter starts at 0 with every start.
async fn ciphered_sim(port: u16) -> tokio::task::JoinHandle<()> {
    // An aborted simulator's listener closes when its task is dropped, a moment later.
    for _ in 0..100 {
        if let Ok(h) = try_ciphered_sim(port).await {
            return h;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("port {port} stays in use");
}

async fn try_ciphered_sim(port: u16) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let (_, handle) = sim::start(SimConfig {
        port,
        ciphering: Some(ServerCiphering {
            policy: Policy::AuthEnc,
            system_title: "4D4D4D0000BC614E".parse().unwrap(),
            block_key: BK.parse::<Key>().unwrap(),
            auth_key: AK.parse::<Key>().unwrap(),
        }),
        ..SimConfig::default()
    })
    .await?;
    Ok(handle)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn config(name: &str, port: u16) -> Config {
    Config::parse(
        &format!(
            r#"
[[connection]]
name = "lab"
tcp = {{ host = "127.0.0.1", port = {port} }}
[[meter]]
name = "{name}"
connection = "lab"
client = 1
security = {{ policy = "authenc", block_key = "{BK}", auth_key = "{AK}" }}
"#
        ),
        "replay.toml",
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

/// Two genuine sessions, then the same meter (same system title) answering with counters from
/// the start again — what a recorded session played back looks like (here a fresh simulator,
/// whose counter restarts at 0) — reached as `name2` on another port: refused.
async fn replay_after(name2: &str, other_port: bool, counters: &std::sync::Arc<CounterStore>) {
    let port = free_port();
    let first = config("m1", port);
    let energy = [AttributeRef::new(3, "1.0.1.8.0.255".parse().unwrap(), 2)];
    let sim = ciphered_sim(port).await;
    for _ in 0..2 {
        let mut s = open_secure(&first.connections[0], &first.meters[0], counters, None)
            .await
            .unwrap();
        assert!(s.read(&energy).await.unwrap()[0].is_ok());
        assert!(s.dlms().meter_invocation_counter().is_some());
        s.close().await.unwrap();
    }
    sim.abort();
    let _ = sim.await;
    let port2 = if other_port { free_port() } else { port };
    let second = config(name2, port2);
    let _replayer = ciphered_sim(port2).await;
    let e = match open_secure(&second.connections[0], &second.meters[0], counters, None).await {
        Ok(mut s) => s
            .read(&energy)
            .await
            .err()
            .map(|e| e.to_string())
            .unwrap_or_else(|| panic!("a replayed session was accepted")),
        Err(e) => e.to_string(),
    };
    assert!(e.contains("replayed session"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_meter_whose_counter_goes_back_is_refused_as_a_replay() {
    let dir = tempfile::tempdir().unwrap();
    let counters = CounterStore::new(dir.path().join("counters.db"));
    replay_after("m1", false, &counters).await;
}

/// The floor follows the meter's system title, not its name or address: renamed and moved
/// to another port (a GPRS meter's new IP), a replay is still refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_is_refused_after_a_rename_and_a_move() {
    let dir = tempfile::tempdir().unwrap();
    let counters = CounterStore::new(dir.path().join("counters.db"));
    replay_after("renamed", true, &counters).await;
}

/// The floor is durable: another process (another store instance on the same file) refuses it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_is_refused_by_the_next_process() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("counters.db");
    let port = free_port();
    let cfg = config("m1", port);
    let energy = [AttributeRef::new(3, "1.0.1.8.0.255".parse().unwrap(), 2)];
    let sim = ciphered_sim(port).await;
    {
        let counters = CounterStore::new(&path);
        let mut s = open_secure(&cfg.connections[0], &cfg.meters[0], &counters, None)
            .await
            .unwrap();
        assert!(s.read(&energy).await.unwrap()[0].is_ok());
        s.close().await.unwrap();
    }
    sim.abort();
    let _ = sim.await;
    let _replayer = ciphered_sim(port).await;
    let counters = CounterStore::new(&path);
    let e = open_secure(&cfg.connections[0], &cfg.meters[0], &counters, None)
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_else(|| panic!("a replayed session was accepted"));
    assert!(e.contains("replayed session"), "{e}");
}
