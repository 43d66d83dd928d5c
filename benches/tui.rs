//! The Monitor tab with 10,000 items: one frame drawn on ratatui's `TestBackend` (200×60).
//!
//! Run with `cargo bench --bench tui`. The queue has 100 meters and one request of 100
//! registers on all of them, every 10 s (disabled, so nothing is sent), and the log holds one
//! fresh reading of each of the 10,000 items, so the frame shows the full table (visible part), the meter list and the chart.
//! Target ≤ 5 ms per frame. `refresh` (asking the query service for the latest values and the
//! chart's history, and taking both answers, as every tick does) is measured separately; the
//! queries run on the store's query thread, never in a frame.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use dlms_logger::queue::Config;
use dlms_logger::runner::Runner;
use dlms_logger::store::{spawn_reader, Record, Store, Writer, STATUS_OK};
use dlms_logger::tui::app::{App, AppEvent, Ctx, TaskResult};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use tokio::sync::mpsc::UnboundedReceiver;

const METERS: usize = 100;
const ITEMS: usize = 100;

/// A queue of `METERS` meters and one request of `ITEMS` registers on all of them.
fn config() -> Config {
    let mut text =
        String::from("[[connection]]\nname = \"lab\"\ntcp = { host = \"127.0.0.1\", port = 9 }\n");
    let mut meters = Vec::new();
    for m in 0..METERS {
        text.push_str(&format!(
            "[[meter]]\nname = \"m{m}\"\nconnection = \"lab\"\n"
        ));
        meters.push(format!("\"m{m}\""));
    }
    text.push_str(&format!(
        "[[request]]\nname = \"poll\"\nenabled = false\nmeters = [{}]\nschedule = {{ every = \"10s\" }}\nitems = [\n",
        meters.join(", ")
    ));
    for i in 0..ITEMS {
        text.push_str(&format!(
            "  {{ name = \"i{i}\", obis = \"1.0.{}.8.{}.255\" }},\n",
            1 + i / 50,
            i % 50
        ));
    }
    text.push_str("]\n");
    Config::parse(&text, "bench.toml").unwrap_or_else(|e| panic!("{e}"))
}

/// One fresh reading of every item.
fn readings(now_ms: i64) -> Vec<Record> {
    let mut rows = Vec::with_capacity(METERS * ITEMS);
    for m in 0..METERS {
        for i in 0..ITEMS {
            rows.push(Record {
                ts_ms: now_ms - (i as i64) * 10,
                request: "poll".into(),
                meter: format!("m{m}"),
                item: format!("i{i}"),
                obis: format!("1.0.{}.8.{}.255", 1 + i / 50, i % 50),
                class: 3,
                attribute: 2,
                value: Some((m * ITEMS + i) as f64 * 1.5),
                text: None,
                unit: Some("kWh".into()),
                status: STATUS_OK.into(),
                poll: m as i64,
                profile: false,
                exact: None,
                meter_time: None,
            });
        }
    }
    rows
}

/// Hands the app query answers until the chart's history (the last answer of a refresh) is in.
fn answers(rt: &tokio::runtime::Runtime, app: &mut App, rx: &mut UnboundedReceiver<AppEvent>) {
    loop {
        match rt.block_on(rx.recv()) {
            Some(AppEvent::Task(tab, r @ TaskResult::History { .. })) => {
                app.on_task(tab, r);
                return;
            }
            Some(AppEvent::Task(tab, r)) => app.on_task(tab, r),
            Some(AppEvent::Counts(c)) => app.on_counts(c),
            Some(_) => {}
            None => panic!("the event channel closed"),
        }
    }
}

fn monitor(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _guard = rt.enter();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("log.db");
    let mut store = Store::open(&db).unwrap();
    let now = chrono::Utc::now().timestamp_millis();
    store.insert_batch(&readings(now)).unwrap();
    let (_writer, handle): (Writer, _) = Writer::spawn(&db).unwrap();
    let runner = Runner::start(config(), handle, 1);
    drop(store);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let ctx = Ctx::new(
        runner.handle(),
        spawn_reader(&db).unwrap(),
        dir.path().join("queue.toml"),
        tx,
    );
    let mut app = App::new(ctx);
    answers(&rt, &mut app, &mut rx);
    let mut terminal = Terminal::new(TestBackend::new(200, 60)).unwrap();
    terminal.draw(|f| app.render(f)).unwrap();
    let screen = format!("{:?}", terminal.backend().buffer());
    assert!(screen.contains("m0"), "the Monitor shows no items");

    let mut group = c.benchmark_group("monitor_10000_items");
    group.bench_function("frame_200x60", |b| {
        b.iter(|| {
            terminal.draw(|f| app.render(black_box(f))).unwrap();
        })
    });
    group.bench_function("refresh", |b| {
        b.iter(|| {
            app.refresh();
            answers(&rt, &mut app, &mut rx);
        })
    });
    group.finish();
}

criterion_group!(benches, monitor);
criterion_main!(benches);
