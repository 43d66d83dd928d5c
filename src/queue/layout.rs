//! Saving over a hand-written config without losing its layout: the new text (written from
//! the model) is laid over the old document key by key, so comments, blank lines, key order
//! and the form of values that did not change survive; entries of `[[connection]]`,
//! `[[meter]]` and `[[request]]` are matched by `name`. The result is used only when it reads
//! back as the same queue (see `Config::save`).

use toml_edit::{ArrayOfTables, DocumentMut, Item, Table, Value};

/// `new` laid over `old`; `None` when either does not parse.
pub fn keep_layout(old: &str, new: &str) -> Option<String> {
    let mut old_doc: DocumentMut = old.parse().ok()?;
    let new_doc: DocumentMut = new.parse().ok()?;
    merge_table(old_doc.as_table_mut(), new_doc.as_table());
    Some(old_doc.to_string())
}

/// Makes `old` hold what `new` holds, keeping `old`'s layout where values are equal.
fn merge_table(old: &mut Table, new: &Table) {
    let gone: Vec<String> = old
        .iter()
        .filter(|(k, _)| !new.contains_key(k))
        .map(|(k, _)| k.to_string())
        .collect();
    for k in gone {
        old.remove(&k);
    }
    for (key, new_item) in new.iter() {
        match (old.get_mut(key), new_item) {
            (Some(Item::Table(o)), Item::Table(n)) => merge_table(o, n),
            (Some(Item::ArrayOfTables(o)), Item::ArrayOfTables(n)) => merge_entries(o, n),
            (Some(Item::Value(o)), Item::Value(n)) => merge_value(o, n),
            (Some(slot), n) => *slot = n.clone(),
            (None, n) => {
                old.insert(key, n.clone());
            }
        }
    }
}

/// Entries matched by `name` (else by position), in the new order.
fn merge_entries(old: &mut ArrayOfTables, new: &ArrayOfTables) {
    let mut pool: Vec<Option<Table>> = old.iter().cloned().map(Some).collect();
    let name = |t: &Table| t.get("name").and_then(Item::as_str).map(str::to_string);
    let mut out = ArrayOfTables::new();
    for (i, n) in new.iter().enumerate() {
        let found = pool
            .iter()
            .position(|o| {
                o.as_ref()
                    .is_some_and(|o| name(o).is_some() && name(o) == name(n))
            })
            .or_else(|| {
                (name(n).is_none() && pool.get(i).is_some_and(Option::is_some)).then_some(i)
            });
        match found.and_then(|j| pool[j].take()) {
            Some(mut o) => {
                merge_table(&mut o, n);
                out.push(o);
            }
            None => out.push(n.clone()),
        }
    }
    *old = out;
}

/// Replaces `old` by `new` unless they are equal, keeping `old`'s comments around it.
fn merge_value(old: &mut Value, new: &Value) {
    if same(old, new) {
        return;
    }
    let decor = old.decor().clone();
    *old = new.clone();
    *old.decor_mut() = decor;
}

/// Equal values, whatever their layout (compared as data, not as text).
fn same(a: &Value, b: &Value) -> bool {
    let data = |v: &Value| {
        let mut v = v.clone();
        v.decor_mut().clear();
        toml::from_str::<toml::Table>(&format!("v = {v}")).ok()
    };
    matches!((data(a), data(b)), (Some(x), Some(y)) if x == y)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HAND: &str = r#"# The lab, written by hand.

[[connection]]
name = "lab"   # the bench
tcp = { host = "10.0.0.5", port = 4059 }

# Meters
[[meter]]
connection = "lab"
name = "m1"
client = 17  # the reading client

[[request]]
name = "fast"
meters = ["m1"]
schedule = { every = "15s" }
items = [
  { name = "energy", obis = "1.0.1.8.0.255" },  # +A
]
"#;

    #[test]
    fn comments_order_and_unchanged_values_survive_a_save() {
        let config = crate::queue::Config::parse(HAND, "hand.toml").unwrap();
        let mut changed = config.clone();
        changed.meters[0].client = 32;
        let merged = keep_layout(HAND, &changed.to_toml()).unwrap();
        for kept in [
            "# The lab, written by hand.",
            "name = \"lab\"   # the bench",
            "# Meters",
            "connection = \"lab\"\nname = \"m1\"",
            "# the reading client",
            "{ name = \"energy\", obis = \"1.0.1.8.0.255\" },  # +A",
        ] {
            assert!(merged.contains(kept), "{kept:?} in\n{merged}");
        }
        assert!(merged.contains("client = 32"), "{merged}");
        assert_eq!(
            crate::queue::Config::parse(&merged, "hand.toml").unwrap(),
            changed
        );
    }

    #[test]
    fn entries_added_removed_and_reordered_follow_the_new_text() {
        let config = crate::queue::Config::parse(HAND, "hand.toml").unwrap();
        let mut changed = config.clone();
        let mut m2 = changed.meters[0].clone();
        m2.name = "m2".into();
        changed.meters.insert(0, m2);
        changed.requests.clear();
        let merged = keep_layout(HAND, &changed.to_toml()).unwrap();
        let back = crate::queue::Config::parse(&merged, "hand.toml").unwrap();
        assert_eq!(back, changed);
        assert!(merged.contains("# the reading client"), "{merged}");
        assert!(!merged.contains("fast"), "{merged}");
    }
}
