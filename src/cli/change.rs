//! Changing a meter from the command line: `write` and `call` (the shortcuts operators use
//! most — `clock`, `disconnect`, `reset`, `capture` — are in `shortcuts.rs`). Each reads
//! what it changes before and after, says old → new, can record itself in the log database
//! (`--db`), and with `--dry-run` prints the request without connecting.
//!
//! Exit codes: 0 done, 1 not done (bad input, no connection, no association), 2 the meter
//! refused (its result code is printed), 3 sent but unanswered: the outcome is unknown and the
//! value read back (when it could be) is printed; never sent again on its own.

use super::connection::{ConnectionArgs, Opened};
use anyhow::{bail, Context, Result};
use clap::Args;
use dlms_logger::dlms::client::{AttributeRef, Change, ChangeOutcome, MethodRef};
use dlms_logger::dlms::data::Data;
use dlms_logger::dlms::obis::Obis;
use dlms_logger::dlms::xdlms::summarize;
use dlms_logger::engine::value::data_json;
use dlms_logger::engine::EngineError;
pub(super) use dlms_logger::queue::input::host_now;
use dlms_logger::queue::input::{parse_as, parse_like, TYPES};
use dlms_logger::store::{Store, WriteOutcome, WriteRecord};
use serde_json::{json, Value};
use std::path::PathBuf;

/// Exit code: the change was made.
pub const EXIT_DONE: u8 = 0;
/// Exit code: the meter refused the change.
pub const EXIT_REFUSED: u8 = 2;
/// Exit code: the change was sent but no answer came; whether it was made is unknown.
pub const EXIT_UNKNOWN: u8 = 3;

/// Flags every change command takes.
#[derive(Debug, Clone, Args)]
pub struct ChangeOpts {
    /// Print the request, decoded and in hex, without connecting or sending anything.
    #[arg(long)]
    pub dry_run: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Also record the change (request, old and new values, outcome) in this log database's
    /// `writes` table.
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
}

/// Parses `OBIS[:N]` (N an attribute or method index, default `default`).
pub(super) fn obis_and_index(text: &str, what: &str, default: Option<i8>) -> Result<(Obis, i8)> {
    // The dashed form has its own ':' (1-0:1.8.0*255), so the index is the part after a
    // ':' that does not leave a dashed OBIS unfinished.
    let (obis_text, index) = match text.rsplit_once(':') {
        Some((o, i)) if !o.is_empty() && (!o.contains('-') || o.contains(':')) => (o, Some(i)),
        _ => (text, None),
    };
    let obis: Obis = obis_text
        .parse()
        .with_context(|| format!("{text:?}: not an OBIS code"))?;
    let index = match (index, default) {
        (Some(i), _) => match i.parse::<i8>() {
            Ok(n) if n >= 1 => n,
            _ => bail!("{text:?}: {what} {i:?} is not a number from 1 to 127"),
        },
        (None, Some(d)) => d,
        (None, None) => bail!("{text:?}: give the {what} as OBIS:{what}, e.g. {obis}:1"),
    };
    Ok((obis, index))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// Prints a dry run: the request decoded and in hex (plain; a ciphered association sends it
/// ciphered).
pub(super) fn dry_run(change: &Change, opts: &ChangeOpts) -> u8 {
    let apdu = change.plain_apdu();
    if opts.json {
        println!(
            "{}",
            json!({
                "dry_run": true,
                "request": change.describe(),
                "apdu": summarize(&apdu),
                "hex": hex(&apdu),
            })
        );
    } else {
        println!("{}", change.describe());
        println!("APDU: {}", summarize(&apdu));
        println!("hex (plain, before any ciphering): {}", hex(&apdu));
        println!("dry run: nothing was sent");
    }
    EXIT_DONE
}

/// Reads one attribute; `None` when it could not be read (the reason goes to stderr).
pub(super) async fn read_one(opened: &mut Opened, attr: &AttributeRef) -> Result<Option<Data>> {
    let r = opened.session.read(std::slice::from_ref(attr)).await?;
    Ok(match r.into_iter().next() {
        Some(Ok(d)) => Some(d),
        Some(Err(e)) => {
            eprintln!("{}:{}: {e}", attr.obis, attr.attribute);
            None
        }
        None => None,
    })
}

/// One change, made: recorded, sent, read back, printed; returns the exit code.
pub(super) struct Apply<'a> {
    pub(super) conn: &'a ConnectionArgs,
    pub(super) opts: &'a ChangeOpts,
    pub(super) change: Change,
    /// What to read before and after (the attribute set, or what a method changes).
    pub(super) watch: Option<AttributeRef>,
    pub(super) old: Option<Data>,
}

/// What a change came to: the exit code, the value read back, and the report (JSON and text).
pub(super) struct Report {
    pub(super) code: u8,
    pub(super) new: Option<Data>,
    pub(super) json: Value,
    pub(super) text: Vec<String>,
}

impl Report {
    /// Prints the report as `--json` asks; returns the exit code.
    pub(super) fn print(self, json: bool) -> u8 {
        if json {
            println!("{}", self.json);
        } else {
            for line in &self.text {
                println!("{line}");
            }
        }
        self.code
    }
}

