//! Passive connections against what real meters send: the logger connects to a TCP bridge of a
//! HAN port that replays frames captured from real meters (tests/data/han/corpus.toml), cut into
//! small pieces with noise and a damaged frame between, sends nothing, and logs the values.

use dlms_logger::queue::Config;
use dlms_logger::runner::Runner;
use dlms_logger::store::Scan;
use dlms_logger::store::{LogFilter, Row, Store, Writer};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The frames of corpus entry `id`, as bytes.
fn corpus(id: &str) -> Vec<Vec<u8>> {
    let text = std::fs::read_to_string("tests/data/han/corpus.toml").unwrap();
    let doc: toml::Value = toml::from_str(&text).unwrap();
    let frame = doc["frame"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"].as_str() == Some(id))
        .unwrap_or_else(|| panic!("no corpus frame {id}"));
    frame["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            let hex = l.as_str().unwrap();
            (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect()
        })
        .collect()
}

/// A TCP bridge of a HAN port: every client gets `stream` in 7-byte pieces, then nothing more
/// (the link stays open). Counts the bytes clients sent it (a passive logger sends none).
fn han_bridge(stream: Vec<u8>) -> (u16, Arc<AtomicUsize>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let received = Arc::new(AtomicUsize::new(0));
    let got = received.clone();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            let (stream, got) = (stream.clone(), got.clone());
            std::thread::spawn(move || {
                let mut s = s;
                for piece in stream.chunks(7) {
                    if s.write_all(piece).is_err() {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
                s.set_read_timeout(Some(Duration::from_millis(100))).ok();
                let mut buf = [0u8; 64];
                loop {
                    match s.read(&mut buf) {
                        Ok(0) => return,
                        Ok(n) => {
                            got.fetch_add(n, Ordering::Relaxed);
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                        Err(_) => return,
                    }
                }
            });
        }
    });
    (port, received)
}

fn rows(db: &Path) -> Vec<Row> {
    let store = Store::open(db).unwrap();
    store.log_page(&LogFilter::default(), None, 1000).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passive_connection_logs_what_real_meters_push_and_sends_nothing() {
    // Kamstrup (HDLC, OBIS pairs) after line noise and a copy with a damaged FCS.
    let kamstrup = corpus("kamstrup-hdlc").remove(0);
    let mut damaged = kamstrup.clone();
    let n = damaged.len();
    damaged[n - 3] ^= 0xFF;
    let mut k_stream = vec![0x00, 0x13, 0x37];
    k_stream.extend(&damaged);
    k_stream.extend(&kamstrup);
    let (k_port, k_sent) = han_bridge(k_stream);
    // Landis+Gyr E450: general-glo-ciphering in three general-block-transfer blocks.
    let (lg_port, lg_sent) = han_bridge(corpus("landis-gyr-e450-ciphered").concat());

    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("log.db");
    let cfg = Config::parse(
        &format!(
            r#"
[[connection]]
name = "han1"
tcp = {{ host = "127.0.0.1", port = {k_port} }}
passive = true
[[meter]]
name = "kamstrup"
connection = "han1"
han_preset = "kamstrup-no"
[[connection]]
name = "han2"
tcp = {{ host = "127.0.0.1", port = {lg_port} }}
passive = true
[[meter]]
name = "lg"
connection = "han2"
security = {{ block_key = "F08660A6C19D2048556BF623AB0257E6" }}
[[request]]
name = "power"
meters = ["kamstrup"]
schedule = {{ every = "1s" }}
items = [
  {{ name = "import", obis = "1.1.1.7.0.255" }},
  {{ name = "current L1", obis = "1.1.31.7.0.255" }},
  {{ name = "voltage L3", obis = "1.1.72.7.0.255" }},
  {{ name = "not in the list", obis = "1.0.99.99.0.255" }},
]
"#
        ),
        "passive.toml",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (writer, handle) = Writer::spawn(&db).unwrap();
    let runner = Runner::start(cfg, handle, 1);
    let h = runner.handle();
    for _ in 0..250 {
        let st = h.status();
        let ok = |m: &str| st.meters.get(m).is_some_and(|s| s.ok >= 1);
        if ok("kamstrup") && ok("lg") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A second past the request's schedule: a passive connection is never polled.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let status = h.status();
    let err = h.test_meter("kamstrup").await.unwrap_err().to_string();
    runner.shutdown().await;
    writer.shutdown().unwrap();

    assert!(err.contains("passive"), "{err}");
    let k = &status.meters["kamstrup"];
    assert_eq!(k.ok, 1, "one good notification: {k:?}");
    let why = &k
        .last_error
        .as_ref()
        .expect("the damaged frame is reported")
        .1;
    assert!(
        why.contains("1 of 1 frames not decoded") && why.contains("frame check sequence"),
        "{why}"
    );

    let rows = rows(&db);
    let value = |item: &str| -> Vec<String> {
        rows.iter()
            .filter(|r| r.record.meter == "kamstrup" && r.record.item == item)
            .map(|r| {
                let rec = &r.record;
                format!(
                    "{} {} {}",
                    rec.exact
                        .clone()
                        .or(rec.value.map(|v| v.to_string()))
                        .unwrap_or_default(),
                    rec.unit.clone().unwrap_or_default(),
                    rec.meter_time.clone().unwrap_or_default()
                )
            })
            .collect()
    };
    assert_eq!(value("import"), ["826 W 2022-01-24T18:58:50"]);
    assert_eq!(value("current L1"), ["2.37 A 2022-01-24T18:58:50"]);
    assert_eq!(value("voltage L3"), ["236 V 2022-01-24T18:58:50"]);
    assert!(
        value("not in the list").is_empty(),
        "absent values make no row"
    );
    assert!(
        rows.iter().all(|r| r.record.status == "ok"),
        "no failure rows"
    );

    // The ciphered meter has no request: every value of its notification is a row.
    let lg: Vec<&Row> = rows.iter().filter(|r| r.record.meter == "lg").collect();
    assert!(lg.len() >= 16, "{}", lg.len());
    assert!(lg.iter().all(|r| r.record.request == "passive"));
    assert!(
        lg.iter().any(|r| r.record.obis == "1.0.1.8.0.255"),
        "{:?}",
        lg.iter().map(|r| &r.record.obis).collect::<Vec<_>>()
    );

    assert_eq!(k_sent.load(Ordering::Relaxed), 0, "nothing was sent");
    assert_eq!(lg_sent.load(Ordering::Relaxed), 0, "nothing was sent");
}

#[test]
fn a_passive_connection_is_checked_when_the_config_loads() {
    let with = |extra: &str| {
        Config::parse(
            &format!(
                r#"
[[connection]]
name = "han"
serial = {{ port = "/dev/ttyUSB0", baud = 2400 }}
passive = true
[[meter]]
name = "m1"
connection = "han"
{extra}
"#
            ),
            "han.toml",
        )
        .map(|_| ())
        .map_err(|e| e.to_string())
    };
    assert_eq!(with(""), Ok(()));
    let e = with("han_preset = \"no-such-preset\"").unwrap_err();
    assert!(
        e.contains("han.toml:9") && e.contains("han_preset") && e.contains("kaifa-no"),
        "{e}"
    );
    let e = with("[[meter]]\nname = \"m2\"\nconnection = \"han\"").unwrap_err();
    assert!(e.contains("already has a meter"), "{e}");
    let e = with(
        "[[request]]\nname = \"sync\"\nmeters = [\"m1\"]\nschedule = { once = true }\nsteps = [{ clock_sync = true }]",
    )
    .unwrap_err();
    assert!(
        e.contains("passive connection") && e.contains("cannot be changed"),
        "{e}"
    );
}

#[test]
fn listen_passive_prints_each_notification_with_the_presets_names() {
    // Kaifa in Norway sends list 1 without OBIS codes: the preset names the value.
    let (port, sent) = han_bridge(corpus("kaifa-no-hdlc-list1").concat());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dlms-logger"))
        .args(["listen", "--passive", "--tcp"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["--preset", "kaifa-no", "--json", "--count", "1"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let note: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(note["meter_time"], "2021-03-23T19:26:58");
    let v = &note["values"][0];
    assert_eq!(v["obis"], "1.0.1.7.0.255", "{note}");
    assert_eq!(v["value"], 3059);
    assert_eq!(v["unit"], "W");
    assert_eq!(sent.load(Ordering::Relaxed), 0, "nothing was sent");

    // Text, and the flags that say where the meter talks are required.
    let (port, _) = han_bridge(corpus("kaifa-no-hdlc-list1").concat());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dlms-logger"))
        .args([
            "listen",
            "--passive",
            "--count",
            "1",
            "--preset",
            "kaifa-no",
            "--tcp",
        ])
        .arg(format!("127.0.0.1:{port}"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("1.0.1.7.0.255") && text.contains("3059 W"),
        "{text}"
    );
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_dlms-logger"))
        .args(["listen", "--passive"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("--serial DEV, --tcp HOST:PORT"),
        "{err}"
    );
}

/// The simulator's HAN port on `interface`, pushing every 100 ms, ciphered (authenc) with the
/// keys of [`ciphered_han_queue`].
fn ciphered_han_sim(interface: dlms_logger::engine::Interface) -> dlms_logger::sim::SimConfig {
    use dlms_logger::dlms::security::{Key, Policy, SystemTitle};
    dlms_logger::sim::SimConfig {
        port: 0,
        interface,
        han_every: Some(Duration::from_millis(100)),
        hdlc_max_info: 128,
        ciphering: Some(dlms_logger::dlms::server::ServerCiphering {
            policy: Policy::AuthEnc,
            system_title: SystemTitle(*b"SIMHAN01"),
            block_key: Key([0x11; 16]),
            auth_key: Key([0x22; 16]),
        }),
        ..Default::default()
    }
}

/// A passive connection to the simulator at `port` and its meter `sim` with the simulator's
/// keys, then `rest` (requests).
fn ciphered_han_queue(port: u16, rest: &str) -> Config {
    let text = format!(
        r#"
[[connection]]
name = "han"
tcp = {{ host = "127.0.0.1", port = {port} }}
passive = true
[[meter]]
name = "sim"
connection = "han"
security = {{ block_key = "11111111111111111111111111111111", auth_key = "22222222222222222222222222222222" }}
{rest}"#
    );
    Config::parse(&text, "han.toml").unwrap_or_else(|e| panic!("{e}"))
}

/// Runs `cfg` logging into `db` until meter `sim` has `ok` notifications logged (or 4 s);
/// the runner's status at that moment, after everything is stored.
async fn log_until(cfg: Config, db: &Path, ok: u64) -> dlms_logger::runner::Status {
    let (writer, handle) = Writer::spawn(db).unwrap();
    let runner = Runner::start(cfg, handle, 1);
    let h = runner.handle();
    for _ in 0..200 {
        if h.status().meters.get("sim").is_some_and(|s| s.ok >= ok) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let status = h.status();
    runner.shutdown().await;
    writer.shutdown().unwrap();
    status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulators_han_port_is_logged_ciphered_over_hdlc() {
    let (addrs, _sim) =
        dlms_logger::sim::start(ciphered_han_sim(dlms_logger::engine::Interface::Hdlc))
            .await
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("log.db");
    let cfg = ciphered_han_queue(
        addrs[0].port(),
        r#"[[request]]
name = "energy"
meters = ["sim"]
schedule = { every = "1h" }
items = [{ name = "import", obis = "1.0.1.8.0.255" }, { name = "voltage", obis = "1.0.32.7.0.255" }]
"#,
    );
    let status = log_until(cfg, &db, 3).await;
    let sim = &status.meters["sim"];
    assert!(sim.ok >= 3 && sim.last_error.is_none(), "{sim:?}");
    let rows = rows(&db);
    let voltage: Vec<&Row> = rows.iter().filter(|r| r.record.item == "voltage").collect();
    assert!(voltage.len() >= 3, "{}", voltage.len());
    assert!(voltage
        .iter()
        .all(|r| r.record.unit.as_deref() == Some("V") && r.record.meter_time.is_some()));
}

/// The simulator's HAN port pushing ciphered notifications in general-block-transfer blocks
/// over WRAPPER and HDLC: joined, deciphered and logged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulators_han_push_in_gbt_blocks_is_joined_and_logged() {
    for interface in [
        dlms_logger::engine::Interface::Wrapper,
        dlms_logger::engine::Interface::Hdlc,
    ] {
        let (addrs, _sim) = dlms_logger::sim::start(dlms_logger::sim::SimConfig {
            gbt_window: Some(1),
            max_pdu: 64,
            ..ciphered_han_sim(interface)
        })
        .await
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("log.db");
        let status = log_until(ciphered_han_queue(addrs[0].port(), ""), &db, 2).await;
        let sim = &status.meters["sim"];
        assert!(
            sim.ok >= 2 && sim.last_error.is_none(),
            "{interface:?}: {sim:?}"
        );
        let rows = rows(&db);
        assert!(
            rows.iter()
                .any(|r| r.record.obis == "1.0.32.7.0.255" && r.record.unit.as_deref() == Some("V")),
            "{interface:?}"
        );
    }
}

/// One link that carries two ciphered meters with keys of their own and a third whose keys
/// are unknown: each notification is opened with the keys of the system title it carries and
/// logged under the meter's name and that title; the unknown one is counted and shown, never
/// logged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_by_system_title_on_a_link_with_several_meters() {
    use dlms_logger::dlms::security::{Key, Policy, SystemTitle};
    use dlms_logger::dlms::server::ServerCiphering;
    use dlms_logger::sim::{han::han_frame, SimConfig};
    let meter = |title: &[u8; 8], key: u8, gbt: bool| SimConfig {
        interface: dlms_logger::engine::Interface::Hdlc,
        hdlc_max_info: 128,
        gbt_window: gbt.then_some(1),
        max_pdu: 96,
        ciphering: Some(ServerCiphering {
            policy: Policy::AuthEnc,
            system_title: SystemTitle(*title),
            block_key: Key([key; 16]),
            auth_key: Key([key + 1; 16]),
        }),
        ..SimConfig::default()
    };
    let now = chrono::Local::now().fixed_offset();
    let a = meter(b"KFM\x10\x20\0\0\x01", 0x11, false);
    let b = meter(b"KFM\x10\x20\0\0\x02", 0x33, true);
    let c = meter(b"KFM\x10\x20\0\0\x03", 0x55, false);
    let mut stream = Vec::new();
    for ic in 1..=2 {
        stream.extend(han_frame(&a, 0, now, ic).unwrap());
        stream.extend(han_frame(&b, 1, now, ic).unwrap());
        stream.extend(han_frame(&c, 2, now, ic).unwrap());
    }
    let (port, sent) = han_bridge(stream);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("log.db");
    let cfg = Config::parse(
        &format!(
            r#"
[[connection]]
name = "bus"
tcp = {{ host = "127.0.0.1", port = {port} }}
passive = true
[[meter]]
name = "bus"
connection = "bus"
security = {{ keys = [
  {{ system_title = "4B464D1020000001", block_key = "11111111111111111111111111111111", auth_key = "12121212121212121212121212121212" }},
  {{ system_title = "4B464D1020000002", block_key = "33333333333333333333333333333333", auth_key = "34343434343434343434343434343434" }},
] }}
"#
        ),
        "bus.toml",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (writer, handle) = Writer::spawn(&db).unwrap();
    let runner = Runner::start(cfg, handle, 1);
    let h = runner.handle();
    for _ in 0..250 {
        if h.status().meters.get("bus").is_some_and(|s| s.ok >= 4) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let status = h.status();
    runner.shutdown().await;
    writer.shutdown().unwrap();
    let bus = &status.meters["bus"];
    assert_eq!(bus.ok, 4, "two notifications of each known meter: {bus:?}");
    let why = &bus
        .last_error
        .as_ref()
        .expect("the unknown sender is shown")
        .1;
    assert!(
        why.contains("no key for system title 4B464D1020000003"),
        "{why}"
    );
    let rows = rows(&db);
    let of = |m: &str| {
        rows.iter()
            .filter(|r| r.record.meter == m && r.record.obis == "1.0.1.8.0.255")
            .count()
    };
    assert_eq!(of("bus:4B464D1020000001"), 2);
    assert_eq!(of("bus:4B464D1020000002"), 2);
    assert!(
        rows.iter()
            .all(|r| !r.record.meter.contains("4B464D1020000003")),
        "nothing of the unknown meter is logged"
    );
    assert_eq!(sent.load(Ordering::Relaxed), 0, "nothing was sent");
}

/// The simulator's HAN port pushing compact data (the template_description, then the
/// compact_buffer): a passive connection logs its values by position.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compact_data_push_is_logged_by_position() {
    let (addrs, _sim) = dlms_logger::sim::start(dlms_logger::sim::SimConfig {
        port: 0,
        han_every: Some(Duration::from_millis(100)),
        han_compact: true,
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("log.db");
    let cfg = Config::parse(
        &format!(
            "[[connection]]\nname = \"han\"\ntcp = {{ host = \"127.0.0.1\", port = {} }}\n\
             passive = true\n[[meter]]\nname = \"sim\"\nconnection = \"han\"\n",
            addrs[0].port()
        ),
        "compact.toml",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (writer, handle) = Writer::spawn(&db).unwrap();
    let runner = Runner::start(cfg, handle, 1);
    let h = runner.handle();
    for _ in 0..200 {
        if h.status().meters.get("sim").is_some_and(|s| s.ok >= 2) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let status = h.status();
    runner.shutdown().await;
    writer.shutdown().unwrap();
    let sim = &status.meters["sim"];
    assert!(sim.ok >= 2 && sim.last_error.is_none(), "{sim:?}");
    let rows = rows(&db);
    // Seven values a notification (clock, energies, power, voltage, current, demand), named
    // by position; the energy import (the second) is a number.
    let second: Vec<&Row> = rows
        .iter()
        .filter(|r| r.record.item == "value[1]")
        .collect();
    assert!(
        second.len() >= 2,
        "{:?}",
        rows.iter().map(|r| &r.record.item).collect::<Vec<_>>()
    );
    assert!(second
        .iter()
        .all(|r| r.record.value.is_some() && r.record.obis.is_empty()));
    assert!(rows.iter().all(|r| r.record.item != "value[7]"));
}
