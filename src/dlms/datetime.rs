//! COSEM date, time and date-time (12 bytes) with their not-specified fields.

use super::axdr::{DecodeError, Reader};
use chrono::{
    DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, Offset, TimeZone, Timelike,
};
use std::fmt;

/// The "not specified" marker of one-byte fields.
pub const NOT_SPECIFIED: u8 = 0xFF;
/// The "not specified" deviation.
pub const DEVIATION_NOT_SPECIFIED: i16 = i16::MIN; // 0x8000

/// A COSEM date: year (0xFFFF = any), month, day of month, day of week (1 = Monday).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CosemDate {
    /// Year, 0xFFFF when not specified.
    pub year: u16,
    /// Month 1..12; 0xFD DST end, 0xFE DST begin, 0xFF not specified.
    pub month: u8,
    /// Day of month 1..31; 0xFD second-last, 0xFE last, 0xFF not specified.
    pub day: u8,
    /// Day of week 1..7 (Monday = 1), 0xFF not specified.
    pub weekday: u8,
}

/// A COSEM time of day with hundredths; 0xFF marks a field as not specified.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CosemTime {
    /// Hour 0..23.
    pub hour: u8,
    /// Minute 0..59.
    pub minute: u8,
    /// Second 0..59.
    pub second: u8,
    /// Hundredths 0..99.
    pub hundredths: u8,
}

/// A COSEM date-time: date, time, deviation (minutes, UTC − local) and clock status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CosemDateTime {
    /// The date part.
    pub date: CosemDate,
    /// The time part.
    pub time: CosemTime,
    /// Minutes UTC − local time (UTC+01:00 is −60); `None` when not specified (0x8000).
    pub deviation: Option<i16>,
    /// Clock status bits; `None` when not specified (0xFF).
    pub status: Option<u8>,
}

/// Clock status bit: the value is invalid.
pub const STATUS_INVALID: u8 = 0x01;
/// Clock status bit: the value is doubtful.
pub const STATUS_DOUBTFUL: u8 = 0x02;
/// Clock status bit: a different clock base.
pub const STATUS_DIFFERENT_BASE: u8 = 0x04;
/// Clock status bit: the status itself is invalid.
pub const STATUS_INVALID_STATUS: u8 = 0x08;
/// Clock status bit: daylight saving is active.
pub const STATUS_DST: u8 = 0x80;
/// The clock status bits that say the time cannot be trusted as it is (invalid, doubtful,
/// different clock base, invalid clock status); daylight saving only informs.
pub const STATUS_WARNINGS: u8 =
    STATUS_INVALID | STATUS_DOUBTFUL | STATUS_DIFFERENT_BASE | STATUS_INVALID_STATUS;

/// The clock status in words, `None` when no bit is set: `invalid`, `doubtful`, `different
/// clock base`, `invalid clock status`, `DST`, and reserved bits as hex, comma-separated.
pub fn status_note(status: u8) -> Option<String> {
    let mut words: Vec<String> = [
        (STATUS_INVALID, "invalid"),
        (STATUS_DOUBTFUL, "doubtful"),
        (STATUS_DIFFERENT_BASE, "different clock base"),
        (STATUS_INVALID_STATUS, "invalid clock status"),
        (STATUS_DST, "DST"),
    ]
    .iter()
    .filter(|(bit, _)| status & bit != 0)
    .map(|(_, w)| (*w).to_string())
    .collect();
    let reserved = status & !(STATUS_WARNINGS | STATUS_DST);
    if reserved != 0 {
        words.push(format!("reserved bits 0x{reserved:02X}"));
    }
    (!words.is_empty()).then(|| words.join(", "))
}

impl CosemDate {
    /// Decodes the 5 wire bytes.
    pub fn decode(r: &mut Reader) -> Result<Self, DecodeError> {
        let b: [u8; 5] = r.array("date")?;
        Ok(CosemDate {
            year: u16::from_be_bytes([b[0], b[1]]),
            month: b[2],
            day: b[3],
            weekday: b[4],
        })
    }

    /// Appends the 5 wire bytes.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.year.to_be_bytes());
        out.extend_from_slice(&[self.month, self.day, self.weekday]);
    }

    fn to_naive(self) -> Option<NaiveDate> {
        if self.year == 0xFFFF {
            return None;
        }
        NaiveDate::from_ymd_opt(self.year as i32, self.month as u32, self.day as u32)
    }
}

impl CosemTime {
    /// Decodes the 4 wire bytes.
    pub fn decode(r: &mut Reader) -> Result<Self, DecodeError> {
        let b: [u8; 4] = r.array("time")?;
        Ok(CosemTime {
            hour: b[0],
            minute: b[1],
            second: b[2],
            hundredths: b[3],
        })
    }

