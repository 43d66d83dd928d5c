//! The real binary in a pseudo-terminal: open the demo, visit every tab, add an item through
//! the Queue form, save, and see the new item logged; quitting restores the terminal.
//! Then the reading points, each driven like an operator at a terminal (launch, keys, read
//! the screen, assert): the Trace's frame tree (a ciphered meter's APDUs deciphered, folding,
//! search), and the Log's filters (status, meter, time range), chart and failure jumps.

mod common;

use portable_pty::{native_pty_system, CommandBuilder, PtySize};
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Screen {
    parser: Arc<Mutex<vt100::Parser>>,
    writer: Box<dyn Write + Send>,
    /// The terminal's master end, kept open as long as the screen.
    _master: Option<Box<dyn portable_pty::MasterPty + Send>>,
}

impl Screen {
    fn text(&self) -> String {
        self.parser.lock().unwrap().screen().contents()
    }

    /// Waits until the screen shows `needle`; panics with the screen after `secs`.
    fn wait_for(&self, needle: &str, secs: u64) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if self.text().contains(needle) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the screen never showed {needle:?}:\n{}", self.text());
    }

    /// The text of the selected (reverse-video) row, if one is on screen.
    fn selected_row(&self) -> Option<String> {
        let parser = self.parser.lock().unwrap();
        let screen = parser.screen();
        let (rows, cols) = screen.size();
        let (rows, cols) = (rows.get(), cols.get());
        let lines: Vec<String> = screen.rows(0, cols).collect();
        (0..rows).find_map(|r| {
            let inverse = (1..cols.min(20))
                .filter(|&c| screen.cell(r, c).is_some_and(|cell| cell.inverse()))
                .count();
            (inverse >= 10).then(|| lines[usize::from(r)].clone())
        })
    }

    /// Waits until `check` holds for the screen; panics with the screen after `secs`.
    fn wait_until(&self, what: &str, secs: u64, check: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < deadline {
            if check(&self.text()) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the screen never showed {what}:\n{}", self.text());
    }

    fn keys(&mut self, keys: &str) {
        self.writer.write_all(keys.as_bytes()).unwrap();
        self.writer.flush().unwrap();
        // Let crossterm tell a lone Esc from an escape sequence.
        std::thread::sleep(Duration::from_millis(150));
    }
}

#[test]
fn demo_tabs_add_an_item_and_see_it_logged() {
    let dir = tempfile::tempdir().unwrap();
    let pty = native_pty_system()
        .openpty(PtySize {
            rows: 24,
            cols: 80,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("a pseudo-terminal");
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_dlms-logger"));
    cmd.cwd(dir.path());
    cmd.env("TERM", "xterm-256color");
    let mut child = pty.slave.spawn_command(cmd).unwrap();
    drop(pty.slave);
    let parser = Arc::new(Mutex::new(vt100::Parser::new(
        std::num::NonZero::new(24).unwrap(),
        std::num::NonZero::new(80).unwrap(),
        0,
    )));
    let mut reader = pty.master.try_clone_reader().unwrap();
    let feed = parser.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            feed.lock().unwrap().process(&buf[..n]);
        }
    });
    let mut s = Screen {
        parser,
        writer: pty.master.take_writer().unwrap(),
        _master: None,
    };

    // The demo opens on Monitor with live values.
    s.wait_for("1 Monitor", 20);
    s.wait_for("voltage L1", 20);
    assert!(s.parser.lock().unwrap().screen().alternate_screen());
    for (key, title) in [
        ("2", "Queue"),
        ("3", "Log · page"),
        ("4", "Objects"),
        ("5", "Trace"),
        ("1", "Items"),
    ] {
        s.keys(key);
        s.wait_for(title, 5);
    }

    // Queue: select the "instant" request, add an item, name it, save.
    s.keys("2");
    s.wait_for("instant", 5);
    s.keys("jj");
    s.wait_for("request \"instant\"", 5);
    s.keys("A");
    s.wait_for("item \"item\"", 5);
    s.keys("\r"); // into the form, on the name field
    s.keys("\r"); // edit it
    s.keys("\x15e2e energy\r"); // Ctrl-u clears, type, Enter commits
    s.keys("\x1b"); // back to the tree
    s.wait_for("Queue *", 5);
    s.keys("s");
    s.wait_for("saved to", 5);
    let saved = std::fs::read_to_string(dir.path().join("dlms-logger.toml")).unwrap();
    assert!(saved.contains("e2e energy"), "{saved}");

    // The running scheduler picked it up: the Log shows it within a few polls (the item
    // column is cut to fit 80 columns).
    s.keys("3");
    s.wait_for("e2e energ", 30);

    s.keys("q");
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(Instant::now() < deadline, "the UI did not quit");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        !s.parser.lock().unwrap().screen().alternate_screen(),
        "terminal restored"
    );
}

