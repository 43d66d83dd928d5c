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
    assert_eq!(m.security, Security::default());
    assert_eq!(&m.security.system_title, b"DLG\0\0\0\0\x01");
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
fn an_items_unit_is_read_checked_and_saved_back() {
    let text = MINIMAL.replace(
        "obis = \"1-0:1.8.0\"",
        "obis = \"1-0:1.8.0\", unit = \"kWh\", scale = 0.001",
    );
    assert_ne!(text, MINIMAL, "the minimal config has the energy item");
    let c = parse(&text).unwrap();
    let e = &c.requests[0].items[0];
    assert_eq!((e.unit.as_deref(), e.scale), (Some("kWh"), Some(0.001)));
    let saved = c.to_toml();
    assert!(saved.contains("unit = \"kWh\""), "{saved}");
    assert_eq!(parse(&saved).unwrap(), c);
    for (unit, why) in [
        ("", "is empty"),
        (" kWh", "spaces at its ends"),
        ("k\u{202E}Wh", "U+202E"),
        ("k\nWh", "U+000A"),
    ] {
        let bad = MINIMAL.replace(
            "obis = \"1-0:1.8.0\"",
            &format!("obis = \"1-0:1.8.0\", unit = {}", toml_string(unit)),
        );
        let e = parse(&bad).unwrap_err().to_string();
        assert!(e.contains(".unit: ") && e.contains(why), "{unit:?}: {e}");
    }
}

fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() || c == '\u{202E}' => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
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
fn a_listening_connection_defaults_to_loopback_and_writes_its_host() {
    let text = "[[connection]]\nname = \"in\"\nlisten = { port = 4060 }\n\n[[meter]]\nname = \"m\"\nconnection = \"in\"\ndevice_name = \"DLG0000000000001\"\n";
    let c = parse(text).unwrap();
    let host = LISTEN_HOST.to_string();
    assert_eq!(c.connections[0].link, Link::Listen { host, port: 4060 });
    assert_eq!(c.meters[0].device_name.as_deref(), Some("DLG0000000000001"));
    let written = c.to_toml();
    assert!(
        written.contains("listen = { host = \"127.0.0.1\", port = 4060 }"),
        "{written}"
    );
    assert!(
        written.contains("device_name = \"DLG0000000000001\""),
        "{written}"
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

const KEY: &str = "000102030405060708090A0B0C0D0E0F";

#[test]
fn security_fields_are_read() {
    let c = parse(VALID).unwrap();
    let s = &c.meter("m1").unwrap().security;
    assert_eq!(s.policy, Policy::AuthEnc);
    assert_eq!(&s.system_title, b"LGR\0\0\0\0\x02");
    let key = |k: &Option<KeySecret>| k.as_ref().map(KeySecret::expose);
    assert_eq!(key(&s.block_key), Some(std::array::from_fn(|i| i as u8)));
    assert_eq!(
        key(&s.auth_key),
        Some(std::array::from_fn(|i| 0xD0 + i as u8))
    );
    assert_eq!(
        key(&s.dedicated_key),
        Some(std::array::from_fn(|i| 0x11 * i as u8))
    );
    assert_eq!(s.ic_obis, Some(Obis::new(0, 0, 43, 1, 0, 255)));
    assert_eq!(
        s.server_system_title,
        Some([0x4D, 0x4D, 0x4D, 0, 0, 0xBC, 0x61, 0x4E])
    );
    assert_eq!(
        c.meter("m3").unwrap().auth,
        Auth::Sha256(Secret::new("HLS-secret-0001"))
    );
    assert_eq!(c.meter("m4").unwrap().auth, Auth::Gmac);
    for level in Auth::LEVELS {
        assert_eq!(Auth::named(level).map(|a| a.level()), Some(level));
    }
}

#[test]
fn secrets_stay_out_of_debug_and_errors() {
    let c = parse(VALID).unwrap();
    let debug = format!("{c:?}");
    for secret in [
        "12345678\"",
        "\"12345678",
        "HLS-secret",
        "0102030405",
        "d0d1d2",
        "D0D1D2",
        "[0, 1, 2, 3",
        "208, 209",
        "[0, 17, 34",
    ] {
        assert!(!debug.contains(secret), "{secret} in {debug}");
    }
    assert!(debug.contains("Low(********)") && debug.contains("Sha256(********)"));
    assert!(debug.contains("block_key: Some(********)"), "{debug}");
    let meter = |fields: &str| format!("[[meter]]\nname='m'\nconnection='c'\n{fields}\n");
    for text in [
        meter("auth = { level = 'low', password = 4711 }"),
        meter("auth = { level = 'none', password = 'hunter2' }"),
        meter("auth = { level = 'md5', password = 'hunter2' }"),
        meter("auth = { level = 'low', secret = 'hunter2' }"),
        meter("auth = { level = 'gmac', secret = 'hunter2' }"),
        meter("auth = { level = 'sha1', secret = ['hunter2'] }"),
        meter("auth = { level = 'sha1', secret = { env = 'hunter2', x = 1 } }"),
        meter("auth = 'hunter2'"),
        meter("auth = { level = 'low', password = 'hunter2 }"),
        meter("security = 'hunter2'"),
        meter("security = { block_key = '4711hunter2' }"),
        meter("security = { block_key = '47114711471147114711471147114711AA' }"),
        meter("security = { auth_key = '4711471147114711471147114711471' }"),
        meter("security = { auth_key = 47114711471147114711471147114711 }"),
        meter("security = { auth_key = 4711471147114711 }"),
        meter("security = { dedicated_key = 0x4711 }"),
        meter("security = { dedicated_key = { env = 4711 } }"),
    ] {
        let e = parse(&text).unwrap_err();
        assert!(!e.contains("hunter2") && !e.contains("4711"), "{e}");
    }
}

#[test]
fn secrets_come_from_the_environment_and_are_saved_as_references() {
    // Rust's own environment functions hold a lock, so setting one in a test is sound.
    std::env::set_var("DLMS_LOGGER_TEST_PW", "from-env");
    std::env::set_var("DLMS_LOGGER_TEST_BK", KEY);
    let text = MINIMAL.replace(
        "connection = \"c\"\n",
        "connection = \"c\"\nauth = { level = \"low\", password = { env = \"DLMS_LOGGER_TEST_PW\" } }\n\
         security = { policy = \"enc\", block_key = { env = \"DLMS_LOGGER_TEST_BK\" }, auth_key = { env = \"DLMS_LOGGER_TEST_BK\" } }\n",
    );
    let c = parse(&text).unwrap();
    let m = &c.meters[0];
    let env = |v: &str| SecretSource::Env(v.to_string());
    assert_eq!(
        m.auth,
        Auth::Low(Secret::with_source("from-env", env("DLMS_LOGGER_TEST_PW")))
    );
    let bk = m.security.block_key.as_ref().unwrap();
    assert_eq!(
        (bk.expose()[15], bk.source()),
        (15, &env("DLMS_LOGGER_TEST_BK"))
    );
    assert!(!c.holds_inline_secret());
    let saved = c.to_toml();
    assert!(
        saved.contains("password = { env = \"DLMS_LOGGER_TEST_PW\" }")
            && saved.contains("block_key = { env = \"DLMS_LOGGER_TEST_BK\" }")
            && !saved.contains("from-env")
            && !saved.contains(KEY),
        "{saved}"
    );
    assert_eq!(parse(&saved).unwrap(), c);
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
fn save_is_private_when_it_holds_a_secret_and_load_warns_when_others_can_read_it() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let dir = temp_dir();
    let path = dir.path().join("q.toml");
    let mut c = parse(MINIMAL).unwrap();
    c.save(&path).unwrap();
    assert_eq!(mode(&path), 0o644);
    assert_eq!(secrets_exposed(&path), None);
    let key = KeySecret::parse(KEY, SecretSource::Inline).unwrap();
    let secrets = [
        (Auth::Low(Secret::new("pw")), None, "password = \"pw\""),
        (Auth::Md5(Secret::new("hls")), None, "secret = \"hls\""),
        (Auth::Gmac, Some(key), KEY),
    ];
    for (auth, key, written) in secrets {
        c.meters[0].auth = auth;
        c.meters[0].security.block_key = key.clone();
        c.meters[0].security.auth_key = key;
        c.save(&path).unwrap();
        assert_eq!(mode(&path), 0o600);
        assert!(std::fs::read_to_string(&path).unwrap().contains(written));
        assert_eq!(secrets_exposed(&path), None);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let shown = path.display();
        assert_eq!(
            secrets_exposed(&path),
            Some(format!(
                "{shown} holds secrets and can be read by other users; chmod 600 {shown}"
            ))
        );
        assert_eq!(Config::load(&path).unwrap(), c);
    }
    // A secret from the environment is not in the file.
    std::env::set_var("DLMS_LOGGER_TEST_SAVE_PW", "pw");
    c.meters[0].security = Security::default();
    c.meters[0].auth = Auth::Low(Secret::with_source(
        "pw",
        SecretSource::Env("DLMS_LOGGER_TEST_SAVE_PW".into()),
    ));
    std::fs::remove_file(&path).unwrap();
    c.save(&path).unwrap();
    assert_eq!(mode(&path), 0o644);
    assert_eq!(secrets_exposed(&path), None);
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
                parity: Parity::Odd,
                stop_bits: 2,
                flow: Flow::XonXoff,
                rs485_full_duplex: fd,
                frame_gap_ms: baud as u64 % 7 * 10,
                ..SerialSettings::new(port)
            })),
        (name(), 1..=u16::MAX).prop_map(|(host, port)| Link::Listen { host, port }),
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
            item.unit = match attribute % 4 {
                0 => Some("kWh".to_string()),
                1 => Some("m³ (corrected)".to_string()),
                _ => None,
            };
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

