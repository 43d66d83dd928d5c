//! Values typed by people (the command line, a form) into `Data`: by an explicit type name, or
//! shaped like the value the meter holds now, so `write 1.0.1.8.0.255 5` sends the type the
//! register already has. Every error says what was typed and what was expected.

use crate::dlms::data::{BitString, Data};
use crate::dlms::datetime::CosemDateTime;
use chrono::{DateTime, FixedOffset, Offset, TimeZone};
use thiserror::Error;

/// The type names `--type` accepts.
pub const TYPES: &str = "null, bool, i8, i16, i32, i64, u8, u16, u32, u64, f32, f64, enum, \
     octet (hex), visible, utf8, datetime (ISO 8601 or now[+-SECONDS]), bits (0 and 1), \
     struct, array (JSON)";

/// Why typed text is not a value.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum InputError {
    /// No such type name.
    #[error("unknown type {0:?}; use one of {TYPES}")]
    UnknownType(String),
    /// The text is not a value of the type.
    #[error("{text:?} is not {what}")]
    NotA {
        /// What was typed.
        text: String,
        /// What was expected, in words.
        what: &'static str,
    },
    /// A number outside the type's range.
    #[error("{text} is out of range for {what} ({range})")]
    OutOfRange {
        /// What was typed.
        text: String,
        /// The type.
        what: &'static str,
        /// Its range, in words.
        range: String,
    },
    /// A structure or array whose JSON does not fit.
    #[error("{0}")]
    Shape(String),
    /// The current value's type cannot be typed in; give `--type`.
    #[error("the meter's value is a {0}; give --type to say what to send")]
    NoTemplate(&'static str),
}

fn not_a(text: &str, what: &'static str) -> InputError {
    InputError::NotA {
        text: text.to_string(),
        what,
    }
}

/// An integer of a type with the range `lo..=hi`.
fn int<T: TryFrom<i128>>(
    text: &str,
    what: &'static str,
    lo: i128,
    hi: i128,
) -> Result<T, InputError> {
    let v: i128 = text
        .trim()
        .parse()
        .map_err(|_| not_a(text, "a whole number"))?;
    if v < lo || v > hi {
        return Err(InputError::OutOfRange {
            text: text.trim().to_string(),
            what,
            range: format!("{lo} to {hi}"),
        });
    }
    T::try_from(v).map_err(|_| not_a(text, what))
}

/// A date-time: `now`, `now+SECONDS`, `now-SECONDS`, or ISO 8601 with an offset
/// (`2026-12-06T10:00:00+01:00`); the status carries DST when `dst` says so.
pub fn date_time(
    text: &str,
    now: DateTime<FixedOffset>,
    dst: bool,
) -> Result<CosemDateTime, InputError> {
    let t = text.trim();
    let at = if let Some(rest) = t.strip_prefix("now") {
        let secs: i64 = match rest {
            "" => 0,
            r => r
                .parse()
                .map_err(|_| not_a(text, "now, now+SECONDS or an ISO 8601 date-time"))?,
        };
        now + chrono::Duration::seconds(secs)
    } else {
        DateTime::parse_from_rfc3339(t).map_err(|_| {
            not_a(
                text,
                "now, now+SECONDS or an ISO 8601 date-time with offset (2026-12-06T10:00:00+01:00)",
            )
        })?
    };
    Ok(CosemDateTime::from_chrono(&at, if dst { 0x80 } else { 0 }))
}

/// True when `at` is in summer time where `zone` is: its offset is above the year's lower one.
pub fn is_dst<Tz: TimeZone>(zone: &Tz, at: &DateTime<Tz>) -> bool {
    use chrono::Datelike;
    let offset = |m: u32| {
        zone.with_ymd_and_hms(at.year(), m, 1, 12, 0, 0)
            .single()
            .map(|t| t.offset().fix().local_minus_utc())
    };
    match (offset(1), offset(7)) {
        (Some(jan), Some(jul)) => at.offset().fix().local_minus_utc() > jan.min(jul),
        _ => false,
    }
}

/// This computer's local time with its offset, and whether it is summer time there (what a
/// clock is set from).
pub fn host_now() -> (DateTime<FixedOffset>, bool) {
    let now = chrono::Local::now();
    (now.fixed_offset(), is_dst(&chrono::Local, &now))
}

/// Hex digits into bytes (spaces allowed).
fn hex(text: &str) -> Result<Vec<u8>, InputError> {
    let digits: Vec<char> = text.chars().filter(|c| !c.is_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return Err(not_a(text, "hex digits in pairs"));
    }
    digits
        .chunks(2)
        .map(|p| {
            let s: String = p.iter().collect();
            u8::from_str_radix(&s, 16).map_err(|_| not_a(text, "hex digits"))
        })
        .collect()
}

