//! The Queue view: edit connections, meters, requests and items, test them, save the queue.
//!
//! ```text
//! ┌ Queue * ───────────────────┐┌ meter "m1" ────────────────────────────────┐
//! │▸ lab-tcp  tcp 10.0.0.5:4059││ name                m1                     │
//! │  · m1 !                    ││ address size        3                      │
//! │▸ instant  every 15s        ││                     ✗ 3 is not allowed; use│
//! │  · energy  1.0.1.8.0.255   ││ …                                          │
//! └ a add · d delete · … ──────┘└ Enter edit · ←/→ change · Esc back ────────┘
//! ```
//!
//! Edits go to a working copy of the running queue. Each field is parsed when committed (a
//! text that does not parse is kept, marked, and blocks saving) and the whole copy is
//! validated after every change. `s` saves the file and hands the copy to the runner.

mod confirm;
mod field;
mod form;
mod input;
mod keys;
mod node;
mod ops;
mod problems;
#[cfg(test)]
mod tests;
mod tree;

use crate::queue::Config;
use crate::tui::app::{Ctx, Tab, TaskResult, View};
use crate::tui::keymap::{self, Help};
use crate::tui::TuiError;
use field::{Entry, Field, FieldError};
use input::LineEdit;
use node::Node;
use problems::{Invalid, Problems};
use ratatui::crossterm::event::{KeyEvent, KeyModifiers};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Style};
use ratatui::widgets::{Block, ListState};
use ratatui::Frame;
use std::collections::HashMap;
use std::sync::Arc;

/// Which pane has the keyboard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Focus {
    Tree,
    Form,
}

/// A question waiting for y/n.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Confirm {
    Delete(Node),
    Undo,
    /// Save over a file that changed on disk since it was loaded.
    Overwrite,
}

/// The Queue view.
pub struct QueueView {
    /// The copy being edited.
    work: Config,
    /// The queue last loaded or saved; the copy differs from it = unsaved changes.
    base: Config,
    /// The runner's queue when last seen, to notice reloads.
    running: Arc<Config>,
    /// The selected tree row.
    cursor: usize,
    tree_state: ListState,
    focus: Focus,
    /// The selected form field.
    field: usize,
    editing: Option<LineEdit>,
    /// What is wrong with the text being edited, checked at every key (before Enter).
    live: Option<String>,
    confirm: Option<Confirm>,
    problems: Problems,
    /// Test outcomes by node (`meter m1`); `None` while running.
    tests: HashMap<String, Option<Result<String, TuiError>>>,
    /// The config file's text as last loaded or saved here (`None`: no file), to notice
    /// another editor's changes.
    disk: Option<String>,
    /// The file's queue when it changed on disk while there were unsaved edits.
    conflict: Option<Config>,
    /// The last failure of a node, in full (`i`).
    detail: Option<super::detail::RowDetail>,
    /// The number of the last `i` asked; older answers are dropped.
    asked_error: u64,
}

impl QueueView {
    /// The view, showing the running queue.
    pub fn new(ctx: &Ctx) -> Self {
        let running = ctx.config();
        let mut view = QueueView {
            work: (*running).clone(),
            base: (*running).clone(),
            running,
            cursor: 0,
            tree_state: ListState::default(),
            focus: Focus::Tree,
            field: 0,
            editing: None,
            live: None,
            confirm: None,
            problems: Problems::default(),
            tests: HashMap::new(),
            disk: std::fs::read_to_string(&ctx.config_path).ok(),
            conflict: None,
            detail: None,
            asked_error: 0,
        };
        view.changed();
        view
    }

    fn rows(&self) -> Vec<Node> {
        node::rows(&self.work)
    }

    fn selected(&self) -> Option<Node> {
        self.rows().get(self.cursor).copied()
    }

    fn select(&mut self, node: Node) {
        if let Some(i) = self.rows().iter().position(|n| *n == node) {
            self.cursor = i;
        }
    }

    fn fields(&self) -> Vec<Field> {
        self.selected()
            .map(|n| field::fields(&self.work, n))
            .unwrap_or_default()
    }

    fn selected_field(&self) -> Option<(Node, Field)> {
        Some((self.selected()?, *self.fields().get(self.field)?))
    }

    /// Unsaved changes: the copy differs from the saved queue, or a text was not accepted.
    fn dirty(&self) -> bool {
        self.work != self.base || !self.problems.invalid.is_empty()
    }

