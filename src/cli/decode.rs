//! `dlms-logger decode`: captured frames in (hex on the command line, or one capture a line
//! on stdin), every field named out, or JSON with the values and the tree.

use anyhow::{anyhow, Context, Result};
use dlms_logger::dlms::compact_data::CompactTemplate;
use dlms_logger::dlms::data::{octets_to_text, Data};
use dlms_logger::dlms::decode::{Decoded, Decoder, Node, Value};
use dlms_logger::dlms::obis::Obis;
use dlms_logger::queue::han::HanPreset;
use dlms_logger::text::escape;
use serde_json::{json, Value as Json};
use std::io::{BufRead, Write};

/// `decode`'s arguments.
#[derive(clap::Args, Debug)]
pub struct DecodeArgs {
    /// The captured bytes in hex (spaces and colons allowed): HDLC frame(s), WRAPPER PDU, M-Bus
    /// long frame(s) or a bare APDU; `-` reads one capture a line from stdin (frames on
    /// consecutive lines join into one notification).
    #[arg(value_name = "HEX|-")]
    pub input: String,
    /// One JSON object per capture: values (obis, value, …), the date-time, the tree.
    #[arg(long)]
    pub json: bool,
    /// Keys and preset.
    #[command(flatten)]
    pub keys: super::push_keys::PushKeyArgs,
    /// A compact data template (class 62) to read compact buffers with:
    /// `ID:DESCRIPTION` — the template_id, the template_description in hex (e.g. `020306120A`)
    /// and, optionally, `:OBIS,OBIS,…` the capture objects. May be repeated.
    #[arg(long, value_name = "ID:HEX[:OBIS,…]", value_parser = compact_template)]
    pub compact_template: Vec<CompactTemplate>,
}

/// `ID:DESCRIPTION[:OBIS,…]` as a compact data template.
fn compact_template(text: &str) -> Result<CompactTemplate, String> {
    let mut parts = text.splitn(3, ':');
    let id = parts
        .next()
        .and_then(|t| t.trim().parse::<u8>().ok())
        .ok_or("the template_id (0 to 255) comes first, then a colon")?;
    let description = parts
        .next()
        .map(|h| unhex(h).map_err(|e| e.to_string()))
        .transpose()?
        .ok_or("the template_description in hex follows the template_id")?;
    let capture_objects = match parts.next() {
        Some(list) => list
            .split(',')
            .map(|o| o.trim().parse::<Obis>().map_err(|e| e.to_string()))
            .collect::<Result<_, _>>()?,
        None => Vec::new(),
    };
    CompactTemplate::new(id, &description, capture_objects)
        .map_err(|e| format!("the template_description: {e}"))
}

/// Runs `decode`; false when a capture did not decode.
pub fn run(args: &DecodeArgs) -> Result<bool> {
    let keys = args.keys.keys()?;
    let preset = args.keys.preset()?;
    let mut decoder = Decoder::new(keys);
    decoder.set_compact_templates(args.compact_template.clone());
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if args.input != "-" {
        let bytes = unhex(&args.input).context("the capture")?;
        let r = decoder.feed(&bytes);
        return report(&mut out, args.json, None, r, preset.as_ref(), &decoder);
    }
    let mut ok = true;
    for (n, line) in std::io::stdin().lock().lines().enumerate() {
        let line = line.context("reading stdin")?;
        let text = line.trim();
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let r = unhex(text)
            .map_err(|e| e.context(format!("line {}", n + 1)))
            .and_then(|b| decoder.feed(&b).map_err(|e| anyhow!(e.to_string())));
        ok &= report_any(
            &mut out,
            args.json,
            Some(n + 1),
            r,
            preset.as_ref(),
            &decoder,
        )?;
    }
    if let Some(what) = decoder.waiting_for() {
        eprintln!("the input ended while waiting for {what}");
        ok = false;
    }
    Ok(ok)
}

