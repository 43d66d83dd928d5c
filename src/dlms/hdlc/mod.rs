//! HDLC (IEC 62056-46) framing and the link state machines (windows as negotiated), sans-IO.
//!
//! Frame format type 3 is delimited by its length field, never by byte stuffing, so the
//! decoder reads the length and checks HCS/FCS instead of escaping 0x7E.
pub mod address;
pub mod client;
pub mod control;
pub mod error;
pub mod frame;
pub mod llc;
pub mod params;
pub mod reader;
pub mod server;
mod transfer;

pub use address::{physical_from_serial_number, AddressSize, HdlcAddress, RawAddress};
pub use client::HdlcClient;
pub use control::Control;
pub use error::HdlcError;
pub use frame::{decode, FrameError, HdlcFrame};
pub use params::HdlcParameters;
pub use reader::FrameReader;
pub use server::{HdlcServer, ServerAddressFilter};