    /// Appends the 4 wire bytes.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&[self.hour, self.minute, self.second, self.hundredths]);
    }
}

impl CosemDateTime {
    /// Decodes the 12 wire bytes.
    pub fn decode(r: &mut Reader) -> Result<Self, DecodeError> {
        let date = CosemDate::decode(r)?;
        let time = CosemTime::decode(r)?;
        let dev = r.u16("date-time deviation")? as i16;
        let status = r.u8("date-time clock status")?;
        Ok(CosemDateTime {
            date,
            time,
            deviation: (dev != DEVIATION_NOT_SPECIFIED).then_some(dev),
            status: (status != NOT_SPECIFIED).then_some(status),
        })
    }

    /// Decodes a date-time sent as a 12-byte octet-string (most meters do this).
    pub fn from_octets(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != 12 {
            return None;
        }
        Self::decode(&mut Reader::new(bytes)).ok()
    }

    /// Appends the 12 wire bytes.
    pub fn encode(&self, out: &mut Vec<u8>) {
        self.date.encode(out);
        self.time.encode(out);
        out.extend_from_slice(
            &self
                .deviation
                .unwrap_or(DEVIATION_NOT_SPECIFIED)
                .to_be_bytes(),
        );
        out.push(self.status.unwrap_or(NOT_SPECIFIED));
    }

    /// The 12 wire bytes.
    pub fn to_bytes(&self) -> [u8; 12] {
        let mut v = Vec::with_capacity(12);
        self.encode(&mut v);
        let mut out = [0u8; 12];
        out.copy_from_slice(&v);
        out
    }

    /// Builds a fully specified date-time from a chrono instant in its own offset.
    pub fn from_chrono<Tz: TimeZone>(t: &DateTime<Tz>, status: u8) -> Self {
        let offset_min = t.offset().fix().local_minus_utc() / 60;
        CosemDateTime {
            date: CosemDate {
                year: t.year().clamp(0, 0xFFFE) as u16,
                month: t.month() as u8,
                day: t.day() as u8,
                weekday: t.weekday().number_from_monday() as u8,
            },
            time: CosemTime {
                hour: t.hour() as u8,
                minute: t.minute() as u8,
                second: t.second() as u8,
                hundredths: (t.timestamp_subsec_millis() / 10) as u8,
            },
            deviation: Some(-offset_min as i16),
            status: Some(status),
        }
    }

    /// The local (wall-clock) time, when the date and time fields are all specified.
    pub fn naive(&self) -> Option<NaiveDateTime> {
        let t = self.time;
        let hs = if t.hundredths == NOT_SPECIFIED {
            0
        } else {
            t.hundredths as u32
        };
        self.date.to_naive()?.and_hms_milli_opt(
            t.hour as u32,
            t.minute as u32,
            t.second as u32,
            hs * 10,
        )
    }

    /// True when the clock status says the time cannot be trusted as it is (invalid,
    /// doubtful, different clock base, invalid clock status).
    pub fn warns(&self) -> bool {
        self.status.is_some_and(|s| s & STATUS_WARNINGS != 0)
    }

    /// The instant, when date, time and deviation are all specified.
    pub fn to_chrono(&self) -> Option<DateTime<FixedOffset>> {
        let offset = FixedOffset::east_opt(-(self.deviation? as i32) * 60)?;
        offset.from_local_datetime(&self.naive()?).single()
    }
}

fn two(f: &mut fmt::Formatter<'_>, v: u8) -> fmt::Result {
    if v == NOT_SPECIFIED {
        f.write_str("**")
    } else {
        write!(f, "{v:02}")
    }
}

impl fmt::Display for CosemDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.year == 0xFFFF {
            f.write_str("****")?;
        } else {
            write!(f, "{:04}", self.year)?;
        }
        f.write_str("-")?;
        match self.month {
            0xFD => f.write_str("DST-end")?,
            0xFE => f.write_str("DST-begin")?,
            m => two(f, m)?,
        }
        f.write_str("-")?;
        match self.day {
            0xFD => f.write_str("second-last"),
            0xFE => f.write_str("last"),
            d => two(f, d),
        }
    }
}

impl fmt::Display for CosemTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        two(f, self.hour)?;
        f.write_str(":")?;
        two(f, self.minute)?;
        f.write_str(":")?;
        two(f, self.second)?;
        if self.hundredths != NOT_SPECIFIED && self.hundredths != 0 {
            write!(f, ".{:02}", self.hundredths)?;
        }
        Ok(())
    }
}

