//! The lease file beside the counter store (`<store>.leases`): what a short-lived command
//! needs from the store, kept where it can be had without opening SQLite.
//!
//! Opening the SQLite file (its WAL and shared memory, the schema check) was most of what a
//! ciphered one-shot `read` cost over a plain one, although such a command only claims the
//! lease the previous command left and checks one meter floor. So the leases live here, with
//! the end of the newest block reserved per (title, key) — a lease is live only while that is
//! its end: nobody reserved above it — and the meters' counter floors, which every writer puts
//! here as well as (when it has the database open anyway) into SQLite.
//!
//! Every change is a read-modify-write under an exclusive lock on `<store>.leases.lock`, and
//! every reader holds that lock too. The new contents are written over the old in place, in
//! one write, end with an `end` line and are padded with spaces to the old length when shorter
//! (the file never shrinks, so nothing of an older text is ever left after the new one). Not a
//! temporary file renamed over, nor a truncation to zero first: ext4 writes a file replaced
//! either way to disk at once (its `auto_da_alloc`), which cost a ciphered one-shot `read` two
//! disk writes, a quarter of a millisecond each. A file without its `end` line (a write torn
//! by a crash of the machine) is read as empty. Nothing here is fsynced: a lease is only ever a part of a block reserved
//! durably in SQLite, and it is dropped when the boot id differs, so a file lost or rolled
//! back by a crash of the machine costs a new reservation (one fsync), never a repeated
//! counter. A line that does not parse is ignored, with the same effect.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// (system title as hex, key fingerprint).
pub(super) type Id = (String, String);

/// The first line of the file.
const HEADER: &str =
    "# dlms-logger invocation counter leases and meter floors, up to \"end\"; safe to delete";

/// The first line of a file written whole by a version before the `end` line (renamed over).
const HEADER_WHOLE: &str =
    "# dlms-logger invocation counter leases and meter floors; safe to delete";

/// The last line of the contents; what follows it is left over from a longer old file.
const END: &str = "end";

/// What the file holds.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct Contents {
    /// The boot the leases and tops belong to.
    pub boot: Option<String>,
    /// Unused counters `[next, end)` left by a process that stopped cleanly.
    pub leases: BTreeMap<Id, (u32, u32)>,
    /// The end of the newest block reserved, per (our title, key).
    pub tops: BTreeMap<Id, u32>,
    /// The meters' counter floors, per (meter title, key).
    pub floors: BTreeMap<Id, u32>,
}

impl Contents {
    /// Makes the contents this boot's: leases and tops of another boot are dropped (floors
    /// are facts about meters and stay).
    pub fn for_boot(&mut self, boot: &str) {
        if self.boot.as_deref() != Some(boot) {
            self.leases.clear();
            self.tops.clear();
            self.boot = Some(boot.to_string());
        }
    }

    /// Raises the floor of `id` to `floor` (never lowers it).
    pub fn raise_floor(&mut self, id: Id, floor: u32) {
        let f = self.floors.entry(id).or_insert(floor);
        *f = (*f).max(floor);
    }

    fn parse(text: &str) -> Contents {
        let mut c = Contents::default();
        let whole = text.lines().next() == Some(HEADER_WHOLE);
        let mut ended = false;
        for line in text.lines() {
            if line == END {
                ended = true;
                break;
            }
            let f: Vec<&str> = line.split_ascii_whitespace().collect();
            let num = |i: usize| f.get(i).and_then(|v| v.parse::<u32>().ok());
            let id = || (f[1].to_string(), f[2].to_string());
            match (f.first().copied(), f.len()) {
                (Some("boot"), 2) => c.boot = Some(f[1].to_string()),
                (Some("lease"), 5) => {
                    if let (Some(next), Some(end)) = (num(3), num(4)) {
                        if next < end {
                            c.leases.insert(id(), (next, end));
                        }
                    }
                }
                (Some("top"), 4) => {
                    if let Some(end) = num(3) {
                        c.tops.insert(id(), end);
                    }
                }
                (Some("floor"), 4) => {
                    if let Some(floor) = num(3) {
                        c.raise_floor(id(), floor);
                    }
                }
                _ => {}
            }
        }
        if ended || whole {
            c
        } else {
            // Torn by a crash while being written: as if missing.
            Contents::default()
        }
    }

