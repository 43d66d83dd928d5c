//! The Monitor view: the latest value of every item, per-meter health, and a chart of the
//! selected item's recent history.
//!
//! ```text
//! ┌ Items ───────────────────────────────────────────────────────────────┐
//! │ meter  request  item        value         age   status              │
//! ├ Meters ──────────────────────────┬ voltage L1 (last hour) ──────────┤
//! │ meter  last ok  rtt  next  error │   chart                           │
//! └──────────────────────────────────┴───────────────────────────────────┘
//! ```

mod keys;

use crate::schedule::Schedule;
use crate::store::QueryError;
use crate::store::Row;
use crate::tui::app::{Ctx, Tab, TaskResult, View};
use crate::tui::columns::{elide_end, elide_middle, Column, Fitted, Give};
use crate::tui::keymap::{self, Help};
use chrono::{Local, TimeZone, Utc};
use keys::{Action, KEYS};
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::symbols::Marker;
use ratatui::text::Line;
use ratatui::widgets::{
    Axis, Block, Borders, Cell, Chart, Dataset, GraphType, Paragraph, Row as TableRow, Table,
    TableState,
};
use ratatui::Frame;
use std::time::Duration;

/// History shown in the chart.
const CHART_SPAN_MS: i64 = 3_600_000;

/// The Monitor view.
#[derive(Default)]
pub struct MonitorView {
    rows: Vec<Row>,
    table: TableState,
    history: Vec<(f64, f64)>,
    /// The (meter, item) the chart shows.
    history_of: Option<(String, String)>,
    error: Option<String>,
    /// A query of the latest values is under way (ticks do not pile up more).
    loading: bool,
    /// First row shown: only the visible rows are built each frame (10,000 items stay fast).
    offset: usize,
    /// The item opened in full (Enter).
    detail: Option<super::detail::RowDetail>,
}

/// `3s`, `2m05s`, `1h02m`, `3d04h`.
pub fn age(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m{:02}s", s / 60, s % 60),
        3600..=86_399 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{:02}h", s / 86_400, s % 86_400 / 3600),
    }
}

impl MonitorView {
    fn selected(&self) -> Option<&Row> {
        self.table.selected().and_then(|i| self.rows.get(i))
    }

    /// A value is stale when it is older than two periods of its request (plus slack).
    fn is_stale(config: &crate::queue::Config, row: &Row, age_ms: i64) -> bool {
        let Some(req) = config
            .requests
            .iter()
            .find(|r| r.name == row.record.request)
        else {
            return false;
        };
        match &req.schedule {
            Schedule::Every(p) if !row.record.profile => {
                age_ms > (2 * p.as_millis() as i64).max(30_000)
            }
            Schedule::Every(_) | Schedule::Cron(_) | Schedule::At(_) => age_ms > 86_400_000,
            _ => false,
        }
    }

    /// Asks for the selected item's last hour; the chart keeps what it shows until the answer.
    fn load_history(&mut self, ctx: &Ctx) {
        let Some(row) = self.selected() else {
            self.history.clear();
            self.history_of = None;
            return;
        };
        let item = (row.record.meter.clone(), row.record.item.clone());
        if self.history_of.as_ref() != Some(&item) {
            self.history.clear();
            self.history_of = Some(item.clone());
        }
        let now_ms = Utc::now().timestamp_millis();
        let (meter, name) = item.clone();
        let answer = ctx.answer(Tab::Monitor, move |rows| TaskResult::History {
            item,
            now_ms,
            rows,
        });
        ctx.queries.history(
            meter,
            name,
            now_ms - CHART_SPAN_MS,
            now_ms + 1,
            2000,
            answer,
        );
    }

    fn on_history(&mut self, item: (String, String), now: i64, rows: Result<Vec<Row>, QueryError>) {
        if self.history_of.as_ref() != Some(&item) {
            return;
        }
        match rows {
            Ok(rows) => {
                self.history = rows
                    .iter()
                    .filter(|r| !r.record.is_failure())
                    .filter_map(|r| {
                        Some(((r.record.ts_ms - now) as f64 / 60_000.0, r.record.value?))
                    })
                    .collect();
            }
            Err(e) => self.error = Some(e.to_string()),
        }
    }

