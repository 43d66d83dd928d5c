//! Cron expressions in the Unix form operators know, searched with the `cron` crate.
//!
//! We parse the expression ourselves (for field-naming errors, Unix weekday numbers, `?` and
//! AND-ed day fields) and hand the crate a resolved expression made of plain number lists.
//! The crate's own dialect differs from ours: it numbers weekdays 1 = Sunday … 7 = Saturday
//! and needs a seconds field. What we rely on, checked in its 0.17 source and by the
//! brute-force comparison below: it ANDs day-of-month and day-of-week, skips local times that
//! do not exist (DST gap), and stops searching after the year 2100 (so an expression that
//! fires no more, e.g. `0 0 ? 2 *` started on the 31st, ends with `None` in well under a
//! millisecond). It yields both instants of an ambiguous local time; we keep the first only.
//! An expression whose days of month and months have no date in common (`0 0 31 2 *`) is
//! refused by the parser, saying which day does not exist in which month.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, NaiveDateTime, TimeZone, Timelike};

use super::error::{CronFieldProblem, ScheduleError};
use super::field::Unit;

const UNITS: [Unit; 6] = [
    Unit::Second,
    Unit::Minute,
    Unit::Hour,
    Unit::DayOfMonth,
    Unit::Month,
    Unit::DayOfWeek,
];

/// A parsed, validated cron expression (5 fields, or 6 with seconds first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CronExpr {
    /// The fields as written, joined by single spaces.
    text: String,
    /// Second, minute, hour, day of month, month, day of week (Unix numbers, 0 = Sunday).
    fields: [Field; 6],
}

/// One field's values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    /// Bit n set = value n fires.
    Values(u64),
    /// `?`: the logger's start time's value.
    Start,
}

impl FromStr for CronExpr {
    type Err = ScheduleError;

    fn from_str(text: &str) -> Result<Self, ScheduleError> {
        let parts: Vec<&str> = text.split_whitespace().collect();
        let text = parts.join(" ");
        let written = match parts.len() {
            5 => &UNITS[1..],
            6 => &UNITS[..],
            count => return Err(ScheduleError::CronFieldCount { text, count }),
        };
        // Seconds stay at bit 0 when not written: the 5-field form fires at second 0.
        let mut fields = [Field::Values(1); 6];
        let skipped = UNITS.len() - written.len();
        for (i, (unit, part)) in written.iter().zip(&parts).enumerate() {
            let fail = |item: &str, problem| ScheduleError::CronField {
                index: i + 1,
                name: unit.name(),
                item: item.to_string(),
                problem,
            };
            fields[skipped + i] = if *part == "?" {
                if *unit == Unit::DayOfWeek {
                    return Err(fail(part, CronFieldProblem::StartNotAllowed));
                }
                Field::Start
            } else if part.contains('?') {
                return Err(fail(part, CronFieldProblem::StartInList));
            } else {
                Field::Values(unit.parse(part).map_err(|(item, p)| fail(&item, p))?)
            };
        }
        if let Some(why) = never(&fields) {
            return Err(ScheduleError::CronNever { text, why });
        }
        Ok(CronExpr { text, fields })
    }
}

/// Days in each month at most (February in a leap year).
const MONTH_DAYS: [(u32, &str); 12] = [
    (31, "January"),
    (29, "February"),
    (31, "March"),
    (30, "April"),
    (31, "May"),
    (30, "June"),
    (31, "July"),
    (31, "August"),
    (30, "September"),
    (31, "October"),
    (30, "November"),
    (31, "December"),
];

/// Why an expression can never fire (`day 31 does not exist in February`), when its days of
/// month and months have no date in common. A `?` field depends on the start and is not judged.
fn never(fields: &[Field; 6]) -> Option<String> {
    let (Field::Values(days), Field::Values(months)) = (fields[3], fields[4]) else {
        return None;
    };
    let months: Vec<(u32, &str)> = MONTH_DAYS
        .iter()
        .enumerate()
        .filter(|(i, _)| months & 1 << (i + 1) != 0)
        .map(|(_, m)| *m)
        .collect();
    let days: Vec<u32> = (1..=31).filter(|d| days & 1 << d != 0).collect();
    let fits = months.iter().any(|(len, _)| days.iter().any(|d| d <= len));
    if fits || days.is_empty() || months.is_empty() {
        return None;
    }
    let names: Vec<&str> = months.iter().map(|(_, n)| *n).collect();
    let months = match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => names.concat(),
    };
    Some(match days.as_slice() {
        [d] => format!("day {d} does not exist in {months}"),
        _ => {
            let list: Vec<String> = days.iter().map(u32::to_string).collect();
            format!("none of the days {} exists in {months}", list.join(", "))
        }
    })
}