/// The binary in a `cols`×`rows` pseudo-terminal in `dir`, with `args`, its own counter store.
fn launch(
    dir: &std::path::Path,
    args: &[&str],
    cols: u16,
    rows: u16,
) -> (Screen, Box<dyn portable_pty::Child + Send + Sync>) {
    let pty = native_pty_system()
        .openpty(PtySize {
            rows,
            cols,
            pixel_width: 0,
            pixel_height: 0,
        })
        .expect("a pseudo-terminal");
    let mut cmd = CommandBuilder::new(env!("CARGO_BIN_EXE_dlms-logger"));
    cmd.args(args);
    cmd.cwd(dir);
    cmd.env("TERM", "xterm-256color");
    cmd.env("DLMS_COUNTER_DB", dir.join("counters.db"));
    let child = pty.slave.spawn_command(cmd).unwrap();
    drop(pty.slave);
    let parser = Arc::new(Mutex::new(vt100::Parser::new(
        std::num::NonZero::new(rows).unwrap(),
        std::num::NonZero::new(cols).unwrap(),
        0,
    )));
    let mut reader = pty.master.try_clone_reader().unwrap();
    let feed = parser.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = reader.read(&mut buf) {
            if n == 0 {
                break;
            }
            feed.lock().unwrap().process(&buf[..n]);
        }
    });
    let writer = pty.master.take_writer().unwrap();
    let screen = Screen {
        parser,
        writer,
        _master: Some(pty.master),
    };
    (screen, child)
}

