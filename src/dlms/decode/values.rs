//! A notification body's values, in frame order, with the OBIS code each is sent with.
//!
//! Meters shape their push lists in three ways, all read here:
//!
//! * **OBIS pairs**: each value next to its logical name — structures `{obis, value[,
//!   scaler_unit]}` (Aidon), or one flat structure `obis, value, obis, value …` with optional
//!   scaler_unit structures after values (Kamstrup, Kaifa in Austria, Sagemcom).
//! * **Positional lists**: values only, no OBIS (Kaifa in Norway); a [`Layout`](super::Layout)
//!   names them by position.
//! * **Descriptor then values**: a structure whose first element is the push object list
//!   (`{class_id, logical_name, attribute_index, data_index}` per element) and whose other
//!   elements are the values it describes (Landis+Gyr E450, Iskraemeco AM550).
//! * **Compact data** (class 62): the values in one octet-string, contents only, read with a
//!   template (`template_id` first, then as the `template_description` says): a configured
//!   template ([`into_values_with`]), or a body that is `{template_description,
//!   compact_buffer}` (the description sent first). A buffer of a capture object of class 62,
//!   or one without a logical name, is read when its template_id names a template.

use crate::dlms::compact_data::{self, CompactTemplate};
use crate::dlms::data::Data;
use crate::dlms::datetime::CosemDateTime;
use crate::dlms::obis::Obis;
use crate::dlms::unit::{Decimal, ScalerUnit};

use super::data::date_time_octets;

/// One value of a notification.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    /// The logical name it was sent with (or the layout gave it).
    pub obis: Option<Obis>,
    /// The value exactly as the meter sent it.
    pub data: Data,
    /// Its scaler and unit: sent next to it, or the layout's.
    pub scaler_unit: Option<ScalerUnit>,
    /// The interface class, when the push object list says.
    pub class_id: Option<u16>,
    /// The attribute, when the push object list says.
    pub attribute: Option<i8>,
    /// The layout's name for it.
    pub name: Option<String>,
}

impl Value {
    fn new(obis: Option<Obis>, data: Data) -> Value {
        Value {
            obis,
            data,
            scaler_unit: None,
            class_id: None,
            attribute: None,
            name: None,
        }
    }

    /// The date-time it holds: a date-time, or a 12-byte octet-string that reads as one.
    pub fn date_time(&self) -> Option<CosemDateTime> {
        match &self.data {
            Data::DateTime(t) => Some(*t),
            Data::OctetString(b) => date_time_octets(b),
            _ => None,
        }
    }

    /// The number with its scaler applied, exactly (`2307` with scaler −1 is `230.7`);
    /// `None` for values that are not numbers.
    pub fn scaled(&self) -> Option<Decimal> {
        let d = self.data.as_decimal()?;
        Some(match self.scaler_unit {
            Some(su) => d.shift(i32::from(su.scaler)),
            None => d,
        })
    }
}

/// The values of a notification body, in frame order.
pub fn values(body: &Data) -> Vec<Value> {
    into_values(body.clone())
}

/// [`values`], taking the body (no copy of its elements).
pub fn into_values(body: Data) -> Vec<Value> {
    let body = match described(body) {
        Ok(v) => return v,
        Err(body) => body,
    };
    let mut out = Vec::new();
    match body {
        Data::Array(items) | Data::Structure(items) => flat(items, &mut out),
        other => out.push(Value::new(None, other)),
    }
    out
}

/// [`into_values`], reading compact data buffers with `templates` (see the module's text).
pub fn into_values_with(body: Data, templates: &[CompactTemplate]) -> Vec<Value> {
    if let Some(v) = self_described(&body) {
        return v;
    }
    let values = into_values(body);
    if templates.is_empty() {
        return values;
    }
    let mut out = Vec::with_capacity(values.len());
    for v in values {
        let compact = matches!(v.data, Data::OctetString(_))
            && (v.class_id == Some(compact_data::CLASS_ID) || v.obis.is_none());
        let read = match &v.data {
            Data::OctetString(b) if compact => compact_data::decode_buffer(b, templates).ok(),
            _ => None,
        };
        match read {
            Some((t, captured)) => out.extend(compact_values(t, captured)),
            None => out.push(v),
        }
    }
    out
}

/// A body `{template_description, compact_buffer}`: the buffer read with the description
/// sent before it.
fn self_described(body: &Data) -> Option<Vec<Value>> {
    let Data::Structure(items) = body else {
        return None;
    };
    let [Data::OctetString(description), Data::OctetString(buffer)] = items.as_slice() else {
        return None;
    };
    // A description is a structure of types; a buffer starts with its template_id.
    if description.first() != Some(&2) {
        return None;
    }
    let t = CompactTemplate::new(*buffer.first()?, description, Vec::new()).ok()?;
    let captured = t.decode(buffer).ok()?;
    Some(compact_values(&t, captured))
}

