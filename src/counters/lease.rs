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

use rusqlite::{OptionalExtension, Transaction};

/// The kernel's boot id (a new random UUID at every boot), or `None` where there is none, and
/// leases are then not used.
pub(super) fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

/// A lease as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Lease {
    /// First unused value.
    pub next: i64,
    /// End of the block (the file's `ours.next` when it was left).
    pub end: i64,
}

/// The live lease of (title, key) in this boot, if any; a lease of another boot, or one that
/// somebody reserved above since, is deleted.
pub(super) fn live(
    tx: &Transaction<'_>,
    title: &str,
    key: &str,
    boot: &str,
    ours_next: Option<i64>,
) -> rusqlite::Result<Option<Lease>> {
    let row: Option<(i64, i64, String)> = tx
        .query_row(
            "SELECT next, end_, boot_id FROM lease WHERE system_title = ?1 AND key_id = ?2",
            rusqlite::params![title, key],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((next, end, b)) = row else {
        return Ok(None);
    };
    if b == boot && ours_next == Some(end) && next < end {
        return Ok(Some(Lease { next, end }));
    }
    remove(tx, title, key)?;
    Ok(None)
}

/// Deletes the lease of (title, key).
pub(super) fn remove(tx: &Transaction<'_>, title: &str, key: &str) -> rusqlite::Result<()> {
    tx.execute(
        "DELETE FROM lease WHERE system_title = ?1 AND key_id = ?2",
        rusqlite::params![title, key],
    )
    .map(|_| ())
}

/// Leaves `[next, end)` as the lease of (title, key) for this boot.
pub(super) fn leave(
    tx: &Transaction<'_>,
    title: &str,
    key: &str,
    boot: &str,
    lease: Lease,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO lease (system_title, key_id, next, end_, boot_id) VALUES (?1, ?2, ?3, ?4, ?5) \
         ON CONFLICT (system_title, key_id) DO UPDATE SET next = excluded.next, \
         end_ = excluded.end_, boot_id = excluded.boot_id",
        rusqlite::params![title, key, lease.next, lease.end, boot],
    )
    .map(|_| ())
}
