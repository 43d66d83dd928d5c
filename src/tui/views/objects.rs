//! The Objects view: read a meter's object list, pick objects, save them as a preset, and
//! build a request from them.
//!
//! ```text
//! ┌ Objects · m1 (1/2) · 12 objects, 2 marked · filter "energy" ───────────────┐
//! │⠙ reading the object list of m1… 1234 bytes                                 │  while reading
//! │  OBIS            class            ver name                         unit    │
//! │✓ 1.0.1.8.0.255   3 Register       0   Active energy import (+A)    Wh      │
//! └────────────────────────────────────────────────────────────────────────────┘
//! ```

mod browser;
mod keys;
mod list;
mod picker;
mod read;
mod request;

use super::form::{InputField, InputForm, Outcome};
use crate::queue::Preset;
use crate::tui::app::{Ctx, TaskResult, View};
use crate::tui::keymap::{self, Help};
use crate::tui::TuiError;
use browser::Browser;
use keys::{Action, KEYS};
use list::ObjectList;
use picker::{Pick, Picker};
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;
use read::Progress;
use std::path::PathBuf;

/// The dialog that has the keyboard.
#[derive(Debug)]
enum Dialog {
    /// The filter bar; the table narrows as the operator types, Esc restores `before`.
    Filter { form: InputForm, before: String },
    /// The preset file to save.
    Save(InputForm),
    /// The preset file to load.
    Load(Picker),
    /// Name and schedule of a new request.
    Request(InputForm),
}

/// The Objects view.
#[derive(Debug, Default)]
pub struct ObjectsView {
    /// Index of the meter in the running queue.
    meter: usize,
    list: ObjectList,
    reading: Option<Progress>,
    dialog: Option<Dialog>,
    /// Rows visible at the last draw, for PgUp/PgDn.
    page: usize,
    /// The object opened with Enter.
    browser: Option<Browser>,
}

impl ObjectsView {
    fn meter_name(&self, ctx: &Ctx) -> Option<String> {
        ctx.config().meters.get(self.meter).map(|m| m.name.clone())
    }

    /// Handles a key of the open dialog (there is one).
    fn handle_dialog(&mut self, key: KeyEvent, ctx: &mut Ctx) {
        let meter = self.meter_name(ctx);
        let Some(dialog) = &mut self.dialog else {
            return;
        };
        let done = match dialog {
            Dialog::Filter { form, before } => match form.handle_key(key) {
                Outcome::Editing => {
                    self.list.set_filter(&form.value("text"));
                    false
                }
                Outcome::Submit => true,
                Outcome::Cancel => {
                    self.list.set_filter(before);
                    true
                }
            },
            Dialog::Save(form) => match form.handle_key(key) {
                Outcome::Editing => false,
                Outcome::Cancel => true,
                Outcome::Submit => {
                    let file = PathBuf::from(form.value("file"));
                    match save(&self.list, &file) {
                        Ok(done) => {
                            ctx.info(done);
                            true
                        }
                        Err(e) => {
                            form.set_error(e.to_string());
                            false
                        }
                    }
                }
            },
            Dialog::Load(picker) => match picker.handle_key(key) {
                Pick::Choosing => false,
                Pick::Cancel => true,
                Pick::Chosen(file) => {
                    match Preset::load(&file) {
                        Ok(preset) => {
                            ctx.info(format!(
                                "loaded {} objects from {}",
                                preset.objects.len(),
                                file.display()
                            ));
                            self.list.set(preset);
                        }
                        Err(e) => ctx.error(e.to_string()),
                    }
                    true
                }
            },
            Dialog::Request(form) => match form.handle_key(key) {
                Outcome::Editing => false,
                Outcome::Cancel => true,
                Outcome::Submit => {
                    let added = match (self.list.preset(), meter) {
                        (Some(preset), Some(meter)) => {
                            request::add(ctx, form, preset, &meter, &self.list.selection())
                        }
                        _ => Err(TuiError::input("the meter or the object list is gone")),
                    };
                    match added {
                        Ok(done) => {
                            ctx.info(done);
                            true
                        }
                        Err(e) => {
                            form.set_error(e.to_string());
                            false
                        }
                    }
                }
            },
        };
        if done {
            self.dialog = None;
        }
    }