/// Quits with `q` and checks the binary ends well.
fn quit(s: &mut Screen, mut child: Box<dyn portable_pty::Child + Send + Sync>) {
    s.keys("q");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            assert!(st.success(), "{st:?}");
            return;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the UI did not quit");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

const BK: &str = "000102030405060708090A0B0C0D0E0F";
const AK: &str = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF";

/// Writes a queue (0600, it holds keys) to `dir/q.toml`.
fn write_queue(dir: &std::path::Path, text: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("q.toml");
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path.display().to_string()
}

/// Trace: a ciphered meter's frames are searched, opened as a tree with the plain APDU
/// deciphered beside the ciphered bytes, folded with Enter and searched with `/`; the keys
/// never show.
#[test]
fn trace_opens_a_ciphered_frame_as_a_tree_folds_and_searches() {
    let (_sim, port) =
        common::start_sim(&["--security", "authenc", "--block-key", BK, "--auth-key", AK]);
    let dir = tempfile::tempdir().unwrap();
    let queue = write_queue(
        dir.path(),
        &format!(
            r#"
[[connection]]
name = "lab"
tcp = {{ host = "127.0.0.1", port = {port} }}
[[meter]]
name = "secured"
connection = "lab"
client = 17
security = {{ policy = "authenc", block_key = "{BK}", auth_key = "{AK}" }}
[[request]]
name = "instant"
meters = ["secured"]
schedule = {{ every = "2s" }}
items = [{{ name = "voltage L1", obis = "1.0.32.7.0.255" }}]
"#
        ),
    );
    let (mut s, child) = launch(dir.path(), &["tui", "-c", &queue, "--db", "log.db"], 80, 24);
    s.wait_for("1 Monitor", 20);
    s.wait_for("voltage L1", 30);
    s.keys("5");
    s.wait_for("Trace · secured", 5);
    s.wait_for("Enter tree", 5);
    s.wait_for("glo-get-response", 10);
    eprintln!("{}", s.text());
    // Search the frames for a field that only the deciphered APDU has.
    s.keys("/get-response\r");
    s.wait_for("frame(s) match", 5);
    s.keys("\r");
    s.wait_for("deciphered APDU", 5);
    s.wait_for("match 1 of", 5);
    let tree = s.text();
    eprintln!("{tree}");
    assert!(tree.contains("tag verified"), "{tree}");
    assert!(
        tree.contains("ciphered text"),
        "the ciphered bytes are in the tree too:\n{tree}"
    );
    // The match is selected: Enter folds it, and again unfolds it.
    let before = s.selected_row().expect("a selected field");
    assert!(before.contains("get-response"), "{before}");
    s.keys("\r");
    s.wait_until("the match folded", 5, |t| t.contains("▸ glo-get-response"));
    s.keys("\r");
    s.wait_until("the match unfolded", 5, |t| {
        t.contains("▾ glo-get-response")
    });
    // Search within the tree: a field of the ciphered APDU, by name.
    s.keys("/invocation counter\r");
    s.wait_for("\"invocation counter\": match 1 of", 5);
    let row = s.selected_row().expect("a selected field");
    assert!(row.contains("invocation counter"), "{row}");
    // The values the meter answered with, by the result's name.
    s.keys("/result 1\r");
    s.wait_for("\"result 1\": match 1 of", 5);
    let row = s.selected_row().expect("a selected field");
    assert!(row.contains("result 1: "), "a value: {row}");
    // Fold everything: the tree is one line under its root.
    s.keys("-");
    s.wait_until("everything folded", 5, |t| !t.contains("deciphered APDU"));
    let shown = s.text();
    assert!(
        !shown.contains(BK) && !shown.contains(AK),
        "a key on screen:\n{shown}"
    );
    assert!(
        !shown.contains("00 01 02 03 04 05 06 07"),
        "a key on screen:\n{shown}"
    );
    s.keys("\x1b");
    s.wait_for("Enter tree", 5);
    quit(&mut s, child);
}

/// A queue of the simulator's meter, read every second, and one whose port is closed (every
/// poll fails), read every 3 s: voltage (numbers, volts) and the clock (text).
fn failing_queue(dir: &std::path::Path, port: u16) -> String {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    write_queue(
        dir,
        &format!(
            r#"
[[connection]]
name = "lab"
tcp = {{ host = "127.0.0.1", port = {port} }}
[[connection]]
name = "nowhere"
tcp = {{ host = "127.0.0.1", port = {closed} }}
[[meter]]
name = "sim-1"
connection = "lab"
[[meter]]
name = "down"
connection = "nowhere"
[[request]]
name = "instant"
meters = ["sim-1"]
schedule = {{ every = "1s" }}
items = [{{ name = "voltage L1", obis = "1.0.32.7.0.255" }}, {{ name = "clock", obis = "0.0.1.0.0.255" }}]
# The failing meter on a period of its own: the UI refreshes every second too, and with both
# meters polled every second in phase with it the newest row could be a failure at every
# refresh.
[[request]]
name = "instant-down"
meters = ["down"]
schedule = {{ every = "3s" }}
items = [{{ name = "voltage L1", obis = "1.0.32.7.0.255" }}, {{ name = "clock", obis = "0.0.1.0.0.255" }}]
"#
        ),
    )
}

/// The lines of the Log's table (between its header and its bottom border).
fn table_rows(screen: &str) -> Vec<String> {
    screen
        .lines()
        .skip_while(|l| !l.contains("time "))
        .skip(1)
        .take_while(|l| l.starts_with('│'))
        .filter(|l| {
            !l.trim_matches(|c: char| c == '│' || c.is_whitespace())
                .is_empty()
        })
        .map(String::from)
        .collect()
}

/// Log: filter by status and meter, step the time range, type one.
#[test]
fn log_filters_by_status_meter_and_time() {
    let (_sim, port) = common::start_sim(&[]);
    let dir = tempfile::tempdir().unwrap();
    let queue = failing_queue(dir.path(), port);
    let (mut s, child) = launch(dir.path(), &["tui", "-c", &queue, "--db", "log.db"], 80, 24);
    s.wait_for("1 Monitor", 20);
    s.keys("3");
    s.wait_for("Log · page", 5);
    // Wait for both meters' rows, ok and failed.
    s.wait_until("rows of both meters", 30, |t| {
        let rows = table_rows(t);
        rows.iter().any(|r| r.contains("down")) && rows.iter().any(|r| r.contains("sim-1"))
    });

    // Failures only: the status field is the third; ← cycles any → failed.
    s.keys("/");
    s.wait_for("filter", 5);
    s.keys("\t\t\x1b[D\r");
    s.wait_for("status=failed", 5);
    s.wait_until("only failures", 10, |t| {
        let rows = table_rows(t);
        !rows.is_empty()
            && rows
                .iter()
                .all(|r| r.contains("down") && !r.ends_with("ok  │"))
    });
    // And the meter: only sim-1's failures, which there are none of.
    s.keys("/");
    s.wait_for("filter", 5);
    s.keys("\x15sim-1\r");
    s.wait_for("meter=sim-1 status=failed", 5);
    s.wait_for("No rows match the filter", 10);
    // The other meter's.
    s.keys("/\x15down\r");
    s.wait_for("meter=down status=failed", 5);
    s.wait_until("down's failures", 10, |t| {
        let rows = table_rows(t);
        !rows.is_empty() && rows.iter().all(|r| r.contains("down"))
    });
    eprintln!("{}", s.text());

    // The time range: t steps to the last 15 min; every row logged so far is in it.
    s.keys("t");
    s.wait_for("since=15min", 5);
    s.wait_until("rows in the last 15 min", 10, |t| !table_rows(t).is_empty());
    // A range that ended before anything was logged: typed since..until.
    s.keys("/\t\t\t\x15");
    s.keys("2001-01-01T00:00:00Z\t\x152001-01-02T00:00:00Z\r");
    s.wait_for("until=2001-01-02T00:00:00Z", 5);
    s.wait_for("No rows match the filter", 10);

    quit(&mut s, child);
}

/// Log: `f`/`F` go from failure to failure (older, newer) on any page; `E` keeps the
/// failures of the selected one's kind.
#[test]
fn log_jumps_from_failure_to_failure() {
    let (_sim, port) = common::start_sim(&[]);
    let dir = tempfile::tempdir().unwrap();
    let queue = failing_queue(dir.path(), port);
    let (mut s, child) = launch(dir.path(), &["tui", "-c", &queue, "--db", "log.db"], 80, 24);
    s.wait_for("1 Monitor", 20);
    s.keys("3");
    s.wait_for("Log · page", 5);
    s.wait_until("two polls of both meters", 30, |t| {
        let rows = table_rows(t);
        rows.iter().filter(|r| r.contains("down")).count() >= 4
            && rows.iter().any(|r| r.contains("sim-1"))
    });
    s.wait_until("the unfiltered log", 5, |t| t.contains("Log · page 1 ─"));
    s.wait_until("an ok row at the top", 10, |t| {
        table_rows(t).first().is_some_and(|r| r.contains("sim-1"))
    });
    s.keys("f");
    s.wait_until("a failed row selected", 5, |_| {
        s.selected_row().is_some_and(|r| r.contains("down"))
    });
    let first = s.selected_row().unwrap();
    s.keys("f");
    s.wait_until("the next failed row selected", 5, |_| {
        s.selected_row()
            .is_some_and(|r| r.contains("down") && r != first)
    });
    s.keys("F");
    s.wait_until("back to the newer failure", 5, |_| {
        s.selected_row().is_some_and(|r| r == first)
    });
    // E: only failures of this kind.
    s.keys("E");
    s.wait_for("status=failed error=", 5);
    s.wait_until("failures of that kind", 10, |t| {
        let rows = table_rows(t);
        !rows.is_empty() && rows.iter().all(|r| r.contains("down"))
    });
    quit(&mut s, child);
}

/// Log: `c` charts the selected row's item over the time range, with its unit; an item
/// whose values are text says why there is no chart.
#[test]
fn log_charts_an_item_over_the_time_range() {
    let (_sim, port) = common::start_sim(&[]);
    let dir = tempfile::tempdir().unwrap();
    let queue = failing_queue(dir.path(), port);
    let (mut s, child) = launch(dir.path(), &["tui", "-c", &queue, "--db", "log.db"], 80, 24);
    s.wait_for("1 Monitor", 20);
    s.keys("3");
    s.wait_for("Log · page", 5);
    // The voltage of sim-1, from a few polls.
    s.keys("/sim-1\tvoltage L1\r");
    s.wait_for("meter=sim-1 item=voltage L1", 5);
    s.wait_until("three readings", 20, |t| table_rows(t).len() >= 3);
    s.keys("c");
    s.wait_for("sim-1 · voltage L1 · every row", 5);
    s.wait_until("the chart", 10, |t| {
        t.contains(" values · min ") && t.contains("local time")
    });
    let chart = s.text();
    eprintln!("{chart}");
    assert!(
        chart.lines().any(|l| l.contains("│V ")),
        "the unit names the value axis:\n{chart}"
    );
    assert!(
        chart
            .chars()
            .any(|c| ('\u{2801}'..='\u{28FF}').contains(&c)),
        "a line is drawn:\n{chart}"
    );
    // t steps the chart's range too.
    s.keys("t");
    s.wait_for("sim-1 · voltage L1 · the last 15min", 5);
    s.keys("\x1b");
    s.wait_until("the chart closed", 5, |t| !t.contains("local time"));
    // The clock is text: no chart, and why.
    s.keys("/\t\x15clock\r");
    s.wait_for("meter=sim-1 item=clock", 5);
    s.wait_until("clock rows", 10, |t| {
        table_rows(t).iter().any(|r| r.contains("clock"))
    });
    s.keys("c");
    s.wait_for("its values are text", 10);
    s.keys("\x1b");
    quit(&mut s, child);
}

// Issue 19, editing and outside the TUI: checks while typing, the cron preview, a saved demo
// that starts again, and the headless logger's lines.

#[test]
fn a_bad_obis_is_refused_while_typing_and_a_cron_shows_its_next_fires() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, child) = launch(dir.path(), &[], 100, 30);
    s.wait_for("1 Monitor", 20);
    s.keys("2");
    s.wait_for("voltage L1", 5);
    // The item "voltage L1", its OBIS field, edit it and type a letter: refused at once.
    s.keys("jjj\rj\rx");
    s.wait_for("✗ invalid OBIS code", 5);
    s.wait_for("\"1.0.32.7.0.255x\": group F (\"255x\")", 5);
    assert!(
        !s.text().contains("Queue *"),
        "nothing committed:\n{}",
        s.text()
    );
    s.keys("\x7f"); // Backspace: valid again, the problem goes
    s.wait_until("no OBIS problem", 5, |t| !t.contains("invalid OBIS"));
    s.keys("\x1b"); // cancel the edit
    s.keys("\x1b"); // back to the tree

    // The request "energy" (a cron), its schedule: retype it and see the next three fires.
    s.keys("g");
    s.keys("jjjjjj\r");
    s.wait_for("request \"energy\"", 5);
    s.keys("jjj\r");
    s.keys("\x150 6 * * mon-fri");
    s.wait_for("next fires:", 5);
    s.wait_until("three fires at 06:00", 5, |t| {
        t.lines()
            .filter(|l| l.contains("· ") && l.contains(" 06:00:00 "))
            .count()
            == 3
    });
    // A cron that can never fire says why, before Enter.
    s.keys("\x150 0 31 2 *");
    s.wait_for("never fire: day 31 does not exist in", 5);
    s.keys("\x1b");
    s.keys("\x1b");
    quit(&mut s, child);
}

