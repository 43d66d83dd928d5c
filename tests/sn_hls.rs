//! Short-name referencing with high-level authentication: HLS pass 3 is a READ with
//! parameterized access of the Association SN's reply_to_HLS_authentication (0xFA58), pass 4
//! the READ's data. Our client against our simulator with every mechanism over WRAPPER and
//! HDLC, and against the Gurux meter (which implements the same READ form on its server side).
mod common;

use common::*;

const BK: &str = "000102030405060708090A0B0C0D0E0F";
const AK: &str = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF";

/// (simulator's flags, our client's flags) for each mechanism.
fn mechanisms() -> Vec<(Vec<&'static str>, Vec<&'static str>)> {
    let keys = ["--block-key", BK, "--auth-key", AK];
    let with = |a: &[&'static str], b: &[&'static str]| [a, b].concat();
    vec![
        (
            vec!["--auth", "high", "--secret", "Gurux0123456789A"],
            vec!["--auth", "high", "--secret", "Gurux0123456789A"],
        ),
        (
            vec!["--auth", "md5", "--secret", "Gurux"],
            vec!["--auth", "md5", "--secret", "Gurux"],
        ),
        (
            vec!["--auth", "sha1", "--secret", "Gurux"],
            vec!["--auth", "sha1", "--secret", "Gurux"],
        ),
        (
            vec!["--auth", "sha256", "--secret", "Gurux"],
            vec!["--auth", "sha256", "--secret", "Gurux"],
        ),
        (
            with(&["--auth", "gmac"], &keys),
            with(&["--auth", "gmac"], &keys),
        ),
        (
            with(&["--auth", "gmac", "--security", "authenc"], &keys),
            with(&["--auth", "gmac", "--security", "authenc"], &keys),
        ),
    ]
}

fn read(port: u16, ours: &[&str]) -> std::process::Output {
    let port = port.to_string();
    let mut args = vec![
        "read",
        "--port",
        &port,
        "--sn",
        "--client",
        "18",
        "--json",
        "--timeout",
        "10000",
    ];
    args.extend_from_slice(ours);
    args.extend_from_slice(&["1.0.1.8.0.255", "0.0.1.0.0.255", "1.0.99.1.0.255"]);
    run(&args)
}

#[test]
fn every_hls_mechanism_over_sn_with_our_simulator() {
    for hdlc in [false, true] {
        for (sim_flags, our_flags) in mechanisms() {
            let mut sim = vec!["--sn"];
            let mut ours = our_flags.clone();
            if hdlc {
                sim.push("--hdlc");
                ours.push("--hdlc");
            }
            sim.extend_from_slice(&sim_flags);
            let (_sim, port) = start_sim(&sim);
            let out = read(port, &ours);
            assert!(out.status.success(), "hdlc={hdlc} {our_flags:?}");
            let lines = json_lines(&out);
            // Two items and the profile's 2,880 rows, all read after the four passes.
            assert_eq!(lines.len(), 2 + 2880, "hdlc={hdlc} {our_flags:?}");
            assert!(
                lines.iter().all(|l| l["error"].is_null()),
                "hdlc={hdlc} {our_flags:?}"
            );
        }
    }
}

#[test]
fn a_wrong_secret_over_sn_fails_with_a_sentence() {
    let (_sim, port) = start_sim(&["--sn", "--auth", "md5", "--secret", "Gurux"]);
    let out = read(port, &["--auth", "md5", "--secret", "Wrong"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("meter failed authentication") && err.contains("refused our answer"),
        "{err}"
    );
    assert!(!err.contains("Wrong"), "the secret never shows: {err}");
}

/// Our `read` against the Gurux meter in SN with HLS.
fn gurux_read(meter_args: &[&str], ours: &[&str]) -> Option<std::process::Output> {
    let py = peer_python()?;
    let mut args = vec!["--ref", "sn"];
    args.extend_from_slice(meter_args);
    let (_meter, port) = start_gurux_meter(&py, &args);
    Some(read(port, ours))
}

#[test]
fn our_client_authenticates_over_sn_with_the_gurux_meter() {
    let keys = ["--block-key", BK, "--auth-key", AK];
    let cases: Vec<(Vec<&str>, Vec<&str>)> = vec![
        (
            vec!["--auth", "high", "--password", "Gurux0123456789A"],
            vec!["--auth", "high", "--secret", "Gurux0123456789A"],
        ),
        (
            vec!["--auth", "md5", "--password", "Gurux"],
            vec!["--auth", "md5", "--secret", "Gurux"],
        ),
        (
            vec![
                "--interface",
                "hdlc",
                "--auth",
                "md5",
                "--password",
                "Gurux",
            ],
            vec!["--hdlc", "--auth", "md5", "--secret", "Gurux"],
        ),
        (
            vec!["--auth", "sha1", "--password", "Gurux"],
            vec!["--auth", "sha1", "--secret", "Gurux"],
        ),
        (
            vec!["--auth", "gmac"],
            [&["--auth", "gmac"][..], &keys].concat(),
        ),
    ];
    for (meter, ours) in cases {
        let Some(out) = gurux_read(&meter, &ours) else {
            return;
        };
        assert!(out.status.success(), "{meter:?}");
        let lines = json_lines(&out);
        // The Gurux meter's profile holds 1000 rows.
        assert_eq!(lines.len(), 2 + 1000, "{meter:?}");
        assert!(lines.iter().all(|l| l["error"].is_null()), "{meter:?}");
    }
    // A wrong secret: the Gurux meter answers pass 3 with null-data, which we refuse.
    let Some(out) = gurux_read(
        &["--auth", "md5", "--password", "Gurux"],
        &["--auth", "md5", "--secret", "Wrong"],
    ) else {
        return;
    };
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("refused our answer"), "{err}");
    // HLS-SHA256 fails with the Gurux meter in SN as in LN: Gurux hashes only the secret
    // (peers README, "Not working"), so its f(StoC) check fails and it answers null-data.
    let Some(out) = gurux_read(
        &["--auth", "sha256", "--password", "Gurux"],
        &["--auth", "sha256", "--secret", "Gurux"],
    ) else {
        return;
    };
    assert!(
        !out.status.success(),
        "Gurux's SHA-256 differs from the standard's"
    );
}
