//! The Log view: the logged rows, newest first, keyset-paged, filtered (meter, item, request,
//! status, the text of a failure, a time range stepped with `t` or typed), exported to CSV;
//! `f`/`F` jump from failure to failure and `c` charts the selected row's item (`chart.rs`).
//!
//! ```text
//! ┌ Log · page 2 · meter=m1 status=failed ───────────────────────────────────────┐
//! │ time                request meter item      OBIS            value    status  │
//! │ 2024-05-01 12:00:00 billing m1    energy    1.0.1.8.0.255   12.5 kWh ok      │
//! └ Enter row · w changes · / filter · f/F failure · t time · c chart ───────────┘
//! ```

mod changes;
mod chart;
mod export;
mod keys;
mod pager;
mod query;

use super::form::{InputField, InputForm, Outcome};
use crate::store::Row as LogRow;
use crate::tui::app::{Ctx, Tab, TaskResult, View};
use crate::tui::columns::{elide_end, elide_middle, Column, Fitted, Give};
use crate::tui::keymap::{self, Help};
use chrono::{DateTime, Local, Utc};
use keys::{Action, KEYS};
use pager::Pager;
use query::Query;
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, TableState, Wrap};
use ratatui::Frame;
use std::path::PathBuf;

/// The dialog that has the keyboard.
#[derive(Debug)]
enum Dialog {
    /// The filter bar over the table.
    Filter(InputForm),
    /// The export file name.
    Export(InputForm),
}

/// The Log view.
#[derive(Debug, Default)]
pub struct LogView {
    pager: Pager,
    query: Query,
    dialog: Option<Dialog>,
    /// Why the last page could not be read.
    problem: Option<String>,
    /// The number of the last page asked for; older answers are dropped.
    asked: u64,
    /// The changes made to meters, when shown instead of the readings (`w`).
    changes: Option<changes::Changes>,
    /// The row opened in full (Enter).
    detail: Option<super::detail::RowDetail>,
    /// The chart of an item (`c`).
    chart: Option<chart::ItemChart>,
    /// The number of the last failure search (`f`/`F`); older answers are dropped.
    asked_failure: u64,
}

impl LogView {
    /// Asks for the current page again; the rows arrive as [`TaskResult::LogPage`].
    fn reload(&mut self, ctx: &Ctx) {
        self.asked += 1;
        let seq = self.asked;
        let (after, limit) = self.pager.request();
        let answer = ctx.answer(Tab::Log, move |rows| TaskResult::LogPage { seq, rows });
        ctx.queries.log_page_with_error(
            self.query.filter(Utc::now()),
            self.query.error(),
            after,
            limit,
            answer,
        );
    }

    /// Asks for the failure nearest the selected row, older or newer; the answer comes as
    /// [`TaskResult::LogFailure`] and shows its page.
    fn find_failure(&mut self, older: bool, ctx: &mut Ctx) {
        let Some(row) = self.pager.page().get(self.pager.selected()) else {
            ctx.error("no rows to search from");
            return;
        };
        self.asked_failure += 1;
        let seq = self.asked_failure;
        let mut filter = self.query.filter(Utc::now());
        filter.status = Some(crate::store::StatusFilter::Failed);
        let answer = ctx.answer(Tab::Log, move |row: Result<Option<LogRow>, _>| {
            TaskResult::LogFailure {
                seq,
                older,
                row: row.map(|r| r.map(Box::new)),
            }
        });
        ctx.queries
            .log_neighbour(filter, self.query.error(), row.cursor(), older, answer);
    }

    /// Opens the chart of the selected row's item over the filter's time range.
    fn open_chart(&mut self, ctx: &mut Ctx) {
        let Some(row) = self.pager.page().get(self.pager.selected()) else {
            ctx.error("no row selected: the chart is of the selected row's item");
            return;
        };
        let (meter, item) = (row.record.meter.clone(), row.record.item.clone());
        self.chart = Some(self.chart_of(ctx, meter, item));
    }

    fn chart_of(&self, ctx: &Ctx, meter: String, item: String) -> chart::ItemChart {
        let filter = self.query.filter(Utc::now());
        chart::ItemChart::load(
            ctx,
            meter,
            item,
            self.query.range_text(),
            (filter.since_ms, filter.until_ms),
        )
    }

    /// Steps the time range; the chart, when open, follows it.
    fn next_range(&mut self, ctx: &mut Ctx) {
        let range = self.query.next_range();
        ctx.info(format!("showing {range}"));
        self.pager.home();
        self.reload(ctx);
        if let Some(c) = &self.chart {
            let (meter, item) = c.item();
            let (meter, item) = (meter.to_string(), item.to_string());
            self.chart = Some(self.chart_of(ctx, meter, item));
        }
    }