    /// After any change: re-validate, drop kept texts of fields that are gone, keep the selection in range.
    fn changed(&mut self) {
        let work = &self.work;
        self.problems
            .invalid
            .retain(|(n, f), _| field::fields(work, *n).contains(f));
        self.problems.check(&self.work);
        self.cursor = self.cursor.min(self.rows().len().saturating_sub(1));
        self.field = self.field.min(self.fields().len().saturating_sub(1));
        if self.selected().is_none() {
            self.focus = Focus::Tree;
        }
    }

    fn apply(&mut self, edit: ops::Edit) {
        self.problems.shift(edit.shift);
        self.select(edit.select);
        self.changed();
    }

    /// Keeps the result of setting a field: a text that did not parse is kept with its problem.
    fn after_set(&mut self, node: Node, field: Field, text: &str, result: Result<(), FieldError>) {
        match result {
            Ok(()) => {
                self.problems.invalid.remove(&(node, field));
            }
            Err(problem) => {
                let (text, problem) = (text.to_string(), problem.to_string());
                self.problems
                    .invalid
                    .insert((node, field), Invalid { text, problem });
            }
        }
        // The field list may change (link kind, addressing, auth level): stay on the same field.
        if let Some(i) = field::fields(&self.work, node)
            .iter()
            .position(|f| *f == field)
        {
            self.field = i;
        }
        self.changed();
    }

    fn cycle(&mut self, forward: bool) {
        if let Some((node, field)) = self.selected_field() {
            let result = field::cycle(&mut self.work, node, field, forward);
            self.after_set(node, field, "", result);
        }
    }

    fn start_edit(&mut self) {
        let Some((node, field)) = self.selected_field() else {
            return;
        };
        let text = match (self.problems.invalid.get(&(node, field)), field.entry()) {
            (Some(invalid), _) => invalid.text.clone(),
            // The password is never put on screen, so editing starts from nothing.
            (None, Entry::Secret) => String::new(),
            (None, _) => field::text(&self.work, node, field),
        };
        self.editing = Some(LineEdit::new(text));
        self.check_live();
    }

    /// Checks the text being edited as if Enter were pressed now: its form, then the rules of
    /// the queue that name this field.
    fn check_live(&mut self) {
        self.live = match (&self.editing, self.selected_field()) {
            (Some(edit), Some((node, field))) => {
                problems::live(&self.work, node, field, edit.text())
            }
            _ => None,
        };
    }

    fn commit(&mut self) {
        self.live = None;
        let (Some(edit), Some((node, field))) = (self.editing.take(), self.selected_field()) else {
            return;
        };
        let result = field::set(&mut self.work, node, field, edit.text());
        self.after_set(node, field, edit.text(), result);
    }

    fn edit_key(&mut self, key: KeyEvent, ctx: &mut Ctx) {
        match keymap::action(keys::EDIT, &key) {
            Some(keys::EditKey::Keep) => self.commit(),
            Some(keys::EditKey::Cancel) => {
                self.editing = None;
                self.live = None;
            }
            Some(keys::EditKey::Clear) => {
                self.editing = Some(LineEdit::default());
                self.check_live();
            }
            Some(keys::EditKey::KeepAndSave) => {
                self.commit();
                self.save(ctx);
            }
            None => {
                if let Some(edit) = &mut self.editing {
                    edit.key(key);
                }
                self.check_live();
            }
        }
    }

