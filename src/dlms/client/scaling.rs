//! Scaling values: the scaler_unit attributes to read with them and [`Reading`].

use super::{AttributeRef, ReadError};
use crate::dlms::data::Data;
use crate::dlms::unit::ScalerUnit;

/// The attribute that holds the scaler_unit of a value attribute, when the class has one.
pub fn scaler_unit_attribute(item: &AttributeRef) -> Option<AttributeRef> {
    let attr = match (item.class_id, item.attribute) {
        (3, 2) | (4, 2) => 3,
        (5, 2) | (5, 3) => 4,
        _ => return None,
    };
    Some(AttributeRef::new(item.class_id, item.obis, attr))
}

/// A value read from a meter, with the scaler_unit that applies to it.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// The value as sent.
    pub data: Data,
    /// The register's scaler and unit, when it has one.
    pub scaler_unit: Option<ScalerUnit>,
}

impl Reading {
    /// The scaled number, for numeric values (the nearest float of [`Reading::decimal`] when
    /// there is one).
    pub fn scaled(&self) -> Option<f64> {
        if let Some(d) = self.decimal() {
            return Some(d.to_f64());
        }
        let raw = self.data.as_f64()?;
        Some(self.scaler_unit.map_or(raw, |su| su.apply(raw)))
    }

    /// The scaled value as an exact decimal: integers × 10^scaler, floats by the decimal they
    /// print as; an enum is a code, never scaled; `None` for other data.
    pub fn decimal(&self) -> Option<crate::dlms::unit::Decimal> {
        let raw = self.data.as_decimal()?;
        match (&self.data, self.scaler_unit) {
            (Data::Enum(_), _) | (_, None) => Some(raw),
            (_, Some(su)) => Some(raw.shift(su.scaler as i32)),
        }
    }

    /// The scaled value as text: exact decimals for numbers, the data's own form otherwise.
    pub fn value_text(&self) -> String {
        match self.decimal() {
            Some(d) => d.to_string(),
            None => self.data.to_string(),
        }
    }

    /// The unit's name, when known.
    pub fn unit(&self) -> Option<&'static str> {
        self.scaler_unit.and_then(|s| s.unit_name())
    }
}

/// Expands items with the scaler_unit attributes they need; returns the attributes to read.
pub fn with_scaler_units(items: &[AttributeRef]) -> Vec<AttributeRef> {
    let mut out: Vec<AttributeRef> = Vec::with_capacity(items.len() * 2);
    for it in items {
        if let Some(su) = scaler_unit_attribute(it) {
            if !out.contains(&su) && !items.contains(&su) {
                out.push(su);
            }
        }
    }
    out.extend(items.iter().cloned());
    out
}

/// Pairs each requested item with its scaler_unit from the results of a
/// [`with_scaler_units`] read. A failed scaler_unit read leaves the value unscaled.
pub fn apply_scaler_units(
    items: &[AttributeRef],
    read: &[AttributeRef],
    results: &[Result<Data, ReadError>],
) -> Vec<Result<Reading, ReadError>> {
    let lookup = |a: &AttributeRef| {
        read.iter()
            .position(|r| r == a)
            .and_then(|i| results.get(i))
    };
    items
        .iter()
        .map(|it| {
            let data = lookup(it)
                .cloned()
                .unwrap_or_else(|| Err(ReadError::Exception("not read".into())))?;
            let scaler_unit = scaler_unit_attribute(it)
                .and_then(|su| lookup(&su))
                .and_then(|r| r.as_ref().ok())
                .and_then(ScalerUnit::from_data);
            Ok(Reading { data, scaler_unit })
        })
        .collect()
}
