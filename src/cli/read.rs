//! `dlms-logger read`: read items and print them scaled, with units.

use super::connection::{parse_item, ConnectionArgs};
use anyhow::Result;
use dlms_logger::dlms::client::{AttributeRef, ReadError, Reading};
use dlms_logger::dlms::data::Data;
use serde_json::{json, Value};
use std::io::Write;

/// Reads the items; returns true when every item was read.
pub async fn run(conn: &ConnectionArgs, items: &[String], as_json: bool) -> Result<bool> {
    let items: Vec<AttributeRef> = items.iter().map(|t| parse_item(t)).collect::<Result<_>>()?;
    let mut opened = conn.open().await?;
    let session = &mut opened.session;
    let results = session.read_scaled(&items).await?;
    // The data is read; a meter that does not answer the release changes nothing.
    opened.close().await;
    let mut all_ok = true;
    let mut out = std::io::stdout().lock();
    for (item, r) in items.iter().zip(&results) {
        all_ok &= r.is_ok();
        if as_json {
            writeln!(out, "{}", json_line(item, r))?;
        } else {
            write!(out, "{}", text_lines(item, r))?;
        }
    }
    Ok(all_ok)
}

/// One item as text: `OBIS  class:attr  value unit`, profile rows indented below.
pub fn text_lines(item: &AttributeRef, r: &Result<Reading, ReadError>) -> String {
    let head = format!(
        "{:<16} {}:{}",
        item.obis.to_string(),
        item.class_id,
        item.attribute
    );
    match r {
        Err(e) => format!("{head}  error: {e}\n"),
        Ok(reading) => match &reading.data {
            Data::Array(rows) if rows.iter().all(|r| matches!(r, Data::Structure(_))) => {
                let mut s = format!("{head}  {} entries\n", rows.len());
                for row in rows {
                    s.push_str(&format!("    {row}\n"));
                }
                s
            }
            _ => match reading.unit() {
                Some(u) => format!("{head}  {} {u}\n", reading.value_text()),
                None => format!("{head}  {}\n", reading.value_text()),
            },
        },
    }
}

/// A value as JSON: numbers as numbers, containers as arrays, everything else as text.
pub fn json_value(d: &Data) -> Value {
    match d {
        Data::Array(v) | Data::Structure(v) => Value::Array(v.iter().map(json_value).collect()),
        Data::Null => Value::Null,
        Data::Boolean(b) => json!(b),
        Data::Float32(_) | Data::Float64(_) => d.as_f64().map_or(Value::Null, |f| json!(f)),
        _ => match d.as_i128() {
            Some(i) if !matches!(d, Data::Enum(_)) => i64::try_from(i)
                .map(|v| json!(v))
                .unwrap_or_else(|_| json!(i.to_string())),
            Some(i) => json!(i),
            None => json!(d.to_string()),
        },
    }
}

/// One item as a JSON object: obis, class, attribute, value, unit, error.
pub fn json_line(item: &AttributeRef, r: &Result<Reading, ReadError>) -> Value {
    let (value, unit, error) = match r {
        Err(e) => (Value::Null, Value::Null, json!(e.to_string())),
        Ok(reading) => {
            let value = match (reading.scaler_unit, reading.scaled()) {
                (Some(_), Some(v)) => reading
                    .value_text()
                    .parse::<f64>()
                    .map(|x| json!(x))
                    .unwrap_or(json!(v)),
                _ => json_value(&reading.data),
            };
            (value, json!(reading.unit()), Value::Null)
        }
    };
    json!({
        "obis": item.obis.to_string(),
        "class": item.class_id,
        "attribute": item.attribute,
        "value": value,
        "unit": unit,
        "error": error,
    })
}