/// The values of a compact buffer, named by the template's capture objects when it has them.
fn compact_values(t: &CompactTemplate, captured: Vec<Data>) -> Vec<Value> {
    captured
        .into_iter()
        .enumerate()
        .map(|(i, d)| Value::new(t.capture_objects.get(i).copied(), d))
        .collect()
}

/// The descriptor-then-values form, when the body has it (else the body back).
fn described(body: Data) -> Result<Vec<Value>, Data> {
    let parsed: Option<Vec<(u16, Obis, i8)>> = match &body {
        Data::Structure(items) => match items.first() {
            Some(Data::Array(d)) if d.len() == items.len() && !d.is_empty() => {
                d.iter().map(capture_object).collect()
            }
            _ => None,
        },
        _ => None,
    };
    let (parsed, items) = match (parsed, body) {
        (Some(parsed), Data::Structure(items)) => (parsed, items),
        (_, body) => return Err(body),
    };
    Ok(parsed
        .into_iter()
        .zip(items)
        // The push object list describes itself first: that is no reading.
        .filter(|((class, _, attribute), _)| !(*class == 40 && *attribute == 2))
        .map(|((class, obis, attribute), data)| Value {
            class_id: Some(class),
            attribute: Some(attribute),
            ..Value::new(Some(obis), data)
        })
        .collect())
}

/// `{class_id, logical_name, attribute_index, data_index}` of a push object list.
fn capture_object(d: &Data) -> Option<(u16, Obis, i8)> {
    match d {
        Data::Structure(f) if f.len() == 4 => {
            let class = match f[0] {
                Data::LongUnsigned(c) => c,
                _ => return None,
            };
            let attribute = match f[2] {
                Data::Integer(a) => a,
                _ => return None,
            };
            Some((class, f[1].as_obis()?, attribute))
        }
        _ => None,
    }
}

/// A 6-byte octet-string that looks like a logical name (not a clock's 12 bytes, not text).
fn obis_of(d: &Data) -> Option<Obis> {
    d.as_obis()
}

fn is_scaler_unit(d: &Data) -> bool {
    matches!(d, Data::Structure(f) if is_scaler_unit_items(f))
}

/// Walks a list of elements: OBIS pairs where the elements say so, positions elsewhere;
/// nested containers that are no pair are walked into.
fn flat(items: Vec<Data>, out: &mut Vec<Value>) {
    let mut it = items.into_iter().peekable();
    while let Some(el) = it.next() {
        match el {
            // A structure {obis, value[, scaler_unit]}.
            Data::Structure(f) | Data::Array(f)
                if (2..=3).contains(&f.len())
                    && obis_of(&f[0]).is_some()
                    && obis_of(&f[1]).is_none() =>
            {
                let obis = obis_of(&f[0]);
                let scaler_unit = f.get(2).and_then(ScalerUnit::from_data);
                let mut f = f.into_iter();
                let data = f.nth(1).unwrap_or(Data::Null);
                let mut v = Value::new(obis, data);
                v.scaler_unit = scaler_unit;
                out.push(v);
            }
            // A scaler_unit right after a positional value belongs to it.
            ref su if is_scaler_unit(su) && out.last().is_some_and(|v| v.scaler_unit.is_none()) => {
                if let Some(last) = out.last_mut() {
                    last.scaler_unit = ScalerUnit::from_data(su);
                }
            }
            Data::Structure(f) | Data::Array(f) if !f.is_empty() && !is_scaler_unit_items(&f) => {
                flat(f, out)
            }
            el => {
                // obis, value[, scaler_unit] in a row.
                let pairs = obis_of(&el).is_some()
                    && it
                        .peek()
                        .is_some_and(|next| obis_of(next).is_none() && !is_scaler_unit(next));
                if pairs {
                    let data = it.next().unwrap_or(Data::Null);
                    let mut v = Value::new(obis_of(&el), data);
                    if it.peek().is_some_and(is_scaler_unit) {
                        v.scaler_unit = it.next().as_ref().and_then(ScalerUnit::from_data);
                    }
                    out.push(v);
                } else {
                    out.push(Value::new(None, el));
                }
            }
        }
    }
}

