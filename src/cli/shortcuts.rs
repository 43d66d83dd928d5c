//! The changes operators make most, as commands of their own: `clock sync|show`,
//! `disconnect open|close|status`, `reset OBIS`, `capture OBIS`. Each is a SET or ACTION made
//! like `write` and `call` (`change.rs`), with what it changes read before and after.

use super::change::{call_method, dry_run, host_now, read_one, Apply, ChangeOpts, EXIT_DONE};
use super::connection::ConnectionArgs;
use anyhow::{bail, Context, Result};
use clap::ValueEnum;
use dlms_logger::dlms::client::{AttributeRef, Change, MethodRef};
use dlms_logger::dlms::data::Data;
use dlms_logger::dlms::datetime::CosemDateTime;
use dlms_logger::dlms::obis::Obis;
use dlms_logger::engine::change::drift;
use dlms_logger::engine::value::data_json;
use dlms_logger::queue::input::parse_like;
use serde_json::json;

/// `clock` actions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClockAction {
    /// Set the meter's clock from this computer's (local time, its offset and summer time).
    Sync,
    /// Show the meter's clock and its drift from this computer's.
    Show,
}

/// `disconnect` actions (class 70 disconnect control).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DisconnectAction {
    /// Open the breaker: remote_disconnect (method 1).
    Open,
    /// Close the breaker: remote_reconnect (method 2).
    Close,
    /// Show output state, control state and control mode.
    Status,
}

/// The disconnect control object most meters use.
pub(super) const DISCONNECT: Obis = Obis::new(0, 0, 96, 3, 10, 255);
/// The clock.
pub(super) const CLOCK: Obis = Obis::new(0, 0, 1, 0, 0, 255);

/// `dlms-logger reset OBIS`: method 1 of a register (class 3), extended register (4), demand
/// register (5) or profile (7); shows the value before and after.
pub async fn reset(
    conn: &ConnectionArgs,
    obis: &str,
    class: Option<u16>,
    opts: &ChangeOpts,
) -> Result<u8> {
    let obis: Obis = obis.parse().context("OBIS")?;
    let class = class.unwrap_or_else(|| dlms_logger::queue::default_class(&obis));
    let watch = match class {
        3 | 4 => 2,
        5 => 3,
        7 => 7,
        other => bail!(
            "{obis} is class {other}; reset is method 1 of a register (3), extended register (4), \
             demand register (5) or profile (7): use `call {obis}:N` for others"
        ),
    };
    call_method(
        conn,
        opts,
        MethodRef::new(class, obis, 1),
        Some(Data::Integer(0)),
        Some(AttributeRef::new(class, obis, watch)),
    )
    .await
}

/// `dlms-logger capture OBIS`: method 2 of a profile (class 7); shows the entries in use.
pub async fn capture(conn: &ConnectionArgs, obis: &str, opts: &ChangeOpts) -> Result<u8> {
    let obis: Obis = obis.parse().context("OBIS")?;
    call_method(
        conn,
        opts,
        MethodRef::new(7, obis, 2),
        Some(Data::Integer(0)),
        Some(AttributeRef::new(7, obis, 7)),
    )
    .await
}

/// The control state in words (Blue Book, class 70).
fn control_state(d: &Data) -> String {
    match d {
        Data::Enum(0) => "disconnected".into(),
        Data::Enum(1) => "connected".into(),
        Data::Enum(2) => "ready for reconnection".into(),
        other => other.to_string(),
    }
}

