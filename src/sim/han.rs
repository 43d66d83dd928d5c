//! A meter's HAN/P1 port: it answers nothing and pushes a DataNotification with a three-phase
//! list every few seconds — OBIS pairs `{logical name, value, scaler_unit}` as Aidon and
//! Kamstrup send them, the meter's time in the header, general-glo-ciphered when the meter
//! ciphers, in general-block-transfer blocks when it does GBT (`--gbt`) — so passive listening can be tried and tested without a meter.

use super::dial_in::push_bytes;
use super::meter::{names, SimMeter};
use super::{Ended, SimConfig};
use crate::dlms::compact_data::CompactTemplate;
use crate::dlms::data::{Data, TypeDescription};
use crate::dlms::datetime::CosemDateTime;
use crate::dlms::obis::Obis;
use crate::dlms::push::Sealing;
use crate::dlms::security::Policy;
use crate::dlms::server::CosemServer;
use crate::dlms::xdlms::{AttributeDescriptor, DataNotification};
use chrono::Local;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use tokio::io::AsyncWriteExt;

/// The registers of the list, in the order pushed.
const LIST: [Obis; 6] = [
    names::ENERGY_IMPORT,
    names::ENERGY_EXPORT,
    names::POWER_L1,
    names::VOLTAGE_L1,
    names::CURRENT_L1,
    names::DEMAND,
];

/// The bytes of one push of meter `index` at `now`, taking `counter` when it ciphers.
pub fn han_frame(
    config: &SimConfig,
    index: u32,
    now: chrono::DateTime<chrono::FixedOffset>,
    counter: u32,
) -> std::io::Result<Vec<u8>> {
    let mut meter = SimMeter::new(index, now, false);
    let mut get = |class: u16, obis: Obis, attribute: i8| {
        meter
            .get(
                &AttributeDescriptor {
                    class_id: class,
                    instance: obis,
                    attribute,
                },
                None,
            )
            .ok()
    };
    let mut body = vec![Data::Structure(vec![
        Data::OctetString(names::CLOCK.0.to_vec()),
        get(8, names::CLOCK, 2).unwrap_or(Data::Null),
    ])];
    for obis in LIST {
        let class = if obis == names::DEMAND { 5 } else { 3 };
        let (value, su) = if class == 5 { (2, 4) } else { (2, 3) };
        let mut pair = vec![
            Data::OctetString(obis.0.to_vec()),
            get(class, obis, value).unwrap_or(Data::Null),
        ];
        pair.extend(get(class, obis, su));
        body.push(Data::Structure(pair));
    }
    let body = if config.han_compact {
        compact(body)?
    } else {
        Data::Array(body)
    };
    let notification = DataNotification {
        long_invoke_id: 0x4000_0000 | counter,
        date_time: Some(CosemDateTime::from_chrono(&now, config.clock_status)),
        body,
    };
    let sealing = config
        .ciphering
        .as_ref()
        .filter(|c| c.policy != Policy::None)
        .map(|c| Sealing {
            policy: c.policy,
            system_title: c.system_title,
            invocation_counter: counter,
            block_key: &c.block_key,
            auth_key: &c.auth_key,
        });
    push_bytes(config, &notification, sealing.as_ref())
}

/// The template_id of the compact data push.
pub const COMPACT_TEMPLATE: u8 = 1;

/// The list as compact data: the values only (no logical names, no scaler_units), the
/// template_description first, then the compact_buffer.
fn compact(list: Vec<Data>) -> std::io::Result<Data> {
    let values: Vec<Data> = list
        .into_iter()
        .filter_map(|pair| match pair {
            Data::Structure(mut f) if f.len() >= 2 => Some(f.swap_remove(1)),
            _ => None,
        })
        .collect();
    let values = Data::Structure(values);
    let description = TypeDescription::of(&values)
        .ok_or_else(|| std::io::Error::other("the list has no type description"))?;
    let template = CompactTemplate {
        template_id: COMPACT_TEMPLATE,
        description,
        capture_objects: Vec::new(),
    };
    let buffer = template.encode(&values).map_err(std::io::Error::other)?;
    Ok(Data::Structure(vec![
        Data::OctetString(template.description.encode()),
        Data::OctetString(buffer),
    ]))
}

