//! Meters that dial in: the push is logged, a request for that meter runs over its incoming
//! link, an unknown caller is dropped without storing anything, and a meter configured for
//! ciphering is let in only when it proves it holds its keys.

use dlms_logger::queue::Config;
use dlms_logger::runner::{Runner, RunnerHandle};
use dlms_logger::sim::{self, SimConfig};
use dlms_logger::store::Scan;
use dlms_logger::store::{LogFilter, Row, Store, Writer};
use std::path::PathBuf;
use std::time::Duration;

const BK: &str = "000102030405060708090A0B0C0D0E0F";
const AK: &str = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF";

/// A simulated meter (index `index`) that dials `port`, pushes, then answers requests.
async fn dial(port: u16, index: u32) {
    dial_as(port, index, SimConfig::default()).await
}

/// A simulated meter configured by `config` that dials `port`, pushes, then answers requests.
async fn dial_as(port: u16, index: u32, config: SimConfig) {
    let stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let _ = sim::dial_in(stream, &config, index, true).await;
}

/// A simulated meter that ciphers (authenticated encryption) with `title` and `block_key`.
fn ciphering(title: &str, block_key: &str) -> SimConfig {
    use dlms_logger::dlms::security::{Key, Policy};
    SimConfig {
        ciphering: Some(dlms_logger::dlms::server::ServerCiphering {
            policy: Policy::AuthEnc,
            system_title: title.parse().unwrap(),
            block_key: block_key.parse::<Key>().unwrap(),
            auth_key: AK.parse::<Key>().unwrap(),
        }),
        ..SimConfig::default()
    }
}

/// A logger listening on a free loopback port, with `meters` (TOML) on that connection and a
/// request "regs" (two registers, never scheduled: it runs when a meter dials in).
struct Logger {
    port: u16,
    runner: Runner,
    writer: Writer,
    db: PathBuf,
    _dir: tempfile::TempDir,
}

