//! Puts problems at their line: the parsed document's spans map field paths to lines and back.

use std::ops::Range;

use serde::de::DeserializeOwned;
use serde::Deserialize as _;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::error::{or_list, ConfigError};
use super::path::{ConfigFault, FieldPath};

/// The entries of a section that read, and the errors of those that did not, each with its
/// index in the file.
pub(crate) type Entries<T> = (Vec<(usize, T)>, Vec<(usize, ConfigError)>);

/// A TOML text with its tree of spans, for placing errors.
pub(crate) struct Doc<'a> {
    text: &'a str,
    origin: &'a str,
    root: Spanned<DeTable<'a>>,
}

impl<'a> Doc<'a> {
    /// Parses the text; a syntax error names its line and column.
    pub(crate) fn parse(text: &'a str, origin: &'a str) -> Result<Self, ConfigError> {
        let root = DeTable::parse(text).map_err(|e| {
            let (line, column) = line_col(text, e.span().map_or(0, |s| s.start));
            ConfigError::Syntax {
                origin: origin.to_string(),
                line,
                column,
                message: e.message().replace('\n', " "),
            }
        })?;
        Ok(Doc { text, origin, root })
    }

    /// Deserializes the file form; serde's error is placed at the field it concerns.
    pub(crate) fn deserialize<T: DeserializeOwned>(&self) -> Result<T, ConfigError> {
        toml::from_str(self.text).map_err(|e| self.serde_error(&e))
    }

    /// The top-level keys not in `allowed`, each an error at its key.
    pub(crate) fn unknown_keys(&self, allowed: &[&str]) -> Vec<ConfigError> {
        self.root
            .get_ref()
            .iter()
            .filter(|(key, _)| !allowed.contains(&key.get_ref().as_ref()))
            .map(|(key, _)| {
                let fault = ConfigFault::new(
                    FieldPath::default().key(key.get_ref()),
                    format!("unknown field; allowed fields: {}", or_list(allowed)),
                );
                self.place(fault, Some(key.span()))
            })
            .collect()
    }

    /// The top-level table `key` deserialized, if the file has it.
    pub(crate) fn table<T: DeserializeOwned>(&self, key: &str) -> Option<Result<T, ConfigError>> {
        let value = self.root.get_ref().get(key)?;
        Some(
            T::deserialize(toml::de::ValueDeserializer::from(value.clone()))
                .map_err(|e| self.serde_error(&e)),
        )
    }

    /// The entries of the top-level array `section`, each deserialized on its own so that a
    /// broken one does not hide the others: `(index in the file, entry)` for those that read,
    /// and the error of each that did not (with its index).
    pub(crate) fn entries<T: DeserializeOwned>(&self, section: &str) -> Entries<T> {
        let Some(value) = self.root.get_ref().get(section) else {
            return (Vec::new(), Vec::new());
        };
        let Some(array) = value.get_ref().as_array() else {
            // Not an array: serde says so in its words.
            let whole = Vec::<T>::deserialize(toml::de::ValueDeserializer::from(value.clone()));
            let error = whole.err().map(|e| (0, self.serde_error(&e)));
            return (Vec::new(), error.into_iter().collect());
        };
        let mut good = Vec::new();
        let mut bad = Vec::new();
        for (i, entry) in array.iter().enumerate() {
            match T::deserialize(toml::de::ValueDeserializer::from(entry.clone())) {
                Ok(t) => good.push((i, t)),
                Err(e) => bad.push((i, self.serde_error(&e))),
            }
        }
        (good, bad)
    }

    /// serde's error placed at the field it concerns, in the words of this file format.
    fn serde_error(&self, e: &toml::de::Error) -> ConfigError {
        let at = e.span();
        let path = at
            .as_ref()
            .map_or_else(FieldPath::default, |s| self.path_at(s.start));
        let (missing, problem) = explain(e.message());
        let fault = match missing {
            Some(key) => ConfigFault::new(path.key(key), "is required"),
            // serde quotes the value it rejects, which must not be a password or key.
            None if (path.has_key("auth")
                || path.has_key("security")
                || path.has_key("password"))
                && e.message().starts_with("invalid") =>
            {
                let expected = e.message().split_once(", expected ").map(|(_, x)| x);
                let problem = expected.map_or("is not valid".into(), |x| {
                    format!("is not valid; expected {x}")
                });
                ConfigFault::new(path, problem)
            }
            None => ConfigFault::new(path, problem),
        };
        self.place(fault, at)
    }

    /// The error for a problem found after deserializing, at the line of its field.
    pub(crate) fn error(&self, fault: ConfigFault) -> ConfigError {
        let span = self.span_of(&fault.path);
        self.place(fault, Some(span))
    }

    fn place(&self, fault: ConfigFault, span: Option<Range<usize>>) -> ConfigError {
        let at = span.map(|s| line_col(self.text, s.start));
        ConfigError::Field {
            origin: Some(self.origin.to_string()),
            line: at.map(|(line, _)| line),
            column: at.map(|(_, column)| column),
            field: fault.path.render(|section, i| self.entry_name(section, i)),
            problem: fault.problem,
        }
    }

    /// The `name` of entry `index` of a top-level array, as written.
    pub(crate) fn entry_name(&self, section: &str, index: usize) -> Option<String> {
        let entry = self.root.get_ref().get(section)?.get_ref().get(index)?;
        Some(entry.get_ref().get("name")?.get_ref().as_str()?.to_string())
    }