impl<'a> Apply<'a> {
    /// A SET of `attr` to `value`, read before (`old`) and after.
    pub(super) fn set(
        conn: &'a ConnectionArgs,
        opts: &'a ChangeOpts,
        attr: AttributeRef,
        value: Data,
        old: Option<Data>,
    ) -> Self {
        Apply {
            conn,
            opts,
            change: Change::Set {
                attribute: attr.clone(),
                value,
            },
            watch: Some(attr),
            old,
        }
    }

    async fn run(self, opened: Opened) -> Result<u8> {
        let json = self.opts.json;
        Ok(self.report(opened).await?.print(json))
    }

    pub(super) async fn report(self, mut opened: Opened) -> Result<Report> {
        let (kind, obis, class, member) = match &self.change {
            Change::Set { attribute, .. } => (
                "set",
                attribute.obis,
                attribute.class_id,
                attribute.attribute,
            ),
            Change::Action { method, .. } => {
                ("action", method.obis, method.class_id, method.method)
            }
        };
        let mut record = WriteRecord {
            ts_ms: chrono::Utc::now().timestamp_millis(),
            source: "cli".into(),
            meter: self.conn.target(),
            kind: kind.into(),
            obis: obis.to_string(),
            class,
            member,
            request: self.change.describe(),
            old_value: self.old.as_ref().map(Data::shown),
            new_value: None,
            outcome: WriteOutcome::Sent,
            result: None,
            returned: None,
        };
        let mut store = match &self.opts.db {
            Some(path) => Some(Store::open(path).with_context(|| {
                "the change is not sent: it could not be recorded as --db asks".to_string()
            })?),
            None => None,
        };
        let id = match store.as_mut() {
            Some(s) => Some(s.begin_write(&record)?),
            None => None,
        };
        let outcome = opened.session.change(&self.change, false).await;
        let (code, result, returned) = match &outcome {
            Ok(o) => {
                record.outcome = if o.succeeded() {
                    WriteOutcome::Done
                } else {
                    WriteOutcome::Refused
                };
                (
                    if o.succeeded() {
                        EXIT_DONE
                    } else {
                        EXIT_REFUSED
                    },
                    o.result.to_string(),
                    returned_text(o),
                )
            }
            Err(e @ EngineError::OutcomeUnknown(_)) => {
                record.outcome = WriteOutcome::Unknown;
                (EXIT_UNKNOWN, e.to_string(), None)
            }
            Err(e) => {
                record.outcome = WriteOutcome::Failed;
                (1, e.to_string(), None)
            }
        };
        record.result = Some(result.clone());
        record.returned = returned.clone();
        // Read back whatever happened: after a lost answer this is how the operator learns
        // what the meter holds now (over a new association if the old one is gone).
        let new = match &self.watch {
            Some(attr) => match read_one(&mut opened, attr).await {
                Ok(v) => v,
                Err(e) if code == EXIT_UNKNOWN => {
                    opened = self
                        .conn
                        .open()
                        .await
                        .with_context(|| format!("reading back after: {e}"))?;
                    read_one(&mut opened, attr).await.unwrap_or(None)
                }
                Err(_) => None,
            },
            None => None,
        };
        record.new_value = new.as_ref().map(Data::shown);
        if let (Some(s), Some(id)) = (store.as_mut(), id) {
            s.finish_write(id, &record)?;
        }
        opened.close().await;
        let json = json!({
            "kind": kind,
            "obis": obis.to_string(),
            "class": class,
            if kind == "set" { "attribute" } else { "method" }: member,
            "request": record.request,
            "old": self.old.as_ref().map(data_json).unwrap_or(Value::Null),
            "new": new.as_ref().map(data_json).unwrap_or(Value::Null),
            "outcome": record.outcome.name(),
            "result": result,
            "returned": outcome.as_ref().ok().and_then(|o| o.returned.clone()).map(|r| match r {
                Ok(d) => data_json(&d),
                Err(e) => json!(format!("error: {e}")),
            }).unwrap_or(Value::Null),
        });
        let what = match &self.watch {
            Some(a) => format!("{}:{}", a.obis, a.attribute),
            None => obis.to_string(),
        };
        let arrow = match (&self.old, &new) {
            (Some(o), Some(n)) => format!(": {} → {}", o.shown(), n.shown()),
            (None, Some(n)) => format!(": now {}", n.shown()),
            (Some(o), None) => format!(": was {}, not read back", o.shown()),
            (None, None) => String::new(),
        };
        let mut text = vec![
            format!("{} {}{arrow}", record.outcome.name(), what),
            format!("  {} → {result}", record.request),
        ];
        if let Some(r) = &returned {
            text.push(format!("  returned: {r}"));
        }
        if code == EXIT_UNKNOWN {
            text.push(
                "  the meter did not answer after the request went out: check the value above \
                 before sending it again"
                    .into(),
            );
        }
        Ok(Report {
            code,
            new,
            json,
            text,
        })
    }
}

