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
    // One line per item, one per captured row for the profile.
    assert_eq!(lines.len(), ITEMS.len() - 1 + 1000);
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
    let rows: Vec<_> = lines
        .iter()
        .filter(|l| l["obis"] == "1.0.99.1.0.255")
        .collect();
    assert_eq!(rows.len(), 1000, "whole profile by block transfer");
    assert!(rows[0]["time"].as_str().unwrap().contains('T'));
    assert!(
        rows[0]["row"]["1.0.1.8.0.255"].as_f64().unwrap() > 0.0,
        "{}",
        rows[0]
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
    // HDLC meters also list their IEC HDLC setup object.
    let expected = if sim_args.contains(&"--hdlc") { 14 } else { 13 };
    assert!(
        text.contains(&format!("object list: {expected} objects")),
        "{text}"
    );

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

// ---- Security (issue 5). The Gurux test keys are the Green Book's; the client system title
// of the Gurux client is 4142434445464748 and the Gurux meter's 4D4D4D0000BC614E.

const BK: &str = "000102030405060708090A0B0C0D0E0F";
const AK: &str = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF";

/// Our `read` against a Gurux meter with security; every item must be read.
fn secure_read(meter_args: &[&str], our_args: &[&str]) -> std::process::Output {
    let py = peer_python().expect("checked by the caller");
    let (_meter, port) = start_gurux_meter(&py, meter_args);
    let state = tempfile::tempdir().unwrap();
    let port = port.to_string();
    let mut args = vec!["read", "--port", &port, "--json", "--timeout", "10000"];
    args.extend_from_slice(our_args);
    args.extend_from_slice(&[
        "1.0.1.8.0.255",
        "0.0.1.0.0.255",
        "1.0.32.7.0.255",
        "1.0.99.1.0.255",
    ]);
    let out = bin()
        .args(&args)
        .env("DLMS_COUNTER_DB", state.path().join("counters.db"))
        .output()
        .unwrap();
    eprintln!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn all_read(out: &std::process::Output) {
    assert!(out.status.success(), "every item read");
    let lines = json_lines(out);
    assert_eq!(
        lines.len(),
        3 + 1000,
        "3 items, 1000 profile rows (block transfer, ciphered)"
    );
    assert!(lines.iter().all(|l| l["error"].is_null()));
}

#[test]
fn our_client_reads_gurux_with_every_mechanism_and_policy() {
    if peer_python().is_none() {
        return;
    }
    let cases: &[(&[&str], &[&str])] = &[
        (
            &["--auth", "md5", "--password", "Gurux"],
            &["--client", "18", "--auth", "md5", "--secret", "Gurux"],
        ),
        (
            &[
                "--interface",
                "hdlc",
                "--auth",
                "sha1",
                "--password",
                "Gurux",
            ],
            &[
                "--hdlc", "--client", "18", "--auth", "sha1", "--secret", "Gurux",
            ],
        ),
        (
            &["--auth", "high", "--password", "Gurux0123456789A"],
            &[
                "--client",
                "18",
                "--auth",
                "high",
                "--secret",
                "Gurux0123456789A",
            ],
        ),
        (
            &["--auth", "gmac"],
            &[
                "--client",
                "18",
                "--auth",
                "gmac",
                "--block-key",
                BK,
                "--auth-key",
                AK,
            ],
        ),
        (
            &["--security", "authenc"],
            &["--security", "authenc", "--block-key", BK, "--auth-key", AK],
        ),
        (
            &["--interface", "hdlc", "--security", "authenc"],
            &[
                "--hdlc",
                "--security",
                "authenc",
                "--block-key",
                BK,
                "--auth-key",
                AK,
            ],
        ),
        (
            &["--security", "enc"],
            &["--security", "enc", "--block-key", BK, "--auth-key", AK],
        ),
        (
            &[
                "--interface",
                "hdlc",
                "--auth",
                "gmac",
                "--security",
                "auth",
            ],
            &[
                "--hdlc",
                "--client",
                "18",
                "--auth",
                "gmac",
                "--security",
                "auth",
                "--block-key",
                BK,
                "--auth-key",
                AK,
            ],
        ),
        (
            &[
                "--auth",
                "low",
                "--password",
                "00000000",
                "--security",
                "authenc",
            ],
            &[
                "--client",
                "17",
                "--auth",
                "low",
                "--password",
                "00000000",
                "--security",
                "authenc",
                "--block-key",
                BK,
                "--auth-key",
                AK,
            ],
        ),
        (
            &[
                "--interface",
                "hdlc",
                "--auth",
                "gmac",
                "--security",
                "authenc",
            ],
            &[
                "--hdlc",
                "--client",
                "18",
                "--auth",
                "gmac",
                "--security",
                "authenc",
                "--block-key",
                BK,
                "--auth-key",
                AK,
                "--ic-obis",
                "0.0.43.1.0.255",
                "--server-system-title",
                "4D4D4D0000BC614E",
            ],
        ),
    ];
    for (meter, ours) in cases {
        eprintln!("--- meter {meter:?} / ours {ours:?}");
        all_read(&secure_read(meter, ours));
    }
}

#[test]
fn gurux_meter_security_failures_are_clear_errors() {
    if peer_python().is_none() {
        return;
    }
    let cases: &[(&[&str], &[&str], &str)] = &[
        (
            &["--auth", "md5", "--password", "Gurux"],
            &["--client", "18", "--auth", "md5", "--secret", "Wrong"],
            "authentication",
        ),
        (
            &["--security", "authenc"],
            &[
                "--security",
                "authenc",
                "--block-key",
                "0F0E0D0C0B0A09080706050403020100",
                "--auth-key",
                AK,
            ],
            "check the keys",
        ),
        (
            &["--security", "authenc"],
            &[
                "--security",
                "authenc",
                "--block-key",
                BK,
                "--auth-key",
                "00000000000000000000000000000000",
            ],
            "wrong key",
        ),
        (
            &["--auth", "gmac"],
            &[
                "--client",
                "18",
                "--auth",
                "gmac",
                "--block-key",
                BK,
                "--auth-key",
                AK,
                "--server-system-title",
                "0000000000000001",
            ],
            "system title",
        ),
    ];
    for (meter, ours, needle) in cases {
        let out = secure_read(meter, ours);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.starts_with("error: ") && err.contains(needle),
            "{needle}: {err}"
        );
        assert!(
            !err.contains("Wrong") && !err.contains("0F0E0D0C") && !err.to_uppercase().contains(BK),
            "no secret in the error: {err}"
        );
        assert!(json_lines(&out).is_empty(), "nothing read");
    }
}

#[test]
fn gurux_client_reads_our_sim_with_gmac_and_authenc() {
    let Some(py) = peer_python() else { return };
    for (sim, client) in [
        (
            vec!["--auth", "gmac", "--security", "authenc"],
            vec![
                "--auth",
                "gmac",
                "--security",
                "authenc",
                "--client-address",
                "18",
            ],
        ),
        (
            vec!["--hdlc", "--auth", "gmac", "--security", "authenc"],
            vec![
                "--interface",
                "hdlc",
                "--auth",
                "gmac",
                "--security",
                "authenc",
                "--client-address",
                "18",
            ],
        ),
        (
            vec!["--hdlc", "--auth", "md5", "--secret", "Gurux"],
            vec![
                "--interface",
                "hdlc",
                "--auth",
                "md5",
                "--password",
                "Gurux",
                "--client-address",
                "18",
            ],
        ),
    ] {
        let (_sim, port) = start_sim(&sim);
        let mut args = client.clone();
        args.extend(["--read", "--profile", "--timeout", "10"]);
        let out = gurux_client(&py, port, &args);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && !text.contains("ERROR"), "{text}");
        assert_eq!(text.matches(" class=").count(), 8, "{text}");
        assert!(text.contains("profile rows=2880"), "{text}");
    }
}

