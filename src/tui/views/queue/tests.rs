//! The view driven by keys against a real runner, checked on a rendered `TestBackend` screen.

use super::*;
use crate::queue::{Auth, KeySecret, Policy, Secret, SecretSource};
use crate::schedule::Schedule;
use crate::tui::app::AppEvent;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::KeyCode;
use ratatui::Terminal;
use std::time::Duration;
use tokio::sync::mpsc;

const CONFIG: &str = r#"
[[connection]]
name = "c1"
tcp = { host = "127.0.0.1", port = 4059 }

[[connection]]
name = "c2"
tcp = { host = "127.0.0.1", port = 1 }

[[meter]]
name = "m1"
connection = "c1"
auth = { level = "low", password = "hunter2" }

[[meter]]
name = "m2"
connection = "c1"

[[request]]
name = "r1"
meters = ["m1"]
schedule = { event = "go" }
items = [
  { name = "energy", obis = "1.0.1.8.0.255" },
  { name = "power", obis = "1.0.1.7.0.255" },
]
"#;

/// A view on a running logger whose requests only fire on an event, so nothing runs.
struct Harness {
    view: QueueView,
    ctx: Ctx,
    rx: mpsc::UnboundedReceiver<AppEvent>,
    _runner: crate::runner::Runner,
    _writer: crate::store::Writer,
    _dir: tempfile::TempDir,
}

impl Harness {
    fn new() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::parse(CONFIG, "test.toml").unwrap();
        let db = dir.path().join("log.db");
        let (writer, handle) = crate::store::Writer::spawn(&db).unwrap();
        let runner = crate::runner::Runner::start(config, handle, 1);
        let (tx, rx) = mpsc::unbounded_channel();
        let path = dir.path().join("queue.toml");
        let queries = crate::store::spawn_reader(&db).unwrap();
        let ctx = Ctx::new(runner.handle(), queries, path, tx);
        let view = QueueView::new(&ctx);
        Harness {
            view,
            ctx,
            rx,
            _runner: runner,
            _writer: writer,
            _dir: dir,
        }
    }

    fn press_with(&mut self, code: KeyCode, modifiers: KeyModifiers) {
        self.view
            .handle_key(KeyEvent::new(code, modifiers), &mut self.ctx);
    }

    fn press(&mut self, code: KeyCode) {
        self.press_with(code, KeyModifiers::NONE);
    }

    fn keys(&mut self, text: &str) {
        text.chars().for_each(|c| self.press(KeyCode::Char(c)));
    }

    /// Replaces the text of the field being edited.
    fn retype(&mut self, text: &str) {
        self.press_with(KeyCode::Char('u'), KeyModifiers::CONTROL);
        self.keys(text);
    }

    fn screen_sized(&mut self, width: u16, height: u16) -> String {
        let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        terminal
            .draw(|f| self.view.render(f, f.area(), &self.ctx))
            .unwrap();
        let buffer = terminal.backend().buffer();
        let rows = buffer.content.chunks(usize::from(width).max(1));
        let lines: Vec<String> = rows
            .map(|row| row.iter().map(|c| c.symbol()).collect())
            .collect();
        lines.join("\n")
    }

    fn screen(&mut self) -> String {
        self.screen_sized(100, 30)
    }

    /// Selects `node` in the tree, then `field` in its form, with keys.
    fn open(&mut self, node: Node, field: Field) {
        self.view.focus = Focus::Tree;
        self.press(KeyCode::Home);
        while self.view.selected() != Some(node) {
            let before = self.view.cursor;
            self.press(KeyCode::Down);
            assert_ne!(before, self.view.cursor, "{node:?} is not in the tree");
        }
        self.press(KeyCode::Enter);
        while self.view.selected_field() != Some((node, field)) {
            let before = self.view.field;
            self.press(KeyCode::Down);
            assert_ne!(before, self.view.field, "{field:?} is not in the form");
        }
    }

    fn message(&self) -> (String, bool) {
        let (text, error) = self.ctx.message().unwrap_or_default();
        (text.to_string(), error)
    }

    fn names(&self) -> Vec<&str> {
        self.view
            .work
            .meters
            .iter()
            .map(|m| m.name.as_str())
            .collect()
    }
}

#[tokio::test]
async fn the_tree_lists_every_node() {
    let mut h = Harness::new();
    let screen = h.screen();
    for text in [
        " Queue ",
        "c1",
        "tcp 127.0.0.1:4059",
        "c2",
        "m1",
        "m2",
        "r1",
        "event go",
        "energy",
        "1.0.1.8.0.255",
        "power",
    ] {
        assert!(screen.contains(text), "{text} missing in\n{screen}");
    }
    assert!(!screen.contains("Queue *"));
    let order: Vec<Node> = h.view.rows();
    assert_eq!(
        order,
        [
            Node::Connection(0),
            Node::Meter(0),
            Node::Meter(1),
            Node::Connection(1),
            Node::Request(0),
            Node::Item(0, 0),
            Node::Item(0, 1),
        ]
    );
}