    fn tree_key(&mut self, key: KeyEvent, ctx: &mut Ctx) -> bool {
        let last = self.rows().len().saturating_sub(1);
        if let Some(step) = keymap::action(keys::MOVE, &key) {
            self.cursor = step_to(step, self.cursor, last);
            return true;
        }
        let Some(action) = keymap::action(keys::TREE, &key) else {
            return false;
        };
        let node = self.selected();
        match action {
            keys::Tree::Open => {
                if node.is_some() {
                    self.focus = Focus::Form;
                    self.field = 0;
                }
            }
            keys::Tree::Add => {
                let edit = ops::add_sibling(&mut self.work, node);
                self.apply(edit);
            }
            keys::Tree::AddChild => match node.and_then(|n| ops::add_child(&mut self.work, n)) {
                Some(edit) => self.apply(edit),
                None => ctx.error("items have no children; a adds an item after this one"),
            },
            keys::Tree::Duplicate => {
                if let Some(edit) = node.and_then(|n| ops::duplicate(&mut self.work, n)) {
                    self.apply(edit);
                }
            }
            keys::Tree::MoveUp | keys::Tree::MoveDown => {
                let up = action == keys::Tree::MoveUp;
                if let Some(edit) = node.and_then(|n| ops::move_node(&mut self.work, n, up)) {
                    self.apply(edit);
                }
            }
            keys::Tree::Toggle => {
                if let Some(n) = node {
                    ops::toggle(&mut self.work, n);
                    self.changed();
                }
            }
            keys::Tree::Delete => {
                if let Some(n) = node {
                    match ops::delete_refusal(&self.work, n) {
                        Some(why) => ctx.error(why),
                        None => self.confirm = Some(Confirm::Delete(n)),
                    }
                }
            }
            keys::Tree::Probe => self.probe(ctx),
            keys::Tree::LastError => self.last_error(ctx),
        }
        true
    }

    fn form_key(&mut self, key: KeyEvent) -> bool {
        let Some((_, field)) = self.selected_field() else {
            self.focus = Focus::Tree;
            return false;
        };
        let pick = matches!(field.entry(), Entry::Pick | Entry::PickOrType);
        let last = self.fields().len().saturating_sub(1);
        if let Some(step) = keymap::action(keys::MOVE, &key) {
            self.field = step_to(step, self.field, last);
            return true;
        }
        match keymap::action(keys::FORM, &key) {
            Some(keys::FormKey::Back) => self.focus = Focus::Tree,
            Some(keys::FormKey::Activate) if field.entry() == Entry::Pick => self.cycle(true),
            Some(keys::FormKey::Activate) => self.start_edit(),
            Some(keys::FormKey::Previous) if pick => self.cycle(false),
            Some(keys::FormKey::Previous) => self.focus = Focus::Tree,
            Some(keys::FormKey::Next) if pick => self.cycle(true),
            Some(keys::FormKey::Next) | None => return false,
        }
        true
    }

    fn answer(&mut self, confirm: Confirm, key: KeyEvent, ctx: &mut Ctx) {
        match (keymap::action(keys::CONFIRM, &key), confirm) {
            (Some(keys::Answer::Yes), Confirm::Delete(node)) => {
                let title = node.title(&self.work);
                if let Some(shift) = ops::delete(&mut self.work, node) {
                    self.problems.shift(shift);
                    self.changed();
                    ctx.info(format!("deleted {title}; s saves"));
                }
            }
            (Some(keys::Answer::Yes), Confirm::Undo) => self.revert(ctx),
            (Some(keys::Answer::Yes), Confirm::Overwrite) => self.write(ctx),
            (Some(keys::Answer::No), _) => {}
            (None, _) => self.confirm = Some(confirm),
        }
    }

    fn question(&self, confirm: Confirm) -> String {
        match confirm {
            Confirm::Delete(node @ Node::Request(r)) => {
                let items = self.work.requests.get(r).map_or(0, |r| r.items.len());
                format!("Delete {} and its {items} item(s)?", node.title(&self.work))
            }
            Confirm::Delete(node) => format!("Delete {}?", node.title(&self.work)),
            Confirm::Undo if self.conflict.is_some() => {
                "Discard your unsaved changes and load the file as it is on disk now?".into()
            }
            Confirm::Undo => "Discard all unsaved changes and go back to the running queue?".into(),
            Confirm::Overwrite => {
                "The file changed on disk since it was loaded (another editor?). \
                                   Save your edits over it? Its changes are lost."
                    .into()
            }
        }
    }

    fn undo(&mut self, ctx: &mut Ctx) {
        if self.dirty() {
            self.confirm = Some(Confirm::Undo);
        } else {
            ctx.info("no unsaved changes");
        }
    }

    fn revert(&mut self, ctx: &mut Ctx) {
        if let Some(file) = self.conflict.take() {
            self.load_from_disk(file, ctx);
            ctx.info("unsaved changes discarded; loaded the file as it is on disk");
            return;
        }
        self.running = ctx.config();
        self.work = (*self.running).clone();
        self.base = self.work.clone();
        self.problems.clear();
        self.changed();
        ctx.info("unsaved changes discarded");
    }

