//! A misbehaving simulated meter (`simulate --fault`), one fault kind at a time: the logger gives
//! a precise error, never panics, and other meters are not affected.
mod common;

use common::*;
use dlms_logger::store::Scan;

/// `read` against a simulator with `fault`; returns the error line (the read must fail).
fn fails(sim_args: &[&str], read_args: &[&str]) -> String {
    let (_sim, port) = start_sim(sim_args);
    let port = port.to_string();
    let mut args = vec!["read", "--port", &port, "--timeout", "700"];
    args.extend_from_slice(read_args);
    let out = run(&args);
    assert!(!out.status.success(), "the read must fail");
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(!err.contains("panicked"), "{err}");
    format!("{err}{stdout}")
}

#[test]
fn each_fault_gives_a_precise_error() {
    let cases: &[(&[&str], &[&str], &str)] = &[
        (
            &["--fault", "drop=1"],
            &["1.0.1.8.0.255"],
            "closed the connection",
        ),
        (&["--fault", "garbage"], &["1.0.1.8.0.255"], "WRAPPER"),
        (
            &["--hdlc", "--fault", "garbage"],
            &["--hdlc", "1.0.1.8.0.255"],
            "HDLC frame",
        ),
        (
            &["--hdlc", "--fault", "bad-fcs"],
            &["--hdlc", "1.0.1.8.0.255"],
            "check sequence",
        ),
        (
            &["--fault", "truncate"],
            &["1.0.1.8.0.255"],
            "incomplete frame (",
        ),
        (
            &["--hdlc", "--fault", "truncate"],
            &["--hdlc", "1.0.1.8.0.255"],
            "incomplete frame (",
        ),
        (
            &["--fault", "slow=1500"],
            &["1.0.1.8.0.255"],
            "no answer from the meter within 700 ms",
        ),
        (
            &["--hdlc", "--fault", "silent"],
            &["--hdlc", "1.0.1.8.0.255"],
            "no answer from the meter",
        ),
        (&["--fault", "reboot"], &["1.0.99.1.0.255"], "block"),
        (&["--fault", "exception"], &["1.0.1.8.0.255"], "exception"),
        (
            &["--fault", "reject"],
            &["1.0.1.8.0.255"],
            "rejected the association",
        ),
    ];
    for (sim, read, needle) in cases {
        let text = fails(sim, read);
        assert!(
            text.contains(needle),
            "{sim:?}: expected {needle:?} in {text}"
        );
    }
}

