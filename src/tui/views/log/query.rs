//! The Log view's filter as the operator typed it, and the store filter it stands for.

use crate::queue::{TimeBound, TimeBoundError};
use crate::store::{LogFilter, StatusFilter};
use crate::tui::views::form::{InputField, InputForm};
use chrono::{DateTime, Utc};

const STATUSES: &[&str] = &["any", "ok", "failed"];

/// The time ranges `t` steps through (then back to every row).
const RANGES: [std::time::Duration; 4] = [
    std::time::Duration::from_secs(15 * 60),
    std::time::Duration::from_secs(3600),
    std::time::Duration::from_secs(86_400),
    std::time::Duration::from_secs(7 * 86_400),
];

/// Why the filter bar cannot be applied.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FilterError {
    /// A time bound is neither a time nor an age.
    #[error("{field}: {source}")]
    Bound {
        /// `since` or `until`.
        field: &'static str,
        /// Why.
        source: TimeBoundError,
    },
    /// The window is empty.
    #[error("since must be before until")]
    Backwards,
}

/// The applied filter; ages such as `24h` stay ages, so the window slides with the clock.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Query {
    request: Option<String>,
    meter: Option<String>,
    item: Option<String>,
    status: Option<StatusFilter>,
    since: Option<TimeBound>,
    until: Option<TimeBound>,
    /// A text the status must contain (any case): the kind of failure.
    error: Option<String>,
}

impl Query {
    /// True when every row matches.
    pub fn is_empty(&self) -> bool {
        *self == Query::default()
    }

    /// The filter bar, filled in with this query.
    pub fn form(&self) -> InputForm {
        let text = |v: &Option<String>| v.clone().unwrap_or_default();
        let bound = |b: &Option<TimeBound>| b.as_ref().map(ToString::to_string).unwrap_or_default();
        let status = match self.status {
            None => 0,
            Some(StatusFilter::Ok) => 1,
            Some(StatusFilter::Failed) => 2,
        };
        InputForm::new(
            "filter · since/until: RFC 3339 or an age (30min, 24h) · error: text of a failure",
            vec![
                InputField::text("meter", &text(&self.meter)),
                InputField::text("item", &text(&self.item)),
                InputField::choice("status", STATUSES, status),
                InputField::text("since", &bound(&self.since)),
                InputField::text("until", &bound(&self.until)),
                InputField::text("request", &text(&self.request)),
                InputField::text("error", &text(&self.error)),
            ],
        )
    }