    /// Takes the latest values: sorted, the selection kept on its item.
    fn on_latest(&mut self, mut rows: Vec<Row>, ctx: &Ctx) {
        self.error = None;
        let key = self.selected().map(|r| {
            (
                r.record.meter.clone(),
                r.record.request.clone(),
                r.record.item.clone(),
            )
        });
        // Stable order: meter, then request (queue order), then item.
        let config = ctx.config();
        let order = |name: &str| {
            config
                .requests
                .iter()
                .position(|r| r.name == name)
                .unwrap_or(usize::MAX)
        };
        rows.sort_by(|a, b| {
            (&a.record.meter, order(&a.record.request), &a.record.item).cmp(&(
                &b.record.meter,
                order(&b.record.request),
                &b.record.item,
            ))
        });
        self.rows = rows;
        let idx = key
            .and_then(|k| {
                self.rows.iter().position(|r| {
                    (
                        r.record.meter.clone(),
                        r.record.request.clone(),
                        r.record.item.clone(),
                    ) == k
                })
            })
            .or((!self.rows.is_empty()).then_some(0));
        self.table.select(idx);
        self.load_history(ctx);
    }

    fn render_items(&mut self, f: &mut Frame, area: Rect, ctx: &Ctx) {
        let now = Utc::now().timestamp_millis();
        let config = ctx.config();
        // Borders and header take three lines; keep the selection inside the window.
        let height = (area.height as usize).saturating_sub(3).max(1);
        let sel = self.table.selected().unwrap_or(0);
        if sel < self.offset {
            self.offset = sel;
        } else if sel >= self.offset + height {
            self.offset = sel + 1 - height;
        }
        self.offset = self.offset.min(self.rows.len().saturating_sub(1));
        let cells: Vec<([String; 6], Style)> = self.rows[self.offset..]
            .iter()
            .take(height)
            .map(|r| {
                let rd = &r.record;
                let age_ms = (now - rd.ts_ms).max(0);
                let value = match (rd.value_with_unit(), &rd.text) {
                    (Some(v), _) => v,
                    // A meter's string may hold control characters or bidi overrides.
                    (None, Some(t)) => crate::text::escape(t).into_owned(),
                    (None, None) => String::new(),
                };
                // A value captured while the meter's clock warned says so where it is shown.
                let value = match rd.time_note() {
                    Some(note) => format!("{value} (time {note})"),
                    None => value,
                };
                let style = if rd.is_failure() {
                    Style::default().fg(Color::Red)
                } else if Self::is_stale(&config, r, age_ms) {
                    Style::default().fg(Color::Yellow)
                } else {
                    Style::default()
                };
                let esc = |s: &str| crate::text::escape(s).into_owned();
                (
                    [
                        esc(&rd.meter),
                        esc(&rd.request),
                        esc(&rd.item),
                        value,
                        age(Duration::from_millis(age_ms as u64)),
                        esc(&rd.status),
                    ],
                    style,
                )
            })
            .collect();
        let col = |i: usize| cells.iter().map(move |(c, _)| c[i].as_str());
        let columns = [
            Column::new("meter", col(0), 24, Give::Shrink { min: 6, rank: 2 }),
            Column::new("request", col(1), 24, Give::Shrink { min: 6, rank: 1 }),
            Column::new("item", col(2), 32, Give::Shrink { min: 10, rank: 3 }),
            // Never cut a value short: its end may be the clock status of a time.
            Column::new("value", col(3), 60, Give::Never),
            Column::new("age", col(4), 8, Give::Hide { rank: 4 }),
            Column::new("status", col(5), 200, Give::Shrink { min: 4, rank: 5 }),
        ];
        let fitted = Fitted::new(&columns, area.width);
        let (widths, shown) = (&fitted.widths, &fitted.shown);
        let header = fitted.header(&columns);
        let rows: Vec<TableRow> = cells
            .into_iter()
            .map(|(c, style)| {
                TableRow::new(shown.iter().map(|&i| {
                    Cell::from(match i {
                        0..=2 => elide_middle(&c[i], widths[i]),
                        5 => elide_end(&c[i], widths[i]),
                        _ => c[i].clone(),
                    })
                }))
                .style(style)
            })
            .collect();
        let constraints = fitted.constraints();
        let title = match &self.error {
            Some(e) => format!(" Items — {e} "),
            None => format!(" Items ({}) ", self.rows.len()),
        };
        let table = Table::new(rows, constraints)
            .header(header)
            .row_highlight_style(Style::default().add_modifier(Modifier::REVERSED))
            .block(Block::default().borders(Borders::ALL).title(title));
        let mut window = TableState::default()
            .with_selected(self.table.selected().map(|i| i.saturating_sub(self.offset)));
        f.render_stateful_widget(table, area, &mut window);
    }

