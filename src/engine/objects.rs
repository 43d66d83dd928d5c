//! Reading a meter's object list into a preset: the list, then every register's scaler/unit.

use crate::dlms::client::{with_scaler_units, AttributeRef, Reading};
use crate::dlms::data::Data;
use crate::dlms::obis_names::{class_name, obis_name};
use crate::dlms::unit::ScalerUnit;
use crate::engine::{EngineError, Session};
use crate::queue::{Preset, PresetObject};
use crate::transport::Stream;

/// Reads the association's object list and the scaler/unit of every register; `progress`
/// gets the bytes received so far while the list comes in.
pub async fn read_preset<S: Stream>(
    session: &mut Session<S>,
    source: &str,
    mut progress: impl FnMut(usize) + Send + 'static,
) -> Result<Preset, EngineError> {
    let mut total = 0usize;
    session.on_progress(move |n| {
        total += n;
        progress(total);
    });
    let list = session.object_list().await;
    session.clear_progress();
    let list = list?;
    let values: Vec<AttributeRef> = list
        .iter()
        .filter(|o| matches!(o.class_id, 3..=5))
        .map(|o| AttributeRef::new(o.class_id, o.obis, 2))
        .collect();
    // Only the scaler_unit attributes, not the values.
    let su_items: Vec<AttributeRef> = with_scaler_units(&values)
        .into_iter()
        .filter(|a| !values.contains(a))
        .collect();
    let su_results = if su_items.is_empty() {
        Vec::new()
    } else {
        session.read(&su_items).await?
    };
    let objects = list
        .iter()
        .map(|o| {
            let attr = if o.class_id == 5 { 4 } else { 3 };
            let su = su_items
                .iter()
                .position(|a| a.obis == o.obis && a.attribute == attr)
                .and_then(|i| su_results.get(i))
                .and_then(|r| r.as_ref().ok())
                .and_then(ScalerUnit::from_data);
            let unit = su.and_then(|s| {
                Reading {
                    data: Data::Null,
                    scaler_unit: Some(s),
                }
                .unit()
                .map(str::to_string)
            });
            PresetObject {
                obis: o.obis,
                class: o.class_id,
                version: o.version,
                name: obis_name(&o.obis).unwrap_or_else(|| class_name(o.class_id).to_string()),
                unit,
                scaler: su.map(|s| s.scaler),
                access: o.access.clone(),
            }
        })
        .collect();
    Ok(Preset {
        source: source.to_string(),
        objects,
    })
}