    /// Keys while the chart is open: `t` steps the range, Esc (or `c`) closes it.
    fn handle_chart(&mut self, key: KeyEvent, ctx: &mut Ctx) {
        match keymap::action(chart::KEYS, &key) {
            Some(chart::Key::Close) => self.chart = None,
            Some(chart::Key::Range) => self.next_range(ctx),
            None => {}
        }
    }

    fn handle_dialog(&mut self, key: KeyEvent, ctx: &mut Ctx) {
        let Some(dialog) = &mut self.dialog else {
            return;
        };
        let (Dialog::Filter(form) | Dialog::Export(form)) = dialog;
        match form.handle_key(key) {
            Outcome::Editing => {}
            Outcome::Cancel => self.dialog = None,
            Outcome::Submit => match dialog {
                Dialog::Filter(form) => match Query::from_form(form, Utc::now()) {
                    Ok(query) => {
                        self.query = query;
                        self.dialog = None;
                        self.pager.home();
                        self.reload(ctx);
                    }
                    Err(e) => form.set_error(e.to_string()),
                },
                Dialog::Export(form) => {
                    let file = form.value("file");
                    if file.is_empty() {
                        form.set_error("type a file name");
                        return;
                    }
                    ctx.info(match self.query.error() {
                        None => format!("exporting to {file}…"),
                        Some(_) => format!(
                            "exporting to {file}… (every row of the other filters: the error \
                             text filter is not applied to exports)"
                        ),
                    });
                    export::start(ctx, self.query.filter(Utc::now()), PathBuf::from(file));
                    self.dialog = None;
                }
            },
        }
    }

    fn render_table(&mut self, f: &mut Frame, area: Rect, ctx: &Ctx) {
        let mut title = format!(" Log · page {} ", self.pager.number());
        let summary = self.query.summary();
        // A filter too long for the title gets lines of its own above the table, whole.
        let mut area = area;
        if !self.query.is_empty() {
            let whole = format!("{title}· {summary} ");
            if whole.chars().count() + 2 <= usize::from(area.width) {
                title = whole;
            } else {
                title.push_str("· filtered ");
                let text = format!("filter: {summary}");
                let lines = wrapped_lines(&text, area.width).min(area.height / 3);
                let [bar, rest] =
                    Layout::vertical([Constraint::Length(lines), Constraint::Min(0)]).areas(area);
                f.render_widget(
                    Paragraph::new(text)
                        .style(Style::default().fg(Color::Yellow))
                        .wrap(Wrap { trim: true }),
                    bar,
                );
                area = rest;
            }
        }
        let hints = format!(" {} ", keymap::footer(KEYS, " · "));
        let block = Block::default()
            .borders(Borders::ALL)
            .title(title)
            .title_bottom(ratatui::text::Line::styled(
                hints,
                Style::default().fg(Color::DarkGray),
            ));
        let note = |f: &mut Frame, text: String, style: Style| {
            let text = Paragraph::new(text).style(style).wrap(Wrap { trim: true });
            f.render_widget(text.block(block.clone()), area);
        };
        let red = Style::default().fg(Color::Red);
        // Borders and header take three lines; the rest is one page. A new page size asks
        // for the page again; this draw shows the rows already here.
        if self
            .pager
            .resize(usize::from(area.height.saturating_sub(3)))
        {
            self.reload(ctx);
        }
        if let Some(problem) = &self.problem {
            return note(f, problem.clone(), red);
        }
        if self.pager.page().is_empty() {
            let text = if self.query.is_empty() {
                "No rows logged yet."
            } else {
                "No rows match the filter (Esc clears it)."
            };
            return note(f, text.to_string(), Style::default());
        }
        let cells: Vec<(Vec<String>, bool)> = self.pager.page().iter().map(table_cells).collect();
        let col = |i: usize| cells.iter().map(move |(c, _)| c[i].as_str());
        let columns = [
            Column::new("time", col(0), 48, Give::Shrink { min: 8, rank: 6 }),
            Column::new("request", col(1), 24, Give::Shrink { min: 6, rank: 1 }),
            Column::new("meter", col(2), 24, Give::Shrink { min: 6, rank: 2 }),
            Column::new("item", col(3), 32, Give::Shrink { min: 10, rank: 3 }),
            Column::new("OBIS", col(4), 15, Give::Hide { rank: 4 }),
            // Never cut a value short: its end may be the clock status of a time.
            Column::new("value", col(5), 60, Give::Never),
            Column::new("status", col(6), 200, Give::Shrink { min: 4, rank: 5 }),
        ];
        let fitted = Fitted::new(&columns, area.width);
        let (widths, shown) = (&fitted.widths, &fitted.shown);
        let header = fitted.header(&columns);
        let red = Style::default().fg(Color::Red);
        let rows = cells.into_iter().map(|(c, failed)| {
            Row::new(shown.iter().map(|&i| {
                let w = widths[i];
                let text = match i {
                    // A narrow time drops the year, then the date, rather than the seconds.
                    0 if w < 19 && c[0].len() == 19 && w >= 14 => c[0][5..].to_string(),
                    0 if w < 14 && c[0].len() == 19 => c[0][11..].to_string(),
                    1..=3 => elide_middle(&c[i], w),
                    6 => elide_end(&c[i], w),
                    _ => c[i].clone(),
                };
                match (i, failed) {
                    (6, true) => Cell::new(text).style(red),
                    _ => Cell::new(text),
                }
            }))
        });
        let constraints = fitted.constraints();
        let table = Table::new(rows, constraints)
            .header(header)
            .block(block)
            .row_highlight_style(Style::default().add_modifier(Modifier::REVERSED));
        let mut state = TableState::default().with_selected(Some(self.pager.selected()));
        f.render_stateful_widget(table, area, &mut state);
    }
}