/// `dlms-logger disconnect open|close|status`.
pub async fn disconnect(
    conn: &ConnectionArgs,
    action: DisconnectAction,
    opts: &ChangeOpts,
) -> Result<u8> {
    let state = AttributeRef::new(70, DISCONNECT, 2);
    match action {
        DisconnectAction::Open | DisconnectAction::Close => {
            let method = if action == DisconnectAction::Open {
                1
            } else {
                2
            };
            call_method(
                conn,
                opts,
                MethodRef::new(70, DISCONNECT, method),
                Some(Data::Integer(0)),
                Some(state),
            )
            .await
        }
        DisconnectAction::Status => {
            if opts.dry_run {
                bail!("disconnect status changes nothing; there is nothing to dry-run");
            }
            let mut opened = conn.open().await?;
            let items = [
                state,
                AttributeRef::new(70, DISCONNECT, 3),
                AttributeRef::new(70, DISCONNECT, 4),
            ];
            let r = opened.session.read(&items).await?;
            opened.close().await;
            let get = |i: usize| r.get(i).and_then(|x| x.as_ref().ok());
            let output = get(0).map(|d| match d {
                Data::Boolean(true) => "closed (supply on)".to_string(),
                Data::Boolean(false) => "open (supply off)".to_string(),
                d => d.to_string(),
            });
            let ctl = get(1).map(control_state);
            let mode = get(2).map(|d| d.to_string());
            if opts.json {
                println!(
                    "{}",
                    json!({
                        "obis": DISCONNECT.to_string(),
                        "output_state": get(0).map(data_json),
                        "control_state": get(1).map(data_json),
                        "control_state_text": ctl,
                        "control_mode": get(2).map(data_json),
                    })
                );
            } else {
                let or = |v: Option<String>, i: usize| {
                    v.unwrap_or_else(|| match r.get(i) {
                        Some(Err(e)) => format!("not read: {e}"),
                        _ => "not read".into(),
                    })
                };
                println!("disconnect control {DISCONNECT}");
                println!("  breaker (output state): {}", or(output, 0));
                println!("  control state:          {}", or(ctl, 1));
                println!("  control mode:           {}", or(mode, 2));
            }
            Ok(if r.iter().all(|x| x.is_ok()) { 0 } else { 1 })
        }
    }
}

/// `dlms-logger clock sync|show`.
pub async fn clock(conn: &ConnectionArgs, action: ClockAction, opts: &ChangeOpts) -> Result<u8> {
    let attr = AttributeRef::new(8, CLOCK, 2);
    if opts.dry_run {
        if action == ClockAction::Show {
            bail!("clock show changes nothing; there is nothing to dry-run");
        }
        let (now, dst) = host_now();
        let value = Data::OctetString(
            CosemDateTime::from_chrono(&now, if dst { 0x80 } else { 0 })
                .to_bytes()
                .to_vec(),
        );
        return Ok(dry_run(
            &Change::Set {
                attribute: attr,
                value,
            },
            opts,
        ));
    }
    let mut opened = conn.open().await?;
    let old = read_one(&mut opened, &attr).await?;
    let (now, dst) = host_now();
    let before = old.as_ref().and_then(|d| drift(d, now));
    let say = |d: Option<f64>| match d {
        Some(s) => format!("{s:+.1} s"),
        None => "unknown".into(),
    };
    if action == ClockAction::Show {
        opened.close().await;
        match (&old, opts.json) {
            (Some(v), true) => println!(
                "{}",
                json!({"obis": CLOCK.to_string(), "clock": v.shown(), "drift_s": before})
            ),
            (Some(v), false) => println!(
                "meter clock {}  (drift from this computer: {})",
                v.shown(),
                say(before)
            ),
            (None, _) => bail!("the meter's clock could not be read"),
        }
        return Ok(EXIT_DONE);
    }
    let Some(current) = old.clone() else {
        opened.close().await;
        bail!("the meter's clock could not be read, so its type is unknown; use `write 0.0.1.0.0.255:2 now --type datetime-octets`");
    };
    // The value is taken at the last moment, so the drift after is as small as the link allows.
    let (now, dst2) = host_now();
    let value = parse_like(&current, "now", now, dst || dst2)?;
    let mut report = Apply::set(conn, opts, attr, value, old)
        .report(opened)
        .await?;
    let after = report
        .new
        .as_ref()
        .and_then(|d| drift(d, chrono::Local::now().fixed_offset()));
    report.text.push(format!(
        "  drift from this computer: before {}, after {}",
        say(before),
        say(after)
    ));
    report.json["drift_before_s"] = json!(before);
    report.json["drift_after_s"] = json!(after);
    Ok(report.print(opts.json))
}
