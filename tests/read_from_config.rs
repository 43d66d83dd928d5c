//! `read`, `objects` and `probe`-free commands take a meter from a queue file
//! (`-c FILE --meter NAME`) and go the same way as the logger: TCP (WRAPPER and HDLC, with
//! authentication and ciphering) and serial lines.

mod common;

use common::*;
use dlms_logger::engine::Interface;
use dlms_logger::sim::{self, SimConfig};
use tokio_serial::SerialPort;

const BK: &str = "000102030405060708090A0B0C0D0E0F";
const AK: &str = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF";

fn write_config(dir: &std::path::Path, text: &str) -> std::path::PathBuf {
    let path = dir.join("q.toml");
    std::fs::write(&path, text).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

fn read_from(cfg: &std::path::Path, meter: &str, items: &[&str]) -> std::process::Output {
    let mut args = vec![
        "read",
        "-c",
        cfg.to_str().unwrap(),
        "--meter",
        meter,
        "--json",
    ];
    args.extend_from_slice(items);
    run(&args)
}

#[test]
fn a_tcp_meter_with_hdlc_and_ciphering_is_read_from_the_config() {
    let (_sim, port) = start_sim(&[
        "--hdlc",
        "--security",
        "authenc",
        "--block-key",
        BK,
        "--auth-key",
        AK,
    ]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        &format!(
            r#"
[[connection]]
name = "lab"
tcp = {{ host = "127.0.0.1", port = {port} }}
[[meter]]
name = "plain"
connection = "lab"
interface = "hdlc"
[[meter]]
name = "secured"
connection = "lab"
interface = "hdlc"
client = 17
security = {{ policy = "authenc", block_key = "{BK}", auth_key = "{AK}" }}
"#
        ),
    );
    let out = read_from(&cfg, "secured", &["1.0.1.8.0.255", "0.0.96.1.0.255"]);
    assert!(out.status.success());
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["unit"], "Wh");
    assert!(lines.iter().all(|l| l["error"].is_null()), "{lines:?}");
    // The same file, another meter: the public client.
    let out = read_from(&cfg, "plain", &["0.0.96.1.0.255"]);
    assert!(out.status.success());
}

#[test]
fn a_serial_meter_is_read_from_the_config() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (meter_end, client_end) = rt
        .block_on(async { tokio_serial::SerialStream::pair() })
        .expect("a pty pair");
    let dev = client_end.name().expect("the pty has a name");
    let config = SimConfig {
        interface: Interface::Hdlc,
        ..SimConfig::default()
    };
    rt.spawn(async move {
        let _ = sim::serve_stream(meter_end, &config, 0).await;
    });
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        &format!(
            r#"
[[connection]]
name = "rs485"
serial = {{ port = "{dev}", baud = 9600 }}
[[meter]]
name = "m1"
connection = "rs485"
interface = "hdlc"
timeout_ms = 3000
"#
        ),
    );
    let out = read_from(&cfg, "m1", &["1.0.1.8.0.255"]);
    assert!(out.status.success());
    assert_eq!(json_lines(&out)[0]["unit"], "Wh");
    drop(client_end);
}

#[test]
fn objects_take_the_meter_from_the_config_too() {
    let (_sim, port) = start_sim(&[]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        &format!(
            "[[connection]]\nname = \"lab\"\ntcp = {{ host = \"127.0.0.1\", port = {port} }}\n\
             [[meter]]\nname = \"m1\"\nconnection = \"lab\"\n"
        ),
    );
    let out = run(&[
        "objects",
        "-c",
        cfg.to_str().unwrap(),
        "--meter",
        "m1",
        "--json",
    ]);
    assert!(out.status.success());
    assert!(json_lines(&out).len() > 5);
}

#[test]
fn an_unknown_meter_or_a_dial_in_meter_is_refused_in_a_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        "[[connection]]\nname = \"in\"\nlisten = { port = 4061 }\n\
         [[meter]]\nname = \"caller\"\nconnection = \"in\"\ndevice_name = \"DLG1\"\n",
    );
    let out = read_from(&cfg, "nope", &["1.0.1.8.0.255"]);
    assert!(!out.status.success());
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("no meter \"nope\"") && e.contains("caller"),
        "{e}"
    );
    let out = read_from(&cfg, "caller", &["1.0.1.8.0.255"]);
    assert!(!out.status.success());
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("dials in"), "{e}");
    // --meter needs --config and the other way round.
    let out = run(&["read", "--meter", "m1", "1.0.1.8.0.255"]);
    assert!(!out.status.success());
}

#[test]
fn probe_takes_the_link_from_the_config() {
    let (_sim, port) = start_sim(&["--hdlc"]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        &format!(
            "[[connection]]\nname = \"lab\"\ntcp = {{ host = \"127.0.0.1\", port = {port} }}\n\
             [[meter]]\nname = \"m1\"\nconnection = \"lab\"\n"
        ),
    );
    let out = run(&["probe", "-c", cfg.to_str().unwrap(), "--meter", "m1"]);
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("interface = \"hdlc\""),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
