//! `dlms-logger read`: read items and print them scaled, with units.

use super::connection::{parse_item, ConnectionArgs};
use super::export::parse_time;
use anyhow::Result;
use chrono::TimeZone;
use dlms_logger::dlms::client::{AttributeRef, ReadError, Reading};
use dlms_logger::dlms::data::Data;
use dlms_logger::dlms::datetime::status_note;
use dlms_logger::engine::profile::{self, Profile, ProfileError, Selection};
use dlms_logger::store::decimal_json;
use serde_json::{json, Value};
use std::io::Write;

/// Which profile entries `read` takes.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ProfileArgs {
    /// Profiles: only the newest N entries (by entry, or the whole buffer when the meter has no selective access).
    #[arg(long, value_name = "N", conflicts_with = "since")]
    pub last: Option<u32>,
    /// Profiles: entries captured since this time (RFC 3339, or an age like 2h, 7d), by range.
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,
    /// Profiles: entries captured until this time (RFC 3339, or an age), by range.
    #[arg(long, value_name = "TIME", requires = "since")]
    pub until: Option<String>,
}

impl ProfileArgs {
    fn selection(&self) -> Result<Selection> {
        let local = |ms: i64| {
            chrono::Local
                .timestamp_millis_opt(ms)
                .single()
                .unwrap_or_else(chrono::Local::now)
        };
        Ok(match (&self.since, self.last) {
            (Some(since), _) => Selection::Range {
                from: local(parse_time("--since", since)?),
                to: match &self.until {
                    Some(u) => local(parse_time("--until", u)?),
                    None => chrono::Local::now(),
                },
            },
            (None, Some(n)) => Selection::Last(n),
            (None, None) => Selection::Last(u32::MAX),
        })
    }
}

/// Reads the items; returns true when every item was read. Profile buffers (class 7,
/// attribute 2) are read row by row with their capture times.
pub async fn run(
    conn: &ConnectionArgs,
    items: &[String],
    as_json: bool,
    profile_args: &ProfileArgs,
) -> Result<bool> {
    let items: Vec<AttributeRef> = items.iter().map(|t| parse_item(t)).collect::<Result<_>>()?;
    let selection = profile_args.selection()?;
    let is_profile = |i: &AttributeRef| i.class_id == 7 && i.attribute == 2;
    let order: Vec<bool> = items.iter().map(is_profile).collect();
    let (profiles, items): (Vec<AttributeRef>, Vec<AttributeRef>) =
        items.into_iter().partition(is_profile);
    let mut opened = conn.open().await?;
    let session = &mut opened.session;
    let results = session.read_scaled(&items).await?;
    let mut read_profiles = Vec::new();
    for p in &profiles {
        read_profiles.push(match profile::read(session, p.obis, &selection).await {
            Ok(rows) => Ok(rows),
            Err(ProfileError::Item(e)) => Err(e),
            Err(ProfileError::Engine(e)) => return Err(e.into()),
        });
    }
    // The data is read; a meter that does not answer the release changes nothing.
    opened.close().await;
    let mut all_ok = true;
    let mut out = std::io::stdout().lock();
    // In the order given on the command line.
    let (mut p, mut v) = (
        profiles.iter().zip(&read_profiles),
        items.iter().zip(&results),
    );
    for profile in order {
        if profile {
            let Some((item, r)) = p.next() else { continue };
            all_ok &= r.is_ok();
            write!(out, "{}", profile_lines(item, r, as_json))?;
        } else {
            let Some((item, r)) = v.next() else { continue };
            all_ok &= r.is_ok();
            if as_json {
                writeln!(out, "{}", json_line(item, r))?;
            } else {
                write!(out, "{}", text_lines(item, r))?;
            }
        }
    }
    Ok(all_ok)
}

/// A value as it is shown: scaled exactly, as JSON (numbers stay numbers; whole ones are
/// integers, all of u64 and i64 exact).
fn reading_json(r: &Reading) -> Value {
    match (&r.data, r.decimal()) {
        (Data::Enum(_), _) | (_, None) => json_value(&r.data),
        (_, Some(d)) => decimal_json(d),
    }
}

/// A date-time value's clock status and deviation, for the JSON of a `read`:
/// `"clock_status": ["invalid"]` (empty when no bit is set, null when not specified) and
/// `"deviation"` in minutes (UTC − local, null when not specified).
fn date_time_fields(d: &Data) -> Option<(Value, Value)> {
    let dt = d.as_date_time().filter(|dt| dt.naive().is_some())?;
    let status = dt.status.map(|s| {
        let words: Vec<String> = status_note(s)
            .map(|n| n.split(", ").map(str::to_string).collect())
            .unwrap_or_default();
        json!(words)
    });
    Some((json!(status), json!(dt.deviation)))
}

