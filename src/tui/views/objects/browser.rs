//! The object browser: one object of the list opened. Every attribute is read and shown with
//! its type and this association's access rights, then its methods; `e` writes an attribute
//! in a typed form (checked while typing), `x` calls a method. Both show the decoded request
//! for confirmation first, go through the connection's worker and are recorded in the
//! `writes` table like an action request's steps.
//!
//! ```text
//! ┌ m1 · 0.0.1.0.0.255 Clock (class 8) · this association may change it ─────────┐
//! │ #   member                      access          type           value          │
//! │ 2   time                        read-write      octet-string   2026-12-06 …   │
//! │ m1  adjust_to_quarter           not allowed                                   │
//! │ last change: set 0.0.1.0.0.255:2 to now: done (success); … → …                │
//! └───────────────────────────────────────────────────────────────────────────────┘
//! ```

use super::super::form::{InputField, InputForm, Outcome};
use crate::dlms::access::AttributeAccess;
use crate::dlms::client::{AttributeRef, Change, MethodRef};
use crate::dlms::data::Data;
use crate::dlms::members::{attribute_name, class_shape, method_name};
use crate::dlms::obis_names::class_name;
use crate::dlms::xdlms::summarize;
use crate::queue::input::{editable, host_now, parse_as, parse_like};
use crate::queue::{PresetObject, Step};
use crate::store::{WriteOutcome, WriteRecord};
use crate::tui::app::{Ctx, Tab, TaskResult};
use crate::tui::keymap::{self, Binding, KeyPress};
use crate::tui::TuiError;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Row, Table, TableState, Wrap};
use ratatui::Frame;

/// The type choices of an edit: the meter's current type first.
const SET_TYPES: &[&str] = &[
    LIKE_NOW,
    "u8",
    "u16",
    "u32",
    "u64",
    "i8",
    "i16",
    "i32",
    "i64",
    "enum",
    "bool",
    "f32",
    "f64",
    "octet",
    "visible",
    "utf8",
    "datetime",
    "datetime-octets",
    "bits",
    "struct",
    "array",
    "null",
];
const LIKE_NOW: &str = "like the meter's value";
/// The type choices of a method's parameter: `integer 0` is what most methods take.
const CALL_TYPES: &[&str] = &[
    "i8", "null", "u8", "u16", "u32", "i16", "i32", "enum", "bool", "octet", "visible", "datetime",
    "struct", "array",
];

/// What the browser's keys do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Up,
    Down,
    Edit,
    Call,
    Reread,
    Close,
}

/// The browser's keys.
pub const KEYS: &[Binding<Action>] = &[
    Binding {
        keys: &[
            (KeyPress::new(KeyCode::Up), Action::Up),
            (KeyPress::new(KeyCode::Down), Action::Down),
            (KeyPress::ch('k'), Action::Up),
            (KeyPress::ch('j'), Action::Down),
        ],
        label: "↑↓, j/k",
        help: "in an opened object: select an attribute or method",
        hint: None,
    },
    Binding {
        keys: &[(KeyPress::ch('e'), Action::Edit)],
        label: "e",
        help: "in an opened object: write the attribute (asks first)",
        hint: None,
    },
    Binding {
        keys: &[(KeyPress::ch('x'), Action::Call)],
        label: "x",
        help: "in an opened object: call the method (asks first)",
        hint: None,
    },
    Binding {
        keys: &[(KeyPress::ch('r'), Action::Reread)],
        label: "r",
        help: "in an opened object: read its attributes again",
        hint: None,
    },
    Binding {
        keys: &[
            (KeyPress::new(KeyCode::Esc), Action::Close),
            (KeyPress::new(KeyCode::Backspace), Action::Close),
        ],
        label: "Esc",
        help: "in an opened object: back to the list",
        hint: None,
    },
];

/// One attribute's value as the browser knows it.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    /// Not asked for, and why.
    NotRead(&'static str),
    /// Asked for; the answer is on its way.
    Reading,
    /// The meter's value.
    Value(Data),
    /// The meter's refusal or the error.
    Refused(String),
}

