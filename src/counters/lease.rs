//! Leases: the unused rest of a durably reserved block, handed from a process that stopped
//! cleanly to the next one, without an fsync.
//!
//! A block is reserved durably (the file's `ours.next` is raised and fsynced before any value
//! of it is used), so after any crash, of the process or of the machine, the next reservation
//! starts above every value that was used. A process that stops cleanly leaves what it did not
//! use as a lease: `[next, end)` of its block, written without an fsync and stamped with the
//! kernel's boot id. The next process claims it (again without an fsync) instead of reserving.
//! Both writes reach the file through the page cache, so they survive the crash of a process;
//! a crash of the machine may lose either, but then the boot id differs, and a lease from
//! another boot is never used: the reservation starts at the durable `ours.next`, which is at
//! or above the lease's end. A lease is also dropped when anyone reserved after it (the
//! meter's counter must only increase), so at most one per (title, key) is live.
//!
//! The leases themselves are kept in the lease file (`lease_file.rs`); the database's `lease`
//! table is what older versions used, and a reservation still drops its row there.

use rusqlite::Transaction;

/// The kernel's boot id (a new random UUID at every boot), or `None` where there is none, and
/// leases are then not used.
pub(super) fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Deletes the lease of (title, key) an older version left in the database.
pub(super) fn remove(tx: &Transaction<'_>, title: &str, key: &str) -> rusqlite::Result<()> {
    tx.execute(
        "DELETE FROM lease WHERE system_title = ?1 AND key_id = ?2",
        rusqlite::params![title, key],
    )
    .map(|_| ())
}
