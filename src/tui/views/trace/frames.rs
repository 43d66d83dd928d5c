//! The frames of a meter decoded in the order they crossed the link: one decoder per
//! direction, so HDLC segments and general-block-transfer blocks join into their APDU, and
//! ciphered APDUs are opened with the meter's keys (which are never shown) and its system
//! title (from the queue, else from its last AARE, which the runner remembers).

use crate::dlms::decode::{Decoder, Keys, Node};
use crate::dlms::security::{Key, SystemTitle};
use crate::engine::{Direction, TraceEntry};
use crate::queue::Meter;

/// The keys to open a frame going `direction` with: a glo- APDU names no sender, so the
/// system title is ours when we sent it and the meter's otherwise.
pub fn keys(meter: Option<&Meter>, direction: Direction) -> Keys {
    let Some(m) = meter else {
        return Keys::default();
    };
    let s = &m.security;
    Keys {
        block_key: s.block_key.as_ref().map(|k| Key(k.expose())),
        auth_key: s.auth_key.as_ref().map(|k| Key(k.expose())),
        dedicated_key: s.dedicated_key.as_ref().map(|k| Key(k.expose())),
        system_title: match direction {
            Direction::Tx => Some(SystemTitle(s.system_title)),
            Direction::Rx => s.server_system_title.map(SystemTitle),
        },
    }
}

/// Every entry's tree, in order. A frame that carries a segment shows the segment and what
/// the decoder waits for; the frame that completes an APDU shows the whole APDU. A frame
/// that does not decode shows why and its bytes. `learned` is the meter's system title as
/// its last AARE gave it (the runner keeps it), used when the queue does not give one.
pub fn decode_all(
    entries: &[TraceEntry],
    meter: Option<&Meter>,
    learned: Option<[u8; 8]>,
) -> Vec<Node> {
    let mut tx = Decoder::new(keys(meter, Direction::Tx));
    let mut rx_keys = keys(meter, Direction::Rx);
    if rx_keys.system_title.is_none() {
        rx_keys.system_title = learned.map(SystemTitle);
    }
    let mut rx = Decoder::new(rx_keys);
    entries
        .iter()
        .map(|e| {
            let decoder = match e.direction {
                Direction::Tx => &mut tx,
                Direction::Rx => &mut rx,
            };
            match decoder.feed(&e.bytes) {
                Ok(d) => {
                    let mut tree = d.tree;
                    if let Some(what) = decoder.waiting_for() {
                        tree.push(Node::leaf("incomplete", &[], format!("waiting for {what}")));
                    }
                    tree
                }
                Err(err) => undecoded(e, &err.to_string()),
            }
        })
        .collect()
}

/// A frame that does not decode: why, and its bytes.
fn undecoded(e: &TraceEntry, why: &str) -> Node {
    Node::group(
        "frame",
        &[],
        format!("{} bytes, not decoded", e.bytes.len()),
    )
    .with(Node::leaf("why", &[], why.to_string()))
    .with(Node::leaf("bytes", &e.bytes, ""))
}
