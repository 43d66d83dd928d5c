//! Unit tests of the invocation counter store.

use super::*;

const T1: SystemTitle = SystemTitle(*b"DLMSLOG1");
const T2: SystemTitle = SystemTitle(*b"DLMSLOG2");

fn key(b: u8) -> Key {
    Key([b; 16])
}

#[test]
fn values_never_repeat_across_store_instances() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    let a = CounterStore::new(&path);
    let b = CounterStore::new(&path);
    let mut seen = HashSet::new();
    for i in 0..2_000u32 {
        let s = if i % 3 == 0 { &a } else { &b };
        assert!(seen.insert(s.take(T1, &key(1), 0, 1).unwrap()));
    }
}

#[test]
fn counters_are_per_title_and_key_only() {
    let dir = tempfile::tempdir().unwrap();
    let s = CounterStore::new(dir.path().join("c.db"));
    assert_eq!(s.take(T1, &key(1), 0, 1).unwrap(), 0);
    assert_eq!(s.take(T1, &key(1), 0, 1).unwrap(), 1);
    // Another title or another key is another nonce space.
    assert_eq!(s.take(T2, &key(1), 0, 1).unwrap(), 0);
    assert_eq!(s.take(T1, &key(2), 0, 1).unwrap(), 0);
    assert_eq!(s.take(T1, &key(1), 500, 1).unwrap(), 500);
    assert_eq!(s.take(T1, &key(1), 0, 1).unwrap(), 501);
}

#[test]
fn a_clean_stop_gives_back_and_a_crash_only_skips() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    {
        let s = CounterStore::new(&path);
        assert_eq!(s.take(T1, &key(1), 0, 3).unwrap(), 0);
    } // dropped: flushed, 3.. is free again
    let s = CounterStore::new(&path);
    assert_eq!(s.take(T1, &key(1), 0, 1).unwrap(), 3);
    // A crash: the process ends without flushing; the rest of the block it was using (the
    // lease the first one left) stays used: the next block starts at its end.
    std::mem::forget(s);
    let s = CounterStore::new(&path);
    assert_eq!(s.take(T1, &key(1), 0, 1).unwrap(), FIRST_BLOCK);
}

#[test]
fn a_lease_of_another_boot_is_never_used() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    {
        let s = CounterStore::with_boot(&path, Some("boot-1"));
        assert_eq!(s.take(T1, &key(1), 0, 3).unwrap(), 0);
    } // left [3, 256) as a lease of boot-1
      // The machine crashed and rebooted: whatever the lease says, the next value is above the
      // durably reserved block.
    let s = CounterStore::with_boot(&path, Some("boot-2"));
    assert_eq!(s.take(T1, &key(1), 0, 1).unwrap(), FIRST_BLOCK);
    drop(s);
    // In the same boot, the next process takes the lease.
    let s = CounterStore::with_boot(&path, Some("boot-2"));
    assert_eq!(s.take(T1, &key(1), 0, 1).unwrap(), FIRST_BLOCK + 1);
}

#[test]
fn a_lease_below_a_newer_reservation_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    let a = CounterStore::with_boot(&path, Some("b"));
    let b = CounterStore::with_boot(&path, Some("b"));
    let x = a.take(T1, &key(1), 0, 1).unwrap();
    let y = b.take(T1, &key(1), 0, 1).unwrap();
    assert!(y >= x + FIRST_BLOCK, "{x} {y}");
    drop(a); // someone reserved above it: its rest is skipped (the meter sees only increases)
    drop(b); // leaves y + 1 ..
    let c = CounterStore::with_boot(&path, Some("b"));
    assert_eq!(c.take(T1, &key(1), 0, 1).unwrap(), y + 1);
    // A lease below what the meter expects (`at_least`) is not used under it.
    drop(c);
    let d = CounterStore::with_boot(&path, Some("b"));
    let far = y + 10 * FIRST_BLOCK;
    assert_eq!(d.take(T1, &key(1), far, 1).unwrap(), far);
}

