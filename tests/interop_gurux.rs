//! Interop with a DLMS engine we did not write: our client against the Gurux meter, and the
//! Gurux client against our simulator (peers in ../shared/peers, see tests/common).
mod common;

use common::*;

const ITEMS: [&str; 9] = [
    "0.0.1.0.0.255",
    "0.0.42.0.0.255",
    "0.0.96.1.0.255",
    "1.0.1.8.0.255",
    "1.0.2.8.0.255",
    "1.0.32.7.0.255",
    "1.0.31.7.0.255",
    "1.0.21.7.0.255",
    "1.0.99.1.0.255",
];

/// Our `read` against a Gurux meter started with `meter_args`.
fn our_client_reads_gurux(meter_args: &[&str], our_args: &[&str]) {
    let Some(py) = peer_python() else { return };
    let (_meter, port) = start_gurux_meter(&py, meter_args);
    let port = port.to_string();
    let mut args = vec!["read", "--port", &port, "--json", "--timeout", "10000"];
    args.extend_from_slice(our_args);
    args.extend_from_slice(&ITEMS);
    let out = run(&args);
    assert!(out.status.success(), "every item must be read");
    let lines = json_lines(&out);
    assert_eq!(lines.len(), ITEMS.len());
    for l in &lines {
        assert!(l["error"].is_null(), "{l}");
    }
    let by = |obis: &str| lines.iter().find(|l| l["obis"] == obis).unwrap().clone();
    // Gurux meter: 1 000 000 Wh at start, growing; export raw 100000 with scaler +1.
    let import = by("1.0.1.8.0.255");
    assert!(import["value"].as_f64().unwrap() >= 1_000_000.0, "{import}");
    assert_eq!(import["unit"], "Wh");
    let export = by("1.0.2.8.0.255");
    assert!(
        export["value"].as_f64().unwrap() >= 1_000_000.0,
        "scaler +1 applied: {export}"
    );
    let volts = by("1.0.32.7.0.255");
    let v = volts["value"].as_f64().unwrap();
    assert!((227.0..=233.0).contains(&v), "scaler -1 applied: {volts}");
    assert_eq!(volts["unit"], "V");
    assert_eq!(by("1.0.31.7.0.255")["unit"], "A");
    assert_eq!(by("0.0.96.1.0.255")["value"], "12345678");
    assert_eq!(by("0.0.42.0.0.255")["value"], "GRX0000000000001");
    let clock = by("0.0.1.0.0.255")["value"].as_str().unwrap().to_string();
    assert!(
        clock.len() >= 19 && clock.as_bytes()[10] == b'T',
        "ISO date-time: {clock}"
    );
    let profile = by("1.0.99.1.0.255");
    assert_eq!(
        profile["value"].as_array().unwrap().len(),
        1000,
        "whole profile by block transfer"
    );

    let mut args = vec!["objects", "--port", &port, "--json", "--timeout", "10000"];
    args.extend_from_slice(our_args);
    let out = run(&args);
    assert!(out.status.success());
    let objects = json_lines(&out);
    assert!(objects.len() >= 12, "{} objects", objects.len());
    assert!(objects
        .iter()
        .any(|o| o["obis"] == "1.0.99.1.0.255" && o["class"] == 7));
    assert!(objects
        .iter()
        .any(|o| o["obis"] == "1.0.32.7.0.255" && o["unit"] == "V"));
}

#[test]
fn our_client_reads_gurux_wrapper_ln() {
    our_client_reads_gurux(&["--interface", "wrapper", "--ref", "ln"], &["--wrapper"]);
}

#[test]
fn our_client_reads_gurux_hdlc_ln() {
    our_client_reads_gurux(&["--interface", "hdlc", "--ref", "ln"], &["--hdlc"]);
}

#[test]
fn our_client_reads_gurux_wrapper_sn() {
    our_client_reads_gurux(
        &["--interface", "wrapper", "--ref", "sn"],
        &["--wrapper", "--sn"],
    );
}

