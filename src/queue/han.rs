//! HAN list presets: the names, units and positions of the values a make's HAN/P1 port pushes,
//! as TOML files (`presets/han/*.toml`, shipped in the binary; or a file of the user's),
//! read into a [`Layout`] for the passive decoder.
//!
//! ```toml
//! name = "Kaifa (Norway)"
//! description = "…"
//! source = "where the layout comes from"
//!
//! [[list]]
//! name = "list 2, three-phase"
//! positional = true            # sent without OBIS codes: items by position
//! [[list.item]]
//! obis = "1.0.1.7.0.255"
//! name = "Active power import"
//! unit = "W"
//! scaler = 0
//! ```

use crate::dlms::decode::{ItemLayout, Layout, ListLayout};
use crate::dlms::obis::Obis;
use crate::dlms::unit::{unit_name, ScalerUnit};
use serde::Deserialize;
use std::path::Path;
use thiserror::Error;

/// The shipped presets: (file stem, TOML text).
pub const BUILT_IN: &[(&str, &str)] = &[
    ("aidon-no", include_str!("../../presets/han/aidon-no.toml")),
    ("aidon-se", include_str!("../../presets/han/aidon-se.toml")),
    ("kaifa-no", include_str!("../../presets/han/kaifa-no.toml")),
    ("kaifa-se", include_str!("../../presets/han/kaifa-se.toml")),
    (
        "kamstrup-no",
        include_str!("../../presets/han/kamstrup-no.toml"),
    ),
    ("evn-at", include_str!("../../presets/han/evn-at.toml")),
    ("vse-ch", include_str!("../../presets/han/vse-ch.toml")),
    ("iskra-si", include_str!("../../presets/han/iskra-si.toml")),
];

/// Why a HAN preset cannot be used.
#[derive(Debug, Error)]
pub enum HanPresetError {
    /// No built-in preset of that name and no such file.
    #[error("there is no HAN preset {0:?} (built in: {1}) and no file of that name")]
    Unknown(String, String),
    /// The file cannot be read.
    #[error("cannot read the HAN preset {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The TOML is malformed or has unknown fields.
    #[error("the HAN preset {path} is not valid: {message}")]
    Toml {
        /// The file.
        path: String,
        /// The parser's message (with line and column).
        message: String,
    },
    /// A field's value is wrong.
    #[error("the HAN preset {path}: list {list:?}, item {item}: {problem}")]
    Item {
        /// The file.
        path: String,
        /// The list's name.
        list: String,
        /// The item's position (from 1).
        item: usize,
        /// What is wrong.
        problem: String,
    },
    /// A preset with no list.
    #[error("the HAN preset {0} has no [[list]]")]
    NoList(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PresetFile {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    list: Vec<ListFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListFile {
    name: String,
    #[serde(default)]
    positional: bool,
    #[serde(default)]
    item: Vec<ItemFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemFile {
    obis: Option<String>,
    name: String,
    unit: Option<String>,
    scaler: Option<i8>,
}

/// A loaded preset: its layout and what the file says about it.
#[derive(Debug, Clone)]
pub struct HanPreset {
    /// The layout.
    pub layout: Layout,
    /// One line saying which meters it is for.
    pub description: String,
    /// Where the layout comes from.
    pub source: String,
}

/// The built-in preset `name` (a file stem such as `kaifa-no`), or else the file at `name`.
pub fn load(name: &str) -> Result<HanPreset, HanPresetError> {
    if let Some((stem, text)) = BUILT_IN.iter().find(|(stem, _)| *stem == name) {
        return parse(&format!("presets/han/{stem}.toml"), text);
    }
    let path = Path::new(name);
    if !path.exists() {
        let names: Vec<&str> = BUILT_IN.iter().map(|(s, _)| *s).collect();
        return Err(HanPresetError::Unknown(name.to_string(), names.join(", ")));
    }
    let text = std::fs::read_to_string(path).map_err(|source| HanPresetError::Read {
        path: path.display().to_string(),
        source,
    })?;
    parse(&path.display().to_string(), &text)
}

/// Parses and checks a preset's TOML; `path` names it in errors.
pub fn parse(path: &str, text: &str) -> Result<HanPreset, HanPresetError> {
    let file: PresetFile = toml::from_str(text).map_err(|e| HanPresetError::Toml {
        path: path.to_string(),
        message: e.to_string().trim().replace('\n', " "),
    })?;
    if file.list.is_empty() {
        return Err(HanPresetError::NoList(path.to_string()));
    }
    let mut lists = Vec::new();
    for l in file.list {
        let mut items = Vec::new();
        for (i, it) in l.item.into_iter().enumerate() {
            let bad = |problem: String| HanPresetError::Item {
                path: path.to_string(),
                list: l.name.clone(),
                item: i + 1,
                problem,
            };
            let obis = match &it.obis {
                Some(o) => Some(
                    o.parse::<Obis>()
                        .map_err(|e| bad(format!("obis {o:?}: {e}")))?,
                ),
                None if !l.positional => {
                    return Err(bad(
                        "an item of a list sent with OBIS codes needs its obis".into()
                    ))
                }
                None => None,
            };
            let unit = match &it.unit {
                Some(u) => Some(unit_code(u).ok_or_else(|| {
                    bad(format!(
                        "unit {u:?} is not a DLMS unit symbol (W, Wh, V, A, var, varh, …)"
                    ))
                })?),
                None => None,
            };
            let scaler_unit = match (it.scaler, unit) {
                (None, None) => None,
                (s, u) => Some(ScalerUnit {
                    scaler: s.unwrap_or(0),
                    unit: u.unwrap_or(255),
                }),
            };
            items.push(ItemLayout {
                obis,
                name: it.name,
                scaler_unit,
            });
        }
        lists.push(ListLayout {
            name: l.name,
            items,
            positional: l.positional,
        });
    }
    Ok(HanPreset {
        layout: Layout {
            name: file.name,
            lists,
        },
        description: file.description,
        source: file.source,
    })
}

/// The unit code of a symbol (`W` → 27).
fn unit_code(symbol: &str) -> Option<u8> {
    (0..=254u8).find(|&c| unit_name(c) == Some(symbol))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_preset_loads() {
        for (stem, _) in BUILT_IN {
            let p = load(stem).unwrap_or_else(|e| panic!("{stem}: {e}"));
            assert!(!p.layout.lists.is_empty(), "{stem}");
        }
    }

    #[test]
    fn errors_say_where() {
        let e = parse("x.toml", "name = \"x\"\n[[list]]\nname = \"l\"\n[[list.item]]\nobis = \"1.0.1.7.0.255\"\nname = \"P\"\nunit = \"Watt\"\n").unwrap_err().to_string();
        assert_eq!(e, "the HAN preset x.toml: list \"l\", item 1: unit \"Watt\" is not a DLMS unit symbol (W, Wh, V, A, var, varh, …)");
        let e = parse("x.toml", "name = \"x\"\nbogus = 1\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("the HAN preset x.toml is not valid:") && e.contains("bogus"),
            "{e}"
        );
        let e = parse(
            "x.toml",
            "name = \"x\"\n[[list]]\nname = \"l\"\n[[list.item]]\nname = \"P\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("needs its obis"), "{e}");
        assert!(matches!(
            load("no-such-preset"),
            Err(HanPresetError::Unknown(..))
        ));
        assert_eq!(unit_code("W"), Some(27));
    }
}