impl fmt::Display for CosemDateTime {
    /// ISO 8601 (`2020-01-01T00:03:00+02:00`); `*` marks not-specified fields and the offset
    /// is left out when the deviation is not specified. A clock status with bits set follows
    /// in words, so an invalid time never reads as a plain one:
    /// `2026-11-21T12:07:30+01:00 (invalid)`, `2026-07-01T12:00:00+02:00 (DST)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}T{}", self.date, self.time)?;
        if let Some(dev) = self.deviation {
            let off = -(dev as i32);
            let sign = if off < 0 { '-' } else { '+' };
            write!(f, "{sign}{:02}:{:02}", off.abs() / 60, off.abs() % 60)?;
        }
        if let Some(note) = self.status.and_then(status_note) {
            write!(f, " ({note})")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dt(bytes: &[u8]) -> CosemDateTime {
        CosemDateTime::from_octets(bytes).unwrap()
    }

    #[test]
    fn pw_vectors() {
        // PW tests/test_time.py: 2020-01-01 00:03:00 +02:00 (deviation -120).
        let a = dt(&[0x07, 0xE4, 1, 1, 0xFF, 0, 3, 0, 0, 0xFF, 0x88, 0]);
        assert_eq!(a.to_string(), "2020-01-01T00:03:00+02:00");
        assert_eq!(
            a.to_chrono().unwrap().to_rfc3339(),
            "2020-01-01T00:03:00+02:00"
        );
        // Deviation not specified: local time only.
        let b = dt(&[0x07, 0xE2, 2, 0x0C, 0xFF, 0, 0, 0, 0, 0x80, 0x00, 0]);
        assert_eq!(b.deviation, None);
        assert_eq!(b.to_string(), "2018-02-12T00:00:00");
        assert!(b.to_chrono().is_none());
        assert!(b.naive().is_some());
    }

    #[test]
    fn jd_clock_vector() {
        // 2002-12-04 Wed 10:06:11, deviation +120 (local is UTC-2), status 0.
        let c = dt(&[
            0x07, 0xD2, 0x0C, 0x04, 0x03, 0x0A, 0x06, 0x0B, 0xFF, 0x00, 0x78, 0x00,
        ]);
        assert_eq!(c.to_string(), "2002-12-04T10:06:11-02:00");
        assert_eq!(c.status, Some(0));
        assert_eq!(c.date.weekday, 3);
    }

    #[test]
    fn wildcards_display() {
        let c = dt(&[
            0xFF, 0xFF, 0xFE, 0xFD, 0xFF, 0xFF, 30, 0xFF, 0xFF, 0x80, 0, 0xFF,
        ]);
        assert_eq!(c.to_string(), "****-DST-begin-second-lastT**:30:**");
        assert_eq!(c.status, None);
    }

    #[test]
    fn clock_status_is_shown_in_words() {
        let at = |status: u8| dt(&[0x07, 0xEA, 11, 21, 6, 12, 7, 30, 0, 0xFF, 0xC4, status]);
        assert_eq!(at(0).to_string(), "2026-11-21T12:07:30+01:00");
        assert_eq!(at(0x01).to_string(), "2026-11-21T12:07:30+01:00 (invalid)");
        assert_eq!(at(0x02).to_string(), "2026-11-21T12:07:30+01:00 (doubtful)");
        assert_eq!(
            at(0x0C).to_string(),
            "2026-11-21T12:07:30+01:00 (different clock base, invalid clock status)"
        );
        assert_eq!(
            at(0x81).to_string(),
            "2026-11-21T12:07:30+01:00 (invalid, DST)"
        );
        assert_eq!(
            at(0x10).to_string(),
            "2026-11-21T12:07:30+01:00 (reserved bits 0x10)"
        );
        assert!(at(0x01).warns() && at(0x02).warns() && at(0x08).warns());
        assert!(!at(0x80).warns() && !at(0).warns());
        // Not specified (0xFF) is no status at all.
        assert_eq!(at(0xFF).status, None);
        assert_eq!(at(0xFF).to_string(), "2026-11-21T12:07:30+01:00");
    }

    #[test]
    fn chrono_round_trip() {
        let t = FixedOffset::east_opt(3600)
            .unwrap()
            .with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
            .unwrap();
        let c = CosemDateTime::from_chrono(&t, 0);
        assert_eq!(c.deviation, Some(-60));
        assert_eq!(c.date.weekday, 1);
        assert_eq!(c.to_chrono().unwrap(), t);
        assert_eq!(CosemDateTime::from_octets(&c.to_bytes()).unwrap(), c);
    }
}