/// Pushes every `every` until the other end goes away; reads nothing.
pub(super) async fn push_forever<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send>(
    stream: &mut S,
    config: &SimConfig,
    index: u32,
    counter: &AtomicU32,
    every: Duration,
) -> std::io::Result<Ended> {
    let mut tick = tokio::time::interval(every.max(Duration::from_millis(10)));
    loop {
        tick.tick().await;
        let ic = counter.fetch_add(1, Ordering::SeqCst);
        let frame = han_frame(config, index, Local::now().fixed_offset(), ic)?;
        if stream.write_all(&frame).await.is_err() || stream.flush().await.is_err() {
            return Ok(Ended::Closed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dlms::decode::{decode_frame, Keys};
    use crate::dlms::server::ServerCiphering;
    use crate::engine::Interface;

    #[test]
    fn the_push_decodes_to_the_list_with_units_over_wrapper_and_hdlc_plain_and_ciphered() {
        let now = Local::now().fixed_offset();
        let ciphering = ServerCiphering {
            policy: Policy::AuthEnc,
            system_title: crate::dlms::security::SystemTitle(*b"SIM00001"),
            block_key: crate::dlms::security::Key([0x11; 16]),
            auth_key: crate::dlms::security::Key([0x22; 16]),
        };
        for interface in [Interface::Wrapper, Interface::Hdlc] {
            for ciphered in [false, true] {
                let config = SimConfig {
                    interface,
                    ciphering: ciphered.then(|| ciphering.clone()),
                    hdlc_max_info: 128,
                    ..SimConfig::default()
                };
                let bytes = han_frame(&config, 0, now, 7).unwrap();
                let keys = Keys {
                    block_key: Some(crate::dlms::security::Key([0x11; 16])),
                    auth_key: Some(crate::dlms::security::Key([0x22; 16])),
                    ..Keys::default()
                };
                let d = decode_frame(&bytes, &keys).unwrap();
                assert_eq!(d.values.len(), 7, "{interface:?} {ciphered}");
                assert_eq!(d.values[1].obis, Some(names::ENERGY_IMPORT));
                assert_eq!(
                    d.values[4].scaler_unit.and_then(|s| s.unit_name()),
                    Some("V")
                );
                assert!(d.date_time.is_some());
                assert_eq!(d.protection.is_some(), ciphered);
            }
        }
    }

    #[test]
    fn with_gbt_the_push_goes_in_blocks_that_the_decoder_and_push_parser_join() {
        use crate::dlms::decode::Decoder;
        use crate::dlms::push::{Push, PushKeys};
        let now = Local::now().fixed_offset();
        let ciphering = ServerCiphering {
            policy: Policy::AuthEnc,
            system_title: crate::dlms::security::SystemTitle(*b"SIM00001"),
            block_key: crate::dlms::security::Key([0x11; 16]),
            auth_key: crate::dlms::security::Key([0x22; 16]),
        };
        for interface in [Interface::Wrapper, Interface::Hdlc] {
            for ciphered in [false, true] {
                let config = SimConfig {
                    interface,
                    ciphering: ciphered.then(|| ciphering.clone()),
                    gbt_window: Some(1),
                    max_pdu: 64,
                    hdlc_max_info: 128,
                    ..SimConfig::default()
                };
                let bytes = han_frame(&config, 0, now, 7).unwrap();
                let keys = Keys {
                    block_key: Some(crate::dlms::security::Key([0x11; 16])),
                    auth_key: Some(crate::dlms::security::Key([0x22; 16])),
                    ..Keys::default()
                };
                let mut d = Decoder::new(keys);
                let got = d.feed(&bytes).unwrap();
                assert_eq!(got.values.len(), 7, "{interface:?} {ciphered}");
                assert_eq!(got.values[1].obis, Some(names::ENERGY_IMPORT));
                // Several blocks, each in its own frame.
                let apdus = crate::dlms::push::apdus(&bytes).unwrap();
                assert!(apdus.len() > 3, "{} blocks", apdus.len());
                assert!(apdus.iter().all(|a| a[0] == 0xE0));
                let push = Push::parse(&bytes).unwrap();
                let keys = PushKeys {
                    block_key: crate::dlms::security::Key([0x11; 16]),
                    auth_key: crate::dlms::security::Key([0x22; 16]),
                    system_title: Some(crate::dlms::security::SystemTitle(*b"SIM00001")),
                };
                let n = push.open(Some(&keys)).unwrap();
                assert!(matches!(n.body, Data::Array(ref v) if v.len() == 7));
            }
        }
    }

    #[test]
    fn the_compact_push_reads_back_without_configuration() {
        let now = Local::now().fixed_offset();
        let config = SimConfig {
            han_compact: true,
            ..SimConfig::default()
        };
        let plain = han_frame(&SimConfig::default(), 0, now, 7).unwrap();
        let compact = han_frame(&config, 0, now, 7).unwrap();
        assert!(
            compact.len() < plain.len(),
            "{} vs {}",
            compact.len(),
            plain.len()
        );
        let p = decode_frame(&plain, &Keys::default()).unwrap();
        let c = decode_frame(&compact, &Keys::default()).unwrap();
        assert_eq!(c.values.len(), 7);
        assert!(c.values.iter().all(|v| v.obis.is_none()));
        assert_eq!(
            c.values.iter().map(|v| v.data.clone()).collect::<Vec<_>>(),
            p.values.iter().map(|v| v.data.clone()).collect::<Vec<_>>()
        );
    }
}
