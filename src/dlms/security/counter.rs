//! The receive-side invocation counter check against replayed APDUs.

use super::SecurityError;

/// Receive-side invocation counter check: rejects a counter that does not increase, and one
/// below the floor left by earlier sessions (a whole session replayed).
#[derive(Default, Debug, Clone)]
pub struct CounterGuard {
    last: Option<u32>,
    /// The lowest counter ever accepted (kept across `restart`).
    lowest: Option<u32>,
    floor: u32,
}

impl CounterGuard {
    /// A guard that also refuses counters below `floor`.
    pub fn with_floor(floor: u32) -> Self {
        CounterGuard {
            last: None,
            lowest: None,
            floor,
        }
    }

    /// Accepts `ic` and remembers it when it is greater than the last accepted counter.
    pub fn accept(&mut self, ic: u32) -> Result<(), SecurityError> {
        match self.last {
            Some(last) if ic <= last => Err(SecurityError::Replay { ic, last }),
            _ if ic < self.floor => Err(SecurityError::ReplayedSession {
                ic,
                floor: self.floor,
            }),
            _ => {
                self.last = Some(ic);
                self.lowest = Some(self.lowest.map_or(ic, |l| l.min(ic)));
                Ok(())
            }
        }
    }

    /// Raises the floor; fails when a counter already accepted is below it.
    pub fn raise_floor(&mut self, floor: u32) -> Result<(), SecurityError> {
        if let Some(ic) = self.lowest.filter(|l| *l < floor) {
            return Err(SecurityError::ReplayedSession { ic, floor });
        }
        self.floor = self.floor.max(floor);
        Ok(())
    }

    /// The highest counter accepted so far.
    pub fn last(&self) -> Option<u32> {
        self.last
    }

    /// Forgets the last counter, keeping the floor.
    pub fn restart(&mut self) {
        self.last = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_floor_learnt_late_still_refuses_what_came_before() {
        let mut guard = CounterGuard::default();
        guard.accept(5).unwrap();
        guard.restart();
        guard.accept(5).unwrap();
        assert!(matches!(
            guard.raise_floor(6),
            Err(SecurityError::ReplayedSession { ic: 5, floor: 6 })
        ));
        let mut guard = CounterGuard::default();
        guard.accept(9).unwrap();
        guard.raise_floor(9).unwrap();
        assert!(guard.accept(8).is_err());
        guard.accept(10).unwrap();
    }

    #[test]
    fn increasing_counters_pass_and_replays_fail() {
        let mut guard = CounterGuard::default();
        guard.accept(0).unwrap();
        guard.accept(7).unwrap();
        let err = guard.accept(5).unwrap_err();
        assert_eq!(
            err.to_string(),
            "invocation counter 5 is not greater than the last accepted 7 (replayed response)"
        );
        assert_eq!(
            guard.accept(7),
            Err(SecurityError::Replay { ic: 7, last: 7 })
        );
        guard.accept(8).unwrap();
        guard.accept(u32::MAX).unwrap();
        assert!(guard.accept(u32::MAX).is_err());
    }

    #[test]
    fn a_floor_refuses_counters_of_earlier_sessions_even_after_a_restart() {
        let mut guard = CounterGuard::with_floor(100);
        let err = guard.accept(99).unwrap_err();
        assert_eq!(err, SecurityError::ReplayedSession { ic: 99, floor: 100 });
        assert!(err.to_string().contains("replayed session"), "{err}");
        guard.accept(100).unwrap();
        assert_eq!(guard.last(), Some(100));
        guard.restart();
        guard.accept(100).unwrap();
        assert!(guard.accept(50).is_err());
    }
}
