//! The logged record: a reading (or failure) and its stored form.

/// One logged reading or failure.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Reading {
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
}

/// The status of a successful read.
pub const STATUS_OK: &str = "ok";

impl Reading {
    /// True if this row records a failure.
    pub fn is_failure(&self) -> bool {
        self.status != STATUS_OK
    }
}

/// A stored row (a reading plus its id).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Row id, increasing in insertion order.
    pub id: i64,
    /// The stored reading.
    pub reading: Reading,
}

impl Row {
    /// The paging position of this row.
    pub fn cursor(&self) -> Cursor {
        Cursor {
            ts_ms: self.reading.ts_ms,
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
    use super::{Reading, STATUS_OK};

    /// A successful energy reading of `meter`'s `item` (OBIS derived from the item name).
    pub fn ok(meter: &str, item: &str, ts_ms: i64, value: f64) -> Reading {
        Reading {
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
        }
    }

    /// A failed read of `meter`'s `item`.
    pub fn failed(meter: &str, item: &str, ts_ms: i64, error: &str) -> Reading {
        Reading {
            value: None,
            unit: None,
            status: error.into(),
            ..ok(meter, item, ts_ms, 0.0)
        }
    }
}