/// The variable the generated configs read keys from; set by the round-trip test.
const PROP_KEY_VAR: &str = "DLMS_LOGGER_TEST_PROP_KEY";

fn key() -> impl Strategy<Value = KeySecret> {
    prop_oneof![
        any::<[u8; 16]>().prop_map(KeySecret::new),
        Just(KeySecret::parse(KEY, SecretSource::Env(PROP_KEY_VAR.into())).unwrap()),
    ]
}

/// Any level with any secret, and security that satisfies it (GMAC and ciphering need keys).
fn auth_and_security() -> impl Strategy<Value = (Auth, Security)> {
    let policies = [Policy::None, Policy::Auth, Policy::Enc, Policy::AuthEnc];
    (
        prop::sample::select(Auth::LEVELS.to_vec()),
        name(),
        prop::sample::select(policies.to_vec()),
        any::<[u8; 8]>(),
        (key(), key(), prop::option::of(key())),
        prop::option::of(any::<[u8; 6]>()),
        prop::option::of(any::<[u8; 8]>()),
    )
        .prop_map(|(level, secret, policy, title, (bk, ak, dk), ic, server)| {
            let auth = Auth::named(level).unwrap().with_secret(Secret::new(secret));
            let keyed = policy != Policy::None || auth == Auth::Gmac;
            let security = Security {
                policy,
                system_title: title,
                block_key: keyed.then_some(bk),
                auth_key: keyed.then_some(ak),
                dedicated_key: dk,
                ic_obis: ic.map(Obis),
                server_system_title: server,
                keys: Vec::new(),
            };
            (auth, security)
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
            auth_and_security(),
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
            .map(
                |(i, (hdlc, client, sn, logical, timeout, (auth, security), device_name))| {
                    let connection = &connections[i % connections.len()];
                    let mut m = Meter::new(format!("m {i}"), connection.name.clone());
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
                    m.auth = auth;
                    m.security = security;
                    // A meter that dials in needs an identity.
                    let listening = matches!(connection.link, Link::Listen { .. });
                    m.device_name = device_name.or_else(|| listening.then(|| format!("DLG{i}")));
                    m
                },
            )
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
                // Another event than its own: a request firing itself is a cycle, refused.
                // Names only grow along a chain, so generated chains never lead back.
                r.on_failure = event.as_ref().map(|e| format!("{e}-done"));
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
            sinks: vec![],
            fleet: None,
            store: None,
            index: Default::default(),
        }
    })
}

