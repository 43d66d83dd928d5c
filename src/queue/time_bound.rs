//! One end of a profile's time range: a fixed time or a duration before now.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, FixedOffset, SecondsFormat};

/// A time range bound for profile reads.
#[derive(Debug, Clone, PartialEq)]
pub enum TimeBound {
    /// A fixed time (RFC 3339, e.g. `2024-05-01T00:00:00+02:00`).
    At(DateTime<FixedOffset>),
    /// This long before the read (`90s`, `15min`, `1h`, `2d`, `1w`).
    Ago(Duration),
}

/// Units of [`TimeBound::Ago`], largest first, in seconds.
const UNITS: [(&str, u64); 5] = [
    ("w", 604_800),
    ("d", 86_400),
    ("h", 3600),
    ("min", 60),
    ("s", 1),
];

/// Why a text is not a time bound.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a time; write an RFC 3339 time like 2024-05-01T00:00:00Z or a duration before now like 15min, 1h or 2d (units s, min, h, d, w)")]
pub struct TimeBoundError(pub String);

impl TimeBound {
    /// The instant this bound stands for, for a read at `now`.
    pub fn resolve<Tz: chrono::TimeZone>(&self, now: DateTime<Tz>) -> DateTime<Tz> {
        match self {
            TimeBound::At(at) => at.with_timezone(&now.timezone()),
            TimeBound::Ago(ago) => {
                let ago = chrono::Duration::from_std(*ago).unwrap_or(chrono::Duration::MAX);
                now.clone().checked_sub_signed(ago).unwrap_or(now)
            }
        }
    }
}

impl FromStr for TimeBound {
    type Err = TimeBoundError;

    fn from_str(text: &str) -> Result<Self, TimeBoundError> {
        let err = || TimeBoundError(text.to_string());
        if let Ok(at) = DateTime::parse_from_rfc3339(text) {
            return Ok(TimeBound::At(at));
        }
        let digits = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(err)?;
        let (number, unit) = text.split_at(digits);
        let number: u64 = number.parse().map_err(|_| err())?;
        let (_, seconds) = UNITS.iter().find(|(u, _)| *u == unit).ok_or_else(err)?;
        let total = number.checked_mul(*seconds).ok_or_else(err)?;
        Ok(TimeBound::Ago(Duration::from_secs(total)))
    }
}

impl fmt::Display for TimeBound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeBound::At(at) => f.write_str(&at.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
            TimeBound::Ago(ago) => {
                let secs = ago.as_secs();
                // The largest unit that divides it exactly, so parsing gives the same duration.
                let (unit, size) = UNITS
                    .iter()
                    .find(|(_, size)| secs % size == 0 && secs > 0)
                    .unwrap_or(&("s", 1));
                write!(f, "{}{unit}", secs / size)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_writes_back() {
        for (text, canonical) in [
            ("2024-05-01T00:00:00Z", "2024-05-01T00:00:00Z"),
            (
                "2024-05-01T00:00:00.5+02:00",
                "2024-05-01T00:00:00.500+02:00",
            ),
            ("90s", "90s"),
            ("120s", "2min"),
            ("1h", "1h"),
            ("48h", "2d"),
            ("14d", "2w"),
            ("0s", "0s"),
        ] {
            let bound: TimeBound = text.parse().unwrap();
            assert_eq!(bound.to_string(), canonical);
            assert_eq!(canonical.parse::<TimeBound>().unwrap(), bound);
        }
    }

    #[test]
    fn rejects_other_text() {
        for text in [
            "",
            "h",
            "1",
            "1y",
            "-1h",
            "1 h",
            "yesterday",
            "99999999999999999999w",
            "18446744073709551615w",
        ] {
            assert!(text.parse::<TimeBound>().is_err(), "{text}");
        }
    }
}
