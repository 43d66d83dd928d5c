//! OBIS codes (IEC 62056-61): six value groups A..F naming a COSEM object.

use std::fmt;
use std::str::FromStr;
use thiserror::Error;

/// An OBIS code, the logical name of a COSEM object (`1.0.1.8.0.255`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Obis(pub [u8; 6]);

/// Why a text is not an OBIS code.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid OBIS code {text:?}: {reason} (expected A.B.C.D.E.F like 1.0.1.8.0.255, or A-B:C.D.E*F like 1-0:1.8.0*255, each group 0..255)")]
pub struct ObisError {
    /// The text as given.
    pub text: String,
    /// What is wrong with it.
    pub reason: String,
}

impl Obis {
    /// Builds a code from its six groups.
    pub const fn new(a: u8, b: u8, c: u8, d: u8, e: u8, f: u8) -> Self {
        Obis([a, b, c, d, e, f])
    }

    /// The six wire bytes.
    pub fn bytes(&self) -> [u8; 6] {
        self.0
    }

    /// Group C (the quantity).
    pub fn c(&self) -> u8 {
        self.0[2]
    }

    /// Group D (the processing).
    pub fn d(&self) -> u8 {
        self.0[3]
    }
}

impl fmt::Display for Obis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a}.{b}.{c}.{d}.{e}.{g}")
    }
}

impl FromStr for Obis {
    type Err = ObisError;

    /// Accepts `1.0.1.8.0.255`, `1-0:1.8.0*255` and `1-0:1.8.0` (F defaults to 255).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = |reason: &str| ObisError {
            text: s.to_string(),
            reason: reason.to_string(),
        };
        let t = s.trim();
        if t.is_empty() {
            return Err(err("it is empty"));
        }
        let groups: Vec<&str> = if t.contains(':') || t.contains('-') || t.contains('*') {
            // IEC form A-B:C.D.E[*F]
            let (ab, cdef) = t
                .split_once(':')
                .ok_or_else(|| err("the A-B part must be followed by ':'"))?;
            let (a, b) = ab
                .split_once('-')
                .ok_or_else(|| err("the A and B groups must be separated by '-'"))?;
            let (cde, f) = match cdef.split_once('*') {
                Some((cde, f)) => (cde, Some(f)),
                None => (cdef, None),
            };
            let mut g = vec![a, b];
            g.extend(cde.split('.'));
            if g.len() != 5 {
                return Err(err("C.D.E must be three groups separated by '.'"));
            }
            g.push(f.unwrap_or("255"));
            g
        } else {
            t.split('.').collect()
        };
        if groups.len() != 6 {
            return Err(err(&format!("it has {} groups, not 6", groups.len())));
        }
        let mut out = [0u8; 6];
        for (i, g) in groups.iter().enumerate() {
            let name = ["A", "B", "C", "D", "E", "F"][i];
            out[i] = g.parse::<u8>().map_err(|_| {
                err(&format!(
                    "group {name} ({g:?}) is not a number from 0 to 255"
                ))
            })?;
        }
        Ok(Obis(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_every_accepted_form() {
        let want = Obis::new(1, 0, 1, 8, 0, 255);
        assert_eq!("1.0.1.8.0.255".parse::<Obis>().unwrap(), want);
        assert_eq!("1-0:1.8.0*255".parse::<Obis>().unwrap(), want);
        assert_eq!("1-0:1.8.0".parse::<Obis>().unwrap(), want);
        assert_eq!(
            "0-0:96.1.0*0".parse::<Obis>().unwrap(),
            Obis::new(0, 0, 96, 1, 0, 0)
        );
        assert_eq!(want.to_string(), "1.0.1.8.0.255");
    }

    #[test]
    fn rejects_bad_text_with_a_reason() {
        for (text, needle) in [
            ("", "empty"),
            ("1.0.1.8.0", "5 groups"),
            ("1.0.1.8.0.256", "group F"),
            ("1.0.x.8.0.255", "group C"),
            ("1-0:1.8*255", "C.D.E"),
            ("1:1.8.0", "'-'"),
            ("1.0.1.8.0.255.1", "7 groups"),
        ] {
            let e = text.parse::<Obis>().unwrap_err().to_string();
            assert!(e.contains(needle), "{text:?}: {e}");
        }
    }

    proptest! {
        #[test]
        fn display_parse_round_trip(b in any::<[u8; 6]>()) {
            let o = Obis(b);
            prop_assert_eq!(o.to_string().parse::<Obis>().unwrap(), o);
            let iec = format!("{}-{}:{}.{}.{}*{}", b[0], b[1], b[2], b[3], b[4], b[5]);
            prop_assert_eq!(iec.parse::<Obis>().unwrap(), o);
        }

        #[test]
        fn arbitrary_text_never_panics(s in ".{0,40}") {
            let _ = s.parse::<Obis>();
        }
    }
}
