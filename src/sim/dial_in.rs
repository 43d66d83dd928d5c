//! A simulated meter that calls a logger: its push (built by `dlms::push`, as a real meter
//! sends it) and then the same service as on a listening port.

use super::meter::{self, SimMeter};
use super::{serve_connection, MeterLife, SimConfig};
use crate::dlms::data::Data;
use crate::dlms::hdlc::{AddressSize, HdlcAddress};
use crate::dlms::obis::Obis;
use crate::dlms::push::{build, build_in_blocks, Framing, Sealing};
use crate::dlms::security::Policy;
use crate::dlms::server::CosemServer;
use crate::dlms::xdlms::{AttributeDescriptor, DataNotification};
use crate::engine::Interface;
use chrono::Local;
use std::sync::atomic::Ordering;
use tokio::io::AsyncWriteExt;

/// The client address (WRAPPER wPort or HDLC client address) a push goes to.
const PUSH_CLIENT: u8 = 1;

/// The DataNotification a meter pushes when it dials in: {device name, clock, +A energy},
/// in a WRAPPER PDU or an HDLC UI frame (segmented beyond `hdlc_max_info`). A meter that
/// ciphers sends it as general-glo-ciphering (its system title, then the APDU protected under
/// its policy with `invocation_counter`), as real meters do, so a logger can tell which meter
/// called and that it holds the keys.
pub fn push_frame(
    config: &SimConfig,
    index: u32,
    now: chrono::DateTime<chrono::FixedOffset>,
    invocation_counter: u32,
) -> std::io::Result<Vec<u8>> {
    let mut meter = SimMeter::new(index, now, false);
    let mut get = |class, obis: Obis| {
        meter
            .get(
                &AttributeDescriptor {
                    class_id: class,
                    instance: obis,
                    attribute: 2,
                },
                None,
            )
            .unwrap_or(Data::Null)
    };
    let body = Data::Structure(vec![
        get(1, meter::names::LDN),
        get(8, meter::names::CLOCK),
        get(3, meter::names::ENERGY_IMPORT),
    ]);
    let notification = DataNotification {
        long_invoke_id: 1,
        date_time: None,
        body,
    };
    let sealing = config
        .ciphering
        .as_ref()
        .filter(|c| c.policy != Policy::None)
        .map(|c| Sealing {
            policy: c.policy,
            system_title: c.system_title,
            invocation_counter,
            block_key: &c.block_key,
            auth_key: &c.auth_key,
        });
    push_bytes(config, &notification, sealing.as_ref())
}

/// The frames of a push: whole, or in general-block-transfer blocks when the meter does GBT
/// (`--gbt`: blocks of the meter's PDU size less their header).
pub(super) fn push_bytes(
    config: &SimConfig,
    notification: &DataNotification,
    sealing: Option<&Sealing>,
) -> std::io::Result<Vec<u8>> {
    match config.gbt_window {
        Some(_) => build_in_blocks(
            notification,
            sealing,
            &framing(config),
            usize::from(config.max_pdu)
                .saturating_sub(crate::dlms::xdlms::GeneralBlockTransfer::OVERHEAD)
                .max(16),
        ),
        None => build(notification, sealing, &framing(config)),
    }
    .map_err(std::io::Error::other)
}

/// How meter `config` frames its push: from its logical device (and physical address on HDLC).
pub(super) fn framing(config: &SimConfig) -> Framing {
    match config.interface {
        Interface::Wrapper => Framing::Wrapper {
            source: config.logical,
            destination: PUSH_CLIENT.into(),
        },
        Interface::Hdlc => {
            let size = match (config.physical, config.address_size) {
                (None, _) => AddressSize::One,
                (Some(_), Some(s)) => AddressSize::try_from(s).unwrap_or(AddressSize::Four),
                (Some(p), None) if p < 0x80 && config.logical < 0x80 => AddressSize::Two,
                (Some(_), None) => AddressSize::Four,
            };
            Framing::Hdlc {
                source: HdlcAddress {
                    logical: config.logical,
                    physical: config.physical,
                    size,
                },
                destination: PUSH_CLIENT,
                max_info: config.hdlc_max_info.max(32),
            }
        }
    }
}

/// Meter `index` calling a logger over `stream` (already connected): it pushes first when
/// `push`, then answers requests on the same link until it closes.
pub async fn dial_in<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send>(
    mut stream: S,
    config: &SimConfig,
    index: u32,
    push: bool,
) -> std::io::Result<()> {
    // The push takes the meter's first invocation counter; the association continues from it.
    let life = MeterLife::default();
    if push {
        let ic = life.counter.fetch_add(1, Ordering::SeqCst);
        let frame = push_frame(config, index, Local::now().fixed_offset(), ic)?;
        stream.write_all(&frame).await?;
    }
    serve_connection(stream, config, index, life)
        .await
        .map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dlms::push::Push;

    #[test]
    fn the_push_goes_through_dlms_push_over_wrapper_and_hdlc() {
        let now = Local::now().fixed_offset();
        for interface in [Interface::Wrapper, Interface::Hdlc] {
            for physical in [None, Some(17), Some(5000)] {
                let config = SimConfig {
                    interface,
                    physical,
                    ..SimConfig::default()
                };
                let bytes = push_frame(&config, 3, now, 0).unwrap();
                let Ok(Push::Plain(n)) = Push::parse(&bytes) else {
                    panic!("{interface:?} {physical:?}: not a plain push");
                };
                assert!(
                    n.body.to_string().contains("DLG0000000000004"),
                    "{}",
                    n.body
                );
            }
        }
    }
}