/// A row's cells (time, request, meter, item, OBIS, value, status) and whether it failed.
fn table_cells(row: &LogRow) -> (Vec<String>, bool) {
    let r = &row.record;
    // A time the meter stated with a warning status is shown as it stated it, status included.
    let time = match &r.meter_time {
        Some(t) => t.clone(),
        None => DateTime::from_timestamp_millis(r.ts_ms)
            .map(|t| {
                t.with_timezone(&Local)
                    .format("%Y-%m-%d %H:%M:%S")
                    .to_string()
            })
            .unwrap_or_else(|| r.ts_ms.to_string()),
    };
    let value = match (r.value_text(), &r.text) {
        (Some(v), _) => format!("{v} {}", r.unit.as_deref().unwrap_or_default())
            .trim_end()
            .to_string(),
        // A meter's string may hold control characters or bidi overrides.
        (None, Some(text)) => escape(text),
        (None, None) => String::new(),
    };
    (
        vec![
            time,
            escape(&r.request),
            escape(&r.meter),
            escape(&r.item),
            r.obis.clone(),
            value,
            escape(&r.status),
        ],
        r.is_failure(),
    )
}

impl View for LogView {
    fn bindings(&self) -> Vec<Help> {
        keymap::help(KEYS)
            .chain(keymap::help(chart::KEYS))
            .chain(keymap::help(super::detail::KEYS))
            .chain(keymap::help(InputForm::KEYS))
            .collect()
    }

    fn handle_key(&mut self, key: KeyEvent, ctx: &mut Ctx) -> bool {
        if let Some(d) = &mut self.detail {
            if !d.handle_key(key) {
                self.detail = None;
            }
            return true;
        }
        if self.chart.is_some() {
            self.handle_chart(key, ctx);
            return true;
        }
        if self.dialog.is_some() {
            self.handle_dialog(key, ctx);
            return true;
        }
        let Some(action) = keymap::action(KEYS, &key) else {
            return false;
        };
        if action == Action::Detail && self.changes.is_none() {
            let page = self.pager.page();
            match page.get(self.pager.selected()) {
                Some(row) => {
                    let r = &row.record;
                    let same: Vec<_> = page
                        .iter()
                        .filter(|o| o.record.meter == r.meter && o.record.item == r.item)
                        .collect();
                    let alike = same.iter().filter(|o| o.record.status == r.status).count();
                    self.detail = Some(super::detail::RowDetail::new(r, ctx, (alike, same.len())));
                }
                None => ctx.error("no row to open"),
            }
            return true;
        }
        if self.changes.is_some()
            && matches!(
                action,
                Action::NextFailure
                    | Action::PreviousFailure
                    | Action::FailureKind
                    | Action::TimeRange
                    | Action::Chart
            )
        {
            ctx.error("that key works on the readings; w goes back to them");
            return true;
        }
        if action == Action::Changes {
            self.changes = match self.changes.take() {
                Some(_) => None,
                None => {
                    let list = changes::Changes::default();
                    list.reload(ctx);
                    Some(list)
                }
            };
            if self.changes.is_none() {
                self.reload(ctx);
            }
            return true;
        }
        let reload = match action {
            Action::Down => self.pager.down(),
            Action::Up => self.pager.up(),
            Action::OlderPage => self.pager.next_page(),
            Action::NewerPage => self.pager.prev_page(),
            Action::Newest => {
                self.pager.home();
                true
            }
            Action::ClearFilter if self.query.is_empty() => return false,
            Action::ClearFilter => {
                self.query = Query::default();
                self.pager.home();
                true
            }
            Action::Filter => {
                self.dialog = Some(Dialog::Filter(self.query.form()));
                false
            }
            Action::Changes | Action::Detail => false,
            Action::NextFailure | Action::PreviousFailure => {
                self.find_failure(action == Action::NextFailure, ctx);
                false
            }
            Action::FailureKind => match self.pager.page().get(self.pager.selected()) {
                Some(row) if row.record.is_failure() => {
                    let kind = failure_kind(&row.record.status);
                    ctx.info(format!("showing the failures that say \"{kind}\""));
                    self.query.set_failure_kind(kind);
                    self.pager.home();
                    true
                }
                Some(_) => {
                    ctx.error("the selected row did not fail: E filters by a failure's kind");
                    false
                }
                None => false,
            },
            Action::TimeRange => {
                self.next_range(ctx);
                false
            }
            Action::Chart => {
                self.open_chart(ctx);
                false
            }
            Action::Export => {
                let file = export::default_file(Local::now());
                let form = InputForm::new(
                    "export the filtered rows to CSV",
                    vec![InputField::text("file", &file)],
                );
                self.dialog = Some(Dialog::Export(form));
                false
            }
        };
        if reload {
            self.reload(ctx);
        }
        true
    }

