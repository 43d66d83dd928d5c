//! The passive decoder: captured bytes in, every field named out, and a notification's values
//! with their OBIS codes. Used by `dlms-logger decode`, and made to serve passive listening and
//! the Trace view: pure, no IO, keys passed in.
//!
//! ```text
//! decode_frame(bytes, &keys)? ── Decoded { tree, values, date_time, protection, … }
//! Decoder::new(keys).feed(frame)? (frames one at a time: segments and blocks are kept)
//! layout.apply(&mut decoded.values)   (names, units, positions → OBIS)
//! ```
//!
//! Layers read: HDLC frames (segmented or not, LLC), WRAPPER PDUs, M-Bus long frames with the
//! DLMS transport header, a bare APDU; general-block-transfer blocks joined; glo-, ded-,
//! general-glo- and general-ded-ciphering opened with the keys given (the tag checked when an
//! authentication key is given); data-notifications with the date-time with or without a
//! type tag; other APDUs through `xdlms::Apdu`.
mod data;
mod decoder;
mod error;
mod layout;
mod service;
mod tree;
mod values;

pub use data::{data_node, date_time_octets, describe};
pub use decoder::{
    decode_frame, decode_values, Decoded, Decoder, Keys, Protection, TitleKeys,
    GENERAL_BLOCK_TRANSFER,
};
pub use error::DecodeError;
pub use layout::{ItemLayout, Layout, ListLayout};
pub use tree::{spaced_hex, Node};
pub use values::{into_values, into_values_with, values, Value};

#[cfg(test)]
mod tests;
