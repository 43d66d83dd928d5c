//! One frame's decoded tree as the operator reads it: fields folded and unfolded with Enter,
//! searched with `/` (names, values and bytes), and the selected field's bytes beside the
//! tree — a ciphered APDU's ciphered text next to the plain APDU deciphered from it.
//!
//! ```text
//! ┌ RX 12:00:00.140 · 42 bytes · glo-get-response ──────────────────────────────┐
//! │▾ capture: 42 bytes                        │ ciphered text · 21 bytes        │
//! │  ▸ WRAPPER PDU: 8 bytes (+4)              │ 8C 1F 6E 02 …                   │
//! │  ▾ glo-get-response: global key           │                                 │
//! │      ciphered text                        │                                 │
//! │    ▾ deciphered APDU: tag verified …      │                                 │
//! └ Enter fold · / search · n/N next/previous · Esc close ──────────────────────┘
//! ```

use crate::dlms::decode::{spaced_hex, Node};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};
use ratatui::Frame;

/// A group with more children than this starts folded (a profile's hundreds of entries).
const FOLD_ABOVE: usize = 16;

/// Derived nodes: their bytes are not part of the bytes of the node above them (a
/// deciphered APDU is not in the ciphered bytes; a reassembled one is spread over frames).
const DERIVED: [&str; 2] = ["deciphered APDU", "reassembled APDU"];

/// One node of the tree, flattened depth first.
#[derive(Debug, Clone)]
struct Flat {
    depth: usize,
    name: String,
    value: String,
    bytes: Vec<u8>,
    /// The index after this node's last descendant.
    end: usize,
    parent: Option<usize>,
}

impl Flat {
    fn has_children(&self, i: usize) -> bool {
        self.end > i + 1
    }
}

/// The search: what is typed, whether it is still being typed, and the nodes it matches.
#[derive(Debug, Clone, Default)]
pub struct Search {
    /// The text searched for.
    pub text: String,
    /// Still typing (the keys go to the text).
    pub typing: bool,
    /// The indices of the nodes that match, in tree order.
    hits: Vec<usize>,
}

impl Search {
    /// Starts typing a new search.
    pub fn start() -> Search {
        Search {
            typing: true,
            ..Search::default()
        }
    }

    /// A search for `text`, to apply.
    pub fn typed(text: &str) -> Search {
        Search {
            text: text.to_string(),
            ..Search::start()
        }
    }
}

/// True when `query` (lower case) is in `name`, `value`, or (as hex, spaces ignored) `bytes`.
pub fn matches(query: &str, name: &str, value: &str, bytes: &[u8]) -> bool {
    if query.is_empty() {
        return false;
    }
    if name.to_lowercase().contains(query) || value.to_lowercase().contains(query) {
        return true;
    }
    let hex: String = query.chars().filter(|c| !c.is_whitespace()).collect();
    hex.len() >= 2
        && hex.chars().all(|c| c.is_ascii_hexdigit())
        && spaced_hex(bytes)
            .replace(' ', "")
            .to_lowercase()
            .contains(&hex)
}

/// A frame's tree with its folds, selection and search.
#[derive(Debug, Clone)]
pub struct FrameTree {
    /// The title: direction, time, size, summary.
    pub title: String,
    nodes: Vec<Flat>,
    open: Vec<bool>,
    selected: usize,
    offset: usize,
    /// The search, once `/` was pressed.
    pub search: Option<Search>,
    /// Tree rows visible at the last draw, for PgUp/PgDn.
    page: usize,
    /// The whole frame as it crossed the link, `**` for masked bytes: the root's bytes.
    frame_hex: Option<String>,
}

impl FrameTree {
    /// The tree of `root`, groups open unless they hold more than [`FOLD_ABOVE`] fields.
    pub fn new(title: String, root: &Node) -> FrameTree {
        let mut nodes = Vec::new();
        flatten(root, 0, None, &mut nodes);
        let open = nodes
            .iter()
            .enumerate()
            .map(|(i, n)| direct_children(&nodes, i).count() <= FOLD_ABOVE || n.depth == 0)
            .collect();
        FrameTree {
            title,
            nodes,
            open,
            selected: 0,
            offset: 0,
            search: None,
            page: 10,
            frame_hex: None,
        }
    }