    fn save(&mut self, ctx: &mut Ctx) {
        if let Some(problem) = self.problems.first(&self.work) {
            ctx.error(format!("not saved: {problem}"));
            return;
        }
        if self.disk_changed(ctx).is_some() {
            self.confirm = Some(Confirm::Overwrite);
            return;
        }
        self.write(ctx);
    }

    /// The file's text when it is no longer what was last loaded or saved here.
    fn disk_changed(&self, ctx: &Ctx) -> Option<Option<String>> {
        let now = std::fs::read_to_string(&ctx.config_path).ok();
        (now != self.disk).then_some(now)
    }

    /// Runs the queue the file now holds, as loaded and saved.
    fn load_from_disk(&mut self, file: Config, ctx: &mut Ctx) {
        self.disk = std::fs::read_to_string(&ctx.config_path).ok();
        self.work = file.clone();
        self.base = file.clone();
        self.problems.clear();
        self.changed();
        ctx.reload(file);
    }

    /// Another editor changed the file: an unedited queue follows it; with unsaved edits
    /// the operator chooses (s saves over it after asking, u takes the file's).
    fn watch_disk(&mut self, ctx: &mut Ctx) {
        let Some(text) = self.disk_changed(ctx) else {
            return;
        };
        let path = ctx.config_path.display().to_string();
        let Some(text) = text else {
            return; // removed: the next save writes it again
        };
        match Config::parse(&text, &path) {
            Ok(file) if self.conflict.as_ref() == Some(&file) => {}
            Ok(file) if !self.dirty() => {
                self.load_from_disk(file, ctx);
                ctx.info(format!("{path} changed on disk: loaded and running it"));
            }
            Ok(file) => {
                self.conflict = Some(file);
                ctx.error(format!(
                    "{path} changed on disk while you have unsaved edits: s saves yours over it \
                     (asks first), u discards yours and loads the file's"
                ));
            }
            Err(e) => {
                // Shown once per version of the file; every problem, on the one status line.
                self.disk = Some(text);
                let problems: Vec<String> = e.problems().iter().map(ToString::to_string).collect();
                let count = match problems.len() {
                    1 => String::new(),
                    n => format!("{n} problems: "),
                };
                ctx.error(format!(
                    "{path} changed on disk but does not load, so the running queue stays: {count}{}",
                    problems.join(" · ")
                ));
            }
        }
    }

    fn write(&mut self, ctx: &mut Ctx) {
        match self.work.save(&ctx.config_path) {
            Ok(()) => {
                self.disk = std::fs::read_to_string(&ctx.config_path).ok();
                self.conflict = None;
                self.base = self.work.clone();
                ctx.reload(self.work.clone());
                ctx.info(format!("saved to {}", ctx.config_path.display()));
            }
            Err(e) => ctx.error(format!("not saved: {e}")),
        }
    }

    /// `t` on an item tests its request.
    fn tested(node: Node) -> Node {
        match node {
            Node::Item(r, _) => Node::Request(r),
            n => n,
        }
    }

    fn test_key(node: Node, config: &Config) -> String {
        format!("{} {}", node.kind(), node.name(config).unwrap_or_default())
    }

    /// Asks the log for the newest failure of the selected request, meter or item; it opens
    /// in full (the detail pane of the Log and Monitor) when it comes.
    fn last_error(&mut self, ctx: &mut Ctx) {
        let c = &self.work;
        let mut filter = crate::store::LogFilter {
            status: Some(crate::store::StatusFilter::Failed),
            ..Default::default()
        };
        match self.selected() {
            Some(Node::Request(i)) => filter.request = c.requests.get(i).map(|r| r.name.clone()),
            Some(Node::Meter(i)) => filter.meter = c.meters.get(i).map(|m| m.name.clone()),
            Some(Node::Item(r, i)) => {
                let req = c.requests.get(r);
                filter.request = req.map(|r| r.name.clone());
                filter.item = req.and_then(|r| r.items.get(i)).map(|it| it.name.clone());
            }
            _ => {
                ctx.error("i shows the last failure of a request, meter or item: select one");
                return;
            }
        }
        self.asked_error += 1;
        let seq = self.asked_error;
        let answer = ctx.answer(Tab::Queue, move |rows| TaskResult::LogPage { seq, rows });
        ctx.queries.log_page(filter, None, 1, answer);
    }

