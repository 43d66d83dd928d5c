//! Balancing by count: each logger holds at most its share, `ceil(connections / loggers
//! alive)`; one below its share claims free connections, one above it gives the excess back.
//! Pure: the coordinator passes the counts it read.

/// What one logger does at a renewal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Claim up to this many free connections.
    Claim(usize),
    /// Give back this many connections (gracefully: worker stopped first).
    Release(usize),
    /// Hold what it holds.
    Keep,
}

/// The most connections one logger holds when `alive` loggers share `total`.
pub fn share(total: usize, alive: usize) -> usize {
    total.div_ceil(alive.max(1))
}

/// What a logger holding `mine` of `total` connections does when `alive` loggers are alive.
pub fn plan(total: usize, alive: usize, mine: usize) -> Plan {
    let share = share(total, alive);
    match mine.cmp(&share) {
        std::cmp::Ordering::Less => Plan::Claim(share - mine),
        std::cmp::Ordering::Greater => Plan::Release(mine - share),
        std::cmp::Ordering::Equal => Plan::Keep,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_loggers_share_by_count_and_two_take_over_a_third() {
        assert_eq!(share(3000, 3), 1000);
        assert_eq!(share(3001, 3), 1001);
        assert_eq!(plan(3000, 1, 0), Plan::Claim(3000));
        // A third logger joins two that hold 1500 each: they give back 500 each.
        assert_eq!(plan(3000, 3, 1500), Plan::Release(500));
        assert_eq!(plan(3000, 3, 0), Plan::Claim(1000));
        // One dies: the other two may hold 1500 each.
        assert_eq!(plan(3000, 2, 1000), Plan::Claim(500));
        assert_eq!(plan(3000, 3, 1000), Plan::Keep);
        assert_eq!(plan(0, 3, 0), Plan::Keep);
        // Nobody alive counts as ourselves alone.
        assert_eq!(plan(10, 0, 0), Plan::Claim(10));
    }

    #[test]
    fn shares_always_cover_every_connection() {
        for total in 0..200 {
            for alive in 1..12 {
                assert!(share(total, alive) * alive >= total);
                assert!(share(total, alive) <= total.max(1));
            }
        }
    }
}
