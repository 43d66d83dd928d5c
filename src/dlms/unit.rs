//! Physical units of COSEM registers and the scaler_unit attribute.

use super::data::Data;

/// `scaler_unit` of a register: value × 10^scaler in `unit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ScalerUnit {
    /// Power of ten applied to the raw value.
    pub scaler: i8,
    /// Unit code (see [`unit_name`]).
    pub unit: u8,
}

impl ScalerUnit {
    /// Reads `structure{ integer scaler, enum unit }`; `None` when the data has another shape.
    pub fn from_data(d: &Data) -> Option<Self> {
        match d {
            Data::Structure(items) if items.len() == 2 => {
                let scaler = match items[0] {
                    Data::Integer(s) => s,
                    // Some meters send the scaler as unsigned or long; accept what fits.
                    Data::Unsigned(s) => s as i8,
                    Data::Long(s) => i8::try_from(s).ok()?,
                    _ => return None,
                };
                let unit = match items[1] {
                    Data::Enum(u) | Data::Unsigned(u) => u,
                    _ => return None,
                };
                Some(ScalerUnit { scaler, unit })
            }
            _ => None,
        }
    }

    /// The A-XDR form `02 02 0F ss 16 uu`.
    pub fn to_data(self) -> Data {
        Data::Structure(vec![Data::Integer(self.scaler), Data::Enum(self.unit)])
    }

    /// The unit's symbol, when the code is known and is a real unit.
    pub fn unit_name(&self) -> Option<&'static str> {
        unit_name(self.unit)
    }

    /// Applies the scaler to a raw value.
    pub fn apply(&self, raw: f64) -> f64 {
        scale(raw, self.scaler)
    }
}

/// raw × 10^scaler, computed so that exact decimals stay exact (2307 × 10^-1 = 230.7).
pub fn scale(raw: f64, scaler: i8) -> f64 {
    if scaler >= 0 {
        raw * 10f64.powi(scaler as i32)
    } else {
        raw / 10f64.powi(-(scaler as i32))
    }
}

/// An integer raw value × 10^scaler written as an exact decimal string.
pub fn scaled_decimal(raw: i128, scaler: i8) -> String {
    if scaler >= 0 {
        let mut s = raw.to_string();
        if raw != 0 {
            s.extend(std::iter::repeat_n('0', scaler as usize));
        }
        return s;
    }
    let places = (-(scaler as i32)) as usize;
    let neg = raw < 0;
    let digits = raw.unsigned_abs().to_string();
    let padded = if digits.len() <= places {
        format!("{}{}", "0".repeat(places + 1 - digits.len()), digits)
    } else {
        digits
    };
    let (int, frac) = padded.split_at(padded.len() - places);
    let frac = frac.trim_end_matches('0');
    let sign = if neg { "-" } else { "" };
    if frac.is_empty() {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    }
}

/// Symbol of a unit code (DLMS UA Blue Book table); `None` for 255 (count) and unknown codes.
pub fn unit_name(code: u8) -> Option<&'static str> {
    Some(match code {
        1 => "a",
        2 => "mo",
        3 => "wk",
        4 => "d",
        5 => "h",
        6 => "min",
        7 => "s",
        8 => "°",
        9 => "°C",
        10 => "currency",
        11 => "m",
        12 => "m/s",
        13 => "m³",
        14 => "m³ (corrected)",
        15 => "m³/h",
        16 => "m³/h (corrected)",
        17 => "m³/d",
        18 => "m³/d (corrected)",
        19 => "l",
        20 => "kg",
        21 => "N",
        22 => "Nm",
        23 => "Pa",
        24 => "bar",
        25 => "J",
        26 => "J/h",
        27 => "W",
        28 => "VA",
        29 => "var",
        30 => "Wh",
        31 => "VAh",
        32 => "varh",
        33 => "A",
        34 => "C",
        35 => "V",
        36 => "V/m",
        37 => "F",
        38 => "Ω",
        39 => "Ωm²/m",
        40 => "Wb",
        41 => "T",
        42 => "A/m",
        43 => "H",
        44 => "Hz",
        45 => "1/(Wh)",
        46 => "1/(varh)",
        47 => "1/(VAh)",
        48 => "V²h",
        49 => "A²h",
        50 => "kg/s",
        51 => "S",
        52 => "K",
        53 => "1/(V²h)",
        54 => "1/(A²h)",
        55 => "1/m³",
        56 => "%",
        57 => "Ah",
        60 => "Wh/m³",
        61 => "J/m³",
        62 => "mol %",
        63 => "g/m³",
        64 => "Pa·s",
        65 => "J/kg",
        66 => "g/cm²",
        67 => "atm",
        70 => "dBm",
        71 => "dBµV",
        72 => "dB",
        254 => "other",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_meter_voltage() {
        // 02 02 0F FF 16 23 with raw 2307 is 230.7 V.
        let su = ScalerUnit::from_data(&Data::Structure(vec![Data::Integer(-1), Data::Enum(35)]))
            .unwrap();
        assert_eq!(su.unit_name(), Some("V"));
        assert_eq!(su.apply(2307.0), 230.7);
        assert_eq!(scaled_decimal(2307, -1), "230.7");
    }

    #[test]
    fn decimal_formatting() {
        assert_eq!(scaled_decimal(12345678, -3), "12345.678");
        assert_eq!(scaled_decimal(5, -3), "0.005");
        assert_eq!(scaled_decimal(-5, -2), "-0.05");
        assert_eq!(scaled_decimal(100000, 1), "1000000");
        assert_eq!(scaled_decimal(2300, -2), "23");
        assert_eq!(scaled_decimal(0, 3), "0");
    }

    #[test]
    fn every_standard_unit_has_a_name() {
        for code in (1..=57).chain(60..=64) {
            assert!(unit_name(code).is_some(), "unit {code}");
        }
        assert_eq!(unit_name(255), None);
        assert_eq!(unit_name(30), Some("Wh"));
    }
}