#[tokio::test]
async fn a_bad_address_size_is_shown_inline_and_blocks_saving() {
    let mut h = Harness::new();
    h.open(Node::Meter(0), Field::AddressSize);
    h.press(KeyCode::Enter);
    h.retype("3");
    h.press(KeyCode::Enter);
    let screen = h.screen();
    assert!(
        screen.contains("✗ 3 is not allowed; use 1, 2 or 4"),
        "{screen}"
    );
    assert!(screen.contains("Queue *"));
    h.keys("s");
    let (message, error) = h.message();
    assert!(error && message.contains("address_size"), "{message}");
    assert!(!h.ctx.config_path.exists());
    assert!(h.rx.try_recv().is_err());
    // Cycling picks the allowed sizes and clears the problem.
    h.press(KeyCode::Left);
    assert_eq!(h.view.work.meters[0].address_size, 4);
    assert!(h.view.problems.first(&h.view.work).is_none());
}

#[tokio::test]
async fn the_schedule_shows_the_next_three_fires_while_typing() {
    let mut h = Harness::new();
    h.open(Node::Request(0), Field::Schedule);
    let fires = |s: &str| s.lines().filter(|l| l.contains("· 20")).count();
    assert!(h.screen().contains("fires when event go is raised"));
    h.press(KeyCode::Enter);
    h.retype("every 1h");
    let screen = h.screen();
    assert!(screen.contains("next fires:"), "{screen}");
    assert_eq!(fires(&screen), 3, "{screen}");
    h.press(KeyCode::Enter);
    let schedule = &h.view.work.requests[0].schedule;
    assert_eq!(*schedule, Schedule::Every(Duration::from_secs(3600)));
    assert_eq!(fires(&h.screen()), 3);
    h.press(KeyCode::Enter);
    h.retype("every 0s");
    let screen = h.screen();
    assert!(screen.contains("greater than zero"), "{screen}");
    assert_eq!(fires(&screen), 0);
    h.press(KeyCode::Esc);
    assert_eq!(fires(&h.screen()), 3);
}

#[tokio::test]
async fn a_bad_obis_is_kept_and_shown_until_fixed() {
    let mut h = Harness::new();
    h.open(Node::Item(0, 0), Field::Obis);
    h.press(KeyCode::Enter);
    h.retype("1.2.3");
    h.press(KeyCode::Enter);
    let screen = h.screen();
    assert!(
        screen.contains("1.2.3") && screen.contains("invalid OBIS code"),
        "{screen}"
    );
    assert_eq!(
        h.view.work.requests[0].items[0].obis.to_string(),
        "1.0.1.8.0.255"
    );
    h.keys("s");
    let (message, error) = h.message();
    assert!(error && message.contains("OBIS"), "{message}");
    // Editing starts from the kept text; a valid code replaces it, and the class follows.
    h.press(KeyCode::Enter);
    assert_eq!(h.view.editing.as_ref().map(LineEdit::text), Some("1.2.3"));
    h.retype("0-0:1.0.0");
    h.press(KeyCode::Enter);
    let item = &h.view.work.requests[0].items[0];
    assert_eq!(
        (item.obis.to_string().as_str(), item.class_id),
        ("0.0.1.0.0.255", 8)
    );
    assert!(h.view.problems.first(&h.view.work).is_none());
}