    /// The span of the deepest part of `path` that is written in the file (a defaulted field: its table).
    fn span_of(&self, path: &FieldPath) -> Range<usize> {
        let mut span = self.root.span();
        let mut table = Some(self.root.get_ref());
        let mut array = None;
        for step in path.steps() {
            let found = match step {
                Ok(key) => table
                    .and_then(|t| t.get_key_value(key))
                    .map(|(k, v)| (k.span(), v)),
                Err(i) => array
                    .and_then(|a: &toml::de::DeArray<'_>| a.get(i))
                    .map(|v| (v.span(), v)),
            };
            let Some((at, value)) = found else { break };
            span = at;
            table = value.get_ref().as_table();
            array = value.get_ref().as_array();
        }
        span
    }

    /// The path of the deepest key or value whose span holds `pos`.
    fn path_at(&self, pos: usize) -> FieldPath {
        let mut best = FieldPath::default();
        walk_table(self.root.get_ref(), &FieldPath::default(), pos, &mut best);
        best
    }
}

fn walk_table(table: &DeTable<'_>, path: &FieldPath, pos: usize, best: &mut FieldPath) {
    for (key, value) in table.iter() {
        let here = path.key(key.get_ref());
        let hit = holds(key.span(), pos) || holds(value.span(), pos);
        walk_value(value, here, hit, pos, best);
    }
}

fn walk_value(
    value: &Spanned<DeValue<'_>>,
    here: FieldPath,
    hit: bool,
    pos: usize,
    best: &mut FieldPath,
) {
    match value.get_ref() {
        DeValue::Table(t) => walk_table(t, &here, pos, best),
        DeValue::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                walk_value(v, here.index(i), holds(v.span(), pos), pos, best);
            }
        }
        _ => {}
    }
    // Tables of `[[meter]]` span only their header, so children are searched whatever the parent's span.
    if hit && here.depth() > best.depth() {
        *best = here;
    }
}

fn holds(span: Range<usize>, pos: usize) -> bool {
    span.start <= pos && pos < span.end.max(span.start + 1)
}

/// Line and column (from 1) of a byte offset.
fn line_col(text: &str, pos: usize) -> (usize, usize) {
    let pos = pos.min(text.len());
    let before = &text.as_bytes()[..pos];
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = text
        .get(line_start..pos)
        .map_or(pos - line_start, |s| s.chars().count());
    (line, column + 1)
}

/// serde's message in the words of this file format: `(missing key, problem)`.
fn explain(message: &str) -> (Option<&str>, String) {
    let list = |allowed: &str| {
        let names: Vec<String> = allowed
            .trim_start_matches("one of ")
            .split(", ")
            .map(|n| n.replace('`', ""))
            .collect();
        or_list(&names)
    };
    if let Some(key) = message.strip_prefix("missing field `") {
        return (Some(key.trim_end_matches('`')), String::new());
    }
    if let Some(rest) = message.strip_prefix("unknown field `") {
        return match rest.split_once("`, expected ") {
            Some((_, allowed)) => (
                None,
                format!("unknown field; allowed fields: {}", list(allowed)),
            ),
            None => (
                None,
                "unknown field; this table takes no fields".to_string(),
            ),
        };
    }
    if let Some(rest) = message.strip_prefix("unknown variant `") {
        if let Some((value, allowed)) = rest.split_once("`, expected ") {
            return (
                None,
                format!("{value:?} is not allowed; use {}", list(allowed)),
            );
        }
    }
    let mut problem = message.to_string();
    for (rust, words) in [
        ("expected u8", "expected a whole number from 0 to 255"),
        ("expected u16", "expected a whole number from 0 to 65535"),
        (
            "expected u32",
            "expected a whole number from 0 to 4294967295",
        ),
        ("expected u64", "expected a whole number of 0 or more"),
        ("expected f64", "expected a number"),
        ("expected a sequence", "expected an array"),
    ] {
        problem = problem.replace(rust, words);
    }
    (None, problem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_from_one() {
        assert_eq!(line_col("", 0), (1, 1));
        assert_eq!(line_col("a\nbé c", 6), (2, 4));
        assert_eq!(line_col("a\n", 99), (2, 1));
    }

    #[test]
    fn paths_and_spans_agree() {
        let text =
            "[[meter]]\nname = \"a\"\n\n[[meter]]\nname = \"b\"\nauth = { level = \"low\" }\n";
        let doc = Doc::parse(text, "t.toml").unwrap();
        let pos = text.find("level").unwrap();
        let path = doc.path_at(pos);
        assert_eq!(path, FieldPath::entry("meter", 1).key("auth").key("level"));
        assert_eq!(doc.span_of(&path).start, pos);
        // A field that is not written falls back to its table's header.
        let absent = FieldPath::entry("meter", 1).key("client");
        assert_eq!(line_col(text, doc.span_of(&absent).start).0, 4);
    }

    #[test]
    fn explains_serde_messages() {
        assert_eq!(explain("missing field `name`").0, Some("name"));
        assert_eq!(
            explain("unknown variant `maybe`, expected one of `none`, `even`, `odd`").1,
            "\"maybe\" is not allowed; use none, even or odd"
        );
        assert_eq!(
            explain("unknown field `zz`, expected `a`").1,
            "unknown field; allowed fields: a"
        );
    }
}