impl Logger {
    async fn start(meters: &str, names: &[&str]) -> Logger {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let names = names
            .iter()
            .map(|n| format!("{n:?}"))
            .collect::<Vec<_>>()
            .join(", ");
        let config = Config::parse(
            &format!(
                r#"
[[connection]]
name = "inbound"
listen = {{ host = "127.0.0.1", port = {port} }}
{meters}
[[request]]
name = "regs"
meters = [{names}]
schedule = {{ cron = "0 0 1 1 *" }}
items = [{{ name = "energy", obis = "1.0.1.8.0.255" }}, {{ name = "volts", obis = "1.0.32.7.0.255" }}]
"#
            ),
            "dial.toml",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("log.db");
        let (writer, handle) = Writer::spawn(&db).unwrap();
        let counters = dlms_logger::counters::CounterStore::new(dir.path().join("counters.db"));
        let runner = Runner::start_with(
            config,
            handle,
            1,
            dlms_logger::runner::RunnerOptions {
                counters: Some(counters),
                ..Default::default()
            },
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        Logger {
            port,
            runner,
            writer,
            db,
            _dir: dir,
        }
    }

    /// Waits until "regs" completed `runs` times (or 5 s), then stops and returns every row.
    async fn rows_after(self, runs: u64) -> Vec<Row> {
        let h: RunnerHandle = self.runner.handle();
        for _ in 0..200 {
            if h.status()
                .requests
                .get("regs")
                .is_some_and(|r| r.completed >= runs)
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        self.runner.shutdown().await;
        self.writer.shutdown().unwrap();
        let store = Store::open(&self.db).unwrap();
        store.log_page(&LogFilter::default(), None, 100).unwrap()
    }
}

/// The rows of `request` by `meter`.
fn of<'a>(rows: &'a [Row], request: &str, meter: &str) -> Vec<&'a Row> {
    rows.iter()
        .filter(|r| r.record.request == request && r.record.meter == meter)
        .collect()
}

/// `meter` pushed its three values (device name first) and was read (two registers, ok).
fn pushed_and_read(rows: &[Row], meter: &str, device_name: &str) {
    let push = of(rows, "push", meter);
    assert_eq!(push.len(), 3, "{meter}'s push: {rows:?}");
    assert!(push
        .iter()
        .any(|r| r.record.text.as_deref() == Some(device_name)));
    let regs = of(rows, "regs", meter);
    assert_eq!(regs.len(), 2, "{meter}'s registers: {rows:?}");
    assert!(regs.iter().all(|r| r.record.status == "ok"), "{regs:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_known_meter_dials_in_pushes_and_is_read() {
    let logger = Logger::start(
        "[[meter]]\nname = \"m1\"\nconnection = \"inbound\"\ndevice_name = \"DLG0000000000001\"\n",
        &["m1"],
    )
    .await;
    // An unknown meter (device name DLG0000000000002) first: dropped.
    let unknown = tokio::spawn(dial(logger.port, 1));
    let known = tokio::spawn(dial(logger.port, 0));
    let rows = logger.rows_after(1).await;
    unknown.abort();
    known.abort();
    pushed_and_read(&rows, "m1", "DLG0000000000001");
    assert_eq!(rows.len(), 5, "nothing from the unknown caller: {rows:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_meters_calling_at_once_are_both_read() {
    let logger = Logger::start(
        "[[meter]]\nname = \"m1\"\nconnection = \"inbound\"\ndevice_name = \"DLG0000000000001\"\n\
         [[meter]]\nname = \"m2\"\nconnection = \"inbound\"\ndevice_name = \"DLG0000000000002\"\n",
        &["m1", "m2"],
    )
    .await;
    let calls = [
        tokio::spawn(dial(logger.port, 0)),
        tokio::spawn(dial(logger.port, 1)),
    ];
    let rows = logger.rows_after(2).await;
    calls.iter().for_each(|c| c.abort());
    // Each call runs the request for the meter that called, not for every meter of the
    // request, and the second call is not coalesced away while the first one runs.
    pushed_and_read(&rows, "m1", "DLG0000000000001");
    pushed_and_read(&rows, "m2", "DLG0000000000002");
    assert_eq!(rows.len(), 10, "{rows:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ciphered_meter_is_known_by_its_system_title_and_must_hold_its_keys() {
    let logger = Logger::start(
        &format!(
            r#"
[[meter]]
name = "sec"
connection = "inbound"
security = {{ policy = "authenc", block_key = "{BK}", auth_key = "{AK}", server_system_title = "4D4D4D0000000001" }}
[[meter]]
name = "sec2"
connection = "inbound"
device_name = "DLG0000000000003"
security = {{ policy = "authenc", block_key = "{BK}", auth_key = "{AK}" }}
"#
        ),
        &["sec", "sec2"],
    )
    .await;
    // Impostors first, one at a time, each dropped before the next calls: the right system
    // title with the wrong keys, then a plain meter reporting sec2's device name.
    for impostor in [
        dial_as(
            logger.port,
            1,
            ciphering("4D4D4D0000000001", "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"),
        ),
        dial_as(logger.port, 2, SimConfig::default()),
    ] {
        tokio::time::timeout(Duration::from_secs(10), impostor)
            .await
            .expect("the logger drops an impostor instead of keeping its link");
    }
    let genuine = tokio::spawn(dial_as(logger.port, 0, ciphering("4D4D4D0000000001", BK)));
    let rows = logger.rows_after(1).await;
    genuine.abort();
    // Its push was ciphered: stored only because it deciphered with sec's keys.
    pushed_and_read(&rows, "sec", "DLG0000000000001");
    assert_eq!(rows.len(), 5, "nothing from the impostors: {rows:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_hdlc_meter_pushes_in_a_ui_frame_and_is_read() {
    let logger = Logger::start(
        "[[meter]]\nname = \"h1\"\nconnection = \"inbound\"\ninterface = \"hdlc\"\n\
         device_name = \"DLG0000000000001\"\n",
        &["h1"],
    )
    .await;
    let hdlc = SimConfig {
        interface: dlms_logger::engine::Interface::Hdlc,
        ..SimConfig::default()
    };
    let call = tokio::spawn(dial_as(logger.port, 0, hdlc));
    let rows = logger.rows_after(1).await;
    call.abort();
    pushed_and_read(&rows, "h1", "DLG0000000000001");
    assert_eq!(rows.len(), 5, "{rows:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ciphered_push_in_general_block_transfer_blocks_is_joined_and_stored() {
    for hdlc in [false, true] {
        let interface = if hdlc { "\ninterface = \"hdlc\"" } else { "" };
        let logger = Logger::start(
            &format!(
                r#"
[[meter]]
name = "gbt"
connection = "inbound"{interface}
security = {{ policy = "authenc", block_key = "{BK}", auth_key = "{AK}", server_system_title = "4D4D4D0000000001" }}
"#
            ),
            &["gbt"],
        )
        .await;
        let mut config = ciphering("4D4D4D0000000001", BK);
        // The push goes in blocks of at most 64 − 9 bytes: two or more blocks.
        config.gbt_window = Some(1);
        config.max_pdu = 64;
        if hdlc {
            config.interface = dlms_logger::engine::Interface::Hdlc;
        }
        let push = sim::push_frame(&config, 0, chrono::Local::now().fixed_offset(), 9).unwrap();
        let blocks = dlms_logger::dlms::push::apdus(&push).unwrap();
        assert!(blocks.len() >= 2 && blocks.iter().all(|b| b[0] == 0xE0));
        let call = tokio::spawn(dial_as(logger.port, 0, config));
        let rows = logger.rows_after(1).await;
        call.abort();
        pushed_and_read(&rows, "gbt", "DLG0000000000001");
    }
}