#[tokio::test]
async fn add_duplicate_move_and_delete_edit_the_copy() {
    let mut h = Harness::new();
    h.open(Node::Meter(0), Field::Name);
    h.press(KeyCode::Esc);
    h.keys("a");
    assert_eq!(h.names(), ["m1", "meter", "m2"]);
    assert_eq!(h.view.work.meters[1].connection, "c1");
    h.keys("c");
    assert_eq!(h.names(), ["m1", "meter", "meter (2)", "m2"]);
    h.keys("K");
    assert_eq!(h.names(), ["m1", "meter (2)", "meter", "m2"]);
    assert_eq!(h.view.selected(), Some(Node::Meter(1)));
    h.keys("JJ");
    assert_eq!(h.names(), ["m1", "meter", "m2", "meter (2)"]);
    h.keys("d");
    assert!(h.view.captures_keys());
    assert!(h.screen().contains("Delete meter \"meter (2)\"?"));
    h.keys("n");
    assert_eq!(h.names().len(), 4);
    h.keys("dy");
    assert_eq!(h.names(), ["m1", "meter", "m2"]);
    assert!(h.screen().contains("Queue *"));

    // Used nodes are not deleted.
    h.open(Node::Connection(0), Field::Name);
    h.press(KeyCode::Esc);
    h.keys("d");
    let (message, error) = h.message();
    assert!(
        error && message.contains("used by meter(s) m1, meter, m2"),
        "{message}"
    );
    assert!(!h.view.captures_keys() && h.view.work.connections.len() == 2);
    h.view.select(Node::Meter(0));
    h.keys("d");
    assert!(h.message().0.contains("used by request(s) r1"));

    // Children: a meter on c2, an item in r1, a request reading a meter.
    h.view.select(Node::Connection(1));
    h.keys("A");
    assert_eq!(h.view.work.meters[3].connection, "c2");
    assert_eq!(h.view.selected(), Some(Node::Meter(3)));
    h.keys("A");
    assert_eq!(h.view.work.requests[1].meters, [h.names()[3]]);
    h.view.select(Node::Request(0));
    h.keys("A");
    let items: Vec<&str> = h.view.work.requests[0]
        .items
        .iter()
        .map(|i| i.name.as_str())
        .collect();
    assert_eq!(items, ["energy", "power", "item"]);
    assert!(h.view.problems.first(&h.view.work).is_none());
}

#[tokio::test]
async fn renaming_carries_references_along() {
    let mut h = Harness::new();
    h.open(Node::Connection(0), Field::Name);
    h.press(KeyCode::Enter);
    h.retype("main");
    h.press(KeyCode::Enter);
    h.open(Node::Meter(0), Field::Name);
    h.press(KeyCode::Enter);
    h.retype("north");
    h.press(KeyCode::Enter);
    assert!(h.view.work.meters.iter().all(|m| m.connection == "main"));
    assert_eq!(h.view.work.requests[0].meters, ["north"]);
    assert!(h.view.problems.first(&h.view.work).is_none());
}

#[tokio::test]
async fn a_serial_link_shows_its_fields() {
    let mut h = Harness::new();
    h.open(Node::Connection(1), Field::Kind);
    h.press(KeyCode::Char(' '));
    h.open(Node::Connection(1), Field::Baud);
    h.press(KeyCode::Right);
    h.open(Node::Connection(1), Field::Parity);
    h.press(KeyCode::Left);
    let screen = h.screen();
    assert!(
        screen.contains("serial /dev/ttyUSB0") && screen.contains("19200"),
        "{screen}"
    );
    // Mark and space are not offered: the serial driver cannot set them.
    assert!(screen.contains("◂ odd ▸"), "{screen}");
    assert!(h.view.problems.first(&h.view.work).is_none());
}

#[tokio::test]
async fn cycling_the_link_to_listen_shows_its_host_and_port() {
    let mut h = Harness::new();
    h.open(Node::Connection(1), Field::Kind);
    h.press(KeyCode::Char(' '));
    h.press(KeyCode::Char(' '));
    let screen = h.screen();
    assert!(
        screen.contains("◂ listen ▸") && screen.contains("listen 127.0.0.1:4060"),
        "{screen}"
    );
    let fields = field::fields(&h.view.work, Node::Connection(1));
    use Field::*;
    assert_eq!(fields, [Name, Kind, Host, Port, Mode, Enabled]);
    h.open(Node::Connection(1), Field::Port);
    h.press(KeyCode::Enter);
    h.retype("0");
    h.press(KeyCode::Enter);
    assert!(h.screen().contains("✗ 0 is not allowed; use 1 to 65535"));
    h.press(KeyCode::Enter);
    h.retype("4061");
    h.press(KeyCode::Enter);
    assert!(h.view.problems.first(&h.view.work).is_none());
    h.open(Node::Connection(1), Field::Kind);
    h.press(KeyCode::Char(' '));
    assert!(h.screen().contains("tcp 127.0.0.1:4059"));
}

#[tokio::test]
async fn a_listen_meter_without_identity_shows_the_problem_in_its_form() {
    let mut h = Harness::new();
    h.open(Node::Connection(0), Field::Kind);
    // Back from tcp: udp, then listen.
    h.press(KeyCode::Left);
    h.press(KeyCode::Left);
    h.open(Node::Meter(0), Field::DeviceName);
    let screen = h.screen_sized(200, 30);
    assert!(
        screen.contains("device name        —")
            && screen.contains("✗ a meter on the listening connection \"c1\" needs device_name"),
        "{screen}"
    );
    h.press(KeyCode::Enter);
    h.keys("DLG0000000000001");
    h.press(KeyCode::Enter);
    assert_eq!(
        h.view.work.meters[0].device_name.as_deref(),
        Some("DLG0000000000001")
    );
    let rules: Vec<_> = h.view.problems.rules.iter().map(|r| r.at).collect();
    assert_eq!(rules, [Some((Node::Meter(1), None))]);
}