#[test]
fn a_saved_demo_starts_again_later() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, child) = launch(dir.path(), &[], 100, 30);
    s.wait_for("1 Monitor", 20);
    s.keys("2");
    s.wait_for("demo", 5);
    s.keys("s");
    s.wait_for("saved to", 5);
    quit(&mut s, child);
    let saved = std::fs::read_to_string(dir.path().join("dlms-logger.toml")).unwrap();
    // The built-in simulator, not this run's random port.
    assert!(saved.contains("simulator = true"), "{saved}");
    assert!(
        !saved.contains("tcp") && !saved.contains("127.0.0.1"),
        "{saved}"
    );

    // A later start loads the saved file (not the built-in demo) and reads the meter again:
    // on a fresh database, the Log fills with readings.
    let (mut s, child) = launch(dir.path(), &["tui", "--db", "again.db"], 100, 30);
    s.wait_for("1 Monitor", 20);
    s.keys("3");
    s.wait_until("a voltage read after the restart", 30, |t| {
        t.lines()
            .any(|l| l.contains("voltage L1") && l.contains(" V ") && l.contains("ok"))
    });
    quit(&mut s, child);
}

/// Lines of `child`'s stderr until one holds `until` (then the rest arrives on the receiver).
fn lines_until(
    child: &mut std::process::Child,
    until: &str,
) -> (Vec<String>, std::sync::mpsc::Receiver<String>) {
    use std::io::BufRead;
    let stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !lines.iter().any(|l: &String| l.contains(until)) {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "never logged {until:?}: {lines:#?}");
        if let Ok(line) = rx.recv_timeout(left) {
            lines.push(line);
        }
    }
    (lines, rx)
}

