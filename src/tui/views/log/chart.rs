//! A chart of one item over the Log's time range (`c` on a row): its numeric values as a
//! line over local time, the unit on the value axis, failures as red dots along the floor.
//! An item with no numbers says why there is nothing to draw.
//!
//! ```text
//! ┌ sim-1 · voltage L1 · the last 1h ──────────────────────────────────────────┐
//! │V                                                                           │
//! │231.9│      ⡠⠊⠉⠢⡀            ⢀⠤⠒⠉⠑⠢⢄                                         │
//! │229.8│⠤⠔⠊       ⠈⠢⠤⣀⣀⡠⠤⠒⠉         ⠑⠤⣀                                       │
//! │     └──────────────────────────────────────────────────── local time       │
//! │     11:05            11:35            12:05                                │
//! │720 values · min 228.1 · max 231.9 · last 230.2 V at 12:05:00               │
//! └ t time range · Esc close ──────────────────────────────────────────────────┘
//! ```

use crate::store::{QueryError, Row};
use crate::tui::app::{Ctx, Tab, TaskResult};
use crate::tui::keymap::{Binding, KeyPress};
use chrono::{DateTime, Local, Utc};
use ratatui::crossterm::event::KeyCode;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::symbols::Marker;
use ratatui::text::Line;
use ratatui::widgets::{Axis, Block, Borders, Chart, Clear, Dataset, GraphType, Paragraph, Wrap};
use ratatui::Frame;

/// The most rows a chart reads: the newest of a range that holds more.
pub const LIMIT: usize = 5000;

/// What the chart's keys do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    Close,
    Range,
}

/// The chart's keys.
pub const KEYS: &[Binding<Key>] = &[
    Binding {
        keys: &[
            (KeyPress::new(KeyCode::Esc), Key::Close),
            (KeyPress::ch('c'), Key::Close),
            (KeyPress::new(KeyCode::Enter), Key::Close),
        ],
        label: "Esc, c",
        help: "in the chart: close it",
        hint: None,
    },
    Binding {
        keys: &[(KeyPress::ch('t'), Key::Range)],
        label: "t",
        help: "in the chart: the next time range (the Log's filter follows)",
        hint: None,
    },
];

/// One item's chart.
#[derive(Debug)]
pub struct ItemChart {
    meter: String,
    item: String,
    /// The time range in words.
    range: String,
    /// When the rows were asked for (answers to an earlier ask are dropped).
    asked_ms: i64,
    /// The rows, oldest first, once they came; or why not.
    rows: Option<Result<Vec<Row>, String>>,
}

impl ItemChart {
    /// Asks for `meter`'s `item` within [since, until) (either open); `range` says it in words.
    pub fn load(
        ctx: &Ctx,
        meter: String,
        item: String,
        range: String,
        window: (Option<i64>, Option<i64>),
    ) -> ItemChart {
        let asked_ms = Utc::now().timestamp_millis();
        let key = (meter.clone(), item.clone());
        let answer = ctx.answer(Tab::Log, move |rows| TaskResult::History {
            item: key,
            now_ms: asked_ms,
            rows,
        });
        ctx.queries.history_newest(
            meter.clone(),
            item.clone(),
            window.0,
            window.1,
            LIMIT,
            answer,
        );
        ItemChart {
            meter,
            item,
            range,
            asked_ms,
            rows: None,
        }
    }

    /// The (meter, item) charted.
    pub fn item(&self) -> (&str, &str) {
        (&self.meter, &self.item)
    }

    /// Takes the answer asked at `asked_ms` for `item`; others are dropped.
    pub fn apply(
        &mut self,
        item: &(String, String),
        asked_ms: i64,
        rows: Result<Vec<Row>, QueryError>,
    ) {
        if (item.0.as_str(), item.1.as_str()) == self.item() && asked_ms == self.asked_ms {
            self.rows = Some(rows.map_err(|e| e.to_string()));
        }
    }

    /// Draws the chart over `area`.
    pub fn render(&self, f: &mut Frame, area: Rect) {
        // Over the whole view: the table is behind it, Esc goes back to it.
        let popup = area;
        f.render_widget(Clear, popup);
        let esc = |s: &str| crate::text::escape(s).into_owned();
        let block = Block::default()
            .borders(Borders::ALL)
            .title(format!(
                " {} · {} · {} ",
                esc(&self.meter),
                esc(&self.item),
                self.range
            ))
            .title_bottom(" t time range · Esc close ");
        let inner = block.inner(popup);
        f.render_widget(block, popup);
        let note = |f: &mut Frame, text: String, style: Style| {
            f.render_widget(
                Paragraph::new(text).style(style).wrap(Wrap { trim: true }),
                inner,
            );
        };
        let rows = match &self.rows {
            None => return note(f, "reading the item's rows…".into(), Style::default()),
            Some(Err(e)) => return note(f, e.clone(), Style::default().fg(Color::Red)),
            Some(Ok(rows)) => rows,
        };
        let numeric: Vec<&Row> = rows
            .iter()
            .filter(|r| !r.record.is_failure() && r.record.value.is_some())
            .collect();
        let failed: Vec<&Row> = rows.iter().filter(|r| r.record.is_failure()).collect();
        if numeric.is_empty() {
            let item = esc(&self.item);
            let text = if rows.is_empty() {
                format!("No rows of {item} in {}: nothing to chart.", self.range)
            } else if let Some(text) = rows.iter().rev().find_map(|r| r.record.text.as_deref()) {
                format!(
                    "{item} has no numeric values in {}: its values are text (the last: {}), \
                     so there is nothing to chart. Enter on a row shows it in full.",
                    self.range,
                    esc(text)
                )
            } else {
                let last = failed
                    .last()
                    .map(|r| esc(&r.record.status))
                    .unwrap_or_default();
                format!(
                    "Every one of the {} rows of {item} in {} failed, so there is nothing to \
                     chart (the last: {last}); f/F in the Log goes from failure to failure.",
                    rows.len(),
                    self.range
                )
            };
            return note(f, text, Style::default());
        }
        let [chart_area, summary] =
            Layout::vertical([Constraint::Min(3), Constraint::Length(2)]).areas(inner);
        render_chart(f, chart_area, &numeric, &failed);
        let mut text = summary_text(&numeric, failed.len());
        if rows.len() == LIMIT {
            text.push_str(&format!(" · the newest {LIMIT} rows of the range"));
        }
        f.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }), summary);
    }
}

