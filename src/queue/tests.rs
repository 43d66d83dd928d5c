//! Tests of the config as a whole: defaults, round trips, saving.

use super::*;
use crate::dlms::obis::Obis;
use crate::schedule::Schedule;
use proptest::prelude::*;
use std::time::Duration;

const VALID: &str = include_str!("../../tests/configs/valid.toml");

fn parse(text: &str) -> Result<Config, String> {
    Config::parse(text, "t.toml").map_err(|e| e.to_string())
}

const MINIMAL: &str = r#"
[[connection]]
name = "c"
tcp = { host = "h", port = 4059 }

[[meter]]
name = "m"
connection = "c"

[[request]]
name = "r"
meters = ["m"]
schedule = { every = "1min" }
items = [{ name = "e", obis = "1-0:1.8.0" }, { name = "p", obis = "1.0.99.1.0.255" }]
"#;

#[test]
fn defaults() {
    let c = parse(MINIMAL).unwrap();
    assert_eq!(
        c.connections[0],
        Connection::new(
            "c",
            Link::Tcp {
                host: "h".into(),
                port: 4059,
                persistent: true
            }
        )
    );
    assert_eq!(c.meters[0], Meter::new("m", "c"));
    let m = &c.meters[0];
    assert_eq!(
        (
            m.interface,
            m.client,
            m.physical,
            m.logical,
            m.address_size,
            m.referencing
        ),
        (InterfaceKind::Wrapper, 16, 1, 1, 1, ReferencingKind::Ln)
    );
    assert_eq!(
        (m.timeout_ms, m.retries, m.enabled, &m.auth),
        (5000, 2, true, &Auth::None)
    );
    let r = &c.requests[0];
    assert_eq!(
        (r.enabled, r.timeout_ms, &r.on_success),
        (true, 60_000, &None)
    );
    assert_eq!(r.schedule, Schedule::Every(Duration::from_secs(60)));
    let e = &r.items[0];
    assert_eq!(
        (e.obis, e.class_id, e.attribute),
        (Obis::new(1, 0, 1, 8, 0, 255), 3, 2)
    );
    assert_eq!((&e.data_type, e.scale, e.enabled), (&None, None, true));
    assert_eq!(r.items[1].class_id, 7);
}

#[test]
fn serial_number_sets_physical_and_address_size() {
    let c = parse(VALID).unwrap();
    let m2 = c.meter("m2").unwrap();
    assert_eq!(
        (m2.physical, m2.address_size, m2.serial_number),
        (6678, 4, Some(12345678))
    );
    let Link::Serial(s) = &c.connection("probe").unwrap().link else {
        panic!("serial")
    };
    assert_eq!(
        (s.baud, s.data_bits, s.parity, s.stop_bits, s.flow),
        (300, 7, Parity::Even, 2, Flow::RtsCts)
    );
    let daily = &c.requests[1].items[0];
    assert_eq!(
        daily.since,
        Some(TimeBound::Ago(Duration::from_secs(2 * 86400)))
    );
    assert_eq!(c.requests[0].items[2].data_type, None);
}

#[test]
fn valid_fixture_round_trips() {
    let c = parse(VALID).unwrap();
    let text = c.to_toml();
    assert_eq!(parse(&text).unwrap(), c, "{text}");
    // Defaults are left out.
    assert!(
        !text.contains("mode = \"dlms\"") && !text.contains("address_size = 4"),
        "{text}"
    );
}

#[test]
fn minimal_config_writes_the_documented_layout() {
    let text = parse(MINIMAL).unwrap().to_toml();
    assert_eq!(
        text,
        r#"[[connection]]
name = "c"
tcp = { host = "h", port = 4059 }

[[meter]]
name = "m"
connection = "c"

[[request]]
name = "r"
meters = ["m"]
schedule = { every = "1min" }
items = [
  { name = "e", obis = "1.0.1.8.0.255" },
  { name = "p", obis = "1.0.99.1.0.255" },
]
"#
    );
}