#[test]
fn without_a_boot_id_unused_counters_go_back_to_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    {
        let s = CounterStore::with_boot(&path, None);
        assert_eq!(s.take(T1, &key(1), 0, 3).unwrap(), 0);
    }
    let s = CounterStore::with_boot(&path, None);
    assert_eq!(s.take(T1, &key(1), 0, 1).unwrap(), 3);
    std::mem::forget(s);
    let s = CounterStore::with_boot(&path, None);
    assert_eq!(s.take(T1, &key(1), 0, 1).unwrap(), 3 + FIRST_BLOCK);
}

#[test]
fn blocks_grow_with_use_up_to_a_bound() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    let s = CounterStore::new(&path);
    let n = 200_000u32;
    for _ in 0..n {
        s.take(T1, &key(1), 0, 1).unwrap();
    }
    std::mem::forget(s); // crash: at most the last block is lost
    let s = CounterStore::new(&path);
    let next = s.take(T1, &key(1), 0, 1).unwrap();
    assert!(next > n && next <= n + MAX_BLOCK, "{next}");
}

#[test]
fn give_back_only_the_last_values() {
    let dir = tempfile::tempdir().unwrap();
    let s = CounterStore::new(dir.path().join("c.db"));
    let a = s.take(T1, &key(1), 0, 4).unwrap();
    s.give_back(T1, &key(1), a + 1, a + 4);
    let b = s.take(T1, &key(1), 0, 4).unwrap();
    assert_eq!(b, a + 1);
    let c = s.take(T1, &key(1), 0, 1).unwrap();
    s.give_back(T1, &key(1), b, b + 4); // not the last: ignored
    assert_eq!(s.take(T1, &key(1), 0, 1).unwrap(), c + 1);
}

#[test]
fn the_end_of_the_space_is_refused_with_a_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let s = CounterStore::new(dir.path().join("c.db"));
    let near = u32::MAX - 10;
    assert_eq!(s.take(T1, &key(1), near, 5).unwrap(), near);
    assert!(!s.warnings().is_empty(), "past 90 % warns");
    let e = s.take(T1, &key(1), 0, 100).unwrap_err().to_string();
    assert!(e.contains("used up") && e.contains("new keys"), "{e}");
    assert!(!e.contains("01010101"), "no key in the message: {e}");
}

#[test]
fn meter_floors_are_per_meter_title_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    {
        let s = CounterStore::new(&path);
        s.raise_meter_floor(T2, &key(1), 42).unwrap();
        s.raise_meter_floor(T2, &key(1), 40).unwrap(); // never lowered
        assert_eq!(s.meter_floor(T2, &key(1)).unwrap(), 42);
    }
    let s = CounterStore::new(&path);
    assert_eq!(s.meter_floor(T2, &key(1)).unwrap(), 42);
    assert_eq!(s.meter_floor(T1, &key(1)).unwrap(), 0);
    assert_eq!(s.meter_floor(T2, &key(2)).unwrap(), 0);
}

#[test]
fn legacy_counters_are_a_floor_for_every_title_of_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let s = CounterStore::new(dir.path().join("c.db"));
    s.import_legacy(&[(key_id(&key(1)), 7_000)]).unwrap();
    assert_eq!(s.take(T1, &key(1), 0, 1).unwrap(), 7_000);
    assert_eq!(s.take(T2, &key(1), 0, 1).unwrap(), 7_000);
    assert_eq!(s.take(T1, &key(2), 0, 1).unwrap(), 0);
}

#[cfg(unix)]
#[test]
fn the_file_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/c.db");
    let s = CounterStore::new(&path);
    s.take(T1, &key(1), 0, 1).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn space_left_is_what_each_key_has_not_handed_out() {
    let dir = tempfile::tempdir().unwrap();
    let s = CounterStore::new(dir.path().join("c.db"));
    assert!(s.space_left().is_empty());
    s.take(T1, &key(1), 0, 10).unwrap();
    s.take(T2, &key(2), 4_000_000_000, 1).unwrap();
    let left = s.space_left();
    assert_eq!(
        left,
        vec![
            (T1.to_string(), key_id(&key(1)), u64::from(u32::MAX) - 10),
            (
                T2.to_string(),
                key_id(&key(2)),
                u64::from(u32::MAX) - 4_000_000_001
            ),
        ]
    );
}

