//! One file per view, and the form their dialogs share.
pub mod detail;
pub mod form;
pub mod log;
pub mod monitor;
pub mod objects;
pub mod queue;
#[cfg(test)]
mod snapshots;
#[cfg(test)]
mod testkit;
pub mod trace;
