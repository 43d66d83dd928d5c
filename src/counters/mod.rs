//! The invocation counter store: one file per user, shared by every command that ciphers.
//!
//! AES-GCM's nonce is our system title ‖ invocation counter, under the block key. So our
//! counter is keyed by (our system title, key fingerprint) and nothing else: not the meter's
//! name, address or host, which change while the key stays. The meter's counter floor (one
//! above the highest counter it used, for replay protection) is keyed by (the meter's system
//! title from the AARE, key fingerprint).
//!
//! Counters are reserved in blocks, durably, before use: a block is written (one fsync) and
//! then handed out one value at a time from memory to every session of the process with that
//! title and key, so sessions never overlap and a crash can skip values but never repeat one.
//! Blocks start small and grow with use (a process that starts, reads once and stops gives
//! back what it did not use; one that ciphers thousands of APDUs a second writes rarely).
//! Several processes share the file: a reservation is one `BEGIN IMMEDIATE` transaction.
//! Only a reservation is fsynced: what a process that stops cleanly did not use is left as a
//! lease for the next process of the same boot (`lease.rs`), so a short-lived command that
//! finds one costs no fsync at all; meter floors are written without an fsync too. Leases and
//! floors are kept in a small file beside the database (`lease_file.rs`), so such a command
//! does not open SQLite at all: only a reservation does, and a process that has it open.
//!
//! `file.rs` opens the SQLite file (created private) and holds its schema. `pg.rs` keeps the
//! same counters in PostgreSQL instead, for a fleet of loggers sharing one database
//! ([`CounterStore::postgres`]): the same reservation rules, no leases.

use crate::dlms::security::{Key, SystemTitle};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use thiserror::Error;

mod file;
mod lease;
mod lease_file;
mod pg;
#[cfg(test)]
mod tests;

use file::{open, sqlite};
use lease_file::LeaseFile;

/// First block reserved for a (title, key) by a process; each next one is four times larger.
const FIRST_BLOCK: u32 = 256;
/// Largest block: what a crash can burn at most (2^32 / 65,536 = 65,536 crashes per key).
const MAX_BLOCK: u32 = 65_536;
/// Share of the counter space after which every reservation warns (90 %).
const WARN_AT: u32 = (u32::MAX / 10) * 9;
/// Most meter floors the lease file takes (each command reads and writes it whole).
const FILE_FLOORS: usize = 1024;
/// A process that has seen at most this many meters adds their floors to the lease file (a
/// command); a logger's meters stay in SQLite unless a command put them there first.
const FILE_FLOORS_PER_PROCESS: usize = 16;
/// Meter floors raised in memory are written at the latest this long after.
const FLOOR_FLUSH: Duration = Duration::from_secs(10);

