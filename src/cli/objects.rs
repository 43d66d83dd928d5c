//! `dlms-logger objects`: read a meter's object list, print it, save it as a preset.

use super::connection::ConnectionArgs;
use anyhow::Result;
use dlms_logger::dlms::client::{with_scaler_units, AttributeRef, ObjectListEntry, Reading};
use dlms_logger::dlms::obis_names::obis_name;
use dlms_logger::queue::{Preset, PresetObject};
use std::io::Write;
use std::path::Path;

/// Name of an interface class.
pub fn class_name(class: u16) -> &'static str {
    match class {
        1 => "Data",
        3 => "Register",
        4 => "Extended register",
        5 => "Demand register",
        6 => "Register activation",
        7 => "Profile generic",
        8 => "Clock",
        9 => "Script table",
        11 => "Special days table",
        12 => "Association SN",
        15 => "Association LN",
        17 => "SAP assignment",
        18 => "Image transfer",
        19 => "IEC local port setup",
        20 => "Activity calendar",
        21 => "Register monitor",
        22 => "Single action schedule",
        23 => "IEC HDLC setup",
        40 => "Push setup",
        41 => "TCP-UDP setup",
        42 => "IPv4 setup",
        64 => "Security setup",
        70 => "Disconnect control",
        71 => "Limiter",
        _ => "Object",
    }
}

/// Reads the list (progress on stderr) and the registers' scaler_unit.
pub async fn read_preset(conn: &ConnectionArgs, progress: bool) -> Result<Preset> {
    let mut session = conn.open().await?;
    if progress {
        let mut total = 0usize;
        session.on_progress(move |n| {
            total += n;
            eprint!("\rreading object list… {total:>7} bytes");
        });
    }
    let list = session.object_list().await?;
    session.clear_progress();
    if progress {
        eprintln!("\rread the object list: {} objects{:>12}", list.len(), "");
    }
    let value_items: Vec<AttributeRef> = list
        .iter()
        .filter(|o| matches!(o.class_id, 3..=5))
        .map(|o| AttributeRef::new(o.class_id, o.obis, 2))
        .collect();
    // Only the scaler_unit attributes are needed here, not the values.
    let su_items: Vec<AttributeRef> = with_scaler_units(&value_items)
        .into_iter()
        .filter(|a| !value_items.contains(a))
        .collect();
    let su_results = if su_items.is_empty() {
        Vec::new()
    } else {
        session.read(&su_items).await?
    };
    if let Err(e) = session.close().await {
        tracing::debug!("release: {e}");
    }
    let scaler_of = |o: &ObjectListEntry| {
        let attr = if o.class_id == 5 { 4 } else { 3 };
        su_items
            .iter()
            .position(|a| a.obis == o.obis && a.attribute == attr)
            .and_then(|i| su_results.get(i))
            .and_then(|r| r.as_ref().ok())
            .and_then(dlms_logger::dlms::unit::ScalerUnit::from_data)
    };
    let objects = list
        .iter()
        .map(|o| {
            let su = scaler_of(o);
            let reading = su.map(|s| Reading {
                data: dlms_logger::dlms::data::Data::Null,
                scaler_unit: Some(s),
            });
            PresetObject {
                obis: o.obis,
                class: o.class_id,
                version: o.version,
                name: obis_name(&o.obis).unwrap_or_else(|| class_name(o.class_id).to_string()),
                unit: reading.as_ref().and_then(|r| r.unit()).map(str::to_string),
                scaler: su.map(|s| s.scaler),
            }
        })
        .collect();
    Ok(Preset {
        source: format!("meter at {}", conn.target()),
        objects,
    })
}

/// Runs `objects`.
pub async fn run(conn: &ConnectionArgs, save: Option<&Path>, as_json: bool) -> Result<()> {
    let preset = read_preset(conn, true).await?;
    let mut out = std::io::stdout().lock();
    for o in &preset.objects {
        if as_json {
            writeln!(
                out,
                "{}",
                serde_json::json!({"obis": o.obis.to_string(), "class": o.class, "version": o.version, "name": o.name, "unit": o.unit})
            )?;
        } else {
            writeln!(
                out,
                "{:<16} {:>3} v{} {}{}",
                o.obis,
                o.class,
                o.version,
                o.name,
                o.unit
                    .as_deref()
                    .map(|u| format!(" [{u}]"))
                    .unwrap_or_default()
            )?;
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
