//! The runner's link budget: how many links (sockets, serial ports) it holds at once, so a
//! fleet of meters never runs the process out of files (EMFILE).
//!
//! Every link the runner opens holds a [`Slot`] for as long as it is open: a permit of a
//! semaphore sized to the budget, so opens in flight wait rather than fail. A link kept open
//! between runs (a `persistent` connection) keeps its slot while it is kept; at most
//! [`LinkBudget::keep_limit`] are kept, the rest of the budget stays for links opened per run.
//! Once that many are kept, a meter on a persistent connection that has no kept link is read
//! over a link opened for the run and closed after it (connect, associate, read, release,
//! close). Who keeps a link is first come, first kept: a kept link is never closed to make
//! room for another, so nothing thrashes; a slot freed (a meter dropped its link) goes to the
//! next meter read.
//!
//! The budget is the open-file limit (raised to its hard limit at start, `cli/`) less
//! [`RESERVE`] files for everything else (the store's connections, listeners, the control
//! socket, log and spill files, sinks, the UI), or what `RunnerOptions::link_budget`
//! (`run --link-budget N`) says. Links meters open to a listening connection are not counted:
//! the meters open them.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Files of the open-file limit left for everything but links.
pub const RESERVE: u64 = 256;

/// The largest budget (a limit of "unlimited" would otherwise size a semaphore beyond reason).
const MOST: u64 = 1 << 20;

/// The budget's numbers, for status and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkBudget {
    /// Links the runner holds at most at once.
    pub budget: usize,
    /// Links kept open between runs at most (the budget less the slots for per-run links).
    pub keep_limit: usize,
    /// Links kept open now.
    pub kept: usize,
    /// Runs read over a link opened for the run because the budget was full (since start).
    pub per_run: u64,
    /// The open-file limit it was sized from (`None`: given by the caller).
    pub file_limit: Option<u64>,
}