/// Text as a value of the named type.
pub fn parse_as(
    type_name: &str,
    text: &str,
    now: DateTime<FixedOffset>,
) -> Result<Data, InputError> {
    let f = |what| text.trim().parse::<f64>().map_err(|_| not_a(text, what));
    Ok(match type_name {
        "null" => Data::Null,
        "bool" | "boolean" => match text.trim() {
            "true" | "1" | "on" => Data::Boolean(true),
            "false" | "0" | "off" => Data::Boolean(false),
            _ => return Err(not_a(text, "true or false")),
        },
        "i8" | "integer" => Data::Integer(int(text, "i8", -128, 127)?),
        "i16" | "long" => Data::Long(int(text, "i16", -32768, 32767)?),
        "i32" | "double-long" => {
            Data::DoubleLong(int(text, "i32", i32::MIN.into(), i32::MAX.into())?)
        }
        "i64" | "long64" => Data::Long64(int(text, "i64", i64::MIN.into(), i64::MAX.into())?),
        "u8" | "unsigned" => Data::Unsigned(int(text, "u8", 0, 255)?),
        "u16" | "long-unsigned" => Data::LongUnsigned(int(text, "u16", 0, 65535)?),
        "u32" | "double-long-unsigned" => {
            Data::DoubleLongUnsigned(int(text, "u32", 0, u32::MAX.into())?)
        }
        "u64" | "long64-unsigned" => Data::Long64Unsigned(int(text, "u64", 0, u64::MAX.into())?),
        "enum" => Data::Enum(int(text, "enum", 0, 255)?),
        "f32" | "float32" => Data::Float32(f("a number")? as f32),
        "f64" | "float64" => Data::Float64(f("a number")?),
        "octet" | "octet-string" => Data::OctetString(hex(text)?),
        "visible" | "visible-string" => {
            if !text.is_ascii() || text.chars().any(|c| c.is_control()) {
                return Err(not_a(text, "printable ASCII"));
            }
            Data::VisibleString(text.as_bytes().to_vec())
        }
        "utf8" | "utf8-string" => Data::Utf8String(text.as_bytes().to_vec()),
        "datetime" | "date-time" => Data::DateTime(date_time(text, now, false)?),
        "datetime-octets" => Data::OctetString(date_time(text, now, false)?.to_bytes().to_vec()),
        "bits" | "bit-string" => {
            let bits: Vec<bool> = text
                .trim()
                .chars()
                .map(|c| match c {
                    '0' => Ok(false),
                    '1' => Ok(true),
                    _ => Err(not_a(text, "a string of 0 and 1")),
                })
                .collect::<Result<_, _>>()?;
            let mut bytes = vec![0u8; bits.len().div_ceil(8)];
            for (i, b) in bits.iter().enumerate() {
                if *b {
                    bytes[i / 8] |= 0x80 >> (i % 8);
                }
            }
            Data::BitString(BitString {
                bits: bits.len(),
                bytes,
            })
        }
        "struct" | "structure" | "array" => {
            let json: serde_json::Value = serde_json::from_str(text)
                .map_err(|e| InputError::Shape(format!("not valid JSON: {e}")))?;
            let serde_json::Value::Array(items) = json else {
                return Err(InputError::Shape(
                    "a structure or array is a JSON list, e.g. [{\"u16\": 1}, {\"octet\": \"00FF\"}]"
                        .into(),
                ));
            };
            let values = items
                .iter()
                .map(|v| typed_json(v, now))
                .collect::<Result<Vec<_>, _>>()?;
            if type_name == "array" {
                Data::Array(values)
            } else {
                Data::Structure(values)
            }
        }
        other => return Err(InputError::UnknownType(other.to_string())),
    })
}