    fn render_meters(&self, f: &mut Frame, area: Rect, ctx: &Ctx) {
        let st = ctx.runner.status();
        let config = ctx.config();
        let now = Utc::now();
        let cells: Vec<([String; 5], Style)> = config
            .meters
            .iter()
            .map(|m| {
                let ms = st.meters.get(&m.name).cloned().unwrap_or_default();
                let last_ok = ms
                    .last_success
                    .map(|t| age((now - t).to_std().unwrap_or_default()))
                    .unwrap_or_else(|| "never".into());
                let rtt = ms
                    .rtt
                    .map(|d| format!("{:.1} ms", d.as_secs_f64() * 1000.0))
                    .unwrap_or_default();
                // The soonest time-based fire among the requests that read this meter.
                let next = config
                    .requests
                    .iter()
                    .filter(|r| r.enabled && r.meters.contains(&m.name))
                    .filter_map(|r| st.requests.get(&r.name).and_then(|s| s.next_fire))
                    .min()
                    .map(|t| t.with_timezone(&Local).format("%H:%M:%S").to_string())
                    .unwrap_or_default();
                let (err, failing) = match &ms.last_error {
                    Some((t, e)) => (
                        format!("{} ago: {e}", age((now - *t).to_std().unwrap_or_default())),
                        ms.last_success.is_none_or(|s| s < *t),
                    ),
                    None => (String::new(), false),
                };
                let style = if !m.enabled {
                    Style::default().fg(Color::DarkGray)
                } else if failing {
                    Style::default().fg(Color::Red)
                } else {
                    Style::default()
                };
                ([m.name.clone(), last_ok, rtt, next, err], style)
            })
            .collect();
        let col = |i: usize| cells.iter().map(move |(c, _)| c[i].as_str());
        let columns = [
            Column::new("meter", col(0), 24, Give::Shrink { min: 6, rank: 3 }),
            Column::new("last ok", col(1), 8, Give::Shrink { min: 5, rank: 2 }),
            Column::new("rtt", col(2), 9, Give::Hide { rank: 0 }),
            Column::new("next", col(3), 8, Give::Hide { rank: 1 }),
            Column::new("last error", col(4), 300, Give::Shrink { min: 10, rank: 4 }),
        ];
        let fitted = Fitted::new(&columns, area.width);
        let (widths, shown) = (&fitted.widths, &fitted.shown);
        let header = fitted.header(&columns);
        let rows: Vec<TableRow> = cells
            .into_iter()
            .map(|(c, style)| {
                TableRow::new(shown.iter().map(|&i| match i {
                    0 => elide_middle(&c[i], widths[i]),
                    4 => elide_end(&c[i], widths[i]),
                    _ => c[i].clone(),
                }))
                .style(style)
            })
            .collect();
        let constraints = fitted.constraints();
        let table = Table::new(rows, constraints)
            .header(header)
            .block(Block::default().borders(Borders::ALL).title(" Meters "));
        f.render_widget(table, area);
    }

    fn render_chart(&self, f: &mut Frame, area: Rect) {
        let title = match self.selected() {
            Some(r) => format!(" {} {} — last hour ", r.record.meter, r.record.item),
            None => " history ".to_string(),
        };
        let block = Block::default().borders(Borders::ALL).title(title);
        if self.history.len() < 2 {
            let text = if self.selected().is_some() {
                "not enough numeric values yet"
            } else {
                "select an item"
            };
            f.render_widget(Paragraph::new(text).block(block), area);
            return;
        }
        let (lo, hi) = self
            .history
            .iter()
            .fold((f64::MAX, f64::MIN), |(lo, hi), (_, y)| {
                (lo.min(*y), hi.max(*y))
            });
        let pad = ((hi - lo) * 0.1).max(hi.abs() * 1e-6).max(1e-9);
        let x0 = self.history.first().map(|p| p.0).unwrap_or(-60.0);
        let data = Dataset::default()
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(Style::default().fg(Color::Cyan))
            .data(&self.history);
        let chart = Chart::new(vec![data])
            .block(block)
            .x_axis(Axis::default().bounds([x0, 0.0]).labels([
                Line::from(if x0 > -1.0 {
                    format!("{:.0} s", x0 * 60.0)
                } else {
                    format!("{x0:.0} min")
                }),
                Line::from("now"),
            ]))
            .y_axis(
                Axis::default().bounds([lo - pad, hi + pad]).labels([
                    Line::from(
                        format!("{lo:.6}")
                            .trim_end_matches('0')
                            .trim_end_matches('.')
                            .to_string(),
                    ),
                    Line::from(
                        format!("{hi:.6}")
                            .trim_end_matches('0')
                            .trim_end_matches('.')
                            .to_string(),
                    ),
                ]),
            );
        f.render_widget(chart, area);
    }
}

