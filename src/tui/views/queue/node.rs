//! The nodes of the queue tree, addressed by position in the working copy, in display order.

use crate::queue::Config;

/// A connection, meter, request or item of the working copy, by index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Node {
    /// `connections[i]`.
    Connection(usize),
    /// `meters[i]`.
    Meter(usize),
    /// `requests[i]`.
    Request(usize),
    /// `requests[r].items[i]`.
    Item(usize, usize),
}

impl Node {
    /// The kind in words, for messages.
    pub fn kind(self) -> &'static str {
        match self {
            Node::Connection(_) => "connection",
            Node::Meter(_) => "meter",
            Node::Request(_) => "request",
            Node::Item(..) => "item",
        }
    }

    /// The node's name, if it still exists.
    pub fn name(self, config: &Config) -> Option<&str> {
        let name = match self {
            Node::Connection(i) => &config.connections.get(i)?.name,
            Node::Meter(i) => &config.meters.get(i)?.name,
            Node::Request(i) => &config.requests.get(i)?.name,
            Node::Item(r, i) => &config.requests.get(r)?.items.get(i)?.name,
        };
        Some(name)
    }

    /// `meter "m1"`, `item "energy" of request "instant"`: the node in messages.
    pub fn title(self, config: &Config) -> String {
        let name = self.name(config).unwrap_or_default();
        match self {
            Node::Item(r, _) => format!("item {name:?} of {}", Node::Request(r).title(config)),
            _ => format!("{} {name:?}", self.kind()),
        }
    }

    /// Whether the node is enabled (disabled ones are drawn dim).
    pub fn enabled(self, config: &Config) -> bool {
        match self {
            Node::Connection(i) => config.connections.get(i).is_some_and(|c| c.enabled),
            Node::Meter(i) => config.meters.get(i).is_some_and(|m| m.enabled),
            Node::Request(i) => config.requests.get(i).is_some_and(|r| r.enabled),
            Node::Item(r, i) => config
                .requests
                .get(r)
                .and_then(|r| r.items.get(i))
                .is_some_and(|i| i.enabled),
        }
    }
}

/// Every node in tree order: each connection followed by its meters, meters whose connection
/// does not exist, then each request followed by its items.
pub fn rows(config: &Config) -> Vec<Node> {
    let mut rows = Vec::new();
    // A meter belongs to the first connection of its name, so a duplicated name lists it once.
    let owner = |connection: &str| config.connections.iter().position(|c| c.name == connection);
    for (c, _) in config.connections.iter().enumerate() {
        rows.push(Node::Connection(c));
        rows.extend(
            (0..config.meters.len())
                .filter(|&m| owner(&config.meters[m].connection) == Some(c))
                .map(Node::Meter),
        );
    }
    rows.extend(
        (0..config.meters.len())
            .filter(|&m| owner(&config.meters[m].connection).is_none())
            .map(Node::Meter),
    );
    for (r, request) in config.requests.iter().enumerate() {
        rows.push(Node::Request(r));
        rows.extend((0..request.items.len()).map(|i| Node::Item(r, i)));
    }
    rows
}
