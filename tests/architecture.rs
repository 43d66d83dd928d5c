//! The layering rules of docs/architecture.md, checked on the source so they cannot silently
//! rot: which of our modules each module may use, and where IO, the clock, tokio, SQLite and
//! the terminal may appear. Comments are ignored; code is matched by the paths it names.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        if d.is_file() {
            out.push(d);
            continue;
        }
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() || p.extension().is_some_and(|x| x == "rs") {
                todo.push(p);
            }
        }
    }
    out
}

/// The code lines of a file (line comments and doc comments dropped).
fn code(path: &Path) -> Vec<(usize, String)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.split("//").next().unwrap_or("").to_string()))
        .filter(|(_, l)| !l.trim().is_empty())
        .collect()
}

fn src(part: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(part)
}

/// Our modules (`crate::X`) that the files of `part` name.
fn uses(part: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for f in files(&src(part)) {
        for (_, line) in code(&f) {
            let mut rest = line.as_str();
            while let Some(i) = rest.find("crate::") {
                rest = &rest[i + 7..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                found.insert(name);
            }
        }
    }
    found
}

/// Lines of `part` that name any of `needles`.
fn naming(part: &str, needles: &[&str]) -> Vec<String> {
    let mut hits = Vec::new();
    for f in files(&src(part)) {
        for (n, line) in code(&f) {
            if needles.iter().any(|w| line.contains(w)) {
                hits.push(format!("{}:{n}: {}", f.display(), line.trim()));
            }
        }
    }
    hits
}

#[test]
fn each_layer_uses_only_the_layers_below_it() {
    // (module, what of ours it may use besides itself)
    let allowed: &[(&str, &[&str])] = &[
        ("dlms", &[]),
        ("schedule", &[]),
        ("text.rs", &[]),
        ("counters", &["dlms"]),
        ("queue", &["dlms", "schedule"]),
        ("transport", &["dlms", "queue", "text"]),
        // The engine builds the queue's meters into sessions and store rows (the row type only;
        // see `the_engine_writes_nothing_itself`).
        (
            "engine",
            &["dlms", "transport", "counters", "queue", "store", "text"],
        ),
        ("store", &["dlms"]),
        // Data out: the queue's sinks, the store's rows and outbox, retry pacing.
        ("sink", &["queue", "store", "transport", "text"]),
        // Metrics use nothing of ours: the runner records, the command line snapshots.
        ("metrics", &[]),
        // The fleet starts and stops the runner's connections; the command line wires it.
        ("fleet", &["runner", "text"]),
    ];
    let mut wrong = Vec::new();
    for (module, may) in allowed {
        let own = module.trim_end_matches(".rs");
        for used in uses(module) {
            if used != own && !may.contains(&used.as_str()) {
                wrong.push(format!("{module} uses crate::{used}"));
            }
        }
    }
    assert!(wrong.is_empty(), "layering broken: {wrong:#?}");
}

#[test]
fn dlms_does_no_io_reads_no_clock_and_uses_no_runtime() {
    let hits = naming(
        "dlms",
        &[
            "tokio",
            "std::net",
            "std::fs",
            "std::io::Read",
            "std::io::Write",
            "SystemTime::now",
            "Instant::now",
            "Local::now",
            "Utc::now",
            "rusqlite",
            "ratatui",
            "getrandom",
            "tracing::",
        ],
    );
    assert!(hits.is_empty(), "dlms must stay pure: {hits:#?}");
}

#[test]
fn only_the_store_and_the_counter_store_use_sqlite_and_only_the_tui_draws() {
    let mut sqlite = Vec::new();
    let mut terminal = Vec::new();
    for part in [
        "dlms",
        "engine",
        "transport",
        "queue",
        "schedule",
        "runner",
        "sim",
        "sink",
        "metrics",
        "fleet",
        "cli",
        "main.rs",
    ] {
        sqlite.extend(naming(part, &["rusqlite"]));
        terminal.extend(naming(part, &["ratatui", "crossterm"]));
    }
    assert!(
        sqlite.is_empty(),
        "SQLite outside store/ and counters/: {sqlite:#?}"
    );
    assert!(
        terminal.is_empty(),
        "terminal code outside tui/: {terminal:#?}"
    );
}

#[test]
fn the_postgres_client_stays_in_the_store_and_each_backend_in_its_files() {
    // The layers above the store take a `StoreLocation` and never name the client.
    let mut outside = Vec::new();
    for part in [
        "dlms",
        "engine",
        "transport",
        "queue",
        "schedule",
        "runner",
        "sim",
        "sink",
        "metrics",
        "tui",
        "cli",
        "main.rs",
    ] {
        outside.extend(naming(part, &["tokio_postgres", "deadpool"]));
    }
    assert!(
        outside.is_empty(),
        "the PostgreSQL client outside the store: {outside:#?}"
    );
    // Inside the store: SQL for PostgreSQL in pg/, SQLite's outside it; location.rs parses
    // URLs and error.rs words the client's errors.
    let sqlite_in_pg = naming("store/pg", &["rusqlite"]);
    assert!(
        sqlite_in_pg.is_empty(),
        "SQLite in store/pg: {sqlite_in_pg:#?}"
    );
    let mut pg_elsewhere = Vec::new();
    for f in std::fs::read_dir(src("store")).unwrap() {
        let name = f.unwrap().file_name().to_string_lossy().to_string();
        if name == "pg" || name == "location.rs" || name == "error.rs" {
            continue;
        }
        pg_elsewhere.extend(naming(
            &format!("store/{name}"),
            &["tokio_postgres", "deadpool"],
        ));
    }
    assert!(
        pg_elsewhere.is_empty(),
        "the PostgreSQL client outside store/pg: {pg_elsewhere:#?}"
    );
}

#[test]
fn the_engine_writes_nothing_itself() {
    // The engine turns answers into rows; the runner decides when and where they are stored.
    let hits = naming(
        "engine",
        &["Store::", "WriterHandle", "Writer::", "rusqlite", "std::fs"],
    );
    assert!(hits.is_empty(), "the engine must not store: {hits:#?}");
}

#[test]
fn only_a_connections_worker_opens_its_link() {
    // The ways to open a link or an association. The worker (`worker.rs`) and the actions it
    // runs between polls (`action.rs`) may use them, and so may a passive connection's task
    // (`passive.rs`), which stands in for the worker such a connection does not have; the listener only associates over
    // streams meters opened (`Session::open` on an accepted stream, `Target::open_over`),
    // never opens one.
    let openers = [
        "target::connect",
        "transport::tcp",
        "transport::serial",
        "Session::open",
        "secure::open",
        "probe::probe",
        ".open(",
        ".connect(",
    ];
    let mut wrong = Vec::new();
    for f in files(&src("runner")) {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        if name == "worker.rs" || name == "action.rs" || name == "passive.rs" {
            continue;
        }
        let listener = f.to_string_lossy().contains("listen");
        for (n, line) in code(&f) {
            let opens = openers
                .iter()
                .filter(|w| !(listener && **w == "Session::open"))
                .any(|w| line.contains(w))
                && !line.contains("File")
                && !line.contains("UnixStream")
                && !line.contains("options.open(")
                && !line.trim_start().starts_with(".open(&path)");
            let target = line.contains("Target") && !listener;
            if opens || target {
                wrong.push(format!("{}:{n}: {}", f.display(), line.trim()));
            }
        }
    }
    // Nothing outside the runner's workers and the command line opens a meter's link either.
    for part in ["tui", "store", "sim", "queue", "schedule", "fleet"] {
        wrong.extend(naming(
            part,
            &["Target", "target::connect", "Session::open"],
        ));
    }
    assert!(
        wrong.is_empty(),
        "a link opened outside its connection's worker: {wrong:#?}"
    );
}

/// The code lines of `part` that ship: test-only files (`tests.rs`, `testkit.rs`) are skipped
/// and each file is cut at its `#[cfg(test)]` module (which the code style puts last).
fn shipped(part: &str) -> Vec<(PathBuf, usize, String)> {
    let mut out = Vec::new();
    for f in files(&src(part)) {
        let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name == "tests.rs" || name == "testkit.rs" {
            continue;
        }
        let lines = code(&f);
        for (k, (n, line)) in lines.iter().enumerate() {
            let next = lines.get(k + 1).map(|(_, l)| l.trim()).unwrap_or("");
            if line.trim() == "#[cfg(test)]" && next.contains("mod ") && next.ends_with('{') {
                break;
            }
            out.push((f.clone(), *n, line.clone()));
        }
    }
    out
}

/// Shipped lines of `part` that name any of `needles`.
fn shipped_naming(part: &str, needles: &[&str]) -> Vec<String> {
    shipped(part)
        .into_iter()
        .filter(|(_, _, line)| needles.iter().any(|w| line.contains(w)))
        .map(|(f, n, line)| format!("{}:{n}: {}", f.display(), line.trim()))
        .collect()
}

/// What opens a link or the database, starts the logger, or runs SQL.
const OPENING: &[&str] = &[
    "rusqlite",
    "tokio_postgres",
    "deadpool",
    "Store::open",
    "Database::open",
    "open_read_only",
    "spawn_reader",
    "Writer::spawn",
    "open_store",
    "Runner::start",
    "control::bind",
    "transport::",
    "Session::open",
    "engine::Session",
    "TcpStream",
    "TcpListener",
    "UdpSocket",
    "std::net",
    "tokio::net",
    "tokio_serial",
    "SerialStream",
    "serialport",
    "CounterStore",
    "SELECT ",
    "query_row",
];

#[test]
fn the_tui_never_opens_a_link_or_the_database_itself() {
    // The command line wires the UI (cli/tui.rs); the scan finds that wiring there, so a
    // needle that matched nothing could not hide a break.
    let wiring = shipped_naming("cli/tui.rs", OPENING);
    for needed in [
        "open_store",
        "spawn_reader",
        "Runner::start",
        "control::bind",
    ] {
        assert!(
            wiring.iter().any(|l| l.contains(needed)),
            "cli/tui.rs no longer names {needed}: {wiring:#?}"
        );
    }
    let hits = shipped_naming("tui", OPENING);
    assert!(
        hits.is_empty(),
        "the UI opens links or the database, or runs SQL, itself: {hits:#?}"
    );
    // Of our modules the UI uses the model, the runner's handle, the store's types and query
    // service, and the engine's trace entries; never the simulator, transports or counters.
    let mut wrong = BTreeSet::new();
    for (_, _, line) in shipped("tui") {
        let mut rest = line.as_str();
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + 7..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let allowed = [
                "tui", "dlms", "queue", "schedule", "store", "runner", "engine", "text",
            ];
            if !allowed.contains(&name.as_str()) {
                wrong.insert(name);
            }
        }
    }
    assert!(wrong.is_empty(), "the UI uses crate::{wrong:?}");
    // The only engine names it uses are the trace's.
    let engine = shipped_naming("tui", &["engine::"]);
    assert!(
        engine
            .iter()
            .all(|l| l.contains("engine::{Direction, TraceEntry}")),
        "{engine:#?}"
    );
}