/// A row of the browser: an attribute or a method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Member {
    Attribute(i8),
    Method(i8),
}

/// The dialog that has the keyboard.
#[derive(Debug)]
enum Dialog {
    /// The new value of an attribute and its type.
    Edit { attribute: i8, form: InputForm },
    /// A method's parameter and its type.
    Call { method: i8, form: InputForm },
    /// The decoded request, waiting for y or n.
    Confirm { step: Step, lines: Vec<String> },
}

/// An object opened from the list.
#[derive(Debug)]
pub struct Browser {
    meter: String,
    object: PresetObject,
    members: Vec<Member>,
    /// Attribute 1 first.
    values: Vec<Cell>,
    table: TableState,
    dialog: Option<Dialog>,
    /// A change on its way.
    busy: Option<String>,
    /// What the last change came to, and whether it went wrong.
    last: Option<(String, bool)>,
}

impl Browser {
    /// Opens `object` of `meter` and starts reading its attributes.
    pub fn open(ctx: &Ctx, meter: &str, object: PresetObject) -> Browser {
        let (shape_attrs, shape_methods) = class_shape(object.class);
        let (attrs, methods) = match &object.access {
            Some(a) => (
                a.attributes.len().max(usize::from(shape_attrs)),
                a.methods.len().max(usize::from(shape_methods)),
            ),
            None => (usize::from(shape_attrs), usize::from(shape_methods)),
        };
        let attrs = attrs.min(127) as i8;
        let methods = methods.min(127) as i8;
        let members = (1..=attrs)
            .map(Member::Attribute)
            .chain((1..=methods).map(Member::Method))
            .collect();
        let mut b = Browser {
            meter: meter.to_string(),
            object,
            members,
            values: vec![Cell::Reading; attrs as usize],
            table: TableState::default().with_selected(Some(1.min(attrs as usize))),
            dialog: None,
            busy: None,
            last: None,
        };
        b.read(ctx);
        b
    }

    /// True while a dialog has the keyboard.
    pub fn captures_keys(&self) -> bool {
        self.dialog.is_some()
    }

    fn access(&self, attribute: i8) -> Option<AttributeAccess> {
        self.object.access.as_ref()?.attribute(attribute)
    }

    fn may_call(&self, method: i8) -> Option<bool> {
        self.object.access.as_ref()?.method(method)
    }

    /// True when the object list says this association may change nothing here.
    fn read_only(&self) -> bool {
        self.object
            .access
            .as_ref()
            .is_some_and(|a| a.changes_nothing())
    }

    /// Reads every readable attribute but the logical name and the large lists.
    fn read(&mut self, ctx: &Ctx) {
        let class = self.object.class;
        let mut ask = Vec::new();
        for (i, cell) in self.values.iter_mut().enumerate() {
            let id = i as i8 + 1;
            let access = self.object.access.as_ref().and_then(|a| a.attribute(id));
            *cell = if id == 1 {
                Cell::Value(Data::OctetString(self.object.obis.0.to_vec()))
            } else if matches!((class, id), (7, 2) | (15, 2) | (12, 2)) {
                Cell::NotRead("not read here (can be large): use a request or `objects`")
            } else if access.is_some_and(|a| !a.readable()) {
                Cell::NotRead("not readable by this association")
            } else {
                ask.push(AttributeRef::new(class, self.object.obis, id));
                Cell::Reading
            };
        }
        if ask.is_empty() {
            return;
        }
        let runner = ctx.runner.clone();
        let (meter, obis) = (self.meter.clone(), self.object.obis);
        ctx.spawn(Tab::Objects, async move {
            let result = runner
                .read_attributes(&meter, ask)
                .await
                .map_err(|e| TuiError::Runner(e.to_string()));
            TaskResult::Attributes { obis, result }
        });
    }

