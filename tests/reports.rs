//! Event notifications (LN) and information reports (SN) a meter sends unasked on a client
//! association: set aside, never taken for the pending answer, then decoded into rows of
//! request `event` (`engine::read::report_rows`). The meters here are scripted over an
//! in-memory pipe; their AAREs, SN object list and answers are the Gurux meter's
//! (`../shared/peers/traces/wrapper_ln_none.txt`, `wrapper_sn_none.txt`).
use dlms_logger::dlms::client::{AttributeRef, ClientSettings, Referencing};
use dlms_logger::dlms::data::Data;
use dlms_logger::engine::read::report_rows;
use dlms_logger::engine::{MeterAddress, Session};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// A WRAPPER PDU from the meter (wPort 1) to client 16.
fn from_meter(apdu: &str) -> Vec<u8> {
    let apdu = hex(apdu);
    let mut out = vec![0, 1, 0, 1, 0, 0x10];
    out.extend_from_slice(&(apdu.len() as u16).to_be_bytes());
    out.extend(apdu);
    out
}

const LN_AARE: &str =
    "6129A109060760857405080101A203020100A305A103020100BE10040E0800065F1F0400001E1D04000007";
const SN_AARE: &str =
    "6129A109060760857405080102A203020100A305A103020100BE10040E0800065F1F04001C03200400FA00";
const SN_OBJECTS: &str = "0C0100010C02041000A0120008110009060000010000FF02041000E01200011100090600002A0000FF02041000F0120001110009060000600100FF0204100100120003110009060100010800FF0204100118120003110009060100020800FF0204100130120003110009060100200700FF02041001481200031100090601001F0700FF0204100160120003110009060100150700FF0204100178120004110009060100010600FF02041001A0120005110009060100010400FF02041001E8120007110009060100630100FF020410FA0012000C110009060000280000FF";
/// An event: disconnect control 0.0.96.3.10.255 (class 70) output_state false, at
/// 2026-12-06 10:30:00 UTC+02:00 (deviation −120), clock status 0.
const EVENT: &str = "C2 01 0C 07EA0C0607 0A1E0000 FF88 00 0046 00006003 0AFF 02 03 00";

async fn open(
    client: tokio::io::DuplexStream,
    referencing: Referencing,
) -> Session<tokio::io::DuplexStream> {
    Session::open(
        client,
        &MeterAddress::default(),
        ClientSettings::new(referencing),
        Duration::from_secs(3),
        None,
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn event_notifications_between_answers_become_rows_not_answers() {
    let (client, mut meter) = tokio::io::duplex(8192);
    tokio::spawn(async move {
        let mut buf = [0u8; 512];
        let _ = meter.read(&mut buf).await; // AARQ
        meter.write_all(&from_meter(LN_AARE)).await.unwrap();
        let _ = meter.read(&mut buf).await; // GET 1.0.1.8.0.255:2
                                            // The event and the answer (1000000) in one write.
        let mut both = from_meter(EVENT);
        both.extend(from_meter("C401C10006000F4240"));
        meter.write_all(&both).await.unwrap();
        let _ = meter.read(&mut buf).await; // GET again
                                            // An event alone first (no time, a value), then the answer in a later write.
        meter
            .write_all(&from_meter("C2 00 0001 0000600B00FF 02 12 0007"))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        meter
            .write_all(&from_meter("C401C10006000F4241"))
            .await
            .unwrap();
        let _ = meter.read(&mut buf).await;
    });
    let mut s = open(client, Referencing::Ln).await;
    let energy = [AttributeRef::new(3, "1.0.1.8.0.255".parse().unwrap(), 2)];
    let r = s.read(&energy).await.unwrap();
    assert_eq!(r[0], Ok(Data::DoubleLongUnsigned(1_000_000)));
    let r = s.read(&energy).await.unwrap();
    assert_eq!(r[0], Ok(Data::DoubleLongUnsigned(1_000_001)));
    let reports = s.take_pushes();
    assert_eq!(reports.len(), 2);
    let rows: Vec<_> = reports
        .iter()
        .flat_map(|a| report_rows(&s, "m1", a, 7).expect("an event"))
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].request, "event");
    assert_eq!(rows[0].item, "0.0.96.3.10.255:2");
    assert_eq!(
        (rows[0].obis.as_str(), rows[0].class),
        ("0.0.96.3.10.255", 70)
    );
    assert_eq!(rows[0].text.as_deref(), Some("false"));
    // The meter's own time: 10:30 at UTC+02:00 is 08:30 UTC.
    assert_eq!(
        rows[0].ts_ms,
        chrono::DateTime::parse_from_rfc3339("2026-12-06T08:30:00Z")
            .unwrap()
            .timestamp_millis()
    );
    assert_eq!(rows[1].item, "0.0.96.11.0.255:2");
    assert_eq!(rows[1].value, Some(7.0));
    assert!(s.take_pushes().is_empty(), "taken once");
}

