//! Where a problem is: a field path such as `meter[0].auth.password`, and the problem itself.

/// One step of a path: a table key or an array index (from 0).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Seg {
    Key(String),
    Index(usize),
}

/// The path from the top of the file to a field.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct FieldPath(Vec<Seg>);

impl FieldPath {
    /// Entry `index` of a top-level array such as `meter`.
    pub(crate) fn entry(section: &str, index: usize) -> Self {
        FieldPath(vec![Seg::Key(section.to_string()), Seg::Index(index)])
    }

    /// This path, one key deeper.
    pub(crate) fn key(&self, key: &str) -> Self {
        self.with(Seg::Key(key.to_string()))
    }

    /// This path, one array element deeper.
    pub(crate) fn index(&self, index: usize) -> Self {
        self.with(Seg::Index(index))
    }

    fn with(&self, seg: Seg) -> Self {
        let mut segs = self.0.clone();
        segs.push(seg);
        FieldPath(segs)
    }

    /// How many steps deep.
    pub(crate) fn depth(&self) -> usize {
        self.0.len()
    }

    /// This path with its entry index (the second step, after the section) mapped by `f`.
    pub(crate) fn map_entry(&self, f: impl Fn(&str, usize) -> usize) -> FieldPath {
        let mut segs = self.0.clone();
        if let [Seg::Key(section), Seg::Index(i), ..] = segs.as_mut_slice() {
            *i = f(section, *i);
        }
        FieldPath(segs)
    }

    /// Whether a step is this key (e.g. to keep secrets out of messages).
    pub(crate) fn has_key(&self, key: &str) -> bool {
        self.0.iter().any(|s| matches!(s, Seg::Key(k) if k == key))
    }

    /// The steps as keys (`Ok`) and indexes (`Err`), for walking a parsed document.
    pub(crate) fn steps(&self) -> impl Iterator<Item = Result<&str, usize>> {
        self.0.iter().map(|s| match s {
            Seg::Key(k) => Ok(k.as_str()),
            Seg::Index(i) => Err(*i),
        })
    }

    /// Text for messages: top-level entries by name when `name_of` knows it (`meter "m1"`), other indexes from 1.
    pub(crate) fn render(&self, name_of: impl Fn(&str, usize) -> Option<String>) -> String {
        let mut out = String::new();
        for (n, seg) in self.0.iter().enumerate() {
            match (seg, self.0.first()) {
                (Seg::Key(k), _) if out.is_empty() => out.push_str(k),
                (Seg::Key(k), _) => {
                    out.push('.');
                    out.push_str(k);
                }
                (Seg::Index(i), Some(Seg::Key(section))) if n == 1 => {
                    match name_of(section, *i).filter(|name| !name.trim().is_empty()) {
                        Some(name) => out.push_str(&format!(" {name:?}")),
                        None => out.push_str(&format!("[{}]", i + 1)),
                    }
                }
                (Seg::Index(i), _) => out.push_str(&format!("[{}]", i + 1)),
            }
        }
        out
    }
}

/// A problem found in the config, before it is placed in a file.
#[derive(Debug)]
pub(crate) struct ConfigFault {
    /// The field.
    pub(crate) path: FieldPath,
    /// What is wrong and what is allowed.
    pub(crate) problem: String,
}

impl ConfigFault {
    /// A problem with the field at `path`.
    pub(crate) fn new(path: FieldPath, problem: impl Into<String>) -> Self {
        ConfigFault {
            path,
            problem: problem.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_names_and_indexes_from_one() {
        let p = FieldPath::entry("request", 0)
            .key("items")
            .index(1)
            .key("obis");
        assert_eq!(
            p.render(|_, _| Some("instant".into())),
            "request \"instant\".items[2].obis"
        );
        assert_eq!(p.render(|_, _| None), "request[1].items[2].obis");
        assert_eq!(FieldPath::default().key("foo").render(|_, _| None), "foo");
    }
}