fn returned_text(o: &ChangeOutcome) -> Option<String> {
    o.returned.as_ref().map(|r| match r {
        Ok(d) => d.shown(),
        Err(e) => format!("error: {e}"),
    })
}

/// `dlms-logger write OBIS[:ATTR] VALUE`.
pub async fn write(
    conn: &ConnectionArgs,
    target: &str,
    value: &str,
    class: Option<u16>,
    ty: Option<&str>,
    opts: &ChangeOpts,
) -> Result<u8> {
    let (obis, attribute) = obis_and_index(target, "attribute", Some(2))?;
    if attribute == 1 {
        bail!("{target:?}: attribute 1 is the logical name, which no meter lets you change");
    }
    let class = class.unwrap_or_else(|| dlms_logger::queue::default_class(&obis));
    let attr = AttributeRef::new(class, obis, attribute);
    let (now, dst) = host_now();
    if opts.dry_run {
        let Some(ty) = ty else {
            bail!(
                "--dry-run needs --type ({TYPES}): without it the type is taken from the meter's \
                 current value, which a dry run does not read"
            );
        };
        let value = parse_as(ty, value, now).context("VALUE")?;
        return Ok(dry_run(
            &Change::Set {
                attribute: attr,
                value,
            },
            opts,
        ));
    }
    let typed = |old: Option<&Data>| -> Result<Data> {
        Ok(match (ty, old) {
            (Some(ty), _) => parse_as(ty, value, now)?,
            (None, Some(old)) => parse_like(old, value, now, dst).with_context(|| {
                format!(
                    "VALUE {value:?} for {obis}:{attribute}, which holds {} {}",
                    old.type_name(),
                    old.shown()
                )
            })?,
            (None, None) => bail!(
                "{obis}:{attribute} could not be read, so its type is unknown: give --type ({TYPES})"
            ),
        })
    };
    let mut opened = conn.open().await?;
    let old = read_one(&mut opened, &attr).await?;
    let value = match typed(old.as_ref()) {
        Ok(v) => v,
        Err(e) => {
            opened.close().await;
            return Err(e);
        }
    };
    Apply::set(conn, opts, attr, value, old).run(opened).await
}

/// A method call; `watch` is read before and after.
pub(super) async fn call_method(
    conn: &ConnectionArgs,
    opts: &ChangeOpts,
    method: MethodRef,
    parameter: Option<Data>,
    watch: Option<AttributeRef>,
) -> Result<u8> {
    let change = Change::Action { method, parameter };
    if opts.dry_run {
        return Ok(dry_run(&change, opts));
    }
    let mut opened = conn.open().await?;
    let old = match &watch {
        Some(a) => read_one(&mut opened, a).await?,
        None => None,
    };
    Apply {
        conn,
        opts,
        change,
        watch,
        old,
    }
    .run(opened)
    .await
}

/// `dlms-logger call OBIS:METHOD [PARAM]`.
pub async fn call(
    conn: &ConnectionArgs,
    target: &str,
    param: Option<&str>,
    class: Option<u16>,
    ty: Option<&str>,
    opts: &ChangeOpts,
) -> Result<u8> {
    let (obis, method) = obis_and_index(target, "method", None)?;
    let class = class.unwrap_or_else(|| dlms_logger::queue::default_class(&obis));
    let (now, _) = host_now();
    let parameter = match (param, ty) {
        (Some(p), Some(ty)) => Some(parse_as(ty, p, now).context("PARAM")?),
        (Some(p), None) => Some(
            parse_as("i8", p, now)
                .context("PARAM without --type is an integer (i8); give --type for others")?,
        ),
        // Most methods take `integer 0` as a dummy parameter (Blue Book).
        (None, _) => Some(Data::Integer(0)),
    };
    call_method(
        conn,
        opts,
        MethodRef::new(class, obis, method),
        parameter,
        None,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::super::shortcuts::{CLOCK, DISCONNECT};
    use super::*;

    #[test]
    fn targets_name_an_object_and_an_index_in_either_obis_form() {
        assert_eq!(
            obis_and_index("0.0.1.0.0.255:2", "attribute", Some(2)).unwrap(),
            (CLOCK, 2)
        );
        assert_eq!(
            obis_and_index("0.0.1.0.0.255", "attribute", Some(2)).unwrap(),
            (CLOCK, 2)
        );
        assert_eq!(
            obis_and_index("1-0:1.8.0*255:1", "method", None).unwrap().1,
            1
        );
        assert!(obis_and_index("1-0:1.8.0*255", "method", None)
            .unwrap_err()
            .to_string()
            .contains("give the method"));
        assert!(obis_and_index("0.0.1.0.0.255:0", "attribute", Some(2)).is_err());
    }

    #[test]
    fn a_dry_run_request_is_the_plain_apdu() {
        let c = Change::Action {
            method: MethodRef::new(70, DISCONNECT, 1),
            parameter: Some(Data::Integer(0)),
        };
        assert_eq!(hex(&c.plain_apdu()), "C301C10046000060030AFF01010F00");
    }
}