fn report(
    out: &mut impl Write,
    json: bool,
    line: Option<usize>,
    r: Result<Decoded, dlms_logger::dlms::decode::DecodeError>,
    preset: Option<&HanPreset>,
    decoder: &Decoder,
) -> Result<bool> {
    let ok = report_any(
        out,
        json,
        line,
        r.map_err(|e| anyhow!(e.to_string())),
        preset,
        decoder,
    )?;
    if ok {
        if let Some(what) = decoder.waiting_for() {
            eprintln!("the capture ends while waiting for {what}");
            return Ok(false);
        }
    }
    Ok(ok)
}

fn report_any(
    out: &mut impl Write,
    json: bool,
    line: Option<usize>,
    r: Result<Decoded>,
    preset: Option<&HanPreset>,
    _decoder: &Decoder,
) -> Result<bool> {
    match r {
        Ok(mut d) => {
            let list = preset
                .and_then(|p| p.layout.apply(&mut d.values))
                .map(|l| l.name.clone());
            if json {
                writeln!(out, "{}", to_json(&d, line, list.as_deref()))?;
            } else {
                write_text(out, &d, line, list.as_deref())?;
            }
            Ok(true)
        }
        Err(e) => {
            let msg = format!("{e:#}");
            if json {
                let mut o = json!({ "error": msg });
                if let Some(n) = line {
                    o["line"] = json!(n);
                }
                writeln!(out, "{o}")?;
            } else {
                match line {
                    Some(n) => eprintln!("line {n}: {}", escape(&msg)),
                    None => eprintln!("{}", escape(&msg)),
                }
            }
            Ok(false)
        }
    }
}

fn write_text(
    out: &mut impl Write,
    d: &Decoded,
    line: Option<usize>,
    list: Option<&str>,
) -> Result<()> {
    if let Some(n) = line {
        writeln!(out, "# line {n}")?;
    }
    for l in d.tree.to_text().lines() {
        writeln!(out, "{}", escape(l))?;
    }
    if !d.complete {
        writeln!(out, "(waiting for more segments or blocks)")?;
    }
    if let Some(p) = &d.protection {
        writeln!(
            out,
            "ciphered by {} (invocation counter {}, policy {}, {})",
            p.system_title,
            p.invocation_counter,
            p.policy.name(),
            if p.verified {
                "tag verified"
            } else {
                "tag not verified"
            }
        )?;
    }
    if let Some(t) = &d.date_time {
        writeln!(out, "notification time: {t}")?;
    }
    if let Some(l) = list {
        writeln!(out, "preset list: {}", escape(l))?;
    }
    if !d.values.is_empty() {
        writeln!(out, "values:")?;
    }
    for v in &d.values {
        let obis = v.obis.map_or_else(|| "-".to_string(), |o| o.to_string());
        let value = match (v.date_time(), v.scaled(), &v.data) {
            (Some(t), _, _) => t.to_string(),
            (_, Some(s), _) => s.to_string(),
            (_, _, data) => text_of(data),
        };
        let unit = v
            .scaler_unit
            .and_then(|su| su.unit_name())
            .map(|u| format!(" {u}"))
            .unwrap_or_default();
        let name = v
            .name
            .as_deref()
            .map(|n| format!("  ({n})"))
            .unwrap_or_default();
        writeln!(
            out,
            "  {obis:<18} {}{unit}{}",
            escape(&value),
            escape(&name)
        )?;
    }
    Ok(())
}

fn text_of(d: &Data) -> String {
    match d {
        Data::OctetString(b) | Data::VisibleString(b) | Data::Utf8String(b) => octets_to_text(b),
        other => other.to_string(),
    }
}

