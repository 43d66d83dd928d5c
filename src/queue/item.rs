//! A response item: one attribute of one COSEM object, and how to record it.

use super::time_bound::TimeBound;
use crate::dlms::data::type_name;
use crate::dlms::obis::Obis;

/// One attribute to read.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Export name, unique within the request.
    pub name: String,
    /// Logical name of the object.
    pub obis: Obis,
    /// Interface class.
    pub class_id: u16,
    /// Attribute index, 1..=127.
    pub attribute: i8,
    /// Expected A-XDR type name (e.g. `double-long-unsigned`); `None` = whatever the meter sends.
    pub data_type: Option<String>,
    /// Multiplier applied after the register's scaler; finite and not 0.
    pub scale: Option<f64>,
    /// Profile generic only: read this many newest rows.
    pub entries: Option<u32>,
    /// Profile generic only: rows from this time on.
    pub since: Option<TimeBound>,
    /// Profile generic only: rows up to this time.
    pub until: Option<TimeBound>,
    /// Disabled items are not read.
    pub enabled: bool,
}

impl Item {
    /// Attribute 2 of `obis`, with its usual class.
    pub fn new(name: impl Into<String>, obis: Obis) -> Self {
        Item {
            name: name.into(),
            obis,
            class_id: default_class(&obis),
            attribute: 2,
            data_type: None,
            scale: None,
            entries: None,
            since: None,
            until: None,
            enabled: true,
        }
    }
}

/// The class of profile generic objects, the only ones that take `entries`, `since` and `until`.
pub const PROFILE_GENERIC: u16 = 7;

/// The interface class an OBIS code usually has, from its value groups.
pub fn default_class(obis: &Obis) -> u16 {
    // The specific codes first: a clock or a profile is no register whatever its group D.
    match obis.0 {
        [0, 0, 1, 0, 0, 255] => 8,
        [0, 0, 40, 0, _, 255] => 15,
        [_, _, 99, d, _, _] if d != 0 => 7,
        [_, _, _, 7 | 8, _, _] => 3,
        [0 | 1, _, _, 6, _, _] => 4,
        [0 | 1, _, _, 4 | 5, _, _] => 5,
        _ => 1,
    }
}

/// The A-XDR type names `type` accepts (besides `auto`).
pub fn data_type_names() -> impl Iterator<Item = &'static str> {
    (0..=u8::MAX)
        .map(type_name)
        .filter(|&name| name != "unknown")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_classes() {
        for (obis, class) in [
            ("1.0.1.8.0.255", 3),
            ("1.0.32.7.0.255", 3),
            ("1.0.1.6.0.255", 4),
            ("1.0.1.4.0.255", 5),
            ("0.0.1.0.0.255", 8),
            ("1.0.99.1.0.255", 7),
            ("0.0.99.98.0.255", 7),
            ("0.0.40.0.0.255", 15),
            ("0.0.40.0.3.255", 15),
            ("0.0.96.1.0.255", 1),
            ("0.0.42.0.0.255", 1),
            ("2.0.1.6.0.255", 1),
        ] {
            assert_eq!(default_class(&obis.parse().unwrap()), class, "{obis}");
        }
    }

    #[test]
    fn type_names_come_from_the_codec() {
        let names: Vec<_> = data_type_names().collect();
        assert!(names.contains(&"double-long-unsigned") && names.contains(&"date-time"));
        assert!(!names.contains(&"unknown") && !names.contains(&"auto"));
    }
}
