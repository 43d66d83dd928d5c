//! Messages of the command line read as sentences: no Rust syntax, ranges that are the ones
//! accepted, and never an empty answer that looks like success.
mod common;

use common::*;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn schedule_that_never_fires_says_so_and_fails() {
    let out = run(&["schedule", "0 0 31 2 *"]);
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(
        stderr(&out).contains("can never fire: day 31 does not exist in February"),
        "{}",
        stderr(&out)
    );
    // `?` takes the start's day: the 31st, and February has none.
    let out = run(&[
        "schedule",
        "0 0 ? 2 *",
        "--from",
        "2026-01-31T12:00:00+01:00",
    ]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("never fires"), "{}", stderr(&out));
    let out = run(&["schedule", "every 1h", "--count", "0"]);
    assert!(!out.status.success(), "--count 0 would print nothing");
}

#[test]
fn cli_port_out_of_range_names_the_range_accepted() {
    for (args, want) in [
        (
            vec!["read", "--port", "70000", "1.0.1.8.0.255"],
            "port 70000 is not possible; use 1 to 65535",
        ),
        (
            vec!["read", "--port", "0", "1.0.1.8.0.255"],
            "port 0 is not possible; use 1 to 65535",
        ),
        (
            vec!["simulate", "--port", "65536"],
            "port 65536 is not possible; use 0 (any free port) to 65535",
        ),
    ] {
        let out = run(&args);
        assert!(!out.status.success());
        let err = stderr(&out);
        assert!(err.contains(want), "{err}");
        assert!(!err.contains("..="), "no Rust range syntax: {err}");
    }
}

#[test]
fn mark_and_space_parity_are_not_offered() {
    let help = String::from_utf8_lossy(&run(&["read", "--help"]).stdout).into_owned();
    let parity = help
        .lines()
        .skip_while(|l| !l.contains("--parity"))
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    assert!(parity.contains("none, even or odd"), "{parity}");
    assert!(
        !parity.contains("mark") && !parity.contains("space"),
        "{parity}"
    );
    let out = run(&[
        "read",
        "--serial",
        "/dev/null",
        "--parity",
        "mark",
        "1.0.1.8.0.255",
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("mark parity is not supported"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn simulate_with_a_password_refuses_the_public_client_all_but_the_association() {
    let (_sim, port) = start_sim(&["--password", "pw-4711"]);
    let port = port.to_string();
    let public = |obis: &str| run(&["read", "--port", &port, "--client", "16", obis]);
    for obis in ["1.0.1.8.0.255", "0.0.42.0.0.255", "0.0.96.1.0.255"] {
        let out = public(obis);
        assert!(!out.status.success(), "{obis} read without the password");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("read-write denied"), "{obis}: {text}");
    }
    let out = public("0.0.40.0.0.255");
    assert!(
        out.status.success(),
        "the association object stays readable"
    );
    let out = run(&[
        "read",
        "--port",
        &port,
        "--client",
        "1",
        "--auth",
        "low",
        "--password",
        "pw-4711",
        "1.0.1.8.0.255",
    ]);
    assert!(out.status.success(), "with the password it reads");
}

#[test]
fn meter_names_with_control_characters_are_escaped_in_logs() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("evil.toml");
    // Nothing listens on port 1: the failure is logged with the meter's name.
    std::fs::write(
        &config,
        "[[connection]]\nname = \"c\"\ntcp = { host = \"127.0.0.1\", port = 1 }\n[[meter]]\nname = \"m\\u001b[2J\\u202Eevil\"\nconnection = \"c\"\nretries = 0\n[[request]]\nname = \"r\"\nmeters = [\"m\\u001b[2J\\u202Eevil\"]\nschedule = { once = true }\nitems = [{ name = \"e\", obis = \"1.0.1.8.0.255\" }]\n",
    )
    .unwrap();
    let db = dir.path().join("log.db");
    let child = bin()
        .args(["run", "-c"])
        .arg(&config)
        .arg("--db")
        .arg(&db)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let _ = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("m\\x1b[2J\\u{202e}evil"), "{err}");
    assert!(
        !err.contains('\u{1b}') && !err.contains('\u{202e}'),
        "{err}"
    );
}

#[test]
fn no_rust_debug_text_in_simulate_errors() {
    let out = run(&["simulate", "--auth", "sha1"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("--auth sha1 needs --secret"), "{err}");
    assert!(!err.contains("Sha1"), "no Rust enum names: {err}");
}