#[test]
fn validate_names_the_field_without_a_line() {
    let mut c = parse(MINIMAL).unwrap();
    c.meters[0].address_size = 3;
    assert_eq!(
        c.validate().unwrap_err().to_string(),
        "meter \"m\".address_size: 3 is not allowed; use 1, 2 or 4"
    );
    c.meters[0].address_size = 1;
    c.requests[0].items[1].attribute = 0;
    assert_eq!(
        c.validate().unwrap_err().to_string(),
        "request \"r\".items[2].attribute: 0 is not allowed; use 1 to 127"
    );
}

#[test]
fn secrets_stay_out_of_debug_and_errors() {
    let c = parse(VALID).unwrap();
    assert!(!format!("{c:?}").contains("12345678\""));
    assert!(!format!("{c:?}").contains("\"12345678"));
    assert!(format!("{c:?}").contains("Low(********)"));
    for text in [
        "[[meter]]\nname='m'\nconnection='c'\nauth = { level = 'low', password = 4711 }\n",
        "[[meter]]\nname='m'\nconnection='c'\nauth = { level = 'none', password = 'hunter2' }\n",
        "[[meter]]\nname='m'\nconnection='c'\nauth = 'hunter2'\n",
        "[[meter]]\nname='m'\nconnection='c'\nauth = { level = 'low', password = 'hunter2 }\n",
    ] {
        let e = parse(text).unwrap_err();
        assert!(!e.contains("hunter2") && !e.contains("4711"), "{e}");
    }
}

fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn files_in(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn save_replaces_atomically_and_refuses_invalid_configs() {
    let dir = temp_dir();
    let path = dir.path().join("q.toml");
    std::fs::write(&path, "old").unwrap();
    let mut c = parse(MINIMAL).unwrap();
    c.save(&path).unwrap();
    assert_eq!(Config::load(&path).unwrap(), c);
    assert_eq!(files_in(dir.path()), ["q.toml"]);

    let saved = std::fs::read_to_string(&path).unwrap();
    c.meters[0].connection = "nowhere".into();
    let e = c.save(&path).unwrap_err().to_string();
    assert!(
        e.contains("q.toml: meter \"m\".connection: there is no connection named \"nowhere\""),
        "{e}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), saved);
    assert_eq!(files_in(dir.path()), ["q.toml"]);
}

#[cfg(unix)]
#[test]
fn save_is_private_when_it_holds_a_password() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = temp_dir();
    let path = dir.path().join("q.toml");
    let mut c = parse(MINIMAL).unwrap();
    c.save(&path).unwrap();
    assert_eq!(mode(&path), 0o644);
    c.meters[0].auth = Auth::Low(Secret::new("pw"));
    c.save(&path).unwrap();
    assert_eq!(mode(&path), 0o600);
    assert!(std::fs::read_to_string(&path)
        .unwrap()
        .contains("password = \"pw\""));
}

#[test]
fn load_names_a_missing_file() {
    let e = Config::load(std::path::Path::new("/nonexistent/q.toml")).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("cannot read /nonexistent/q.toml: "),
        "{e}"
    );
}

fn name() -> impl Strategy<Value = String> {
    // Quotes, backslashes, non-ASCII and control characters exercise the string escaping.
    "[a-z][a-z0-9 \"\\\\é\t\u{7f}\n-]{0,6}"
}

fn link() -> impl Strategy<Value = Link> {
    prop_oneof![
        (name(), 1..=u16::MAX, any::<bool>()).prop_map(|(host, port, persistent)| Link::Tcp {
            host,
            port,
            persistent
        }),
        (
            name(),
            prop::sample::select(BAUD_RATES.to_vec()),
            5..=8u8,
            any::<bool>()
        )
            .prop_map(|(port, baud, data_bits, fd)| Link::Serial(SerialSettings {
                baud,
                data_bits,
                parity: Parity::Mark,
                stop_bits: 2,
                flow: Flow::XonXoff,
                rs485_full_duplex: fd,
                ..SerialSettings::new(port)
            })),
    ]
}