    /// Probes the selected connection (as saved and running) and adds the meter it finds.
    fn probe(&mut self, ctx: &mut Ctx) {
        let Some(Node::Connection(i)) = self.selected() else {
            ctx.error("select a connection to probe (p)");
            return;
        };
        let Some(conn) = self.work.connections.get(i).map(|c| c.name.clone()) else {
            return;
        };
        if ctx.config().connection(&conn).is_none() {
            ctx.error(format!(
                "connection {conn} is not in the running queue; save (s) before probing"
            ));
            return;
        }
        let name = ops::unique_name("meter", |n| self.work.meters.iter().any(|m| m.name == n));
        ctx.info(format!(
            "probing connection {conn}: trying interfaces, addresses and referencing…"
        ));
        let runner = ctx.runner.clone();
        ctx.spawn(Tab::Queue, async move {
            let found = runner.probe_connection(&conn, &name).await;
            TaskResult::Probe(
                found
                    .map(Box::new)
                    .map_err(|e| TuiError::Runner(e.to_string())),
            )
        });
    }

    fn test(&mut self, ctx: &mut Ctx) {
        let Some(node) = self.selected().map(QueueView::tested) else {
            return;
        };
        let name = node.name(&self.work).unwrap_or_default().to_string();
        let running = ctx.config();
        // Tests run on the runner's queue, so say when that is not what the form shows.
        let same = match node {
            Node::Connection(i) => running
                .connection(&name)
                .map(|c| Some(c) == self.work.connections.get(i)),
            Node::Meter(i) => running
                .meter(&name)
                .map(|m| Some(m) == self.work.meters.get(i)),
            Node::Request(i) | Node::Item(i, _) => running
                .request(&name)
                .map(|r| Some(r) == self.work.requests.get(i)),
        };
        let title = node.title(&self.work);
        match same {
            None => {
                ctx.error(format!(
                    "{title} is not in the running queue; save (s) before testing"
                ));
                return;
            }
            Some(false) => ctx.info(format!(
                "testing the running version of {title}; unsaved changes are not used"
            )),
            Some(true) => {}
        }
        let key = QueueView::test_key(node, &self.work);
        self.tests.insert(key.clone(), None);
        let runner = ctx.runner.clone();
        ctx.spawn(Tab::Queue, async move {
            let result = match node {
                Node::Connection(_) => runner.test_connection(&name).await,
                Node::Meter(_) => runner.test_meter(&name).await,
                _ => runner.test_request(&name).await,
            };
            let result = result.map_err(|e| TuiError::Runner(e.to_string()));
            TaskResult::Test { node: key, result }
        });
    }
}

impl View for QueueView {
    fn bindings(&self) -> Vec<Help> {
        keymap::help(keys::MOVE)
            .chain(keymap::help(keys::TREE))
            .chain(keymap::help(keys::FORM))
            .chain(keymap::help(keys::COMMON))
            .chain(keymap::help(keys::EDIT))
            .chain(keymap::help(keys::CONFIRM))
            .chain(keymap::help(super::detail::KEYS))
            .collect()
    }

