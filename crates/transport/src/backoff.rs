//! Jittered exponential backoff for dialling the relay again, as pure arithmetic: the caller
//! supplies the randomness and does the sleeping. The agent waits for a relay that went away
//! (from half a second up to half a minute); the viewer taking a lost session back retries
//! within the relay's grace period (a tenth of a second up to half a second).

use std::time::Duration;

/// Delays that double from `first` up to `max`, each scaled by a random factor in [0.5, 1)
/// so that many clients losing the same relay do not come back in lockstep.
#[derive(Debug, Clone)]
pub struct Backoff {
    first: Duration,
    max: Duration,
    failures: u32,
}

impl Backoff {
    /// Backoff starting at `first`, never above `max`.
    pub fn new(first: Duration, max: Duration) -> Self {
        Self {
            first,
            max,
            failures: 0,
        }
    }

    /// The delay before the next attempt; `jitter` is a random number in [0, 1).
    pub fn next_delay(&mut self, jitter: f64) -> Duration {
        let doubled = self
            .first
            .checked_mul(1u32 << self.failures.min(16))
            .unwrap_or(self.max)
            .min(self.max);
        self.failures = self.failures.saturating_add(1);
        doubled.mul_f64(0.5 + jitter.clamp(0.0, 1.0) / 2.0)
    }

    /// A connection worked: start again from `first`.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_and_reset() {
        let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(4));
        let delays: Vec<u128> = (0..6)
            .map(|_| backoff.next_delay(1.0).as_millis())
            .collect();
        assert_eq!(delays, vec![500, 1000, 2000, 4000, 4000, 4000]);
        backoff.reset();
        assert_eq!(backoff.next_delay(1.0), Duration::from_millis(500));
    }

    #[test]
    fn jitter_keeps_delays_between_half_and_all_of_the_step() {
        let mut backoff = Backoff::new(Duration::from_secs(2), Duration::from_secs(60));
        assert_eq!(backoff.next_delay(0.0), Duration::from_secs(1));
        assert_eq!(backoff.next_delay(0.5), Duration::from_secs(3));
    }
}
