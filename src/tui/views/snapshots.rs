//! Snapshots of every view at 80×24, 120×40 and 60×20 (`insta`, `TestBackend`), on a fixed
//! queue and log: a change in what an operator sees shows up in review. Ages and local times
//! are replaced by placeholders, so the snapshots do not depend on the day or the zone.
//! `cargo insta review` (or `INSTA_UPDATE=always cargo test`) accepts a deliberate change.

use super::log::LogView;
use super::monitor::MonitorView;
use super::objects::ObjectsView;
use super::queue::QueueView;
use super::testkit::{config, harness, key, reading, Harness};
use super::trace::TraceView;
use crate::store::Record;
use crate::tui::app::View;
use ratatui::crossterm::event::KeyCode;

const SIZES: [(u16, u16); 3] = [(80, 24), (120, 40), (60, 20)];

fn rows() -> Vec<Record> {
    let t = 1_700_000_000_000;
    let mut out = vec![
        reading("m1", "energy import", t, 12_345.678),
        reading("m1", "energy export", t + 1000, 321.5),
        reading("m1", "voltage L1", t + 2000, 230.1),
    ];
    out[2].unit = Some("V".into());
    let mut failed = reading("m1", "current L1", t + 3000, 0.0);
    failed.value = None;
    failed.status = "timed out after 5000 ms waiting for the meter's answer (3 tries)".into();
    out.push(failed);
    let mut clock = reading("m1", "clock", t + 4000, 0.0);
    clock.value = None;
    clock.text = Some("2023-11-14T22:13:24+00:00 (doubtful)".into());
    out.push(clock);
    out
}

/// The lines of `view` at every size, with ages and local times as placeholders.
fn shots(h: &mut Harness, view: &mut dyn View, name: &str) {
    shots_with(h, view, name, &[]);
}

/// The schedule preview's fire times (local, with their weekday, and wrapped between date
/// and time in a narrow form) as placeholders too.
fn preview_shots(h: &mut Harness, view: &mut dyn View, name: &str) {
    let more = [
        (
            r"\[local time\] (Mon|Tue|Wed|Thu|Fri|Sat|Sun)\b",
            "[local time]",
        ),
        (r"\b\d{4}-\d\d-\d\d\b", "[date]"),
        (
            r"\b\d\d:\d\d:\d\d( (Mon|Tue|Wed|Thu|Fri|Sat|Sun)\b)?",
            "[time]",
        ),
    ];
    shots_with(h, view, name, &more);
}

fn shots_with(h: &mut Harness, view: &mut dyn View, name: &str, more: &[(&str, &str)]) {
    for (w, height) in SIZES {
        let screen = h.screen(view, w, height).join("\n");
        let mut filters = vec![
            (r"\b\d+d\d\dh\b", "[age]"),
            (r"(\d{4}-)?\d\d-\d\d \d\d:\d\d:\d\d", "[local time]"),
        ];
        filters.extend_from_slice(more);
        insta::with_settings!({
            filters => filters,
            prepend_module_to_snapshot => false,
        }, {
            insta::assert_snapshot!(format!("{name}_{w}x{height}"), screen);
        });
    }
}

#[tokio::test]
async fn monitor() {
    let mut h = harness(config(1, &["m1"]), &rows());
    let mut view = MonitorView::default();
    h.refresh(&mut view);
    shots(&mut h, &mut view, "monitor");
}

#[tokio::test]
async fn log() {
    let mut h = harness(config(1, &["m1"]), &rows());
    let mut view = LogView::default();
    h.refresh(&mut view);
    shots(&mut h, &mut view, "log");
}

#[tokio::test]
async fn queue() {
    let mut h = harness(config(4059, &["m1", "a-meter-with-a-long-name"]), &[]);
    let mut view = QueueView::new(&h.ctx);
    shots(&mut h, &mut view, "queue");
}

/// The demo-like queue of the form snapshots: a request with one item.
fn queue_with_a_request() -> crate::queue::Config {
    let mut config = config(4059, &["m1"]);
    let text = "[[request]]\nname = \"energy\"\nmeters = [\"m1\"]\nschedule = { every = \"15min\" }\nitems = [{ name = \"import\", obis = \"1.0.1.8.0.255\" }]\n";
    let request =
        crate::queue::Config::parse(&format!("{}\n{text}", config.to_toml()), "test.toml")
            .unwrap_or_else(|e| panic!("{e}"));
    config.requests = request.requests;
    config
}

