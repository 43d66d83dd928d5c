//! Where the log is, as the commands take it: `--store URL|FILE` (or its older name `--db`),
//! else `store = "…"` at the top of the queue, else `dlms-logger.db`.

use anyhow::{Context, Result};
use dlms_logger::store::StoreLocation;
use std::path::Path;

/// The log when neither the flag nor the queue names one.
pub const DEFAULT_STORE: &str = "dlms-logger.db";

/// The flag, else the queue's `store`, else [`DEFAULT_STORE`].
pub fn location(flag: Option<&str>, config: Option<&str>) -> Result<StoreLocation> {
    let text = flag.or(config).unwrap_or(DEFAULT_STORE);
    Ok(StoreLocation::parse(text)?)
}

/// The `store` key of a queue file, for commands that do not load the queue (`export`,
/// `status`): `-c FILE`, else ./dlms-logger.toml when it exists; `None` without one.
pub fn store_in_config(config: Option<&Path>) -> Result<Option<String>> {
    let default = Path::new("dlms-logger.toml");
    let Some(path) = config.or(default.exists().then_some(default)) else {
        return Ok(None);
    };
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let table: toml::Table =
        toml::from_str(&text).with_context(|| format!("reading {}", path.display()))?;
    Ok(table
        .get("store")
        .and_then(|v| v.as_str())
        .map(str::to_string))
}
