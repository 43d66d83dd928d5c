//! The steps of an action request: the changes it makes on each of its meters (a clock sync
//! when the drift is too large, a SET, a method call), written in the config as
//! `{ clock_sync = true, when_drift_over = "5s" }`, `{ set = "OBIS:ATTR", value = "…" }` and
//! `{ call = "OBIS:METHOD", param = "…" }`.

use crate::dlms::obis::Obis;
use std::time::Duration;

/// One change an action request makes on each of its meters.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Set the clock (0.0.1.0.0.255 attribute 2) from the logger's, only when it is off by more
    /// than `when_drift_over` (always when not given).
    ClockSync {
        /// The drift that must be exceeded.
        when_drift_over: Option<Duration>,
    },
    /// Write an attribute.
    Set {
        /// The object.
        obis: Obis,
        /// Its class.
        class_id: u16,
        /// The attribute.
        attribute: i8,
        /// The value as written in the config (typed like the meter's value, or by `data_type`).
        value: String,
        /// The value's type name (see `queue::input::TYPES`).
        data_type: Option<String>,
    },
    /// Invoke a method.
    Call {
        /// The object.
        obis: Obis,
        /// Its class.
        class_id: u16,
        /// The method.
        method: i8,
        /// The parameter as written (`integer 0` when not given).
        param: Option<String>,
        /// The parameter's type name (i8 when not given).
        data_type: Option<String>,
    },
}

impl Step {
    /// The step in words, for logs and the writes table.
    pub fn describe(&self) -> String {
        match self {
            Step::ClockSync { when_drift_over } => match when_drift_over {
                Some(d) => format!(
                    "clock sync when the drift is over {}",
                    crate::schedule::format_duration(*d)
                ),
                None => "clock sync".into(),
            },
            Step::Set {
                obis,
                attribute,
                value,
                ..
            } => format!("set {obis}:{attribute} to {value}"),
            Step::Call {
                obis,
                method,
                param,
                ..
            } => match param {
                Some(p) => format!("call {obis} method {method} with {p}"),
                None => format!("call {obis} method {method}"),
            },
        }
    }
}

/// `OBIS:N` with N from 1 to 127; the error says what is wrong.
pub(crate) fn obis_and_index(text: &str, what: &str) -> Result<(Obis, i8), String> {
    let (obis_text, index) = match text.rsplit_once(':') {
        Some((o, i)) if !o.is_empty() && (!o.contains('-') || o.contains(':')) => (o, i),
        _ => {
            return Err(format!(
                "{text:?} has no {what}; write OBIS:{what}, e.g. \"0.0.1.0.0.255:2\""
            ))
        }
    };
    let obis: Obis = obis_text.parse().map_err(|e| format!("{e}"))?;
    match index.parse::<i8>() {
        Ok(n) if n >= 1 => Ok((obis, n)),
        _ => Err(format!("{what} {index:?} is not a number from 1 to 127")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::Config;

    const HEAD: &str = "[[connection]]\nname = \"c\"\ntcp = { host = \"127.0.0.1\", port = 4059 }\n[[meter]]\nname = \"m1\"\nconnection = \"c\"\n[[request]]\nname = \"sync\"\nmeters = [\"m1\"]\nschedule = { at = [\"03:00:00\"] }\n";

    #[test]
    fn action_steps_are_read_checked_and_saved_back() {
        let text = format!(
            "{HEAD}steps = [\n  {{ clock_sync = true, when_drift_over = \"5s\" }},\n  {{ set = \"0.0.1.0.0.255:3\", value = \"60\", type = \"i16\" }},\n  {{ call = \"0.0.96.3.10.255:1\" }},\n]\n"
        );
        let config = Config::parse(&text, "t.toml").unwrap();
        let steps = &config.requests[0].steps;
        assert_eq!(
            steps[0],
            Step::ClockSync {
                when_drift_over: Some(Duration::from_secs(5))
            }
        );
        assert!(matches!(
            &steps[1],
            Step::Set { class_id: 8, attribute: 3, value, .. } if value == "60"
        ));
        assert!(matches!(
            &steps[2],
            Step::Call {
                class_id: 70,
                method: 1,
                param: None,
                ..
            }
        ));
        let again = Config::parse(&config.to_toml(), "again.toml").unwrap();
        assert_eq!(again, config);
    }

    #[test]
    fn bad_steps_say_what_and_where() {
        let bad = |steps: &str| {
            Config::parse(&format!("{HEAD}steps = [ {steps} ]\n"), "t.toml")
                .unwrap_err()
                .to_string()
        };
        assert!(
            bad("{ set = \"0.0.1.0.0.255:3\", value = \"70000\", type = \"i16\" }")
                .contains("steps[1].value: 70000 is out of range for i16"),
            "{}",
            bad("{ set = \"0.0.1.0.0.255:3\", value = \"70000\", type = \"i16\" }")
        );
        assert!(bad("{ set = \"0.0.1.0.0.255\", value = \"1\" }").contains("has no attribute"));
        assert!(bad("{ set = \"0.0.1.0.0.255:2\" }").contains("value: is required with set"));
        assert!(bad("{ clock_sync = true, when_drift_over = \"soon\" }")
            .contains("\"soon\" is not a duration"));
        assert!(bad("{ clock_sync = true, call = \"0.0.1.0.0.255:1\" }")
            .contains("give exactly one of clock_sync, set or call"));
        assert!(
            bad("{ call = \"0.0.96.3.10.255:1\", type = \"u128\", param = \"1\" }")
                .contains("steps[1].type: unknown type \"u128\"")
        );
    }
}
