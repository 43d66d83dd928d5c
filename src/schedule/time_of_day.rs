//! `at HH:MM:SS;…`: daily wall-clock times, their text form and the next fire.

use chrono::{DateTime, NaiveTime, TimeZone};

use super::error::ScheduleError;

/// Parses `;`-separated times of day, sorted and without duplicates.
pub(crate) fn parse_list(text: &str) -> Result<Vec<NaiveTime>, ScheduleError> {
    if text.trim().is_empty() {
        return Err(ScheduleError::AtEmpty);
    }
    collect(text.split(';').map(parse))
}

/// Collects parsed times sorted and without duplicates; an empty list is an error.
pub(crate) fn collect(
    times: impl IntoIterator<Item = Result<NaiveTime, ScheduleError>>,
) -> Result<Vec<NaiveTime>, ScheduleError> {
    let mut times = times.into_iter().collect::<Result<Vec<_>, _>>()?;
    if times.is_empty() {
        return Err(ScheduleError::AtEmpty);
    }
    times.sort_unstable();
    times.dedup();
    Ok(times)
}

/// Parses `HH:MM:SS` or `HH:MM` (one or two digits each).
pub(crate) fn parse(text: &str) -> Result<NaiveTime, ScheduleError> {
    let text = text.trim();
    let format = || ScheduleError::AtFormat(text.to_string());
    let parts: Vec<&str> = text.split(':').collect();
    if !(2..=3).contains(&parts.len()) {
        return Err(format());
    }
    let mut values = [0u32; 3];
    for ((value, part), (name, max)) in
        values
            .iter_mut()
            .zip(&parts)
            .zip([("hours", 23), ("minutes", 59), ("seconds", 59)])
    {
        if !(1..=2).contains(&part.len()) || !part.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format());
        }
        *value = part.parse().map_err(|_| format())?;
        if *value > max {
            return Err(ScheduleError::AtRange {
                text: text.to_string(),
                part: name,
                max,
            });
        }
    }
    NaiveTime::from_hms_opt(values[0], values[1], values[2]).ok_or_else(format)
}

/// Formats times the way `parse_list` reads them back: `HH:MM:SS;HH:MM:SS`.
pub(crate) fn format_list(times: &[NaiveTime]) -> String {
    let texts: Vec<String> = times
        .iter()
        .map(|t| t.format("%H:%M:%S").to_string())
        .collect();
    texts.join(";")
}

/// The first wall-clock time among `times` strictly after `after`, in `after`'s time zone.
pub(crate) fn next_after<Tz: TimeZone>(
    times: &[NaiveTime],
    after: &DateTime<Tz>,
) -> Option<DateTime<Tz>> {
    let tz = after.timezone();
    // Today's times may have passed and tomorrow's may fall in a DST gap: three days suffice.
    let days = after.naive_local().date().iter_days().take(3);
    days.flat_map(|day| times.iter().map(move |t| day.and_time(*t)))
        // Only the first instant of an ambiguous time fires; a nonexistent one is skipped.
        .filter_map(|local| tz.from_local_datetime(&local).earliest())
        .filter(|t| t > after)
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hms(h: u32, m: u32, s: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, s).unwrap()
    }

    #[test]
    fn lists() {
        assert_eq!(
            parse_list("11:20:00; 11:00;11:00:00").unwrap(),
            [hms(11, 0, 0), hms(11, 20, 0)]
        );
        assert_eq!(parse_list("7:05").unwrap(), [hms(7, 5, 0)]);
        assert_eq!(
            format_list(&[hms(7, 5, 0), hms(23, 59, 59)]),
            "07:05:00;23:59:59"
        );
        assert_eq!(parse_list(" "), Err(ScheduleError::AtEmpty));
        assert_eq!(
            parse_list("11:00;"),
            Err(ScheduleError::AtFormat("".into()))
        );
    }

    #[test]
    fn rejects() {
        for bad in ["11", "11:00:00:00", "111:00", "1a:00", "+1:00", "11::00"] {
            assert_eq!(
                parse(bad),
                Err(ScheduleError::AtFormat(bad.into())),
                "{bad}"
            );
        }
        let range = |text: &str, part, max| ScheduleError::AtRange {
            text: text.into(),
            part,
            max,
        };
        assert_eq!(parse("24:00"), Err(range("24:00", "hours", 23)));
        assert_eq!(parse("23:60"), Err(range("23:60", "minutes", 59)));
        assert_eq!(parse("23:59:60"), Err(range("23:59:60", "seconds", 59)));
    }
}
