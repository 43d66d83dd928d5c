//! Command implementations of the binary.
pub mod connection;
pub mod demo;
pub mod objects;
pub mod read;
pub mod simulate;
