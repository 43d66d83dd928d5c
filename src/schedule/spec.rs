//! The config-file form of a schedule, e.g. `schedule = { every = "15s" }` in TOML.

use serde::{Deserialize, Serialize};

use super::error::ScheduleError;
use super::{cron_expr::CronExpr, interval, time_of_day, Schedule};

/// A schedule as written in a config file: exactly one of these keys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
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

/// The keys of a schedule table, in the order messages list them.
const KEYS: [&str; 5] = ["once", "every", "at", "cron", "event"];

/// The keys in the order [`one_key`] names them.
const ORDER: [&str; 5] = ["every", "cron", "at", "once", "event"];

/// A key that is no schedule: fails as the value is read, naming the keys allowed.
struct Unknown(String);

impl<'de> serde::de::DeserializeSeed<'de> for Unknown {
    type Value = serde::de::IgnoredAny;

    fn deserialize<D: serde::Deserializer<'de>>(self, _: D) -> Result<Self::Value, D::Error> {
        Err(<D::Error as serde::de::Error>::unknown_variant(
            &self.0, &KEYS,
        ))
    }
}

/// What a schedule table with none or several keys is told.
fn one_key(given: &[&str]) -> String {
    let one = "give one of every / cron / at / once / event";
    match given {
        [] => format!("{one} (the table is empty)"),
        [.., last] => {
            let rest = &given[..given.len() - 1];
            format!("{one}, not {} and {last} together", rest.join(", "))
        }
    }
}

impl<'de> Deserialize<'de> for ScheduleSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = ScheduleSpec;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a table with one of once, every, at, cron or event")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<ScheduleSpec, A::Error> {
                use serde::de::Error;
                let mut found: Vec<ScheduleSpec> = Vec::new();
                let mut given: Vec<&'static str> = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    let Some(&name) = KEYS.iter().find(|k| **k == key) else {
                        // Raised from inside the value, so the error points at this key.
                        map.next_value_seed(Unknown(key))?;
                        return Err(A::Error::custom("unknown schedule key"));
                    };
                    if given.contains(&name) {
                        return Err(A::Error::custom(format!("{name} is given twice")));
                    }
                    given.push(name);
                    found.push(match name {
                        "once" => ScheduleSpec::Once(map.next_value()?),
                        "every" => ScheduleSpec::Every(map.next_value()?),
                        "at" => ScheduleSpec::At(map.next_value()?),
                        "cron" => ScheduleSpec::Cron(map.next_value()?),
                        _ => ScheduleSpec::Event(map.next_value()?),
                    });
                }
                given.sort_by_key(|k| ORDER.iter().position(|o| o == k));
                match (found.pop(), found.is_empty()) {
                    (Some(spec), true) => Ok(spec),
                    _ => Err(A::Error::custom(one_key(&given))),
                }
            }
        }
        d.deserialize_map(Visitor)
    }
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
        assert!(
            two.contains(
                "give one of every / cron / at / once / event, not every and once together"
            ),
            "{two}"
        );
        assert!(!two.contains("wanted exactly"), "{two}");
        let none = err("schedule = {}");
        assert!(none.contains("give one of"), "{none}");
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
