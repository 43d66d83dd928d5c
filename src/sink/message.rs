//! A logged record as an MQTT message: its topic from the sink's template, and a JSON payload
//! with the value exactly as the store keeps it, its unit, times and quality.

use crate::store::Record;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;

/// One topic level from a name: MQTT wildcards, the level separator and NUL become `_`, so a
/// meter or item name never adds levels or subscribes to others.
pub fn topic_level(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            '+' | '#' | '/' | '\0' => '_',
            c => c,
        })
        .collect()
}

/// The topic of `record` under `template` (`{meter}`, `{item}`, `{obis}`, `{request}`).
pub fn topic(template: &str, record: &Record) -> String {
    template
        .replace("{meter}", &topic_level(&record.meter))
        .replace("{item}", &topic_level(&record.item))
        .replace("{obis}", &topic_level(&record.obis))
        .replace("{request}", &topic_level(&record.request))
}

fn rfc3339(ms: i64) -> Option<String> {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// The payload of `record`, handed to the sink at `logged_ms`.
///
/// * `value`: the number exactly (an integer when whole; the text of a non-numeric value),
///   `null` for a failure; `value_text`: its decimal digits as the store keeps them.
/// * `time`: the row's time (the read, or a profile entry's capture time), UTC;
///   `meter_time`: the time as the meter stated it when its clock status warns;
///   `logged_at`: when the logger handed the row to the sink.
/// * `quality`: `ok`, `clock` (the clock status in words, when not plain) and `error` (the
///   failure's text, `null` when the read succeeded).
pub fn payload(record: &Record, logged_ms: i64) -> Value {
    serde_json::to_value(Payload::of(record, logged_ms)).unwrap_or(Value::Null)
}

/// [`payload`] as the bytes published (serialized directly, without a JSON tree).
pub fn payload_bytes(record: &Record, logged_ms: i64) -> Vec<u8> {
    // A struct of strings, numbers and options always serializes.
    serde_json::to_vec(&Payload::of(record, logged_ms)).unwrap_or_default()
}

/// The payload's fields, in the order they are written.
#[derive(serde::Serialize)]
struct Payload<'a> {
    meter: &'a str,
    item: &'a str,
    obis: &'a str,
    class: u16,
    attribute: i8,
    request: &'a str,
    value: Value,
    value_text: Option<String>,
    unit: Option<&'a str>,
    time: Option<String>,
    meter_time: Option<&'a str>,
    logged_at: Option<String>,
    profile: bool,
    poll: i64,
    quality: Quality<'a>,
}

#[derive(serde::Serialize)]
struct Quality<'a> {
    ok: bool,
    clock: Option<&'a str>,
    error: Option<&'a str>,
}

impl<'a> Payload<'a> {
    fn of(record: &'a Record, logged_ms: i64) -> Self {
        let failed = record.is_failure();
        let digits = record.value_text();
        let value = match (&record.text, &digits) {
            _ if failed => Value::Null,
            (_, Some(_)) => record.value_json(),
            (Some(t), None) => Value::String(t.clone()),
            (None, None) => Value::Null,
        };
        Payload {
            meter: &record.meter,
            item: &record.item,
            obis: &record.obis,
            class: record.class,
            attribute: record.attribute,
            request: &record.request,
            value,
            value_text: if failed {
                None
            } else {
                digits.or_else(|| record.text.clone())
            },
            unit: record.unit.as_deref(),
            time: rfc3339(record.ts_ms),
            meter_time: record.meter_time.as_deref(),
            logged_at: rfc3339(logged_ms),
            profile: record.profile,
            poll: record.poll,
            quality: Quality {
                ok: !failed,
                clock: record.time_note(),
                error: failed.then_some(record.status.as_str()),
            },
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::store::STATUS_OK;
    use serde_json::json;

    pub(crate) fn record(item: &str, value: Option<f64>, unit: Option<&str>) -> Record {
        Record {
            ts_ms: 1_780_000_000_123,
            request: "billing".into(),
            meter: "m/1".into(),
            item: item.into(),
            obis: "1.0.1.8.0.255".into(),
            class: 3,
            attribute: 2,
            value,
            text: None,
            unit: unit.map(str::to_string),
            status: STATUS_OK.into(),
            poll: 7,
            profile: false,
            exact: None,
            meter_time: None,
        }
    }

    #[test]
    fn topics_never_gain_levels_or_wildcards() {
        let r = Record {
            item: "a+b#c".into(),
            ..record("x", None, None)
        };
        assert_eq!(topic("dlms/{meter}/{item}", &r), "dlms/m_1/a_b_c");
        assert_eq!(
            topic("x/{request}/{meter}/{obis}", &r),
            "x/billing/m_1/1.0.1.8.0.255"
        );
    }

    #[test]
    fn payload_keeps_the_value_exactly_and_says_the_quality() {
        let mut r = record("energy", None, Some("kWh"));
        r.set_decimal("18446744073709551615".parse().unwrap());
        let p = payload(&r, 1_780_000_001_000);
        assert_eq!(p["value"], json!(18446744073709551615u64));
        assert_eq!(p["value_text"], "18446744073709551615");
        assert_eq!(p["unit"], "kWh");
        assert_eq!(p["time"], "2026-05-28T20:26:40.123Z");
        assert_eq!(p["logged_at"], "2026-05-28T20:26:41.000Z");
        assert_eq!(
            p["quality"],
            json!({"ok": true, "clock": null, "error": null})
        );
        // Serialized, the integer keeps every digit; the fields come in a fixed order.
        let bytes = String::from_utf8(payload_bytes(&r, 1_780_000_001_000)).unwrap();
        assert!(bytes.contains("\"value\":18446744073709551615,"), "{bytes}");
        assert!(bytes.starts_with("{\"meter\":\"m/1\",\"item\":\"energy\",\"obis\""));
        assert_eq!(serde_json::from_str::<Value>(&bytes).unwrap(), p);

        let mut r = record("energy", None, Some("kWh"));
        r.set_decimal("9430.701".parse().unwrap());
        r.meter_time = Some("2026-11-21T12:07:30+01:00 (invalid)".into());
        let p = payload(&r, 0);
        assert_eq!(p["value"], json!(9430.701));
        assert_eq!(p["value_text"], "9430.701");
        assert_eq!(p["meter_time"], "2026-11-21T12:07:30+01:00 (invalid)");
        assert_eq!(p["quality"]["clock"], "invalid");

        let mut f = record("energy", None, None);
        f.status = "the meter did not answer within 3 s".into();
        let p = payload(&f, 0);
        assert_eq!(p["value"], Value::Null);
        assert_eq!(
            p["quality"],
            json!({"ok": false, "clock": null, "error": "the meter did not answer within 3 s"})
        );

        let mut t = record("name", None, None);
        t.text = Some("LGZ1030".into());
        assert_eq!(payload(&t, 0)["value"], "LGZ1030");
    }
}