/// Why the counter store failed; never names a key, only its fingerprint.
#[derive(Debug, Error)]
pub enum CounterError {
    /// The file could not be created, opened or written.
    #[error("invocation counter store {path}: {action}: {source}")]
    Sqlite {
        /// The store's file.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// The lease file beside the store could not be read or written.
    #[error("invocation counter store {path}: {action}: {source}")]
    LeaseFile {
        /// The lease file.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// The folder of the store could not be created.
    #[error("cannot create the folder of the invocation counter store {path}: {source}")]
    Folder {
        /// The folder.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Every counter value of this key has been used with our system title.
    #[error(
        "the invocation counters of key {key_id} with system title {title} are used up \
         (all 4,294,967,295 values); ciphering with this key again would repeat a GCM nonce, \
         so it is refused: give the meter new keys (block key) and configure them here"
    )]
    Exhausted {
        /// Our system title.
        title: SystemTitle,
        /// The key's fingerprint.
        key_id: String,
    },
    /// The PostgreSQL database (a fleet's) failed or did not answer.
    #[error("invocation counter store {url}: {action}: {message}")]
    Postgres {
        /// The database's URL, password masked.
        url: String,
        /// What was being done.
        action: &'static str,
        /// The database's error.
        message: String,
    },
    /// The store's file was written by a newer dlms-logger.
    #[error("invocation counter store {path} has schema version {found}; this build knows {known}: use a newer dlms-logger")]
    Newer {
        /// The store's file.
        path: PathBuf,
        /// Its version.
        found: i64,
        /// Ours.
        known: i64,
    },
}

/// A key's identity in the store: a fingerprint, never the key.
pub fn key_id(key: &Key) -> String {
    let d = Sha256::digest(key.0);
    d[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// Where the counter store lives by default: `$DLMS_COUNTER_DB`, else
/// `$XDG_DATA_HOME/dlms-logger/counters.db`, else `~/.local/share/dlms-logger/counters.db`.
pub fn default_path() -> PathBuf {
    if let Some(p) = std::env::var_os("DLMS_COUNTER_DB").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let base = std::env::var_os("XDG_DATA_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")))
        .unwrap_or_else(|| PathBuf::from("."));
    base.join("dlms-logger/counters.db")
}

/// Values reserved in the file and not yet handed out, for one (our title, key).
#[derive(Debug)]
struct Pool {
    next: u32,
    end: u32,
    /// Size of the next block to reserve.
    block: u32,
}

/// The counters of one (our system title, key) in this process: take values from it.
#[derive(Debug, Clone)]
pub struct Counters {
    store: Arc<CounterStore>,
    id: (SystemTitle, String),
    pool: Arc<Mutex<Pool>>,
}

impl Counters {
    fn pool(&self) -> MutexGuard<'_, Pool> {
        self.pool.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Takes `count` consecutive values, each at least `at_least`; returns the first. Values
    /// never repeat for this title and key, in this process or any other using the same file.
    /// What a caller does not use it may give back at once with [`Counters::give_back`].
    pub fn take(&self, at_least: u32, count: u32) -> Result<u32, CounterError> {
        loop {
            let (floor, block, skipped) = {
                let mut p = self.pool();
                let first = p.next.max(at_least);
                if first <= p.end && p.end - first >= count {
                    p.next = first + count;
                    return Ok(first);
                }
                (p.end.max(at_least), p.block, at_least > p.end)
            };
            // Not under the pool's lock: the file may take a while (another process's lock).
            let (first, end) = self.store.refill(&self.id, floor, block, count)?;
            let mut p = self.pool();
            // Another take may have refilled meanwhile; the file only grows, so the later
            // block is above: keep the higher one (the other's rest is skipped, never reused).
            if first >= p.end {
                p.next = first;
                p.end = end;
                // A block left because the session had to start above it (a meter that
                // moved between loggers) says nothing about use: start small again.
                p.block = if skipped {
                    FIRST_BLOCK
                } else {
                    block.saturating_mul(4).min(MAX_BLOCK).max(block)
                };
            }
        }
    }

    /// The lowest counter a new session (association) may start at. In a store shared by a
    /// fleet (PostgreSQL), a meter may have moved here from another logger, which used values
    /// up to the highest block reserved: when somebody reserved above our block, a session
    /// starts above that. Sessions on one meter never overlap (the fleet's leases), so each
    /// meter sees our counter only increase. 0 for the file (one logger per meter).
    pub fn session_floor(&self) -> Result<u32, CounterError> {
        let Some(pg) = &self.store.pg else {
            return Ok(0);
        };
        let top = pg.top(self.id.0.to_string(), self.id.1.clone())?;
        let end = self.pool().end;
        Ok(if top > end { top } else { 0 })
    }

