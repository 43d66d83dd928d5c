//! Structural edits of the tree: add, duplicate, move, delete and enable/disable nodes.
//!
//! Each edit reports how positions moved ([`Shift`]) so that texts kept for a node (invalid
//! input) follow it, and which node to select afterwards.

use super::node::Node;
use crate::dlms::obis::Obis;
use crate::queue::{Config, Connection, Item, Link, Meter, Request};
use crate::schedule::Schedule;
use std::time::Duration;

/// One list of the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum List {
    /// `connections`.
    Connections,
    /// `meters`.
    Meters,
    /// `requests`.
    Requests,
    /// `requests[r].items`.
    Items(usize),
}

/// How an edit moved the positions of one list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shift {
    /// A node was inserted at this position.
    Insert(List, usize),
    /// The node at this position was removed.
    Remove(List, usize),
    /// Two nodes traded places.
    Swap(List, usize, usize),
}

impl Shift {
    /// Where `node` is after the edit; `None` if it was removed.
    pub fn apply(self, node: Node) -> Option<Node> {
        match node {
            Node::Connection(i) => self.index(List::Connections, i).map(Node::Connection),
            Node::Meter(i) => self.index(List::Meters, i).map(Node::Meter),
            Node::Request(i) => self.index(List::Requests, i).map(Node::Request),
            Node::Item(r, i) => Some(Node::Item(
                self.index(List::Requests, r)?,
                self.index(List::Items(r), i)?,
            )),
        }
    }

    fn index(self, list: List, i: usize) -> Option<usize> {
        match self {
            Shift::Insert(l, at) if l == list && i >= at => Some(i + 1),
            Shift::Remove(l, at) if l == list && i == at => None,
            Shift::Remove(l, at) if l == list && i > at => Some(i - 1),
            Shift::Swap(l, a, b) if l == list && i == a => Some(b),
            Shift::Swap(l, a, b) if l == list && i == b => Some(a),
            _ => Some(i),
        }
    }
}

/// What an edit did: the node to select and how positions moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Edit {
    /// The node to select.
    pub select: Node,
    /// How positions moved.
    pub shift: Shift,
}

/// `base`, or `base (2)`, `base (3)`…: the first that is not `taken` (a ` (N)` suffix of `base` is replaced).
pub fn unique_name(base: &str, taken: impl Fn(&str) -> bool) -> String {
    let stem = match base.rsplit_once(" (") {
        Some((stem, n))
            if n.strip_suffix(')')
                .is_some_and(|n| n.parse::<u32>().is_ok()) =>
        {
            stem
        }
        _ => base,
    };
    if !taken(stem) {
        return stem.to_string();
    }
    // Fewer names are taken than there are numbers, so the search ends.
    (2u64..)
        .map(|n| format!("{stem} ({n})"))
        .find(|name| !taken(name))
        .unwrap_or_else(|| stem.to_string())
}

/// Adds a node of the selected kind after it (a connection when nothing is selected).
pub fn add_sibling(config: &mut Config, node: Option<Node>) -> Edit {
    match node {
        None => insert_connection(config, config.connections.len()),
        Some(Node::Connection(c)) => insert_connection(config, c + 1),
        Some(Node::Meter(m)) => {
            let connection = config.meters.get(m).map(|m| m.connection.clone());
            insert_meter(config, m + 1, connection.unwrap_or_default())
        }
        Some(Node::Request(r)) => {
            let meters = config.requests.get(r).map(|r| r.meters.clone());
            insert_request(config, r + 1, meters.unwrap_or_default())
        }
        Some(Node::Item(r, i)) => insert_item(config, r, i + 1),
    }
}

