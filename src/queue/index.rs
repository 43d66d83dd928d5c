//! Names to positions in a queue, so a logger of 10,000 meters finds one without a scan.

use super::{Config, Connection, Meter, Request};
use std::collections::HashMap;

/// Where each meter, connection and request of a [`Config`] is. Every answer is checked
/// against the config it is asked about, so an index of an older queue never gives a wrong
/// entry: a name not where the index says is looked for by a scan.
#[derive(Debug, Default)]
pub struct ConfigIndex {
    meters: HashMap<String, usize>,
    connections: HashMap<String, usize>,
    requests: HashMap<String, usize>,
}

impl ConfigIndex {
    /// Indexes `config` (the first of a repeated name, as a scan finds).
    pub fn new(config: &Config) -> Self {
        fn positions<'a>(names: impl Iterator<Item = &'a String>) -> HashMap<String, usize> {
            let mut map = HashMap::new();
            for (i, name) in names.enumerate() {
                map.entry(name.clone()).or_insert(i);
            }
            map
        }
        ConfigIndex {
            meters: positions(config.meters.iter().map(|m| &m.name)),
            connections: positions(config.connections.iter().map(|c| &c.name)),
            requests: positions(config.requests.iter().map(|r| &r.name)),
        }
    }

    /// The meter named `name` in `config`, with its position.
    pub fn meter<'c>(&self, config: &'c Config, name: &str) -> Option<(usize, &'c Meter)> {
        find(&self.meters, &config.meters, name, |m| &m.name)
    }

    /// The connection named `name` in `config`.
    pub fn connection<'c>(&self, config: &'c Config, name: &str) -> Option<&'c Connection> {
        find(&self.connections, &config.connections, name, |c| &c.name).map(|(_, c)| c)
    }

    /// The request named `name` in `config`, with its position.
    pub fn request<'c>(&self, config: &'c Config, name: &str) -> Option<(usize, &'c Request)> {
        find(&self.requests, &config.requests, name, |r| &r.name)
    }
}

fn find<'c, T>(
    index: &HashMap<String, usize>,
    entries: &'c [T],
    name: &str,
    name_of: impl Fn(&T) -> &String,
) -> Option<(usize, &'c T)> {
    let named = |e: &&T| name_of(e) == name;
    index
        .get(name)
        .and_then(|&i| entries.get(i).filter(named).map(|e| (i, e)))
        .or_else(|| entries.iter().enumerate().find(|(_, e)| named(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(meters: &[&str]) -> Config {
        let mut c = Config::default();
        for name in meters {
            c.meters.push(Meter::new(*name, "line"));
        }
        c
    }

    #[test]
    fn finds_each_name_where_it_is() {
        let c = config(&["a", "b", "c"]);
        let index = ConfigIndex::new(&c);
        for (i, name) in ["a", "b", "c"].iter().enumerate() {
            let (at, m) = index.meter(&c, name).unwrap();
            assert_eq!((at, m.name.as_str()), (i, *name));
        }
        assert!(index.meter(&c, "d").is_none());
        assert!(index.connection(&c, "a").is_none());
        assert!(index.request(&c, "a").is_none());
    }

    #[test]
    fn an_index_of_another_queue_never_gives_a_wrong_entry() {
        let old = config(&["a", "b", "c"]);
        let index = ConfigIndex::new(&old);
        // The queue changed: "c" moved, "b" is gone, "d" is new.
        let new = config(&["c", "a", "d"]);
        assert_eq!(index.meter(&new, "c").map(|(i, _)| i), Some(0));
        assert_eq!(index.meter(&new, "a").map(|(i, _)| i), Some(1));
        assert_eq!(index.meter(&new, "d").map(|(i, _)| i), Some(2));
        assert!(index.meter(&new, "b").is_none());
    }

    #[test]
    fn a_repeated_name_finds_the_first_as_a_scan_does() {
        let c = config(&["a", "x", "a"]);
        assert_eq!(ConfigIndex::new(&c).meter(&c, "a").map(|(i, _)| i), Some(0));
    }
}
