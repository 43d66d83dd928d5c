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
