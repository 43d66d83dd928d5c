//! When a request fires: pure schedule logic, with time always passed in.
//!
//! Text forms (`FromStr`; `Display` writes a canonical form that parses back to the same
//! schedule, for every schedule parsing can produce):
//! - `once`: fires exactly once, at `start` (the logger's start time).
//! - `every 15s` (units `ms`, `s`, `min`, `h`; N > 0): fires at `start`, `start + N`,
//!   `start + 2N`…, in absolute time, so DST changes do not shift it.
//! - `at 11:00:00;11:20:00` (`HH:MM` also accepted): fires daily at these wall-clock times.
//! - `cron */5 * * * *`, or the bare expression: 5 fields (minute hour day-of-month month
//!   day-of-week, at second 0) or 6 (second first). Lists, ranges, steps (`*/15`, `1-30/5`,
//!   `5/15` = from 5 to the end), `*`, `Jan`…`Dec` and `Mon`…`Sun` (any case), Unix weekday
//!   numbers (0 and 7 = Sunday, 1 = Monday … 6 = Saturday; `Sun` ending a range is 7, so
//!   `Mon-Sun` is the whole week). Unlike Vixie cron, when both day-of-month and day-of-week
//!   are restricted BOTH must match: `0 9 1-7 * 1` is the first Monday of the month at 09:00.
//!   `?` (a whole field; not in day-of-week) stands for that field of `start`: `? ? * * *` fires
//!   daily at the start's hour and minute. As the 5-field form fires at second 0, the start's
//!   own minute has usually passed: `? ? ? ? *` first fires a year after the start (use
//!   `once` for "at startup").
//! - `event NAME`: never fires by time; the runner fires it from outside.
//!
//! `at` and cron fire on wall-clock times in the time zone of the `DateTime` given (local
//! time in practice). A wall-clock time that does not exist that day (DST gap) is skipped,
//! not moved; an ambiguous one (DST fall-back) fires once, at its first instant, and nothing
//! fires again until the wall clock passes the last time already fired. Cron searches end
//! after the year 2100, so an expression that fires no more gives `None` instead of looping;
//! one whose days and months have no date in common (`0 0 31 2 *`) is refused when parsed.

mod cron_expr;
mod error;
mod field;
mod interval;
mod spec;
mod time_of_day;

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, NaiveTime, TimeDelta, TimeZone};
use serde::{Deserialize, Serialize};

pub use cron_expr::CronExpr;
pub use error::{CronFieldProblem, ScheduleError};
pub use spec::ScheduleSpec;

/// A duration written like an interval: `15s`, `500ms`, `5min`, `1h`.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, ScheduleError> {
    interval::parse(text)
}

/// The text [`parse_duration`] reads back.
pub fn format_duration(d: std::time::Duration) -> String {
    interval::format(d)
}

/// When a request fires.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ScheduleSpec", into = "ScheduleSpec")]
pub enum Schedule {
    /// Once, at the logger's start.
    Once,
    /// At start, then every interval.
    Every(Duration),
    /// Daily at these wall-clock times.
    At(Vec<NaiveTime>),
    /// When a cron expression matches the wall clock.
    Cron(CronExpr),
    /// Only when the named event is raised.
    Event(String),
}

impl Schedule {
    /// An event schedule, if `name` is one word of letters, digits, `_`, `-` or `.`.
    pub fn event(name: &str) -> Result<Self, ScheduleError> {
        let word = |c: char| c.is_alphanumeric() || "_-.".contains(c);
        if name.is_empty() || !name.chars().all(word) {
            return Err(ScheduleError::EventName(name.to_string()));
        }
        Ok(Schedule::Event(name.to_string()))
    }

    /// The first fire strictly after `after`; `start` is the logger's start time (for `?` and for once/every).
    pub fn next_after<Tz: TimeZone>(
        &self,
        after: &DateTime<Tz>,
        start: &DateTime<Tz>,
    ) -> Option<DateTime<Tz>> {
        match self {
            Schedule::Once => (start > after).then(|| start.clone()),
            Schedule::Every(every) => interval::next_after(*every, after, start),
            Schedule::At(times) => time_of_day::next_after(times, after),
            Schedule::Cron(expr) => expr.next_after(after, start),
            Schedule::Event(_) => None,
        }
    }

    /// The next `count` fires at or after `from` (so `once` and `every` include `start` when `from == start`).
    pub fn preview<Tz: TimeZone>(
        &self,
        from: &DateTime<Tz>,
        start: &DateTime<Tz>,
        count: usize,
    ) -> Vec<DateTime<Tz>> {
        // "At or after `from`" = "strictly after the instant just before it".
        let Some(before) = from.clone().checked_sub_signed(TimeDelta::nanoseconds(1)) else {
            return Vec::new();
        };
        std::iter::successors(self.next_after(&before, start), |t| {
            self.next_after(t, start)
        })
        .take(count)
        .collect()
    }
}

impl FromStr for Schedule {
    type Err = ScheduleError;

    fn from_str(text: &str) -> Result<Self, ScheduleError> {
        let text = text.trim();
        let (word, rest) = text
            .split_once(char::is_whitespace)
            .map_or((text, ""), |(w, r)| (w, r.trim()));
        let is = |keyword: &str| word.eq_ignore_ascii_case(keyword);
        if is("once") {
            match rest {
                "" => Ok(Schedule::Once),
                _ => Err(ScheduleError::OnceArgument(rest.to_string())),
            }
        } else if is("every") {
            interval::parse(rest).map(Schedule::Every)
        } else if is("at") {
            time_of_day::parse_list(rest).map(Schedule::At)
        } else if is("event") {
            Schedule::event(rest)
        } else if is("cron") {
            rest.parse().map(Schedule::Cron)
        } else if rest.is_empty() {
            // No cron expression is a single word: report it as an unknown schedule.
            Err(ScheduleError::Unrecognized(text.to_string()))
        } else {
            text.parse().map(Schedule::Cron)
        }
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::Once => f.write_str("once"),
            Schedule::Every(every) => write!(f, "every {}", interval::format(*every)),
            Schedule::At(times) => write!(f, "at {}", time_of_day::format_list(times)),
            Schedule::Cron(expr) => write!(f, "cron {expr}"),
            Schedule::Event(name) => write!(f, "event {name}"),
        }
    }
}