    /// Gives back the values `[from, end)` taken last; nothing happens if others were taken since.
    pub fn give_back(&self, from: u32, end: u32) {
        let mut p = self.pool();
        if p.next == end && from <= end {
            p.next = from;
        }
    }
}

/// The meter's floor known in memory, and whether it still has to be written.
#[derive(Debug, Clone, Copy)]
struct Floor {
    value: u32,
    dirty: bool,
}

#[derive(Default)]
struct State {
    conn: Option<Connection>,
    pools: HashMap<(SystemTitle, String), Arc<Mutex<Pool>>>,
    floors: HashMap<(SystemTitle, String), Floor>,
    last_floor_flush: Option<Instant>,
    warned: HashSet<(SystemTitle, String)>,
    /// The lease file as last read or written by this process (its floors).
    file: Option<lease_file::Contents>,
}

/// The counter store of this process (one per file; share it behind an `Arc`).
pub struct CounterStore {
    path: PathBuf,
    state: Mutex<State>,
    /// The kernel's boot id, read on first use (`None`: no leases).
    boot: std::sync::OnceLock<Option<String>>,
    /// The counters live in PostgreSQL instead of the file (a fleet's database).
    pg: Option<pg::Postgres>,
}

impl std::fmt::Debug for CounterStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CounterStore")
            .field("path", &self.path)
            .finish()
    }
}

impl CounterStore {
    /// A store kept in `path`; the file is opened (and created, 0600) on first use.
    pub fn new(path: impl Into<PathBuf>) -> Arc<Self> {
        Arc::new(CounterStore {
            path: path.into(),
            // A store counts as just written: a floor raised in its first seconds goes with
            // the next write (a one-shot command's flush at its end: one commit, not two).
            state: Mutex::new(State {
                last_floor_flush: Some(Instant::now()),
                ..State::default()
            }),
            boot: std::sync::OnceLock::new(),
            pg: None,
        })
    }

    /// A store in the PostgreSQL database at `url` (a fleet's), shared by every logger and
    /// process using it; `shown` names it in messages (the URL with its password masked).
    pub fn postgres(url: &str, shown: &str) -> Arc<Self> {
        Arc::new(CounterStore {
            path: PathBuf::from(shown),
            state: Mutex::new(State {
                last_floor_flush: Some(Instant::now()),
                ..State::default()
            }),
            boot: std::sync::OnceLock::new(),
            pg: Some(pg::Postgres::start(url.to_string(), shown.to_string())),
        })
    }

    /// The store at [`default_path`].
    pub fn at_default() -> Arc<Self> {
        Self::new(default_path())
    }

    /// The store's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A store that takes `boot` for the kernel's boot id (tests: a machine that rebooted).
    #[cfg(test)]
    fn with_boot(path: impl Into<PathBuf>, boot: Option<&str>) -> Arc<Self> {
        let s = Self::new(path);
        let _ = s.boot.set(boot.map(str::to_string));
        s
    }

