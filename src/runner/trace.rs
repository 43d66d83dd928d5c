//! Recent frames per meter for the Trace view, bounded for the whole fleet.
//!
//! Keeping [`TRACE_FRAMES`] frames for every meter costs about 20 KB a meter: 200 MB at
//! 10,000 meters. Instead, frames of all meters share one ring bounded in bytes
//! ([`TRACE_BUDGET`]), so a small fleet keeps the full history per meter and a large one the
//! last poll or so; the few meters someone is looking at (the Trace view asks for them) get a
//! ring of their own with the full [`TRACE_FRAMES`], whatever the fleet size.

use crate::engine::TraceEntry;
use std::collections::VecDeque;
use std::sync::Arc;

/// Most frames shown per meter (a few polls' worth).
pub const TRACE_FRAMES: usize = 64;

/// Bytes the shared ring may hold (frames plus their bookkeeping), for all meters together.
pub const TRACE_BUDGET: usize = 8 * 1024 * 1024;

/// Meters that keep their own full ring: the ones most recently asked for.
const WATCHED: usize = 8;

/// About what one frame costs in the shared ring: the entry, its allocations and their
/// allocator overhead.
fn cost(e: &TraceEntry) -> usize {
    const ALLOC_OVERHEAD: usize = 16;
    std::mem::size_of::<(Arc<str>, TraceEntry)>()
        + e.bytes.capacity()
        + e.summary.capacity()
        + e.masked.capacity() * std::mem::size_of::<std::ops::Range<usize>>()
        + 3 * ALLOC_OVERHEAD
}

/// Frames of every meter; masking happened before they got here (the engine does it).
#[derive(Debug)]
pub struct TraceStore {
    /// Frames of meters nobody watches, oldest first.
    ring: VecDeque<(Arc<str>, TraceEntry)>,
    /// [`cost`] of everything in `ring`.
    bytes: usize,
    budget: usize,
    /// Watched meters with their own ring, most recently asked for last.
    watched: Vec<(Arc<str>, VecDeque<TraceEntry>)>,
    /// Each meter's system title from its last AARE (the responding-AP-title), kept after
    /// the AARE itself has left the ring: the Trace view deciphers the meter's glo- APDUs,
    /// which name no sender, with it. Eight bytes a meter.
    titles: std::collections::HashMap<Arc<str>, [u8; 8]>,
}

/// The responding-AP-title of an AARE in `e` (a received frame whose summary says AARE).
fn responding_title(e: &TraceEntry) -> Option<[u8; 8]> {
    use crate::dlms::acse::Aare;
    use crate::dlms::decode::{decode_frame, Keys};
    use crate::dlms::xdlms::apdu::Apdu;
    if e.direction != crate::engine::Direction::Rx || !e.summary.starts_with("AARE") {
        return None;
    }
    let tree = decode_frame(&e.bytes, &Keys::default()).ok()?.tree;
    let aare = tree.find("AARE")?;
    let body = aare.children.iter().find(|c| c.name == "body")?;
    let mut bytes = aare.bytes.clone();
    bytes.extend_from_slice(&body.bytes);
    match Apdu::decode(&bytes) {
        Ok(Apdu::Aare(Aare {
            responding_ap_title: Some(title),
            ..
        })) => title.as_slice().try_into().ok(),
        _ => None,
    }
}

impl Default for TraceStore {
    fn default() -> Self {
        TraceStore::with_budget(TRACE_BUDGET)
    }
}

impl TraceStore {
    /// A store whose shared ring holds at most `budget` bytes.
    pub fn with_budget(budget: usize) -> TraceStore {
        TraceStore {
            ring: VecDeque::new(),
            bytes: 0,
            budget,
            watched: Vec::new(),
            titles: std::collections::HashMap::new(),
        }
    }