#[tokio::test]
async fn an_items_unit_is_edited_checked_and_saved() {
    let mut h = Harness::new();
    let energy = Node::Item(0, 0);
    assert!(field::fields(&h.view.work, energy).contains(&Field::Unit));
    h.open(energy, Field::Unit);
    h.press(KeyCode::Enter);
    h.retype("kWh");
    h.press(KeyCode::Enter);
    h.open(energy, Field::Scale);
    h.press(KeyCode::Enter);
    h.retype("0.001");
    h.press(KeyCode::Enter);
    let item = &h.view.work.requests[0].items[0];
    assert_eq!(
        (item.unit.as_deref(), item.scale),
        (Some("kWh"), Some(0.001))
    );
    assert!(h.screen().contains("kWh"), "{}", h.screen());
    h.press_with(KeyCode::Char('s'), KeyModifiers::CONTROL);
    let (message, error) = h.message();
    assert!(!error, "{message}");
    let text = std::fs::read_to_string(&h.ctx.config_path).unwrap();
    assert!(text.contains("unit = \"kWh\""), "{text}");
    assert_eq!(Config::load(&h.ctx.config_path).unwrap(), h.view.work);
    // A unit with a control character is refused where it is typed.
    h.open(energy, Field::Unit);
    h.press(KeyCode::Enter);
    h.retype("k\u{1b}Wh");
    h.press(KeyCode::Enter);
    assert!(h.screen().contains("U+001B"), "{}", h.screen());
    assert_eq!(
        h.view.work.requests[0].items[0].unit.as_deref(),
        Some("kWh")
    );
}

#[tokio::test]
async fn saving_writes_the_file_and_reloads_the_runner() {
    let mut h = Harness::new();
    h.view.select(Node::Request(0));
    h.keys("e");
    assert!(!h.view.work.requests[0].enabled);
    assert!(h.screen().contains("Queue *"));
    h.press_with(KeyCode::Char('s'), KeyModifiers::CONTROL);
    let (message, error) = h.message();
    assert!(!error && message.starts_with("saved to"), "{message}");
    let saved = Config::load(&h.ctx.config_path).unwrap();
    assert_eq!(saved, h.view.work);
    match h.rx.try_recv() {
        Ok(AppEvent::Reload(config)) => assert_eq!(*config, saved),
        other => panic!("expected a reload, got {other:?}"),
    }
    assert!(!h.screen().contains("Queue *"));
}

#[tokio::test]
async fn undo_goes_back_to_the_running_queue_after_asking() {
    let mut h = Harness::new();
    h.view.select(Node::Meter(1));
    h.keys("a");
    h.keys("u");
    assert!(h.screen().contains("Discard all unsaved changes"));
    h.keys("y");
    assert_eq!(h.view.work, *h.ctx.config());
    assert!(!h.screen().contains("Queue *"));
}

#[tokio::test]
async fn the_password_never_reaches_the_screen() {
    let mut h = Harness::new();
    h.open(Node::Meter(0), Field::Password);
    let screen = h.screen();
    assert!(
        screen.contains("********") && !screen.contains("hunter2"),
        "{screen}"
    );
    h.press(KeyCode::Enter);
    h.keys("s3cret");
    let screen = h.screen();
    assert!(
        screen.contains("******") && !screen.contains("s3cret"),
        "{screen}"
    );
    h.press(KeyCode::Enter);
    assert_eq!(h.view.work.meters[0].auth, Auth::Low(Secret::new("s3cret")));
    // Enter with nothing typed keeps the password.
    h.press(KeyCode::Enter);
    h.press(KeyCode::Enter);
    assert_eq!(h.view.work.meters[0].auth, Auth::Low(Secret::new("s3cret")));
    assert!(!h.screen().contains("s3cret"));
}

const BLOCK_KEY: &str = "0123456789ABCDEF0123456789ABCDEF";
const AUTH_KEY: &str = "FEDCBA9876543210FEDCBA9876543210";

impl Harness {
    /// Meter m2 with ciphering and both keys.
    fn ciphered(&mut self) {
        let key = |hex| Some(KeySecret::parse(hex, SecretSource::Inline).unwrap());
        let s = &mut self.view.work.meters[1].security;
        s.policy = Policy::AuthEnc;
        s.block_key = key(BLOCK_KEY);
        s.auth_key = key(AUTH_KEY);
        self.view.changed();
    }