    fn boot(&self) -> Option<&str> {
        self.boot.get_or_init(lease::boot_id).as_deref()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The counters of our `title` under `key`: a handle a session keeps, so that taking a
    /// value costs one uncontended lock.
    pub fn counters(self: &Arc<Self>, title: SystemTitle, key: &Key) -> Counters {
        let id = (title, key_id(key));
        let pool = self
            .state()
            .pools
            .entry(id.clone())
            .or_insert_with(|| {
                Arc::new(Mutex::new(Pool {
                    next: 0,
                    end: 0,
                    block: FIRST_BLOCK,
                }))
            })
            .clone();
        Counters {
            store: self.clone(),
            id,
            pool,
        }
    }

    /// [`Counters::take`] for one call (tests, tools).
    pub fn take(
        self: &Arc<Self>,
        title: SystemTitle,
        key: &Key,
        at_least: u32,
        count: u32,
    ) -> Result<u32, CounterError> {
        self.counters(title, key).take(at_least, count)
    }

    /// [`Counters::give_back`] for one call (tests, tools).
    pub fn give_back(self: &Arc<Self>, title: SystemTitle, key: &Key, from: u32, end: u32) {
        self.counters(title, key).give_back(from, end)
    }

    /// Reserves a new block for `id` in the file (at least `count` values, from `at_least`)
    /// and warns once past 90 % of the space; returns (first, end).
    fn refill(
        &self,
        id: &(SystemTitle, String),
        at_least: u32,
        block: u32,
        count: u32,
    ) -> Result<(u32, u32), CounterError> {
        let mut st = self.state();
        let (first, got) = self.reserve(&mut st, id, at_least, block.max(count), count)?;
        let end = first + got;
        if end >= WARN_AT && st.warned.insert(id.clone()) {
            tracing::warn!(
                "the invocation counters of key {} with system title {} have passed 90 % of \
                 their space (next {first}); plan new keys for the meters using it",
                id.1,
                id.0
            );
        }
        Ok((first, end))
    }

    /// Counter values left per (our system title, key fingerprint) this process has used:
    /// the values above the next one it would hand out (for metrics).
    pub fn space_left(&self) -> Vec<(String, String, u64)> {
        let st = self.state();
        let mut out: Vec<(String, String, u64)> = st
            .pools
            .iter()
            .map(|((title, key), pool)| {
                let next = pool.lock().unwrap_or_else(|e| e.into_inner()).next;
                (title.to_string(), key.clone(), u64::from(u32::MAX - next))
            })
            .collect();
        out.sort();
        out
    }

    /// One short line per (key fingerprint, our title) whose counters have passed 90 % of
    /// their space (for a status bar).
    pub fn warnings(&self) -> Vec<String> {
        let st = self.state();
        let mut w: Vec<String> = st
            .warned
            .iter()
            .map(|(t, k)| format!("key {k} (title {t}): counters passed 90 %, plan new keys"))
            .collect();
        w.sort();
        w
    }

    /// The lowest counter the meter with system title `meter` may use under `key`: one
    /// above the highest it used in any earlier session (0 when none is known).
    pub fn meter_floor(&self, meter: SystemTitle, key: &Key) -> Result<u32, CounterError> {
        let id = (meter, key_id(key));
        if let Some(pg) = &self.pg {
            // Not under the store's lock: every other session of the logger would wait for
            // this round trip (sessions on one meter never overlap, so nothing raises this
            // meter's floor meanwhile).
            let mem = self.state().floors.get(&id).map_or(0, |f| f.value);
            let stored = pg.floor(id.0.to_string(), id.1.clone())?;
            return Ok(mem.max(stored.map_or(0, clamp_u32)));
        }
        let mut st = self.state();
        let mem = st.floors.get(&id).map_or(0, |f| f.value);
        // The lease file has every floor written since it exists; SQLite only older ones.
        let file = match &st.file {
            Some(c) => c,
            None => {
                let (_, c) = self
                    .leases()
                    .update(|_| ())
                    .map_err(self.lease_error("reading the lease file"))?;
                st.file.insert(c)
            }
        };
        if let Some(f) = file.floors.get(&(id.0.to_string(), id.1.clone())) {
            return Ok(mem.max(*f));
        }
        let path = self.path.clone();
        let conn = self.conn(&mut st)?;
        let stored: Option<i64> = conn
            .query_row(
                "SELECT floor FROM meter_floor WHERE system_title = ?1 AND key_id = ?2",
                rusqlite::params![id.0.to_string(), id.1],
                |r| r.get(0),
            )
            .optional()
            .map_err(sqlite(&path, "reading a meter's counter floor"))?;
        Ok(mem.max(stored.map_or(0, clamp_u32)))
    }

    /// Raises the meter's floor to `floor`; written at once if the last write (or the store's
    /// creation) is older than a few seconds, else with the next write (at the latest when the
    /// store is flushed).
    pub fn raise_meter_floor(
        &self,
        meter: SystemTitle,
        key: &Key,
        floor: u32,
    ) -> Result<(), CounterError> {
        let id = (meter, key_id(key));
        let mut st = self.state();
        let f = st.floors.entry(id).or_insert(Floor {
            value: 0,
            dirty: false,
        });
        if floor > f.value {
            f.value = floor;
            f.dirty = true;
        }
        let due = st
            .last_floor_flush
            .is_none_or(|t| t.elapsed() >= FLOOR_FLUSH);
        if due {
            self.flush_locked(&mut st, false)?;
        }
        Ok(())
    }

    /// Writes raised meter floors and gives back every value reserved and not handed out
    /// (at a clean shutdown; a crash only skips them).
    pub fn flush(&self) -> Result<(), CounterError> {
        let mut st = self.state();
        self.flush_locked(&mut st, true)
    }

    /// Counters of an older database (the log's `invocation_counter` table, or the command
    /// line's old store), by key fingerprint: our counter for any title of that key starts
    /// above them. Idempotent; keeps the highest value.
    pub fn import_legacy(&self, rows: &[(String, u32)]) -> Result<(), CounterError> {
        if rows.is_empty() {
            return Ok(());
        }
        if let Some(pg) = &self.pg {
            return pg.legacy(rows.to_vec());
        }
        let mut st = self.state();
        let path = self.path.clone();
        let conn = self.conn(&mut st)?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sqlite(&path, "starting a write transaction"))?;
        for (key_id, next) in rows {
            tx.execute(
                "INSERT INTO legacy (key_id, next) VALUES (?1, ?2) \
                 ON CONFLICT (key_id) DO UPDATE SET next = max(next, excluded.next)",
                rusqlite::params![key_id, next],
            )
            .map_err(sqlite(&path, "importing older counters"))?;
        }
        // A lease starts above the older counters of its key, as a reservation does; raised
        // before the commit, so no claim can take a lease below them once they count.
        let ((), contents) = self
            .leases()
            .update(|c| {
                for (key_id, next) in rows {
                    c.leases.retain(|(_, k), (first, end)| {
                        if k == key_id {
                            *first = (*first).max(*next);
                        }
                        first < end
                    });
                }
            })
            .map_err(self.lease_error("writing the lease file"))?;
        tx.commit()
            .map_err(sqlite(&path, "committing older counters"))?;
        st.file = Some(contents);
        Ok(())
    }