/// Adds a child: a meter on a connection, an item to a request, a request reading a meter.
pub fn add_child(config: &mut Config, node: Node) -> Option<Edit> {
    match node {
        Node::Connection(c) => {
            let name = config.connections.get(c)?.name.clone();
            let at = config
                .meters
                .iter()
                .rposition(|m| m.connection == name)
                .map_or(config.meters.len(), |m| m + 1);
            Some(insert_meter(config, at, name))
        }
        Node::Meter(m) => {
            let name = config.meters.get(m)?.name.clone();
            Some(insert_request(config, config.requests.len(), vec![name]))
        }
        Node::Request(r) => {
            let at = config.requests.get(r)?.items.len();
            Some(insert_item(config, r, at))
        }
        Node::Item(..) => None,
    }
}

fn insert_connection(config: &mut Config, at: usize) -> Edit {
    let at = at.min(config.connections.len());
    let name = unique_name("connection", |n| config.connection(n).is_some());
    let link = Link::Tcp {
        host: "127.0.0.1".into(),
        port: 4059,
        persistent: true,
    };
    config.connections.insert(at, Connection::new(name, link));
    edit(Node::Connection(at), Shift::Insert(List::Connections, at))
}

fn insert_meter(config: &mut Config, at: usize, connection: String) -> Edit {
    let at = at.min(config.meters.len());
    let name = unique_name("meter", |n| config.meter(n).is_some());
    config.meters.insert(at, Meter::new(name, connection));
    edit(Node::Meter(at), Shift::Insert(List::Meters, at))
}

fn insert_request(config: &mut Config, at: usize, meters: Vec<String>) -> Edit {
    let at = at.min(config.requests.len());
    let name = unique_name("request", |n| config.request(n).is_some());
    let mut request = Request::new(name, meters, Schedule::Every(Duration::from_secs(900)));
    // Every meter has a clock, so the new request is valid and can be tested at once.
    request
        .items
        .push(Item::new("clock", Obis::new(0, 0, 1, 0, 0, 255)));
    config.requests.insert(at, request);
    edit(Node::Request(at), Shift::Insert(List::Requests, at))
}

fn insert_item(config: &mut Config, r: usize, at: usize) -> Edit {
    let Some(request) = config.requests.get_mut(r) else {
        return edit(Node::Request(r), Shift::Insert(List::Items(r), at));
    };
    let at = at.min(request.items.len());
    let name = unique_name("item", |n| request.items.iter().any(|i| i.name == n));
    let item = Item::new(name, Obis::new(1, 0, 1, 8, 0, 255));
    request.items.insert(at, item);
    edit(Node::Item(r, at), Shift::Insert(List::Items(r), at))
}

fn edit(select: Node, shift: Shift) -> Edit {
    Edit { select, shift }
}

/// Inserts a copy of the node after it, named `name (2)`; a request is copied with its items.
pub fn duplicate(config: &mut Config, node: Node) -> Option<Edit> {
    Some(match node {
        Node::Connection(c) => {
            let mut copy = config.connections.get(c)?.clone();
            copy.name = unique_name(&copy.name, |n| config.connection(n).is_some());
            config.connections.insert(c + 1, copy);
            edit(
                Node::Connection(c + 1),
                Shift::Insert(List::Connections, c + 1),
            )
        }
        Node::Meter(m) => {
            let mut copy = config.meters.get(m)?.clone();
            copy.name = unique_name(&copy.name, |n| config.meter(n).is_some());
            config.meters.insert(m + 1, copy);
            edit(Node::Meter(m + 1), Shift::Insert(List::Meters, m + 1))
        }
        Node::Request(r) => {
            let mut copy = config.requests.get(r)?.clone();
            copy.name = unique_name(&copy.name, |n| config.request(n).is_some());
            config.requests.insert(r + 1, copy);
            edit(Node::Request(r + 1), Shift::Insert(List::Requests, r + 1))
        }
        Node::Item(r, i) => {
            let request = config.requests.get_mut(r)?;
            let mut copy = request.items.get(i)?.clone();
            copy.name = unique_name(&copy.name, |n| request.items.iter().any(|i| i.name == n));
            request.items.insert(i + 1, copy);
            edit(Node::Item(r, i + 1), Shift::Insert(List::Items(r), i + 1))
        }
    })
}

