//! The queue's connections, meters and requests found by name without a scan: a logger of 100,000
//! meters looks them up per poll, per started connection and per validated reference, and a
//! scan each time made loading such a queue take minutes and every fire 10^10 comparisons.
//!
//! Built on first use; the fields of [`super::Config`] are public and may change after it
//! was built, so a lookup checks the entry it finds and falls back to a scan when it is not
//! the one named (or the name is not in the index): stale, it is slower, never wrong. A copy
//! of the config starts without one.

use std::collections::HashMap;
use std::sync::OnceLock;

/// Positions of connections, meters and requests by name (the first of each name, as a scan
/// finds).
#[derive(Default)]
pub struct NameIndex {
    connections: OnceLock<HashMap<String, usize>>,
    meters: OnceLock<HashMap<String, usize>>,
    requests: OnceLock<HashMap<String, usize>>,
}

/// Which entries of the queue a lookup is about.
#[derive(Debug, Clone, Copy)]
pub(super) enum Kind {
    Connection,
    Meter,
    Request,
}

impl NameIndex {
    /// The position of the entry named `name` among `entries` (the index of `kind`, built from
    /// them on first use, checked; a scan when it does not know the name or is stale).
    pub(super) fn position<T>(
        &self,
        kind: Kind,
        entries: &[T],
        name: &str,
        name_of: impl Fn(&T) -> &str,
    ) -> Option<usize> {
        let map = match kind {
            Kind::Connection => &self.connections,
            Kind::Meter => &self.meters,
            Kind::Request => &self.requests,
        };
        let hit = map
            .get_or_init(|| index(entries.iter().map(&name_of)))
            .get(name)
            .copied();
        match hit {
            Some(i) if entries.get(i).is_some_and(|e| name_of(e) == name) => Some(i),
            _ => entries.iter().position(|e| name_of(e) == name),
        }
    }
}

fn index<'a>(names: impl Iterator<Item = &'a str>) -> HashMap<String, usize> {
    let mut map = HashMap::new();
    for (i, n) in names.enumerate() {
        map.entry(n.to_string()).or_insert(i);
    }
    map
}

impl Clone for NameIndex {
    /// A copy may be edited: it builds its own.
    fn clone(&self) -> Self {
        NameIndex::default()
    }
}

impl PartialEq for NameIndex {
    /// Derived data: two configs are equal by their entries.
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for NameIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NameIndex")
    }
}

#[cfg(test)]
mod tests {
    use crate::queue::Config;

    #[test]
    fn lookups_by_name_stay_right_when_the_config_changes_after() {
        let mut text = String::new();
        for i in 0..3 {
            text.push_str(&format!(
                "[[connection]]\nname = \"c{i}\"\ntcp = {{ host = \"127.0.0.1\", port = {} }}\n\
                 [[meter]]\nname = \"m{i}\"\nconnection = \"c{i}\"\n\
                 [[request]]\nname = \"r{i}\"\nmeters = [\"m{i}\"]\nschedule = {{ once = true }}\n\
                 items = [{{ name = \"e\", obis = \"1.0.1.8.0.255\" }}]\n",
                4059 + i
            ));
        }
        let mut config = Config::parse(&text, "test.toml").unwrap();
        assert_eq!(config.meter("m2").unwrap().connection, "c2");
        assert_eq!(config.connection("c1").unwrap().name, "c1");
        assert_eq!(config.meter_position("m1"), Some(1));
        assert!(config.meter("m9").is_none());
        assert_eq!(config.request_position("r2"), Some(2));
        assert!(config.request("r9").is_none());
        // Edited after the index was built: removed, added, renamed.
        config.meters.remove(0);
        config.connections.remove(0);
        let mut added = config.meters[0].clone();
        added.name = "m9".into();
        config.meters.push(added);
        config.connections[0].name = "renamed".into();
        config.requests.remove(0);
        assert_eq!(config.request_position("r2"), Some(1));
        assert!(config.request("r0").is_none());
        assert_eq!(config.meter_position("m1"), Some(0));
        assert_eq!(config.meter("m2").unwrap().name, "m2");
        assert_eq!(config.meter_position("m9"), Some(2));
        assert!(config.meter("m0").is_none());
        assert!(config.connection("c0").is_none());
        assert!(config.connection("c1").is_none());
        assert_eq!(config.connection("renamed").unwrap().name, "renamed");
        // A copy builds its own.
        let copy = config.clone();
        assert_eq!(copy.meter_position("m9"), Some(2));
        assert_eq!(copy, config);
    }
}