    /// The screen, checked for any form of the keys.
    fn masked_screen(&mut self) -> String {
        let screen = self.screen();
        let compact: String = screen.split_whitespace().collect();
        for key in [BLOCK_KEY, AUTH_KEY, "0123456789", "FEDCBA98"] {
            let lower = key.to_lowercase();
            assert!(
                !compact.contains(key) && !compact.contains(&lower),
                "{key} on\n{screen}"
            );
        }
        screen
    }
}

#[tokio::test]
async fn keys_never_reach_the_screen() {
    let mut h = Harness::new();
    h.ciphered();
    h.open(Node::Meter(1), Field::BlockKey);
    let screen = h.masked_screen();
    assert!(
        screen.contains("block key") && screen.contains("********"),
        "{screen}"
    );
    assert!(screen.contains("444C470000000001"), "{screen}");
    // Editing starts empty and shows only stars.
    h.press(KeyCode::Enter);
    assert_eq!(h.view.editing.as_ref().map(LineEdit::text), Some(""));
    h.keys(&AUTH_KEY.to_lowercase());
    assert!(h.masked_screen().contains("keeps the current key"));
    h.press(KeyCode::Enter);
    let key = |h: &Harness| h.view.work.meters[1].security.block_key.clone();
    assert_eq!(key(&h).map(|k| k.expose()[0]), Some(0xFE));
    // Enter with nothing typed keeps the key; `-` removes it, which ciphering does not allow.
    h.press(KeyCode::Enter);
    h.press(KeyCode::Enter);
    assert_eq!(key(&h).map(|k| k.expose()[0]), Some(0xFE));
    h.press(KeyCode::Enter);
    h.keys("-");
    h.press(KeyCode::Enter);
    assert_eq!(key(&h), None);
    let screen = h.masked_screen();
    assert!(screen.contains("is required with policy ="), "{screen}");
}

#[tokio::test]
async fn a_30_digit_key_is_rejected_inline() {
    let mut h = Harness::new();
    h.ciphered();
    h.open(Node::Meter(1), Field::AuthKey);
    h.press(KeyCode::Enter);
    h.keys(&BLOCK_KEY[..30]);
    h.press(KeyCode::Enter);
    let screen = h.masked_screen();
    assert!(
        screen.contains("got 30 characters") && screen.contains(&"*".repeat(30)),
        "{screen}"
    );
    let kept = h.view.work.meters[1].security.auth_key.as_ref();
    assert_eq!(kept.map(|k| k.expose()[0]), Some(0xFE));
    h.keys("s");
    let (message, error) = h.message();
    assert!(
        error && message.contains("auth key: must be 32 hex digits"),
        "{message}"
    );
    assert!(!message.contains("0123456789"));
    // A system title of the wrong length is refused the same way.
    h.open(Node::Meter(1), Field::SystemTitle);
    h.press(KeyCode::Enter);
    h.retype("4C4752");
    h.press(KeyCode::Enter);
    assert!(h.masked_screen().contains("got 6 characters"));
}

#[tokio::test]
async fn switching_the_level_shows_the_right_secret_field() {
    let mut h = Harness::new();
    h.open(Node::Meter(1), Field::AuthLevel);
    let secrets = |h: &Harness| {
        let fields = h.view.fields();
        (
            h.view.work.meters[1].auth.level(),
            fields.contains(&Field::Password),
            fields.contains(&Field::Secret),
            fields.contains(&Field::BlockKey),
        )
    };
    assert_eq!(secrets(&h), ("none", false, false, false));
    h.press(KeyCode::Right);
    assert_eq!(secrets(&h), ("low", true, false, false));
    let wide = h.screen_sized(200, 40);
    assert!(
        wide.contains("is empty; level = \"low\" needs the meter's password"),
        "{wide}"
    );
    h.press(KeyCode::Right);
    assert_eq!(secrets(&h), ("high", false, true, false));
    let screen = h.screen();
    assert!(
        screen.contains(" secret ") && !screen.contains("password"),
        "{screen}"
    );
    h.open(Node::Meter(1), Field::Secret);
    h.press(KeyCode::Enter);
    h.keys("hls-secret");
    h.press(KeyCode::Enter);
    assert!(!h.screen().contains("hls-secret"));
    // The HLS levels keep the secret.
    h.open(Node::Meter(1), Field::AuthLevel);
    h.press(KeyCode::Right);
    assert_eq!(secrets(&h), ("md5", false, true, false));
    assert_eq!(
        h.view.work.meters[1].auth,
        Auth::Md5(Secret::new("hls-secret"))
    );
    h.press(KeyCode::Right);
    h.press(KeyCode::Right);
    assert_eq!(secrets(&h), ("sha256", false, true, true));
    // GMAC authenticates with the keys, so they show and are required.
    h.press(KeyCode::Right);
    assert_eq!(secrets(&h), ("gmac", false, false, true));
    let wide = h.screen_sized(200, 40);
    assert!(
        wide.contains("is required with auth = { level = \"gmac\" }"),
        "{wide}"
    );
    h.press(KeyCode::Right);
    assert_eq!(secrets(&h), ("none", false, false, false));
    // A policy shows the keys too.
    h.open(Node::Meter(1), Field::Policy);
    h.press(KeyCode::Left);
    assert_eq!(h.view.work.meters[1].security.policy, Policy::AuthEnc);
    assert!(h.view.fields().contains(&Field::IcObis));
}