    fn handle_key(&mut self, key: KeyEvent, ctx: &mut Ctx) -> bool {
        if let Some(d) = &mut self.detail {
            if !d.handle_key(key) {
                self.detail = None;
            }
            return true;
        }
        if let Some(confirm) = self.confirm.take() {
            self.answer(confirm, key, ctx);
            return true;
        }
        if self.editing.is_some() {
            self.edit_key(key, ctx);
            return true;
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        match keymap::action(keys::COMMON, &key) {
            Some(keys::Common::Save) => self.save(ctx),
            // Other Ctrl keys are not the view's (Ctrl-c quits).
            _ if ctrl => return false,
            Some(keys::Common::Undo) => self.undo(ctx),
            Some(keys::Common::Test) => self.test(ctx),
            None => {
                return match self.focus {
                    Focus::Tree => self.tree_key(key, ctx),
                    Focus::Form => self.form_key(key),
                }
            }
        }
        true
    }

    fn refresh(&mut self, ctx: &mut Ctx) {
        self.watch_disk(ctx);
        let running = ctx.config();
        if Arc::ptr_eq(&running, &self.running) {
            return;
        }
        // Our own save comes back unchanged; a queue changed elsewhere replaces an unedited copy.
        if *running != self.base {
            if self.dirty() {
                ctx.info("the running queue changed; u discards your edits and loads it");
            } else {
                self.work = (*running).clone();
                self.base = self.work.clone();
                self.changed();
            }
        }
        self.running = running;
    }

    fn on_task(&mut self, result: TaskResult, ctx: &mut Ctx) {
        match result {
            TaskResult::Test { node, result } => {
                self.tests.insert(node, Some(result));
            }
            TaskResult::Probe(Ok(found)) => {
                let (mut meter, note) = *found;
                // The name may have been taken meanwhile.
                meter.name = ops::unique_name(&meter.name, |n| {
                    self.work.meters.iter().any(|m| m.name == n)
                });
                let name = meter.name.clone();
                self.work.meters.push(meter);
                self.select(Node::Meter(self.work.meters.len() - 1));
                ctx.info(format!("probe found a meter, added as {name} (unsaved: review, then s to save). {note}"));
            }
            TaskResult::Probe(Err(e)) => ctx.error(format!("probe: {e}")),
            TaskResult::LogPage { seq, rows } if seq == self.asked_error => match rows {
                Ok(rows) => match rows.first() {
                    Some(r) => {
                        self.detail = Some(super::detail::RowDetail::new(&r.record, ctx, (1, 1)))
                    }
                    None => ctx.info("no failure of it in the log"),
                },
                Err(e) => ctx.error(format!("reading the log: {e}")),
            },
            _ => {}
        }
    }

    fn render(&mut self, f: &mut Frame, area: Rect, ctx: &Ctx) {
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(40), Constraint::Percentage(60)])
                .areas(area);
        let focused = |on: bool| match on {
            true => Style::default().fg(Color::Cyan),
            false => Style::default(),
        };
        let rows = self.rows();
        self.tree_state
            .select((!rows.is_empty()).then_some(self.cursor));
        let tree_hint = hints(&[
            keymap::footer(keys::TREE, " · "),
            keymap::footer(keys::COMMON, " · "),
        ]);
        let mut tree_block = Block::bordered()
            .title(if self.dirty() { " Queue * " } else { " Queue " })
            .border_style(focused(self.focus == Focus::Tree));
        if self.focus == Focus::Tree {
            tree_block = tree_block.title_bottom(tree_hint);
        }
        tree::render(
            f,
            left,
            tree_block,
            &self.work,
            &rows,
            &self.problems,
            &mut self.tree_state,
        );

        let node = self.selected();
        let title = node.map_or(String::new(), |n| format!(" {} ", n.title(&self.work)));
        let mut form_block = Block::bordered()
            .title(title)
            .border_style(focused(self.focus == Focus::Form));
        if self.focus == Focus::Form {
            form_block = form_block.title_bottom(match self.editing {
                Some(_) => hints(&[keymap::footer(keys::EDIT, " · ")]),
                None => hints(&[
                    keymap::footer(keys::FORM, " · "),
                    keymap::footer(keys::COMMON, " · "),
                ]),
            });
        }
        let inner = form_block.inner(right);
        f.render_widget(form_block, right);
        if let Some(node) = node {
            let fields = field::fields(&self.work, node);
            let test_key = QueueView::test_key(QueueView::tested(node), &self.work);
            let form = form::FormPane {
                config: &self.work,
                node,
                fields: &fields,
                selected: (self.focus == Focus::Form).then_some(self.field),
                editing: self.editing.as_ref(),
                live: self.live.as_deref(),
                problems: &self.problems,
                test: self.tests.get(&test_key),
                now: chrono::Local::now(),
                start: ctx.runner.start_time(),
            };
            form::render(f, inner, &form);
        }
        if let Some(confirm) = self.confirm {
            let keys = keymap::footer(keys::CONFIRM, " · ");
            confirm::render(f, area, &self.question(confirm), &keys);
        }
        if let Some(d) = &self.detail {
            d.render(f, area);
        }
    }

    fn captures_keys(&self) -> bool {
        self.editing.is_some() || self.confirm.is_some() || self.detail.is_some()
    }
}

/// Where a move lands, from `at` in rows `0..=last`.
fn step_to(step: keys::Move, at: usize, last: usize) -> usize {
    match step {
        keys::Move::Up => at.saturating_sub(1),
        keys::Move::Down => (at + 1).min(last),
        keys::Move::First => 0,
        keys::Move::Last => last,
    }
}

/// Footer hints of several keymaps as one bottom title.
fn hints(parts: &[String]) -> String {
    format!(" {} ", parts.join(" · "))
}
