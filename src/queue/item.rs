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
    /// Multiplier applied after the register's scaler, exactly (as the decimal it is written
    /// as: `0.001` is 10^-3, no float noise); finite and not 0. With `unit`, what converts
    /// the meter's unit into it (Wh × 0.001 = kWh).
    pub scale: Option<f64>,
    /// The unit to record instead of the meter's (`kWh` where the meter says Wh); `None`
    /// keeps the meter's own.
    pub unit: Option<String>,
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
            unit: None,
            entries: None,
            since: None,
            until: None,
            enabled: true,
        }
    }
}

/// The class of profile generic objects, the only ones that take `entries`, `since` and `until`.
pub const PROFILE_GENERIC: u16 = 7;

/// The interface class an OBIS code usually has, from its value groups (the Blue Book's OBIS
/// conventions): group A 0 holds abstract objects, whose group C names the object and whose
/// group D says nothing about registers; C 96 (service entries) and 97 (error registers) are
/// data, C 98 (data of billing periods) and 99 (load profiles, logs) profile generic; only a
/// quantity (C 1 to 93) of a medium has registers by group D (7 instantaneous, 8 integral,
/// 6 maximum with capture time, 4 and 5 demand).
pub fn default_class(obis: &Obis) -> u16 {
    match obis.0 {
        // Abstract objects, by group C (and D where one C holds several classes).
        [0, _, 1, 0, _, _] => 8,
        [0, _, 2, 0, _, _] => 27,
        [0, _, 10, 0, _, _] => 9,
        [0, _, 11, 0, _, _] => 11,
        [0, _, 12, 0, _, _] => 10,
        [0, _, 13, 0, _, _] => 20,
        [0, _, 14, 0, _, _] => 6,
        [0, _, 15, 0, _, _] => 22,
        [0, _, 16, 0, _, _] => 21,
        [0, _, 17, 0, _, _] => 71,
        [0, _, 20, 0, _, _] => 19,
        [0, _, 21, 0, _, _] => PROFILE_GENERIC,
        [0, _, 22, 0, _, _] => 23,
        [0, _, 25, 0, _, _] => 41,
        [0, _, 25, 1, _, _] => 42,
        [0, _, 25, 9, _, _] => 40,
        [0, _, 40, 0, _, _] => 15,
        [0, _, 41, 0, _, _] => 17,
        [0, _, 43, 0, _, _] => 64,
        [0, _, 96, 3, 10, _] => 70,
        // Profiles of any medium: data of billing periods, load profiles and logs.
        [_, _, 98, _, _, _] => PROFILE_GENERIC,
        [_, _, 99, d, _, _] if d != 0 => PROFILE_GENERIC,
        // Every other abstract object, service entry and error register is data.
        [0, ..] | [_, _, 0 | 94..=97, _, _, _] => 1,
        [_, _, 1..=93, 7 | 8, _, _] => 3,
        [1, _, 1..=93, 6, _, _] => 4,
        [1, _, 1..=93, 4 | 5, _, _] => 5,
        _ => 1,
    }
}

/// Longest unit text an item may give.
pub const MAX_UNIT_CHARS: usize = 24;

/// Checks an item's `unit` text: 1 to [`MAX_UNIT_CHARS`] printable characters, no spaces at
/// either end, no control or bidirectional-override characters (they would garble a table or
/// a log line). The error says what is wrong, for the message after file:line.
pub fn check_unit(unit: &str) -> Result<(), super::ValueError> {
    use super::ValueError;
    let hidden = |c: char| {
        c.is_control()
            || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
    };
    if unit.trim().is_empty() {
        Err(ValueError::EmptyUnit)
    } else if unit.chars().count() > MAX_UNIT_CHARS {
        Err(ValueError::LongUnit {
            unit: unit.to_string(),
            max: MAX_UNIT_CHARS,
        })
    } else if let Some(c) = unit.chars().find(|&c| hidden(c)) {
        // Not echoed: the character would garble the message it is reported in.
        Err(ValueError::HiddenCharacter(c as u32))
    } else if unit.trim() != unit {
        Err(ValueError::Spaces(unit.to_string()))
    } else {
        Ok(())
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

    /// The standard's value groups (Blue Book OBIS conventions, dlms-notes §1): group A 0 is
    /// abstract, so its group D says nothing about registers; C 96/97 are service entries and
    /// error registers (data), C 98/99 profiles.
    #[test]
    fn default_classes_follow_the_obis_groups() {
        for (obis, class) in [
            // Abstract objects (A = 0).
            ("0.0.96.7.0.255", 1), // number of power failures: data, not a register
            ("0.0.96.7.21.255", 1), // power failures in any phase
            ("0.0.96.8.0.255", 1), // time of operation
            ("0.0.96.6.0.255", 1), // battery entries: data, not an extended register
            ("0.0.96.5.0.255", 1), // internal operating status: data, not a demand register
            ("0.0.96.4.0.255", 1),
            ("0.0.96.1.0.255", 1),   // serial number
            ("0.0.96.3.10.255", 70), // disconnect control
            ("0.0.97.97.0.255", 1),  // error register
            ("0.0.97.98.0.255", 1),  // alarm register
            ("0.0.98.1.0.255", 7),   // data of billing period
            ("0.0.98.1.3.255", 7),
            ("0.0.99.98.0.255", 7), // event log
            ("0.0.99.98.4.255", 7),
            ("0.0.1.0.0.255", 8),
            ("0.0.40.0.0.255", 15),
            ("0.0.40.0.2.255", 15),
            ("0.0.41.0.0.255", 17),
            ("0.0.42.0.0.255", 1),
            ("0.0.43.0.0.255", 64),
            ("0.0.43.0.2.255", 64),
            ("0.0.43.1.0.255", 1),  // invocation counter
            ("0.0.0.2.0.255", 1),   // active firmware identifier
            ("0.0.10.0.0.255", 9),  // script table
            ("0.0.11.0.0.255", 11), // special days
            ("0.0.13.0.0.255", 20), // activity calendar
            ("0.0.15.0.0.255", 22), // single action schedule
            ("0.0.20.0.0.255", 19), // optical port setup
            ("0.0.22.0.0.255", 23), // HDLC setup
            ("0.0.25.9.0.255", 40), // push setup
            ("0.0.2.7.0.255", 1),   // abstract, D = 7 is no instantaneous value
            ("0.0.21.8.0.255", 1),
            // Electricity (A = 1).
            ("1.0.96.7.0.255", 1),
            ("1.0.97.97.0.255", 1),
            ("1.0.98.1.0.255", 7), // billing period data
            ("1.0.99.1.0.255", 7),
            ("1.0.99.2.0.255", 7),
            ("1.0.99.97.0.255", 7),
            ("1.0.0.2.0.255", 1), // firmware
            ("1.0.0.8.0.255", 1), // general purpose (C = 0): not a register by group D
            ("1.0.1.8.0.255", 3),
            ("1.0.1.8.1.255", 3),
            ("1.0.2.8.0.255", 3),
            ("1.0.32.7.0.255", 3),
            ("1.0.1.7.0.255", 3),
            ("1.0.1.6.0.255", 4),
            ("1.0.1.4.0.255", 5),
            ("1.0.1.5.0.255", 5),
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
