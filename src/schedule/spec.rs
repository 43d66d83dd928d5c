//! The config-file form of a schedule, e.g. `schedule = { every = "15s" }` in TOML.

use serde::{Deserialize, Serialize};

use super::error::ScheduleError;
use super::{cron_expr::CronExpr, interval, time_of_day, Schedule};

/// A schedule as written in a config file: exactly one of these keys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum ScheduleSpec {
    /// `{ once = true }`: fire once at startup.
    Once(bool),
    /// `{ every = "15s" }`: fire at startup, then every interval (`ms`, `s`, `min`, `h`).
    Every(String),
    /// `{ at = ["11:00:00", "11:20:00"] }`: fire daily at these local times.
    At(Vec<String>),
    /// `{ cron = "*/5 * * * *" }`: fire when the cron expression matches.
    Cron(String),
    /// `{ event = "name" }`: fire only when the named event is raised.
    Event(String),
}

impl TryFrom<ScheduleSpec> for Schedule {
    type Error = ScheduleError;

    fn try_from(spec: ScheduleSpec) -> Result<Self, ScheduleError> {
        Ok(match spec {
            ScheduleSpec::Once(true) => Schedule::Once,
            ScheduleSpec::Once(false) => return Err(ScheduleError::OnceFalse),
            ScheduleSpec::Every(text) => Schedule::Every(interval::parse(&text)?),
            ScheduleSpec::At(times) => Schedule::At(time_of_day::collect(
                times.iter().map(|t| time_of_day::parse(t)),
            )?),
            ScheduleSpec::Cron(text) => Schedule::Cron(text.parse::<CronExpr>()?),
            ScheduleSpec::Event(name) => Schedule::event(&name)?,
        })
    }
}

impl From<Schedule> for ScheduleSpec {
    fn from(schedule: Schedule) -> Self {
        match schedule {
            Schedule::Once => ScheduleSpec::Once(true),
            Schedule::Every(interval) => ScheduleSpec::Every(interval::format(interval)),
            Schedule::At(times) => ScheduleSpec::At(
                times
                    .iter()
                    .map(|t| t.format("%H:%M:%S").to_string())
                    .collect(),
            ),
            Schedule::Cron(expr) => ScheduleSpec::Cron(expr.to_string()),
            Schedule::Event(name) => ScheduleSpec::Event(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[derive(Debug, Deserialize, Serialize)]
    struct Request {
        schedule: Schedule,
    }

    fn read(toml_text: &str) -> Result<Schedule, String> {
        toml::from_str::<Request>(toml_text)
            .map(|r| r.schedule)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn toml_shapes() {
        let every = read(r#"schedule = { every = "15s" }"#).unwrap();
        assert_eq!(every, Schedule::Every(Duration::from_secs(15)));
        assert_eq!(read("schedule = { once = true }").unwrap(), Schedule::Once);
        let at = read(r#"schedule = { at = ["11:20:00", "11:00:00"] }"#).unwrap();
        assert_eq!(at.to_string(), "at 11:00:00;11:20:00");
        let cron = read(r#"schedule = { cron = "0 9 1-7 * Mon" }"#).unwrap();
        assert_eq!(cron.to_string(), "cron 0 9 1-7 * Mon");
        let event = read(r#"schedule = { event = "tariff-change" }"#).unwrap();
        assert_eq!(event, Schedule::Event("tariff-change".into()));
    }

    #[test]
    fn toml_rejects() {
        let err = |text| read(text).unwrap_err();
        assert!(err("schedule = { once = false }").contains("once can only be true"));
        assert!(err(r#"schedule = { every = "0s" }"#).contains("greater than zero"));
        assert!(err("schedule = { at = [] }").contains("at least one time"));
        assert!(err(r#"schedule = { hourly = "yes" }"#).contains("unknown variant"));
        let two = err(r#"schedule = { every = "1s", once = true }"#);
        assert!(two.contains("wanted exactly 1 element"), "{two}");
    }

    #[test]
    fn toml_round_trip() {
        for text in [
            "once",
            "every 90s",
            "at 07:05:00;11:00:00",
            "cron ? ? * * *",
            "event x",
        ] {
            let schedule: Schedule = text.parse().unwrap();
            let written = toml::to_string(&Request {
                schedule: schedule.clone(),
            })
            .unwrap();
            assert_eq!(read(&written).unwrap(), schedule, "{written}");
        }
    }
}