impl View for MonitorView {
    fn bindings(&self) -> Vec<Help> {
        keymap::help(KEYS)
            .chain(keymap::help(super::detail::KEYS))
            .collect()
    }

    fn handle_key(&mut self, key: KeyEvent, ctx: &mut Ctx) -> bool {
        if let Some(d) = &mut self.detail {
            if !d.handle_key(key) {
                self.detail = None;
            }
            return true;
        }
        let Some(action) = keymap::action(KEYS, &key) else {
            return false;
        };
        if action == Action::Detail {
            match self.selected() {
                Some(r) => {
                    self.detail = Some(super::detail::RowDetail::new(&r.record, ctx, (1, 1)));
                }
                None => ctx.error("no item to open"),
            }
            return true;
        }
        let n = self.rows.len();
        let sel = self.table.selected().unwrap_or(0);
        match action {
            Action::ReadNow => {
                match self.selected().map(|r| r.record.request.clone()) {
                    Some(req) if ctx.runner.run_now(&req) => {
                        ctx.info(format!("reading request {req} now"))
                    }
                    Some(req) => ctx.error(format!(
                        "request {req} is not running (disabled or removed)"
                    )),
                    None => ctx.error("select an item first"),
                }
                return true;
            }
            _ if n == 0 => return false,
            Action::Down => self.table.select(Some((sel + 1).min(n - 1))),
            Action::Up => self.table.select(Some(sel.saturating_sub(1))),
            Action::First => self.table.select(Some(0)),
            Action::Last => self.table.select(Some(n - 1)),
            Action::Detail => return true,
        }
        self.load_history(ctx);
        true
    }

    fn refresh(&mut self, ctx: &mut Ctx) {
        if !self.loading {
            self.loading = true;
            ctx.queries
                .latest_per_item(ctx.answer(Tab::Monitor, TaskResult::Latest));
        }
    }

    fn on_task(&mut self, result: TaskResult, ctx: &mut Ctx) {
        match result {
            TaskResult::Latest(rows) => {
                self.loading = false;
                match rows {
                    Ok(rows) => self.on_latest(rows, ctx),
                    Err(e) => self.error = Some(e.to_string()),
                }
            }
            TaskResult::History { item, now_ms, rows } => self.on_history(item, now_ms, rows),
            _ => {}
        }
    }

    fn render(&mut self, f: &mut Frame, area: Rect, ctx: &Ctx) {
        let [top, bottom] =
            Layout::vertical([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(area);
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(55), Constraint::Percentage(45)])
                .areas(bottom);
        self.render_items(f, top, ctx);
        self.render_meters(f, left, ctx);
        self.render_chart(f, right);
        if let Some(d) = &self.detail {
            d.render(f, area);
        }
    }

    fn captures_keys(&self) -> bool {
        self.detail.is_some()
    }
}