impl fmt::Display for CronExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl CronExpr {
    /// The first fire strictly after `after`, in `after`'s time zone; `?` takes `start`'s values.
    pub fn next_after<Tz: TimeZone>(
        &self,
        after: &DateTime<Tz>,
        start: &DateTime<Tz>,
    ) -> Option<DateTime<Tz>> {
        let tz = after.timezone();
        let resolved = self.resolve(&start.with_timezone(&tz).naive_local());
        // Our text is made of in-range number lists only, so the crate accepts it.
        let schedule = cron::Schedule::from_str(&crate_text(resolved)).ok()?;
        // The crate may yield an ambiguous time's earlier instant even when it lies before
        // `after`, then its later one: keep only first occurrences strictly after `after`.
        schedule.after(after).find(|t| {
            t > after && tz.from_local_datetime(&t.naive_local()).earliest().as_ref() == Some(t)
        })
    }

    /// Replaces `?` by the start time's value, giving each field's bit set.
    fn resolve(&self, start: &NaiveDateTime) -> [u64; 6] {
        let start_values = [
            start.second(),
            start.minute(),
            start.hour(),
            start.day(),
            start.month(),
            start.weekday().num_days_from_sunday(),
        ];
        let mut bits = [0; 6];
        for ((out, field), value) in bits.iter_mut().zip(&self.fields).zip(start_values) {
            *out = match field {
                Field::Values(v) => *v,
                Field::Start => 1 << value,
            };
        }
        bits
    }
}