    fn refresh(&mut self, ctx: &mut Ctx) {
        match &self.changes {
            Some(list) => list.reload(ctx),
            None => self.reload(ctx),
        }
    }

    fn on_task(&mut self, result: TaskResult, ctx: &mut Ctx) {
        match result {
            TaskResult::LogPage { seq, rows } if seq == self.asked => match rows {
                Ok(rows) => {
                    self.problem = None;
                    self.pager.apply(rows);
                }
                Err(e) => self.problem = Some(e.to_string()),
            },
            TaskResult::Writes(rows) => {
                if let Some(list) = &mut self.changes {
                    list.apply(rows.map_err(|e| e.to_string()));
                }
            }
            TaskResult::LogFailure { seq, older, row } if seq == self.asked_failure => match row {
                Ok(Some(row)) => {
                    if self.pager.jump_to(&row) {
                        self.reload(ctx);
                    }
                }
                Ok(None) => ctx.info(if older {
                    "no older failure"
                } else {
                    "no newer failure"
                }),
                Err(e) => ctx.error(e.to_string()),
            },
            TaskResult::History { item, now_ms, rows } => {
                if let Some(c) = &mut self.chart {
                    c.apply(&item, now_ms, rows);
                }
            }
            TaskResult::Export(file, Ok(rows)) => ctx.info(export::done(&file, rows)),
            TaskResult::Export(_, Err(e)) => ctx.error(format!("export failed: {e}")),
            _ => {}
        }
    }

    fn render(&mut self, f: &mut Frame, area: Rect, ctx: &Ctx) {
        let bar = match &self.dialog {
            Some(Dialog::Filter(form)) => form.height(),
            _ => 0,
        };
        let [bar_area, table] =
            Layout::vertical([Constraint::Length(bar), Constraint::Min(0)]).areas(area);
        if let Some(list) = &self.changes {
            list.render(f, table);
        } else {
            self.render_table(f, table, ctx);
        }
        match &self.dialog {
            Some(Dialog::Filter(form)) => form.render(f, bar_area),
            Some(Dialog::Export(form)) => form.render_popup(f, area),
            None => {}
        }
        if let Some(c) = &self.chart {
            c.render(f, area);
        }
        if let Some(d) = &self.detail {
            d.render(f, area);
        }
    }

    fn captures_keys(&self) -> bool {
        self.dialog.is_some() || self.detail.is_some() || self.chart.is_some()
    }
}

/// How many lines `text` takes wrapped at spaces to `width` columns (a word longer than a
/// line takes lines of its own).
fn wrapped_lines(text: &str, width: u16) -> u16 {
    let width = usize::from(width.max(1));
    let mut lines = 1;
    let mut used = 0;
    for word in text.split(' ') {
        let w = word.chars().count();
        let need = if used == 0 { w } else { used + 1 + w };
        if need <= width {
            used = need;
        } else {
            lines += 1 + (w.saturating_sub(1)) / width;
            used = if w == 0 { 0 } else { (w - 1) % width + 1 };
        }
    }
    u16::try_from(lines).unwrap_or(u16::MAX)
}

