//! One file per view.
pub mod log;
pub mod monitor;
pub mod objects;
pub mod queue;
pub mod trace;