/// Moves the node one place up or down among its siblings (meters among those of the same connection).
pub fn move_node(config: &mut Config, node: Node, up: bool) -> Option<Edit> {
    let neighbour = |i: usize, len: usize| {
        if up {
            i.checked_sub(1)
        } else {
            Some(i + 1).filter(|&j| j < len)
        }
    };
    let (list, a, b) = match node {
        Node::Connection(c) => (
            List::Connections,
            c,
            neighbour(c, config.connections.len())?,
        ),
        Node::Request(r) => (List::Requests, r, neighbour(r, config.requests.len())?),
        Node::Item(r, i) => (
            List::Items(r),
            i,
            neighbour(i, config.requests.get(r)?.items.len())?,
        ),
        Node::Meter(m) => {
            let connection = &config.meters.get(m)?.connection;
            let same = |j: &usize| config.meters[*j].connection == *connection;
            let other = if up {
                (0..m).rev().find(same)?
            } else {
                (m + 1..config.meters.len()).find(same)?
            };
            (List::Meters, m, other)
        }
    };
    match list {
        List::Connections => config.connections.swap(a, b),
        List::Meters => config.meters.swap(a, b),
        List::Requests => config.requests.swap(a, b),
        List::Items(r) => config.requests.get_mut(r)?.items.swap(a, b),
    }
    let select = Shift::Swap(list, a, b).apply(node)?;
    Some(edit(select, Shift::Swap(list, a, b)))
}

/// Why the node cannot be deleted: a connection still used by meters, a meter still read by requests.
pub fn delete_refusal(config: &Config, node: Node) -> Option<String> {
    let name = node.name(config)?;
    let (users, what) = match node {
        Node::Connection(c) => {
            let shared = config
                .connections
                .iter()
                .enumerate()
                .any(|(i, o)| i != c && o.name == name);
            let users: Vec<&str> = config
                .meters
                .iter()
                .filter(|m| m.connection == name && !shared)
                .map(|m| m.name.as_str())
                .collect();
            (users, "meter")
        }
        Node::Meter(m) => {
            let shared = config
                .meters
                .iter()
                .enumerate()
                .any(|(i, o)| i != m && o.name == name);
            let users: Vec<&str> = config
                .requests
                .iter()
                .filter(|r| !shared && r.meters.iter().any(|n| n == name))
                .map(|r| r.name.as_str())
                .collect();
            (users, "request")
        }
        _ => return None,
    };
    (!users.is_empty()).then(|| {
        format!(
            "{} is used by {what}(s) {}; delete those or change them first",
            node.title(config),
            users.join(", ")
        )
    })
}

/// Removes the node (a request with its items).
pub fn delete(config: &mut Config, node: Node) -> Option<Shift> {
    let shift = match node {
        Node::Connection(c) if c < config.connections.len() => {
            config.connections.remove(c);
            Shift::Remove(List::Connections, c)
        }
        Node::Meter(m) if m < config.meters.len() => {
            config.meters.remove(m);
            Shift::Remove(List::Meters, m)
        }
        Node::Request(r) if r < config.requests.len() => {
            config.requests.remove(r);
            Shift::Remove(List::Requests, r)
        }
        Node::Item(r, i) => {
            let items = &mut config.requests.get_mut(r)?.items;
            (i < items.len()).then(|| items.remove(i))?;
            Shift::Remove(List::Items(r), i)
        }
        _ => return None,
    };
    Some(shift)
}

/// Enables a disabled node or disables an enabled one.
pub fn toggle(config: &mut Config, node: Node) {
    let flag = match node {
        Node::Connection(i) => config.connections.get_mut(i).map(|c| &mut c.enabled),
        Node::Meter(i) => config.meters.get_mut(i).map(|m| &mut m.enabled),
        Node::Request(i) => config.requests.get_mut(i).map(|r| &mut r.enabled),
        Node::Item(r, i) => config
            .requests
            .get_mut(r)
            .and_then(|r| r.items.get_mut(i))
            .map(|i| &mut i.enabled),
    };
    if let Some(flag) = flag {
        *flag = !*flag;
    }
}
