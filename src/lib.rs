//! dlms-logger: a DLMS/COSEM (IEC 62056) data logger, client engine and meter simulator.
//!
//! Layers (see docs/architecture.md): `dlms` (protocol, sans-IO) → `transport` (bytes over
//! TCP) → `engine` (drives a session over a transport) ; `sim` serves `dlms`'s server side.
pub mod counters;
pub mod dlms;
pub mod engine;
pub mod fleet;
pub mod metrics;
pub mod queue;
pub mod runner;
pub mod schedule;
pub mod sim;
pub mod sink;
pub mod store;
pub mod text;
pub mod transport;
pub mod tui;
