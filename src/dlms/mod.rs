//! The DLMS/COSEM protocol, sans-IO: bytes in, bytes and events out, time passed in.
//!
//! Nothing in this module does IO, reads the clock or uses tokio.
pub mod access;
pub mod acse;
pub mod axdr;
pub mod client;
pub mod compact_data;
pub mod data;
pub mod datetime;
pub mod decode;
pub mod frames;
pub mod hdlc;
pub mod iec62056_21;
pub mod link;
pub mod mbus;
pub mod members;
pub mod obis;
pub mod obis_names;
pub mod protection;
pub mod push;
pub mod security;
pub mod server;
pub mod unit;
pub mod wrapper;
pub mod xdlms;