/// The JSON of one decoded capture.
pub fn to_json(d: &Decoded, line: Option<usize>, list: Option<&str>) -> Json {
    let mut o = json!({
        "complete": d.complete,
        "date_time": d.date_time.map(|t| t.to_string()),
        "long_invoke_id": d.long_invoke_id,
        "values": d.values.iter().map(value_json).collect::<Vec<_>>(),
        "apdus": d.apdus,
        "tree": node_json(&d.tree),
    });
    if let Some(p) = &d.protection {
        o["protection"] = json!({
            "system_title": p.system_title.to_string(),
            "policy": p.policy.name(),
            "invocation_counter": p.invocation_counter,
            "verified": p.verified,
        });
    }
    if let Some(n) = line {
        o["line"] = json!(n);
    }
    if let Some(l) = list {
        o["preset_list"] = json!(l);
    }
    o
}

pub(super) fn value_json(v: &Value) -> Json {
    let mut o = json!({
        "obis": v.obis.map(|o| o.to_string()),
        "value": data_json(v),
        "type": v.data.type_name(),
    });
    if let Some(su) = v.scaler_unit {
        o["scaler"] = json!(su.scaler);
        o["unit"] = json!(su.unit_name());
        if let Some(s) = v.scaled() {
            o["scaled"] = match s.to_integer() {
                Some(i) => json!(i64::try_from(i).ok()),
                None => s
                    .to_string()
                    .parse::<f64>()
                    .map_or(Json::Null, |f| json!(f)),
            };
        }
    }
    if let Some(t) = v.date_time() {
        o["clock_status"] = json!(t.status);
        o["deviation"] = json!(t.deviation);
    }
    if let Some(n) = &v.name {
        o["name"] = json!(n);
    }
    if let Some(c) = v.class_id {
        o["class_id"] = json!(c);
    }
    if let Some(a) = v.attribute {
        o["attribute"] = json!(a);
    }
    o
}

fn data_json(v: &Value) -> Json {
    if let Some(t) = v.date_time() {
        return json!(t.to_string());
    }
    plain_json(&v.data)
}

fn plain_json(d: &Data) -> Json {
    match d {
        Data::Null | Data::DontCare => Json::Null,
        Data::Boolean(b) => json!(b),
        Data::Array(items) | Data::Structure(items) => {
            Json::Array(items.iter().map(plain_json).collect())
        }
        Data::OctetString(b) | Data::VisibleString(b) | Data::Utf8String(b) => {
            json!(octets_to_text(b))
        }
        Data::Float32(f) => json!(f),
        Data::Float64(f) => json!(f),
        Data::DateTime(t) => json!(t.to_string()),
        Data::Date(t) => json!(t.to_string()),
        Data::Time(t) => json!(t.to_string()),
        Data::BitString(_) => json!(d.to_string()),
        other => match other.as_i128() {
            Some(i) => i64::try_from(i)
                .map(|i| json!(i))
                .or_else(|_| u64::try_from(i).map(|u| json!(u)))
                .unwrap_or_else(|_| json!(i.to_string())),
            None => json!(other.to_string()),
        },
    }
}

fn node_json(n: &Node) -> Json {
    let mut o = json!({
        "name": n.name,
        "bytes": dlms_logger::dlms::data::hex(&n.bytes),
        "value": n.value,
    });
    if !n.children.is_empty() {
        o["children"] = Json::Array(n.children.iter().map(node_json).collect());
    }
    o
}

/// Hex text to bytes: spaces, colons, dashes and a `0x` prefix allowed.
fn unhex(text: &str) -> Result<Vec<u8>> {
    let text = text.trim();
    let text = text.strip_prefix("0x").unwrap_or(text);
    let digits: Vec<u8> = text
        .bytes()
        .filter(|b| !matches!(b, b' ' | b'\t' | b':' | b'-' | b','))
        .collect();
    if let Some(at) = digits.iter().position(|b| !b.is_ascii_hexdigit()) {
        return Err(anyhow!("character {} is not a hex digit", at + 1));
    }
    if !digits.len().is_multiple_of(2) {
        return Err(anyhow!("an odd number of hex digits ({})", digits.len()));
    }
    Ok(digits
        .chunks(2)
        .map(|p| {
            let d = |c: u8| char::from(c).to_digit(16).unwrap_or(0) as u8;
            (d(p[0]) << 4) | d(p[1])
        })
        .collect())
}
