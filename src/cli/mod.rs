//! Command implementations of the binary.
pub mod connection;
pub mod export;
pub mod objects;
pub mod probe;
pub mod read;
pub mod run;
pub mod schedule;
pub mod simulate;