#[tokio::test]
async fn a_test_reports_its_outcome_in_the_form() {
    let mut h = Harness::new();
    h.view.select(Node::Connection(1));
    h.keys("t");
    assert!(h.screen().contains("testing…"));
    let event = tokio::time::timeout(Duration::from_secs(10), h.rx.recv()).await;
    let Ok(Some(AppEvent::Task(Tab::Queue, result))) = event else {
        panic!("no test result: {event:?}");
    };
    h.view.on_task(result, &mut h.ctx);
    let screen = h.screen();
    assert!(
        screen.contains("test: ✗") || screen.contains("test: ✓"),
        "{screen}"
    );
}

#[tokio::test]
async fn validation_paths_name_their_node_and_field() {
    let mut h = Harness::new();
    h.ciphered();
    let at = |path: &str| problems::locate(&h.view.work, path);
    assert_eq!(
        at("meter \"m1\".address_size"),
        Some((Node::Meter(0), Some(Field::AddressSize)))
    );
    assert_eq!(
        at("meter \"m1\".auth.password"),
        Some((Node::Meter(0), Some(Field::Password)))
    );
    assert_eq!(
        at("meter \"m2\".security.auth_key"),
        Some((Node::Meter(1), Some(Field::AuthKey)))
    );
    assert_eq!(
        at("meter \"m1\".security.block_key"),
        Some((Node::Meter(0), None))
    );
    assert_eq!(
        at("connection \"c2\".tcp.port"),
        Some((Node::Connection(1), Some(Field::Port)))
    );
    assert_eq!(
        at("request \"r1\".items[2].obis"),
        Some((Node::Item(0, 1), Some(Field::Obis)))
    );
    assert_eq!(
        at("request \"r1\".meters[1]"),
        Some((Node::Request(0), Some(Field::Meters)))
    );
    assert_eq!(at("request \"r1\".items"), Some((Node::Request(0), None)));
    assert_eq!(at("request \"r9\".name"), None);
    h.view.work.connections[1].link = crate::queue::Link::Listen {
        host: "0.0.0.0".into(),
        port: 4060,
    };
    assert_eq!(
        problems::locate(&h.view.work, "connection \"c2\".listen.host"),
        Some((Node::Connection(1), Some(Field::Host)))
    );
}