    /// Takes the answer of a read or a change for this object.
    pub fn on_task(&mut self, result: TaskResult, ctx: &mut Ctx) {
        match result {
            TaskResult::Attributes { obis, result } if obis == self.object.obis => {
                let asked: Vec<usize> = self
                    .values
                    .iter()
                    .enumerate()
                    .filter(|(_, c)| **c == Cell::Reading)
                    .map(|(i, _)| i)
                    .collect();
                match result {
                    Ok(values) => {
                        for (i, v) in asked.into_iter().zip(values) {
                            self.values[i] = match v {
                                Ok(d) => Cell::Value(d),
                                Err(e) => Cell::Refused(e),
                            };
                        }
                    }
                    Err(e) => {
                        for i in asked {
                            self.values[i] = Cell::Refused(e.to_string());
                        }
                        ctx.error(format!("reading {}: {e}", self.object.obis));
                    }
                }
            }
            TaskResult::Changed { obis, result } if obis == self.object.obis => {
                self.busy = None;
                let (text, failed) = match result {
                    Ok(records) => summary(&records),
                    Err(e) => (format!("not made: {e}"), true),
                };
                if failed {
                    ctx.error(text.clone());
                } else {
                    ctx.info(text.clone());
                }
                self.last = Some((text, failed));
                self.read(ctx);
            }
            _ => {}
        }
    }

    fn selected(&self) -> Option<Member> {
        self.members.get(self.table.selected()?).copied()
    }

    /// Handles a key; false when the browser should close.
    pub fn handle_key(&mut self, key: KeyEvent, ctx: &mut Ctx) -> bool {
        if self.dialog.is_some() {
            self.handle_dialog(key, ctx);
            return true;
        }
        let Some(action) = keymap::action(KEYS, &key) else {
            return true;
        };
        let last = self.members.len().saturating_sub(1);
        let at = self.table.selected().unwrap_or(0);
        match action {
            Action::Up => self.table.select(Some(at.saturating_sub(1))),
            Action::Down => self.table.select(Some((at + 1).min(last))),
            Action::Reread => self.read(ctx),
            Action::Close => return false,
            Action::Edit => self.open_edit(ctx),
            Action::Call => self.open_call(ctx),
        }
        true
    }

    /// Why nothing can be changed now, if so.
    fn blocked(&self) -> Option<String> {
        if let Some(busy) = &self.busy {
            return Some(format!("still waiting for {busy}"));
        }
        self.read_only().then(|| {
            "this association may change nothing on this object (its access rights say so): \
             connect with a client that may (LLS or HLS) to change it"
                .to_string()
        })
    }

    fn open_edit(&mut self, ctx: &mut Ctx) {
        let Some(Member::Attribute(id)) = self.selected() else {
            ctx.error("select an attribute to write (x calls a method)");
            return;
        };
        if let Some(why) = self.blocked() {
            ctx.error(why);
            return;
        }
        let name = member_name(self.object.class, Member::Attribute(id));
        if id == 1 {
            ctx.error("the logical name of an object cannot be changed");
            return;
        }
        if let Some(a) = self.access(id).filter(|a| !a.writable()) {
            ctx.error(format!(
                "{name} is {} for this association: it cannot be written",
                a.name()
            ));
            return;
        }
        let (text, type_at) = match self.values.get(id as usize - 1) {
            Some(Cell::Value(d)) => (editable(d), 0),
            _ => (String::new(), 1),
        };
        let mut form = InputForm::new(
            format!("write {}:{id} {name} of {}", self.object.obis, self.meter),
            vec![
                InputField::text("value", &text),
                InputField::choice("type", SET_TYPES, type_at),
            ],
        );
        self.check(&mut form, Member::Attribute(id));
        self.dialog = Some(Dialog::Edit {
            attribute: id,
            form,
        });
    }

    fn open_call(&mut self, ctx: &mut Ctx) {
        let Some(Member::Method(id)) = self.selected() else {
            ctx.error("select a method to call (e writes an attribute)");
            return;
        };
        if let Some(why) = self.blocked() {
            ctx.error(why);
            return;
        }
        let name = member_name(self.object.class, Member::Method(id));
        if self.may_call(id) == Some(false) {
            ctx.error(format!(
                "{name} may not be called by this association (its access rights say so)"
            ));
            return;
        }
        let mut form = InputForm::new(
            format!(
                "call {} method {id} {name} of {}",
                self.object.obis, self.meter
            ),
            vec![
                InputField::text("parameter", "0"),
                InputField::choice("type", CALL_TYPES, 0),
            ],
        );
        self.check(&mut form, Member::Method(id));
        self.dialog = Some(Dialog::Call { method: id, form });
    }