    /// Shows `hex` (spaced, masked bytes as `**`) as the bytes of the root: a masked secret's
    /// bytes are zeros in the tree and stars here.
    pub fn with_frame_hex(mut self, hex: String) -> FrameTree {
        self.frame_hex = Some(hex);
        self
    }

    /// The indices of the visible nodes (those whose ancestors are all open), in order.
    fn visible(&self) -> Vec<usize> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < self.nodes.len() {
            out.push(i);
            i = if self.open[i] {
                i + 1
            } else {
                self.nodes[i].end
            };
        }
        out
    }

    /// The selected node's name.
    #[cfg(test)]
    pub fn selected_name(&self) -> &str {
        &self.nodes[self.selected].name
    }

    /// The visible lines as text (`▾ name: value`), for tests.
    #[cfg(test)]
    pub fn lines(&self) -> Vec<String> {
        self.visible().into_iter().map(|i| self.label(i)).collect()
    }

    fn label(&self, i: usize) -> String {
        let n = &self.nodes[i];
        let marker = match (n.has_children(i), self.open[i]) {
            (false, _) => ' ',
            (true, true) => '▾',
            (true, false) => '▸',
        };
        let mut s = format!("{:indent$}{marker} {}", "", n.name, indent = n.depth * 2);
        if !n.value.is_empty() {
            s.push_str(": ");
            s.push_str(&n.value);
        }
        if n.has_children(i) && !self.open[i] {
            s.push_str(&format!(" (+{})", direct_children(&self.nodes, i).count()));
        }
        s
    }

    /// Moves the selection `by` visible rows (negative: up), clamped.
    pub fn step(&mut self, by: isize) {
        let visible = self.visible();
        let at = visible
            .iter()
            .position(|&i| i == self.selected)
            .unwrap_or(0);
        let to = (at as isize + by).clamp(0, visible.len() as isize - 1) as usize;
        self.selected = visible[to];
    }

    /// A page of rows up (`-1`) or down (`1`).
    pub fn page(&mut self, direction: isize) {
        self.step(direction * self.page.max(1) as isize);
    }

    /// The first (`false`) or last (`true`) visible row.
    pub fn ends(&mut self, last: bool) {
        self.step(if last { isize::MAX / 2 } else { isize::MIN / 2 });
    }

    /// Folds or unfolds the selected node; false when it has no fields inside.
    pub fn toggle(&mut self) -> bool {
        let i = self.selected;
        if !self.nodes[i].has_children(i) {
            return false;
        }
        self.open[i] = !self.open[i];
        true
    }

    /// Folds the selected node, or (folded already, or a leaf) goes to its parent.
    pub fn fold(&mut self) {
        let i = self.selected;
        if self.nodes[i].has_children(i) && self.open[i] {
            self.open[i] = false;
        } else if let Some(p) = self.nodes[i].parent {
            self.selected = p;
        }
    }

    /// Unfolds the selected node, or (open already) goes to its first field.
    pub fn unfold(&mut self) {
        let i = self.selected;
        if !self.nodes[i].has_children(i) {
            return;
        }
        if self.open[i] {
            self.selected = i + 1;
        } else {
            self.open[i] = true;
        }
    }

    /// Opens (`true`) or folds every group; folding keeps the root open and selects it.
    pub fn all(&mut self, open: bool) {
        for (i, o) in self.open.iter_mut().enumerate() {
            *o = open || i == 0;
        }
        if !open {
            self.selected = 0;
        }
    }

    /// Applies the typed search: finds every matching node and goes to the first at or
    /// after the selection. Returns the number of matches.
    pub fn apply_search(&mut self) -> usize {
        let Some(search) = &mut self.search else {
            return 0;
        };
        search.typing = false;
        let query = search.text.trim().to_lowercase();
        search.hits = (0..self.nodes.len())
            .filter(|&i| {
                let n = &self.nodes[i];
                matches(&query, &n.name, &n.value, &n.bytes)
            })
            .collect();
        let n = search.hits.len();
        let at = self.selected;
        if let Some(&first) = search
            .hits
            .iter()
            .find(|&&h| h >= at)
            .or(search.hits.first())
        {
            self.reveal(first);
        }
        n
    }

    /// Goes to the next (`forward`) or previous match, wrapping around; false when none.
    pub fn next_hit(&mut self, forward: bool) -> bool {
        let Some(search) = &self.search else {
            return false;
        };
        let hits = &search.hits;
        let at = self.selected;
        let next = if forward {
            hits.iter().find(|&&h| h > at).or(hits.first())
        } else {
            hits.iter().rev().find(|&&h| h < at).or(hits.last())
        };
        match next.copied() {
            Some(h) => {
                self.reveal(h);
                true
            }
            None => false,
        }
    }

    /// Which match is selected and how many there are, once a search is applied.
    pub fn hit_position(&self) -> Option<(usize, usize)> {
        let s = self.search.as_ref().filter(|s| !s.typing)?;
        let at = s.hits.iter().position(|&h| h == self.selected);
        Some((at.map_or(0, |a| a + 1), s.hits.len()))
    }

    /// Selects node `i`, unfolding every group it is in.
    fn reveal(&mut self, i: usize) {
        let mut p = self.nodes[i].parent;
        while let Some(at) = p {
            self.open[at] = true;
            p = self.nodes[at].parent;
        }
        self.selected = i;
    }

    /// The bytes the selected node stands for: its own and those of the fields inside it
    /// (not those of a deciphered or reassembled APDU, which are not in them).
    fn selected_bytes(&self) -> Vec<u8> {
        let i = self.selected;
        let mut out = self.nodes[i].bytes.clone();
        let mut j = i + 1;
        while j < self.nodes[i].end {
            let n = &self.nodes[j];
            if DERIVED.contains(&n.name.as_str()) {
                j = n.end;
                continue;
            }
            out.extend_from_slice(&n.bytes);
            j += 1;
        }
        out
    }

    /// Draws the tree over `area`: the tree, and beside it (below it on a narrow screen) the
    /// selected field in full with its bytes.
    pub fn render(&mut self, f: &mut Frame, area: Rect) {
        // Over the whole view: the frame table is behind it, Esc goes back to it.
        let popup = area;
        f.render_widget(Clear, popup);
        let keys = " Enter fold · ←→ · +/- all · / search · n/N · Esc close ";
        let block = Block::default()
            .borders(Borders::ALL)
            .title(format!(" {} ", self.title))
            .title_bottom(keys);
        let inner = block.inner(popup);
        f.render_widget(block, popup);
        let wide = inner.width >= 100;
        let [tree_area, side] = if wide {
            Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)])
                .areas(inner)
        } else {
            // As many lines as the field's value and bytes need, up to a third of the tree.
            let text = self.nodes[self.selected].value.len() + self.selected_bytes().len() * 3;
            let need = 2 + text / usize::from(inner.width.max(1));
            let side = (need as u16).clamp(3, (inner.height / 3).max(3));
            Layout::vertical([Constraint::Min(1), Constraint::Length(side)]).areas(inner)
        };
        let search_line = self.search.is_some();
        let [rows_area, bar] = Layout::vertical([
            Constraint::Min(1),
            Constraint::Length(u16::from(search_line)),
        ])
        .areas(tree_area);
        self.render_rows(f, rows_area);
        if search_line {
            self.render_search(f, bar);
        }
        self.render_side(f, side, wide);
    }

    fn render_rows(&mut self, f: &mut Frame, area: Rect) {
        let visible = self.visible();
        let height = usize::from(area.height).max(1);
        self.page = height;
        let at = visible
            .iter()
            .position(|&i| i == self.selected)
            .unwrap_or(0);
        if at < self.offset {
            self.offset = at;
        } else if at >= self.offset + height {
            self.offset = at + 1 - height;
        }
        self.offset = self.offset.min(visible.len().saturating_sub(height));
        let hits: &[usize] = self.search.as_ref().map_or(&[], |s| &s.hits);
        let width = area.width;
        let lines: Vec<Line> = visible[self.offset..]
            .iter()
            .take(height)
            .map(|&i| {
                let text = crate::tui::columns::elide_end(&self.label(i), width);
                let mut style = if hits.contains(&i) {
                    Style::default().fg(Color::Yellow)
                } else if self.nodes[i].has_children(i) {
                    Style::default().add_modifier(Modifier::BOLD)
                } else {
                    Style::default()
                };
                if i == self.selected {
                    style = style.add_modifier(Modifier::REVERSED);
                }
                Line::styled(text, style)
            })
            .collect();
        f.render_widget(Paragraph::new(lines), area);
    }

    fn render_search(&self, f: &mut Frame, area: Rect) {
        let Some(s) = &self.search else {
            return;
        };
        let line = if s.typing {
            Line::from(vec![
                Span::styled("/", Style::default().fg(Color::Yellow)),
                Span::raw(format!("{}▏ Enter finds, Esc cancels", s.text)),
            ])
        } else if s.hits.is_empty() {
            Line::styled(
                format!("no field matches \"{}\"", s.text),
                Style::default().fg(Color::Red),
            )
        } else {
            let (at, of) = self.hit_position().unwrap_or((0, 0));
            Line::styled(
                format!("\"{}\": match {at} of {of} · n/N next/previous", s.text),
                Style::default().fg(Color::Yellow),
            )
        };
        f.render_widget(Paragraph::new(line), area);
    }

    fn render_side(&self, f: &mut Frame, area: Rect, wide: bool) {
        let n = &self.nodes[self.selected];
        let bytes = self.selected_bytes();
        // The whole frame for the root: its children's bytes overlap, so their sum is not its size.
        let (hex, size) = match &self.frame_hex {
            Some(h) if self.selected == 0 => (h.clone(), h.split_whitespace().count()),
            _ => (spaced_hex(&bytes), bytes.len()),
        };
        let borders = if wide { Borders::LEFT } else { Borders::TOP };
        let block = Block::default()
            .borders(borders)
            .title(format!(" {} · {size} bytes ", n.name));
        let mut lines = Vec::new();
        if !n.value.is_empty() {
            lines.push(Line::from(n.value.clone()));
        }
        if bytes.is_empty() {
            lines.push(Line::styled(
                "no bytes of its own (decoded from the fields above)",
                Style::default().fg(Color::DarkGray),
            ));
        } else {
            lines.push(Line::styled(hex, Style::default().fg(Color::DarkGray)));
        }
        f.render_widget(
            Paragraph::new(lines)
                .wrap(Wrap { trim: false })
                .block(block),
            area,
        );
    }
}

