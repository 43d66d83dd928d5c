//! Whether to poll for a meter's answer before parking the thread, learnt from the answers.
//!
//! A meter on loopback or a LAN answers within microseconds. A thread parked in `epoll_wait`
//! is woken tens of microseconds later when its CPU went idle, so polling a little before
//! parking can nearly halve a round trip. On a busy machine the opposite holds: the CPUs never
//! idle, a wake-up is cheap, and a polling thread takes the CPU the meter's process (or another
//! session) needs. No fixed setting is right on both, so [`SpinPolicy`] measures: it keeps the
//! mean round trip seen with polling and without, uses the faster, and tries the other now and
//! then, so it follows the machine as its load changes.

use std::time::Duration;

/// Requests between two tries of the mode not in use.
const EXPLORE_EVERY: u32 = 64;
/// Weight of a new round trip in a mode's running mean (1/8).
const NEW_WEIGHT: f64 = 0.125;

/// Chooses per request whether to poll for the answer, from the round trips of each choice.
#[derive(Debug, Clone)]
pub struct SpinPolicy {
    /// Longest poll before parking; zero: never poll.
    limit: Duration,
    /// Running mean round trip in µs when polling, and when parking (`None`: not tried yet).
    mean: [Option<f64>; 2],
    /// Requests since the last try of the other mode.
    since_explore: u32,
    /// The mode of the request in flight.
    current: Mode,
}

/// Poll before parking, or park at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Spin = 0,
    Park = 1,
}

impl SpinPolicy {
    /// A policy that polls up to `limit` when that proves faster; zero never polls.
    pub fn new(limit: Duration) -> Self {
        SpinPolicy {
            limit,
            mean: [None, None],
            since_explore: 0,
            current: Mode::Park,
        }
    }

    /// How long to poll for the next answer before parking (zero: park at once).
    pub fn begin(&mut self) -> Duration {
        if self.limit.is_zero() {
            return Duration::ZERO;
        }
        let better = match self.mean {
            [None, _] => Mode::Spin,
            [_, None] => Mode::Park,
            [Some(spin), Some(park)] if spin <= park => Mode::Spin,
            _ => Mode::Park,
        };
        self.since_explore += 1;
        self.current = if self.since_explore >= EXPLORE_EVERY {
            self.since_explore = 0;
            match better {
                Mode::Spin => Mode::Park,
                Mode::Park => Mode::Spin,
            }
        } else {
            better
        };
        match self.current {
            Mode::Spin => self.limit,
            Mode::Park => Duration::ZERO,
        }
    }

    /// Records the round trip of the request [`SpinPolicy::begin`] chose for.
    pub fn end(&mut self, round_trip: Duration) {
        if self.limit.is_zero() {
            return;
        }
        let us = round_trip.as_secs_f64() * 1e6;
        let slot = &mut self.mean[self.current as usize];
        *slot = Some(match *slot {
            None => us,
            Some(m) => m + NEW_WEIGHT * (us - m),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: Duration = Duration::from_micros(50);

    /// Runs `n` requests whose round trip is `spin` µs when polled and `park` µs when not;
    /// returns how many of them polled.
    fn run(p: &mut SpinPolicy, n: u32, spin: u64, park: u64) -> u32 {
        let mut polled = 0;
        for _ in 0..n {
            let rtt = if p.begin().is_zero() {
                park
            } else {
                polled += 1;
                spin
            };
            p.end(Duration::from_micros(rtt));
        }
        polled
    }

    #[test]
    fn zero_never_polls() {
        let mut p = SpinPolicy::new(Duration::ZERO);
        assert_eq!(run(&mut p, 1000, 5, 50), 0);
    }

    #[test]
    fn polls_when_polling_answers_sooner() {
        let mut p = SpinPolicy::new(LIMIT);
        let polled = run(&mut p, 1000, 12, 30);
        // All but the tries of parking (one in 64, and the first).
        assert!(polled >= 1000 - 1000 / EXPLORE_EVERY - 1, "polled {polled}");
    }

    #[test]
    fn parks_when_polling_is_slower() {
        let mut p = SpinPolicy::new(LIMIT);
        let polled = run(&mut p, 1000, 40, 20);
        assert!(polled <= 1000 / EXPLORE_EVERY + 1, "polled {polled}");
    }

    #[test]
    fn follows_a_change_of_load() {
        let mut p = SpinPolicy::new(LIMIT);
        run(&mut p, 1000, 12, 30);
        // The machine gets busy: polling now costs more than parking.
        run(&mut p, 1000, 40, 20);
        let polled = run(&mut p, 1000, 40, 20);
        assert!(polled <= 1000 / EXPLORE_EVERY + 1, "polled {polled}");
        // And idle again.
        run(&mut p, 1000, 12, 30);
        let polled = run(&mut p, 1000, 12, 30);
        assert!(polled >= 1000 - 1000 / EXPLORE_EVERY - 1, "polled {polled}");
    }
}
