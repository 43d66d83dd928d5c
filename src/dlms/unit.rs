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

/// An exact decimal number, mantissa × 10^exponent: what a meter's integer and scaler say,
/// kept without the noise of binary floats (9430701 × 10^-3 is 9430.701, not
/// 9430.701000000001). Normalised: the mantissa has no trailing zeros (0 has exponent 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Decimal {
    mantissa: i128,
    exponent: i32,
}

/// Most significant digits a [`Decimal`] holds (an `i128` holds 38 of them).
const MAX_DIGITS: usize = 38;

impl Decimal {
    /// mantissa × 10^exponent.
    pub fn new(mantissa: i128, exponent: i32) -> Self {
        let (mut m, mut e) = (mantissa, exponent);
        if m == 0 {
            return Decimal {
                mantissa: 0,
                exponent: 0,
            };
        }
        while m % 10 == 0 {
            m /= 10;
            e = e.saturating_add(1);
        }
        Decimal {
            mantissa: m,
            exponent: e,
        }
    }

    /// An integer.
    pub fn from_int(v: i128) -> Self {
        Decimal::new(v, 0)
    }

    /// The decimal a float prints as (its shortest round-trip form, so `0.001` is exactly
    /// 1 × 10^-3 and an `f32` 230.7 is 230.7, not 230.6999969482422); `None` for NaN and
    /// infinities, and beyond 38 significant digits.
    pub fn from_f64(v: f64) -> Option<Self> {
        v.is_finite().then(|| v.to_string().parse().ok()).flatten()
    }

    /// Like [`Decimal::from_f64`], with the `f32`'s own shortest form.
    pub fn from_f32(v: f32) -> Option<Self> {
        v.is_finite().then(|| v.to_string().parse().ok()).flatten()
    }

    /// self × 10^power.
    pub fn shift(self, power: i32) -> Self {
        Decimal::new(self.mantissa, self.exponent.saturating_add(power))
    }

    /// The exact product, `None` when it does not fit 38 digits.
    pub fn checked_mul(self, other: Decimal) -> Option<Self> {
        Some(Decimal::new(
            self.mantissa.checked_mul(other.mantissa)?,
            self.exponent.checked_add(other.exponent)?,
        ))
    }

    /// The value when it is a whole number that fits an `i128`.
    pub fn to_integer(self) -> Option<i128> {
        if self.exponent < 0 {
            return None;
        }
        let pow = 10i128.checked_pow(u32::try_from(self.exponent).ok()?)?;
        self.mantissa.checked_mul(pow)
    }

    /// The nearest float (what a float column or a JSON float can hold).
    pub fn to_f64(self) -> f64 {
        self.to_string().parse().unwrap_or(f64::NAN)
    }
}

/// Why a text is not a [`Decimal`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecimalError {
    /// Not plain decimal notation.
    #[error("{0:?} is not a decimal number")]
    NotDecimal(String),
    /// More significant digits than a decimal holds.
    #[error("{0:?} has more than {MAX_DIGITS} significant digits")]
    TooManyDigits(String),
}

impl std::str::FromStr for Decimal {
    type Err = DecimalError;

    /// Plain decimal notation: `-12.50`, `0.001`, `18446744073709551615` (no exponent).
    fn from_str(s: &str) -> Result<Self, DecimalError> {
        let bad = || DecimalError::NotDecimal(s.to_string());
        let (neg, digits) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s.strip_prefix('+').unwrap_or(s)),
        };
        let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
        if int.is_empty() && frac.is_empty()
            || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())
        {
            return Err(bad());
        }
        let all = format!("{int}{frac}");
        let trimmed = all.trim_end_matches('0');
        let zeros = all.len() - trimmed.len();
        let significant = trimmed.trim_start_matches('0');
        if significant.is_empty() {
            return Ok(Decimal::from_int(0));
        }
        if significant.len() > MAX_DIGITS {
            return Err(DecimalError::TooManyDigits(s.to_string()));
        }
        let m: i128 = significant.parse().map_err(|_| bad())?;
        let e = i32::try_from(zeros).map_err(|_| bad())?
            - i32::try_from(frac.len()).map_err(|_| bad())?;
        Ok(Decimal::new(if neg { -m } else { m }, e))
    }
}

impl std::fmt::Display for Decimal {
    /// Plain decimal notation without exponent or trailing zeros (`9430.701`, `1000000`).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.exponent >= 0 {
            write!(f, "{}", self.mantissa)?;
            if self.mantissa != 0 {
                for _ in 0..self.exponent {
                    f.write_str("0")?;
                }
            }
            return Ok(());
        }
        let places = self.exponent.unsigned_abs() as usize;
        let digits = self.mantissa.unsigned_abs().to_string();
        let padded = if digits.len() <= places {
            format!("{}{}", "0".repeat(places + 1 - digits.len()), digits)
        } else {
            digits
        };
        let (int, frac) = padded.split_at(padded.len() - places);
        let sign = if self.mantissa < 0 { "-" } else { "" };
        write!(f, "{sign}{int}.{frac}")
    }
}

/// An integer raw value × 10^scaler written as an exact decimal string.
pub fn scaled_decimal(raw: i128, scaler: i8) -> String {
    Decimal::from_int(raw).shift(scaler as i32).to_string()
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
    fn decimals_scale_without_float_noise() {
        let raw = Decimal::from_int(9430701);
        let k = Decimal::from_f64(0.001).unwrap();
        assert_eq!(raw.checked_mul(k).unwrap().to_string(), "9430.701");
        assert_eq!(raw.checked_mul(k).unwrap().to_f64(), 9430.701);
        assert_eq!(Decimal::from_int(2307).shift(-1).to_string(), "230.7");
        assert_eq!(Decimal::from_int(5).shift(-3).to_string(), "0.005");
        assert_eq!(Decimal::from_int(-5).shift(-2).to_string(), "-0.05");
        assert_eq!(Decimal::from_int(100000).shift(1).to_string(), "1000000");
        assert_eq!(Decimal::from_int(2300).shift(-2).to_string(), "23");
        assert_eq!(Decimal::from_int(0).shift(3).to_string(), "0");
        let max = Decimal::from_int(u64::MAX as i128);
        assert_eq!(max.to_string(), "18446744073709551615");
        assert_eq!(max.to_integer(), Some(u64::MAX as i128));
        assert_eq!(
            Decimal::from_int(i64::MIN as i128).to_string(),
            "-9223372036854775808"
        );
        assert_eq!(Decimal::from_f32(230.7).unwrap().to_string(), "230.7");
        assert_eq!(
            Decimal::from_f64(1e21).unwrap().to_integer(),
            Some(10i128.pow(21))
        );
        assert_eq!(Decimal::from_f64(f64::NAN), None);
        for (text, back) in [
            ("-12.50", "-12.5"),
            ("+3", "3"),
            ("0.000", "0"),
            (".5", "0.5"),
        ] {
            assert_eq!(text.parse::<Decimal>().unwrap().to_string(), back);
        }
        for bad in ["", "-", "1e3", "1.2.3", "x", "."] {
            assert!(bad.parse::<Decimal>().is_err(), "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn decimal_text_round_trips(m in proptest::num::i64::ANY, e in -20i32..20) {
            let d = Decimal::new(m as i128, e);
            proptest::prop_assert_eq!(d.to_string().parse::<Decimal>().unwrap(), d);
            proptest::prop_assert_eq!(d.to_string(), scaled_decimal(m as i128, e as i8));
        }
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
