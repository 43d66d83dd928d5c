//! The logged record: a reading (or failure) and its stored form.

use crate::dlms::unit::Decimal;

/// One logged reading or failure.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Record {
    /// UTC milliseconds since the epoch; for profile rows the capture time.
    pub ts_ms: i64,
    /// Name of the configured request that produced the row.
    pub request: String,
    /// Name of the meter.
    pub meter: String,
    /// Name of the item.
    pub item: String,
    /// OBIS code of the object, in text form.
    pub obis: String,
    /// COSEM interface class.
    pub class: u16,
    /// Attribute index (negative for methods, as in COSEM).
    pub attribute: i8,
    /// Scaled numeric value, `None` if the value is not numeric or the read failed.
    pub value: Option<f64>,
    /// Text form: strings, date-times, structures as JSON.
    pub text: Option<String>,
    /// Unit symbol.
    pub unit: Option<String>,
    /// `ok`, or the error text of a failed read.
    pub status: String,
    /// Poll id tying together the rows of one run.
    pub poll: i64,
    /// True for rows of a profile (load curve), which are stored once per (item, capture time).
    pub profile: bool,
    /// The exact decimal of `value` when the float cannot show it (integers beyond 2^53, more
    /// digits than a float holds); `None` when `value` prints exactly as the meter said it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exact: Option<String>,
    /// The row's time as the meter stated it, when its clock status warns (a profile entry
    /// captured while the meter's clock was invalid or doubtful):
    /// `2026-11-21T12:07:30+01:00 (invalid)`. `None` for a plain time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meter_time: Option<String>,
}

/// The status of a successful read.
pub const STATUS_OK: &str = "ok";

impl Record {
    /// True if this row records a failure.
    pub fn is_failure(&self) -> bool {
        self.status != STATUS_OK
    }

    /// The clock status of [`Record::meter_time`] in words (`invalid`, `doubtful, DST`).
    pub fn time_note(&self) -> Option<&str> {
        let t = self.meter_time.as_deref()?;
        let (_, note) = t.rsplit_once(" (")?;
        note.strip_suffix(')')
    }

    /// The numeric value exactly: its decimal digits, never float noise or an exponent.
    pub fn value_text(&self) -> Option<String> {
        self.exact
            .clone()
            .or_else(|| self.value.map(|v| v.to_string()))
    }

    /// The numeric value exactly with its unit (`9430.701 kWh`), as every view shows it.
    pub fn value_with_unit(&self) -> Option<String> {
        let v = self.value_text()?;
        Some(match &self.unit {
            Some(u) => format!("{v} {u}"),
            None => v,
        })
    }

    /// The numeric value as JSON: an integer when it is whole (all of u64 and i64 exact),
    /// else the float nearest to its decimal; null when there is none.
    pub fn value_json(&self) -> serde_json::Value {
        match (&self.exact, self.value) {
            (Some(e), _) => match e.parse::<Decimal>() {
                Ok(d) => decimal_json(d),
                Err(_) => serde_json::Value::String(e.clone()),
            },
            (None, Some(v)) => {
                Decimal::from_f64(v).map_or_else(|| serde_json::json!(v), decimal_json)
            }
            (None, None) => serde_json::Value::Null,
        }
    }

    /// Sets `value` (and `exact` when the float cannot show it) from an exact decimal.
    pub fn set_decimal(&mut self, d: Decimal) {
        let v = d.to_f64();
        let text = d.to_string();
        self.value = Some(v);
        self.exact = (v.to_string() != text).then_some(text);
    }
}

/// A decimal as a JSON number: an integer when it is whole and fits u64 or i64 (JSON has no
/// limit, serde_json writes them exactly), else the nearest float, which prints as the same
/// decimal whenever a double holds its digits (up to 15).
pub fn decimal_json(d: Decimal) -> serde_json::Value {
    if let Some(i) = d.to_integer() {
        if let Ok(v) = i64::try_from(i) {
            return serde_json::Value::from(v);
        }
        if let Ok(v) = u64::try_from(i) {
            return serde_json::Value::from(v);
        }
    }
    serde_json::Number::from_f64(d.to_f64())
        .map_or(serde_json::Value::Null, serde_json::Value::Number)
}

/// A stored row (a reading plus its id).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Row id, increasing in insertion order.
    pub id: i64,
    /// The stored record.
    pub record: Record,
}

impl Row {
    /// The paging position of this row.
    pub fn cursor(&self) -> Cursor {
        Cursor {
            ts_ms: self.record.ts_ms,
            id: self.id,
        }
    }
}

/// A keyset-paging position: rows are ordered by timestamp, ties broken by id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    /// Timestamp of the last row seen.
    pub ts_ms: i64,
    /// Id of the last row seen.
    pub id: i64,
}

/// Readings for the tests of this module.
#[cfg(test)]
pub(super) mod sample {
    use super::{Record, STATUS_OK};

    /// A successful energy reading of `meter`'s `item` (OBIS derived from the item name).
    pub fn ok(meter: &str, item: &str, ts_ms: i64, value: f64) -> Record {
        Record {
            ts_ms,
            request: "billing".into(),
            meter: meter.into(),
            item: item.into(),
            obis: format!("1.0.{}.8.0.255", item.len()),
            class: 3,
            attribute: 2,
            value: Some(value),
            text: None,
            unit: Some("kWh".into()),
            status: STATUS_OK.into(),
            poll: 1,
            profile: false,
            exact: None,
            meter_time: None,
        }
    }

    /// A failed read of `meter`'s `item`.
    pub fn failed(meter: &str, item: &str, ts_ms: i64, error: &str) -> Record {
        Record {
            value: None,
            unit: None,
            status: error.into(),
            ..ok(meter, item, ts_ms, 0.0)
        }
    }
}