/// One element of a typed JSON structure: `{"u16": 5}`, `{"octet": "00FF"}`, or a nested list
/// (a structure).
fn typed_json(v: &serde_json::Value, now: DateTime<FixedOffset>) -> Result<Data, InputError> {
    match v {
        serde_json::Value::Array(_) => parse_as("struct", &v.to_string(), now),
        serde_json::Value::Object(m) if m.len() == 1 => {
            let (ty, value) = m.iter().next().ok_or(InputError::Shape("empty".into()))?;
            let text = match value {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            parse_as(ty, &text, now)
        }
        serde_json::Value::Null => Ok(Data::Null),
        other => Err(InputError::Shape(format!(
            "{other} has no type: write each element as {{\"TYPE\": VALUE}} (types: {TYPES})"
        ))),
    }
}

/// Text as a value of the same type (and, for structures and arrays, the same shape) as
/// `current`, the value the meter holds now. A 12-byte octet string that holds a date-time (the
/// clock) takes a date-time.
pub fn parse_like(
    current: &Data,
    text: &str,
    now: DateTime<FixedOffset>,
    dst: bool,
) -> Result<Data, InputError> {
    let name = match current {
        Data::OctetString(b) if CosemDateTime::from_octets(b).is_some() => {
            return Ok(Data::OctetString(
                date_time(text, now, dst)?.to_bytes().to_vec(),
            ))
        }
        Data::DateTime(_) => return Ok(Data::DateTime(date_time(text, now, dst)?)),
        Data::Structure(items) | Data::Array(items) => {
            let json: serde_json::Value = serde_json::from_str(text)
                .map_err(|e| InputError::Shape(format!("not valid JSON: {e}")))?;
            let serde_json::Value::Array(given) = json else {
                return Err(InputError::Shape(format!(
                    "the meter's value is a {} of {} elements; give a JSON list",
                    current.type_name(),
                    items.len()
                )));
            };
            let is_array = matches!(current, Data::Array(_));
            if !is_array && given.len() != items.len() {
                return Err(InputError::Shape(format!(
                    "the meter's structure has {} elements, the JSON list {}",
                    items.len(),
                    given.len()
                )));
            }
            let template = |i: usize| items.get(i).or(items.first());
            let values = given
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let text = match v {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    match template(i) {
                        Some(t) => parse_like(t, &text, now, dst),
                        None => typed_json(v, now),
                    }
                })
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(if is_array {
                Data::Array(values)
            } else {
                Data::Structure(values)
            });
        }
        Data::Null => "null",
        Data::Boolean(_) => "bool",
        Data::BitString(_) => "bits",
        Data::DoubleLong(_) => "i32",
        Data::DoubleLongUnsigned(_) => "u32",
        Data::OctetString(_) => "octet",
        Data::VisibleString(_) => "visible",
        Data::Utf8String(_) => "utf8",
        Data::Integer(_) => "i8",
        Data::Long(_) => "i16",
        Data::Unsigned(_) => "u8",
        Data::LongUnsigned(_) => "u16",
        Data::Long64(_) => "i64",
        Data::Long64Unsigned(_) => "u64",
        Data::Enum(_) => "enum",
        Data::Float32(_) => "f32",
        Data::Float64(_) => "f64",
        other => return Err(InputError::NoTemplate(other.type_name())),
    };
    parse_as(name, text, now)
}