    /// Opens the dialog an action asks for.
    fn open_dialog(&mut self, action: Action, ctx: &mut Ctx) {
        let meter = self.meter_name(ctx);
        self.dialog = match action {
            Action::Filter => Some(Dialog::Filter {
                form: InputForm::new(
                    "filter by OBIS code or name",
                    vec![InputField::text("text", self.list.filter())],
                ),
                before: self.list.filter().to_string(),
            }),
            Action::Load => match Picker::open(&ctx.presets_dir) {
                Ok(picker) => Some(Dialog::Load(picker)),
                Err(e) => {
                    ctx.error(e.to_string());
                    None
                }
            },
            Action::Save | Action::NewRequest if self.list.preset().is_none() => {
                ctx.error("no object list yet: read one with r or load a preset with p");
                None
            }
            Action::Save => {
                let name = format!("{}.toml", meter.as_deref().unwrap_or("objects"));
                let file = ctx.presets_dir.join(name).display().to_string();
                Some(Dialog::Save(InputForm::new(
                    "save the marked objects (all when none is marked) as a preset",
                    vec![InputField::text("file", &file)],
                )))
            }
            Action::NewRequest => match meter {
                Some(meter) => Some(Dialog::Request(request::form(&ctx.config(), &meter))),
                None => {
                    ctx.error("the queue has no meter to read");
                    None
                }
            },
            _ => None,
        };
    }

    /// Opens the selected object in the browser.
    fn open_object(&mut self, ctx: &mut Ctx) {
        let (Some(meter), Some(object)) = (self.meter_name(ctx), self.list.selected_object())
        else {
            ctx.error("no object to open: read the object list with r first");
            return;
        };
        self.browser = Some(Browser::open(ctx, &meter, object.clone()));
    }

    fn start_read(&mut self, ctx: &mut Ctx) {
        if let Some(p) = &self.reading {
            ctx.error(format!("still reading the object list of {}", p.meter()));
            return;
        }
        match self.meter_name(ctx) {
            Some(meter) => self.reading = Some(Progress::start(ctx, meter)),
            None => ctx.error("the queue has no meter to read"),
        }
    }
}

/// Saves the chosen objects to `file`, creating its folder; returns what was done.
fn save(list: &ObjectList, file: &std::path::Path) -> Result<String, TuiError> {
    let preset = list
        .chosen()
        .ok_or_else(|| TuiError::input("no object list to save"))?;
    if file.as_os_str().is_empty() {
        return Err(TuiError::input("type a file name"));
    }
    if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| TuiError::file("create", dir, e))?;
    }
    preset.save(file)?;
    Ok(format!(
        "saved {} objects to {}",
        preset.objects.len(),
        file.display()
    ))
}

impl View for ObjectsView {
    fn bindings(&self) -> Vec<Help> {
        keymap::help(KEYS)
            .chain(keymap::help(browser::KEYS))
            .chain(keymap::help(Picker::KEYS))
            .chain(keymap::help(InputForm::KEYS))
            .collect()
    }

    fn handle_key(&mut self, key: KeyEvent, ctx: &mut Ctx) -> bool {
        if let Some(b) = &mut self.browser {
            if !b.handle_key(key, ctx) {
                self.browser = None;
            }
            return true;
        }
        if self.dialog.is_some() {
            self.handle_dialog(key, ctx);
            return true;
        }
        let Some(action) = keymap::action(KEYS, &key) else {
            return false;
        };
        let meters = ctx.config().meters.len().max(1);
        match action {
            Action::PreviousMeter => self.meter = (self.meter + meters - 1) % meters,
            Action::NextMeter => self.meter = (self.meter + 1) % meters,
            Action::Read => self.start_read(ctx),
            Action::Up => self.list.move_by(-1),
            Action::Down => self.list.move_by(1),
            Action::PageUp => self.list.move_by(-(self.page as isize)),
            Action::PageDown => self.list.move_by(self.page as isize),
            Action::First => self.list.move_by(isize::MIN),
            Action::Last => self.list.move_by(isize::MAX),
            Action::Mark => self.list.toggle(),
            Action::MarkShown => self.list.mark_visible(),
            Action::ClearFilter if self.list.filter().is_empty() => return false,
            Action::ClearFilter => self.list.set_filter(""),
            Action::Filter | Action::Save | Action::Load | Action::NewRequest => {
                self.open_dialog(action, ctx)
            }
            Action::Open => self.open_object(ctx),
        }
        true
    }

