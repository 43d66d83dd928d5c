//! The MQTT sink against a real Mosquitto: readings and failures arrive with their exact
//! values, Home Assistant discovery configs match the documented schema, and a broker
//! restart during polling loses nothing (every logged row is published, in order).
//!
//! Each test runs its own `mosquitto` on a free loopback port with a fresh data folder
//! (found on PATH, in /usr/sbin, or at `$DLMS_TEST_MOSQUITTO`). Without one the tests skip
//! with a message, except under `CI=true`, where they fail.

use dlms_logger::queue::Config;
use dlms_logger::runner::Runner;
use dlms_logger::sim::{self, SimConfig};
use dlms_logger::store::Scan;
use dlms_logger::store::{LogFilter, Row, Store, Writer};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn mosquitto_binary() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("DLMS_TEST_MOSQUITTO") {
        return Some(PathBuf::from(p));
    }
    tool("mosquitto")
}

/// A program on PATH or in the usual system folders.
fn tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin", "/usr/bin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// A mosquitto of the test's own, on a free loopback port, persisting to a temp folder.
struct Broker {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
}

impl Broker {
    /// Starts one; `None` (after saying how to get one) when there is no mosquitto and this is
    /// not CI.
    fn start() -> Option<Broker> {
        Broker::start_with(|_| String::new())
    }