    /// Reads the filter bar; the error names the field that is wrong.
    pub fn from_form(form: &InputForm, now: DateTime<Utc>) -> Result<Query, FilterError> {
        let text = |label: &str| Some(form.value(label)).filter(|v| !v.is_empty());
        let bound = |field: &'static str| {
            text(field)
                .map(|v| v.parse::<TimeBound>())
                .transpose()
                .map_err(|source| FilterError::Bound { field, source })
        };
        let query = Query {
            request: text("request"),
            meter: text("meter"),
            item: text("item"),
            status: match form.value("status").as_str() {
                "ok" => Some(StatusFilter::Ok),
                "failed" => Some(StatusFilter::Failed),
                _ => None,
            },
            since: bound("since")?,
            until: bound("until")?,
            error: text("error"),
        };
        let filter = query.filter(now);
        if let (Some(since), Some(until)) = (filter.since_ms, filter.until_ms) {
            if since >= until {
                return Err(FilterError::Backwards);
            }
        }
        Ok(query)
    }

    /// The store filter at `now`.
    pub fn filter(&self, now: DateTime<Utc>) -> LogFilter {
        let ms = |b: &Option<TimeBound>| b.as_ref().map(|b| b.resolve(now).timestamp_millis());
        LogFilter {
            request: self.request.clone(),
            meter: self.meter.clone(),
            item: self.item.clone(),
            status: self.status,
            since_ms: ms(&self.since),
            until_ms: ms(&self.until),
        }
    }

    /// The text the status must contain, if any.
    pub fn error(&self) -> Option<String> {
        self.error.clone()
    }

    /// Only failures whose status contains `kind` (`E` on a failed row).
    pub fn set_failure_kind(&mut self, kind: String) {
        self.status = Some(StatusFilter::Failed);
        self.error = Some(kind);
    }

    /// Steps the time range: every row, then the last 15 min, 1 h, 24 h, 7 d, and back to
    /// every row; a typed `until` is dropped (the window ends now). Returns the new range
    /// in words.
    pub fn next_range(&mut self) -> String {
        let current = match (&self.since, &self.until) {
            (Some(TimeBound::Ago(d)), None) => RANGES.iter().position(|r| r == d),
            (None, None) => None,
            // A typed range starts the cycle again.
            _ => Some(RANGES.len() - 1),
        };
        let next = match current {
            None => Some(0),
            Some(i) if i + 1 < RANGES.len() => Some(i + 1),
            Some(_) => None,
        };
        self.until = None;
        self.since = next.map(|i| TimeBound::Ago(RANGES[i]));
        self.range_text()
    }

    /// The time range in words: `every row`, `the last 1h`, `since …`, `… to …`.
    pub fn range_text(&self) -> String {
        match (&self.since, &self.until) {
            (None, None) => "every row".into(),
            (Some(TimeBound::Ago(_)), None) => {
                format!(
                    "the last {}",
                    self.since
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default()
                )
            }
            (Some(s), None) => format!("since {s}"),
            (None, Some(u)) => format!("until {u}"),
            (Some(s), Some(u)) => format!("{s} to {u}"),
        }
    }

    /// A short description for the view's title (`meter=m1 status=failed since=24h`).
    pub fn summary(&self) -> String {
        let status = self.status.map(|s| match s {
            StatusFilter::Ok => "ok".to_string(),
            StatusFilter::Failed => "failed".to_string(),
        });
        let bound = |b: &Option<TimeBound>| b.as_ref().map(ToString::to_string);
        [
            ("request", self.request.clone()),
            ("meter", self.meter.clone()),
            ("item", self.item.clone()),
            ("status", status),
            ("since", bound(&self.since)),
            ("until", bound(&self.until)),
            ("error", self.error.as_ref().map(|e| format!("{e:?}"))),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| format!("{k}={v}")))
        .collect::<Vec<_>>()
        .join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::views::form::Outcome;
    use crate::tui::views::testkit::key;
    use ratatui::crossterm::event::KeyCode;

    fn fill(values: [&str; 5], status_presses: usize) -> InputForm {
        let mut form = Query::default().form();
        for (i, v) in values.iter().enumerate() {
            for c in v.chars() {
                form.handle_key(key(KeyCode::Char(c)));
            }
            if i == 2 {
                for _ in 0..status_presses {
                    form.handle_key(key(KeyCode::Right));
                }
            }
            assert_eq!(form.handle_key(key(KeyCode::Tab)), Outcome::Editing);
        }
        form
    }

    #[test]
    fn reads_the_bar_and_resolves_ages_at_query_time() {
        let now = DateTime::parse_from_rfc3339("2024-05-02T00:00:00Z")
            .unwrap()
            .to_utc();
        let form = fill(
            ["m1", "1.0.1.8.0.255", "", "24h", "2024-05-01T12:00:00Z"],
            2,
        );
        let query = Query::from_form(&form, now).unwrap();
        assert_eq!(
            query.summary(),
            "meter=m1 item=1.0.1.8.0.255 status=failed since=1d until=2024-05-01T12:00:00Z"
        );
        let filter = query.filter(now);
        assert_eq!(filter.status, Some(StatusFilter::Failed));
        assert_eq!(
            (filter.since_ms, filter.until_ms),
            (Some(1_714_521_600_000), Some(1_714_564_800_000))
        );
        // The form shows the query back, so re-applying it changes nothing.
        assert_eq!(Query::from_form(&query.form(), now).unwrap(), query);
        assert!(Query::from_form(&Query::default().form(), now)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn names_the_wrong_field() {
        let now = Utc::now();
        let e = Query::from_form(&fill(["", "", "", "yesterday", ""], 0), now).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("since: \"yesterday\" is not a time"),
            "{e}"
        );
        let e = Query::from_form(&fill(["", "", "", "1h", "2h"], 0), now).unwrap_err();
        assert_eq!(e, FilterError::Backwards);
        assert_eq!(e.to_string(), "since must be before until");
    }
}
