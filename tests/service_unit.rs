//! The systemd unit in assets/: restarts, a user of its own, hardening, and an ExecStart
//! whose command and flags the binary knows.

use std::process::Command;

const UNIT: &str = include_str!("../assets/dlms-logger.service");

fn values(key: &str) -> Vec<&'static str> {
    UNIT.lines()
        .filter_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .collect()
}

#[test]
fn the_unit_restarts_runs_as_its_own_user_and_is_hardened() {
    assert_eq!(values("Restart"), ["on-failure"]);
    assert_eq!(values("User"), ["dlms-logger"]);
    for (key, value) in [
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("CapabilityBoundingSet", ""),
        ("StateDirectory", "dlms-logger"),
        ("UMask", "0077"),
    ] {
        assert_eq!(values(key), [value], "{key}");
    }
    // The state folder holds the log and the counters; nothing else is writable.
    assert!(values("ReadWritePaths").is_empty());
}

#[test]
fn exec_start_names_a_command_and_flags_the_binary_knows() {
    let exec = values("ExecStart")[0];
    let args: Vec<&str> = exec.split_whitespace().skip(1).collect();
    assert_eq!(args[0], "run");
    let help = Command::new(env!("CARGO_BIN_EXE_dlms-logger"))
        .args(["run", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    for flag in args.iter().filter(|a| a.starts_with('-')) {
        let long = flag.split('=').next().unwrap();
        assert!(help.contains(long), "`run` has no {long}:\n{help}");
    }
    // The counter store is pinned where the state lives.
    assert!(values("Environment")
        .iter()
        .any(|e| e.starts_with("DLMS_COUNTER_DB=/var/lib/dlms-logger/")));
}