#[test]
fn repeated_ciphered_sessions_with_the_gurux_meter_pass_the_replay_check() {
    // The meter's counter floor is kept between sessions (tests/replay.rs): a real meter, whose
    // counter goes on across associations, must still be read every time.
    let Some(py) = peer_python() else { return };
    let (_meter, port) = start_gurux_meter(&py, &["--security", "authenc"]);
    let port = port.to_string();
    let state = tempfile::tempdir().unwrap();
    for session in 0..3 {
        let out = bin()
            .args(["read", "--port", &port, "--timeout", "10000"])
            .args(["--security", "authenc", "--block-key", BK, "--auth-key", AK])
            .arg("1.0.1.8.0.255")
            .env("DLMS_COUNTER_DB", state.path().join("counters.db"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "session {session}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

// ---- Writes (issue 16): the Gurux client's SET / ACTION tool against our simulator.

/// What `write_demo.py` printed for `--get SPEC` (after `OK get SPEC = `).
fn got<'a>(text: &'a str, spec: &str) -> &'a str {
    let prefix = format!("OK get {spec} = ");
    text.lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .unwrap_or_else(|| panic!("no {prefix}: {text}"))
}

/// Runs `write_demo.py` with the connection flags and the steps; every step must succeed.
/// Each run starts its invocation counter above the last (our simulator, like a meter,
/// refuses a client counter that does not increase).
fn write_demo_ok(py: &std::path::PathBuf, port: u16, client: &[&str], steps: &[&str]) -> String {
    static RUN: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
    let ic = (RUN.fetch_add(1, std::sync::atomic::Ordering::Relaxed) * 1000).to_string();
    let mut args = client.to_vec();
    args.extend(["--timeout", "10", "--invocation-counter", &ic]);
    args.extend_from_slice(steps);
    let out = gurux_write_demo(py, port, &args);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success() && !text.contains("ERROR"), "{text}");
    text
}

/// Clock, register, profile and disconnect control changed by the Gurux client, each change
/// read back (in the same association and in later ones).
fn gurux_writes_our_sim(sim: &[&str], client: &[&str]) {
    let Some(py) = peer_python() else { return };
    let (_sim, port) = start_sim(sim);
    let clock = "0.0.1.0.0.255:2:8";
    let energy = "1.0.1.8.0.255:2:3";
    let text = write_demo_ok(
        &py,
        port,
        client,
        &[
            "--set",
            "0.0.1.0.0.255:2:8=now+3600",
            "--set",
            "1.0.1.8.0.255:2:3=5",
            "--get",
            clock,
            "--get",
            energy,
        ],
    );
    // Gurux prints the date-time as `MM/DD/YY HH:MM:SS` in local time: an hour ahead of ours.
    use chrono::Timelike;
    let shown = got(&text, clock).rsplit(' ').next().unwrap().to_string();
    let hms: Vec<i64> = shown.split(':').map(|p| p.parse().unwrap()).collect();
    let shown = hms[0] * 3600 + hms[1] * 60 + hms[2];
    let expected = i64::from(
        (chrono::Local::now() + chrono::Duration::hours(1))
            .time()
            .num_seconds_from_midnight(),
    );
    let diff = (shown - expected).rem_euclid(86_400);
    assert!(
        !(120..=86_400 - 120).contains(&diff),
        "clock moved by 1 h: {text}"
    );
    let value: u64 = got(&text, energy).parse().unwrap();
    assert!((5..=6).contains(&value), "register set to 5: {text}");

    let text = write_demo_ok(
        &py,
        port,
        client,
        &[
            "--action",
            "1.0.1.8.0.255:1:3",
            "--action",
            "1.0.99.1.0.255:1:7",
            "--action",
            "1.0.99.1.0.255:2:7",
            "--action",
            "0.0.96.3.10.255:1:70",
            "--get",
            energy,
            "--get",
            "1.0.99.1.0.255:7:7",
            "--get",
            "0.0.96.3.10.255:2:70",
            "--get",
            "0.0.96.3.10.255:3:70",
        ],
    );
    assert_eq!(got(&text, energy), "0", "reset: {text}");
    assert_eq!(
        got(&text, "1.0.99.1.0.255:7:7"),
        "1",
        "reset, then one capture"
    );
    assert_eq!(got(&text, "0.0.96.3.10.255:2:70"), "False", "disconnected");
    assert_eq!(got(&text, "0.0.96.3.10.255:3:70"), "0");

    // A later association sees the meter as it was left, and closes the supply again.
    let text = write_demo_ok(
        &py,
        port,
        client,
        &[
            "--get",
            "0.0.96.3.10.255:2:70",
            "--action",
            "0.0.96.3.10.255:2:70",
        ],
    );
    assert_eq!(got(&text, "0.0.96.3.10.255:2:70"), "True", "{text}");
    let text = write_demo_ok(
        &py,
        port,
        client,
        &[
            "--get",
            "0.0.96.3.10.255:2:70",
            "--get",
            "1.0.99.1.0.255:7:7",
        ],
    );
    assert_eq!(got(&text, "0.0.96.3.10.255:2:70"), "True", "reconnected");
    assert_eq!(
        got(&text, "1.0.99.1.0.255:7:7"),
        "1",
        "kept across connections"
    );
}

const LLS: [&str; 6] = [
    "--auth",
    "low",
    "--password",
    "00000000",
    "--client-address",
    "17",
];

#[test]
fn gurux_writes_our_sim_wrapper_with_password() {
    gurux_writes_our_sim(&["--password", "00000000"], &LLS);
}

#[test]
fn gurux_writes_our_sim_hdlc_with_password() {
    let mut client = vec!["--interface", "hdlc"];
    client.extend(LLS);
    gurux_writes_our_sim(&["--hdlc", "--password", "00000000"], &client);
}

#[test]
fn gurux_writes_our_sim_wrapper_with_gmac_and_authenc() {
    gurux_writes_our_sim(
        &["--auth", "gmac", "--security", "authenc"],
        &[
            "--auth",
            "gmac",
            "--security",
            "authenc",
            "--client-address",
            "18",
        ],
    );
}

#[test]
fn gurux_writes_our_sim_hdlc_with_gmac_and_authenc() {
    gurux_writes_our_sim(
        &["--hdlc", "--auth", "gmac", "--security", "authenc"],
        &[
            "--interface",
            "hdlc",
            "--auth",
            "gmac",
            "--security",
            "authenc",
            "--client-address",
            "18",
        ],
    );
}

#[test]
fn gurux_writes_refused_by_our_sim_are_errors() {
    let Some(py) = peer_python() else { return };
    let (_sim, port) = start_sim(&["--password", "00000000"]);
    // A read-only attribute, for an authenticated client.
    let mut args = LLS.to_vec();
    args.extend(["--timeout", "10", "--set", "1.0.32.7.0.255:2:3=5"]);
    let out = gurux_write_demo(&py, port, &args);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    assert!(
        text.contains("ERROR set 1.0.32.7.0.255:2:3") && text.contains("Read-Write denied"),
        "{text}"
    );
    // The public client (16, no authentication) changes nothing.
    let out = gurux_write_demo(
        &py,
        port,
        &["--timeout", "10", "--action", "0.0.96.3.10.255:1:70"],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("ERROR action"), "{text}");
    let text = write_demo_ok(&py, port, &LLS, &["--get", "0.0.96.3.10.255:2:70"]);
    assert_eq!(
        got(&text, "0.0.96.3.10.255:2:70"),
        "True",
        "still connected"
    );
}