/// `n values · min … · max … · last … at …`, the values exactly as logged.
fn summary_text(numeric: &[&Row], failures: usize) -> String {
    let value = |r: &Row| r.record.value_with_unit().unwrap_or_default();
    let by = |a: &&&Row, b: &&&Row| {
        let (x, y) = (a.record.value.unwrap_or(0.0), b.record.value.unwrap_or(0.0));
        x.total_cmp(&y)
    };
    let (Some(min), Some(max), Some(last)) = (
        numeric.iter().min_by(by),
        numeric.iter().max_by(by),
        numeric.last(),
    ) else {
        return String::new();
    };
    let mut text = format!(
        "{} values · min {} · max {} · last {} at {}",
        numeric.len(),
        value(min),
        value(max),
        value(last),
        local(last.record.ts_ms, "%Y-%m-%d %H:%M:%S")
    );
    if failures > 0 {
        text.push_str(&format!(" · {failures} failed (red dots)"));
    }
    text
}

fn local(ms: i64, format: &str) -> String {
    DateTime::from_timestamp_millis(ms)
        .map(|t| t.with_timezone(&Local).format(format).to_string())
        .unwrap_or_else(|| ms.to_string())
}

/// A number short enough for an axis label: up to six decimals, trailing zeros dropped.
fn short(v: f64) -> String {
    let s = format!("{v:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn render_chart(f: &mut Frame, area: Rect, numeric: &[&Row], failed: &[&Row]) {
    let first = numeric
        .iter()
        .chain(failed)
        .map(|r| r.record.ts_ms)
        .min()
        .unwrap_or(0);
    let last = numeric
        .iter()
        .chain(failed)
        .map(|r| r.record.ts_ms)
        .max()
        .unwrap_or(0);
    // One instant still gets a minute of axis.
    let span_ms = if last > first { last - first } else { 60_000 };
    let x = |ts: i64| (ts - first) as f64 / 1000.0;
    let points: Vec<(f64, f64)> = numeric
        .iter()
        .filter_map(|r| Some((x(r.record.ts_ms), r.record.value?)))
        .collect();
    let (lo, hi) = points
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), (_, y)| {
            (lo.min(*y), hi.max(*y))
        });
    // A flat line sits in the middle of a band 2 % of its value wide (or 2 wide at 0).
    let pad = if hi - lo > hi.abs() * 1e-9 {
        (hi - lo) * 0.1
    } else {
        (hi.abs() * 0.01).max(1.0)
    };
    let (floor, top) = (lo - pad, hi + pad);
    let fails: Vec<(f64, f64)> = failed.iter().map(|r| (x(r.record.ts_ms), floor)).collect();
    let format = if span_ms > 86_400_000 {
        "%m-%d %H:%M"
    } else if span_ms > 600_000 {
        "%H:%M"
    } else {
        "%H:%M:%S"
    };
    let labels =
        [first, first + span_ms / 2, first + span_ms].map(|t| Line::from(local(t, format)));
    let unit = numeric
        .last()
        .and_then(|r| r.record.unit.clone())
        .unwrap_or_else(|| "value".into());
    let mut datasets = vec![Dataset::default()
        .marker(Marker::Braille)
        .graph_type(if points.len() > 1 {
            GraphType::Line
        } else {
            GraphType::Scatter
        })
        .style(Style::default().fg(Color::Cyan))
        .data(&points)];
    if !fails.is_empty() {
        datasets.push(
            Dataset::default()
                .marker(Marker::Dot)
                .graph_type(GraphType::Scatter)
                .style(Style::default().fg(Color::Red))
                .data(&fails),
        );
    }
    let chart = Chart::new(datasets)
        .x_axis(
            Axis::default()
                .title("local time")
                .bounds([0.0, span_ms as f64 / 1000.0])
                .labels(labels),
        )
        .y_axis(
            Axis::default()
                .title(crate::text::escape(&unit).into_owned())
                .bounds([floor, top])
                .labels([
                    Line::from(short(floor)),
                    Line::from(short((floor + top) / 2.0)),
                    Line::from(short(top)),
                ]),
        );
    f.render_widget(chart, area);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_key_is_bound_twice() {
        use crate::tui::keymap;
        assert_eq!(keymap::bound_twice(&keymap::keys(KEYS)), []);
    }

    #[test]
    fn axis_numbers_are_short() {
        assert_eq!(short(230.100000001), "230.1");
        assert_eq!(short(12.0), "12");
        assert_eq!(short(-0.5), "-0.5");
    }
}
