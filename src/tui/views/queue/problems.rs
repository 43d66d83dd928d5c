//! What is wrong with the working copy: texts that did not parse, and every rule
//! `Config::problems` finds broken, each placed on the node and field it names; and what is
//! wrong with a text while it is typed.

use super::field::{self, Field};
use super::node::{self, Node};
use super::ops::Shift;
use crate::queue::{Config, ConfigError};
use std::collections::BTreeMap;

/// A text that did not parse; the field keeps its last good value meanwhile.
#[derive(Debug, Clone, PartialEq)]
pub struct Invalid {
    /// What the user typed.
    pub text: String,
    /// Why it is not accepted.
    pub problem: String,
}

/// A broken rule and where to show it.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// The node and, if known, its field; `None` when the path names no node.
    pub at: Option<(Node, Option<Field>)>,
    /// The message as `Config::validate` gives it (with the field path).
    pub message: String,
    /// The problem alone.
    pub problem: String,
}

/// The problems of the working copy.
#[derive(Debug, Default)]
pub struct Problems {
    /// Unparsed texts by node and field.
    pub invalid: BTreeMap<(Node, Field), Invalid>,
    /// Every broken rule, in queue order (the first hundred).
    pub rules: Vec<Rule>,
    /// How many more rules are broken than `rules` holds.
    pub more: usize,
}

/// At most this many broken rules are placed on nodes (each costs a walk of the tree); the
/// rest are counted.
const PLACED: usize = 100;

/// The rules `config` breaks, each placed on its node and field (the first [`PLACED`]), and
/// how many more there are.
fn rules(config: &Config) -> (Vec<Rule>, usize) {
    let problems = config.problems();
    let more = problems.len().saturating_sub(PLACED);
    (placed(config, problems.into_iter().take(PLACED)), more)
}

fn placed(config: &Config, problems: impl Iterator<Item = ConfigError>) -> Vec<Rule> {
    problems
        .map(|e| match &e {
            ConfigError::Field { field, problem, .. } => Rule {
                at: locate(config, field),
                message: e.to_string(),
                problem: problem.clone(),
            },
            _ => Rule {
                at: None,
                message: e.to_string(),
                problem: e.to_string(),
            },
        })
        .collect()
}

/// What is wrong with `text` typed into `field` of `node`, as if it were committed now: why
/// it does not parse, or the first rule of the queue it would break at that field.
pub fn live(config: &Config, node: Node, field: Field, text: &str) -> Option<String> {
    let mut trial = config.clone();
    if let Err(e) = field::set(&mut trial, node, field, text) {
        return Some(e.to_string());
    }
    // A rename moves the node's messages to its new name; the node stays where it is.
    trial
        .problems()
        .into_iter()
        .flat_map(|e| placed(&trial, std::iter::once(e)))
        .find(|r| r.at == Some((node, Some(field))))
        .map(|r| r.problem)
}

impl Problems {
    /// Re-runs the validation of `config`.
    pub fn check(&mut self, config: &Config) {
        (self.rules, self.more) = rules(config);
    }

    /// Forgets everything (after undo).
    pub fn clear(&mut self) {
        self.invalid.clear();
        self.rules.clear();
        self.more = 0;
    }

    /// Moves kept texts along with their nodes after a structural edit.
    pub fn shift(&mut self, shift: Shift) {
        self.invalid = std::mem::take(&mut self.invalid)
            .into_iter()
            .filter_map(|((node, f), v)| Some(((shift.apply(node)?, f), v)))
            .collect();
    }

    /// The problem to show under a field.
    pub fn at_field(&self, node: Node, field: Field) -> Option<&str> {
        if let Some(invalid) = self.invalid.get(&(node, field)) {
            return Some(&invalid.problem);
        }
        self.rules
            .iter()
            .find(|r| r.at == Some((node, Some(field))))
            .map(|r| r.problem.as_str())
    }

    /// The problems to show at the bottom of a node's form: about the node as a whole, or placed nowhere.
    pub fn at_bottom(&self, node: Node) -> Vec<&str> {
        self.rules
            .iter()
            .filter_map(|rule| match rule.at {
                Some((n, None)) if n == node => Some(rule.problem.as_str()),
                None => Some(rule.message.as_str()),
                _ => None,
            })
            .collect()
    }

