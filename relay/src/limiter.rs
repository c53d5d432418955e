//! Rate limits on join attempts, as a pure state machine (time is passed in).
//!
//! Each limit is a GCRA bucket: `burst` attempts at once, then one per `interval`. A viewer that
//! guesses codes meets the per-address limit after a handful of tries; a botnet meets the global
//! one. Both only slow guessing further: the secret half of the code, checked end to end, is
//! what actually stops it.

use std::{
    collections::HashMap,
    net::IpAddr,
    time::{Duration, Instant},
};

/// Most addresses remembered at once; beyond it, recovered buckets are forgotten first and new
/// addresses share the global limit only.
const MAX_TRACKED_ADDRESSES: usize = 65_536;

/// How many join attempts are allowed, per source address and in total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JoinLimits {
    /// Attempts one address may make at once.
    pub per_address_burst: u32,
    /// Then one attempt per this interval.
    pub per_address_interval: Duration,
    /// Attempts all addresses together may make at once.
    pub global_burst: u32,
    /// Then one attempt per this interval.
    pub global_interval: Duration,
}

impl Default for JoinLimits {
    /// 20 attempts per address, then one every 3 s; 500 in total, then 200 per second.
    fn default() -> Self {
        Self {
            per_address_burst: 20,
            per_address_interval: Duration::from_secs(3),
            global_burst: 500,
            global_interval: Duration::from_millis(5),
        }
    }
}

/// Admits or refuses join attempts.
pub struct JoinLimiter {
    limits: JoinLimits,
    global: Bucket,
    per_address: HashMap<IpAddr, Bucket>,
}

impl JoinLimiter {
    /// A limiter enforcing `limits`.
    pub fn new(limits: JoinLimits) -> Self {
        Self {
            limits,
            global: Bucket::default(),
            per_address: HashMap::new(),
        }
    }

    /// Counts an attempt from `address` at `now`: `Ok` if admitted, otherwise how long until an
    /// attempt would be.
    pub fn check(&mut self, address: IpAddr, now: Instant) -> Result<(), Duration> {
        let limits = self.limits;
        // The address first: attempts it is refused do not eat into everyone's budget.
        if self.per_address.len() >= MAX_TRACKED_ADDRESSES
            && !self.per_address.contains_key(&address)
        {
            self.per_address.retain(|_, bucket| bucket.busy_at(now));
        }
        if self.per_address.len() < MAX_TRACKED_ADDRESSES || self.per_address.contains_key(&address)
        {
            self.per_address.entry(address).or_default().check(
                now,
                limits.per_address_burst,
                limits.per_address_interval,
            )?;
        }
        self.global
            .check(now, limits.global_burst, limits.global_interval)
    }
}

/// A generic cell rate algorithm bucket: `tat` is the theoretical arrival time of the next
/// attempt if attempts came exactly one interval apart.
#[derive(Default)]
struct Bucket {
    tat: Option<Instant>,
}

impl Bucket {
    fn check(&mut self, now: Instant, burst: u32, interval: Duration) -> Result<(), Duration> {
        let tat = self.tat.unwrap_or(now).max(now);
        let tolerance = interval.saturating_mul(burst.saturating_sub(1));
        let earliest = tat.checked_sub(tolerance).unwrap_or(now);
        if earliest > now {
            return Err(earliest - now);
        }
        self.tat = Some(tat + interval);
        Ok(())
    }

    /// Whether the bucket still remembers recent attempts.
    fn busy_at(&self, now: Instant) -> bool {
        self.tat.is_some_and(|tat| tat > now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: JoinLimits = JoinLimits {
        per_address_burst: 3,
        per_address_interval: Duration::from_secs(2),
        global_burst: 5,
        global_interval: Duration::from_secs(1),
    };

    fn addr(last: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, last])
    }

    #[test]
    fn an_address_gets_its_burst_then_one_attempt_per_interval() {
        let mut limiter = JoinLimiter::new(LIMITS);
        let now = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.check(addr(1), now), Ok(()));
        }
        assert_eq!(limiter.check(addr(1), now), Err(Duration::from_secs(2)));
        assert_eq!(
            limiter.check(addr(1), now + Duration::from_secs(1)),
            Err(Duration::from_secs(1))
        );
        assert_eq!(limiter.check(addr(1), now + Duration::from_secs(2)), Ok(()));
        assert!(limiter
            .check(addr(1), now + Duration::from_secs(2))
            .is_err());
    }

    #[test]
    fn other_addresses_are_not_affected_until_the_global_limit() {
        let mut limiter = JoinLimiter::new(LIMITS);
        let now = Instant::now();
        for _ in 0..3 {
            limiter.check(addr(1), now).unwrap();
        }
        assert!(limiter.check(addr(1), now).is_err());
        assert_eq!(limiter.check(addr(2), now), Ok(()));
        // The refused attempt did not count globally; this is the fifth admitted one.
        assert_eq!(limiter.check(addr(3), now), Ok(()));
        assert_eq!(limiter.check(addr(4), now), Err(Duration::from_secs(1)));
    }

    #[test]
    fn a_long_pause_restores_the_full_burst() {
        let mut limiter = JoinLimiter::new(LIMITS);
        let now = Instant::now();
        for _ in 0..3 {
            limiter.check(addr(1), now).unwrap();
        }
        let later = now + Duration::from_secs(60);
        for _ in 0..3 {
            assert_eq!(limiter.check(addr(1), later), Ok(()));
        }
    }

    #[test]
    fn the_address_table_stays_bounded() {
        let limits = JoinLimits {
            global_burst: u32::MAX,
            global_interval: Duration::ZERO,
            ..LIMITS
        };
        let mut limiter = JoinLimiter::new(limits);
        let now = Instant::now();
        for i in 0..(MAX_TRACKED_ADDRESSES as u32 + 10) {
            let _ = limiter.check(IpAddr::from(i.to_be_bytes()), now);
        }
        assert!(limiter.per_address.len() <= MAX_TRACKED_ADDRESSES);
    }
}
