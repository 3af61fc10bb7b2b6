//! How long a room waits for one receiver (PROTOCOL.md, "Flow control"). A live
//! receiver whose queue holds a whole room window is *holding* the room: its
//! senders wait for it while it has allowance left. Waiting spends the allowance in
//! real time; time refills it at a small share. So a receiver that stalls for a
//! moment (a busy phone, a scheduling hiccup) is waited for and never lags, while
//! one that is slower than the rest for good costs the others at most that share of
//! their time, then is left to fall behind on its own.

use std::time::{Duration, Instant};

/// Longest the room waits in one go for a receiver with a full allowance (the
/// default of `Config::hold_allowance`).
pub const ALLOWANCE: Duration = Duration::from_millis(200);
/// Share of the time passing that refills an allowance: a receiver that holds its
/// room back for good slows the others by at most this much.
pub const REFILL_SHARE: f64 = 0.05;
/// Longest stretch charged for one look: the room looks again at least this often
/// while someone holds it, so time nobody spent waiting is never charged.
pub const LOOK_EVERY: Duration = Duration::from_millis(100);

/// One receiver's allowance to hold its room back.
#[derive(Debug, Clone)]
pub struct Hold {
    /// The allowance when full.
    full: Duration,
    left: Duration,
    refilled_at: Instant,
    /// When the room last saw it holding, while it still is.
    holding_seen: Option<Instant>,
}

impl Hold {
    pub fn new(now: Instant, full: Duration) -> Self {
        Self {
            full,
            left: full,
            refilled_at: now,
            holding_seen: None,
        }
    }

    /// The room looked at this receiver at `now` and saw it `holding` (or not);
    /// returns the allowance left: while it is not zero, the room waits for it.
    pub fn look(&mut self, now: Instant, holding: bool) -> Duration {
        let passed = now.saturating_duration_since(self.refilled_at);
        self.left = (self.left + passed.mul_f64(REFILL_SHARE)).min(self.full);
        self.refilled_at = now;
        if holding {
            if let Some(seen) = self.holding_seen {
                let waited = now.saturating_duration_since(seen).min(LOOK_EVERY);
                self.left = self.left.saturating_sub(waited);
            }
            self.holding_seen = Some(now);
        } else {
            self.holding_seen = None;
        }
        self.left
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A full allowance of 1 s, so the steps below are easy to follow.
    const FULL: Duration = Duration::from_secs(1);

    #[test]
    fn a_short_stall_is_waited_for_and_the_allowance_comes_back() {
        let t0 = Instant::now();
        let mut hold = Hold::new(t0, FULL);
        // Held for 300 ms, looked at every 50 ms.
        let mut now = t0;
        for _ in 0..6 {
            now += Duration::from_millis(50);
            assert!(!hold.look(now, true).is_zero(), "still waited for");
        }
        let left = hold.look(now + Duration::from_millis(1), false);
        assert!(left < FULL && left > Duration::from_millis(600), "{left:?}");
        // 20 s later it is whole again.
        assert_eq!(hold.look(now + Duration::from_secs(20), false), FULL);
    }

    #[test]
    fn a_receiver_that_holds_for_good_is_left_after_its_allowance() {
        let t0 = Instant::now();
        let mut hold = Hold::new(t0, FULL);
        let mut now = t0;
        hold.look(now, true);
        let mut waited = Duration::ZERO;
        while !hold.look(now, true).is_zero() {
            now += LOOK_EVERY;
            waited += LOOK_EVERY;
            assert!(waited < Duration::from_secs(3), "never left behind");
        }
        // About the allowance, plus what refilled meanwhile.
        assert!(waited >= FULL, "{waited:?}");
        // Holding on, it is waited for again only for what refills: 5% of the time.
        let later = now + Duration::from_secs(10);
        let again = hold.look(later, true);
        assert!(again <= Duration::from_millis(501), "{again:?}");
    }

    #[test]
    fn time_nobody_waited_is_not_charged() {
        let t0 = Instant::now();
        let mut hold = Hold::new(t0, FULL);
        hold.look(t0, true);
        // The next look comes 10 s later (no sender was waiting meanwhile).
        let left = hold.look(t0 + Duration::from_secs(10), true);
        assert_eq!(left, FULL - LOOK_EVERY);
    }
}