    fn flush_locked(&self, st: &mut State, give_back: bool) -> Result<(), CounterError> {
        let floors: Vec<((SystemTitle, String), u32)> = st
            .floors
            .iter()
            .filter(|(_, f)| f.dirty)
            .map(|(k, f)| (k.clone(), f.value))
            .collect();
        // Lock order: state, then a pool (a pool's lock is never held while taking the state's).
        let pools: Vec<((SystemTitle, String), u32, u32)> = if give_back {
            st.pools
                .iter()
                .filter_map(|(k, p)| {
                    let mut p = p.lock().unwrap_or_else(|e| e.into_inner());
                    let unused = (p.next < p.end).then(|| (k.clone(), p.next, p.end));
                    // Handed back: the next take reserves again (from the file, above it).
                    p.end = p.next;
                    unused
                })
                .collect()
        } else {
            Vec::new()
        };
        if floors.is_empty() && pools.is_empty() {
            st.last_floor_flush = Some(Instant::now());
            return Ok(());
        }
        if let Some(pg) = &self.pg {
            pg.flush(
                floors
                    .iter()
                    .map(|((t, k), f)| (t.to_string(), k.clone(), *f))
                    .collect(),
                pools
                    .iter()
                    .map(|((t, k), next, end)| (t.to_string(), k.clone(), *next, *end))
                    .collect(),
            )?;
            for (k, _) in floors {
                if let Some(f) = st.floors.get_mut(&k) {
                    f.dirty = false;
                }
            }
            st.last_floor_flush = Some(Instant::now());
            return Ok(());
        }
        // The lease file first: floors, and the unused rest of each block as a lease while
        // nobody reserved above it (values below `next` stay used, and the meter must never
        // see our counter go back).
        // A floor already in the file is raised there by every writer, so it is never stale;
        // a new one goes in only from a process of few meters (a command) and while the file
        // is small, since every command reads and writes it whole. The rest is SQLite's.
        let boot = self.boot().map(str::to_string);
        let few = st.floors.len() <= FILE_FLOORS_PER_PROCESS;
        let (not_in_file, contents) = self
            .leases()
            .update(|c| {
                let mut not_in_file = false;
                for ((title, key), floor) in &floors {
                    let id = (title.to_string(), key.clone());
                    if c.floors.contains_key(&id) || (few && c.floors.len() < FILE_FLOORS) {
                        c.raise_floor(id, *floor);
                    } else {
                        not_in_file = true;
                    }
                }
                if let Some(boot) = &boot {
                    c.for_boot(boot);
                    for ((title, key), next, end) in &pools {
                        let id = (title.to_string(), key.clone());
                        if c.tops.get(&id) == Some(end) {
                            c.leases.insert(id, (*next, *end));
                        }
                    }
                }
                not_in_file
            })
            .map_err(self.lease_error("writing the lease file"))?;
        st.file = Some(contents);
        // SQLite too when this process has it open anyway (a logger), for floors the file
        // does not take, and without a boot id (no leases: unused values go back to the
        // database, whose next reservation is fsynced).
        let give_back = boot.is_none() && !pools.is_empty();
        if st.conn.is_some() || give_back || not_in_file {
            let path = self.path.clone();
            let conn = self.conn(st)?;
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(sqlite(&path, "starting a write transaction"))?;
            for ((title, key), floor) in &floors {
                tx.execute(
                    "INSERT INTO meter_floor (system_title, key_id, floor) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (system_title, key_id) DO UPDATE SET floor = max(floor, excluded.floor)",
                    rusqlite::params![title.to_string(), key, floor],
                )
                .map_err(sqlite(&path, "raising a meter's counter floor"))?;
            }
            if give_back {
                for ((title, key), next, end) in &pools {
                    tx.execute(
                        "UPDATE ours SET next = ?3 WHERE system_title = ?1 AND key_id = ?2 \
                         AND next = ?4",
                        rusqlite::params![title.to_string(), key, next, end],
                    )
                    .map_err(sqlite(&path, "giving back unused counters"))?;
                }
            }
            tx.commit()
                .map_err(sqlite(&path, "committing the counter store"))?;
        }
        for (k, _) in floors {
            if let Some(f) = st.floors.get_mut(&k) {
                f.dirty = false;
            }
        }
        st.last_floor_flush = Some(Instant::now());
        Ok(())
    }

