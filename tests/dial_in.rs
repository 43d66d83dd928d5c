//! Meters that dial in: the push is logged, a request for that meter runs over its incoming
//! link, and an unknown caller is dropped without storing anything.

use dlms_logger::queue::Config;
use dlms_logger::runner::Runner;
use dlms_logger::sim::{self, SimConfig};
use dlms_logger::store::{LogFilter, Store, Writer};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// A simulated meter (index `index`) that dials `port`, pushes, then answers requests.
async fn dial(port: u16, index: u32) {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let config = SimConfig::default();
    let frame = sim::push_frame(&config, index, chrono::Local::now().fixed_offset()).unwrap();
    stream.write_all(&frame).await.unwrap();
    let _ = sim::serve_stream(stream, &config, index).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_known_meter_dials_in_pushes_and_is_read() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = Config::parse(
        &format!(
            r#"
[[connection]]
name = "inbound"
listen = {{ host = "127.0.0.1", port = {port} }}
[[meter]]
name = "m1"
connection = "inbound"
device_name = "DLG0000000000001"
[[request]]
name = "regs"
meters = ["m1"]
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
    let runner = Runner::start(config, handle, 1);
    tokio::time::sleep(Duration::from_millis(200)).await;
    // An unknown meter (device name DLG0000000000002) first: dropped.
    let unknown = tokio::spawn(dial(port, 1));
    let known = tokio::spawn(dial(port, 0));
    let h = runner.handle();
    for _ in 0..200 {
        if h.status()
            .requests
            .get("regs")
            .is_some_and(|r| r.completed >= 1)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    runner.shutdown().await;
    writer.shutdown().unwrap();
    unknown.abort();
    known.abort();
    let store = Store::open(&db).unwrap();
    let rows = store.log_page(&LogFilter::default(), None, 100).unwrap();
    let push: Vec<_> = rows
        .iter()
        .filter(|r| r.reading.request == "push")
        .collect();
    assert_eq!(push.len(), 3, "{rows:?}");
    assert!(push.iter().all(|r| r.reading.meter == "m1"));
    assert!(push
        .iter()
        .any(|r| r.reading.text.as_deref() == Some("DLG0000000000001")));
    let regs: Vec<_> = rows
        .iter()
        .filter(|r| r.reading.request == "regs")
        .collect();
    assert_eq!(regs.len(), 2);
    assert!(regs.iter().all(|r| r.reading.status == "ok"), "{regs:?}");
    assert_eq!(rows.len(), 5, "nothing from the unknown caller");
}
