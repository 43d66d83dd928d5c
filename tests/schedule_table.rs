//! Fire-time tables and error messages for `dlms_logger::schedule`.

use chrono::{
    DateTime, Datelike, FixedOffset, MappedLocalTime, NaiveDate, NaiveDateTime, NaiveTime,
    SecondsFormat, TimeZone, Weekday,
};
use dlms_logger::schedule::Schedule;

fn t(rfc3339: &str) -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339(rfc3339).unwrap()
}

fn show<Tz: TimeZone>(t: &DateTime<Tz>) -> String
where
    Tz::Offset: std::fmt::Display,
{
    t.to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

/// The first `n` fires strictly after `after`, chaining `next_after`.
fn fires<Tz: TimeZone>(
    schedule: &str,
    after: &DateTime<Tz>,
    start: &DateTime<Tz>,
    n: usize,
) -> Vec<String>
where
    Tz::Offset: std::fmt::Display,
{
    let s: Schedule = schedule.parse().unwrap();
    std::iter::successors(s.next_after(after, start), |p| s.next_after(p, start))
        .take(n)
        .map(|f| show(&f))
        .collect()
}

const NEW_YEAR: &str = "2026-01-01T00:00:00+01:00";
/// A Tuesday afternoon, used as the logger's start for `?`, `once` and `every`.
const START: &str = "2026-03-10T14:37:12+01:00";

#[test]
fn fire_tables() {
    let table: &[(&str, &str, &[&str])] = &[
        (
            "* * * * *",
            START,
            &[
                "2026-03-10T14:38:00+01:00",
                "2026-03-10T14:39:00+01:00",
                "2026-03-10T14:40:00+01:00",
            ],
        ),
        // Dec 31 AND Friday.
        (
            "59 23 31 12 5",
            NEW_YEAR,
            &[
                "2027-12-31T23:59:00+01:00",
                "2032-12-31T23:59:00+01:00",
                "2038-12-31T23:59:00+01:00",
            ],
        ),
        (
            "59 23 31 Dec Fri",
            NEW_YEAR,
            &[
                "2027-12-31T23:59:00+01:00",
                "2032-12-31T23:59:00+01:00",
                "2038-12-31T23:59:00+01:00",
            ],
        ),
        (
            "45 17 7 6 *",
            NEW_YEAR,
            &[
                "2026-06-07T17:45:00+01:00",
                "2027-06-07T17:45:00+01:00",
                "2028-06-07T17:45:00+01:00",
            ],
        ),
        // Jan 31, Feb 1, Feb 15, Mar 1 and Mar 15 are weekends; Mar 31 is a Tuesday.
        (
            "*/15 */6 1,15,31 * 1-5",
            "2026-01-15T18:40:00+01:00",
            &[
                "2026-01-15T18:45:00+01:00",
                "2026-03-31T00:00:00+01:00",
                "2026-03-31T00:15:00+01:00",
                "2026-03-31T00:30:00+01:00",
                "2026-03-31T00:45:00+01:00",
                "2026-03-31T06:00:00+01:00",
            ],
        ),
        // 2026-01-01 is a Thursday.
        (
            "0 12 * * Mon-Fri",
            NEW_YEAR,
            &[
                "2026-01-01T12:00:00+01:00",
                "2026-01-02T12:00:00+01:00",
                "2026-01-05T12:00:00+01:00",
                "2026-01-06T12:00:00+01:00",
            ],
        ),
        // First Monday of each month.
        (
            "0 9 1-7 * 1",
            NEW_YEAR,
            &[
                "2026-01-05T09:00:00+01:00",
                "2026-02-02T09:00:00+01:00",
                "2026-03-02T09:00:00+01:00",
                "2026-04-06T09:00:00+01:00",
                "2026-05-04T09:00:00+01:00",
                "2026-06-01T09:00:00+01:00",
            ],
        ),
        (
            "1,2,3,5,20-25,30-35,59 23 31 12 *",
            NEW_YEAR,
            &[
                "2026-12-31T23:01:00+01:00",
                "2026-12-31T23:02:00+01:00",
                "2026-12-31T23:03:00+01:00",
                "2026-12-31T23:05:00+01:00",
                "2026-12-31T23:20:00+01:00",
                "2026-12-31T23:21:00+01:00",
                "2026-12-31T23:22:00+01:00",
                "2026-12-31T23:23:00+01:00",
                "2026-12-31T23:24:00+01:00",
                "2026-12-31T23:25:00+01:00",
                "2026-12-31T23:30:00+01:00",
                "2026-12-31T23:31:00+01:00",
                "2026-12-31T23:32:00+01:00",
                "2026-12-31T23:33:00+01:00",
                "2026-12-31T23:34:00+01:00",
                "2026-12-31T23:35:00+01:00",
                "2026-12-31T23:59:00+01:00",
                "2027-12-31T23:01:00+01:00",
            ],
        ),
        (
            "0 0 * * 3",
            NEW_YEAR,
            &[
                "2026-01-07T00:00:00+01:00",
                "2026-01-14T00:00:00+01:00",
                "2026-01-21T00:00:00+01:00",
            ],
        ),
        // `?` = the start's hour and minute (14:37).
        (
            "? ? * * *",
            START,
            &[
                "2026-03-11T14:37:00+01:00",
                "2026-03-12T14:37:00+01:00",
                "2026-03-13T14:37:00+01:00",
            ],
        ),
        (
            "*/5 ? * * *",
            START,
            &[
                "2026-03-10T14:40:00+01:00",
                "2026-03-10T14:45:00+01:00",
                "2026-03-10T14:50:00+01:00",
                "2026-03-10T14:55:00+01:00",
                "2026-03-11T14:00:00+01:00",
            ],
        ),
        // Once a year at the start's minute, which passed 12 s before the start.
        ("? ? ? ? *", START, &["2027-03-10T14:37:00+01:00"]),
        (
            "? ? ? ? ? *",
            "2026-03-10T14:37:11+01:00",
            &["2026-03-10T14:37:12+01:00", "2027-03-10T14:37:12+01:00"],
        ),
        (
            "0 */15 * * * *",
            START,
            &[
                "2026-03-10T14:45:00+01:00",
                "2026-03-10T15:00:00+01:00",
                "2026-03-10T15:15:00+01:00",
            ],
        ),
        (
            "cron 30 */15 * * * *",
            START,
            &["2026-03-10T14:45:30+01:00", "2026-03-10T15:00:30+01:00"],
        ),
        (
            "every 15s",
            START,
            &[
                "2026-03-10T14:37:27+01:00",
                "2026-03-10T14:37:42+01:00",
                "2026-03-10T14:37:57+01:00",
            ],
        ),
        (
            "every 500ms",
            START,
            &[
                "2026-03-10T14:37:12.500+01:00",
                "2026-03-10T14:37:13+01:00",
                "2026-03-10T14:37:13.500+01:00",
            ],
        ),
        (
            "every 2 min",
            "2026-03-10T14:40:00+01:00",
            &["2026-03-10T14:41:12+01:00", "2026-03-10T14:43:12+01:00"],
        ),
        // Before the start, `every` and `once` fire at the start.
        ("every 1h", NEW_YEAR, &[START, "2026-03-10T15:37:12+01:00"]),
        ("once", NEW_YEAR, &[START]),
        ("once", START, &[]),
        (
            "at 11:00:00;11:20:00",
            "2026-03-10T11:10:00+01:00",
            &[
                "2026-03-10T11:20:00+01:00",
                "2026-03-11T11:00:00+01:00",
                "2026-03-11T11:20:00+01:00",
            ],
        ),
        ("event x", START, &[]),
        // Day 10 (the start's) of February: once a year.
        (
            "0 0 ? 2 *",
            NEW_YEAR,
            &["2026-02-10T00:00:00+01:00", "2027-02-10T00:00:00+01:00"],
        ),
        // Feb 29 on a Monday: 28 years apart.
        (
            "0 0 29 2 Mon",
            NEW_YEAR,
            &["2044-02-29T00:00:00+01:00", "2072-02-29T00:00:00+01:00"],
        ),
    ];
    for (schedule, after, want) in table {
        let got = fires(schedule, &t(after), &t(START), want.len() + 1);
        let more = got.get(want.len()).cloned();
        assert_eq!(
            &got[..want.len().min(got.len())],
            *want,
            "{schedule} after {after}"
        );
        // Empty tables mean no fire at all; others are a prefix of the fires.
        assert!(!want.is_empty() || more.is_none(), "{schedule}: {more:?}");
    }
}

#[test]
fn preview_includes_a_fire_at_from() {
    let start = t(START);
    let preview = |text: &str, from: &str, n| -> Vec<String> {
        let s: Schedule = text.parse().unwrap();
        s.preview(&t(from), &start, n).iter().map(show).collect()
    };
    assert_eq!(preview("once", START, 3), [START]);
    assert_eq!(
        preview("every 15s", START, 2),
        [START, "2026-03-10T14:37:27+01:00"]
    );
    assert_eq!(
        preview("0 */15 * * * *", "2026-03-10T14:45:00+01:00", 2),
        ["2026-03-10T14:45:00+01:00", "2026-03-10T15:00:00+01:00"]
    );
    assert_eq!(
        preview("at 11:00", "2026-03-10T11:00:00+01:00", 1),
        ["2026-03-10T11:00:00+01:00"]
    );
    assert!(preview("event x", START, 5).is_empty());
    assert!(preview("every 1s", START, 0).is_empty());
}

/// Fire dates of a daily-midnight expression restricted by weekday.
fn weekdays_of(expr: &str, n: usize) -> Vec<(NaiveDate, Weekday)> {
    let s: Schedule = expr.parse().unwrap();
    s.preview(&t(NEW_YEAR), &t(NEW_YEAR), n)
        .iter()
        .map(|f| (f.date_naive(), f.weekday()))
        .collect()
}

#[test]
fn unix_weekday_numbers() {
    let sundays = weekdays_of("0 0 * * 0", 10);
    assert!(sundays.iter().all(|(_, w)| *w == Weekday::Sun));
    assert_eq!(sundays[0].0, NaiveDate::from_ymd_opt(2026, 1, 4).unwrap());
    assert_eq!(weekdays_of("0 0 * * 7", 10), sundays);
    assert_eq!(weekdays_of("0 0 * * sun", 10), sundays);
    assert!(weekdays_of("0 0 * * 6", 10)
        .iter()
        .all(|(_, w)| *w == Weekday::Sat));
    let workdays = weekdays_of("0 0 * * 1-5", 20);
    assert_eq!(weekdays_of("0 0 * * Mon-Fri", 20), workdays);
    let days: Vec<Weekday> = workdays.iter().map(|(_, w)| *w).take(5).collect();
    // The preview includes Thursday 2026-01-01 00:00 itself.
    use Weekday::*;
    assert_eq!(days, [Thu, Fri, Mon, Tue, Wed]);
    assert!(workdays.iter().all(|(_, w)| !matches!(w, Sat | Sun)));
    assert_eq!(weekdays_of("0 0 * * Mon-Sun", 7).len(), 7);
    assert_eq!(
        weekdays_of("0 0 * * Fri-Sun", 3)
            .iter()
            .map(|(_, w)| *w)
            .collect::<Vec<_>>(),
        [Fri, Sat, Sun]
    );
}

#[test]
fn display_parses_back() {
    for (text, canonical) in [
        ("once", "once"),
        ("EVERY 5 min", "every 5min"),
        ("every 3600s", "every 1h"),
        ("every 500ms", "every 500ms"),
        ("at 11:20;11:00:00", "at 11:00:00;11:20:00"),
        ("*/5 * * * *", "cron */5 * * * *"),
        ("cron  0 */15 * * * *", "cron 0 */15 * * * *"),
        ("event meter-1.tariff", "event meter-1.tariff"),
    ] {
        let s: Schedule = text.parse().unwrap();
        assert_eq!(s.to_string(), canonical);
        assert_eq!(canonical.parse::<Schedule>().unwrap(), s);
    }
}

#[test]
fn bad_schedules_name_the_field() {
    const FIELDS: &str = "write 5 (minute hour day-of-month month day-of-week) or 6 (second first)";
    let table = [
        ("60 * * * *", r#"cron field 1 (minute) "60": values must be 0 to 59"#.to_string()),
        ("* 24 * * *", r#"cron field 2 (hour) "24": values must be 0 to 23"#.into()),
        ("* * 0 * *", r#"cron field 3 (day of month) "0": values must be 1 to 31"#.into()),
        ("* * 32 * *", r#"cron field 3 (day of month) "32": values must be 1 to 31"#.into()),
        (
            "* * * 13 *",
            r#"cron field 4 (month) "13": values must be 1 to 12 or Jan to Dec"#.into(),
        ),
        (
            "* * * * 8",
            r#"cron field 5 (day of week) "8": values must be 0 to 7 (0 and 7 are Sunday) or Mon to Sun"#.into(),
        ),
        (
            "*/0 * * * *",
            r#"cron field 1 (minute) "*/0": steps must be a whole number of at least 1"#.into(),
        ),
        (
            "5-1 * * * *",
            r#"cron field 1 (minute) "5-1": a range must go from low to high"#.into(),
        ),
        (
            "* * * Foo *",
            r#"cron field 4 (month) "Foo": values must be 1 to 12 or Jan to Dec"#.into(),
        ),
        (
            "0,15,61 * * * *",
            r#"cron field 1 (minute) "61": values must be 0 to 59"#.into(),
        ),
        ("1,,2 * * * *", r#"cron field 1 (minute) "1,,2": a list item is empty"#.into()),
        ("60 0 * * * *", r#"cron field 1 (second) "60": values must be 0 to 59"#.into()),
        ("0 60 * * * *", r#"cron field 2 (minute) "60": values must be 0 to 59"#.into()),
        ("* * * *", format!(r#"cron expression "* * * *" has 4 fields: {FIELDS}"#)),
        (
            "0 0 0 * * * *",
            format!(r#"cron expression "0 0 0 * * * *" has 7 fields: {FIELDS}"#),
        ),
        (
            "0 0 * * ?",
            r#"cron field 5 (day of week) "?": "?" (the start time's value) is allowed only in the second, minute, hour, day-of-month and month fields"#.into(),
        ),
        ("every 0s", r#"every "0s": the interval must be greater than zero"#.into()),
        (
            "every 5 parsecs",
            r#"every "5 parsecs": unit "parsecs" is unknown; use ms, s, min or h"#.into(),
        ),
        (
            "every soon",
            r#"every "soon": write a whole number followed by ms, s, min or h, e.g. every 15s"#.into(),
        ),
        ("at 25:00:00", r#"at time "25:00:00": hours must be 0 to 23"#.into()),
        ("at 11:60", r#"at time "11:60": minutes must be 0 to 59"#.into()),
        ("at 11h", r#"at time "11h": write HH:MM:SS or HH:MM"#.into()),
        (
            "at",
            r#"at: give at least one time of day as HH:MM:SS or HH:MM, several separated by ";""#.into(),
        ),
        (
            "",
            r#"schedule "": write once, every <N><unit>, at HH:MM:SS, event <name> or a cron expression"#.into(),
        ),
        (
            "hourly",
            r#"schedule "hourly": write once, every <N><unit>, at HH:MM:SS, event <name> or a cron expression"#.into(),
        ),
        ("once more", r#"once "more": once takes nothing after it"#.into()),
        (
            "event a b",
            r#"event name "a b": use one word of letters, digits, "_", "-" or ".""#.into(),
        ),
    ];
    for (text, message) in table {
        let err = text.parse::<Schedule>().unwrap_err();
        assert_eq!(err.to_string(), message, "{text:?}");
    }
}

#[test]
fn crons_that_can_never_fire_are_refused_when_parsed() {
    for (text, why) in [
        ("0 0 31 2 *", "day 31 does not exist in February"),
        ("0 0 30 2 Mon", "day 30 does not exist in February"),
        ("0 0 30 Feb *", "day 30 does not exist in February"),
        ("0 0 31 Apr *", "day 31 does not exist in April"),
        (
            "cron 0 0 0 31 6,9 *",
            "day 31 does not exist in June or September",
        ),
    ] {
        let err = text.parse::<Schedule>().unwrap_err().to_string();
        assert!(
            err.ends_with(&format!("can never fire: {why}")),
            "{text}: {err}"
        );
    }
}

/// A toy zone with EU-style DST in 2026 (UTC+1; UTC+2 from 29 Mar 01:00 UTC to 25 Oct 01:00 UTC),
/// so DST behaviour is tested without chrono-tz and independent of the machine's zone.
#[derive(Clone, Copy, Debug)]
struct ToyCet;

impl ToyCet {
    fn winter() -> FixedOffset {
        FixedOffset::east_opt(3600).unwrap()
    }
    fn summer() -> FixedOffset {
        FixedOffset::east_opt(7200).unwrap()
    }
}

impl TimeZone for ToyCet {
    type Offset = FixedOffset;

    fn from_offset(_: &FixedOffset) -> Self {
        ToyCet
    }

    fn offset_from_utc_datetime(&self, utc: &NaiveDateTime) -> FixedOffset {
        let at = |m, d| {
            NaiveDate::from_ymd_opt(2026, m, d)
                .unwrap()
                .and_hms_opt(1, 0, 0)
                .unwrap()
        };
        if (at(3, 29)..at(10, 25)).contains(utc) {
            Self::summer()
        } else {
            Self::winter()
        }
    }

    fn offset_from_utc_date(&self, utc: &NaiveDate) -> FixedOffset {
        self.offset_from_utc_datetime(&utc.and_time(NaiveTime::MIN))
    }

    fn offset_from_local_datetime(&self, local: &NaiveDateTime) -> MappedLocalTime<FixedOffset> {
        // An offset fits a local time when the UTC instant it gives has that offset.
        let fits = |off: FixedOffset| self.offset_from_utc_datetime(&(*local - off)) == off;
        match (fits(Self::summer()), fits(Self::winter())) {
            (true, true) => MappedLocalTime::Ambiguous(Self::summer(), Self::winter()),
            (true, false) => MappedLocalTime::Single(Self::summer()),
            (false, true) => MappedLocalTime::Single(Self::winter()),
            (false, false) => MappedLocalTime::None,
        }
    }

    fn offset_from_local_date(&self, local: &NaiveDate) -> MappedLocalTime<FixedOffset> {
        self.offset_from_local_datetime(&local.and_time(NaiveTime::MIN))
    }
}

fn toy(rfc3339: &str) -> DateTime<ToyCet> {
    t(rfc3339).with_timezone(&ToyCet)
}

#[test]
fn dst_gap_is_skipped() {
    let start = toy("2026-03-01T00:00:00+01:00");
    let next = |text, after| fires(text, &toy(after), &start, 3);
    assert_eq!(
        next("*/30 * * * *", "2026-03-29T01:00:00+01:00"),
        [
            "2026-03-29T01:30:00+01:00",
            "2026-03-29T03:00:00+02:00",
            "2026-03-29T03:30:00+02:00"
        ]
    );
    for daily in ["at 02:30:00", "30 2 * * *"] {
        assert_eq!(
            next(daily, "2026-03-28T12:00:00+01:00")[..2],
            ["2026-03-30T02:30:00+02:00", "2026-03-31T02:30:00+02:00"],
            "{daily}"
        );
    }
    // `every` counts absolute time: 00:30 + 1 h is 01:30, + 2 h is 03:30 summer time.
    let start = toy("2026-03-29T00:30:00+01:00");
    assert_eq!(
        fires_from("every 1h", &start, 3),
        [
            "2026-03-29T00:30:00+01:00",
            "2026-03-29T01:30:00+01:00",
            "2026-03-29T03:30:00+02:00"
        ]
    );
}

fn fires_from(text: &str, start: &DateTime<ToyCet>, n: usize) -> Vec<String> {
    let s: Schedule = text.parse().unwrap();
    s.preview(start, start, n).iter().map(show).collect()
}

#[test]
fn dst_repeated_hour_fires_once() {
    let start = toy("2026-10-01T00:00:00+02:00");
    let next = |text, after| fires(text, &toy(after), &start, 4);
    // 02:00 and 02:30 happen twice; they fire at the first (summer) instant only.
    assert_eq!(
        next("*/30 * * * *", "2026-10-25T01:00:00+02:00"),
        [
            "2026-10-25T01:30:00+02:00",
            "2026-10-25T02:00:00+02:00",
            "2026-10-25T02:30:00+02:00",
            "2026-10-25T03:00:00+01:00"
        ]
    );
    // Asked during the second pass, nothing already fired repeats.
    assert_eq!(
        next("*/30 * * * *", "2026-10-25T02:10:00+01:00")[0],
        "2026-10-25T03:00:00+01:00"
    );
    for daily in ["at 02:30:00", "30 2 * * *"] {
        assert_eq!(
            next(daily, "2026-10-24T12:00:00+02:00")[..2],
            ["2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"],
            "{daily}"
        );
        assert_eq!(
            next(daily, "2026-10-25T02:40:00+01:00")[0],
            "2026-10-26T02:30:00+01:00",
            "{daily}"
        );
    }
}
