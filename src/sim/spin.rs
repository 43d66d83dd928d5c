//! Whether a simulated meter polls its socket for the next request before parking.
//!
//! A client reading in a tight loop sends its next request microseconds after our answer. A
//! meter task parked in the runtime's `epoll_wait` is woken tens of microseconds later, which
//! halves such a client's rate; polling the socket for a few microseconds first catches the
//! request as it arrives. A client that comes back seconds later (a logger's poll, a fleet)
//! gains nothing from polling, and every poll would take a runtime thread from the other
//! meters of the process: so a meter polls only while the client's last request came within
//! the polling window, and parks at once otherwise.

use std::time::{Duration, Instant};

/// How long a `simulate` meter whose client keeps pace polls for the next request before parking.
pub const POLL: Duration = Duration::from_micros(50);

/// The client's pace, learnt from the wait for each request.
#[derive(Debug, Clone)]
pub(super) struct NextRequest {
    limit: Duration,
    /// When the wait in progress began (after the last answer was sent).
    since: Option<Instant>,
    /// The last request came within `limit` of the answer before it.
    keeps_pace: bool,
}

impl NextRequest {
    /// A meter that polls up to `limit` while its client keeps pace; zero never polls.
    pub(super) fn new(limit: Duration) -> Self {
        NextRequest {
            limit,
            since: None,
            keeps_pace: false,
        }
    }

    /// A wait for the next request begins at `now`; returns how long to poll before parking.
    pub(super) fn wait(&mut self, now: Instant) -> Duration {
        self.since = Some(now);
        if self.keeps_pace {
            self.limit
        } else {
            Duration::ZERO
        }
    }

    /// A request arrived at `now`, ending the wait.
    pub(super) fn heard(&mut self, now: Instant) {
        if let Some(since) = self.since.take() {
            self.keeps_pace = now.saturating_duration_since(since) <= self.limit;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polls_only_while_the_client_comes_back_within_the_window() {
        let mut n = NextRequest::new(POLL);
        let t0 = Instant::now();
        // Nothing known yet: park.
        assert_eq!(n.wait(t0), Duration::ZERO);
        n.heard(t0 + Duration::from_micros(20));
        // The client came back within 50 µs: poll for the next one.
        assert_eq!(n.wait(t0 + Duration::from_micros(30)), POLL);
        n.heard(t0 + Duration::from_micros(45));
        assert_eq!(n.wait(t0 + Duration::from_micros(60)), POLL);
        // A client that paused (a logger between polls) makes the meter park again.
        n.heard(t0 + Duration::from_secs(10));
        assert_eq!(n.wait(t0 + Duration::from_secs(10)), Duration::ZERO);
    }

    #[test]
    fn a_zero_limit_never_polls() {
        let mut n = NextRequest::new(Duration::ZERO);
        let t0 = Instant::now();
        for i in 0..3 {
            assert_eq!(n.wait(t0), Duration::ZERO);
            n.heard(t0 + Duration::from_nanos(i));
        }
    }
}