fn is_scaler_unit_items(f: &[Data]) -> bool {
    f.len() == 2 && matches!(f[0], Data::Integer(_)) && matches!(f[1], Data::Enum(_))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dlms::data::tests::unhex;

    fn vals(hex: &str) -> Vec<Value> {
        values(&Data::from_bytes(&unhex(hex)).unwrap())
    }

    #[test]
    fn obis_structures_with_scaler_unit() {
        let v = vals("01 02 02 03 09 06 01 00 20 07 00 FF 12 08 E2 02 02 0F FF 16 23 02 02 09 06 00 00 60 01 00 FF 0A 02 41 42");
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].obis.unwrap().to_string(), "1.0.32.7.0.255");
        assert_eq!(v[0].scaled().unwrap().to_string(), "227.4");
        assert_eq!(v[1].data, Data::VisibleString(b"AB".to_vec()));
    }

    #[test]
    fn flat_pairs_and_positions() {
        // date-time (positional), obis value scaler_unit, obis value, trailing text.
        let v = vals("02 07 09 0C 07 E5 09 1B 01 09 2F 0F 00 FF 88 80 09 06 01 00 01 08 00 FF 06 00 00 32 89 02 02 0F 00 16 1E 09 06 01 00 20 07 00 FF 12 09 21 0A 01 41");
        assert_eq!(v.len(), 4);
        assert!(v[0].obis.is_none() && v[0].date_time().is_some());
        assert_eq!(
            (
                v[1].obis.unwrap().to_string(),
                v[1].scaled().unwrap().to_string()
            ),
            ("1.0.1.8.0.255".into(), "12937".into())
        );
        assert_eq!(v[1].scaler_unit.unwrap().unit, 30);
        assert_eq!(v[2].data, Data::LongUnsigned(0x921));
        assert!(v[3].obis.is_none());
    }

    #[test]
    fn compact_data_with_a_template_or_its_description_first() {
        let t = CompactTemplate::new(
            5,
            &unhex("02 02 06 12"),
            vec![
                Obis::new(1, 0, 1, 8, 0, 255),
                Obis::new(1, 0, 32, 7, 0, 255),
            ],
        )
        .unwrap();
        let buffer = unhex("05 00003039 08FD");
        // A push object list (itself, then the compact data object's buffer), then the buffer.
        let object = |class: u16, obis: [u8; 6]| {
            Data::Structure(vec![
                Data::LongUnsigned(class),
                Data::OctetString(obis.to_vec()),
                Data::Integer(2),
                Data::LongUnsigned(0),
            ])
        };
        let described = Data::Structure(vec![
            Data::Array(vec![
                object(40, [0, 0, 25, 9, 0, 255]),
                object(62, [0, 0, 66, 0, 1, 255]),
            ]),
            Data::OctetString(buffer.clone()),
        ]);
        let v = into_values_with(described.clone(), std::slice::from_ref(&t));
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].obis, Some(Obis::new(1, 0, 1, 8, 0, 255)));
        assert_eq!(v[0].data, Data::DoubleLongUnsigned(12345));
        assert_eq!(v[1].data, Data::LongUnsigned(2301));
        // Without the template the buffer stays one octet-string.
        let v = into_values_with(described, &[]);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].data, Data::OctetString(buffer.clone()));
        // The description sent first: read without configuration, values by position.
        let v = into_values_with(
            Data::Structure(vec![
                Data::OctetString(unhex("02 02 06 12")),
                Data::OctetString(buffer.clone()),
            ]),
            &[],
        );
        assert_eq!(
            v.iter().map(|v| v.data.clone()).collect::<Vec<_>>(),
            [Data::DoubleLongUnsigned(12345), Data::LongUnsigned(2301)]
        );
        assert!(v[0].obis.is_none());
        // A logical name's value is never taken for a buffer.
        let pair = Data::Structure(vec![
            Data::OctetString(vec![0, 0, 96, 1, 0, 255]),
            Data::OctetString(buffer),
        ]);
        assert_eq!(into_values_with(pair, std::slice::from_ref(&t)).len(), 1);
    }

    #[test]
    fn descriptors_then_values() {
        let v = vals("02 03 01 03 02 04 12 00 28 09 06 00 08 19 09 00 FF 0F 02 12 00 00 02 04 12 00 01 09 06 00 00 60 01 01 FF 0F 02 12 00 00 02 04 12 00 03 09 06 01 00 01 07 00 FF 0F 02 12 00 00 0A 02 41 42 06 00 00 00 07");
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].obis.unwrap().to_string(), "0.0.96.1.1.255");
        assert_eq!(
            (v[1].class_id, v[1].data.clone()),
            (Some(3), Data::DoubleLongUnsigned(7))
        );
    }
}