/// The `cron` crate's 6-field text for resolved bit sets (weekdays renumbered 1 = Sunday).
fn crate_text(bits: [u64; 6]) -> String {
    let lists: Vec<String> = bits
        .iter()
        .enumerate()
        .map(|(i, bits)| {
            let shift = u32::from(i == 5);
            let values: Vec<String> = (0..64u32)
                .filter(|v| bits & 1 << v != 0)
                .map(|v| (v + shift).to_string())
                .collect();
            values.join(",")
        })
        .collect();
    lists.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, FixedOffset, NaiveDate};

    fn parse(text: &str) -> CronExpr {
        text.parse().unwrap()
    }

    fn translated(text: &str) -> String {
        let start = NaiveDate::from_ymd_opt(2026, 3, 10)
            .and_then(|d| d.and_hms_opt(14, 37, 12))
            .unwrap();
        crate_text(parse(text).resolve(&start))
    }

    #[test]
    fn translation_to_the_crate() {
        let all_days = (1..=31)
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join(",");
        let all_months = "1,2,3,4,5,6,7,8,9,10,11,12";
        let dom = "1,2,3,4,5,6,7";
        assert_eq!(
            translated("0 9 1-7 * 1"),
            format!("0 0 9 {dom} {all_months} 2")
        );
        // Sunday is 0 and 7 for us, 1 for the crate; Saturday 6 for us, 7 for the crate.
        for sunday in ["0", "7", "Sun", "sun", "SUN"] {
            let want = format!("0 0 0 {all_days} {all_months} 1");
            assert_eq!(translated(&format!("0 0 * * {sunday}")), want);
        }
        assert!(translated("0 0 * * 1-5").ends_with(" 2,3,4,5,6"));
        assert!(translated("0 0 * * Mon-Fri").ends_with(" 2,3,4,5,6"));
        assert!(translated("0 0 * * 6").ends_with(" 7"));
        assert!(translated("0 0 * * Fri-Sun").ends_with(" 1,6,7"));
        assert!(translated("0 0 * * *").ends_with(" 1,2,3,4,5,6,7"));
        // `?` takes the start's values (2026-03-10 14:37:12, a Tuesday).
        assert_eq!(translated("? ? ? ? ? *"), "12 37 14 10 3 1,2,3,4,5,6,7");
        assert!(translated("*/20 ? * * *").starts_with("0 0,20,40 14 "));
    }

    #[test]
    fn expressions_that_can_never_fire_are_refused() {
        for (text, why) in [
            ("0 0 31 2 *", "day 31 does not exist in February"),
            ("0 0 30 2 Mon", "day 30 does not exist in February"),
            ("0 0 31 4 *", "day 31 does not exist in April"),
            (
                "0 0 31 4,6,9,11 *",
                "day 31 does not exist in April, June, September or November",
            ),
            (
                "0 0 30-31 Feb *",
                "none of the days 30, 31 exists in February",
            ),
        ] {
            let err = text.parse::<CronExpr>().unwrap_err().to_string();
            assert_eq!(
                err,
                format!("cron expression \"{text}\" can never fire: {why}")
            );
        }
        for ok in ["0 0 29 2 *", "0 0 31 1-4 *", "0 0 31 ? *", "0 0 ? 2 *"] {
            assert!(ok.parse::<CronExpr>().is_ok(), "{ok}");
        }
    }

    #[test]
    fn display_keeps_the_text() {
        assert_eq!(parse("  */5\t* * *  Mon ").to_string(), "*/5 * * * Mon");
        assert_eq!(parse("0 */15 * * * *").to_string(), "0 */15 * * * *");
    }

    #[test]
    fn question_mark_only_alone_and_not_in_weekday() {
        let err = "0 0 * * ?".parse::<CronExpr>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "cron field 5 (day of week) \"?\": \"?\" (the start time's value) is allowed only \
             in the second, minute, hour, day-of-month and month fields"
        );
        let err = "1,? * * * *".parse::<CronExpr>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "cron field 1 (minute) \"1,?\": \"?\" must be the whole field"
        );
    }

    /// Small deterministic generator for the brute-force comparison.
    struct XorShift(u64);
    impl XorShift {
        fn below(&mut self, n: u32) -> u32 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % u64::from(n)) as u32
        }
        fn field(&mut self, lo: u32, hi: u32) -> String {
            let a = lo + self.below(hi - lo + 1);
            let b = a + self.below(hi - a + 1);
            match self.below(5) {
                0 => "*".into(),
                1 => a.to_string(),
                2 => format!("{a}-{b}"),
                3 => format!("{a},{b}"),
                _ => format!("{a}-{b}/{}", 1 + self.below(4)),
            }
        }
    }

    /// Reference matcher straight from the bit sets, independent of the crate.
    fn matches(bits: &[u64; 6], t: &NaiveDateTime) -> bool {
        let v = [
            t.second(),
            t.minute(),
            t.hour(),
            t.day(),
            t.month(),
            t.weekday().num_days_from_sunday(),
        ];
        bits.iter().zip(v).all(|(b, v)| b & 1 << v != 0)
    }

    #[test]
    fn crate_search_agrees_with_brute_force() {
        let tz = FixedOffset::east_opt(3600).unwrap();
        let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
        let mut found = 0;
        for _ in 0..150 {
            let text = format!(
                "{} {} {} {} {}",
                rng.field(0, 59),
                rng.field(0, 23),
                rng.field(1, 31),
                rng.field(1, 12),
                rng.field(0, 7)
            );
            let expr = match text.parse::<CronExpr>() {
                Ok(expr) => expr,
                // 31 April and the like: refused, as no date has that day and month.
                Err(ScheduleError::CronNever { .. }) => continue,
                Err(e) => panic!("{text}: {e}"),
            };
            let after = tz
                .with_ymd_and_hms(
                    2024 + rng.below(4) as i32,
                    1 + rng.below(12),
                    1 + rng.below(28),
                    rng.below(24),
                    rng.below(60),
                    rng.below(60),
                )
                .unwrap();
            let bits = expr.resolve(&after.naive_local());
            // Scan whole days, then minutes within a matching day, for 8 years.
            let mut want = None;
            let mut day = after.date_naive();
            while want.is_none() && day < after.date_naive() + Duration::days(8 * 366) {
                let midnight = day.and_hms_opt(0, 0, 0).unwrap();
                let day_bits = [1, 1, 1, bits[3], bits[4], bits[5]];
                if matches(&day_bits, &midnight) {
                    want = (0..24 * 60)
                        .map(|m| midnight + Duration::minutes(m))
                        .filter(|t| matches(&bits, t))
                        .map(|t| tz.from_local_datetime(&t).unwrap())
                        .find(|t| *t > after);
                }
                day = day.succ_opt().unwrap();
            }
            let got = expr.next_after(&after, &after);
            found += usize::from(want.is_some());
            assert!(
                want.is_none() || got == want,
                "{text} after {after}: crate {got:?}, brute force {want:?}"
            );
            assert!(want.is_some() || got.is_none_or(|g| g > after + Duration::days(8 * 365)));
        }
        // Most random expressions fire within 8 years, so the comparison is not vacuous.
        assert!(found > 120, "only {found} of 150 fired");
    }
}
