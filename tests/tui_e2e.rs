//! The real binary in a pseudo-terminal: open the demo, visit every tab, add an item through
//! the Queue form, save, and see the new item logged; quitting restores the terminal.

use portable_pty::{native_pty_system, CommandBuilder, PtySize};
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

struct Screen {
    parser: Arc<Mutex<vt100::Parser>>,
    writer: Box<dyn Write + Send>,
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

// Issue 19, editing and outside the TUI: checks while typing, the cron preview, a saved demo
// that starts again, and the headless logger's lines.

/// The UI in a pseudo-terminal of `cols`×`rows` in `dir`, with `args`.
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
    // The master must outlive the child: keep it in the reader thread's company.
    std::mem::forget(pty.master);
    (Screen { parser, writer }, child)
}

impl Screen {
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
}

/// Quits with q and checks the exit status.
fn quit(s: &mut Screen, child: &mut Box<dyn portable_pty::Child + Send + Sync>) {
    s.keys("q");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{status:?}");
            return;
        }
        assert!(Instant::now() < deadline, "the UI did not quit");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_bad_obis_is_refused_while_typing_and_a_cron_shows_its_next_fires() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, mut child) = launch(dir.path(), &[], 100, 30);
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
    quit(&mut s, &mut child);
}

#[test]
fn a_saved_demo_starts_again_later() {
    let dir = tempfile::tempdir().unwrap();
    let (mut s, mut child) = launch(dir.path(), &[], 100, 30);
    s.wait_for("1 Monitor", 20);
    s.keys("2");
    s.wait_for("demo", 5);
    s.keys("s");
    s.wait_for("saved to", 5);
    quit(&mut s, &mut child);
    let saved = std::fs::read_to_string(dir.path().join("dlms-logger.toml")).unwrap();
    // The built-in simulator, not this run's random port.
    assert!(saved.contains("simulator = true"), "{saved}");
    assert!(
        !saved.contains("tcp") && !saved.contains("127.0.0.1"),
        "{saved}"
    );

    // A later start loads the saved file (not the built-in demo) and reads the meter again:
    // on a fresh database, the Log fills with readings.
    let (mut s, mut child) = launch(dir.path(), &["tui", "--db", "again.db"], 100, 30);
    s.wait_for("1 Monitor", 20);
    s.keys("3");
    s.wait_until("a voltage read after the restart", 30, |t| {
        t.lines()
            .any(|l| l.contains("voltage L1") && l.contains(" V ") && l.contains("ok"))
    });
    quit(&mut s, &mut child);
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