#[test]
fn a_command_with_a_lease_and_a_known_meter_never_opens_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    {
        let s = CounterStore::with_boot(&path, Some("b"));
        assert_eq!(s.take(T1, &key(1), 0, 3).unwrap(), 0);
        s.raise_meter_floor(T2, &key(1), 42).unwrap();
    } // leaves [3, 256) and the floor in the lease file
    let s = CounterStore::with_boot(&path, Some("b"));
    assert_eq!(s.take(T1, &key(1), 0, 2).unwrap(), 3);
    assert_eq!(s.meter_floor(T2, &key(1)).unwrap(), 42);
    s.raise_meter_floor(T2, &key(1), 50).unwrap();
    s.flush().unwrap();
    assert!(s.state().conn.is_none(), "SQLite was opened");
    drop(s);
    let s = CounterStore::with_boot(&path, Some("b"));
    assert_eq!(s.take(T1, &key(1), 0, 1).unwrap(), 5);
    assert_eq!(s.meter_floor(T2, &key(1)).unwrap(), 50);
}

#[test]
fn a_lost_lease_file_costs_a_reservation_never_a_repeat() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    {
        // Reserves, so it has the database open: its floor goes there as well.
        let s = CounterStore::with_boot(&path, Some("b"));
        assert_eq!(s.take(T1, &key(1), 0, 3).unwrap(), 0);
        s.raise_meter_floor(T2, &key(1), 42).unwrap();
    }
    {
        // Takes the lease: the file only.
        let s = CounterStore::with_boot(&path, Some("b"));
        assert_eq!(s.take(T1, &key(1), 0, 1).unwrap(), 3);
        s.raise_meter_floor(T2, &key(1), 50).unwrap();
    }
    std::fs::remove_file(LeaseFile::beside(&path).path()).unwrap();
    let s = CounterStore::with_boot(&path, Some("b"));
    assert_eq!(s.take(T1, &key(1), 0, 1).unwrap(), FIRST_BLOCK);
    // The floor the database has (a check against replays, never a counter of ours).
    assert_eq!(s.meter_floor(T2, &key(1)).unwrap(), 42);
}

#[test]
fn older_counters_imported_later_raise_or_drop_a_lease() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    {
        let s = CounterStore::with_boot(&path, Some("b"));
        assert_eq!(s.take(T1, &key(1), 0, 3).unwrap(), 0);
    } // leaves [3, 256)
    {
        let s = CounterStore::with_boot(&path, Some("b"));
        s.import_legacy(&[(key_id(&key(1)), 100)]).unwrap();
        assert_eq!(s.take(T1, &key(1), 0, 1).unwrap(), 100);
    } // leaves [101, 256)
    let s = CounterStore::with_boot(&path, Some("b"));
    s.import_legacy(&[(key_id(&key(1)), 1_000)]).unwrap();
    assert_eq!(s.take(T1, &key(1), 0, 1).unwrap(), 1_000);
}

#[test]
fn a_logger_keeps_its_many_floors_in_the_database_and_those_of_commands_fresh() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.db");
    let meter = |i: u8| SystemTitle([b'M', b'T', 0, 0, 0, 0, 0, i]);
    {
        // A command reads meter 1: its floor goes into the lease file.
        let s = CounterStore::with_boot(&path, Some("b"));
        s.take(T1, &key(1), 0, 1).unwrap();
        s.raise_meter_floor(meter(1), &key(1), 10).unwrap();
    }
    {
        // A logger of 40 meters: they stay in the database; meter 1's entry is raised.
        let s = CounterStore::with_boot(&path, Some("b"));
        s.take(T1, &key(1), 0, 1).unwrap();
        for i in 1..=40 {
            s.raise_meter_floor(meter(i), &key(1), 100 + u32::from(i))
                .unwrap();
        }
    }
    let (file, _) = LeaseFile::beside(&path).update(|c| c.clone()).unwrap();
    assert_eq!(file.floors.len(), 1, "{:?}", file.floors);
    assert_eq!(file.floors.values().next(), Some(&101));
    let s = CounterStore::with_boot(&path, Some("b"));
    assert_eq!(s.meter_floor(meter(1), &key(1)).unwrap(), 101);
    assert_eq!(s.meter_floor(meter(40), &key(1)).unwrap(), 140);
}
