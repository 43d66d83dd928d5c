//! `dlms-logger objects`: read a meter's object list, print it, save it as a preset.

use super::connection::ConnectionArgs;
use anyhow::Result;
use dlms_logger::queue::Preset;
use std::io::Write;
use std::path::Path;

/// Reads the list (progress on stderr) and the registers' scaler_unit.
pub async fn read_preset(conn: &ConnectionArgs, progress: bool) -> Result<Preset> {
    let mut opened = conn.open().await?;
    let session = &mut opened.session;
    let source = format!("meter at {}", conn.target());
    let preset = dlms_logger::engine::objects::read_preset(session, &source, move |total| {
        if progress {
            eprint!("\rreading object list… {total:>7} bytes");
        }
    })
    .await?;
    if progress {
        eprintln!(
            "\rread the object list: {} objects{:>12}",
            preset.objects.len(),
            ""
        );
    }
    opened.close().await;
    Ok(preset)
}

/// Runs `objects`.
pub async fn run(conn: &ConnectionArgs, save: Option<&Path>, as_json: bool) -> Result<()> {
    // Progress only where someone watches it: a terminal, not a pipe or a log.
    let preset = read_preset(conn, std::io::IsTerminal::is_terminal(&std::io::stderr())).await?;
    let mut out = std::io::stdout().lock();
    // Text in columns: the name column as wide as the widest name.
    let name_width = preset
        .objects
        .iter()
        .map(|o| o.name.chars().count())
        .max()
        .unwrap_or(0);
    for o in &preset.objects {
        if as_json {
            writeln!(
                out,
                "{}",
                serde_json::json!({"obis": o.obis.to_string(), "class": o.class, "version": o.version, "name": o.name, "unit": o.unit, "access": o.access.as_ref().map(|a| serde_json::json!({
                    "attributes": a.attributes.iter().map(|m| m.name()).collect::<Vec<_>>(),
                    "methods": a.methods,
                }))})
            )?;
        } else {
            let line = format!(
                "{:<16} {:>3} v{} {:<name_width$} {:<5}{}",
                o.obis.to_string(),
                o.class,
                o.version,
                o.name,
                o.unit.as_deref().unwrap_or(""),
                changes(o.access.as_ref())
            );
            writeln!(out, "{}", line.trim_end())?;
        }
    }
    if let Some(path) = save {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| anyhow::anyhow!("cannot create folder {}: {e}", dir.display()))?;
        }
        preset.save(path)?;
        eprintln!(
            "saved {} objects to {}",
            preset.objects.len(),
            path.display()
        );
    }
    Ok(())
}

/// ` (writes 2,3; calls 1)`: what this association may change, when the list says.
fn changes(access: Option<&dlms_logger::dlms::access::ObjectAccess>) -> String {
    let Some(a) = access else {
        return String::new();
    };
    let list = |ids: Vec<usize>| {
        ids.iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    let writes: Vec<usize> = (1..)
        .zip(&a.attributes)
        .filter(|(_, m)| m.writable())
        .map(|(i, _)| i)
        .collect();
    let calls: Vec<usize> = (1..)
        .zip(&a.methods)
        .filter(|(_, ok)| **ok)
        .map(|(i, _)| i)
        .collect();
    match (writes.is_empty(), calls.is_empty()) {
        (true, true) => String::new(),
        (false, true) => format!(" (writes {})", list(writes)),
        (true, false) => format!(" (calls {})", list(calls)),
        (false, false) => format!(" (writes {}; calls {})", list(writes), list(calls)),
    }
}