    fn text(&self) -> String {
        let mut s = format!("{HEADER}\n");
        if let Some(b) = &self.boot {
            s.push_str(&format!("boot {b}\n"));
        }
        for ((t, k), (next, end)) in &self.leases {
            s.push_str(&format!("lease {t} {k} {next} {end}\n"));
        }
        for ((t, k), end) in &self.tops {
            s.push_str(&format!("top {t} {k} {end}\n"));
        }
        for ((t, k), floor) in &self.floors {
            s.push_str(&format!("floor {t} {k} {floor}\n"));
        }
        s.push_str(END);
        s.push('\n');
        s
    }
}

/// The lease file of one counter store.
#[derive(Debug, Clone)]
pub(super) struct LeaseFile {
    path: PathBuf,
}

impl LeaseFile {
    /// The lease file beside the store at `store`.
    pub fn beside(store: &Path) -> Self {
        let mut name = store.as_os_str().to_owned();
        name.push(".leases");
        LeaseFile {
            path: PathBuf::from(name),
        }
    }

    /// The file's path (for messages).
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn sibling(&self, suffix: &str) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    }

    /// Calls `f` with the contents under the lock and writes back what it changed; returns
    /// what `f` returns and the contents as written.
    pub fn update<T>(&self, f: impl FnOnce(&mut Contents) -> T) -> std::io::Result<(T, Contents)> {
        let lock_path = self.sibling(".lock");
        let lock = match private(&lock_path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // The store's folder does not exist yet (its first use).
                if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir)?;
                }
                private(&lock_path)?
            }
            r => r?,
        };
        lock.lock()?;
        let (old, old_len) = match std::fs::read(&self.path) {
            // Not text: as if it were missing (see the module's comment).
            Ok(bytes) => match std::str::from_utf8(&bytes) {
                Ok(text) => (Contents::parse(text), bytes.len()),
                Err(_) => (Contents::default(), bytes.len()),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Contents::default(), 0),
            Err(e) => return Err(e),
        };
        let mut new = old.clone();
        let out = f(&mut new);
        if new != old {
            let text = padded(new.text(), old_len);
            // One write over the old contents, never shorter than they were: there is no
            // moment, even for a process killed half-way, when the end of an older and longer
            // text follows the new one (a version before the `end` line would read it).
            private(&self.path)?.write_all(text.as_bytes())?;
        }
        // The lock goes with `lock`, after the write.
        Ok((out, new))
    }
}

/// `text` made as long as `len` by a last line of spaces after a `#` (which every reader
/// ignores), when it is shorter.
fn padded(mut text: String, len: usize) -> String {
    match len.saturating_sub(text.len()) {
        0 => {}
        1 => text.push('\n'),
        n => {
            text.push('#');
            text.extend(std::iter::repeat_n(' ', n - 2));
            text.push('\n');
        }
    }
    text
}

