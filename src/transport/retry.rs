//! Pacing for links that keep failing (a serial adapter unplugged, a pty closed): a backoff
//! between reopen attempts, and a log that says a repeated failure once, then a summary at
//! most once a period, so a dead line never fills the disk with the same line.

use std::time::{Duration, Instant};

/// Exponential backoff: `first`, doubled after each failure up to `max`; reset on success.
#[derive(Debug, Clone)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    /// Starts at `first`, never waits longer than `max`.
    pub fn new(first: Duration, max: Duration) -> Self {
        Backoff {
            first,
            max,
            next: first,
        }
    }

    /// The pause before the next attempt (doubling the one after).
    pub fn next_delay(&mut self) -> Duration {
        let d = self.next;
        self.next = self.next.saturating_mul(2).min(self.max);
        d
    }

    /// After a success: the next failure waits `first` again.
    pub fn reset(&mut self) {
        self.next = self.first;
    }
}

/// Says a message the first time, then keeps quiet about the same message for `period`,
/// counting; after the period the next repeat is said with the count. A different message is
/// said at once.
#[derive(Debug, Clone)]
pub struct LogLimiter {
    period: Duration,
    last: Option<(String, Instant, u64)>,
}

impl LogLimiter {
    /// Repeats are said at most once per `period`.
    pub fn new(period: Duration) -> Self {
        LogLimiter { period, last: None }
    }

    /// The line to log for `message` now, or `None` to stay quiet.
    pub fn note(&mut self, message: &str) -> Option<String> {
        self.note_at(message, Instant::now())
    }

    fn note_at(&mut self, message: &str, now: Instant) -> Option<String> {
        match &mut self.last {
            Some((last, said, quiet)) if last == message => {
                if now.duration_since(*said) < self.period {
                    *quiet += 1;
                    return None;
                }
                let line = match *quiet {
                    0 => message.to_string(),
                    n => format!(
                        "{message} (again; {n} more time(s) in the last {})",
                        crate::text::duration(now.duration_since(*said))
                    ),
                };
                *said = now;
                *quiet = 0;
                Some(line)
            }
            _ => {
                self.last = Some((message.to_string(), now, 0));
                Some(message.to_string())
            }
        }
    }

    /// Forgets the last message (after a success), so the next failure is said at once.
    pub fn clear(&mut self) {
        self.last = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_to_its_cap_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(250), Duration::from_secs(1));
        let waits: Vec<u128> = (0..4).map(|_| b.next_delay().as_millis()).collect();
        assert_eq!(waits, [250, 500, 1000, 1000]);
        b.reset();
        assert_eq!(b.next_delay(), Duration::from_millis(250));
    }

    #[test]
    fn a_repeated_message_is_said_once_per_period_with_a_count() {
        let mut l = LogLimiter::new(Duration::from_secs(60));
        let t = Instant::now();
        assert_eq!(l.note_at("gone", t).as_deref(), Some("gone"));
        for s in 1..30 {
            assert_eq!(l.note_at("gone", t + Duration::from_secs(s)), None);
        }
        let later = l.note_at("gone", t + Duration::from_secs(61)).unwrap();
        assert_eq!(later, "gone (again; 29 more time(s) in the last 1 min 1 s)");
        assert_eq!(
            l.note_at("other", t + Duration::from_secs(62)).as_deref(),
            Some("other")
        );
    }
}