fn flatten(node: &Node, depth: usize, parent: Option<usize>, out: &mut Vec<Flat>) {
    let at = out.len();
    out.push(Flat {
        depth,
        // Names and values may carry a meter's strings.
        name: crate::text::escape(&node.name).into_owned(),
        value: crate::text::escape(&node.value).into_owned(),
        bytes: node.bytes.clone(),
        end: 0,
        parent,
    });
    for c in &node.children {
        flatten(c, depth + 1, Some(at), out);
    }
    out[at].end = out.len();
}

fn direct_children(nodes: &[Flat], i: usize) -> impl Iterator<Item = usize> + '_ {
    let mut j = i + 1;
    std::iter::from_fn(move || {
        if j >= nodes[i].end {
            return None;
        }
        let at = j;
        j = nodes[j].end;
        Some(at)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> FrameTree {
        let mut list = Node::group("array", &[0x01, 0x14], "20 entries");
        for i in 0..20u8 {
            list.push(Node::leaf("element", &[0x11, i], i.to_string()));
        }
        let root = Node::group("capture", &[], "30 bytes")
            .with(Node::leaf("WRAPPER header", &[0x00, 0x01], "version 1"))
            .with(
                Node::group("glo-get-response", &[0xCC], "global key")
                    .with(Node::leaf("ciphered text", &[0xAB, 0xCD], ""))
                    .with(
                        Node::group("deciphered APDU", &[], "tag verified")
                            .with(Node::group("get-response", &[0xC4], "normal").with(list)),
                    ),
            );
        FrameTree::new("RX".into(), &root)
    }

    #[test]
    fn the_whole_frame_is_sized_by_its_own_bytes_not_its_fields_sum() {
        let mut t = tree().with_frame_hex("00 01 CC AB CD".into());
        let mut terminal =
            ratatui::Terminal::new(ratatui::backend::TestBackend::new(80, 24)).unwrap();
        terminal.draw(|f| t.render(f, f.area())).unwrap();
        let text: String = terminal
            .backend()
            .buffer()
            .content()
            .iter()
            .map(|c| c.symbol())
            .collect();
        // The fields' bytes add up to more (the deciphered APDU repeats what the ciphered holds).
        assert!(text.contains("capture · 5 bytes"), "{text}");
    }

    #[test]
    fn folds_and_unfolds_and_big_groups_start_folded() {
        let mut t = tree();
        assert_eq!(
            t.lines(),
            [
                "▾ capture: 30 bytes",
                "    WRAPPER header: version 1",
                "  ▾ glo-get-response: global key",
                "      ciphered text",
                "    ▾ deciphered APDU: tag verified",
                "      ▾ get-response: normal",
                "        ▸ array: 20 entries (+20)",
            ]
        );
        t.step(2);
        assert!(t.toggle());
        assert_eq!(t.lines().len(), 3);
        assert_eq!(t.lines()[2], "  ▸ glo-get-response: global key (+2)");
        t.step(-1);
        assert!(!t.toggle(), "a leaf does not fold");
        t.all(true);
        assert_eq!(t.lines().len(), 27);
        t.all(false);
        assert_eq!(
            t.lines(),
            [
                "▾ capture: 30 bytes",
                "    WRAPPER header: version 1",
                "  ▸ glo-get-response: global key (+2)"
            ]
        );
    }

    #[test]
    fn search_finds_names_values_and_bytes_inside_folded_groups() {
        let mut t = tree();
        t.all(false);
        t.search = Some(Search {
            text: "element".into(),
            ..Search::start()
        });
        assert_eq!(t.apply_search(), 20);
        assert_eq!(t.selected_name(), "element");
        assert_eq!(t.hit_position(), Some((1, 20)));
        assert!(
            t.lines().iter().any(|l| l.contains("element: 0")),
            "unfolded to the match"
        );
        assert!(t.next_hit(false), "wraps to the last");
        assert_eq!(t.hit_position(), Some((20, 20)));
        // Bytes, spaces ignored, any case.
        t.search = Some(Search {
            text: "ab cd".into(),
            ..Search::start()
        });
        assert_eq!(t.apply_search(), 1);
        assert_eq!(t.selected_name(), "ciphered text");
        t.search = Some(Search {
            text: "nothing like it".into(),
            ..Search::start()
        });
        assert_eq!(t.apply_search(), 0);
        assert!(!t.next_hit(true));
    }

    #[test]
    fn a_ciphered_apdus_bytes_leave_out_the_plain_apdu() {
        let mut t = tree();
        t.step(2);
        assert_eq!(t.selected_name(), "glo-get-response");
        assert_eq!(t.selected_bytes(), [0xCC, 0xAB, 0xCD]);
        t.step(2);
        assert_eq!(t.selected_name(), "deciphered APDU");
        let plain = t.selected_bytes();
        assert_eq!(
            (&plain[..5], plain.len()),
            (&[0xC4, 0x01, 0x14, 0x11, 0x00][..], 43)
        );
    }

    #[test]
    fn fold_goes_to_the_parent_and_unfold_to_the_first_field() {
        let mut t = tree();
        t.step(3);
        assert_eq!(t.selected_name(), "ciphered text");
        t.fold();
        assert_eq!(t.selected_name(), "glo-get-response");
        t.fold();
        assert_eq!(t.lines().len(), 3);
        t.unfold();
        t.unfold();
        assert_eq!(t.selected_name(), "ciphered text");
        t.ends(true);
        assert_eq!(t.selected_name(), "array");
        t.ends(false);
        assert_eq!(t.selected_name(), "capture");
    }
}
