//! Drawing the tree: connections with their meters, requests with their items.

use super::node::Node;
use super::problems::Problems;
use crate::queue::{Config, Link};
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, List, ListItem, ListState};
use ratatui::Frame;

/// Draws `rows` with the one at `state`'s selection highlighted.
pub fn render(
    f: &mut Frame,
    area: Rect,
    block: Block,
    config: &Config,
    rows: &[Node],
    problems: &Problems,
    state: &mut ListState,
) {
    let items: Vec<ListItem> = rows
        .iter()
        .map(|&node| ListItem::new(row(config, node, problems)))
        .collect();
    let empty = rows.is_empty();
    let list = List::new(items)
        .block(block)
        .highlight_style(Style::default().add_modifier(Modifier::REVERSED));
    f.render_stateful_widget(list, area, state);
    if empty {
        let hint = Line::styled(
            " empty: a adds a connection",
            Style::default().fg(Color::DarkGray),
        );
        let inner = Rect {
            x: area.x.saturating_add(1),
            y: area.y.saturating_add(1),
            width: area.width.saturating_sub(2),
            height: area.height.saturating_sub(2).min(1),
        };
        f.render_widget(hint, inner);
    }
}

/// `▸ name  detail`, dim when disabled, with a red `!` when the node has a problem.
fn row(config: &Config, node: Node, problems: &Problems) -> Line<'static> {
    let dim = Style::default().fg(Color::DarkGray);
    let name = node.name(config).unwrap_or_default().to_string();
    let (indent, detail) = match node {
        Node::Connection(i) => (
            "▸ ",
            config.connections.get(i).map(|c| match &c.link {
                Link::Tcp { host, port, .. } if c.simulator => {
                    format!("built-in simulator {host}:{port}")
                }
                Link::Tcp { host, port, .. } => format!("tcp {host}:{port}"),
                Link::Serial(s) => format!("serial {}", s.port),
                Link::Listen { host, port } => format!("listen {host}:{port}"),
                Link::Udp { host, port } => format!("udp {host}:{port}"),
            }),
        ),
        Node::Meter(i) => (
            "  · ",
            config.meters.get(i).and_then(|m| {
                let orphan = config.connection(&m.connection).is_none();
                orphan.then(|| format!("no connection {:?}", m.connection))
            }),
        ),
        Node::Request(i) => ("▸ ", config.requests.get(i).map(|r| r.schedule.to_string())),
        Node::Item(r, i) => {
            let item = config.requests.get(r).and_then(|r| r.items.get(i));
            ("  · ", item.map(|i| i.obis.to_string()))
        }
    };
    let on = node.enabled(config);
    let mut spans = vec![
        Span::raw(indent),
        Span::styled(name, if on { Style::default() } else { dim }),
    ];
    if let Some(detail) = detail {
        spans.push(Span::styled(format!("  {detail}"), dim));
    }
    if !on {
        spans.push(Span::styled(" off", dim));
    }
    if problems.on_node(node) {
        let bold_red = Style::default().fg(Color::Red).add_modifier(Modifier::BOLD);
        spans.push(Span::styled(" !", bold_red));
    }
    Line::from(spans)
}