    /// Whether the tree should mark this node.
    pub fn on_node(&self, node: Node) -> bool {
        self.invalid.keys().any(|(n, _)| *n == node)
            || self
                .rules
                .iter()
                .any(|r| matches!(r.at, Some((n, _)) if n == node))
    }

    /// The first problem in words, naming the node and field, or `None` when saving is allowed.
    pub fn first(&self, config: &Config) -> Option<String> {
        if let Some(((node, f), invalid)) = self.invalid.iter().next() {
            let title = node.title(config);
            return Some(format!("{title} {}: {}", f.label(), invalid.problem));
        }
        let first = self.rules.first()?;
        Some(match self.rules.len() + self.more {
            1 => first.message.clone(),
            n => format!("{} (and {} more problems)", first.message, n - 1),
        })
    }
}

/// The node and field a validation path such as `request "r".items[2].obis` names.
pub fn locate(config: &Config, path: &str) -> Option<(Node, Option<Field>)> {
    // The longest prefix wins (an item over its request); of equal ones the last, because a
    // duplicated name is reported on its second use.
    let (node, rest) = node::rows(config)
        .into_iter()
        .filter_map(|n| {
            let prefix = prefix(config, n);
            let rest = path.strip_prefix(&prefix)?;
            (rest.is_empty() || rest.starts_with('.')).then_some((n, prefix.len(), rest))
        })
        .max_by_key(|(n, len, _)| (*len, *n))
        .map(|(n, _, rest)| (n, rest.trim_start_matches('.')))?;
    // `meters[2]` is the meters field.
    let rest = rest.split('[').next().unwrap_or_default();
    // A listening connection's host and port are the fields of a TCP one.
    let rest = match rest.strip_prefix("listen.") {
        Some(key) => format!("tcp.{key}"),
        None => rest.to_string(),
    };
    let fields = field::fields(config, node);
    let field = fields.into_iter().find(|f| key(*f) == Some(&rest));
    Some((node, field))
}

/// How validation paths name a node: `meter "m1"`, `meter[2]` when the name is blank, items by index from 1.
fn prefix(config: &Config, node: Node) -> String {
    let entry = |section: &str, i: usize, name: &str| {
        if name.trim().is_empty() {
            format!("{section}[{}]", i + 1)
        } else {
            format!("{section} {name:?}")
        }
    };
    let name = node.name(config).unwrap_or_default();
    match node {
        Node::Connection(i) => entry("connection", i, name),
        Node::Meter(i) => entry("meter", i, name),
        Node::Request(i) => entry("request", i, name),
        Node::Item(r, i) => format!("{}.items[{}]", prefix(config, Node::Request(r)), i + 1),
    }
}

/// The config path (after the node) of a field.
fn key(field: Field) -> Option<&'static str> {
    Some(match field {
        Field::Name => "name",
        Field::Host => "tcp.host",
        Field::Port => "tcp.port",
        Field::SerialPort => "serial.port",
        Field::Baud => "serial.baud",
        Field::DataBits => "serial.data_bits",
        Field::FrameGap => "serial.frame_gap_ms",
        Field::StopBits => "serial.stop_bits",
        Field::Connection => "connection",
        Field::Client => "client",
        Field::Server => "server",
        Field::SerialNumber => "serial_number",
        Field::DeviceName => "device_name",
        Field::Logical => "logical",
        Field::AddressSize => "address_size",
        Field::Password => "auth.password",
        Field::Secret => "auth.secret",
        Field::Policy => "security.policy",
        Field::SystemTitle => "security.system_title",
        Field::ServerSystemTitle => "security.server_system_title",
        Field::BlockKey => "security.block_key",
        Field::AuthKey => "security.auth_key",
        Field::DedicatedKey => "security.dedicated_key",
        Field::IcObis => "security.ic_obis",
        Field::Timeout => "timeout_ms",
        Field::Retries => "retries",
        Field::Meters => "meters",
        Field::Schedule => "schedule",
        Field::OnSuccess => "on_success",
        Field::OnFailure => "on_failure",
        Field::Obis => "obis",
        Field::Class => "class",
        Field::Attribute => "attribute",
        Field::Type => "type",
        Field::Scale => "scale",
        Field::Unit => "unit",
        Field::Entries => "entries",
        Field::Since => "since",
        Field::Until => "until",
        _ => return None,
    })
}