    /// The lease file beside the store's file (leases and meter floors).
    fn leases(&self) -> LeaseFile {
        LeaseFile::beside(&self.path)
    }

    /// Maps an I/O error of the lease file to a [`CounterError`].
    fn lease_error(&self, action: &'static str) -> impl Fn(std::io::Error) -> CounterError + '_ {
        move |source| CounterError::LeaseFile {
            path: self.leases().path().to_path_buf(),
            action,
            source,
        }
    }

    /// Reserves up to `want` values (at least `need`) in the file, starting at least at
    /// `at_least`; returns the first and how many were reserved (fewer near the end).
    fn reserve(
        &self,
        st: &mut State,
        id: &(SystemTitle, String),
        at_least: u32,
        want: u32,
        need: u32,
    ) -> Result<(u32, u32), CounterError> {
        if let Some(pg) = &self.pg {
            return pg
                .reserve(id.0.to_string(), id.1.clone(), at_least, want, need)?
                .ok_or_else(|| CounterError::Exhausted {
                    title: id.0,
                    key_id: id.1.clone(),
                });
        }
        if let Some(got) = self.claim_lease(st, id, at_least, need)? {
            return Ok(got);
        }
        let path = self.path.clone();
        let conn = self.conn(st)?;
        // This commit, and only this one, is fsynced before a value of it is used.
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(sqlite(&path, "setting synchronous"))?;
        let r = Self::reserve_durably(conn, &path, id, at_least, want, need, |next| {
            // Inside the transaction, before its commit: a lease below this block is dead
            // from now on, and a process leaving one must see that somebody reserved above.
            match self.boot() {
                Some(boot) => self
                    .leases()
                    .update(|c| {
                        let key = (id.0.to_string(), id.1.clone());
                        c.for_boot(boot);
                        c.leases.remove(&key);
                        c.tops.insert(key, next);
                    })
                    .map(drop)
                    .map_err(self.lease_error("writing the lease file")),
                None => Ok(()),
            }
        });
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(sqlite(&path, "setting synchronous"))?;
        // Into the file itself (not only its WAL), so a copy of `counters.db` alone never
        // goes back below it. Best effort: the reservation is durable in the WAL already.
        let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
        r
    }

    /// The live lease of `id` in this boot, claimed whole (from the lease file, without
    /// SQLite or an fsync), when it holds `need` values from `at_least`; returns (first,
    /// count). A lease too small is dropped all the same: its values are skipped, never reused.
    fn claim_lease(
        &self,
        st: &mut State,
        id: &(SystemTitle, String),
        at_least: u32,
        need: u32,
    ) -> Result<Option<(u32, u32)>, CounterError> {
        let Some(boot) = self.boot() else {
            return Ok(None);
        };
        let key = (id.0.to_string(), id.1.clone());
        let (lease, contents) = self
            .leases()
            .update(|c| {
                c.for_boot(boot);
                let live = c
                    .leases
                    .get(&key)
                    .copied()
                    .filter(|(_, end)| c.tops.get(&key) == Some(end));
                c.leases.remove(&key);
                live
            })
            .map_err(self.lease_error("claiming a lease"))?;
        st.file = Some(contents);
        Ok(lease.and_then(|(next, end)| {
            let first = next.max(at_least);
            (first < end && end - first >= need.max(1)).then(|| (first, end - first))
        }))
    }

    /// A new block for `id`, committed with an fsync; any lease of `id` is dropped (it is
    /// below the new block, and the meter must never see our counter go back).
    fn reserve_durably(
        conn: &mut Connection,
        path: &Path,
        id: &(SystemTitle, String),
        at_least: u32,
        want: u32,
        need: u32,
        before_commit: impl FnOnce(u32) -> Result<(), CounterError>,
    ) -> Result<(u32, u32), CounterError> {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(sqlite(path, "starting a write transaction"))?;
        let title = id.0.to_string();
        let current: Option<i64> = tx
            .query_row(
                "SELECT next FROM ours WHERE system_title = ?1 AND key_id = ?2",
                rusqlite::params![title, id.1],
                |r| r.get(0),
            )
            .optional()
            .map_err(sqlite(path, "reading an invocation counter"))?;
        let legacy: Option<i64> = tx
            .query_row(
                "SELECT next FROM legacy WHERE key_id = ?1",
                rusqlite::params![id.1],
                |r| r.get(0),
            )
            .optional()
            .map_err(sqlite(path, "reading older counters"))?;
        let first = current
            .unwrap_or(0)
            .max(legacy.unwrap_or(0))
            .max(i64::from(at_least));
        // u32::MAX itself is never used: the counter after it would wrap.
        let got = (i64::from(u32::MAX) - first).min(i64::from(want));
        let next = first + got;
        if got < i64::from(need) {
            return Err(CounterError::Exhausted {
                title: id.0,
                key_id: id.1.clone(),
            });
        }
        tx.execute(
            "INSERT INTO ours (system_title, key_id, next) VALUES (?1, ?2, ?3) \
             ON CONFLICT (system_title, key_id) DO UPDATE SET next = excluded.next",
            rusqlite::params![title, id.1, next],
        )
        .map_err(sqlite(path, "reserving invocation counters"))?;
        // Leases an older dlms-logger left in the database (this one keeps them in the lease file).
        lease::remove(&tx, &title, &id.1).map_err(sqlite(path, "dropping a lease"))?;
        before_commit(clamp_u32(next))?;
        tx.commit()
            .map_err(sqlite(path, "committing an invocation counter"))?;
        Ok((first as u32, got as u32))
    }

    fn conn<'a>(&self, st: &'a mut State) -> Result<&'a mut Connection, CounterError> {
        if st.conn.is_none() {
            st.conn = Some(open(&self.path)?);
        }
        Ok(st.conn.as_mut().expect("opened above"))
    }
}

impl Drop for CounterStore {
    fn drop(&mut self) {
        if let Err(e) = self.flush() {
            tracing::warn!("{e} (unused counters are skipped, never reused)");
        }
    }
}

fn clamp_u32(v: i64) -> u32 {
    u32::try_from(v.max(0)).unwrap_or(u32::MAX)
}