    /// The change a form describes, and the step that makes it.
    fn change_of(&self, form: &InputForm, member: Member) -> Result<(Change, Step), String> {
        let (now, dst) = host_now();
        let (obis, class) = (self.object.obis, self.object.class);
        match member {
            Member::Attribute(id) => {
                let text = form.value("value");
                let chosen = form.value("type");
                let (value, data_type) = if chosen == LIKE_NOW {
                    match self.values.get(id as usize - 1) {
                        Some(Cell::Value(d)) => (parse_like(d, &text, now, dst), None),
                        _ => return Err("the current value was not read: choose a type".into()),
                    }
                } else {
                    (parse_as(&chosen, &text, now), Some(chosen))
                };
                let value = value.map_err(|e| e.to_string())?;
                Ok((
                    Change::Set {
                        attribute: AttributeRef::new(class, obis, id),
                        value,
                    },
                    Step::Set {
                        obis,
                        class_id: class,
                        attribute: id,
                        value: text,
                        data_type,
                    },
                ))
            }
            Member::Method(id) => {
                let chosen = form.value("type");
                let text = match form.value("parameter") {
                    t if chosen == "null" => {
                        if t.is_empty() {
                            "null".into()
                        } else {
                            t
                        }
                    }
                    t => t,
                };
                let parameter = parse_as(&chosen, &text, now).map_err(|e| e.to_string())?;
                Ok((
                    Change::Action {
                        method: MethodRef::new(class, obis, id),
                        parameter: Some(parameter),
                    },
                    Step::Call {
                        obis,
                        class_id: class,
                        method: id,
                        param: Some(text),
                        data_type: Some(chosen),
                    },
                ))
            }
        }
    }

    /// Validation while typing: the value as it would be sent, or why it cannot be.
    fn check(&self, form: &mut InputForm, member: Member) {
        match self.change_of(form, member) {
            Ok((change, _)) => form.set_hint(format!("→ {}", change.describe())),
            Err(e) => form.set_error(e),
        }
    }

    fn handle_dialog(&mut self, key: KeyEvent, ctx: &mut Ctx) {
        let Some(dialog) = self.dialog.take() else {
            return;
        };
        self.dialog = match dialog {
            Dialog::Edit {
                attribute,
                mut form,
            } => {
                let member = Member::Attribute(attribute);
                match form.handle_key(key) {
                    Outcome::Cancel => None,
                    Outcome::Editing => {
                        self.check(&mut form, member);
                        Some(Dialog::Edit { attribute, form })
                    }
                    Outcome::Submit => match self.confirm(&form, member) {
                        Some(d) => Some(d),
                        None => {
                            self.check(&mut form, member);
                            Some(Dialog::Edit { attribute, form })
                        }
                    },
                }
            }
            Dialog::Call { method, mut form } => {
                let member = Member::Method(method);
                match form.handle_key(key) {
                    Outcome::Cancel => None,
                    Outcome::Editing => {
                        self.check(&mut form, member);
                        Some(Dialog::Call { method, form })
                    }
                    Outcome::Submit => match self.confirm(&form, member) {
                        Some(d) => Some(d),
                        None => {
                            self.check(&mut form, member);
                            Some(Dialog::Call { method, form })
                        }
                    },
                }
            }
            Dialog::Confirm { step, lines } => match key.code {
                KeyCode::Char('y') | KeyCode::Enter => {
                    self.send(step, ctx);
                    None
                }
                KeyCode::Char('n') | KeyCode::Esc => {
                    ctx.info("nothing was sent");
                    None
                }
                _ => Some(Dialog::Confirm { step, lines }),
            },
        };
    }