proptest! {
    #[test]
    fn generated_configs_round_trip(c in config()) {
        std::env::set_var(PROP_KEY_VAR, KEY);
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

#[test]
fn sinks_parse_with_defaults_save_back_and_say_where_they_are_wrong() {
    std::env::set_var("DLMS_TEST_MQTT_PW", "s3cret");
    let text = format!(
        "{MINIMAL}
[[sink]]
name = \"ha\"
kind = \"mqtt\"
host = \"broker.lan\"

[[sink]]
name = \"cloud\"
kind = \"mqtt\"
host = \"mqtt.example.com\"
tls = true
ca_file = \"/etc/ssl/ca.pem\"
username = \"logger\"
password = {{ env = \"DLMS_TEST_MQTT_PW\" }}
topic = \"site/{{meter}}/{{obis}}\"
discovery = false
outbox_limit = 5000
"
    );
    let c = parse(&text).unwrap();
    let SinkKind::Mqtt(ha) = &c.sinks[0].kind;
    assert_eq!(ha, &MqttSink::new("broker.lan"));
    assert_eq!((ha.port, ha.topic.as_str()), (1883, "dlms/{meter}/{item}"));
    let SinkKind::Mqtt(cloud) = &c.sinks[1].kind;
    assert_eq!(cloud.port, 8883);
    assert_eq!(cloud.password.as_ref().unwrap().expose(), "s3cret");
    assert!(!format!("{c:?}").contains("s3cret"));
    // Saved back: the password as the variable's name, never its value; parses back equal.
    let saved = c.to_toml();
    assert!(
        saved.contains("password = { env = \"DLMS_TEST_MQTT_PW\" }"),
        "{saved}"
    );
    assert!(!saved.contains("s3cret"));
    assert_eq!(parse(&saved).unwrap(), c);
    assert!(!c.holds_inline_secret());

    let bad = |field: &str, with: &str| {
        let t = format!(
            "{MINIMAL}\n[[sink]]\nname = \"s\"\nkind = \"mqtt\"\nhost = \"h\"\n{field} = {with}\n"
        );
        parse(&t).unwrap_err()
    };
    assert_eq!(
        bad("topic", "\"dlms/{meter}\""),
        "t.toml:20:1: sink \"s\".topic: must hold {meter} and {item} (or {obis}) so that each \
         meter's item has its own topic"
    );
    assert!(bad("port", "70000").starts_with("t.toml:20:1: sink \"s\".port: 70000 is not allowed"));
    assert!(bad("password", "\"x\"").contains("sink \"s\".password: is given without a username"));
    assert!(bad("ca_file", "\"/x\"").contains("without tls = true"));
    assert!(
        bad("colour", "1").contains("sink \"s\".colour: unknown field; allowed fields: name, kind")
    );
    let e = parse(&format!(
        "{MINIMAL}\n[[sink]]\nname = \"s\"\nkind = \"kafka\"\n"
    ))
    .unwrap_err();
    assert!(
        e.ends_with("sink \"s\".kind: \"kafka\" is not allowed; use mqtt"),
        "{e}"
    );
    let e = parse(&format!(
        "{MINIMAL}\n[[sink]]\nname = \"s\"\nkind = \"mqtt\"\n"
    ))
    .unwrap_err();
    assert!(e.contains("sink \"s\".host: is required"), "{e}");
    let e = parse(&format!(
        "{MINIMAL}\n[[sink]]\nname = \"s\"\nkind = \"mqtt\"\nhost = \"h\"\npassword = {{ env = \"DLMS_NO_SUCH_VAR\" }}\nusername = \"u\"\n"
    ))
    .unwrap_err();
    assert!(e.contains("DLMS_NO_SUCH_VAR"), "{e}");
    let inline = parse(&format!(
        "{MINIMAL}\n[[sink]]\nname = \"s\"\nkind = \"mqtt\"\nhost = \"h\"\nusername = \"u\"\npassword = \"pw\"\n"
    ))
    .unwrap();
    assert!(inline.holds_inline_secret());
}

#[test]
fn the_built_in_simulator_is_saved_without_this_runs_address() {
    let text = "[[connection]]\nname = \"demo\"\nsimulator = true\n\n[[meter]]\nname = \"m\"\nconnection = \"demo\"\n";
    let mut config = Config::parse(text, "t.toml").unwrap();
    assert!(config.uses_simulator());
    assert_eq!(config.connections[0], Connection::simulator("demo"));
    let before = config.to_toml();
    assert!(before.contains("simulator = true"), "{before}");
    assert!(!before.contains("tcp"), "{before}");
    // Started on a free port: the queue connects there, and is written as before.
    let addr: std::net::SocketAddr = "127.0.0.1:40123".parse().unwrap();
    config.point_at_simulator(addr);
    assert!(matches!(
        &config.connections[0].link,
        Link::Tcp { host, port: 40123, .. } if host == "127.0.0.1"
    ));
    assert_eq!(config.to_toml(), before);
    let back = Config::parse(&config.to_toml(), "t.toml").unwrap();
    assert!(back.same_on_disk(&config));
    assert_ne!(back, config);
    // Saved over a commented file, the comments stay (the address is not a change).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("q.toml");
    std::fs::write(&path, format!("# my demo\n{text}")).unwrap();
    config.save(&path).unwrap();
    let saved = std::fs::read_to_string(&path).unwrap();
    assert!(saved.starts_with("# my demo\n"), "{saved}");
    assert!(!saved.contains("40123"), "{saved}");
}

#[test]
fn in_memory_problems_are_all_reported() {
    let mut config = Config::parse(
        "[[connection]]\nname = \"c\"\ntcp = { host = \"h\", port = 1 }\n\n[[meter]]\nname = \"a\"\nconnection = \"c\"\n\n[[meter]]\nname = \"b\"\nconnection = \"c\"\n",
        "t.toml",
    )
    .unwrap();
    config.meters[0].retries = 11;
    config.meters[1].timeout_ms = 0;
    let got: Vec<String> = config.problems().iter().map(ToString::to_string).collect();
    assert_eq!(
        got,
        [
            "meter \"a\".retries: 11 is not allowed; use 0 to 10",
            "meter \"b\".timeout_ms: 0 is not allowed; use 1 to 600000"
        ]
    );
    assert_eq!(config.validate().unwrap_err().to_string(), got[0]);
}

#[test]
fn the_store_is_a_top_level_key_that_saves_back() {
    let c = Config::parse(
        "store = \"postgres://logger@db.example/meters\"\n",
        "t.toml",
    )
    .unwrap();
    assert_eq!(
        c.store.as_deref(),
        Some("postgres://logger@db.example/meters")
    );
    assert_eq!(Config::parse(&c.to_toml(), "again").unwrap(), c);
    assert!(!c.holds_inline_secret());
    let c = Config::parse("store = \"postgres://logger:pw@db/meters\"\n", "t.toml").unwrap();
    assert!(
        c.holds_inline_secret(),
        "a password in the URL makes the file private"
    );
}

#[test]
fn keys_by_system_title_are_read_saved_masked_and_checked() {
    std::env::set_var("DLMS_LOGGER_TEST_TK", KEY);
    let text = MINIMAL.replace(
        "connection = \"c\"\n",
        "connection = \"c\"\nsecurity = { keys = [\
         { system_title = \"4B464D1020000001\", block_key = \"000102030405060708090A0B0C0D0E0F\", auth_key = \"D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF\" }, \
         { system_title = \"4B464D1020000002\", block_key = { env = \"DLMS_LOGGER_TEST_TK\" } }] }\n",
    );
    let c = parse(&text).unwrap();
    let keys = &c.meters[0].security.keys;
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0].system_title, *b"KFM\x10\x20\0\0\x01");
    assert_eq!(keys[0].auth_key.as_ref().unwrap().expose()[0], 0xD0);
    assert_eq!(keys[1].block_key.expose()[15], 15);
    assert!(keys[1].auth_key.is_none());
    assert!(c.holds_inline_secret());
    let debug = format!("{c:?}");
    assert!(
        !debug.contains("D0D1") && !debug.contains("[208"),
        "{debug}"
    );
    let saved = c.to_toml();
    assert!(
        saved.contains("block_key = { env = \"DLMS_LOGGER_TEST_TK\" }"),
        "{saved}"
    );
    assert_eq!(parse(&saved).unwrap(), c);
    let bad = MINIMAL.replace(
        "connection = \"c\"\n",
        "connection = \"c\"\nsecurity = { keys = [{ system_title = \"4B46\", block_key = \"000102030405060708090A0B0C0D0E0F\" }] }\n",
    );
    let e = parse(&bad).unwrap_err();
    // Entries count from 1, as people count them.
    assert!(e.contains("keys[1].system_title"), "{e}");
}
