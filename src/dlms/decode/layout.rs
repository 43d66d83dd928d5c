//! A list layout: names, units and scalers for the values of a meter's push lists, by OBIS
//! code or, for lists sent without OBIS codes, by position. Loading them from files is the
//! caller's business (`queue::han` reads the shipped presets).

use super::values::Value;
use crate::dlms::obis::Obis;
use crate::dlms::unit::ScalerUnit;

/// The layouts of one make's push lists (a preset such as "Kaifa (Norway)").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The preset's name.
    pub name: String,
    /// Its lists.
    pub lists: Vec<ListLayout>,
}

/// One push list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListLayout {
    /// The list's name (`list 2, three-phase`).
    pub name: String,
    /// Its items: in the order the meter sends them when the list is positional.
    pub items: Vec<ItemLayout>,
    /// Whether the meter sends the list without OBIS codes, so items are matched by position.
    pub positional: bool,
}

/// One item of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemLayout {
    /// Its logical name.
    pub obis: Option<Obis>,
    /// What it is, in words.
    pub name: String,
    /// The scaler and unit to apply when the meter sends none.
    pub scaler_unit: Option<ScalerUnit>,
}

impl Layout {
    /// Names the values: a positional list of the same length gives each value its OBIS code,
    /// name and scaler_unit by position; otherwise values are matched by OBIS code. A scaler
    /// the meter sent itself is kept. Returns the list that matched, if one did.
    pub fn apply(&self, values: &mut [Value]) -> Option<&ListLayout> {
        let positional = values.iter().filter(|v| v.obis.is_none()).count();
        if positional == values.len() && !values.is_empty() {
            let list = self
                .lists
                .iter()
                .find(|l| l.positional && l.items.len() == values.len())?;
            for (v, item) in values.iter_mut().zip(&list.items) {
                v.obis = item.obis;
                fill(v, item);
            }
            return Some(list);
        }
        let mut matched = None;
        for v in values.iter_mut() {
            let Some(obis) = v.obis else { continue };
            for list in &self.lists {
                if let Some(item) = list.items.iter().find(|i| i.obis == Some(obis)) {
                    fill(v, item);
                    matched.get_or_insert(list);
                    break;
                }
            }
        }
        matched
    }
}

fn fill(v: &mut Value, item: &ItemLayout) {
    v.name = Some(item.name.clone());
    if v.scaler_unit.is_none() {
        v.scaler_unit = item.scaler_unit;
    }
}