#[tokio::test]
async fn any_keys_at_any_size_never_panic() {
    let mut h = Harness::new();
    let keys = [
        KeyCode::Up,
        KeyCode::Down,
        KeyCode::Left,
        KeyCode::Right,
        KeyCode::Enter,
        KeyCode::Esc,
        KeyCode::Backspace,
        KeyCode::Delete,
        KeyCode::Home,
        KeyCode::End,
        KeyCode::Tab,
        KeyCode::Char('a'),
        KeyCode::Char('A'),
        KeyCode::Char('c'),
        KeyCode::Char('d'),
        KeyCode::Char('y'),
        KeyCode::Char('n'),
        KeyCode::Char('K'),
        KeyCode::Char('J'),
        KeyCode::Char('e'),
        KeyCode::Char(' '),
        KeyCode::Char('j'),
        KeyCode::Char('k'),
        KeyCode::Char('s'),
        KeyCode::Char('u'),
        KeyCode::Char('3'),
        KeyCode::Char('.'),
        KeyCode::Char('é'),
    ];
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for n in 0..3000 {
        // xorshift: a fixed, reproducible key sequence.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let code = keys[(seed % keys.len() as u64) as usize];
        h.press(code);
        if n % 50 == 0 {
            for (w, hgt) in [(20, 5), (100, 30), (37, 11)] {
                h.screen_sized(w, hgt);
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_adds_the_meter_it_finds() {
    let (addrs, _sim) = crate::sim::start(crate::sim::SimConfig {
        port: 0,
        interface: crate::engine::Interface::Hdlc,
        physical: Some(17),
        address_size: Some(2),
        ..Default::default()
    })
    .await
    .unwrap();
    let text = format!(
        "[[connection]]\nname = \"lab\"\ntcp = {{ host = \"127.0.0.1\", port = {} }}\n",
        addrs[0].port()
    );
    let config = Config::parse(&text, "probe.toml").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("log.db");
    let (writer, handle) = crate::store::Writer::spawn(&db).unwrap();
    let runner = crate::runner::Runner::start(config, handle, 1);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let queries = crate::store::spawn_reader(&db).unwrap();
    let mut ctx = Ctx::new(runner.handle(), queries, dir.path().join("q.toml"), tx);
    let mut view = QueueView::new(&ctx);
    view.select(Node::Connection(0));
    view.handle_key(KeyEvent::from(KeyCode::Char('p')), &mut ctx);
    let event = tokio::time::timeout(Duration::from_secs(60), rx.recv()).await;
    let Ok(Some(AppEvent::Task(Tab::Queue, result))) = event else {
        panic!("no probe result: {event:?}");
    };
    view.on_task(result, &mut ctx);
    let m = &view.work.meters[0];
    assert_eq!(
        (m.connection.as_str(), m.physical, m.address_size),
        ("lab", 17, 2),
        "{m:?}"
    );
    assert_eq!(m.interface, crate::queue::InterfaceKind::Hdlc);
    assert!(
        view.dirty(),
        "added to the working copy, for the operator to save"
    );
    runner.shutdown().await;
    writer.shutdown().unwrap();
}

#[tokio::test]
async fn a_file_changed_on_disk_is_followed_or_never_clobbered_silently() {
    let mut h = Harness::new();
    let path = h.ctx.config_path.clone();
    h.press(KeyCode::Char('s'));
    let saved = std::fs::read_to_string(&path).unwrap();

    // Another editor changes the file; the view has no edits, so it follows.
    std::fs::write(&path, saved.replace("event = \"go\"", "event = \"went\"")).unwrap();
    h.view.refresh(&mut h.ctx);
    assert!(h
        .ctx
        .message()
        .unwrap()
        .0
        .contains("changed on disk: loaded"));
    assert_eq!(
        h.view.work.requests[0].schedule,
        Schedule::Event("went".into())
    );

    // Now with an edit here, and another change there: nothing is lost silently.
    h.view.work.meters[1].client = 99;
    let theirs = std::fs::read_to_string(&path)
        .unwrap()
        .replace("event = \"went\"", "event = \"gone\"");
    std::fs::write(&path, &theirs).unwrap();
    h.view.refresh(&mut h.ctx);
    let (message, error) = h.ctx.message().unwrap();
    assert!(error && message.contains("unsaved edits"), "{message}");
    assert_eq!(h.view.work.meters[1].client, 99, "the edit is kept");
    h.press(KeyCode::Char('s'));
    assert!(h.screen().contains("changed on disk since it was loaded"));
    h.press(KeyCode::Char('n'));
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        theirs,
        "n keeps their file"
    );
    // u takes theirs.
    h.press(KeyCode::Char('u'));
    h.press(KeyCode::Char('y'));
    assert_eq!(
        h.view.work.requests[0].schedule,
        Schedule::Event("gone".into())
    );
    assert_eq!(h.view.work.meters[1].client, 16);
    assert!(!h.view.dirty());
}

#[tokio::test]
async fn a_typed_value_is_checked_at_every_key_before_enter() {
    let mut h = Harness::new();
    h.open(Node::Item(0, 0), Field::Obis);
    h.press(KeyCode::Enter);
    h.retype("1.0.x");
    // Not committed, already refused.
    let screen = h.screen();
    assert!(screen.contains("✗ invalid OBIS code \"1.0.x\""), "{screen}");
    assert!(h.view.problems.invalid.is_empty());
    h.retype("1.0.2.8.0.255");
    assert!(!h.screen().contains("invalid OBIS"), "{}", h.screen());
    // A value that parses but breaks a rule of the queue: a client address HDLC cannot carry.
    h.press(KeyCode::Esc);
    h.open(Node::Meter(1), Field::Interface);
    h.press(KeyCode::Right);
    assert_eq!(
        h.view.work.meters[1].interface,
        crate::queue::InterfaceKind::Hdlc
    );
    h.open(Node::Meter(1), Field::Client);
    h.press(KeyCode::Enter);
    h.retype("200");
    let screen = h.screen_sized(200, 30);
    assert!(
        screen.contains("✗ 200 is not allowed; use 0 to 127 with interface = \"hdlc\""),
        "{screen}"
    );
    h.press(KeyCode::Backspace);
    h.press(KeyCode::Backspace);
    h.keys("7");
    assert!(
        !h.screen_sized(200, 30).contains("✗"),
        "{}",
        h.screen_sized(200, 30)
    );
    assert_eq!(h.view.work.meters[1].client, 16, "nothing committed yet");
}

#[tokio::test]
async fn every_broken_rule_is_shown_not_only_the_first() {
    let mut h = Harness::new();
    h.view.work.meters[0].retries = 11;
    h.view.work.meters[1].timeout_ms = 0;
    h.view.changed();
    let at: Vec<_> = h.view.problems.rules.iter().map(|r| r.at).collect();
    assert_eq!(
        at,
        [
            Some((Node::Meter(0), Some(Field::Retries))),
            Some((Node::Meter(1), Some(Field::Timeout)))
        ]
    );
    let first = h.view.problems.first(&h.view.work).unwrap();
    assert!(first.ends_with("(and 1 more problems)"), "{first}");
}

#[tokio::test]
async fn a_key_is_checked_while_typed_and_never_shown() {
    let mut h = Harness::new();
    h.view.work.meters[1].security.policy = Policy::Auth;
    h.view.changed();
    h.open(Node::Meter(1), Field::BlockKey);
    h.press(KeyCode::Enter);
    h.keys("00A1");
    let screen = h.screen_sized(200, 40);
    assert!(
        screen.contains("✗ must be 32 hex digits (a 128-bit key); got 4 characters"),
        "{screen}"
    );
    assert!(!screen.contains("00A1"), "{screen}");
    h.keys("0102030405060708090A0B0C0D0E");
    let screen = h.screen_sized(200, 40);
    assert!(!screen.contains("✗ must be 32 hex digits"), "{screen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn i_opens_the_last_failure_of_a_request_meter_or_item_in_full() {
    use crate::tui::views::testkit::{harness, key, reading};
    let config = Config::parse(CONFIG, "test.toml").unwrap();
    let row = |ts_ms: i64, item: &str, status: &str| {
        let mut r = reading("m1", item, ts_ms, 1.0);
        r.request = "r1".into();
        if status != crate::store::STATUS_OK {
            r.value = None;
            r.status = status.into();
        }
        r
    };
    let long = "timed out after 5000 ms waiting for the answer to GET 1.0.1.7.0.255:2 (class 3): \
                the meter sent nothing, not even a partial frame, so its link or address is wrong";
    let rows = [
        row(1_000, "energy", "connection refused"),
        row(2_000, "power", long),
        row(3_000, "energy", crate::store::STATUS_OK),
    ];
    let mut h = harness(config, &rows);
    let mut v = QueueView::new(&h.ctx);
    let text = |h: &mut crate::tui::views::testkit::Harness, v: &mut QueueView| {
        h.screen(v, 80, 24).join("\n")
    };
    // The tree: c1, m1, r1 … ; select the request.
    let to = |h: &mut crate::tui::views::testkit::Harness, v: &mut QueueView, name: &str| {
        h.keys(v, &[key(KeyCode::Home)]);
        for _ in 0..20 {
            if v.selected()
                .and_then(|n| n.name(&v.work).map(str::to_string))
                .as_deref()
                == Some(name)
            {
                return;
            }
            h.keys(v, &[key(KeyCode::Down)]);
        }
        panic!("no node {name} in the tree");
    };
    to(&mut h, &mut v, "r1");
    h.keys(&mut v, &[key(KeyCode::Char('i'))]);
    let shown = text(&mut h, &mut v);
    // The newest failure of the request, whole (wrapped, not cut), though a later read went well.
    assert!(shown.contains("power"), "{shown}");
    assert!(shown.contains("not even a partial"), "{shown}");
    assert!(shown.contains("address is wrong"), "{shown}");
    h.keys(&mut v, &[key(KeyCode::Esc)]);
    assert!(!text(&mut h, &mut v).contains("not even a partial"));
    // An item: its own last failure.
    to(&mut h, &mut v, "energy");
    h.keys(&mut v, &[key(KeyCode::Char('i'))]);
    let shown = text(&mut h, &mut v);
    assert!(shown.contains("connection refused"), "{shown}");
    h.keys(&mut v, &[key(KeyCode::Esc)]);
    // A meter that never failed says so.
    to(&mut h, &mut v, "m2");
    h.keys(&mut v, &[key(KeyCode::Char('i'))]);
    assert!(v.detail.is_none());
    let said = h
        .ctx
        .message()
        .map(|(m, _)| m.to_string())
        .unwrap_or_default();
    assert!(said.contains("no failure"), "{said}");
}
