//! Values as people and the store see them: a meter's answer scaled exactly into a row, the
//! JSON form of structures, and the one-line summary of a run for the log.

use crate::dlms::client::{ReadError, Reading as DlmsReading};
use crate::dlms::data::Data;
use crate::dlms::unit::Decimal;
use crate::queue::Item;
use crate::store::{decimal_json, Record};

/// The JSON form of a value, for the text column of structures: integers exact (all of u64
/// and i64), floats as the decimal they print as, date-times as text with their clock status.
pub fn data_json(d: &Data) -> serde_json::Value {
    use serde_json::{json, Value};
    match d {
        Data::Array(v) | Data::Structure(v) => Value::Array(v.iter().map(data_json).collect()),
        Data::Null => Value::Null,
        Data::Boolean(b) => json!(b),
        Data::Float32(_) | Data::Float64(_) => match d.as_decimal() {
            Some(n) => decimal_json(n),
            None => Value::Null,
        },
        _ => match d.as_decimal() {
            Some(n) => decimal_json(n),
            None => json!(d.to_string()),
        },
    }
}

/// The text of a value that is not a number: structures and arrays as JSON, the rest as it
/// prints (date-times with their clock status).
pub fn text(d: &Data) -> String {
    match d {
        Data::Array(_) | Data::Structure(_) => data_json(d).to_string(),
        d => d.to_string(),
    }
}

/// Fills a row from a read value: scaled number and unit, or text.
pub(super) fn fill(mut r: Record, item: &Item, v: Result<DlmsReading, ReadError>) -> Record {
    match v {
        Err(e) => r.status = e.to_string(),
        Ok(reading) => {
            if let Some(want) = &item.data_type {
                if reading.data.type_name() != want {
                    r.status = format!(
                        "expected {want}, the meter sent {}",
                        reading.data.type_name()
                    );
                    return r;
                }
            }
            r.unit = match &item.unit {
                Some(u) => Some(u.clone()),
                None => reading.unit().map(str::to_string),
            };
            match reading.decimal() {
                Some(v) => match scaled(v, item.scale) {
                    Some(n) => r.set_decimal(n),
                    // Beyond 38 digits: the float product is the best there is.
                    None => r.value = Some(v.to_f64() * item.scale.unwrap_or(1.0)),
                },
                None => r.text = Some(text(&reading.data)),
            }
        }
    }
    r
}

/// A value × the item's `scale`, exactly: the scale counts as the decimal it is written as
/// (0.001 is 10^-3), so 9430701 × 0.001 is 9430.701, never 9430.701000000001.
fn scaled(v: Decimal, scale: Option<f64>) -> Option<Decimal> {
    match scale {
        None => Some(v),
        Some(s) => v.checked_mul(Decimal::from_f64(s)?),
    }
}

/// `voltage L1 = 229.3 V, serial number = 12345678, load: 96 rows`, for the log.
pub fn summary(rows: &[Record]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let profile_rows = rows.iter().filter(|r| r.profile).count();
    for r in rows.iter().filter(|r| !r.profile).take(8) {
        let value = match (r.value_with_unit(), &r.text) {
            _ if r.is_failure() => format!("error: {}", r.status),
            (Some(v), _) => v,
            (None, Some(t)) => t.chars().take(40).collect(),
            (None, None) => "-".into(),
        };
        parts.push(format!("{} = {value}", r.item));
    }
    if profile_rows > 0 {
        parts.push(format!("{profile_rows} profile values"));
    }
    parts.join(", ")
}