/// Local time of a UTC millisecond timestamp, for display.
pub fn local_time(ts_ms: i64) -> String {
    Local
        .timestamp_millis_opt(ts_ms)
        .single()
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|| ts_ms.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::Config;
    use crate::store::Record;
    use ratatui::crossterm::event::KeyCode;

    fn reading(item: &str, ts_ms: i64, value: Option<f64>, status: &str) -> Record {
        Record {
            ts_ms,
            request: "instant".into(),
            meter: "m1".into(),
            item: item.into(),
            obis: "1.0.32.7.0.255".into(),
            class: 3,
            attribute: 2,
            value,
            text: None,
            unit: value.map(|_| "V".into()),
            status: status.into(),
            poll: 1,
            profile: false,
            exact: None,
            meter_time: None,
        }
    }

    #[tokio::test]
    async fn shows_latest_values_health_and_history() {
        let now = Utc::now().timestamp_millis();
        let batch = {
            let mut batch: Vec<Record> = (0..30)
                .map(|i| {
                    reading(
                        "voltage",
                        now - 60_000 * (30 - i),
                        Some(229.0 + i as f64 / 10.0),
                        "ok",
                    )
                })
                .collect();
            batch.push(reading(
                "current",
                now - 1000,
                None,
                "the meter answered object undefined (4)",
            ));
            batch
        };
        let config = Config::parse(
            "[[connection]]\nname = \"c\"\ntcp = { host = \"127.0.0.1\", port = 9 }\n[[meter]]\nname = \"m1\"\nconnection = \"c\"\n[[request]]\nname = \"instant\"\nmeters = [\"m1\"]\nschedule = { event = \"never\" }\nitems = [{ name = \"voltage\", obis = \"1.0.32.7.0.255\" }]\n",
            "t.toml",
        )
        .unwrap();
        let mut h = crate::tui::views::testkit::harness(config, &batch);
        let mut v = MonitorView::default();
        h.refresh(&mut v);
        assert_eq!(v.rows.len(), 2);
        // Select "voltage" (rows are sorted by item within a request: current, voltage).
        h.keys(&mut v, &[KeyEvent::from(KeyCode::Down)]);
        assert_eq!(v.history.len(), 30);
        let screen = h.screen(&mut v, 110, 30).join("\n");
        assert!(screen.contains("231.9 V"), "{screen}");
        assert!(screen.contains("object undefined"));
        assert!(screen.contains("m1 voltage — last hour"));
        assert!(
            screen.contains("never"),
            "meter never read successfully by this runner"
        );
        assert!(v.handle_key(KeyEvent::from(KeyCode::Char('r')), &mut h.ctx));
        assert_eq!(
            h.ctx.message().map(|m| m.0),
            Some("reading request instant now")
        );
    }

    #[tokio::test]
    async fn shows_values_exactly_and_the_meters_time_with_its_status() {
        use crate::tui::views::testkit::{config, harness};
        let mut h = harness(
            config(1, &["m1"]),
            &crate::tui::views::log::tests::exact_rows(),
        );
        let mut v = MonitorView::default();
        h.refresh(&mut v);
        let screen = h.screen(&mut v, 200, 14).join("\n");
        for want in [
            "18446744073709551615",
            "9430.701 kWh",
            "12.5 kWh (time invalid)",
            "2026-11-21T12:07:30+01:00 (doubtful)",
        ] {
            assert!(screen.contains(want), "{want} in\n{screen}");
        }
    }

    #[tokio::test]
    async fn a_long_table_scrolls_with_the_selection() {
        use crate::tui::views::testkit::{config, harness, key, reading};
        let now = Utc::now().timestamp_millis();
        let rows: Vec<Record> = (0..300)
            .map(|i| reading("m1", &format!("item{i:03}"), now, i as f64))
            .collect();
        let mut h = harness(config(1, &["m1"]), &rows);
        let mut v = MonitorView::default();
        h.refresh(&mut v);
        assert_eq!(v.rows.len(), 300);
        let text = |h: &mut crate::tui::views::testkit::Harness, v: &mut MonitorView| {
            h.screen(v, 120, 40).join("\n")
        };
        let first = text(&mut h, &mut v);
        assert!(
            first.contains("item000") && !first.contains("item200"),
            "{first}"
        );
        h.keys(&mut v, &[key(KeyCode::End)]);
        let last = text(&mut h, &mut v);
        assert!(
            last.contains("item299") && !last.contains("item000"),
            "{last}"
        );
        h.keys(&mut v, &[key(KeyCode::Home)]);
        assert!(text(&mut h, &mut v).contains("item000"));
        // Down past the window moves it one row at a time.
        h.keys(&mut v, &vec![key(KeyCode::Down); 40]);
        let moved = text(&mut h, &mut v);
        assert!(
            moved.contains("item040") && !moved.contains("item000"),
            "{moved}"
        );
    }

    #[test]
    fn ages_read_well() {
        assert_eq!(age(Duration::from_secs(5)), "5s");
        assert_eq!(age(Duration::from_secs(125)), "2m05s");
        assert_eq!(age(Duration::from_secs(3720)), "1h02m");
        assert_eq!(age(Duration::from_secs(90_000)), "1d01h");
    }
}
