//! One cron field (lists, ranges, steps, `*`, month and weekday names) parsed into a bit set.

use super::error::CronFieldProblem;

/// Which of the six cron fields a text is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unit {
    Second,
    Minute,
    Hour,
    DayOfMonth,
    Month,
    DayOfWeek,
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
// Index = Unix weekday number (0 = Sunday).
const WEEKDAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

impl Unit {
    /// The field's name as error messages show it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Unit::Second => "second",
            Unit::Minute => "minute",
            Unit::Hour => "hour",
            Unit::DayOfMonth => "day of month",
            Unit::Month => "month",
            Unit::DayOfWeek => "day of week",
        }
    }

    /// The values `*` stands for.
    fn span(self) -> (u32, u32) {
        match self {
            Unit::Second | Unit::Minute => (0, 59),
            Unit::Hour => (0, 23),
            Unit::DayOfMonth => (1, 31),
            Unit::Month => (1, 12),
            Unit::DayOfWeek => (0, 6),
        }
    }

    /// The allowed values, as error messages show them.
    fn allowed(self) -> &'static str {
        match self {
            Unit::Second | Unit::Minute => "0 to 59",
            Unit::Hour => "0 to 23",
            Unit::DayOfMonth => "1 to 31",
            Unit::Month => "1 to 12 or Jan to Dec",
            Unit::DayOfWeek => "0 to 7 (0 and 7 are Sunday) or Mon to Sun",
        }
    }

    /// One number or name; `range_end` lets `Mon-Sun` mean Monday to Sunday.
    fn value(self, text: &str, range_end: bool) -> Result<u32, CronFieldProblem> {
        let out_of_range = CronFieldProblem::OutOfRange(self.allowed());
        // Weekday 7 is Sunday again, so it is writable although `*` stops at 6.
        let max = if self == Unit::DayOfWeek {
            7
        } else {
            self.span().1
        };
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            return match text.parse::<u32>() {
                Ok(v) if (self.span().0..=max).contains(&v) => Ok(v),
                _ => Err(out_of_range),
            };
        }
        let (names, first): (&[&str], u32) = match self {
            Unit::Month => (&MONTHS, 1),
            Unit::DayOfWeek => (&WEEKDAYS, 0),
            _ => return Err(out_of_range),
        };
        match names.iter().position(|n| n.eq_ignore_ascii_case(text)) {
            Some(0) if self == Unit::DayOfWeek && range_end => Ok(7),
            Some(i) => Ok(first + i as u32),
            None => Err(out_of_range),
        }
    }

    /// Parses one list item (`*`, `a`, `a-b`, each optionally `/step`) into a bit set.
    fn item(self, item: &str) -> Result<u64, CronFieldProblem> {
        if item.is_empty() {
            return Err(CronFieldProblem::EmptyItem);
        }
        let (base, step) = match item.split_once('/') {
            Some((base, step)) => (base, Some(parse_step(step)?)),
            None => (item, None),
        };
        let (lo, hi) = if base == "*" {
            self.span()
        } else if let Some((a, b)) = base.split_once('-') {
            let (lo, hi) = (self.value(a, false)?, self.value(b, true)?);
            if lo > hi {
                return Err(CronFieldProblem::Reversed);
            }
            (lo, hi)
        } else {
            let v = self.value(base, false)?;
            // `5/15` means from 5 to the end of the field, every 15.
            (
                v,
                if step.is_some() {
                    self.span().1.max(v)
                } else {
                    v
                },
            )
        };
        Ok((lo..=hi)
            .step_by(step.unwrap_or(1))
            .fold(0, |bits, v| bits | 1 << v))
    }

    /// Parses a whole field (a `,`-separated list) into a bit set: bit n set = value n fires.
    pub(crate) fn parse(self, text: &str) -> Result<u64, (String, CronFieldProblem)> {
        let mut bits = 0u64;
        for item in text.split(',') {
            // An empty item says nothing: show the whole field instead.
            let shown = if item.is_empty() { text } else { item };
            bits |= self.item(item).map_err(|p| (shown.to_string(), p))?;
        }
        if self == Unit::DayOfWeek && bits & 1 << 7 != 0 {
            bits = (bits & !(1 << 7)) | 1;
        }
        Ok(bits)
    }
}

