//! Presets: a meter's object list saved to a file, and requests built from it.

use std::collections::HashSet;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::atomic::write_atomic;
use super::error::ConfigError;
use super::item::Item;
use super::locate::Doc;
use super::path::{ConfigFault, FieldPath};
use super::request::Request;
use crate::dlms::obis::Obis;
use crate::schedule::Schedule;

/// The objects of a meter, ready to build requests from.
#[derive(Debug, Clone, PartialEq)]
pub struct Preset {
    /// Where the list came from.
    pub source: String,
    /// The objects, in the meter's order.
    pub objects: Vec<PresetObject>,
}

/// One object of a preset.
#[derive(Debug, Clone, PartialEq)]
pub struct PresetObject {
    /// Logical name.
    pub obis: Obis,
    /// Interface class.
    pub class: u16,
    /// Class version.
    pub version: u8,
    /// Human name (well-known OBIS codes), else the class name.
    pub name: String,
    /// Unit of registers, when the meter told it.
    pub unit: Option<String>,
    /// Scaler of registers, when the meter told it.
    pub scaler: Option<i8>,
    /// What the association that read the list may do with the object; not saved (it
    /// belongs to that association, not to the meter).
    pub access: Option<crate::dlms::access::ObjectAccess>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
struct RawPreset {
    source: String,
    #[serde(default, rename = "object")]
    objects: Vec<RawObject>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, expecting = "a table")]
struct RawObject {
    obis: String,
    class: u16,
    version: u8,
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    unit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scaler: Option<i8>,
}

const HEADER: &str = "# dlms-logger preset: a meter's object list (dlms-logger objects --save).\n\
                      # Build requests from it in the Queue view or with the config.\n";

impl Preset {
    /// Reads and parses a preset file.
    pub fn load(path: &Path) -> Result<Preset, ConfigError> {
        let text = super::read(path)?;
        Preset::parse(&text, &path.display().to_string())
    }

    /// Parses a preset text; `origin` names it in messages.
    pub fn parse(text: &str, origin: &str) -> Result<Preset, ConfigError> {
        let doc = Doc::parse(text, origin)?;
        let raw: RawPreset = doc.deserialize()?;
        let objects = raw
            .objects
            .into_iter()
            .enumerate()
            .map(|(i, o)| {
                let obis = o.obis.parse().map_err(|e| {
                    doc.error(ConfigFault::new(
                        FieldPath::entry("object", i).key("obis"),
                        format!("{e}"),
                    ))
                })?;
                Ok(PresetObject {
                    obis,
                    class: o.class,
                    version: o.version,
                    name: o.name,
                    unit: o.unit,
                    scaler: o.scaler,
                    access: None,
                })
            })
            .collect::<Result<_, ConfigError>>()?;
        Ok(Preset {
            source: raw.source,
            objects,
        })
    }

    /// The preset as TOML, with a comment saying what it is.
    pub fn to_toml(&self) -> String {
        let raw = RawPreset {
            source: self.source.clone(),
            objects: self
                .objects
                .iter()
                .map(|o| RawObject {
                    obis: o.obis.to_string(),
                    class: o.class,
                    version: o.version,
                    name: o.name.clone(),
                    unit: o.unit.clone(),
                    scaler: o.scaler,
                })
                .collect(),
        };
        // Strings, integers and arrays of tables always serialize.
        format!("{HEADER}{}", toml::to_string(&raw).unwrap_or_default())
    }

    /// Replaces `path` atomically.
    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        write_atomic(path, &self.to_toml(), false)
    }
}

