//! Several loggers, one fleet: N `dlms-logger run` processes pointed at the same PostgreSQL
//! and the same queue share its connections, PostgreSQL being the coordinator.
//!
//! * Each connection is claimed with a lease row (`lease.rs`: holder, epoch, `expires_at` by
//!   the database's clock), renewed every `renew` (3 s) for `expiry` (15 s). A logger runs
//!   the worker of a connection only while it holds its lease (`runner::RunnerHandle::
//!   start_connection` / `stop_connection`).
//! * Each logger has a heartbeat row (`instance.rs`); loggers alive are those whose row has
//!   not expired. Balancing is by count (`balance.rs`): a logger holds at most
//!   `ceil(connections / alive)`, claims free ones (no lease, or an expired one) when below,
//!   and gives the excess back when above — its worker stopped first, the lease freed after.
//! * A logger that dies (SIGKILL) renews nothing: its leases expire within `expiry` and the
//!   others claim them at their next renewal, so its connections are taken over within
//!   `expiry + renew` (18 s by default, ≤ 30 s). A logger that comes back takes its share
//!   back: the others see one more alive and give back their excess.
//! * Never two loggers on one connection, including during takeover and database outages:
//!   see `coordinator.rs` (workers stop `margin` before their lease could expire; a worker's
//!   gate refuses jobs on a lease about to expire; a lease is freed only after its worker
//!   ended).
//! * Our GCM invocation counters live in the same database when a fleet is used
//!   (`counters::CounterStore::postgres`): blocks reserved atomically, so a meter that moves
//!   between loggers never sees a counter twice.
//!
//! `holders.rs` reads the tables for `dlms-logger status --fleet URL`; `settings.rs` holds the
//! URL (shown with its password masked everywhere), the instance name and the timings;
//! `schema.rs` creates the tables.

mod balance;
mod coordinator;
mod error;
mod holders;
mod instance;
mod lease;
mod schema;
mod settings;

pub use balance::{plan, share, Plan};
pub use coordinator::Fleet;
pub use error::FleetError;
pub use holders::{report, FleetReport, InstanceRow, LeaseRow};
pub use settings::{default_instance, masked, FleetSettings, EXPIRY, MARGIN, RENEW};