/// The meter's value as text that [`parse_like`] takes back unchanged: the starting text of
/// an edit. A date-time shows as ISO 8601 (or `now` when it names no instant).
pub fn editable(current: &Data) -> String {
    fn json(d: &Data) -> serde_json::Value {
        match d {
            Data::Structure(items) | Data::Array(items) => {
                serde_json::Value::Array(items.iter().map(json).collect())
            }
            Data::Boolean(b) => serde_json::Value::Bool(*b),
            d => {
                let text = editable(d);
                match serde_json::from_str::<serde_json::Number>(&text) {
                    Ok(n)
                        if !matches!(
                            d,
                            Data::OctetString(_) | Data::VisibleString(_) | Data::Utf8String(_)
                        ) =>
                    {
                        serde_json::Value::Number(n)
                    }
                    _ => serde_json::Value::String(text),
                }
            }
        }
    }
    let when = |t: &CosemDateTime| {
        t.to_chrono()
            .map(|t| t.to_rfc3339())
            .unwrap_or_else(|| "now".to_string())
    };
    match current {
        Data::OctetString(b) => match CosemDateTime::from_octets(b) {
            Some(t) => when(&t),
            None => b.iter().map(|b| format!("{b:02X}")).collect(),
        },
        Data::DateTime(t) => when(t),
        Data::VisibleString(b) | Data::Utf8String(b) => String::from_utf8_lossy(b).into_owned(),
        Data::Structure(_) | Data::Array(_) => json(current).to_string(),
        Data::BitString(b) => (0..b.bits)
            .map(|i| {
                let set = b
                    .bytes
                    .get(i / 8)
                    .is_some_and(|byte| byte & (0x80 >> (i % 8)) != 0);
                if set {
                    '1'
                } else {
                    '0'
                }
            })
            .collect(),
        Data::Null => String::new(),
        Data::Boolean(b) => b.to_string(),
        Data::DoubleLong(v) => v.to_string(),
        Data::DoubleLongUnsigned(v) => v.to_string(),
        Data::Integer(v) => v.to_string(),
        Data::Long(v) => v.to_string(),
        Data::Unsigned(v) => v.to_string(),
        Data::LongUnsigned(v) => v.to_string(),
        Data::Long64(v) => v.to_string(),
        Data::Long64Unsigned(v) => v.to_string(),
        Data::Enum(v) => v.to_string(),
        Data::Float32(v) => v.to_string(),
        Data::Float64(v) => v.to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339("2026-07-01T12:00:00+02:00").unwrap()
    }

    #[test]
    fn the_editable_text_of_a_value_is_read_back_as_the_same_value() {
        let n = now();
        let clock = CosemDateTime::from_chrono(&n, 0).to_bytes().to_vec();
        for d in [
            Data::LongUnsigned(7),
            Data::Long(-3),
            Data::Enum(2),
            Data::Boolean(true),
            Data::Float64(1.5),
            Data::OctetString(vec![0xAB, 0x01]),
            Data::VisibleString(b"ABC 12".to_vec()),
            Data::OctetString(clock),
            Data::Structure(vec![Data::Unsigned(1), Data::OctetString(vec![0x12])]),
            Data::Array(vec![Data::Long(1), Data::Long(2)]),
        ] {
            let text = editable(&d);
            assert_eq!(parse_like(&d, &text, n, false), Ok(d.clone()), "{text}");
        }
    }

    #[test]
    fn numbers_take_the_type_of_the_meters_value_and_its_range() {
        let n = now();
        assert_eq!(
            parse_like(&Data::LongUnsigned(7), "5", n, false),
            Ok(Data::LongUnsigned(5))
        );
        assert_eq!(
            parse_like(&Data::LongUnsigned(7), "70000", n, false)
                .unwrap_err()
                .to_string(),
            "70000 is out of range for u16 (0 to 65535)"
        );
        assert_eq!(
            parse_like(&Data::Enum(1), "x", n, false)
                .unwrap_err()
                .to_string(),
            "\"x\" is not a whole number"
        );
        assert_eq!(parse_as("i8", "-5", n), Ok(Data::Integer(-5)));
        assert_eq!(
            parse_as("u128", "1", n).unwrap_err(),
            InputError::UnknownType("u128".into())
        );
    }

    #[test]
    fn a_clock_takes_now_with_its_offset_and_summer_time() {
        let clock = Data::OctetString(CosemDateTime::from_chrono(&now(), 0).to_bytes().to_vec());
        let Data::OctetString(b) = parse_like(&clock, "now+60", now(), true).unwrap() else {
            panic!("not an octet string");
        };
        let t = CosemDateTime::from_octets(&b).unwrap();
        assert_eq!(t.time.minute, 1);
        assert_eq!(t.deviation, Some(-120), "UTC − local for +02:00");
        assert_eq!(t.status, Some(0x80), "summer time");
        assert!(parse_like(&clock, "tomorrow", now(), false).is_err());
    }

    #[test]
    fn structures_follow_the_meters_shape() {
        let current = Data::Structure(vec![Data::LongUnsigned(1), Data::OctetString(vec![0])]);
        assert_eq!(
            parse_like(&current, r#"[5, "00FF"]"#, now(), false),
            Ok(Data::Structure(vec![
                Data::LongUnsigned(5),
                Data::OctetString(vec![0, 0xFF])
            ]))
        );
        assert!(parse_like(&current, "[5]", now(), false).is_err());
        assert_eq!(
            parse_as("struct", r#"[{"u8": 1}, {"visible": "ab"}]"#, now()),
            Ok(Data::Structure(vec![
                Data::Unsigned(1),
                Data::VisibleString(b"ab".to_vec())
            ]))
        );
    }

    #[test]
    fn summer_time_is_told_by_the_offset() {
        let cet = FixedOffset::east_opt(3600).unwrap();
        let t = cet.with_ymd_and_hms(2026, 7, 1, 12, 0, 0).unwrap();
        assert!(!is_dst(&cet, &t), "a fixed zone has no summer time");
    }

    proptest::proptest! {
        #[test]
        fn any_text_is_a_value_or_an_error(text in ".{0,40}", ty in "[a-z0-9-]{1,12}") {
            let _ = parse_as(&ty, &text, now());
            let _ = parse_like(&Data::Structure(vec![Data::Unsigned(1)]), &text, now(), false);
        }
    }
}