/// The kind of a failure: its error text up to the first number, quote or detail in
/// parentheses or after a colon (`timed out after`, `cannot connect to`), so failures that
/// differ only in numbers and addresses are one kind.
fn failure_kind(status: &str) -> String {
    let end = status
        .find(|c: char| c.is_ascii_digit() || matches!(c, ':' | '(' | '"' | '\''))
        .unwrap_or(status.len());
    let kind = status[..end].trim();
    if kind.is_empty() {
        status.trim().to_string()
    } else {
        kind.to_string()
    }
}

/// Text from a meter or a config, safe to draw (control characters and bidi overrides escaped).
fn escape(text: &str) -> String {
    crate::text::escape(text).into_owned()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::store::Record;
    use crate::tui::app::AppEvent;
    use crate::tui::views::testkit::{config, every_key, harness, key, reading, Harness};
    use ratatui::crossterm::event::KeyCode;

    /// Forty rows a second apart, alternating meters; every fifth one failed.
    fn rows() -> Vec<Record> {
        (0..40)
            .map(|i| {
                let meter = if i % 2 == 0 { "m1" } else { "m2" };
                let mut r = reading(
                    meter,
                    &format!("item{i}"),
                    1_700_000_000_000 + i * 1000,
                    i as f64,
                );
                if i % 5 == 0 {
                    r.status = "timeout".into();
                    r.value = None;
                }
                r
            })
            .collect()
    }

    fn setup() -> (Harness, LogView) {
        let mut h = harness(config(1, &["m1", "m2"]), &rows());
        let mut view = LogView::default();
        h.refresh(&mut view);
        (h, view)
    }

    /// The item column of the rows on screen, top to bottom.
    fn items(h: &mut Harness, view: &mut LogView) -> Vec<String> {
        h.screen(view, 120, 13)
            .iter()
            .filter_map(|l| {
                l.split_whitespace()
                    .find(|w| {
                        w.strip_prefix("item")
                            .is_some_and(|n| n.parse::<u32>().is_ok())
                    })
                    .map(String::from)
            })
            .collect()
    }

    #[tokio::test]
    async fn enter_shows_a_row_in_full_with_its_whole_error() {
        let error = "the meter did not answer within 5000 ms after 3 retries (HDLC I-frame \
                     N(S)=2 sent, no RR); the link was closed and opened again";
        let mut failed = reading("m1", "voltage", 1_700_000_000_000, 0.0);
        failed.value = None;
        failed.status = error.into();
        let mut h = harness(config(1, &["m1"]), &[failed]);
        let mut view = LogView::default();
        h.refresh(&mut view);
        let table = h.screen(&mut view, 80, 24).join("\n");
        assert!(
            !table.contains("opened again"),
            "the table cuts it: {table}"
        );
        h.keys(&mut view, &[key(KeyCode::Enter)]);
        assert!(view.captures_keys());
        let detail: String = h
            .screen(&mut view, 80, 24)
            .iter()
            .map(|l| l.trim_matches(|c| c == '│' || c == ' ').to_string())
            .collect::<Vec<_>>()
            .join(" ");
        for part in [
            "m1 · billing · voltage",
            "status: the meter did not answer",
            "opened again",
            "No frames exchanged",
        ] {
            assert!(detail.contains(part), "{part:?} in {detail}");
        }
        h.keys(&mut view, &[key(KeyCode::Esc)]);
        assert!(!view.captures_keys());
    }

    #[tokio::test]
    async fn strings_from_meters_are_drawn_escaped() {
        let mut r = reading("m1", "name", 1_700_000_000_000, 0.0);
        r.value = None;
        r.text = Some("DLG\u{1b}[2J\u{202e}gnp.exe".into());
        let mut h = harness(config(1, &["m1"]), &[r]);
        let mut view = LogView::default();
        h.refresh(&mut view);
        let screen = h.screen(&mut view, 120, 13).join("\n");
        assert!(screen.contains("DLG\\x1b[2J\\u{202e}gn"), "{screen}");
        assert!(!screen.contains('\u{202e}') && !screen.contains('\u{1b}'));
    }

    #[tokio::test]
    async fn shows_newest_first_and_pages_back_to_the_same_first_page() {
        let (mut h, mut view) = setup();
        // 13 lines: borders and header leave 10 rows per page.
        let first = items(&mut h, &mut view);
        assert_eq!(first[..3], ["item39", "item38", "item37"]);
        assert_eq!(first.len(), 10);
        let screen = h.screen(&mut view, 120, 13).join("\n");
        assert!(
            screen.contains("39 kWh") && screen.contains("timeout"),
            "{screen}"
        );

        h.keys(&mut view, &[key(KeyCode::PageDown), key(KeyCode::PageDown)]);
        assert_eq!(items(&mut h, &mut view)[0], "item19");
        assert!(h.screen(&mut view, 120, 13)[0].contains("page 3"));
        h.keys(&mut view, &[key(KeyCode::PageUp), key(KeyCode::PageUp)]);
        assert_eq!(items(&mut h, &mut view), first);
        h.keys(
            &mut view,
            &[key(KeyCode::PageDown), key(KeyCode::Char('g'))],
        );
        assert_eq!(items(&mut h, &mut view), first);
        // ↓ past the bottom row turns the page.
        for _ in 0..10 {
            h.keys(&mut view, &[key(KeyCode::Down)]);
        }
        assert_eq!((view.pager.number(), view.pager.selected()), (2, 0));
    }

    /// Exact values and meter times: what the meter said, never float noise or a plain time.
    pub(crate) fn exact_rows() -> Vec<Record> {
        let mut max = reading("m1", "counter", 1_700_000_000_000, 0.0);
        max.set_decimal(crate::dlms::unit::Decimal::from_int(u64::MAX as i128));
        max.unit = None;
        let mut kwh = reading("m1", "energy", 1_700_000_001_000, 0.0);
        kwh.set_decimal("9430.701".parse().unwrap());
        let mut load = reading("m1", "load", 1_700_000_002_000, 12.5);
        load.profile = true;
        load.meter_time = Some("2026-11-21T12:07:30+01:00 (invalid)".into());
        let mut clock = reading("m1", "clock", 1_700_000_003_000, 0.0);
        clock.value = None;
        clock.unit = None;
        clock.text = Some("2026-11-21T12:07:30+01:00 (doubtful)".into());
        vec![max, kwh, load, clock]
    }

    #[tokio::test]
    async fn shows_values_exactly_and_the_meters_time_with_its_status() {
        let mut h = harness(config(1, &["m1"]), &exact_rows());
        let mut view = LogView::default();
        h.refresh(&mut view);
        let screen = h.screen(&mut view, 160, 10).join("\n");
        for want in [
            "18446744073709551615",
            "9430.701 kWh",
            "2026-11-21T12:07:30+01:00 (invalid)",
            "2026-11-21T12:07:30+01:00 (doubtful)",
        ] {
            assert!(screen.contains(want), "{want} in\n{screen}");
        }
        assert!(
            !screen.contains("e19") && !screen.contains("9430.7010"),
            "{screen}"
        );
    }

    #[tokio::test]
    async fn filters_by_meter_and_status() {
        let (mut h, mut view) = setup();
        h.keys(&mut view, &[key(KeyCode::Char('/'))]);
        assert!(view.captures_keys());
        h.type_text(&mut view, "m2");
        // To the status field, cycle to "failed", apply.
        h.keys(
            &mut view,
            &[
                key(KeyCode::Tab),
                key(KeyCode::Tab),
                key(KeyCode::Left),
                key(KeyCode::Enter),
            ],
        );
        assert!(!view.captures_keys());
        // Odd rows are m2; of those, multiples of five failed: 35, 25, 15, 5.
        assert_eq!(
            items(&mut h, &mut view),
            ["item35", "item25", "item15", "item5"]
        );
        assert!(h.screen(&mut view, 120, 13)[0].contains("meter=m2 status=failed"));

        h.keys(
            &mut view,
            &[
                key(KeyCode::Char('/')),
                key(KeyCode::Tab),
                key(KeyCode::Tab),
                key(KeyCode::Tab),
            ],
        );
        h.type_text(&mut view, "soon");
        h.keys(&mut view, &[key(KeyCode::Enter)]);
        let screen = h.screen(&mut view, 120, 13).join("\n");
        assert!(screen.contains("since: \"soon\" is not a time"), "{screen}");
        h.keys(&mut view, &[key(KeyCode::Esc)]);
        assert_eq!(items(&mut h, &mut view).len(), 4, "cancel keeps the filter");
        h.keys(&mut view, &[key(KeyCode::Esc)]);
        assert_eq!(
            items(&mut h, &mut view)[0],
            "item39",
            "Esc clears the filter"
        );
    }

    /// The item of the selected row.
    fn selected_item(view: &LogView) -> String {
        view.pager.page()[view.pager.selected()].record.item.clone()
    }

    #[tokio::test]
    async fn f_and_shift_f_jump_from_failure_to_failure_across_pages() {
        let (mut h, mut view) = setup();
        // Ten rows a page: items 39..30 on the first.
        assert_eq!(items(&mut h, &mut view).len(), 10);
        let f = key(KeyCode::Char('f'));
        let shift_f = key(KeyCode::Char('F'));
        h.keys(&mut view, &[f]);
        assert_eq!(selected_item(&view), "item35");
        h.keys(&mut view, &[f]);
        assert_eq!(selected_item(&view), "item30");
        // The next is on an older page: that page is shown, starting at it.
        h.keys(&mut view, &[f]);
        h.screen(&mut view, 120, 13);
        assert_eq!(selected_item(&view), "item25");
        assert_eq!(items(&mut h, &mut view)[0], "item25");
        h.keys(&mut view, &[shift_f]);
        h.screen(&mut view, 120, 13);
        assert_eq!(selected_item(&view), "item30");
        h.keys(&mut view, &[shift_f, shift_f]);
        h.screen(&mut view, 120, 13);
        assert_eq!(selected_item(&view), "item35");
        assert_eq!(h.ctx.message(), Some(("no newer failure", false)));
        // PgUp goes back to where the jumps started from.
        h.keys(&mut view, &[key(KeyCode::PageUp)]);
        h.screen(&mut view, 120, 13);
        assert!(view.pager.number() >= 1);
        // The changes list has no failures to jump to.
        h.keys(&mut view, &[key(KeyCode::Char('w')), f]);
        let (message, is_error) = h.ctx.message().unwrap();
        assert!(is_error && message.contains("w goes back"), "{message}");
    }

    #[tokio::test]
    async fn shift_e_keeps_the_failures_of_the_selected_kind() {
        let mut rows = rows();
        for r in rows.iter_mut().filter(|r| r.is_failure()) {
            if r.ts_ms % 10_000 == 0 {
                r.status = "cannot connect to 127.0.0.1:4059: connection refused".into();
            } else {
                r.status = "timed out after 5000 ms".into();
            }
        }
        let mut h = harness(config(1, &["m1", "m2"]), &rows);
        let mut view = LogView::default();
        h.refresh(&mut view);
        h.screen(&mut view, 120, 13);
        // item35 timed out, item30 could not connect.
        h.keys(&mut view, &[key(KeyCode::Char('E'))]);
        assert!(h.ctx.message().unwrap().1, "the top row did not fail");
        h.keys(
            &mut view,
            &[key(KeyCode::Char('f')), key(KeyCode::Char('f'))],
        );
        assert_eq!(selected_item(&view), "item30");
        h.keys(&mut view, &[key(KeyCode::Char('E'))]);
        assert_eq!(
            items(&mut h, &mut view),
            ["item30", "item20", "item10", "item0"]
        );
        let title = h.screen(&mut view, 120, 13)[0].clone();
        assert!(
            title.contains("status=failed error=\"cannot connect to\""),
            "{title}"
        );
        assert_eq!(failure_kind("timed out after 5000 ms"), "timed out after");
        assert_eq!(failure_kind("42"), "42");
    }

    #[test]
    fn counts_wrapped_lines() {
        assert_eq!(wrapped_lines("filter: meter=m1", 80), 1);
        assert_eq!(wrapped_lines("aaaa bbbb cccc", 9), 2);
        assert_eq!(wrapped_lines("aaaa bbbb cccc", 4), 3);
        assert_eq!(wrapped_lines("x 0123456789", 4), 4);
    }

    #[tokio::test]
    async fn a_long_filter_is_shown_whole_above_the_table() {
        let (mut h, mut view) = setup();
        view.query = Query::from_form(
            &{
                let mut q = Query::default();
                q.set_failure_kind("a rather long kind of failure text that will not fit".into());
                q.form()
            },
            Utc::now(),
        )
        .unwrap();
        let screen = h.screen(&mut view, 80, 24);
        let all = screen.join("\n");
        assert!(screen[0].starts_with("filter: status=failed"), "{all}");
        assert!(screen[1].starts_with("fit\""), "the whole filter:\n{all}");
        assert!(screen[2].contains("Log · page 1 · filtered"), "{all}");
    }

    #[tokio::test]
    async fn t_steps_the_time_range() {
        let (mut h, mut view) = setup();
        let t = key(KeyCode::Char('t'));
        for want in ["since=15min", "since=1h", "since=1d", "since=1w"] {
            h.keys(&mut view, &[t]);
            let screen = h.screen(&mut view, 120, 13).join("\n");
            assert!(screen.contains(want), "{want} in {screen}");
            // The rows are from 2023.
            assert!(screen.contains("No rows match the filter"), "{screen}");
        }
        h.keys(&mut view, &[t]);
        assert_eq!(items(&mut h, &mut view).len(), 10, "every row again");
        assert_eq!(h.ctx.message(), Some(("showing every row", false)));
    }

    #[tokio::test]
    async fn c_charts_the_item_or_says_why_not() {
        let mut rows: Vec<Record> = (0..5)
            .map(|i| {
                let mut r = reading(
                    "m1",
                    "voltage",
                    1_700_000_000_000 + i * 60_000,
                    230.0 + i as f64,
                );
                r.unit = Some("V".into());
                r
            })
            .collect();
        let mut clock = reading("m1", "clock", 1_700_000_400_000, 0.0);
        clock.value = None;
        clock.text = Some("2023-11-14T22:20:00+00:00".into());
        rows.push(clock);
        let mut h = harness(config(1, &["m1"]), &rows);
        let mut view = LogView::default();
        h.refresh(&mut view);
        // The clock is on top: text, no chart.
        h.keys(&mut view, &[key(KeyCode::Char('c'))]);
        let screen = h.screen(&mut view, 80, 24).join("\n");
        assert!(screen.contains("its values are text"), "{screen}");
        h.keys(
            &mut view,
            &[
                key(KeyCode::Esc),
                key(KeyCode::Down),
                key(KeyCode::Char('c')),
            ],
        );
        let screen = h.screen(&mut view, 80, 24).join("\n");
        for want in [
            "m1 · voltage · every row",
            "5 values · min 230 V · max 234 V",
            "local time",
        ] {
            assert!(screen.contains(want), "{want} in\n{screen}");
        }
        assert!(view.captures_keys());
        h.keys(&mut view, &[key(KeyCode::Esc)]);
        assert!(!view.captures_keys());
    }

    #[tokio::test]
    async fn exports_the_filtered_rows_to_csv() {
        let (mut h, mut view) = setup();
        h.keys(&mut view, &[key(KeyCode::Char('/'))]);
        h.type_text(&mut view, "m1");
        h.keys(&mut view, &[key(KeyCode::Enter), key(KeyCode::Char('x'))]);
        assert!(h
            .screen(&mut view, 120, 13)
            .join("\n")
            .contains("dlms-logger-export-"));
        let file = h.dir.path().join("out.csv");
        h.keys(
            &mut view,
            &[KeyEvent::new(
                KeyCode::Char('u'),
                ratatui::crossterm::event::KeyModifiers::CONTROL,
            )],
        );
        h.type_text(&mut view, &file.display().to_string());
        h.keys(&mut view, &[key(KeyCode::Enter)]);
        let (tab, result) = h.task().await;
        assert_eq!(tab, crate::tui::app::Tab::Log);
        view.on_task(result, &mut h.ctx);
        assert_eq!(
            h.ctx.message(),
            Some((
                format!("exported 20 rows to {}", file.display()).as_str(),
                false
            ))
        );
        let csv = std::fs::read_to_string(&file).unwrap();
        assert_eq!(csv.lines().count(), 21);
        assert!(csv.lines().skip(1).all(|l| l.contains(",m1,")), "{csv}");

        // A second export to the same file is refused rather than overwriting it.
        h.keys(
            &mut view,
            &[
                key(KeyCode::Char('x')),
                KeyEvent::new(
                    KeyCode::Char('u'),
                    ratatui::crossterm::event::KeyModifiers::CONTROL,
                ),
            ],
        );
        h.type_text(&mut view, &file.display().to_string());
        h.keys(&mut view, &[key(KeyCode::Enter)]);
        let (_, result) = h.task().await;
        view.on_task(result, &mut h.ctx);
        let (message, is_error) = h.ctx.message().unwrap();
        assert!(is_error && message.contains("cannot create"), "{message}");
    }

    #[tokio::test]
    async fn without_a_store_says_so_and_no_key_panics_at_any_size() {
        let (mut h, mut view) = setup();
        for k in every_key() {
            h.keys(&mut view, &[k]);
            h.screen(&mut view, 20, 5);
            h.keys(&mut view, &[key(KeyCode::Esc), key(KeyCode::Esc)]);
            h.screen(&mut view, 80, 24);
        }
        for event in h.events() {
            assert!(
                !matches!(event, AppEvent::Task(..)),
                "no export was started"
            );
        }
        // A query service on a database that cannot be opened answers every page with why.
        h.ctx.queries = crate::store::spawn_reader(&h.dir.path().join("missing.db")).unwrap();
        h.refresh(&mut view);
        let screen = h.screen(&mut view, 80, 6).join("\n");
        assert!(screen.contains("could not be opened"), "{screen}");
    }
}
