//! The receive-side invocation counter check against replayed APDUs.

use super::SecurityError;

/// Receive-side invocation counter check: rejects a counter that does not increase.
#[derive(Default, Debug, Clone)]
pub struct CounterGuard {
    last: Option<u32>,
}

impl CounterGuard {
    /// Accepts `ic` and remembers it when it is greater than the last accepted counter.
    pub fn accept(&mut self, ic: u32) -> Result<(), SecurityError> {
        match self.last {
            Some(last) if ic <= last => Err(SecurityError::Replay { ic, last }),
            _ => {
                self.last = Some(ic);
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