    /// The confirmation of a valid form: the request decoded and in hex.
    fn confirm(&self, form: &InputForm, member: Member) -> Option<Dialog> {
        let (change, step) = self.change_of(form, member).ok()?;
        let apdu = change.plain_apdu();
        let hex: String = apdu.iter().map(|b| format!("{b:02X}")).collect();
        let mut lines = vec![
            format!("Send this to {}?", self.meter),
            String::new(),
            change.describe(),
            format!("APDU: {}", summarize(&apdu)),
            format!("hex (plain, before any ciphering): {hex}"),
        ];
        if let (Member::Attribute(id), Some(Cell::Value(d))) =
            (member, self.values.get(member_index(member)))
        {
            lines.push(format!(
                "now {}:{id} is {} {}",
                self.object.obis,
                d.type_name(),
                d.shown()
            ));
        }
        lines.push(String::new());
        lines.push(
            "It is recorded in the log's changes (w). y or Enter sends it · n or Esc cancels"
                .into(),
        );
        Some(Dialog::Confirm { step, lines })
    }

    fn send(&mut self, step: Step, ctx: &mut Ctx) {
        let what = step.describe();
        self.busy = Some(what.clone());
        ctx.info(format!("sending: {what}…"));
        let runner = ctx.runner.clone();
        let (meter, obis) = (self.meter.clone(), self.object.obis);
        ctx.spawn(Tab::Objects, async move {
            let result = runner
                .change(&meter, vec![step], "tui")
                .await
                .map_err(|e| TuiError::Runner(e.to_string()));
            TaskResult::Changed { obis, result }
        });
    }

    /// Draws the object over `area`.
    pub fn render(&mut self, f: &mut Frame, area: Rect) {
        let o = &self.object;
        let rights = match &o.access {
            None => "the object list gave no access rights: the meter decides",
            Some(_) if self.read_only() => "read-only for this association",
            Some(_) => "this association may change it",
        };
        let class = if o.name == class_name(o.class) {
            format!("class {}", o.class)
        } else {
            format!("class {} {}", o.class, class_name(o.class))
        };
        let title = format!(
            " {} · {} {} ({class}, v{}) · {rights} ",
            self.meter, o.obis, o.name, o.version
        );
        let footer = match (&self.busy, &self.last) {
            (Some(b), _) => Some((format!("sending: {b}…"), Color::Cyan)),
            (None, Some((t, true))) => Some((format!("last change: {t}"), Color::Red)),
            (None, Some((t, false))) => Some((format!("last change: {t}"), Color::Green)),
            (None, None) => None,
        };
        let [body, foot] = Layout::vertical([
            Constraint::Min(0),
            Constraint::Length(u16::from(footer.is_some()) * 2),
        ])
        .areas(area);
        let header = Row::new(["#", "member", "access", "type", "value"])
            .style(Style::default().add_modifier(Modifier::BOLD));
        let cells: Vec<([String; 5], Style)> = self.members.iter().map(|&m| self.row(m)).collect();
        // Columns as wide as their widest cell (capped), the value taking the rest.
        let width = |i: usize, cap: u16| {
            let widest = cells
                .iter()
                .map(|(c, _)| c[i].chars().count())
                .max()
                .unwrap_or(0)
                .max(["#", "member", "access", "type"][i].len());
            Constraint::Length((widest as u16).min(cap))
        };
        let widths = [
            width(0, 3),
            width(1, 28),
            width(2, 26),
            width(3, 20),
            Constraint::Fill(1),
        ];
        let rows: Vec<Row> = cells
            .into_iter()
            .map(|(c, style)| Row::new(c).style(style))
            .collect();
        let table = Table::new(rows, widths)
            .header(header)
            .block(Block::default().borders(Borders::ALL).title(title))
            .row_highlight_style(Style::default().add_modifier(Modifier::REVERSED));
        f.render_stateful_widget(table, body, &mut self.table);
        if let Some((text, color)) = footer {
            f.render_widget(
                Paragraph::new(text)
                    .style(Style::default().fg(color))
                    .wrap(Wrap { trim: true }),
                foot,
            );
        }
        match &self.dialog {
            Some(Dialog::Edit { form, .. } | Dialog::Call { form, .. }) => {
                form.render_popup(f, area)
            }
            Some(Dialog::Confirm { lines, .. }) => {
                let popup = area.centered(
                    Constraint::Length(area.width.saturating_sub(4).min(90)),
                    Constraint::Length(area.height.saturating_sub(2).min(lines.len() as u16 + 4)),
                );
                f.render_widget(Clear, popup);
                let text: Vec<Line> = lines.iter().map(|l| Line::from(l.as_str())).collect();
                f.render_widget(
                    Paragraph::new(text).wrap(Wrap { trim: false }).block(
                        Block::default()
                            .borders(Borders::ALL)
                            .title(" confirm the change "),
                    ),
                    popup,
                );
            }
            None => {}
        }
    }
}

