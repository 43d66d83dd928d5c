//! MQTT sink throughput: rows handed to the sink (the store path's cost), and rows delivered
//! to a broker through the outbox with QoS 1, per second. Prints figures; asserts nothing.
//!
//! ```sh
//! mosquitto -p 18830 &            # or any broker
//! cargo run --release --example mqtt_throughput -- 127.0.0.1:18830 200000
//! cargo run --release --example mqtt_throughput -- 127.0.0.1:9 200000   # no broker: the outbox alone
//! ```

use dlms_logger::queue::{MqttSink, Sink, SinkKind};
use dlms_logger::sink::Sinks;
use dlms_logger::store::{Record, STATUS_OK};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let broker = args.get(1).map_or("127.0.0.1:1883", String::as_str);
    let rows: usize = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(100_000);
    let (host, port) = broker.rsplit_once(':').expect("HOST:PORT");
    let mut m = MqttSink::new(host);
    m.port = port.parse().expect("a port");
    let sink = Sink {
        name: "bench".into(),
        enabled: true,
        kind: SinkKind::Mqtt(m),
    };
    let dir = tempfile::tempdir().unwrap();
    let sinks = Sinks::start(&[sink], &dir.path().join("bench.outbox"));
    // Runs of 10 rows (a meter's request), 1,000 meters, 10 items each.
    let batches: Vec<Arc<Vec<Record>>> = (0..rows / 10)
        .map(|b| {
            Arc::new(
                (0..10)
                    .map(|i| Record {
                        ts_ms: 1_780_000_000_000 + b as i64 * 1000,
                        request: "instant".into(),
                        meter: format!("m{}", b % 1000),
                        item: format!("item {i}"),
                        obis: format!("1.0.{}.8.0.255", i + 1),
                        class: 3,
                        attribute: 2,
                        value: Some(9430.701 + b as f64),
                        text: None,
                        unit: Some("kWh".into()),
                        status: STATUS_OK.into(),
                        poll: b as i64,
                        profile: false,
                        exact: None,
                        meter_time: None,
                    })
                    .collect(),
            )
        })
        .collect();
    let n = batches.len() * 10;
    let start = Instant::now();
    let mut in_send = Duration::ZERO;
    let mut sent = 0u64;
    // Chunks of 2,000 runs, each taken into the outbox before the next: the channel holds
    // 4,096 runs, and a loop this tight outruns any store.
    for chunk in batches.chunks(2000) {
        for b in chunk {
            let t = Instant::now();
            sinks.send(b.clone());
            in_send += t.elapsed();
            sent += 10;
        }
        loop {
            let s = &sinks.states()[0];
            assert_eq!(s.dropped, 0, "{s:?}");
            if s.queued + s.published >= sent {
                break;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
    }
    let handed = start.elapsed();
    if !sinks.states()[0].connected {
        // No broker (a closed port): the outbox alone.
        println!(
            "{n} rows into the outbox with no broker: send() {:.2} µs per 10-row run; {:.2} s \
             ({:.0} rows/s)",
            in_send.as_secs_f64() * 1e6 / (n as f64 / 10.0),
            handed.as_secs_f64(),
            n as f64 / handed.as_secs_f64()
        );
        return;
    }
    let discovery = 1000 * 10;
    loop {
        let s = &sinks.states()[0];
        if s.published >= (n + discovery) as u64 && s.queued == 0 {
            break;
        }
        assert_eq!(s.dropped, 0, "{s:?}");
        assert!(start.elapsed() < Duration::from_secs(600), "stuck: {s:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
    let done = start.elapsed();
    println!(
        "{n} rows (+{discovery} discovery configs) to {broker}: send() {:.2} µs per 10-row run; \
         into the outbox in {:.2} s ({:.0} rows/s); delivered with QoS 1 in {:.2} s: \
         {:.0} messages/s",
        in_send.as_secs_f64() * 1e6 / (n as f64 / 10.0),
        handed.as_secs_f64(),
        n as f64 / handed.as_secs_f64(),
        done.as_secs_f64(),
        (n + discovery) as f64 / done.as_secs_f64()
    );
    sinks.shutdown();
}