/// Opens `path` for writing at its start, created readable by its owner only.
fn private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(t: &str) -> Id {
        (t.to_string(), "00112233aabbccdd".to_string())
    }

    #[test]
    fn contents_read_back_as_written() {
        let mut c = Contents::default();
        c.for_boot("b1");
        c.leases.insert(id("444C470000000001"), (3, 256));
        c.tops.insert(id("444C470000000001"), 256);
        c.raise_floor(id("4D4D4D0000000001"), 42);
        c.raise_floor(id("4D4D4D0000000001"), 40);
        assert_eq!(Contents::parse(&c.text()), c);
        assert_eq!(c.floors[&id("4D4D4D0000000001")], 42);
    }

    #[test]
    fn broken_lines_are_ignored_and_another_boot_drops_leases() {
        let text = "boot b1\nlease A K 5 3\nlease A K x 9\ntop A K\nfloor M K 7\nlease B K 1 9\ngarbage\nend\n";
        let mut c = Contents::parse(text);
        assert_eq!(c.leases.len(), 1, "{c:?}");
        assert!(c.tops.is_empty());
        assert_eq!(c.floors.len(), 1);
        c.for_boot("b2");
        assert!(c.leases.is_empty());
        assert_eq!(c.floors.len(), 1, "floors outlive a boot");
    }

    #[test]
    fn a_file_torn_before_its_end_is_read_as_empty_and_a_left_over_tail_is_ignored() {
        let mut c = Contents::default();
        c.for_boot("b1");
        c.leases.insert(id("444C470000000001"), (3, 256));
        c.tops.insert(id("444C470000000001"), 256);
        c.raise_floor(id("4D4D4D0000000001"), 123456);
        let text = c.text();
        // Cut anywhere before the end line, the contents are not trusted (a floor cut from
        // 123456 to 12 would still parse).
        for cut in 0..text.len() - "end\n".len() {
            assert_eq!(
                Contents::parse(&text[..cut]),
                Contents::default(),
                "cut at {cut}"
            );
        }
        // What a longer old file leaves after the end line, had the cut to length not
        // happened, is not read.
        let tail = format!("{text}lease 444C470000000002 00112233aabbccdd 1 9\nfloor M K 1\n");
        assert_eq!(Contents::parse(&tail), c);
        // A file of an earlier version (renamed over whole, no end line) still counts.
        let whole = format!("{HEADER_WHOLE}\nboot b1\nfloor 4D4D4D0000000001 00112233aabbccdd 7\n");
        assert_eq!(Contents::parse(&whole).floors[&id("4D4D4D0000000001")], 7);
    }

    #[test]
    fn a_shorter_update_is_padded_to_the_old_length_and_reads_back_whole() {
        let dir = tempfile::tempdir().unwrap();
        let f = LeaseFile::beside(&dir.path().join("c.db"));
        let titles: Vec<String> = (0..20).map(|i| format!("4D4D4D00000000{i:02}")).collect();
        f.update(|c| {
            for t in &titles {
                c.raise_floor(id(t), 7);
            }
        })
        .unwrap();
        let long = std::fs::metadata(f.path()).unwrap().len();
        let (_, c) = f
            .update(|c| c.floors.retain(|(t, _), _| t == &titles[0]))
            .unwrap();
        let text = std::fs::read_to_string(f.path()).unwrap();
        assert_eq!(text.len() as u64, long, "never shorter");
        let (body, pad) = text.split_at(c.text().len());
        assert_eq!(body, c.text());
        assert!(pad.starts_with('#') && pad.ends_with('\n'), "{pad:?}");
        assert!(pad[1..pad.len() - 1].bytes().all(|b| b == b' '));
        // Every reader, also one of an earlier version (whole lines, no `end`), sees the new
        // contents only.
        let (seen, _) = f.update(|d| d.clone()).unwrap();
        assert_eq!(seen, c);
        let mut whole = format!("{HEADER_WHOLE}\n");
        whole.push_str(text.split_once('\n').unwrap().1);
        assert_eq!(Contents::parse(&whole), c);
        assert_eq!(padded("ab\n".into(), 4), "ab\n\n");
        assert_eq!(padded("ab\n".into(), 2), "ab\n");
    }

    #[test]
    fn updates_are_kept_and_the_file_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let f = LeaseFile::beside(&dir.path().join("c.db"));
        assert!(f.path().ends_with("c.db.leases"));
        let (_, c) = f
            .update(|c| c.raise_floor(id("4D4D4D0000000001"), 9))
            .unwrap();
        let (seen, _) = f.update(|d| d.clone()).unwrap();
        assert_eq!(seen, c);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(f.path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Not text at all: as if missing.
        std::fs::write(f.path(), [0xFF, 0xFE, 0x00]).unwrap();
        let (seen, _) = f.update(|d| d.clone()).unwrap();
        assert_eq!(seen, Contents::default());
    }
}