    /// [`Broker::start`] with more configuration, which `extra` may write files for.
    fn start_with(extra: impl FnOnce(&Path) -> String) -> Option<Broker> {
        let Some(bin) = mosquitto_binary() else {
            let how = "no mosquitto found: install it (Debian: apt-get install mosquitto) or \
                       set DLMS_TEST_MOSQUITTO to its path";
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("{how}");
            }
            eprintln!("SKIPPED: {how}");
            return None;
        };
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let dir = tempfile::tempdir().unwrap();
        let mut conf = format!(
            "listener {port} 127.0.0.1\npersistence true\n\
             persistence_location {}/\nlog_dest stderr\nlog_type error\nlog_type warning\n",
            dir.path().display()
        );
        let more = extra(dir.path());
        if !more.contains("allow_anonymous") {
            conf.push_str("allow_anonymous true\n");
        }
        conf.push_str(&more);
        // As root, mosquitto switches to its own user: give it the folder.
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
        if root {
            let uid = Command::new("id")
                .args(["-u", "mosquitto"])
                .output()
                .ok()
                .filter(|o| o.status.success())
                .and_then(|o| {
                    String::from_utf8_lossy(&o.stdout)
                        .trim()
                        .parse::<u32>()
                        .ok()
                });
            match uid {
                Some(uid) => {
                    std::os::unix::fs::chown(dir.path(), Some(uid), None).unwrap();
                    for f in std::fs::read_dir(dir.path()).unwrap() {
                        std::os::unix::fs::chown(f.unwrap().path(), Some(uid), None).unwrap();
                    }
                    conf.push_str("user mosquitto\n");
                }
                None => conf.push_str("user root\n"),
            }
        }
        std::fs::write(dir.path().join("mosquitto.conf"), conf).unwrap();
        let mut b = Broker {
            bin,
            dir,
            port,
            child: None,
        };
        b.run();
        Some(b)
    }

    fn run(&mut self) {
        let child = Command::new(&self.bin)
            .arg("-c")
            .arg(self.dir.path().join("mosquitto.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.bin.display()));
        self.child = Some(child);
        let until = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < until,
                "mosquitto did not listen on {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM (it saves its persistence file) and wait.
    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let _ = c.wait();
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Where a test's broker listens.
struct BrokerPort {
    port: u16,
}

/// A message as a subscriber saw it.
#[derive(Debug, Clone)]
struct Seen {
    topic: String,
    payload: Vec<u8>,
    retain: bool,
}

/// A subscriber (QoS 1, a persistent session when `id` is given) that records everything;
/// it keeps reconnecting while the broker is away.
struct Subscriber {
    seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Subscriber {
    async fn start(port: u16, id: &str, persistent: bool, topics: &[&str]) -> Subscriber {
        let mut o = MqttOptions::new(id, "127.0.0.1", port);
        o.set_clean_session(!persistent);
        o.set_keep_alive(Duration::from_secs(5));
        let (client, mut el) = AsyncClient::new(o, 64);
        for t in topics {
            client.subscribe(*t, QoS::AtLeastOnce).await.unwrap();
        }
        let seen = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = tokio::sync::oneshot::channel();
        let mut tx = Some(tx);
        let s = seen.clone();
        let task = tokio::spawn(async move {
            let _client = client;
            loop {
                match el.poll().await {
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        if let Some(tx) = tx.take() {
                            let _ = tx.send(());
                        }
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => s.lock().unwrap().push(Seen {
                        topic: p.topic.clone(),
                        payload: p.payload.to_vec(),
                        retain: p.retain,
                    }),
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        });
        tokio::time::timeout(Duration::from_secs(5), rx)
            .await
            .expect("the subscription is acknowledged")
            .unwrap();
        Subscriber { seen, task }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for Subscriber {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Publishes one message (QoS 1) and waits for the broker's acknowledgement.
async fn publish_once(port: u16, topic: &str, payload: &[u8]) {
    let (client, mut el) = AsyncClient::new(MqttOptions::new("check-pub", "127.0.0.1", port), 8);
    client
        .publish(topic, QoS::AtLeastOnce, false, payload.to_vec())
        .await
        .unwrap();
    let until = Instant::now() + Duration::from_secs(5);
    loop {
        assert!(Instant::now() < until, "no PUBACK");
        if let Ok(Event::Incoming(Packet::PubAck(_))) = el.poll().await {
            break;
        }
    }
}

async fn sim_port() -> u16 {
    let (addrs, h) = sim::start(SimConfig {
        port: 0,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    std::mem::forget(h);
    addrs[0].port()
}

fn config(sim: u16, broker: u16, every: &str) -> Config {
    let text = format!(
        r#"
[[connection]]
name = "lab"
tcp = {{ host = "127.0.0.1", port = {sim} }}

[[meter]]
name = "sim-1"
connection = "lab"
interface = "wrapper"
client = 16
logical = 1

[[request]]
name = "instant"
meters = ["sim-1"]
schedule = {{ every = "{every}" }}
items = [
  {{ name = "energy import", obis = "1.0.1.8.0.255" }},
  {{ name = "voltage L1", obis = "1.0.32.7.0.255" }},
  {{ name = "power L1", obis = "1.0.21.7.0.255" }},
  {{ name = "device name", obis = "0.0.42.0.0.255" }},
  {{ name = "missing", obis = "0.0.99.99.99.255", class = 1 }},
]

[[sink]]
name = "broker"
kind = "mqtt"
host = "127.0.0.1"
port = {broker}
topic = "dlms/{{meter}}/{{item}}"
"#
    );
    Config::parse(&text, "mqtt-test.toml").unwrap_or_else(|e| panic!("{e}"))
}

fn rows(db: &Path) -> Vec<Row> {
    let store = Store::open(db).unwrap();
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let page = store.log_page(&LogFilter::default(), after, 500).unwrap();
        let Some(last) = page.last() else { break };
        after = Some(last.cursor());
        out.extend(page);
    }
    out.reverse();
    out
}

async fn wait_for(what: &str, secs: u64, mut done: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(secs);
    while !done() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The options of an MQTT sensor in Home Assistant's documentation
/// (https://www.home-assistant.io/integrations/sensor.mqtt/), with the device and origin maps.
const SENSOR_KEYS: &[&str] = &[
    "availability",
    "availability_mode",
    "availability_template",
    "availability_topic",
    "default_entity_id",
    "device",
    "device_class",
    "enabled_by_default",
    "encoding",
    "entity_category",
    "entity_picture",
    "expire_after",
    "force_update",
    "icon",
    "json_attributes_template",
    "json_attributes_topic",
    "last_reset_value_template",
    "name",
    "object_id",
    "options",
    "origin",
    "payload_available",
    "payload_not_available",
    "platform",
    "qos",
    "state_class",
    "state_topic",
    "suggested_display_precision",
    "unique_id",
    "unit_of_measurement",
    "value_template",
];
const DEVICE_KEYS: &[&str] = &[
    "configuration_url",
    "connections",
    "hw_version",
    "identifiers",
    "manufacturer",
    "model",
    "model_id",
    "name",
    "serial_number",
    "suggested_area",
    "sw_version",
    "via_device",
];
const ORIGIN_KEYS: &[&str] = &["name", "sw_version", "support_url"];

/// Units Home Assistant accepts for the device classes we use (its sensor documentation).
fn units_of(device_class: &str) -> &'static [&'static str] {
    match device_class {
        "energy" => &[
            "J", "kJ", "MJ", "GJ", "mWh", "Wh", "kWh", "MWh", "GWh", "TWh", "cal", "kcal", "Mcal",
            "Gcal",
        ],
        "power" => &["mW", "W", "kW", "MW", "GW", "TW"],
        "apparent_power" => &["mVA", "VA", "kVA"],
        "reactive_power" => &["mvar", "var", "kvar"],
        "voltage" => &["V", "mV", "µV", "kV", "MV"],
        "current" => &["A", "mA"],
        "frequency" => &["Hz", "kHz", "MHz", "GHz"],
        "temperature" => &["°C", "°F", "K"],
        other => panic!("device class {other} is not one we expect"),
    }
}

/// Checks a discovery message against the documented schema; returns the config.
fn check_discovery(topic: &str, payload: &[u8]) -> Value {
    let c: Value = serde_json::from_slice(payload).expect("discovery payload is JSON");
    let obj = c.as_object().expect("a JSON object");
    for k in obj.keys() {
        assert!(
            SENSOR_KEYS.contains(&k.as_str()),
            "{k} is not a sensor option"
        );
    }
    for k in ["name", "state_topic", "unique_id", "device"] {
        assert!(obj.contains_key(k), "{topic}: {k} missing");
    }
    let uid = c["unique_id"].as_str().unwrap();
    let id_ok = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    assert!(id_ok(uid), "unique_id {uid:?}");
    // <discovery_prefix>/<component>/<object_id>/config with object_id = unique_id.
    assert_eq!(topic, format!("homeassistant/sensor/{uid}/config"));
    let dev = c["device"].as_object().unwrap();
    for k in dev.keys() {
        assert!(DEVICE_KEYS.contains(&k.as_str()), "device.{k}");
    }
    let ids = dev["identifiers"]
        .as_array()
        .expect("identifiers is a list");
    assert!(!ids.is_empty() && ids.iter().all(Value::is_string));
    if let Some(o) = c.get("origin").and_then(Value::as_object) {
        assert!(o.contains_key("name"));
        assert!(o.keys().all(|k| ORIGIN_KEYS.contains(&k.as_str())));
    }
    assert!(c["qos"].as_u64().is_none_or(|q| q <= 2));
    if let Some(sc) = c.get("state_class") {
        assert!(["measurement", "total", "total_increasing"].contains(&sc.as_str().unwrap()));
    }
    if let Some(dc) = c.get("device_class").and_then(Value::as_str) {
        let unit = c["unit_of_measurement"]
            .as_str()
            .expect("a unit with a device class");
        assert!(units_of(dc).contains(&unit), "{dc} does not take {unit}");
        if dc == "energy" {
            // Energy sensors may not be measurements.
            assert_ne!(c["state_class"], "measurement");
        }
    }
    for a in c["availability"].as_array().into_iter().flatten() {
        assert!(a["topic"].is_string());
    }
    c
}

/// The broker `.ci/run` starts (`DLMS_TEST_MQTT=127.0.0.1:PORT`), when given: it must answer.
fn ci_broker() -> Option<u16> {
    let addr = std::env::var("DLMS_TEST_MQTT").ok()?;
    let port = addr
        .rsplit_once(':')
        .and_then(|(_, p)| p.parse().ok())
        .unwrap_or_else(|| panic!("DLMS_TEST_MQTT={addr} is not HOST:PORT"));
    std::net::TcpStream::connect(&addr)
        .unwrap_or_else(|e| panic!("the broker at DLMS_TEST_MQTT={addr} does not answer: {e}"));
    Some(port)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readings_and_failures_reach_the_broker_with_home_assistant_discovery() {
    // The CI's broker when there is one, else one of our own.
    let own;
    let port = match ci_broker() {
        Some(p) => p,
        None => {
            own = Broker::start();
            match &own {
                Some(b) => b.port,
                None => return,
            }
        }
    };
    let broker = BrokerPort { port };
    let sub = Subscriber::start(broker.port, "check-live", false, &["dlms/#"]).await;
    let sim = sim_port().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("log.db");
    let (writer, handle) = Writer::spawn(&db).unwrap();
    let runner = Runner::start(config(sim, broker.port, "1s"), handle, 1);
    let h = runner.handle();
    wait_for("two polls stored", 20, || h.status().rows_stored >= 10).await;
    wait_for("the sink to deliver them", 10, || {
        h.sinks()[0].queued == 0 && h.sinks()[0].connected
    })
    .await;
    // Home Assistant's birth message: the sink sends every discovery config again.
    let birth = Subscriber::start(
        broker.port,
        "check-birth",
        false,
        &["homeassistant/sensor/#"],
    )
    .await;
    wait_for("the retained configs", 5, || birth.seen().len() >= 4).await;
    publish_once(broker.port, "homeassistant/status", b"online").await;
    wait_for("the configs sent again", 10, || {
        birth.seen().iter().filter(|m| !m.retain).count() >= 4
    })
    .await;
    let state = h.sinks()[0].clone();
    assert_eq!(state.dropped, 0);
    assert_eq!(state.target, format!("mqtt://127.0.0.1:{}", broker.port));
    runner.shutdown().await;
    writer.shutdown().unwrap();

    // The sink wrote its state where `dlms-logger status` reads it.
    let states =
        dlms_logger::store::outbox::sink_states(&dlms_logger::store::outbox::outbox_path(&db))
            .unwrap();
    assert_eq!(states.len(), 1);
    assert_eq!(states[0].0, "broker");

    let logged = rows(&db);
    wait_for("every row at the subscriber", 10, || {
        sub.seen().len() >= logged.len()
    })
    .await;
    let seen = sub.seen();
    let mut by_key: HashMap<(String, i64), Value> = HashMap::new();
    for m in &seen {
        let p: Value = serde_json::from_slice(&m.payload).unwrap();
        let item = p["item"].as_str().unwrap().to_string();
        assert_eq!(m.topic, format!("dlms/sim-1/{item}"));
        by_key.insert((item, p["poll"].as_i64().unwrap()), p);
    }
    let mut checked = HashSet::new();
    for row in &logged {
        let r = &row.record;
        let p = by_key
            .get(&(r.item.clone(), r.poll))
            .unwrap_or_else(|| panic!("no message for {} poll {}", r.item, r.poll));
        assert_eq!(p["unit"], serde_json::json!(r.unit));
        assert_eq!(p["quality"]["ok"], !r.is_failure());
        if r.is_failure() {
            assert_eq!(p["value"], Value::Null);
            assert_eq!(p["quality"]["error"], r.status.as_str());
        } else if let Some(v) = r.value_text() {
            assert_eq!(p["value_text"], v.as_str(), "{}", r.item);
            assert_eq!(p["value"], r.value_json());
        } else {
            assert_eq!(p["value"], r.text.clone().unwrap().as_str());
        }
        let t = chrono::DateTime::parse_from_rfc3339(p["time"].as_str().unwrap()).unwrap();
        assert_eq!(t.timestamp_millis(), r.ts_ms);
        assert!(p["logged_at"].is_string());
        checked.insert(r.item.clone());
    }
    assert!(checked.contains("missing") && checked.contains("energy import"));

    // Discovery configs are retained: a subscriber that comes later gets them.
    let late = Subscriber::start(broker.port, "check-ha", false, &["homeassistant/#"]).await;
    wait_for("four retained discovery configs", 5, || {
        late.seen().len() >= 4
    })
    .await;
    let configs: BTreeMap<String, Value> = late
        .seen()
        .iter()
        .map(|m| {
            assert!(m.retain, "{} is retained", m.topic);
            let c = check_discovery(&m.topic, &m.payload);
            (c["name"].as_str().unwrap().to_string(), c)
        })
        .collect();
    // The failing item has no config: its unit and kind are unknown.
    let names: Vec<&str> = configs.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        ["device name", "energy import", "power L1", "voltage L1"]
    );
    let e = &configs["energy import"];
    assert_eq!(
        (&e["device_class"], &e["state_class"]),
        (&"energy".into(), &"total_increasing".into())
    );
    assert_eq!(e["state_topic"], "dlms/sim-1/energy import");
    assert_eq!(e["value_template"], "{{ value_json.value }}");
    assert_eq!(e["device"]["name"], "sim-1");
    assert_eq!(configs["voltage L1"]["device_class"], "voltage");
    assert_eq!(configs["voltage L1"]["state_class"], "measurement");
    assert_eq!(configs["power L1"]["device_class"], "power");
    assert!(configs["device name"].get("unit_of_measurement").is_none());
    // One device for the meter.
    let devices: HashSet<String> = configs
        .values()
        .map(|c| c["device"]["identifiers"][0].to_string())
        .collect();
    assert_eq!(devices.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_restart_during_polling_loses_nothing() {
    let Some(mut broker) = Broker::start() else {
        return;
    };
    // A persistent session: the broker keeps the subscription and queues for it across its
    // own restart, so what the subscriber sees is what the broker took.
    let sub = Subscriber::start(broker.port, "check-restart", true, &["dlms/#"]).await;
    let sim = sim_port().await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("log.db");
    let (writer, handle) = Writer::spawn(&db).unwrap();
    let runner = Runner::start(config(sim, broker.port, "250ms"), handle, 1);
    let h = runner.handle();
    wait_for("polls before the restart", 20, || {
        h.status().rows_stored >= 15
    })
    .await;
    broker.stop();
    let stored_at_stop = h.status().rows_stored;
    wait_for("the sink to notice", 10, || !h.sinks()[0].connected).await;
    wait_for("polls while the broker is away", 20, || {
        h.status().rows_stored >= stored_at_stop + 15
    })
    .await;
    let waiting = h.sinks()[0].queued;
    assert!(
        waiting > 0,
        "messages wait in the outbox while the broker is away"
    );
    broker.run();
    wait_for("polls after the restart", 20, || {
        h.status().rows_stored >= stored_at_stop + 30
    })
    .await;
    wait_for("the outbox to empty", 15, || {
        let s = &h.sinks()[0];
        s.connected && s.queued == 0
    })
    .await;
    eprintln!("sink state before the stop: {:?}", h.sinks()[0]);
    runner.shutdown().await;
    writer.shutdown().unwrap();
    let logged = rows(&db);
    let keys = |item: &str, poll: i64, ts: &str| (item.to_string(), poll, ts.to_string());
    let want: HashSet<_> = logged
        .iter()
        .map(|r| {
            let t = chrono::DateTime::from_timestamp_millis(r.record.ts_ms)
                .unwrap()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            keys(&r.record.item, r.record.poll, &t)
        })
        .collect();
    let got = || -> Vec<(String, i64, String)> {
        sub.seen()
            .iter()
            .map(|m| {
                let p: Value = serde_json::from_slice(&m.payload).unwrap();
                keys(
                    p["item"].as_str().unwrap(),
                    p["poll"].as_i64().unwrap(),
                    p["time"].as_str().unwrap(),
                )
            })
            .collect()
    };
    let arrived = Instant::now() + Duration::from_secs(15);
    loop {
        let g: HashSet<_> = got().into_iter().collect();
        let missing: Vec<_> = want.difference(&g).collect();
        if missing.is_empty() {
            break;
        }
        if Instant::now() > arrived {
            let mut m = missing.clone();
            m.sort();
            panic!(
                "{} of {} logged rows never reached the subscriber, e.g. {:?}",
                m.len(),
                want.len(),
                &m[..m.len().min(5)]
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let all = got();
    let unique: HashSet<_> = all.iter().cloned().collect();
    eprintln!(
        "logged {}, published {} ({} unique, {} sent again after the restart), {} waited in \
         the outbox during the outage",
        want.len(),
        all.len(),
        unique.len(),
        all.len() - unique.len(),
        waiting
    );
    assert_eq!(unique, want, "published and logged differ");
    // In order: per item, the polls first seen never go back.
    let mut last: HashMap<String, i64> = HashMap::new();
    let mut first = HashSet::new();
    for k in all {
        if first.insert(k.clone()) {
            let prev = last.insert(k.0.clone(), k.1).unwrap_or(0);
            assert!(k.1 >= prev, "{} poll {} after poll {prev}", k.0, k.1);
        }
    }
}

mod common;

fn http_get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_logger_publishes_serves_metrics_and_reports_its_sinks() {
    let Some(broker) = Broker::start() else {
        return;
    };
    let sim = sim_port().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("queue.toml");
    // A second meter behind a closed port: its runs fail, counted by kind.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut queue = config(sim, broker.port, "500ms");
    queue.requests[0].meters.push("gone".into());
    let text = format!(
        "{}\n[[connection]]\nname = \"dead\"\ntcp = {{ host = \"127.0.0.1\", port = {closed} }}\n\
         \n[[meter]]\nname = \"gone\"\nconnection = \"dead\"\nretries = 0\n",
        queue.to_toml()
    );
    std::fs::write(&cfg, text).unwrap();
    let db = dir.path().join("log.db");
    let metrics = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().to_string()
    };
    let mut logger = common::bin()
        .args(["run", "-c"])
        .arg(&cfg)
        .arg("--db")
        .arg(&db)
        .args(["--metrics", &metrics])
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let status = |json: bool| {
        let mut c = common::bin();
        c.arg("status").arg("--db").arg(&db);
        if json {
            c.arg("--json");
        }
        c.output().unwrap()
    };
    let until = Instant::now() + Duration::from_secs(20);
    let report = loop {
        let out = status(true);
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
        if v["running"] == true && v["sinks"][0]["published"].as_u64().unwrap_or(0) >= 10 {
            assert!(out.status.success(), "healthy: exit 0");
            break v;
        }
        assert!(Instant::now() < until, "no published messages: {v}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let sink = &report["sinks"][0];
    assert_eq!(sink["name"], "broker");
    assert_eq!(sink["connected"], true);
    assert_eq!(sink["dropped"], 0);
    assert!(sink["age_ms"].as_i64().unwrap() < 10_000);
    let text = String::from_utf8(status(false).stdout).unwrap();
    assert!(text.contains("running"), "{text}");
    assert!(
        text.contains(&format!(
            "sink broker (mqtt mqtt://127.0.0.1:{}): connected",
            broker.port
        )),
        "{text}"
    );

    let m = http_get(&metrics, "/metrics");
    assert!(m.starts_with("HTTP/1.1 200 OK"), "{m}");
    for want in [
        "dlms_polls_total{request=\"instant\",connection=\"lab\",outcome=\"failed\"}",
        "dlms_failures_total{kind=\"item\"}",
        "dlms_failures_total{kind=\"io\"}",
        "dlms_polls_total{request=\"instant\",connection=\"dead\",outcome=\"failed\"}",
        "dlms_poll_duration_seconds_bucket{le=",
        "dlms_round_trip_seconds_count{connection=\"lab\"}",
        "dlms_queue_lag_seconds_count{connection=\"lab\"}",
        "dlms_rows_stored_total",
        "dlms_sink_backlog{sink=\"broker\"}",
        "dlms_sink_connected{sink=\"broker\"} 1",
    ] {
        assert!(m.contains(want), "{want} missing:\n{m}");
    }
    assert!(http_get(&metrics, "/").starts_with("HTTP/1.1 404"));

    let _ = Command::new("kill")
        .args(["-TERM", &logger.id().to_string()])
        .status();
    assert!(logger.wait().unwrap().success());
    let after: Value = serde_json::from_slice(&status(true).stdout).unwrap();
    assert_eq!(after["running"], false);
    assert_eq!(after["sinks"][0]["connected"], false);
}

fn run_ok(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA and a certificate for 127.0.0.1 signed by it (EC P-256, one day), made with openssl.
fn certificates(dir: &Path) {
    let ossl = |args: &[&str]| run_ok(Command::new("openssl").args(args).current_dir(dir));
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    ossl(
        &[
            &["req", "-x509"][..],
            &ec,
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "1",
                "-subj",
                "/CN=dlms-logger test CA",
            ],
        ]
        .concat(),
    );
    ossl(
        &[
            &["req"][..],
            &ec,
            &[
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                "/CN=127.0.0.1",
            ],
        ]
        .concat(),
    );
    std::fs::write(
        dir.join("ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    ossl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "1",
        "-extfile",
        "ext",
    ]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_and_a_password_from_the_environment_and_a_wrong_one_never_shown() {
    if tool("openssl").is_none() || tool("mosquitto_passwd").is_none() {
        let how =
            "openssl and mosquitto_passwd are needed (Debian: apt-get install openssl mosquitto)";
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{how}");
        }
        eprintln!("SKIPPED: {how}");
        return;
    }
    let tls_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut ca = PathBuf::new();
    let Some(broker) = Broker::start_with(|dir| {
        certificates(dir);
        run_ok(
            Command::new(tool("mosquitto_passwd").unwrap())
                .args(["-b", "-c"])
                .arg(dir.join("passwd"))
                .args(["logger", "pa55 word"]),
        );
        ca = dir.join("ca.pem");
        format!(
            "allow_anonymous false\npassword_file {d}/passwd\n\
             listener {tls_port} 127.0.0.1\ncafile {d}/ca.pem\ncertfile {d}/server.pem\n\
             keyfile {d}/server.key\n",
            d = dir.display()
        )
    }) else {
        return;
    };
    while std::net::TcpStream::connect(("127.0.0.1", tls_port)).is_err() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The subscriber uses the plain listener, with the same account.
    let mut o = MqttOptions::new("check-tls", "127.0.0.1", broker.port);
    o.set_credentials("logger", "pa55 word");
    let (client, mut el) = AsyncClient::new(o, 16);
    client.subscribe("dlms/#", QoS::AtLeastOnce).await.unwrap();
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let s2 = seen.clone();
    let task = tokio::spawn(async move {
        let _client = client;
        loop {
            match el.poll().await {
                Ok(Event::Incoming(Packet::Publish(p))) => s2.lock().unwrap().push(p.topic.clone()),
                Ok(_) => {}
                Err(e) => panic!("the subscriber's connection failed: {e}"),
            }
        }
    });

    std::env::set_var("DLMS_TEST_MQTT_PASSWORD", "pa55 word");
    let sim = sim_port().await;
    let mut cfg = config(sim, tls_port, "300ms");
    let text = format!(
        "{}\n[[sink]]\nname = \"wrong\"\nkind = \"mqtt\"\nhost = \"127.0.0.1\"\nport = {tls_port}\n\
         tls = true\nca_file = \"{ca}\"\nusername = \"logger\"\npassword = \"hunter2-wrong\"\n",
        cfg.to_toml().replace(
            &format!("port = {tls_port}\n"),
            &format!(
                "port = {tls_port}\ntls = true\nca_file = \"{ca}\"\nusername = \"logger\"\n\
                 password = {{ env = \"DLMS_TEST_MQTT_PASSWORD\" }}\n",
                ca = ca.display()
            ),
        ),
        ca = ca.display()
    );
    cfg = Config::parse(&text, "tls.toml").unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert!(!format!("{cfg:?}").contains("pa55") && !format!("{cfg:?}").contains("hunter2"));
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("log.db");
    let (writer, handle) = Writer::spawn(&db).unwrap();
    let runner = Runner::start(cfg, handle, 1);
    let h = runner.handle();
    wait_for("messages over TLS", 20, || seen.lock().unwrap().len() >= 10).await;
    wait_for("the wrong password to be refused", 10, || {
        h.sinks()[1].last_error.is_some()
    })
    .await;
    let states = h.sinks();
    assert!(states[0].connected, "{:?}", states[0]);
    assert_eq!(states[0].target, format!("mqtts://127.0.0.1:{tls_port}"));
    assert!(!states[1].connected);
    let e = states[1].last_error.clone().unwrap();
    assert!(
        e.ends_with(
            "the broker refused the connection: not authorized (check username and password)"
        ),
        "{e}"
    );
    assert!(states[1].queued > 0, "the refused sink keeps its messages");
    runner.shutdown().await;
    writer.shutdown().unwrap();
    task.abort();
    // Nothing the logger keeps says a password.
    for f in std::fs::read_dir(dir.path()).unwrap() {
        let bytes = std::fs::read(f.unwrap().path()).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains("hunter2") && !text.contains("pa55"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_outbox_outlives_the_logger_and_drops_the_oldest_beyond_its_bound() {
    let Some(mut broker) = Broker::start() else {
        return;
    };
    let sub = Subscriber::start(broker.port, "check-outbox", true, &["dlms/#"]).await;
    broker.stop();
    let sim = sim_port().await;
    let port = broker.port;
    let small = |cfg: Config| {
        let text = format!(
            "{}\n[[sink]]\nname = \"small\"\nkind = \"mqtt\"\nhost = \"127.0.0.1\"\nport = {}\n\
             topic = \"small/{{meter}}/{{item}}\"\ndiscovery = false\noutbox_limit = 3\n",
            cfg.to_toml(),
            port
        );
        Config::parse(&text, "outbox.toml").unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("log.db");
    // The broker is away: everything waits in the outbox, the small one drops the oldest.
    let (writer, handle) = Writer::spawn(&db).unwrap();
    let runner = Runner::start(small(config(sim, broker.port, "200ms")), handle, 1);
    let h = runner.handle();
    wait_for("polls while the broker is away", 20, || {
        h.status().rows_stored >= 15
    })
    .await;
    runner.shutdown().await;
    writer.shutdown().unwrap();
    let logged = rows(&db).len() as u64;
    let states =
        dlms_logger::store::outbox::sink_states(&dlms_logger::store::outbox::outbox_path(&db))
            .unwrap();
    let state = |name: &str| -> dlms_logger::sink::SinkState {
        let (_, json, _) = states.iter().find(|(n, _, _)| n == name).unwrap();
        serde_json::from_str(json).unwrap()
    };
    let (big, small_state) = (state("broker"), state("small"));
    assert!(!big.connected);
    // Every stored row, plus one discovery config per item that read.
    assert_eq!(big.queued, logged + 4, "{big:?}");
    assert_eq!(big.dropped, 0);
    assert_eq!(small_state.queued, 3);
    assert_eq!(small_state.dropped, logged - 3, "{small_state:?}");
    assert!(small_state
        .summary()
        .ends_with(&format!("3 queued, {} DROPPED", logged - 3)));

    // The broker is back; a logger started again (no polls) delivers what waited.
    broker.run();
    let mut quiet = config(sim, broker.port, "200ms");
    quiet.requests[0].enabled = false;
    let (writer, handle) = Writer::spawn(&db).unwrap();
    let runner = Runner::start(small(quiet), handle, 1_000);
    let h = runner.handle();
    wait_for("the outboxes to empty", 20, || {
        let s = h.sinks();
        s.iter().all(|s| s.connected && s.queued == 0)
    })
    .await;
    assert_eq!(h.sinks()[0].published, logged + 4);
    assert_eq!(h.sinks()[1].published, 3);
    runner.shutdown().await;
    writer.shutdown().unwrap();
    // The subscriber (of the big sink's topics) gets every row, in order.
    wait_for("every row at the subscriber", 10, || {
        sub.seen().len() as u64 >= logged
    })
    .await;
    let polls: Vec<i64> = sub
        .seen()
        .iter()
        .map(|m| {
            serde_json::from_slice::<Value>(&m.payload).unwrap()["poll"]
                .as_i64()
                .unwrap()
        })
        .collect();
    let first: Vec<i64> = polls[..logged as usize].to_vec();
    let mut sorted = first.clone();
    sorted.sort();
    assert_eq!(first, sorted, "replayed in order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_an_earlier_run_spilled_are_published_once_stored() {
    let Some(broker) = Broker::start() else {
        return;
    };
    let sub = Subscriber::start(broker.port, "check-spill", false, &["dlms/#"]).await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("log.db");
    let spilled: Vec<dlms_logger::store::Record> = (0..3)
        .map(|i| dlms_logger::store::Record {
            ts_ms: 1_780_000_000_000 + i,
            request: "instant".into(),
            meter: "sim-1".into(),
            item: format!("spilled {i}"),
            obis: "1.0.1.8.0.255".into(),
            class: 3,
            attribute: 2,
            value: Some(i as f64),
            text: None,
            unit: Some("Wh".into()),
            status: "ok".into(),
            poll: 1,
            profile: false,
            exact: None,
            meter_time: None,
        })
        .collect();
    dlms_logger::runner::parked::spill_rows(
        &dlms_logger::runner::parked::spill_path(&db),
        &spilled,
    )
    .unwrap();
    let mut quiet = config(sim_port().await, broker.port, "1s");
    quiet.requests[0].enabled = false;
    let (writer, handle) = Writer::spawn(&db).unwrap();
    let runner = Runner::start(quiet, handle, 1);
    wait_for("the spilled rows at the subscriber", 10, || {
        sub.seen().len() >= 3
    })
    .await;
    runner.shutdown().await;
    writer.shutdown().unwrap();
    let items: HashSet<String> = sub.seen().iter().map(|m| m.topic.clone()).collect();
    assert_eq!(
        items,
        (0..3).map(|i| format!("dlms/sim-1/spilled {i}")).collect()
    );
    assert_eq!(rows(&db).len(), 3);
}