impl Browser {
    /// The cells of one member's row, and its style.
    fn row(&self, m: Member) -> ([String; 5], Style) {
        let o = &self.object;
        match m {
            Member::Attribute(id) => {
                let access = self.access(id).map_or("?", AttributeAccess::name);
                let (ty, value, style) = match self.values.get(id as usize - 1) {
                    Some(Cell::Value(d)) if id == 1 => (
                        d.type_name().to_string(),
                        o.obis.to_string(),
                        Style::default(),
                    ),
                    Some(Cell::Value(d)) => {
                        (d.type_name().to_string(), d.shown(), Style::default())
                    }
                    Some(Cell::Reading) => (String::new(), "reading…".into(), dim()),
                    Some(Cell::NotRead(why)) => (String::new(), why.to_string(), dim()),
                    Some(Cell::Refused(e)) => {
                        (String::new(), e.clone(), Style::default().fg(Color::Red))
                    }
                    None => (String::new(), String::new(), dim()),
                };
                (
                    [
                        id.to_string(),
                        member_name(o.class, m),
                        access.into(),
                        ty,
                        value,
                    ],
                    style,
                )
            }
            Member::Method(id) => {
                let access = match self.may_call(id) {
                    Some(true) => "may be called",
                    Some(false) => "not allowed",
                    None => "?",
                };
                (
                    [
                        format!("m{id}"),
                        member_name(o.class, m),
                        access.into(),
                        String::new(),
                        String::new(),
                    ],
                    dim(),
                )
            }
        }
    }
}

fn dim() -> Style {
    Style::default().fg(Color::DarkGray)
}

fn member_index(m: Member) -> usize {
    match m {
        Member::Attribute(id) | Member::Method(id) => (id as usize).saturating_sub(1),
    }
}

/// `time` or `attribute 12` / `method 3` for members the class table does not name.
fn member_name(class: u16, m: Member) -> String {
    match m {
        Member::Attribute(id) => attribute_name(class, id)
            .map(str::to_string)
            .unwrap_or_else(|| format!("attribute {id}")),
        Member::Method(id) => method_name(class, id)
            .map(str::to_string)
            .unwrap_or_else(|| format!("method {id}")),
    }
}

/// What the records of a change say, and whether it went wrong.
fn summary(records: &[WriteRecord]) -> (String, bool) {
    let failed = records.iter().any(|r| {
        matches!(
            r.outcome,
            WriteOutcome::Refused
                | WriteOutcome::Unknown
                | WriteOutcome::Failed
                | WriteOutcome::Sent
        )
    });
    let text = records
        .iter()
        .map(|r| {
            let mut t = format!("{}: {}", r.request, r.outcome.name());
            if let Some(x) = &r.result {
                t.push_str(&format!(" ({x})"));
            }
            if r.old_value.is_some() || r.new_value.is_some() {
                t.push_str(&format!(
                    "; {} → {}",
                    r.old_value.as_deref().unwrap_or("?"),
                    r.new_value.as_deref().unwrap_or("?")
                ));
            }
            if let Some(x) = &r.returned {
                t.push_str(&format!("; returned {x}"));
            }
            t
        })
        .collect::<Vec<_>>()
        .join("; ");
    if records.is_empty() {
        return ("nothing was done".into(), true);
    }
    (text, failed)
}