fn item() -> impl Strategy<Value = Item> {
    (
        any::<[u8; 6]>(),
        1..=127i8,
        prop::option::of(-1e6..1e6f64),
        any::<bool>(),
        0..4u8,
    )
        .prop_map(|(obis, attribute, scale, enabled, profile)| {
            let mut item = Item::new("", Obis(obis));
            item.attribute = attribute;
            item.scale = scale.filter(|s| *s != 0.0);
            item.enabled = enabled;
            item.data_type = (attribute % 3 == 0).then(|| "long64-unsigned".to_string());
            if profile > 0 {
                item.class_id = PROFILE_GENERIC;
                match profile {
                    1 => item.entries = Some(u32::from(attribute as u8)),
                    2 => item.since = Some(TimeBound::Ago(Duration::from_secs(3600))),
                    _ => {}
                }
            }
            item
        })
}

fn config() -> impl Strategy<Value = Config> {
    let meters = prop::collection::vec(
        (
            any::<bool>(),
            0..=127u16,
            prop::option::of(any::<u32>()),
            1..=127u16,
            1..=600_000u64,
            prop::option::of(name()),
        ),
        1..4,
    );
    let requests = prop::collection::vec(
        (
            prop::collection::vec(item(), 1..4),
            any::<bool>(),
            prop::option::of("[a-z.]{1,5}"),
        ),
        0..3,
    );
    (prop::collection::vec(link(), 1..3), meters, requests).prop_map(|(links, meters, requests)| {
        let connections: Vec<Connection> = links
            .into_iter()
            .enumerate()
            .map(|(i, link)| Connection::new(format!("c\"{i}"), link))
            .collect();
        let meters: Vec<Meter> = meters
            .into_iter()
            .enumerate()
            .map(|(i, (hdlc, client, sn, logical, timeout, password))| {
                let mut m = Meter::new(
                    format!("m {i}"),
                    connections[i % connections.len()].name.clone(),
                );
                m.interface = if hdlc {
                    InterfaceKind::Hdlc
                } else {
                    InterfaceKind::Wrapper
                };
                m.client = client;
                m.logical = logical;
                m.timeout_ms = timeout;
                if let Some(sn) = sn {
                    m.serial_number = Some(u64::from(sn));
                    m.physical = Meter::physical_from_serial(u64::from(sn));
                    m.address_size = 4;
                }
                m.auth = password.map_or(Auth::None, |p| Auth::Low(Secret::new(p)));
                m
            })
            .collect();
        let requests = requests
            .into_iter()
            .enumerate()
            .map(|(i, (items, enabled, event))| {
                let mut r = Request::new(
                    format!("r{i}"),
                    vec![meters[0].name.clone()],
                    Schedule::Every(Duration::from_millis(1500)),
                );
                r.enabled = enabled;
                r.on_failure = event.clone();
                if let Some(e) = event {
                    r.schedule = Schedule::Event(e);
                }
                r.items = items
                    .into_iter()
                    .enumerate()
                    .map(|(j, mut item)| {
                        item.name = format!("i{j}");
                        item
                    })
                    .collect();
                r
            })
            .collect();
        Config {
            connections,
            meters,
            requests,
        }
    })
}

proptest! {
    #[test]
    fn generated_configs_round_trip(c in config()) {
        prop_assert!(c.validate().is_ok(), "{:?}", c.validate());
        let text = c.to_toml();
        prop_assert_eq!(Config::parse(&text, "gen.toml").map_err(|e| e.to_string()), Ok(c), "{}", text);
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let _ = Config::parse(&text, "x.toml");
        let _ = Preset::parse(&text, "x.toml");
    }

    #[test]
    fn mutated_valid_config_never_panics(cut in 0..VALID.len(), insert in "[\\[\\]{}=\",.a-z0-9\n ]{0,5}") {
        let mut text = VALID.as_bytes()[..cut].to_vec();
        text.extend_from_slice(insert.as_bytes());
        text.extend_from_slice(&VALID.as_bytes()[cut..]);
        let _ = Config::parse(&String::from_utf8_lossy(&text), "x.toml");
    }
}
