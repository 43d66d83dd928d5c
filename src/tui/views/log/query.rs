//! The Log view's filter as the operator typed it, and the store filter it stands for.

use crate::queue::{TimeBound, TimeBoundError};
use crate::store::{LogFilter, StatusFilter};
use crate::tui::views::form::{InputField, InputForm};
use chrono::{DateTime, Utc};

const STATUSES: &[&str] = &["any", "ok", "failed"];

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
            "filter · item: name or OBIS · since/until: RFC 3339 or an age (30min, 24h, 7d)",
            vec![
                InputField::text("meter", &text(&self.meter)),
                InputField::text("item", &text(&self.item)),
                InputField::choice("status", STATUSES, status),
                InputField::text("since", &bound(&self.since)),
                InputField::text("until", &bound(&self.until)),
                InputField::text("request", &text(&self.request)),
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