    fn refresh(&mut self, ctx: &mut Ctx) {
        let meters = ctx.config().meters.len();
        self.meter = self.meter.min(meters.saturating_sub(1));
        if let Some(p) = &mut self.reading {
            p.tick();
        }
    }

    fn on_task(&mut self, result: TaskResult, ctx: &mut Ctx) {
        match result {
            result @ (TaskResult::Attributes { .. } | TaskResult::Changed { .. }) => {
                if let Some(b) = &mut self.browser {
                    b.on_task(result, ctx);
                }
            }
            TaskResult::ObjectsProgress(bytes) => {
                if let Some(p) = &mut self.reading {
                    p.update(bytes);
                }
            }
            TaskResult::Objects(result) => {
                let meter = self
                    .reading
                    .take()
                    .map(|p| p.meter().to_string())
                    .unwrap_or_default();
                match result {
                    Ok(preset) => {
                        ctx.info(format!(
                            "read {} objects from {meter}",
                            preset.objects.len()
                        ));
                        self.list.set(preset);
                    }
                    Err(e) => ctx.error(format!("reading the object list of {meter}: {e}")),
                }
            }
            _ => {}
        }
    }

    fn render(&mut self, f: &mut Frame, area: Rect, ctx: &Ctx) {
        let config = ctx.config();
        let mut title = match config.meters.get(self.meter) {
            Some(m) => format!(
                " Objects · {} ({}/{}) ",
                m.name,
                self.meter + 1,
                config.meters.len()
            ),
            None => " Objects · no meters in the queue ".to_string(),
        };
        let (shown, marked) = self.list.counts();
        if let Some(preset) = self.list.preset() {
            title.push_str(&format!(
                "· {} objects, {marked} marked ",
                preset.objects.len()
            ));
        }
        if !self.list.filter().is_empty() {
            title.push_str(&format!(
                "· filter {:?}: {shown} shown ",
                self.list.filter()
            ));
        }
        let bar = match &self.dialog {
            Some(Dialog::Filter { form, .. }) => form.height(),
            _ => 0,
        };
        let progress = u16::from(self.reading.is_some());
        let [bar_area, progress_area, body] = Layout::vertical([
            Constraint::Length(bar),
            Constraint::Length(progress),
            Constraint::Min(0),
        ])
        .areas(area);
        if let Some(p) = &self.reading {
            f.render_widget(
                Paragraph::new(p.line()).style(Style::default().fg(Color::Cyan)),
                progress_area,
            );
        }
        if let Some(b) = &mut self.browser {
            b.render(f, body);
            return;
        }
        let block = Block::default().borders(Borders::ALL).title(title);
        if self.list.preset().is_some() {
            self.page = self.list.render(f, body, block);
        } else {
            let text = "No object list yet. Pick the meter with ←/→ and press r to read its \
                        object list, or p to load a saved preset.";
            f.render_widget(
                Paragraph::new(text).wrap(Wrap { trim: true }).block(block),
                body,
            );
        }
        match &mut self.dialog {
            Some(Dialog::Filter { form, .. }) => form.render(f, bar_area),
            Some(Dialog::Save(form) | Dialog::Request(form)) => form.render_popup(f, area),
            Some(Dialog::Load(picker)) => picker.render(f, area),
            None => {}
        }
    }

