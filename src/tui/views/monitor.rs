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

use crate::schedule::Schedule;
use crate::store::Row;
use crate::tui::app::{Ctx, View};
use chrono::{Local, TimeZone, Utc};
use ratatui::crossterm::event::{KeyCode, KeyEvent};
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
    error: Option<String>,
    /// First row shown: only the visible rows are built each frame (10,000 items stay fast).
    offset: usize,
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
            .find(|r| r.name == row.reading.request)
        else {
            return false;
        };
        match &req.schedule {
            Schedule::Every(p) if !row.reading.profile => {
                age_ms > (2 * p.as_millis() as i64).max(30_000)
            }
            Schedule::Every(_) | Schedule::Cron(_) | Schedule::At(_) => age_ms > 86_400_000,
            _ => false,
        }
    }

    fn load_history(&mut self, ctx: &Ctx) {
        self.history.clear();
        let (Some(store), Some(row)) = (ctx.store.as_ref(), self.selected()) else {
            return;
        };
        let now = Utc::now().timestamp_millis();
        let (meter, item) = (row.reading.meter.clone(), row.reading.item.clone());
        match store.history(&meter, &item, now - CHART_SPAN_MS, now + 1, 2000) {
            Ok(rows) => {
                self.history = rows
                    .iter()
                    .filter(|r| !r.reading.is_failure())
                    .filter_map(|r| {
                        Some(((r.reading.ts_ms - now) as f64 / 60_000.0, r.reading.value?))
                    })
                    .collect();
            }
            Err(e) => self.error = Some(e.to_string()),
        }
    }

    fn render_items(&mut self, f: &mut Frame, area: Rect, ctx: &Ctx) {
        let now = Utc::now().timestamp_millis();
        let header = TableRow::new(["meter", "request", "item", "value", "age", "status"])
            .style(Style::default().add_modifier(Modifier::BOLD));
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
        let mut value_width = 0usize;
        let rows: Vec<TableRow> = self.rows[self.offset..]
            .iter()
            .take(height)
            .map(|r| {
                let rd = &r.reading;
                let age_ms = (now - rd.ts_ms).max(0);
                let value = match (rd.value_text(), &rd.text) {
                    (Some(v), _) => format!(
                        "{v}{}",
                        rd.unit
                            .as_deref()
                            .map(|u| format!(" {u}"))
                            .unwrap_or_default()
                    ),
                    // A meter's string may hold control characters or bidi overrides.
                    (None, Some(t)) => crate::text::escape(t).into_owned(),
                    (None, None) => String::new(),
                };
                // A value captured while the meter's clock warned says so where it is shown.
                let value = match rd.time_note() {
                    Some(note) => format!("{value} (time {note})"),
                    None => value,
                };
                value_width = value_width.max(value.chars().count());
                let style = if rd.is_failure() {
                    Style::default().fg(Color::Red)
                } else if Self::is_stale(&config, r, age_ms) {
                    Style::default().fg(Color::Yellow)
                } else {
                    Style::default()
                };
                let esc = |s: &str| crate::text::escape(s).into_owned();
                TableRow::new(vec![
                    Cell::from(esc(&rd.meter)),
                    Cell::from(esc(&rd.request)),
                    Cell::from(esc(&rd.item)),
                    Cell::from(value),
                    Cell::from(age(Duration::from_millis(age_ms as u64))),
                    Cell::from(esc(&rd.status)),
                ])
                .style(style)
            })
            .collect();
        let title = match &self.error {
            Some(e) => format!(" Items — {e} "),
            None if ctx.store.is_none() => " Items — the database cannot be read ".to_string(),
            None => format!(" Items ({}) ", self.rows.len()),
        };
        let table = Table::new(
            rows,
            [
                Constraint::Percentage(10),
                Constraint::Percentage(12),
                Constraint::Percentage(18),
                // Never cut a value short: its end may be the clock status of a time.
                Constraint::Length(
                    (value_width.min(60) as u16).max(area.width.saturating_sub(2) * 16 / 100),
                ),
                Constraint::Length(7),
                Constraint::Min(6),
            ],
        )
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
        let header = TableRow::new(["meter", "last ok", "rtt", "next", "last error"])
            .style(Style::default().add_modifier(Modifier::BOLD));
        let rows: Vec<TableRow> = config
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
                TableRow::new(vec![m.name.clone(), last_ok, rtt, next, err]).style(style)
            })
            .collect();
        let table = Table::new(
            rows,
            [
                Constraint::Percentage(20),
                Constraint::Length(8),
                Constraint::Length(8),
                Constraint::Length(9),
                Constraint::Min(10),
            ],
        )
        .header(header)
        .block(Block::default().borders(Borders::ALL).title(" Meters "));
        f.render_widget(table, area);
    }

    fn render_chart(&self, f: &mut Frame, area: Rect) {
        let title = match self.selected() {
            Some(r) => format!(" {} {} — last hour ", r.reading.meter, r.reading.item),
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
    fn keys(&self) -> Vec<(&'static str, &'static str)> {
        vec![
            ("↑/↓, j/k", "select an item (the chart follows)"),
            ("g / G", "first / last item"),
            ("r", "read the selected item's request now"),
        ]
    }

    fn handle_key(&mut self, key: KeyEvent, ctx: &mut Ctx) -> bool {
        let n = self.rows.len();
        let sel = self.table.selected().unwrap_or(0);
        match key.code {
            KeyCode::Down | KeyCode::Char('j') if n > 0 => {
                self.table.select(Some((sel + 1).min(n - 1)))
            }
            KeyCode::Up | KeyCode::Char('k') if n > 0 => {
                self.table.select(Some(sel.saturating_sub(1)))
            }
            KeyCode::Char('g') | KeyCode::Home if n > 0 => self.table.select(Some(0)),
            KeyCode::Char('G') | KeyCode::End if n > 0 => self.table.select(Some(n - 1)),
            KeyCode::Char('r') => {
                match self.selected().map(|r| r.reading.request.clone()) {
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
            _ => return false,
        }
        self.load_history(ctx);
        true
    }

    fn refresh(&mut self, ctx: &mut Ctx) {
        let Some(store) = ctx.store.as_ref() else {
            return;
        };
        match store.latest_per_item() {
            Ok(mut rows) => {
                self.error = None;
                let key = self.selected().map(|r| {
                    (
                        r.reading.meter.clone(),
                        r.reading.request.clone(),
                        r.reading.item.clone(),
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
                    (&a.reading.meter, order(&a.reading.request), &a.reading.item).cmp(&(
                        &b.reading.meter,
                        order(&b.reading.request),
                        &b.reading.item,
                    ))
                });
                self.rows = rows;
                let idx = key
                    .and_then(|k| {
                        self.rows.iter().position(|r| {
                            (
                                r.reading.meter.clone(),
                                r.reading.request.clone(),
                                r.reading.item.clone(),
                            ) == k
                        })
                    })
                    .or((!self.rows.is_empty()).then_some(0));
                self.table.select(idx);
            }
            Err(e) => self.error = Some(e.to_string()),
        }
        self.load_history(ctx);
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
    use crate::store::{Reading, Store};
    use ratatui::backend::TestBackend;
    use ratatui::Terminal;

    fn reading(item: &str, ts_ms: i64, value: Option<f64>, status: &str) -> Reading {
        Reading {
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
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("log.db");
        let now = Utc::now().timestamp_millis();
        {
            let mut s = Store::open(&db).unwrap();
            let mut batch: Vec<Reading> = (0..30)
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
            s.insert_batch(&batch).unwrap();
        }
        let config = Config::parse(
            "[[connection]]\nname = \"c\"\ntcp = { host = \"127.0.0.1\", port = 9 }\n[[meter]]\nname = \"m1\"\nconnection = \"c\"\n[[request]]\nname = \"instant\"\nmeters = [\"m1\"]\nschedule = { event = \"never\" }\nitems = [{ name = \"voltage\", obis = \"1.0.32.7.0.255\" }]\n",
            "t.toml",
        )
        .unwrap();
        let (writer, handle) = crate::store::Writer::spawn(&dir.path().join("w.db")).unwrap();
        let runner = crate::runner::Runner::start(config, handle, 1);
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        let mut ctx = Ctx::new(
            runner.handle(),
            Some(Store::open(&db).unwrap()),
            db.clone(),
            dir.path().join("q.toml"),
            tx,
        );
        let mut v = MonitorView::default();
        v.refresh(&mut ctx);
        assert_eq!(v.rows.len(), 2);
        // Select "voltage" (rows are sorted by item within a request: current, voltage).
        v.handle_key(KeyEvent::from(KeyCode::Down), &mut ctx);
        assert_eq!(v.history.len(), 30);
        let mut term = Terminal::new(TestBackend::new(110, 30)).unwrap();
        term.draw(|f| v.render(f, f.area(), &ctx)).unwrap();
        let screen = format!("{:?}", term.backend().buffer());
        assert!(screen.contains("231.9 V"), "{screen}");
        assert!(screen.contains("object undefined"));
        assert!(screen.contains("m1 voltage — last hour"));
        assert!(
            screen.contains("never"),
            "meter never read successfully by this runner"
        );
        assert!(v.handle_key(KeyEvent::from(KeyCode::Char('r')), &mut ctx));
        assert_eq!(
            ctx.message().map(|m| m.0),
            Some("reading request instant now")
        );
        runner.shutdown().await;
        writer.shutdown().unwrap();
    }

    #[tokio::test]
    async fn shows_values_exactly_and_the_meters_time_with_its_status() {
        use crate::tui::views::testkit::{config, harness};
        let mut h = harness(
            config(1, &["m1"]),
            &crate::tui::views::log::tests::exact_rows(),
        );
        let mut v = MonitorView::default();
        v.refresh(&mut h.ctx);
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
        let rows: Vec<Reading> = (0..300)
            .map(|i| reading("m1", &format!("item{i:03}"), now, i as f64))
            .collect();
        let mut h = harness(config(1, &["m1"]), &rows);
        let mut v = MonitorView::default();
        v.refresh(&mut h.ctx);
        assert_eq!(v.rows.len(), 300);
        let text = |h: &crate::tui::views::testkit::Harness, v: &mut MonitorView| {
            h.screen(v, 120, 40).join("\n")
        };
        let first = text(&h, &mut v);
        assert!(
            first.contains("item000") && !first.contains("item200"),
            "{first}"
        );
        h.keys(&mut v, &[key(KeyCode::End)]);
        let last = text(&h, &mut v);
        assert!(
            last.contains("item299") && !last.contains("item000"),
            "{last}"
        );
        h.keys(&mut v, &[key(KeyCode::Home)]);
        assert!(text(&h, &mut v).contains("item000"));
        // Down past the window moves it one row at a time.
        h.keys(&mut v, &vec![key(KeyCode::Down); 40]);
        let moved = text(&h, &mut v);
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
