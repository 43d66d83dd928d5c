//! `dlms-logger schedule`: print the next fire times of a schedule expression.

use anyhow::{bail, Context, Result};
use chrono::{DateTime, Local};
use dlms_logger::schedule::Schedule;
use std::io::Write;

/// Prints the next `count` fires of `expr` from `from` (default now), one RFC 3339 local time per line.
pub fn run(expr: &str, from: Option<&str>, count: usize) -> Result<()> {
    let schedule: Schedule = expr.parse()?;
    let from: DateTime<Local> = match from {
        Some(t) => DateTime::parse_from_rfc3339(t)
            .with_context(|| {
                format!("--from {t:?} is not an RFC 3339 time such as 2026-11-21T08:00:00+01:00")
            })?
            .with_timezone(&Local),
        None => Local::now(),
    };
    if let Schedule::Event(name) = &schedule {
        eprintln!("an event schedule fires only when event {name:?} is raised, never by time");
        return Ok(());
    }
    let fires = schedule.preview(&from, &from, count);
    if fires.is_empty() {
        // Never an empty answer that looks like success.
        bail!(
            "{schedule} never fires at or after {} (cron searches end after the year 2100; \
             a ? takes its value from that start time)",
            from.to_rfc3339()
        );
    }
    let mut out = std::io::stdout().lock();
    for t in fires {
        writeln!(out, "{}", t.to_rfc3339())?;
    }
    Ok(())
}