#[tokio::test]
async fn an_information_report_over_sn_is_named_by_the_object_list() {
    let (client, mut meter) = tokio::io::duplex(8192);
    tokio::spawn(async move {
        let mut buf = [0u8; 512];
        let _ = meter.read(&mut buf).await; // AARQ
        meter.write_all(&from_meter(SN_AARE)).await.unwrap();
        let _ = meter.read(&mut buf).await; // READ FA08 (object list)
        meter.write_all(&from_meter(SN_OBJECTS)).await.unwrap();
        let _ = meter.read(&mut buf).await; // READ 0108
                                            // A report of 1.0.1.8.0.255:2 (0x0108) and an unknown variable, then the answer.
        let mut both = from_meter("18 00 02 02 0108 02 7F00 02 06 000F4242 0A 02 4F4B");
        both.extend(from_meter("0C010006000F4240"));
        meter.write_all(&both).await.unwrap();
        let _ = meter.read(&mut buf).await;
    });
    let mut s = open(client, Referencing::Sn).await;
    let r = s
        .read(&[AttributeRef::new(3, "1.0.1.8.0.255".parse().unwrap(), 2)])
        .await
        .unwrap();
    assert_eq!(r[0], Ok(Data::DoubleLongUnsigned(1_000_000)));
    let reports = s.take_pushes();
    assert_eq!(reports.len(), 1);
    let rows = report_rows(&s, "m1", &reports[0], 3).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].item, "1.0.1.8.0.255:2");
    assert_eq!(rows[0].value, Some(1_000_002.0));
    assert_eq!(rows[1].item, "sn 0x7F00");
    assert_eq!(rows[1].text.as_deref(), Some("OK"));
    // A DataNotification is not a report: push_rows handles it.
    assert!(report_rows(&s, "m1", &hex("0F 00000001 00 11 05"), 3).is_none());
}

/// An LN association with the simulated meter on `port` (public client, WRAPPER).
async fn simulated_session(port: u16) -> Session<tokio::net::TcpStream> {
    let stream = dlms_logger::transport::tcp::connect("127.0.0.1", port, Duration::from_secs(2))
        .await
        .unwrap();
    Session::open(
        stream,
        &MeterAddress::default(),
        ClientSettings::new(Referencing::Ln),
        Duration::from_secs(3),
        None,
    )
    .await
    .unwrap()
}

/// A simulator polling for the requests of a client in a tight loop (`simulate
/// --busy-poll-us`) still sends its events when they are due.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_polling_simulator_sends_its_events_to_a_client_in_a_tight_loop() {
    use dlms_logger::sim::{self, SimConfig};
    let (addrs, _h) = sim::start(SimConfig {
        port: 0,
        event_every: Some(Duration::from_millis(20)),
        // Long enough that a debug build's client keeps pace.
        busy_poll: Duration::from_millis(5),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let mut s = simulated_session(addrs[0].port()).await;
    let items = [AttributeRef::new(3, "1.0.1.8.0.255".parse().unwrap(), 2)];
    let until = std::time::Instant::now() + Duration::from_millis(400);
    let mut reads = 0;
    while std::time::Instant::now() < until {
        let r = s.read(&items).await.unwrap();
        assert!(matches!(r[0], Ok(Data::DoubleLongUnsigned(_))), "{r:?}");
        reads += 1;
    }
    let reports = s.take_pushes();
    assert!(
        reports.len() >= 5,
        "{} events in 400 ms at one per 20 ms ({reads} reads)",
        reports.len()
    );
    s.close().await.unwrap();
}

#[tokio::test]
async fn the_simulator_reports_events_between_requests_and_reads_stay_right() {
    use dlms_logger::sim::{self, SimConfig};
    let (addrs, _h) = sim::start(SimConfig {
        port: 0,
        event_every: Some(Duration::from_millis(20)),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let mut s = simulated_session(addrs[0].port()).await;
    let items = [
        AttributeRef::new(1, "0.0.96.1.0.255".parse().unwrap(), 2),
        AttributeRef::new(3, "1.0.1.8.0.255".parse().unwrap(), 2),
    ];
    for _ in 0..3 {
        // Events pile up on the link while we are idle.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let r = s.read(&items).await.unwrap();
        assert!(
            matches!(r[0], Ok(Data::OctetString(_) | Data::VisibleString(_))),
            "{r:?}"
        );
        assert!(matches!(r[1], Ok(Data::DoubleLongUnsigned(_))), "{r:?}");
    }
    let reports = s.take_pushes();
    assert!(reports.len() >= 3, "{} events", reports.len());
    for a in &reports {
        let rows = report_rows(&s, "m1", a, 1).expect("an event notification");
        assert_eq!(rows[0].item, "1.0.1.8.0.255:2");
        assert!(rows[0].value.is_some_and(|v| v > 0.0), "{rows:?}");
    }
    s.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_logger_stores_events_that_arrive_on_its_kept_association() {
    use dlms_logger::runner::Runner;
    use dlms_logger::sim::{self, SimConfig};
    use dlms_logger::store::{Store, Writer};
    let (addrs, _h) = sim::start(SimConfig {
        port: 0,
        event_every: Some(Duration::from_millis(50)),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let port = addrs[0].port();
    let config = dlms_logger::queue::Config::parse(
        &format!(
            r#"
[[connection]]
name = "lab"
tcp = {{ host = "127.0.0.1", port = {port} }}
[[meter]]
name = "m1"
connection = "lab"
[[request]]
name = "energy"
meters = ["m1"]
schedule = {{ every = "1s" }}
items = [ {{ name = "kwh", obis = "1.0.1.8.0.255" }} ]
"#
        ),
        "events.toml",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("log.db");
    let (writer, handle) = Writer::spawn(&db).unwrap();
    let runner = Runner::start(config, handle, 1);
    let h = runner.handle();
    for _ in 0..300 {
        if h.status()
            .requests
            .get("energy")
            .is_some_and(|r| r.completed >= 2)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    runner.shutdown().await;
    writer.shutdown().unwrap();
    let rows = Store::open(&db).unwrap().latest_per_item().unwrap();
    let kwh = rows.iter().find(|r| r.record.item == "kwh").expect("kwh");
    assert_eq!(kwh.record.status, "ok");
    let event = rows
        .iter()
        .find(|r| r.record.request == "event")
        .unwrap_or_else(|| panic!("an event row in {rows:?}"));
    assert_eq!(event.record.item, "1.0.1.8.0.255:2");
    assert_eq!(event.record.obis, "1.0.1.8.0.255");
    assert_eq!(event.record.class, 3);
}