fn parse_step(text: &str) -> Result<usize, CronFieldProblem> {
    match text.parse::<usize>() {
        Ok(step) if step >= 1 && text.bytes().all(|b| b.is_ascii_digit()) => Ok(step),
        _ => Err(CronFieldProblem::BadStep),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(unit: Unit, text: &str) -> Vec<u32> {
        let bits = unit.parse(text).unwrap();
        (0..64).filter(|v| bits & 1 << v != 0).collect()
    }

    #[test]
    fn lists_ranges_steps() {
        assert_eq!(values(Unit::Minute, "*/15"), [0, 15, 30, 45]);
        assert_eq!(values(Unit::Minute, "1-30/5"), [1, 6, 11, 16, 21, 26]);
        assert_eq!(values(Unit::Minute, "50/4"), [50, 54, 58]);
        assert_eq!(values(Unit::Hour, "1,3,5-6"), [1, 3, 5, 6]);
        assert_eq!(values(Unit::DayOfMonth, "*/10"), [1, 11, 21, 31]);
        assert_eq!(values(Unit::Hour, "*/100"), [0]);
    }

    #[test]
    fn names_are_case_insensitive() {
        assert_eq!(values(Unit::Month, "jan,JUN-Aug"), [1, 6, 7, 8]);
        assert_eq!(values(Unit::DayOfWeek, "mon-FRI"), [1, 2, 3, 4, 5]);
        assert_eq!(values(Unit::Month, "Jan-Dec/3"), [1, 4, 7, 10]);
    }

    #[test]
    fn unix_weekdays() {
        assert_eq!(values(Unit::DayOfWeek, "0"), [0]);
        assert_eq!(values(Unit::DayOfWeek, "7"), [0]);
        assert_eq!(values(Unit::DayOfWeek, "5-7"), [0, 5, 6]);
        assert_eq!(values(Unit::DayOfWeek, "Fri-Sun"), [0, 5, 6]);
        assert_eq!(values(Unit::DayOfWeek, "Sun-Tue"), [0, 1, 2]);
        assert_eq!(values(Unit::DayOfWeek, "*"), [0, 1, 2, 3, 4, 5, 6]);
        assert_eq!(values(Unit::DayOfWeek, "*/2"), [0, 2, 4, 6]);
    }

    #[test]
    fn problems() {
        let bad = |unit: Unit, text: &str| unit.parse(text).unwrap_err();
        let range = |s| CronFieldProblem::OutOfRange(s);
        assert_eq!(bad(Unit::Minute, "+5"), ("+5".into(), range("0 to 59")));
        assert_eq!(
            bad(Unit::Minute, "1,,2"),
            ("1,,2".into(), CronFieldProblem::EmptyItem)
        );
        assert_eq!(
            bad(Unit::Minute, "*/x"),
            ("*/x".into(), CronFieldProblem::BadStep)
        );
        assert_eq!(
            bad(Unit::Minute, "*/-1"),
            ("*/-1".into(), CronFieldProblem::BadStep)
        );
        assert_eq!(bad(Unit::Hour, "Mon"), ("Mon".into(), range("0 to 23")));
        assert_eq!(bad(Unit::Hour, "-3"), ("-3".into(), range("0 to 23")));
        assert_eq!(
            bad(Unit::Minute, "99999999999"),
            ("99999999999".into(), range("0 to 59"))
        );
        assert_eq!(
            bad(Unit::DayOfWeek, "Sat-Mon"),
            ("Sat-Mon".into(), CronFieldProblem::Reversed)
        );
    }
}