    /// Records a frame exchanged with `meter`.
    pub fn push(&mut self, meter: &Arc<str>, entry: TraceEntry) {
        if let Some(title) = responding_title(&entry) {
            self.titles.insert(meter.clone(), title);
        }
        if let Some((_, q)) = self.watched.iter_mut().find(|(m, _)| m == meter) {
            if q.len() >= TRACE_FRAMES {
                q.pop_front();
            }
            q.push_back(entry);
            return;
        }
        self.bytes += cost(&entry);
        self.ring.push_back((meter.clone(), entry));
        while self.bytes > self.budget {
            let Some((_, old)) = self.ring.pop_front() else {
                break;
            };
            self.bytes -= cost(&old);
        }
        // A burst may have grown the ring's buffer; give it back once it is mostly empty.
        if self.ring.capacity() > 64 && self.ring.len() < self.ring.capacity() / 4 {
            self.ring.shrink_to(self.ring.len() * 2);
        }
    }

    /// The last frames (at most [`TRACE_FRAMES`]) exchanged with `meter`, oldest first; from
    /// now on the meter keeps its own full ring (until other meters are asked for).
    pub fn get(&mut self, meter: &str) -> Vec<TraceEntry> {
        if let Some(i) = self.watched.iter().position(|(m, _)| &**m == meter) {
            let w = self.watched.remove(i);
            let out = w.1.iter().cloned().collect();
            self.watched.push(w);
            return out;
        }
        // Move the meter's frames out of the shared ring into a ring of its own.
        let mut own = VecDeque::new();
        let mut name = None;
        let mut freed = 0;
        self.ring.retain_mut(|(m, e)| {
            if &**m != meter {
                return true;
            }
            freed += cost(e);
            name.get_or_insert_with(|| m.clone());
            own.push_back(std::mem::replace(
                e,
                TraceEntry {
                    at: std::time::SystemTime::UNIX_EPOCH,
                    direction: crate::engine::Direction::Tx,
                    bytes: Vec::new(),
                    summary: String::new(),
                    masked: Vec::new(),
                },
            ));
            false
        });
        self.bytes -= freed;
        while own.len() > TRACE_FRAMES {
            own.pop_front();
        }
        let out = own.iter().cloned().collect();
        if self.watched.len() >= WATCHED {
            // The least recently asked for goes back to the shared ring.
            let (m, q) = self.watched.remove(0);
            for e in q {
                self.push(&m, e);
            }
        }
        self.watched
            .push((name.unwrap_or_else(|| Arc::from(meter)), own));
        out
    }

    /// `meter`'s system title from its last AARE, if one was seen.
    pub fn system_title(&self, meter: &str) -> Option<[u8; 8]> {
        self.titles.get(meter).copied()
    }

    /// Bytes held by the shared ring (see [`TRACE_BUDGET`]).
    #[cfg(test)]
    fn shared_bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Direction;
    use std::time::{Duration, SystemTime};

    fn frame(i: u64, len: usize) -> TraceEntry {
        TraceEntry {
            at: SystemTime::UNIX_EPOCH + Duration::from_millis(i),
            direction: Direction::Rx,
            bytes: vec![0xAB; len],
            summary: format!("frame {i}"),
            masked: Vec::new(),
        }
    }

    fn ids(v: &[TraceEntry]) -> Vec<u64> {
        v.iter()
            .map(|e| {
                e.at.duration_since(SystemTime::UNIX_EPOCH)
                    .unwrap()
                    .as_millis() as u64
            })
            .collect()
    }

