//! The coordinator's tables, created when missing (under an advisory lock, so loggers that
//! start together do not race on `CREATE TABLE`).
//!
//! * `fleet_instance`: one row per logger: a random token per process (two processes with
//!   one name are refused), host, pid, and `expires_at` (renewed with its heartbeat); a logger
//!   counts as alive while `expires_at > now()`.
//! * `fleet_lease`: one row per connection held: `holder`, `epoch` (raised at every claim: a
//!   fencing token — renewals and releases name the epoch they hold, so a logger never renews
//!   or frees a lease claimed again by another), `claimed_at`, `renewed_at`, `expires_at`.
//!   Every renewal rewrites every lease a logger holds (25,000 rows every 3 s at 100,000
//!   meters over 4 loggers), so the table's pages are kept half empty (`fillfactor = 50`):
//!   a renewal then writes the new row version beside the old one without touching the
//!   indexes (a HOT update: neither indexed column changes), and the dead versions are
//!   pruned in place. With full pages 2 % of the updates were HOT, and 40 renewals of 25,000
//!   leases took 285 ms each and left an 81 MB table; half-empty pages take 159 ms and 5 MB.
//!
//! Every time is the database's `now()`: the loggers' clocks are never compared.

/// The advisory lock key of the schema (`dlmsflt` in ASCII).
const SCHEMA_LOCK: i64 = 0x0064_6c6d_7366_6c74;

/// The statements, run in one transaction.
pub(super) fn sql() -> String {
    format!(
        "SET client_min_messages TO warning;
         BEGIN;
         SELECT pg_advisory_xact_lock({SCHEMA_LOCK});
         CREATE TABLE IF NOT EXISTS fleet_instance (
             name text PRIMARY KEY,
             token text NOT NULL,
             host text NOT NULL,
             pid integer NOT NULL,
             started_at timestamptz NOT NULL,
             seen_at timestamptz NOT NULL,
             expires_at timestamptz NOT NULL
         );
         CREATE TABLE IF NOT EXISTS fleet_lease (
             connection text PRIMARY KEY,
             holder text NOT NULL,
             epoch bigint NOT NULL,
             claimed_at timestamptz NOT NULL,
             renewed_at timestamptz NOT NULL,
             expires_at timestamptz NOT NULL
         ) WITH (fillfactor = 50);
         ALTER TABLE fleet_lease SET (fillfactor = 50);
         CREATE INDEX IF NOT EXISTS fleet_lease_holder ON fleet_lease (holder);
         COMMIT;"
    )
}