/// One open link's place in the budget; dropped when the link is closed.
pub(super) struct Slot {
    /// `None` only if the semaphore were closed, which it never is.
    _permit: Option<OwnedSemaphorePermit>,
    /// Set while the link is kept between runs: the kept count to lower when dropped.
    kept: Option<Arc<AtomicUsize>>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(k) = &self.kept {
            k.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// The runner's budget of links.
pub(super) struct Budget {
    budget: usize,
    keep_limit: usize,
    file_limit: Option<u64>,
    permits: Arc<Semaphore>,
    kept: Arc<AtomicUsize>,
    per_run: AtomicU64,
    warned: AtomicBool,
}

/// Slots kept for links opened per run: an eighth of the budget, at least 1. The wait for a
/// slot counts against a run's timeout: with 256 at most, a logger of 25,000 ciphered meters
/// and 19,744 links read its other 5,512 through 256 slots and 61 % of polls were in period;
/// with an eighth (2,468 slots, 17,276 kept) 87 % were (`fleet_scaleout`, 100,000 meters).
fn per_run_slots(budget: usize) -> usize {
    (budget / 8).max(1)
}

/// The budget the open-file limit `soft` leaves for links.
pub fn from_file_limit(soft: u64) -> usize {
    soft.saturating_sub(RESERVE).clamp(1, MOST) as usize
}

/// The process's soft open-file limit (None where it cannot be read).
pub fn file_limit() -> Option<u64> {
    rlimit::getrlimit(rlimit::Resource::NOFILE)
        .ok()
        .map(|(soft, _)| soft)
}

impl Budget {
    /// A budget of `given` links, or (`None`) the open-file limit's less [`RESERVE`].
    pub(super) fn new(given: Option<usize>) -> Budget {
        let (budget, file_limit) = match given {
            Some(n) => (n.clamp(1, MOST as usize), None),
            None => match file_limit() {
                Some(soft) => (from_file_limit(soft), Some(soft)),
                // Unknown: as if the limit were the usual 1,024.
                None => (from_file_limit(1024), None),
            },
        };
        let keep_limit = budget - per_run_slots(budget).min(budget);
        Budget {
            budget,
            keep_limit,
            file_limit,
            permits: Arc::new(Semaphore::new(budget)),
            kept: Arc::new(AtomicUsize::new(0)),
            per_run: AtomicU64::new(0),
            warned: AtomicBool::new(false),
        }
    }

    /// A slot for a link about to be opened; waits while the budget is in use.
    pub(super) async fn slot(&self) -> Slot {
        Slot {
            _permit: self.permits.clone().acquire_owned().await.ok(),
            kept: None,
        }
    }

    /// Keeps `slot`'s link between runs if fewer than the keep limit are kept (`Ok`), else
    /// gives it back (`Err`: the link is to be closed after its run), warning the first time.
    pub(super) fn keep(&self, mut slot: Slot, meter: &str) -> Result<Slot, Slot> {
        if slot.kept.is_some() {
            return Ok(slot);
        }
        let kept = self
            .kept
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |k| {
                (k < self.keep_limit).then_some(k + 1)
            });
        match kept {
            Ok(_) => {
                slot.kept = Some(self.kept.clone());
                Ok(slot)
            }
            Err(_) => {
                self.per_run.fetch_add(1, Ordering::Relaxed);
                if !self.warned.swap(true, Ordering::Relaxed) {
                    tracing::warn!("{}", self.full_message(meter));
                }
                Err(slot)
            }
        }
    }

    fn full_message(&self, meter: &str) -> String {
        let limit = match self.file_limit {
            Some(l) => format!(
                "the open-file limit of {l} less {RESERVE} for the store, listeners and logs"
            ),
            None => "set by --link-budget".to_string(),
        };
        format!(
            "{} links are kept open, all the link budget allows: {} links at once ({limit}), \
             {} of them for links opened per run. Meter {} and the others beyond it on \
             persistent connections are read over a link opened and closed for each run. To \
             keep every link open, raise the hard open-file limit (ulimit -Hn, or LimitNOFILE= \
             in the systemd unit) or split the queue over more loggers (run --fleet).",
            self.keep_limit,
            self.budget,
            self.budget - self.keep_limit,
            crate::text::escape(meter),
        )
    }

    /// Says at start what the budget is (when it can bind: fewer than the limit allow).
    pub(super) fn announce(&self) {
        let limit = self.file_limit.map_or("--link-budget".to_string(), |l| {
            format!("open-file limit {l}")
        });
        tracing::info!(
            "link budget: up to {} links open at once ({limit}), up to {} kept between runs",
            self.budget,
            self.keep_limit
        );
    }

    /// The numbers now.
    pub(super) fn numbers(&self) -> LinkBudget {
        LinkBudget {
            budget: self.budget,
            keep_limit: self.keep_limit,
            kept: self.kept.load(Ordering::Relaxed),
            per_run: self.per_run.load(Ordering::Relaxed),
            file_limit: self.file_limit,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn kept_links_hold_their_slot_and_the_rest_stays_for_runs() {
        let b = Budget::new(Some(6));
        assert_eq!((b.budget, b.keep_limit), (6, 5));
        let mut kept = Vec::new();
        for i in 0..5 {
            let s = b.slot().await;
            kept.push(b.keep(s, &format!("m{i}")).ok().expect("kept"));
        }
        assert_eq!(b.numbers().kept, 5);
        // The sixth is read per run: its slot comes back.
        let s = b.slot().await;
        let s = b.keep(s, "m5").err().expect("not kept");
        assert_eq!(b.numbers().per_run, 1);
        // While it is open, no seventh open gets through.
        let waiting = tokio::time::timeout(std::time::Duration::from_millis(50), b.slot()).await;
        assert!(waiting.is_err(), "a seventh link was let open");
        drop(s);
        let s = tokio::time::timeout(std::time::Duration::from_millis(50), b.slot())
            .await
            .expect("the slot came back");
        drop(s);
        // A kept link dropped frees its place for the next one read.
        kept.pop();
        assert_eq!(b.numbers().kept, 4);
        let s = b.slot().await;
        let again = b.keep(s, "m6").ok().expect("kept in the freed place");
        assert_eq!(b.numbers().kept, 5);
        drop(again);
        drop(kept);
        assert_eq!(b.numbers().kept, 0, "every kept slot is given back");
    }

    #[test]
    fn the_budget_follows_the_file_limit() {
        assert_eq!(from_file_limit(20_000), 19_744);
        assert_eq!(from_file_limit(100), 1);
        assert_eq!(from_file_limit(u64::MAX), 1 << 20);
        assert_eq!(per_run_slots(19_744), 2_468);
        assert_eq!(per_run_slots(1), 1);
        let b = Budget::new(Some(1));
        assert_eq!(b.keep_limit, 0);
    }
}