/// Builds a request from a preset: one item per selected object (all when `select` is empty), named after the object's name (made unique), reading attribute 2.
pub fn request_from_preset(
    preset: &Preset,
    name: &str,
    meters: Vec<String>,
    schedule: Schedule,
    select: &[Obis],
) -> Request {
    let mut request = Request::new(name, meters, schedule);
    let mut used = HashSet::new();
    let chosen = preset
        .objects
        .iter()
        .filter(|o| select.is_empty() || select.contains(&o.obis));
    for object in chosen {
        let base = match object.name.trim() {
            "" => object.obis.to_string(),
            named => named.to_string(),
        };
        let mut name = base.clone();
        for n in 2.. {
            if used.insert(name.clone()) {
                break;
            }
            name = format!("{base} ({n})");
        }
        let mut item = Item::new(name, object.obis);
        item.class_id = object.class;
        request.items.push(item);
    }
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shape `dlms-logger objects --save` writes (presets/sim.toml).
    const SIM: &str = r#"# dlms-logger preset: the objects of the meter at 127.0.0.1:4059.
source = "meter at 127.0.0.1:4059"

[[object]]
obis = "0.0.1.0.0.255"
class = 8
version = 0
name = "Clock"

[[object]]
obis = "1.0.1.8.0.255"
class = 3
version = 0
name = "Active energy import (+A)"
unit = "Wh"
scaler = 0

[[object]]
obis = "1.0.99.1.0.255"
class = 7
version = 1
name = "Profile generic"

[[object]]
obis = "1.0.99.2.0.255"
class = 7
version = 1
name = "Profile generic"

[[object]]
obis = "0.0.96.1.1.255"
class = 1
version = 0
name = ""
"#;

    fn sim() -> Preset {
        Preset::parse(SIM, "sim.toml").unwrap()
    }

    #[test]
    fn loads_the_saved_shape() {
        let p = sim();
        assert_eq!(p.source, "meter at 127.0.0.1:4059");
        assert_eq!(p.objects.len(), 5);
        let energy = &p.objects[1];
        assert_eq!(energy.obis, Obis::new(1, 0, 1, 8, 0, 255));
        assert_eq!(
            (energy.class, energy.unit.as_deref(), energy.scaler),
            (3, Some("Wh"), Some(0))
        );
        assert_eq!(
            (p.objects[0].unit.as_deref(), p.objects[0].scaler),
            (None, None)
        );
    }

    #[test]
    fn rejects_unknown_fields_and_bad_obis_with_the_line() {
        let e = Preset::parse(&SIM.replace("scaler = 0", "scale = 0"), "sim.toml").unwrap_err();
        assert_eq!(
            e.to_string(),
            "sim.toml:16:1: object \"Active energy import (+A)\".scale: unknown field; allowed fields: obis, class, version, name, unit or scaler"
        );
        let e = Preset::parse(&SIM.replace("1.0.99.2.0.255", "1.0.99.2"), "sim.toml").unwrap_err();
        assert!(
            e.to_string().starts_with(
                "sim.toml:25:1: object \"Profile generic\".obis: invalid OBIS code \"1.0.99.2\""
            ),
            "{e}"
        );
    }

    #[test]
    fn saves_and_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sim.toml");
        let p = sim();
        p.save(&path).unwrap();
        assert_eq!(Preset::load(&path).unwrap(), p);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("# dlms-logger preset")
                && text.contains("[[object]]\nobis = \"0.0.1.0.0.255\""),
            "{text}"
        );
    }

    #[test]
    fn builds_requests_with_unique_names_and_preset_classes() {
        let p = sim();
        let r = request_from_preset(&p, "all", vec!["m1".into()], Schedule::Once, &[]);
        let names: Vec<_> = r.items.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Clock",
                "Active energy import (+A)",
                "Profile generic",
                "Profile generic (2)",
                "0.0.96.1.1.255"
            ]
        );
        let classes: Vec<_> = r.items.iter().map(|i| (i.class_id, i.attribute)).collect();
        assert_eq!(classes, [(8, 2), (3, 2), (7, 2), (7, 2), (1, 2)]);
        assert_eq!(
            (r.name.as_str(), &r.meters, &r.schedule),
            ("all", &vec!["m1".to_string()], &Schedule::Once)
        );

        let select = [
            Obis::new(1, 0, 99, 2, 0, 255),
            Obis::new(0, 0, 1, 0, 0, 255),
        ];
        let r = request_from_preset(&p, "two", vec!["m1".into()], Schedule::Once, &select);
        let names: Vec<_> = r.items.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["Clock", "Profile generic"]);
    }

    #[test]
    fn a_name_taken_by_a_suffix_is_skipped() {
        let mut p = sim();
        p.objects[0].name = "Profile generic (2)".into();
        let r = request_from_preset(&p, "r", vec!["m".into()], Schedule::Once, &[]);
        let names: Vec<_> = r.items.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names[2..4], ["Profile generic", "Profile generic (3)"]);
    }
}