/// A profile's rows: text (a line per row) or JSON (an object per row: obis, time, row).
pub fn profile_lines(
    item: &AttributeRef,
    r: &std::result::Result<Profile, String>,
    as_json: bool,
) -> String {
    let time = |ms: i64| {
        chrono::Local
            .timestamp_millis_opt(ms)
            .single()
            .map(|t| t.to_rfc3339())
            .unwrap_or_default()
    };
    // A capture time whose clock status warns is shown as the meter stated it, with the
    // status in words; never as a plain time.
    let row_time = |row: &profile::ProfileRow| match &row.meter_time {
        Some(t) => t.to_string(),
        None => time(row.ts_ms),
    };
    let p = match r {
        Err(e) if as_json => {
            return format!(
                "{}\n",
                json!({"obis": item.obis.to_string(), "class": 7, "attribute": 2, "value": null, "unit": null, "error": e})
            )
        }
        Err(e) => return format!("{:<16} 7:2  error: {e}\n", item.obis.to_string()),
        Ok(p) => p,
    };
    let col = |i: usize| {
        p.columns
            .get(i)
            .map(|c| c.obis.to_string())
            .unwrap_or_default()
    };
    let mut s = String::new();
    if !as_json {
        s.push_str(&format!(
            "{:<16} 7:2  {} entries (by {})\n",
            item.obis.to_string(),
            p.rows.len(),
            p.method
        ));
    }
    for row in &p.rows {
        if as_json {
            let cells: serde_json::Map<String, Value> = row
                .values
                .iter()
                .map(|(i, r)| (col(*i), reading_json(r)))
                .collect();
            s.push_str(&format!(
                "{}\n",
                json!({"obis": item.obis.to_string(), "time": row_time(row), "row": cells})
            ));
        } else {
            let cells: Vec<String> = row
                .values
                .iter()
                .map(|(i, r)| {
                    format!(
                        "{}={}{}",
                        col(*i),
                        r.value_text(),
                        r.unit().map(|u| format!(" {u}")).unwrap_or_default()
                    )
                })
                .collect();
            s.push_str(&format!("    {}  {}\n", row_time(row), cells.join(", ")));
        }
    }
    if !as_json {
        for g in &p.gaps {
            s.push_str(&format!(
                "    gap: {} capture period(s) missing between {} and {}\n",
                g.missing,
                time(g.after_ms),
                time(g.before_ms)
            ));
        }
    }
    s
}

/// One item as text: `OBIS  class:attr  value unit`, profile rows indented below.
pub fn text_lines(item: &AttributeRef, r: &Result<Reading, ReadError>) -> String {
    let head = format!(
        "{:<16} {}:{}",
        item.obis.to_string(),
        item.class_id,
        item.attribute
    );
    let escape = |s: &str| dlms_logger::text::escape(s).into_owned();
    match r {
        Err(e) => format!("{head}  error: {}\n", escape(&e.to_string())),
        Ok(reading) => match &reading.data {
            Data::Array(rows) if rows.iter().all(|r| matches!(r, Data::Structure(_))) => {
                let mut s = format!("{head}  {} entries\n", rows.len());
                for row in rows {
                    s.push_str(&format!("    {}\n", escape(&row.to_string())));
                }
                s
            }
            // Strings from the meter may hold control characters or bidi overrides.
            _ => match reading.unit() {
                Some(u) => format!("{head}  {} {}\n", escape(&reading.value_text()), escape(u)),
                None => format!("{head}  {}\n", escape(&reading.value_text())),
            },
        },
    }
}

/// A value as JSON: numbers as numbers (integers exact, all of u64 and i64; floats as the
/// decimal they print as), containers as arrays, everything else as text (date-times with
/// their clock status in words).
pub fn json_value(d: &Data) -> Value {
    match d {
        Data::Array(v) | Data::Structure(v) => Value::Array(v.iter().map(json_value).collect()),
        Data::Null => Value::Null,
        Data::Boolean(b) => json!(b),
        _ => match d.as_decimal() {
            Some(n) => decimal_json(n),
            None if matches!(d, Data::Float32(_) | Data::Float64(_)) => Value::Null,
            None => json!(d.to_string()),
        },
    }
}

/// One item as a JSON object: obis, class, attribute, value, unit, error.
pub fn json_line(item: &AttributeRef, r: &Result<Reading, ReadError>) -> Value {
    let (value, unit, error) = match r {
        Err(e) => (Value::Null, Value::Null, json!(e.to_string())),
        Ok(reading) => (reading_json(reading), json!(reading.unit()), Value::Null),
    };
    let mut line = json!({
        "obis": item.obis.to_string(),
        "class": item.class_id,
        "attribute": item.attribute,
        "value": value,
        "unit": unit,
        "error": error,
    });
    if let (Ok(reading), Value::Object(map)) = (r, &mut line) {
        if let Some((status, deviation)) = date_time_fields(&reading.data) {
            map.insert("clock_status".into(), status);
            map.insert("deviation".into(), deviation);
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use dlms_logger::dlms::obis::Obis;

    #[test]
    fn strings_from_the_meter_are_printed_escaped() {
        let item = AttributeRef::new(1, Obis::new(0, 0, 42, 0, 0, 255), 2);
        let reading = Reading {
            data: Data::VisibleString(b"DLG\x1b[2J\xe2\x80\xaeexe".to_vec()),
            scaler_unit: None,
        };
        let line = text_lines(&item, &Ok(reading));
        assert!(line.contains("DLG\\x1b[2J\\u{202e}exe"), "{line}");
        assert!(!line.contains('\u{1b}') && !line.contains('\u{202e}'));
    }
}