    fn captures_keys(&self) -> bool {
        self.dialog.is_some() || self.browser.as_ref().is_some_and(Browser::captures_keys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::Config;
    use crate::tui::app::AppEvent;
    use crate::tui::views::testkit::{config, every_key, harness, key, Harness};
    use ratatui::crossterm::event::KeyCode;
    use ratatui::crossterm::event::KeyModifiers;

    async fn with_sim() -> (Harness, ObjectsView) {
        let (addrs, _sim) = crate::sim::start(crate::sim::SimConfig {
            port: 0,
            ..Default::default()
        })
        .await
        .unwrap();
        let h = harness(config(addrs[0].port(), &["m1"]), &[]);
        (h, ObjectsView::default())
    }

    /// Presses `r` and feeds the background results to the view until the list arrives.
    async fn read(h: &mut Harness, view: &mut ObjectsView) {
        h.keys(view, &[key(KeyCode::Char('r'))]);
        let screen = h.screen(view, 80, 8).join("\n");
        assert!(screen.contains("reading the object list of m1"), "{screen}");
        let mut progressed = false;
        loop {
            let (_, result) = h.task().await;
            let last = matches!(result, TaskResult::Objects(_));
            progressed |= matches!(result, TaskResult::ObjectsProgress(n) if n > 0);
            view.on_task(result, &mut h.ctx);
            if last {
                break;
            }
        }
        assert!(progressed, "progress was reported");
    }

    fn clear_and_type(h: &mut Harness, view: &mut ObjectsView, text: &str) {
        h.keys(
            view,
            &[KeyEvent::new(KeyCode::Char('u'), KeyModifiers::CONTROL)],
        );
        h.type_text(view, text);
    }

    #[tokio::test]
    async fn reads_filters_marks_saves_and_loads_back() {
        let (mut h, mut view) = with_sim().await;
        read(&mut h, &mut view).await;
        assert_eq!(h.ctx.message(), Some(("read 13 objects from m1", false)));
        let screen = h.screen(&mut view, 100, 20).join("\n");
        assert!(
            screen.contains("13 objects, 0 marked")
                && screen.contains("1.0.1.8.0.255")
                && screen.contains("3 Register"),
            "{screen}"
        );

        h.keys(&mut view, &[key(KeyCode::Char('/'))]);
        h.type_text(&mut view, "ENERGY");
        let (shown, _) = view.list.counts();
        assert!(shown > 0 && shown < 12, "{shown}");
        h.keys(
            &mut view,
            &[
                key(KeyCode::Enter),
                key(KeyCode::Char(' ')),
                key(KeyCode::Char(' ')),
            ],
        );
        assert_eq!(view.list.counts().1, 2);
        h.keys(&mut view, &[key(KeyCode::Esc)]);
        assert_eq!(view.list.counts().0, 13, "Esc clears the filter");

        h.keys(&mut view, &[key(KeyCode::Char('s'))]);
        let file = h.ctx.presets_dir.join("m1.toml");
        assert!(h.screen(&mut view, 100, 20).join("\n").contains("m1.toml"));
        h.keys(&mut view, &[key(KeyCode::Enter)]);
        assert_eq!(
            h.ctx.message(),
            Some((
                format!("saved 2 objects to {}", file.display()).as_str(),
                false
            ))
        );
        assert_eq!(Preset::load(&file).unwrap().objects.len(), 2);

        // A second preset, then load the first one back through the picker.
        h.keys(
            &mut view,
            &[key(KeyCode::Char('*')), key(KeyCode::Char('s'))],
        );
        let all = h.ctx.presets_dir.join("all.toml").display().to_string();
        clear_and_type(&mut h, &mut view, &all);
        h.keys(&mut view, &[key(KeyCode::Enter), key(KeyCode::Char('p'))]);
        let picker = h.screen(&mut view, 100, 20).join("\n");
        assert!(
            picker.contains("all.toml") && picker.contains("m1.toml"),
            "{picker}"
        );
        h.keys(&mut view, &[key(KeyCode::Down), key(KeyCode::Enter)]);
        assert_eq!(view.list.preset().unwrap().objects.len(), 2);
        assert!(!view.captures_keys());
    }

    #[tokio::test]
    async fn builds_a_request_that_validates_and_is_saved() {
        let (mut h, mut view) = with_sim().await;
        read(&mut h, &mut view).await;
        h.keys(&mut view, &[key(KeyCode::Char('/'))]);
        h.type_text(&mut view, "1.0.1.8.0");
        h.keys(
            &mut view,
            &[
                key(KeyCode::Enter),
                key(KeyCode::Char('*')),
                key(KeyCode::Char('n')),
            ],
        );
        let form = h.screen(&mut view, 100, 20).join("\n");
        assert!(
            form.contains("m1 objects") && form.contains("every 15min"),
            "{form}"
        );
        // A bad schedule is shown in the dialog, which stays open.
        h.keys(&mut view, &[key(KeyCode::Tab)]);
        clear_and_type(&mut h, &mut view, "sometimes");
        h.keys(&mut view, &[key(KeyCode::Enter)]);
        assert!(view.captures_keys());
        assert!(h
            .screen(&mut view, 100, 20)
            .join("\n")
            .contains("schedule:"));
        clear_and_type(&mut h, &mut view, "every 1h");
        h.keys(&mut view, &[key(KeyCode::Enter)]);
        assert!(!view.captures_keys(), "{:?}", h.ctx.message());

        let saved = Config::load(&h.ctx.config_path).unwrap();
        let request = saved.request("m1 objects").unwrap();
        assert_eq!(request.meters, ["m1"]);
        assert_eq!(request.schedule.to_string(), "every 1h");
        assert_eq!(request.items.len(), view.list.selection().len());
        assert!(request
            .items
            .iter()
            .all(|i| i.obis.to_string().starts_with("1.0.1.8.0")));
        let reload = h
            .events()
            .into_iter()
            .find(|e| matches!(e, AppEvent::Reload(_)));
        assert!(reload.is_some(), "the loop is asked to run the new queue");
    }

    /// Selects the object `obis` in the list (read already) and opens it.
    async fn open(h: &mut Harness, view: &mut ObjectsView, obis: &str) -> String {
        h.keys(view, &[key(KeyCode::Char('/'))]);
        h.type_text(view, obis);
        h.keys(view, &[key(KeyCode::Enter), key(KeyCode::Enter)]);
        assert!(view.browser.is_some(), "{:?}", h.ctx.message());
        // The attributes come back from the connection's worker.
        let (_, result) = h.task().await;
        assert!(
            matches!(result, TaskResult::Attributes { .. }),
            "{result:?}"
        );
        view.on_task(result, &mut h.ctx);
        h.screen(view, 120, 24).join("\n")
    }

    #[tokio::test]
    async fn the_public_client_sees_an_object_read_only_and_may_not_change_it() {
        let (mut h, mut view) = with_sim().await;
        read(&mut h, &mut view).await;
        let screen = open(&mut h, &mut view, "0.0.1.0.0.255").await;
        for shown in [
            "0.0.1.0.0.255",
            "Clock (class 8, v0)",
            "read-only for this association",
            "time_zone",
            "read-only",
            "octet-string",
            "long",
            "adjust_to_quarter",
            "not allowed",
        ] {
            assert!(screen.contains(shown), "{shown:?} in {screen}");
        }
        // e on the clock's time says why instead of failing at the meter.
        h.keys(&mut view, &[key(KeyCode::Char('e'))]);
        let (message, error) = h.ctx.message().unwrap();
        assert!(error && message.contains("may change nothing"), "{message}");
        assert!(!view.captures_keys());
        h.keys(&mut view, &[key(KeyCode::Esc)]);
        assert!(view.browser.is_none(), "Esc goes back to the list");
    }

    #[tokio::test]
    async fn an_authenticated_client_writes_and_calls_after_confirming_and_it_is_recorded() {
        let (addrs, _sim) = crate::sim::start(crate::sim::SimConfig {
            port: 0,
            authentication: crate::dlms::client::Authentication::Low(b"00000000".to_vec()),
            ..Default::default()
        })
        .await
        .unwrap();
        let text = format!(
            "[[connection]]\nname = \"lab\"\ntcp = {{ host = \"127.0.0.1\", port = {} }}\n\
             [[meter]]\nname = \"m1\"\nconnection = \"lab\"\nclient = 17\n\
             auth = {{ level = \"low\", password = \"00000000\" }}\n",
            addrs[0].port()
        );
        let mut h = harness(Config::parse(&text, "t.toml").unwrap(), &[]);
        let mut view = ObjectsView::default();
        read(&mut h, &mut view).await;
        let screen = open(&mut h, &mut view, "1.0.1.8.0.255").await;
        assert!(
            screen.contains("this association may change it") && screen.contains("read-write"),
            "{screen}"
        );
        // The value, typed like the meter's: a bad one is refused while typing.
        h.keys(&mut view, &[key(KeyCode::Char('e'))]);
        assert!(view.captures_keys(), "{:?}", h.ctx.message());
        clear_and_type(&mut h, &mut view, "12x");
        let form = h.screen(&mut view, 120, 24).join("\n");
        assert!(form.contains("\"12x\" is not a whole number"), "{form}");
        clear_and_type(&mut h, &mut view, "123456");
        let form = h.screen(&mut view, 120, 24).join("\n");
        assert!(
            form.contains("→ SET 1.0.1.8.0.255:2 (class 3) = double-long-unsigned 123456"),
            "{form}"
        );
        // Enter shows the request decoded and in hex; n sends nothing.
        h.keys(&mut view, &[key(KeyCode::Enter)]);
        let confirm = h.screen(&mut view, 120, 30).join("\n");
        assert!(
            confirm.contains("Send this to m1?")
                && confirm.contains("APDU: SET 1.0.1.8.0.255:2")
                && confirm.contains("C101C1000301000108"),
            "{confirm}"
        );
        h.keys(&mut view, &[key(KeyCode::Char('n'))]);
        assert_eq!(h.ctx.message(), Some(("nothing was sent", false)));
        // Again, and y sends it: the result comes back, the value is read again.
        h.keys(&mut view, &[key(KeyCode::Char('e'))]);
        clear_and_type(&mut h, &mut view, "123456");
        h.keys(&mut view, &[key(KeyCode::Enter), key(KeyCode::Char('y'))]);
        let (_, result) = h.task().await;
        assert!(matches!(result, TaskResult::Changed { .. }), "{result:?}");
        view.on_task(result, &mut h.ctx);
        let (message, error) = h.ctx.message().unwrap();
        assert!(!error && message.contains("done (success"), "{message}");
        let (_, result) = h.task().await;
        view.on_task(result, &mut h.ctx);
        let screen = h.screen(&mut view, 120, 24).join("\n");
        assert!(
            screen.contains("last change: set 1.0.1.8.0.255:2 to 123456: done"),
            "{screen}"
        );
        assert!(
            screen.contains("12345"),
            "the new value is read back: {screen}"
        );

        // The register's reset method, called with its default integer 0.
        for _ in 0..3 {
            h.keys(&mut view, &[key(KeyCode::Down)]);
        }
        h.keys(&mut view, &[key(KeyCode::Char('x'))]);
        let form = h.screen(&mut view, 120, 24).join("\n");
        assert!(form.contains("→ ACTION 1.0.1.8.0.255 method 1"), "{form}");
        h.keys(&mut view, &[key(KeyCode::Enter), key(KeyCode::Enter)]);
        let (_, result) = h.task().await;
        view.on_task(result, &mut h.ctx);
        let (message, error) = h.ctx.message().unwrap();
        assert!(
            !error && message.contains("call 1.0.1.8.0.255 method 1 with 0: done"),
            "{message}"
        );

        // Both are in the writes table, as the Log view shows them.
        let store = crate::store::Store::open(&h.dir.path().join("log.db")).unwrap();
        let writes = store.writes(10).unwrap();
        assert_eq!(writes.len(), 2, "{writes:?}");
        assert!(writes
            .iter()
            .all(|(_, w)| w.source == "tui" && w.meter == "m1"));
        assert_eq!(
            writes[1]
                .1
                .new_value
                .as_deref()
                .map(|v| v.starts_with("12345")),
            Some(true)
        );
    }

    #[tokio::test]
    async fn explains_what_is_missing_and_no_key_panics() {
        let mut h = harness(Config::default(), &[]);
        let mut view = ObjectsView::default();
        for c in ['r', 's', 'n', 'p'] {
            h.keys(&mut view, &[key(KeyCode::Char(c))]);
            assert!(h.ctx.message().is_some_and(|(_, error)| error), "{c}");
        }
        let screen = h.screen(&mut view, 60, 8).join("\n");
        assert!(
            screen.contains("no meters") && screen.contains("press r"),
            "{screen}"
        );

        let mut h = harness(config(1, &["m1", "m2"]), &[]);
        view.list
            .set(Preset::load(std::path::Path::new("presets/sim.toml")).unwrap());
        for k in every_key() {
            if k.code == KeyCode::Char('r') {
                continue; // would start a read of a meter that is not there
            }
            h.keys(&mut view, &[k]);
            h.screen(&mut view, 20, 5);
            h.keys(&mut view, &[key(KeyCode::Esc), key(KeyCode::Esc)]);
            h.screen(&mut view, 80, 24);
        }
    }
}