#[test]
fn our_client_reads_gurux_hdlc_sn() {
    our_client_reads_gurux(&["--interface", "hdlc", "--ref", "sn"], &["--hdlc", "--sn"]);
}

#[test]
fn our_client_reads_gurux_hdlc_four_byte_address_with_password() {
    our_client_reads_gurux(
        &[
            "--interface",
            "hdlc",
            "--logical-address",
            "1",
            "--physical-address",
            "17",
            "--address-size",
            "4",
            "--auth",
            "low",
            "--password",
            "00000000",
        ],
        &[
            "--hdlc",
            "--server",
            "17",
            "--address-size",
            "4",
            "--client",
            "17",
            "--auth",
            "low",
            "--password",
            "00000000",
        ],
    );
}

#[test]
fn gurux_meter_rejects_a_wrong_password_with_a_clear_error() {
    let Some(py) = peer_python() else { return };
    let (_meter, port) = start_gurux_meter(&py, &["--auth", "low", "--password", "00000000"]);
    let out = run(&[
        "read",
        "--port",
        &port.to_string(),
        "--client",
        "17",
        "--auth",
        "low",
        "--password",
        "WRONG",
        "1.0.1.8.0.255",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("rejected"), "{err}");
    assert!(
        !err.contains("WRONG"),
        "the password never appears in errors"
    );
}

/// The Gurux client against our simulator started with `sim_args`.
fn gurux_reads_our_sim(sim_args: &[&str], client_args: &[&str]) {
    let Some(py) = peer_python() else { return };
    let (_sim, port) = start_sim(sim_args);
    let mut args = client_args.to_vec();
    args.extend(["--read", "--profile", "--timeout", "10"]);
    let out = gurux_client(&py, port, &args);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "client.py exit status");
    assert!(!text.contains("ERROR"), "{text}");
    assert_eq!(text.matches(" class=").count(), 8, "8 items read: {text}");
    assert!(text.contains("1.0.1.8.0.255 class=3 attr=2 raw="), "{text}");
    assert!(text.contains("scaler=-1 unit=VOLTAGE(35)"), "{text}");
    assert!(text.contains("value=12345678"), "serial number: {text}");
    assert!(text.contains("profile rows=2880"), "whole profile: {text}");

    let mut args = client_args.to_vec();
    args.extend(["--objects", "--timeout", "10"]);
    let out = gurux_client(&py, port, &args);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && !text.contains("ERROR"), "{text}");
    assert!(text.contains("object list: 12 objects"), "{text}");

    let mut args = client_args.to_vec();
    args.extend(["--profile", "--entry", "1", "60", "--timeout", "10"]);
    let out = gurux_client(&py, port, &args);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("profile rows=60"), "by entry: {text}");
}

#[test]
fn gurux_reads_our_sim_wrapper_ln() {
    gurux_reads_our_sim(&["--wrapper"], &["--interface", "wrapper"]);
}

#[test]
fn gurux_reads_our_sim_hdlc_ln() {
    gurux_reads_our_sim(&["--hdlc"], &["--interface", "hdlc"]);
}

#[test]
fn gurux_reads_our_sim_wrapper_sn() {
    gurux_reads_our_sim(
        &["--wrapper", "--sn"],
        &["--interface", "wrapper", "--ref", "sn"],
    );
}

#[test]
fn gurux_reads_our_sim_hdlc_sn() {
    gurux_reads_our_sim(&["--hdlc", "--sn"], &["--interface", "hdlc", "--ref", "sn"]);
}

#[test]
fn gurux_reads_our_sim_by_range() {
    let Some(py) = peer_python() else { return };
    let (_sim, port) = start_sim(&[]);
    let out = gurux_client(
        &py,
        port,
        &["--profile", "--range-minutes", "120", "--timeout", "10"],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let rows: usize = text
        .split("profile rows=")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        (8..=9).contains(&rows),
        "two hours of 15-minute rows: {rows}"
    );
}
