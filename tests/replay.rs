//! A ciphered session replayed later is refused: the meter's invocation counters must stay above
//! the highest it used in earlier sessions with the same key, which the logger keeps durably.

use dlms_logger::dlms::client::AttributeRef;
use dlms_logger::dlms::security::{Key, Policy};
use dlms_logger::dlms::server::ServerCiphering;
use dlms_logger::queue::Config;
use dlms_logger::runner::read::open_secure;
use dlms_logger::sim::{self, SimConfig};
use dlms_logger::store::Writer;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_meter_whose_counter_goes_back_is_refused_as_a_replay() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = Config::parse(
        &format!(
            r#"
[[connection]]
name = "lab"
tcp = {{ host = "127.0.0.1", port = {port} }}
[[meter]]
name = "m1"
connection = "lab"
client = 1
security = {{ policy = "authenc", block_key = "{BK}", auth_key = "{AK}" }}
"#
        ),
        "replay.toml",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (conn, meter) = (&config.connections[0], &config.meters[0]);
    let dir = tempfile::tempdir().unwrap();
    let (writer, counters) = Writer::spawn(&dir.path().join("log.db")).unwrap();
    let energy = [AttributeRef::new(3, "1.0.1.8.0.255".parse().unwrap(), 2)];
    let sim = ciphered_sim(port).await;
    // Two sessions with the genuine meter: its counter goes on from where it was.
    for _ in 0..2 {
        let (mut s, lease) = open_secure(conn, meter, &counters, None).await.unwrap();
        assert!(s.read(&energy).await.unwrap()[0].is_ok());
        let (next, last) = (
            s.dlms().invocation_counter(),
            s.dlms().meter_invocation_counter(),
        );
        assert!(last.is_some());
        s.close().await.unwrap();
        lease.unwrap().settle(&counters, next, last).await;
    }
    // The same meter answering with counters from the start again: what a recorded session
    // played back looks like (here a fresh simulator, whose counter restarts at 0).
    sim.abort();
    let _ = sim.await;
    let _replayer = ciphered_sim(port).await;
    let e = match open_secure(conn, meter, &counters, None).await {
        Ok((mut s, _)) => s
            .read(&energy)
            .await
            .err()
            .map(|e| e.to_string())
            .unwrap_or_else(|| panic!("a replayed session was accepted")),
        Err(e) => e.to_string(),
    };
    assert!(e.contains("replayed session"), "{e}");
    writer.shutdown().unwrap();
}