    #[test]
    fn keeps_each_meters_system_title_from_its_aare_after_the_frame_is_gone() {
        use crate::dlms::acse::{Aare, ApplicationContext, AssociationResult, Diagnostic};
        use crate::dlms::push::{frame as wrap, Framing};
        let aare = Aare {
            context: ApplicationContext::LogicalNamesCiphered,
            result: AssociationResult::Accepted,
            diagnostic: Diagnostic::User(0),
            responding_ap_title: Some(b"MMM\x00\x00\x00\x00\x07".to_vec()),
            mechanism: None,
            responding_authentication_value: None,
            user_information: None,
        };
        let bytes = wrap(
            &aare.encode(),
            &Framing::Wrapper {
                source: 1,
                destination: 16,
            },
        )
        .unwrap();
        let mut t = TraceStore::with_budget(1000);
        let m: Arc<str> = Arc::from("m");
        let entry = TraceEntry {
            bytes,
            summary: "AARE accepted".into(),
            ..frame(0, 0)
        };
        // Sent by us, it would not count.
        t.push(
            &m,
            TraceEntry {
                direction: Direction::Tx,
                ..entry.clone()
            },
        );
        assert_eq!(t.system_title("m"), None);
        t.push(&m, entry);
        for i in 1..100 {
            t.push(&m, frame(i, 100));
        }
        assert!(t.get("m").iter().all(|e| !e.summary.starts_with("AARE")));
        assert_eq!(t.system_title("m"), Some(*b"MMM\x00\x00\x00\x00\x07"));
        assert_eq!(t.system_title("other"), None);
    }

    #[test]
    fn a_meter_gets_its_last_frames_oldest_first() {
        let mut t = TraceStore::default();
        let (a, b): (Arc<str>, Arc<str>) = (Arc::from("a"), Arc::from("b"));
        for i in 0..100 {
            t.push(if i % 2 == 0 { &a } else { &b }, frame(i, 10));
        }
        let got = ids(&t.get("a"));
        assert_eq!(got.len(), 50);
        assert_eq!(got.first(), Some(&0));
        assert_eq!(got.last(), Some(&98));
        assert!(t.get("nobody").is_empty());
    }

    #[test]
    fn the_shared_ring_stays_within_its_budget() {
        let mut t = TraceStore::with_budget(10_000);
        let meters: Vec<Arc<str>> = (0..1000).map(|i| Arc::from(format!("m{i}"))).collect();
        for i in 0..20_000u64 {
            t.push(&meters[(i % 1000) as usize], frame(i, 100));
            assert!(t.shared_bytes() <= 10_000);
        }
        // The newest frames survive.
        assert_eq!(ids(&t.get("m999")), vec![19_999]);
        assert!(t.ring.capacity() < 1000, "{}", t.ring.capacity());
    }

    #[test]
    fn a_watched_meter_keeps_a_full_ring_whatever_the_fleet() {
        let mut t = TraceStore::with_budget(2_000);
        let (a, b): (Arc<str>, Arc<str>) = (Arc::from("a"), Arc::from("b"));
        t.push(&a, frame(0, 10));
        assert_eq!(ids(&t.get("a")), vec![0]);
        for i in 1..200 {
            t.push(&a, frame(i, 100));
            t.push(&b, frame(1000 + i, 100));
        }
        let got = ids(&t.get("a"));
        assert_eq!(got.len(), TRACE_FRAMES);
        assert_eq!(got.last(), Some(&199));
        // b shares the small ring with nobody else now.
        assert!(t.get("b").len() < 20);
    }

    #[test]
    fn meters_no_longer_watched_go_back_to_the_shared_ring() {
        let mut t = TraceStore::default();
        let meters: Vec<Arc<str>> = (0..=WATCHED).map(|i| Arc::from(format!("m{i}"))).collect();
        for (i, m) in meters.iter().enumerate() {
            t.push(m, frame(i as u64, 10));
        }
        for m in &meters {
            assert_eq!(t.get(m).len(), 1);
        }
        assert_eq!(t.watched.len(), WATCHED);
        // m0 was pushed out of the watched set; its frame is still there.
        assert_eq!(ids(&t.get("m0")), vec![0]);
        t.push(&meters[0], frame(100, 10));
        assert_eq!(ids(&t.get("m0")), vec![0, 100]);
    }
}