/// Stops `child` as systemd does (SIGTERM) and checks it exits 0.
fn terminate(child: &mut std::process::Child) {
    let term = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    assert!(child.wait().unwrap().success());
}

#[test]
fn headless_run_logs_journald_lines_and_every_config_problem() {
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let exe = env!("CARGO_BIN_EXE_dlms-logger");
    // No terminal at all (as under nohup): the demo, logged at info level.
    let mut child = Command::new(exe)
        .arg("run")
        .current_dir(dir.path())
        .env_remove("JOURNAL_STREAM")
        .env_remove("DLMS_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (mut lines, rx) = lines_until(&mut child, "stored 3 rows of request instant");
    terminate(&mut child);
    lines.extend(rx.iter());
    // Every line: sd-daemon priority, time, level, where, message.
    for line in &lines {
        let (priority, rest) = line.split_at(3);
        assert!(["<3>", "<4>", "<6>", "<7>"].contains(&priority), "{line}");
        let (time, rest) = rest.split_once(' ').unwrap();
        assert!(chrono::DateTime::parse_from_rfc3339(time).is_ok(), "{line}");
        let level = rest.split(' ').next().unwrap();
        let want = match priority {
            "<3>" => "ERROR",
            "<4>" => "WARN",
            "<6>" => "INFO",
            _ => "DEBUG",
        };
        assert_eq!(level, want, "{line}");
    }
    assert!(
        lines.iter().any(|l| l.starts_with("<6>")
            && l.contains("INFO dlms_logger::cli::run: logging 5 request(s)")),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("<6>") && l.contains("stopped: ")),
        "{lines:#?}"
    );

    // Under systemd (JOURNAL_STREAM set) the journal stamps lines itself: no time. A config
    // with two mistakes names both, each line an error.
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[connection]]\nname = \"c\"\ntcp = { host = \"h\", port = 0 }\n\n[[meter]]\nname = \"m\"\nconnection = \"c\"\nretries = 11\n",
    )
    .unwrap();
    let out = Command::new(exe)
        .args(["run", "-c"])
        .arg(&bad)
        .current_dir(dir.path())
        .env("JOURNAL_STREAM", "8:12345")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let path = bad.display();
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "<3>error: 2 problems:\n<3>{path}:3:21: connection \"c\".tcp.port: 0 is not allowed; use 1 to 65535\n<3>{path}:8:1: meter \"m\".retries: 11 is not allowed; use 0 to 10\n"
        )
    );

    // The UI's default command without a terminal runs headless and says so (never silent).
    let mut child = Command::new(exe)
        .current_dir(dir.path())
        .env("JOURNAL_STREAM", "8:12345")
        .env_remove("DLMS_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (lines, _rest) = lines_until(&mut child, "stored");
    assert_eq!(
        lines[0],
        "<6>INFO dlms_logger::cli::tui: no terminal: running headless (as `dlms-logger run`)"
    );
    assert!(
        lines.iter().all(|l| l.starts_with("<6>INFO ")),
        "{lines:#?}"
    );
    terminate(&mut child);
}
