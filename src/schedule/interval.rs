//! `every N<unit>`: the interval's text form and its fire arithmetic (start, start+N, …).

use std::time::Duration;

use chrono::{DateTime, TimeDelta, TimeZone};

use super::error::ScheduleError;

/// Units from largest to smallest, with their length in milliseconds.
const UNITS: [(&str, u64); 4] = [("h", 3_600_000), ("min", 60_000), ("s", 1_000), ("ms", 1)];

/// Parses `15s`, `500ms`, `5 min`, `1h` (a whole number > 0, then a unit).
pub(crate) fn parse(text: &str) -> Result<Duration, ScheduleError> {
    let text = text.trim();
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = text.split_at(digits);
    let unit = unit.trim_start();
    if digits == 0 || unit.is_empty() || !unit.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(ScheduleError::EveryFormat(text.to_string()));
    }
    let Some(&(_, unit_ms)) = UNITS.iter().find(|(name, _)| *name == unit) else {
        return Err(ScheduleError::EveryUnit {
            text: text.to_string(),
            unit: unit.to_string(),
        });
    };
    let ms = number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(unit_ms))
        .ok_or_else(|| ScheduleError::EveryTooLong(text.to_string()))?;
    if ms == 0 {
        return Err(ScheduleError::EveryZero(text.to_string()));
    }
    Ok(Duration::from_millis(ms))
}

/// The text `parse` reads back: the largest unit that divides the interval exactly.
pub(crate) fn format(interval: Duration) -> String {
    let ms = interval.as_millis();
    let (name, unit_ms) = UNITS
        .iter()
        .find(|(_, unit_ms)| ms.is_multiple_of(u128::from(*unit_ms)))
        .copied()
        .unwrap_or(("ms", 1));
    format!("{}{name}", ms / u128::from(unit_ms))
}

/// The first of start, start+N, start+2N… strictly after `after`; `None` for a zero interval.
pub(crate) fn next_after<Tz: TimeZone>(
    interval: Duration,
    after: &DateTime<Tz>,
    start: &DateTime<Tz>,
) -> Option<DateTime<Tz>> {
    if after < start {
        return Some(start.clone());
    }
    let step = interval.as_nanos();
    if step == 0 {
        return None;
    }
    let elapsed = after
        .clone()
        .signed_duration_since(start)
        .to_std()
        .ok()?
        .as_nanos();
    let offset = (elapsed / step + 1).checked_mul(step)?;
    let secs = i64::try_from(offset / 1_000_000_000).ok()?;
    let nanos = u32::try_from(offset % 1_000_000_000).ok()?;
    start
        .clone()
        .checked_add_signed(TimeDelta::new(secs, nanos)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    #[test]
    fn parse_and_format_round_trip() {
        for (text, ms, canonical) in [
            ("15s", 15_000, "15s"),
            ("500ms", 500, "500ms"),
            ("5 min", 300_000, "5min"),
            ("1h", 3_600_000, "1h"),
            ("120min", 7_200_000, "2h"),
            ("1500ms", 1_500, "1500ms"),
            ("90s", 90_000, "90s"),
        ] {
            let d = parse(text).unwrap();
            assert_eq!(d, Duration::from_millis(ms), "{text}");
            assert_eq!(format(d), canonical);
            assert_eq!(parse(&format(d)).unwrap(), d);
        }
    }

    #[test]
    fn rejects() {
        assert_eq!(parse("s"), Err(ScheduleError::EveryFormat("s".into())));
        assert_eq!(parse("15"), Err(ScheduleError::EveryFormat("15".into())));
        assert_eq!(parse("-5s"), Err(ScheduleError::EveryFormat("-5s".into())));
        assert_eq!(
            parse("1.5s"),
            Err(ScheduleError::EveryFormat("1.5s".into()))
        );
        assert_eq!(
            parse("99999999999999999999h"),
            Err(ScheduleError::EveryTooLong("99999999999999999999h".into()))
        );
        assert_eq!(
            parse("5 S"),
            Err(ScheduleError::EveryUnit {
                text: "5 S".into(),
                unit: "S".into()
            })
        );
    }

    #[test]
    fn arithmetic_edges() {
        let start = Utc::now();
        let second = Duration::from_secs(1);
        let next = |after| next_after(second, &after, &start);
        assert_eq!(next(start - TimeDelta::hours(1)), Some(start));
        assert_eq!(next(start), Some(start + TimeDelta::seconds(1)));
        assert_eq!(
            next(start + TimeDelta::milliseconds(999)),
            Some(start + TimeDelta::seconds(1))
        );
        assert_eq!(next_after(Duration::ZERO, &start, &start), None);
        assert_eq!(next_after(Duration::MAX, &start, &start), None);
    }
}
