//! The decoder against real captured frames from public sources (tests/data/han/corpus.toml):
//! `dlms-logger decode --json` (the real binary) must give every value each source states.

use serde_json::Value as Json;
use std::io::Write;
use std::process::{Command, Stdio};

const CORPUS: &str = include_str!("data/han/corpus.toml");

fn decode(lines: &[String], args: &[&str]) -> Vec<Json> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dlms-logger"))
        .arg("decode")
        .arg("--json")
        .args(args)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run dlms-logger");
    let mut stdin = child.stdin.take().unwrap();
    for l in lines {
        writeln!(stdin, "{l}").unwrap();
    }
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn check_frame(f: &toml::Value) -> Result<(), String> {
    let id = f["id"].as_str().unwrap();
    let lines: Vec<String> = f["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_str().unwrap().to_string())
        .collect();
    let mut args = Vec::new();
    for (key, flag) in [("block_key", "--block-key"), ("preset", "--preset")] {
        if let Some(v) = f.get(key).and_then(|v| v.as_str()) {
            args.push(flag.to_string());
            args.push(v.to_string());
        }
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let outs = decode(&lines, &args);
    // The last line completes the notification.
    let o = outs.last().ok_or(format!("{id}: no output"))?;
    if let Some(e) = o.get("error") {
        return Err(format!("{id}: {e}"));
    }
    if o["complete"] != Json::Bool(true) {
        return Err(format!("{id}: not complete: {o}"));
    }
    let values = o["values"].as_array().unwrap();
    if let Some(n) = f.get("count").and_then(|c| c.as_integer()) {
        if values.len() as i64 != n {
            return Err(format!(
                "{id}: {} values, the source states {n}",
                values.len()
            ));
        }
    }
    if let Some(n) = f.get("obis_count").and_then(|c| c.as_integer()) {
        let with = values.iter().filter(|v| v["obis"].is_string()).count() as i64;
        if with != n {
            return Err(format!(
                "{id}: {with} values with OBIS codes, the source states {n}"
            ));
        }
    }
    if let Some(t) = f.get("date_time").and_then(|t| t.as_str()) {
        let got = o["date_time"].as_str().unwrap_or_default();
        if !got.starts_with(t) {
            return Err(format!(
                "{id}: notification time {got}, the source states {t}"
            ));
        }
    }
    if let Some(t) = f.get("system_title").and_then(|t| t.as_str()) {
        if o["protection"]["system_title"] != Json::String(t.into()) {
            return Err(format!("{id}: protection {}", o["protection"]));
        }
    }
    if let Some(ic) = f.get("invocation_counter").and_then(|t| t.as_integer()) {
        if o["protection"]["invocation_counter"] != ic {
            return Err(format!("{id}: protection {}", o["protection"]));
        }
    }
    for want in f
        .get("value")
        .and_then(|v| v.as_array())
        .into_iter()
        .flatten()
    {
        let got = match (want.get("index"), want.get("obis")) {
            (Some(i), _) => values.get(i.as_integer().unwrap() as usize),
            (None, Some(obis)) => values.iter().find(|v| v["obis"].as_str() == obis.as_str()),
            (None, None) => None,
        }
        .ok_or(format!("{id}: no value for {want}"))?;
        if let Some(obis) = want.get("obis").and_then(|o| o.as_str()) {
            if got["obis"].as_str() != Some(obis) {
                return Err(format!("{id}: {want} got obis {}", got["obis"]));
            }
        }
        let ok = if let Some(v) = want.get("value").and_then(|v| v.as_integer()) {
            // Sources state a number as sent or with its scaler applied.
            got["value"] == v || got["scaled"] == v
        } else if let Some(s) = want.get("scaled").and_then(|v| v.as_str()) {
            got["scaled"].as_f64() == s.parse::<f64>().ok()
        } else if let Some(t) = want.get("text").and_then(|v| v.as_str()) {
            got["value"].as_str().is_some_and(|g| g.starts_with(t))
        } else {
            false
        };
        if !ok {
            return Err(format!("{id}: {want} but decoded {got}"));
        }
    }
    Ok(())
}

#[test]
fn every_stated_value_decodes() {
    let corpus: toml::Value = toml::from_str(CORPUS).unwrap();
    let frames = corpus["frame"].as_array().unwrap();
    let failures: Vec<String> = frames.iter().filter_map(|f| check_frame(f).err()).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_corpus_is_broad_enough() {
    let corpus: toml::Value = toml::from_str(CORPUS).unwrap();
    let frames = corpus["frame"].as_array().unwrap();
    let makes: std::collections::BTreeSet<&str> =
        frames.iter().map(|f| f["make"].as_str().unwrap()).collect();
    let ciphered = frames
        .iter()
        .filter(|f| f.get("block_key").is_some())
        .count();
    assert!(frames.len() >= 20, "{} frames", frames.len());
    assert!(makes.len() >= 5, "{makes:?}");
    assert!(ciphered >= 3, "{ciphered} ciphered");
    for f in frames {
        assert!(f["source"].as_str().is_some_and(|s| !s.is_empty()));
    }
}

#[test]
fn a_damaged_frame_or_a_wrong_key_is_an_error_never_a_reading() {
    let corpus: toml::Value = toml::from_str(CORPUS).unwrap();
    let frames = corpus["frame"].as_array().unwrap();
    let kamstrup = frames
        .iter()
        .find(|f| f["id"].as_str() == Some("kamstrup-hdlc"))
        .unwrap();
    let mut hex = kamstrup["lines"][0].as_str().unwrap().to_string();
    // Flip one bit inside the information field: the FCS no longer matches.
    hex.replace_range(60..61, "F");
    let o = &decode(&[hex], &[])[0];
    assert!(o["error"].as_str().unwrap().contains("HDLC frame"), "{o}");
    assert!(o.get("values").is_none());
    let evn = frames
        .iter()
        .find(|f| f["id"].as_str() == Some("evn-sagemcom-ciphered"))
        .unwrap();
    let lines = vec![evn["lines"][0].as_str().unwrap().to_string()];
    let wrong = "00112233445566778899AABBCCDDEEFF";
    let o = &decode(&lines, &["--block-key", wrong])[0];
    let e = o["error"].as_str().unwrap();
    assert!(e.contains("probably wrong"), "{e}");
    assert!(!e.contains(wrong) && !e.contains("A89AE6"), "{e}");
    // One byte changed in an M-Bus frame: its checksum says so.
    let mut damaged = lines[0].clone();
    damaged.replace_range(40..41, if &damaged[40..41] == "0" { "1" } else { "0" });
    let o = &decode(
        &[damaged],
        &["--block-key", "A89AE6C225E45130298B3CC3F4D23463"],
    )[0];
    assert!(o["error"].as_str().unwrap().contains("checksum"), "{o}");
    // Truncated: the first M-Bus frame alone waits for the second, and says so.
    let first = &lines[0][..(4 + 0xFA + 2) * 2];
    let o = &decode(
        &[first.to_string()],
        &["--block-key", "A89AE6C225E45130298B3CC3F4D23463"],
    )[0];
    assert_eq!(o["complete"], Json::Bool(false), "{o}");
    assert!(o["values"].as_array().unwrap().is_empty());
}

#[test]
fn text_output_names_fields_and_a_bad_key_is_never_echoed() {
    let corpus: toml::Value = toml::from_str(CORPUS).unwrap();
    let frames = corpus["frame"].as_array().unwrap();
    let iskra = frames
        .iter()
        .find(|f| f["id"].as_str() == Some("iskraemeco-am550"))
        .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dlms-logger"))
        .args(["decode", iskra["lines"][0].as_str().unwrap()])
        .output()
        .unwrap();
    // One segment alone: the tree is printed, and the command says it waits for the rest.
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("frame format: type 3, segmented"), "{text}");
    assert!(text.contains("more segments follow"), "{text}");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("waiting for more HDLC segments"));

    let secret = "SECRETSECRETSECRETSECRETSECRET00";
    let out = Command::new(env!("CARGO_BIN_EXE_dlms-logger"))
        .args(["decode", "--block-key", secret, "0F00000001001105"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("--block-key") && !err.contains("SECRET"),
        "{err}"
    );
}

/// A compact data push (class 62) built by our simulator's codec: read with the template
/// given on the command line (values named by its capture objects), and without it the buffer
/// stays one octet-string; the self-describing form (description, then buffer) needs none.
#[test]
fn compact_data_is_read_with_its_template() {
    use dlms_logger::dlms::compact_data::CompactTemplate;
    use dlms_logger::dlms::data::Data;
    use dlms_logger::dlms::push::{build, Framing};
    use dlms_logger::dlms::xdlms::DataNotification;
    let template = CompactTemplate::new(3, &[0x02, 0x02, 0x06, 0x12], Vec::new()).unwrap();
    let buffer = template
        .encode(&Data::Structure(vec![
            Data::DoubleLongUnsigned(1_234_567),
            Data::LongUnsigned(2301),
        ]))
        .unwrap();
    let hex = |body: Data| -> String {
        let n = DataNotification {
            long_invoke_id: 1,
            date_time: None,
            body,
        };
        build(
            &n,
            None,
            &Framing::Wrapper {
                source: 1,
                destination: 16,
            },
        )
        .unwrap()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
    };
    let bare = vec![hex(Data::OctetString(buffer.clone()))];
    let with = decode(
        &bare,
        &[
            "--compact-template",
            "3:02020612:1.0.1.8.0.255,1.0.32.7.0.255",
        ],
    );
    let values = with[0]["values"].as_array().unwrap();
    assert_eq!(values.len(), 2, "{with:?}");
    assert_eq!(values[0]["obis"], "1.0.1.8.0.255");
    assert_eq!(values[0]["value"], 1_234_567);
    assert_eq!(values[1]["obis"], "1.0.32.7.0.255");
    assert_eq!(values[1]["value"], 2301);
    let without = decode(&bare, &[]);
    assert_eq!(without[0]["values"].as_array().unwrap().len(), 1);
    let described = vec![hex(Data::Structure(vec![
        Data::OctetString(vec![0x02, 0x02, 0x06, 0x12]),
        Data::OctetString(buffer),
    ]))];
    let read = decode(&described, &[]);
    let values = read[0]["values"].as_array().unwrap();
    assert_eq!(values.len(), 2, "{read:?}");
    assert!(values[0]["obis"].is_null());
    assert_eq!(values[1]["value"], 2301);
}