#[test]
fn a_bad_fault_name_is_a_clear_error() {
    let out = run(&["simulate", "--port", "0", "--fault", "melt"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown fault"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_faulty_meter_fails_precisely_recovers_and_leaves_others_alone() {
    use dlms_logger::runner::Runner;
    use dlms_logger::sim::{self, fault::Fault, SimConfig};
    use dlms_logger::store::{LogFilter, Store, Writer};
    use std::time::Duration;
    let (good, _g) = sim::start(SimConfig {
        port: 0,
        ..SimConfig::default()
    })
    .await
    .unwrap();
    // Drops every link after 3 requests: a read of 2 items (plus its scaler_units in one
    // with-list) fits, a profile read does not.
    let (bad, _b) = sim::start(SimConfig {
        port: 0,
        fault: Some(Fault::DropAfter(3)),
        ..SimConfig::default()
    })
    .await
    .unwrap();
    let cfg = dlms_logger::queue::Config::parse(
        &format!(
            r#"
[[connection]]
name = "good"
tcp = {{ host = "127.0.0.1", port = {} }}
[[connection]]
name = "bad"
tcp = {{ host = "127.0.0.1", port = {}, persistent = false }}
[[meter]]
name = "g"
connection = "good"
[[meter]]
name = "b"
connection = "bad"
retries = 0
[[request]]
name = "regs"
meters = ["g", "b"]
schedule = {{ every = "300ms" }}
items = [{{ name = "energy", obis = "1.0.1.8.0.255" }}, {{ name = "volts", obis = "1.0.32.7.0.255" }}]
[[request]]
name = "profile"
meters = ["b"]
schedule = {{ every = "300ms" }}
items = [{{ name = "load", obis = "1.0.99.1.0.255", entries = 500 }}]
"#,
            good[0].port(),
            bad[0].port()
        ),
        "f.toml",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("log.db");
    let (writer, handle) = Writer::spawn(&db).unwrap();
    let runner = Runner::start(cfg, handle, 1);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    runner.shutdown().await;
    writer.shutdown().unwrap();
    let store = Store::open(&db).unwrap();
    let rows = store.log_page(&LogFilter::default(), None, 10_000).unwrap();
    let good_rows: Vec<_> = rows.iter().filter(|r| r.record.meter == "g").collect();
    assert!(good_rows.len() >= 4 && good_rows.iter().all(|r| r.record.status == "ok"));
    let profile_fail: Vec<_> = rows
        .iter()
        .filter(|r| r.record.request == "profile")
        .collect();
    assert!(!profile_fail.is_empty());
    assert!(
        profile_fail
            .iter()
            .all(|r| r.record.status.contains("closed the connection")),
        "{profile_fail:?}"
    );
    // Every fire reconnects: the small request on the same faulty meter keeps succeeding.
    let bad_regs_ok = rows
        .iter()
        .filter(|r| r.record.meter == "b" && r.record.request == "regs" && r.record.status == "ok")
        .count();
    assert!(bad_regs_ok >= 2, "reconnected on later fires");
}

/// One fault in a running logger. A healthy meter and a faulty one are polled every 300 ms on
/// their own connections: every fire on the faulty one fails with a status containing
/// `needle`, each on a new link (no hang, no panic), and the healthy one never fails. Then the
/// faulty meter is repaired (a healthy simulator on the same port) and its next fires succeed.
async fn logger_reacts_to(fault: dlms_logger::sim::fault::Fault, hdlc: bool, needle: &str) {
    use dlms_logger::engine::Interface;
    use dlms_logger::runner::Runner;
    use dlms_logger::sim::{self, fault::Fault, SimConfig};
    use dlms_logger::store::{LogFilter, Store, Writer};
    use std::time::Duration;
    let interface = if hdlc {
        Interface::Hdlc
    } else {
        Interface::Wrapper
    };
    let sim_config = |fault: Option<Fault>, port: u16| SimConfig {
        port,
        interface,
        fault,
        ..SimConfig::default()
    };
    let (good, _g) = sim::start(sim_config(None, 0)).await.unwrap();
    let (bad, bad_sim) = sim::start(sim_config(Some(fault), 0)).await.unwrap();
    let iface = if hdlc { "hdlc" } else { "wrapper" };
    // A profile item needs block transfer (the reboot fault strikes there).
    let cfg = dlms_logger::queue::Config::parse(
        &format!(
            r#"
[[connection]]
name = "good"
tcp = {{ host = "127.0.0.1", port = {} }}
[[connection]]
name = "bad"
tcp = {{ host = "127.0.0.1", port = {}, persistent = false }}
[[meter]]
name = "g"
connection = "good"
interface = "{iface}"
[[meter]]
name = "b"
connection = "bad"
interface = "{iface}"
retries = 0
timeout_ms = 400
[[request]]
name = "regs"
meters = ["g", "b"]
schedule = {{ every = "300ms" }}
items = [{{ name = "energy", obis = "1.0.1.8.0.255" }}, {{ name = "load", obis = "1.0.99.1.0.255", entries = 200 }}]
"#,
            good[0].port(),
            bad[0].port()
        ),
        "f.toml",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("log.db");
    let (writer, handle) = Writer::spawn(&db).unwrap();
    let runner = Runner::start(cfg, handle, 1);
    tokio::time::sleep(Duration::from_millis(2000)).await;
    // Repaired: the same address now answers properly.
    bad_sim.abort();
    let _ = bad_sim.await;
    let repaired_at = chrono::Utc::now().timestamp_millis();
    // The aborted simulator's listener closes when its task is dropped, a moment later.
    let mut healthy = None;
    for _ in 0..100 {
        match sim::start(sim_config(None, bad[0].port())).await {
            Ok(s) => {
                healthy = Some(s);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
    assert!(healthy.is_some(), "the port is free again");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    runner.shutdown().await;
    writer.shutdown().unwrap();
    let store = Store::open(&db).unwrap();
    let rows = store
        .log_page(&LogFilter::default(), None, 100_000)
        .unwrap();
    fn by<'a>(
        rows: &'a [dlms_logger::store::Row],
        meter: &'a str,
    ) -> impl Iterator<Item = &'a dlms_logger::store::Row> + 'a {
        rows.iter().filter(move |r| r.record.meter == meter)
    }
    let of = |meter: &'static str| by(&rows, meter);
    assert!(
        of("g").count() >= 8,
        "{fault:?}: the healthy meter kept being read"
    );
    assert!(
        of("g").all(|r| r.record.status == "ok"),
        "{fault:?}: the healthy meter is not affected"
    );
    let failed: Vec<_> = of("b")
        .filter(|r| r.record.ts_ms < repaired_at && r.record.status != "ok")
        .collect();
    let polls: std::collections::BTreeSet<i64> = failed.iter().map(|r| r.record.poll).collect();
    assert!(
        polls.len() >= 2,
        "{fault:?}: every fire tries again on a new link: {failed:?}"
    );
    assert!(
        failed.iter().all(|r| r.record.status.contains(needle)),
        "{fault:?}: expected {needle:?} in every failure: {failed:?}"
    );
    let recovered = of("b")
        .filter(|r| r.record.ts_ms > repaired_at + 400 && r.record.status == "ok")
        .count();
    assert!(
        recovered >= 2,
        "{fault:?}: the repaired meter is read again"
    );
}

macro_rules! fault_tests {
    ($($name:ident: $fault:expr, $hdlc:expr, $needle:expr;)*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            use dlms_logger::sim::fault::Fault;
            #[allow(unused_imports)]
            use std::time::Duration;
            logger_reacts_to($fault, $hdlc, $needle).await;
        }
    )*};
}

fault_tests! {
    logger_fault_drop: Fault::DropAfter(1), false, "closed the connection";
    logger_fault_garbage: Fault::Garbage, false, "WRAPPER";
    logger_fault_garbage_hdlc: Fault::Garbage, true, "HDLC frame";
    logger_fault_bad_fcs: Fault::BadFcs, true, "check sequence";
    logger_fault_truncate: Fault::Truncate, false, "incomplete frame (";
    logger_fault_truncate_hdlc: Fault::Truncate, true, "incomplete frame (";
    logger_fault_slow: Fault::Slow(Duration::from_millis(1000)), false, "no answer from the meter within 400 ms";
    logger_fault_silent: Fault::Silent, true, "no answer from the meter";
    logger_fault_reboot: Fault::RebootMidBlock, false, "block";
    logger_fault_exception: Fault::Exception, false, "exception";
    logger_fault_reject: Fault::RejectAssociation, false, "rejected the association";
}
