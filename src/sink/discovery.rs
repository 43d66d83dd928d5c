//! Home Assistant MQTT discovery: one retained config message per item, so that each item
//! appears as a sensor of its meter's device with its unit, device class and state class.
//!
//! Topic `<prefix>/sensor/<unique_id>/config` (Home Assistant's
//! `<discovery_prefix>/<component>/<object_id>/config`, object id = unique id, characters
//! `[a-zA-Z0-9_-]`). The state is the item's own topic; `value_template` takes `value` from
//! its JSON, `availability` marks the sensor unavailable while the last read failed, and the
//! whole JSON is the sensor's attributes (OBIS code, times, quality).

use super::message::topic;
use crate::store::Record;
use serde_json::{json, Map, Value};

/// The device class and state class Home Assistant knows for a unit, if any. Energy
/// registers count up (`total_increasing`); everything else with a unit is a measurement.
pub fn classes(unit: &str) -> (Option<&'static str>, &'static str) {
    let device = match unit {
        "Wh" | "kWh" | "MWh" | "GWh" => Some("energy"),
        "W" | "kW" | "MW" => Some("power"),
        "VA" | "kVA" => Some("apparent_power"),
        "var" | "kvar" => Some("reactive_power"),
        "V" | "mV" | "kV" => Some("voltage"),
        "A" | "mA" => Some("current"),
        "Hz" => Some("frequency"),
        "°C" => Some("temperature"),
        _ => None,
    };
    let state = match unit {
        "Wh" | "kWh" | "MWh" | "GWh" | "varh" | "kvarh" | "VAh" | "kVAh" => "total_increasing",
        _ => "measurement",
    };
    (device, state)
}

/// `[a-zA-Z0-9_-]` only; when a name had other characters, a hash of the original keeps two
/// names that map to the same text apart.
fn id_part(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean == name {
        return clean;
    }
    // FNV-1a, 32 bits: stable across versions and platforms.
    let hash = name.bytes().fold(0x811c_9dc5u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    format!("{clean}_{hash:08x}")
}

/// The unique id of a meter's item.
pub fn unique_id(meter: &str, item: &str) -> String {
    format!("dlms_{}_{}", id_part(meter), id_part(item))
}

/// The device identifier of a meter.
pub fn device_id(meter: &str) -> String {
    format!("dlms_{}", id_part(meter))
}

/// The discovery topic and config payload of `record`'s item (published with `state` as its
/// state topic template); `None` for a failure row, whose unit and kind are not known.
pub fn config(prefix: &str, template: &str, record: &Record) -> Option<(String, Value)> {
    if record.is_failure() {
        return None;
    }
    let uid = unique_id(&record.meter, &record.item);
    let state = topic(template, record);
    let mut c = Map::new();
    c.insert("name".into(), json!(record.item));
    c.insert("unique_id".into(), json!(uid));
    c.insert("state_topic".into(), json!(state));
    c.insert("value_template".into(), json!("{{ value_json.value }}"));
    c.insert("json_attributes_topic".into(), json!(state));
    c.insert(
        "availability".into(),
        json!([{
            "topic": state,
            "value_template": "{{ 'online' if value_json.quality.ok else 'offline' }}",
        }]),
    );
    c.insert("qos".into(), json!(1));
    // Numbers get their unit and classes; text values (names, date-times) are plain sensors.
    let numeric = record.value_text().is_some();
    if let (true, Some(unit)) = (numeric, record.unit.as_deref()) {
        let (device_class, state_class) = classes(unit);
        c.insert("unit_of_measurement".into(), json!(unit));
        if let Some(d) = device_class {
            c.insert("device_class".into(), json!(d));
        }
        c.insert("state_class".into(), json!(state_class));
    } else if numeric {
        c.insert("state_class".into(), json!("measurement"));
    }
    c.insert(
        "device".into(),
        json!({
            "identifiers": [device_id(&record.meter)],
            "name": record.meter,
        }),
    );
    c.insert(
        "origin".into(),
        json!({ "name": "dlms-logger", "sw_version": env!("CARGO_PKG_VERSION") }),
    );
    Some((format!("{prefix}/sensor/{uid}/config"), Value::Object(c)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::message::tests::record;

    #[test]
    fn energy_power_voltage_and_text_sensors() {
        let mut r = record("energy import", Some(9430.701), Some("kWh"));
        r.meter = "lab meter".into();
        let (topic, c) = config("homeassistant", "dlms/{meter}/{item}", &r).unwrap();
        let uid = c["unique_id"].as_str().unwrap();
        assert_eq!(topic, format!("homeassistant/sensor/{uid}/config"));
        assert!(uid
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'));
        assert!(uid.starts_with("dlms_lab_meter_"));
        assert_eq!(c["state_topic"], "dlms/lab meter/energy import");
        assert_eq!(c["device_class"], "energy");
        assert_eq!(c["state_class"], "total_increasing");
        assert_eq!(c["unit_of_measurement"], "kWh");
        assert_eq!(c["value_template"], "{{ value_json.value }}");
        assert_eq!(c["device"]["name"], "lab meter");
        assert_eq!(c["device"]["identifiers"][0], device_id("lab meter"));

        let p = config("ha", "d/{meter}/{item}", &record("p", Some(1.0), Some("W"))).unwrap();
        assert_eq!(
            (&p.1["device_class"], &p.1["state_class"]),
            (&json!("power"), &json!("measurement"))
        );
        let v = config(
            "ha",
            "d/{meter}/{item}",
            &record("u", Some(230.1), Some("V")),
        )
        .unwrap();
        assert_eq!(v.1["device_class"], "voltage");
        let mut t = record("name", None, None);
        t.text = Some("LGZ".into());
        let t = config("ha", "d/{meter}/{item}", &t).unwrap().1;
        assert!(t.get("unit_of_measurement").is_none() && t.get("state_class").is_none());
        let mut f = record("e", None, None);
        f.status = "timeout".into();
        assert!(config("ha", "d/{meter}/{item}", &f).is_none());
    }

    #[test]
    fn ids_keep_different_names_apart() {
        assert_eq!(unique_id("m1", "energy"), "dlms_m1_energy");
        assert_ne!(unique_id("m 1", "e"), unique_id("m_1", "e"));
        assert_ne!(unique_id("m.1", "e"), unique_id("m 1", "e"));
    }
}
