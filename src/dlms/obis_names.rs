//! Human names for well-known OBIS codes (IEC 62056-61 and the DLMS UA object list).

use super::obis::Obis;

/// A readable name for a well-known OBIS code, if it is one.
pub fn obis_name(obis: &Obis) -> Option<String> {
    let [a, b, c, d, e, f] = obis.0;
    let fixed = match (a, b, c, d, e, f) {
        (0, 0, 1, 0, 0, 255) => "Clock",
        (0, 0, 40, 0, 0, 255) => "Current association",
        (0, 0, 41, 0, 0, 255) => "SAP assignment",
        (0, 0, 42, 0, 0, 255) => "COSEM logical device name",
        (0, 0, 96, 1, 0, 255) => "Serial number",
        (0, 0, 96, 1, 1, 255) => "Device ID 2",
        (0, 0, 96, 3, 10, 255) => "Disconnect control",
        (0, 0, 22, 0, 0, 255) => "IEC HDLC setup",
        (0, 0, 20, 0, 0, 255) => "IEC optical port setup",
        (0, 0, 25, 9, 0, 255) => "Push setup",
        (0, 0, 0, 2, 0, 255) | (1, 0, 0, 2, 0, 255) => "Active firmware identifier",
        (1, 0, 99, 1, 0, 255) => "Load profile 1",
        (1, 0, 99, 2, 0, 255) => "Load profile 2",
        (0, 0, 99, 98, _, 255) => "Event log",
        (0 | 1, 0, 98, 1, _, 255) => "Billing period data",
        (0, 0, 43, 0, _, 255) => "Security setup",
        (0, 0, 43, 1, _, 255) => "Invocation counter",
        (0, 0, 40, 0, _, 255) => "Association",
        _ => "",
    };
    if !fixed.is_empty() {
        return Some(fixed.to_string());
    }
    if a != 1 {
        return None;
    }
    let quantity = match c {
        1 => "Active energy import (+A)",
        2 => "Active energy export (-A)",
        3 => "Reactive energy import (+R)",
        4 => "Reactive energy export (-R)",
        9 => "Apparent energy import (+VA)",
        10 => "Apparent energy export (-VA)",
        13 => "Power factor",
        14 => "Frequency",
        21 => "Active power import L1",
        22 => "Active power export L1",
        41 => "Active power import L2",
        42 => "Active power export L2",
        61 => "Active power import L3",
        62 => "Active power export L3",
        31 => "Current L1",
        51 => "Current L2",
        71 => "Current L3",
        32 => "Voltage L1",
        52 => "Voltage L2",
        72 => "Voltage L3",
        33 => "Power factor L1",
        53 => "Power factor L2",
        73 => "Power factor L3",
        _ => return None,
    };
    // For energies and total powers, D says what kind of value it is.
    let kind = match (c, d) {
        (1..=10, 8) => "",
        (1..=10, 7) => " (instantaneous power)",
        (1..=10, 6) => " maximum demand",
        (1..=10, 4) => " current average demand",
        (1..=10, 5) => " last average demand",
        (_, 7) => "",
        _ => return Some(format!("{quantity} ({obis})")),
    };
    let name = match (c, d) {
        (1, 7) => "Active power import (+P)".to_string(),
        (2, 7) => "Active power export (-P)".to_string(),
        (3, 7) => "Reactive power import (+Q)".to_string(),
        (4, 7) => "Reactive power export (-Q)".to_string(),
        _ => format!("{quantity}{kind}"),
    };
    Some(if e == 0 || !matches!(c, 1..=10) {
        name
    } else {
        format!("{name}, tariff {e}")
    })
}

/// Name of an interface class.
pub fn class_name(class: u16) -> &'static str {
    match class {
        1 => "Data",
        3 => "Register",
        4 => "Extended register",
        5 => "Demand register",
        6 => "Register activation",
        7 => "Profile generic",
        8 => "Clock",
        9 => "Script table",
        11 => "Special days table",
        12 => "Association SN",
        15 => "Association LN",
        17 => "SAP assignment",
        18 => "Image transfer",
        19 => "IEC local port setup",
        20 => "Activity calendar",
        21 => "Register monitor",
        22 => "Single action schedule",
        23 => "IEC HDLC setup",
        40 => "Push setup",
        41 => "TCP-UDP setup",
        42 => "IPv4 setup",
        64 => "Security setup",
        70 => "Disconnect control",
        71 => "Limiter",
        _ => "Object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Option<String> {
        obis_name(&s.parse().unwrap())
    }

    #[test]
    fn well_known_codes_have_names() {
        assert_eq!(n("0.0.1.0.0.255").as_deref(), Some("Clock"));
        assert_eq!(
            n("1.0.1.8.0.255").as_deref(),
            Some("Active energy import (+A)")
        );
        assert_eq!(
            n("1.0.1.8.2.255").as_deref(),
            Some("Active energy import (+A), tariff 2")
        );
        assert_eq!(n("1.0.32.7.0.255").as_deref(), Some("Voltage L1"));
        assert_eq!(
            n("1.0.1.6.0.255").as_deref(),
            Some("Active energy import (+A) maximum demand")
        );
        assert_eq!(
            n("1.0.1.7.0.255").as_deref(),
            Some("Active power import (+P)")
        );
        assert_eq!(n("7.0.3.0.0.255"), None);
    }
}
