//! The decoded tree: every field of a frame named, with its bytes and what they say.

use std::borrow::Cow;
use std::fmt::Write;

/// One field (or group of fields) of a decoded frame.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Node {
    /// The field's name, in the standard's words (`security control`, `long-invoke-id-and-priority`).
    pub name: Cow<'static, str>,
    /// The bytes this node itself stands for: all of them for a leaf, the header (tag, length)
    /// for a node with children. A frame's information field shows its bytes as they came;
    /// the APDU read from it (segments and blocks joined, deciphered) follows as a node of
    /// its own.
    pub bytes: Vec<u8>,
    /// What the bytes say, in words (`UI frame, final`, `1122`, `2019-12-16T07:59:40`).
    pub value: String,
    /// The fields inside.
    pub children: Vec<Node>,
}

/// How many bytes of one field the text shows before eliding the rest.
const SHOWN_BYTES: usize = 32;

impl Node {
    /// A leaf.
    pub fn leaf(
        name: impl Into<Cow<'static, str>>,
        bytes: &[u8],
        value: impl Into<String>,
    ) -> Node {
        Node {
            name: name.into(),
            bytes: bytes.to_vec(),
            value: value.into(),
            children: Vec::new(),
        }
    }

    /// A node with its header bytes and no children yet.
    pub fn group(
        name: impl Into<Cow<'static, str>>,
        bytes: &[u8],
        value: impl Into<String>,
    ) -> Node {
        Node::leaf(name, bytes, value)
    }

    /// Adds a child; returns `self` for chaining.
    pub fn with(mut self, child: Node) -> Node {
        self.children.push(child);
        self
    }

    /// Adds a child.
    pub fn push(&mut self, child: Node) {
        self.children.push(child);
    }

    /// The first node, depth first, whose name is `name`.
    pub fn find(&self, name: &str) -> Option<&Node> {
        if self.name == name {
            return Some(self);
        }
        self.children.iter().find_map(|c| c.find(name))
    }

    /// The indented text form, one field a line: `name: value  [bytes]`, children two spaces
    /// further in; long byte runs are cut after 32 bytes with the count of the rest.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        self.write_text(&mut out, 0);
        out
    }

    fn write_text(&self, out: &mut String, depth: usize) {
        let _ = write!(out, "{:indent$}{}", "", self.name, indent = depth * 2);
        if !self.value.is_empty() {
            let _ = write!(out, ": {}", self.value);
        }
        if !self.bytes.is_empty() {
            out.push_str("  [");
            out.push_str(&spaced_hex(
                &self.bytes[..self.bytes.len().min(SHOWN_BYTES)],
            ));
            if self.bytes.len() > SHOWN_BYTES {
                let _ = write!(out, " … {} bytes in all", self.bytes.len());
            }
            out.push(']');
        }
        out.push('\n');
        for c in &self.children {
            c.write_text(out, depth + 1);
        }
    }
}

/// Bytes as upper-case hex pairs separated by spaces.
pub fn spaced_hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        let _ = write!(s, "{b:02X}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_indented_and_cut() {
        let n = Node::group("frame", &[0x7E], "HDLC")
            .with(Node::leaf("info", &[0u8; 40], ""))
            .with(Node::leaf("name", b"", "x"));
        let t = n.to_text();
        assert!(t.starts_with("frame: HDLC  [7E]\n  info  [00 00"), "{t}");
        assert!(t.contains("… 40 bytes in all]"), "{t}");
        assert!(t.ends_with("  name: x\n"), "{t}");
        assert_eq!(n.find("name").map(|n| n.value.as_str()), Some("x"));
    }
}