/// Keys that open row `row` of the tree, then field `field` of its form, for editing.
fn edit(row: usize, field: usize) -> Vec<ratatui::crossterm::event::KeyEvent> {
    let mut keys = vec![key(KeyCode::Home)];
    keys.extend(std::iter::repeat_n(key(KeyCode::Down), row));
    keys.push(key(KeyCode::Enter));
    keys.extend(std::iter::repeat_n(key(KeyCode::Down), field));
    keys.push(key(KeyCode::Enter));
    keys
}

#[tokio::test]
async fn queue_form_checks_an_obis_while_typing() {
    let mut h = harness(queue_with_a_request(), &[]);
    let mut view = QueueView::new(&h.ctx);
    // Rows: lab, m1, energy, import; the item's fields: name, OBIS.
    h.keys(&mut view, &edit(3, 1));
    h.keys(&mut view, &[key(KeyCode::End)]);
    for _ in 0..5 {
        h.keys(&mut view, &[key(KeyCode::Backspace)]);
    }
    h.type_text(&mut view, "x.0");
    shots(&mut h, &mut view, "queue_form_obis");
}

#[tokio::test]
async fn queue_form_previews_a_cron_while_typing() {
    let mut h = harness(queue_with_a_request(), &[]);
    let mut view = QueueView::new(&h.ctx);
    // The request's fields: name, enabled, meters, schedule.
    h.keys(&mut view, &edit(2, 3));
    let ctrl_u = ratatui::crossterm::event::KeyEvent::new(
        KeyCode::Char('u'),
        ratatui::crossterm::event::KeyModifiers::CONTROL,
    );
    h.keys(&mut view, &[ctrl_u]);
    h.type_text(&mut view, "0 6 * * mon-fri");
    preview_shots(&mut h, &mut view, "queue_form_cron");
}

#[tokio::test]
async fn queue_form_checks_an_address_while_typing() {
    let mut h = harness(queue_with_a_request(), &[]);
    let mut view = QueueView::new(&h.ctx);
    // The meter's fields: name, connection, interface (← makes it HDLC), client.
    let mut keys = edit(1, 2);
    keys.pop();
    keys.push(key(KeyCode::Right));
    keys.push(key(KeyCode::Down));
    keys.push(key(KeyCode::Enter));
    h.keys(&mut view, &keys);
    h.type_text(&mut view, "0");
    shots(&mut h, &mut view, "queue_form_address");
}

#[tokio::test]
async fn objects() {
    let mut h = harness(config(1, &["m1"]), &[]);
    std::fs::create_dir_all(&h.ctx.presets_dir).unwrap();
    std::fs::copy("presets/sim.toml", h.ctx.presets_dir.join("sim.toml")).unwrap();
    let mut view = ObjectsView::default();
    h.keys(&mut view, &[key(KeyCode::Char('p')), key(KeyCode::Enter)]);
    shots(&mut h, &mut view, "objects");
}

#[tokio::test]
async fn trace() {
    let mut h = harness(config(1, &["m1"]), &[]);
    let mut view = TraceView::default();
    h.refresh(&mut view);
    shots(&mut h, &mut view, "trace");
}

#[tokio::test]
async fn trace_tree() {
    use super::trace::tests::{ciphered_config, ciphered_push};
    let mut h = harness(ciphered_config(), &[]);
    let mut view = super::trace::with_entries(vec![ciphered_push()]);
    h.keys(&mut view, &[key(KeyCode::Enter), key(KeyCode::Char('/'))]);
    h.type_text(&mut view, "1234");
    h.keys(&mut view, &[key(KeyCode::Enter)]);
    shots(&mut h, &mut view, "trace_tree");
}

/// A voltage read every 10 s for five minutes, one read failed.
fn voltages() -> Vec<Record> {
    let t = 1_700_000_000_000;
    (0..30)
        .map(|i| {
            let mut r = reading(
                "m1",
                "voltage L1",
                t + i * 10_000,
                228.0 + ((i * 7) % 11) as f64 / 2.0,
            );
            r.unit = Some("V".into());
            if i == 17 {
                r.value = None;
                r.status = "timed out after 5000 ms waiting for the meter's answer".into();
            }
            r
        })
        .collect()
}

#[tokio::test]
async fn log_chart() {
    let mut h = harness(config(1, &["m1"]), &voltages());
    let mut view = LogView::default();
    h.refresh(&mut view);
    h.keys(&mut view, &[key(KeyCode::Char('c'))]);
    shots(&mut h, &mut view, "log_chart");
}
