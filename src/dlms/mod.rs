//! The DLMS/COSEM protocol, sans-IO: bytes in, bytes and events out, time passed in.
//!
//! Nothing in this module does IO, reads the clock or uses tokio.
pub mod axdr;
pub mod data;
pub mod datetime;
pub mod obis;
pub mod unit;
