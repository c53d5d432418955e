//! Rate limits on join attempts, as a pure state machine (time is passed in).
//!
//! Each limit is a GCRA bucket: `burst` attempts at once, then one per `interval`. A viewer that
//! guesses codes meets its network's limit after a handful of tries (a network is an IPv4
//! address or an IPv6 /64, see [`Network`]); a botnet meets the global one. Both only slow
//! guessing further: the secret half of the code, checked end to end, is what actually stops
//! it.
//!
//! The global limit must not become a way to lock technicians out: a few hundred networks each
//! at its own limit would hold it for good. So part of the global burst (`global_reserve`) is
//! kept for each network's first attempts ([`FIRST_ATTEMPTS`] at once, then one per
//! [`FIRST_ATTEMPT_INTERVAL`]): other attempts are refused once the global bucket is down to
//! the reserve, and first attempts are served from it, ahead of the rest. A technician's join,
//! the first from its network in minutes, is then refused only if thousands of networks spend
//! their first attempts together (at the default limits, over 12 000 networks sustaining one a
//! minute each), not by a thousand hammering the relay.

use std::{
    collections::HashMap,
    net::IpAddr,
    time::{Duration, Instant},
};

use crate::network::Network;

/// Most networks remembered at once; beyond it, recovered buckets are forgotten first and new
/// networks share the global limit only (without the reserve).
const MAX_TRACKED_NETWORKS: usize = 65_536;
/// A network's attempts served ahead of others from the global reserve, at once.
pub const FIRST_ATTEMPTS: u32 = 3;
/// Then one a minute: a person joining every few minutes always has one.
pub const FIRST_ATTEMPT_INTERVAL: Duration = Duration::from_secs(60);

/// How many join attempts are allowed, per source network and in total.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JoinLimits {
    /// Attempts one network (an IPv4 address or an IPv6 /64) may make at once.
    pub per_address_burst: u32,
    /// Then one attempt per this interval.
    pub per_address_interval: Duration,
    /// Attempts all networks together may make at once.
    pub global_burst: u32,
    /// Then one attempt per this interval.
    pub global_interval: Duration,
    /// Of `global_burst`, the attempts kept for networks' first attempts (0: none kept; less
    /// than `global_burst`).
    pub global_reserve: u32,
}

impl Default for JoinLimits {
    /// 20 attempts per network, then one every 3 s; 500 in total, then 200 per second, of
    /// which the last 100 of the burst are kept for networks' first attempts.
    fn default() -> Self {
        Self {
            per_address_burst: 20,
            per_address_interval: Duration::from_secs(3),
            global_burst: 500,
            global_interval: Duration::from_millis(5),
            global_reserve: 100,
        }
    }
}

/// Which limit refused an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LimitScope {
    /// The attempt's network is over its own limit.
    Network,
    /// All networks together are over the global limit.
    Relay,
}

/// A refused attempt: which limit refused it, and how long until one would be admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limited {
    /// The limit that refused it.
    pub scope: LimitScope,
    /// Until an attempt would be admitted.
    pub retry_after: Duration,
}

/// What the limiter remembers of one network.
#[derive(Default)]
struct NetworkBuckets {
    /// All its attempts.
    attempts: Bucket,
    /// Its first attempts, which may draw on the global reserve.
    first: Bucket,
}

/// Admits or refuses join attempts.
pub struct JoinLimiter {
    limits: JoinLimits,
    global: Bucket,
    networks: HashMap<Network, NetworkBuckets>,
}

impl JoinLimiter {
    /// A limiter enforcing `limits`.
    pub fn new(limits: JoinLimits) -> Self {
        Self {
            limits,
            global: Bucket::default(),
            networks: HashMap::new(),
        }
    }

    /// Counts an attempt from `address` at `now`: `Ok` if admitted, otherwise which limit
    /// refused it and how long until an attempt would be admitted.
    pub fn check(&mut self, address: IpAddr, now: Instant) -> Result<(), Limited> {
        let limits = self.limits;
        let network = Network::of(address);
        // The network first: attempts it is refused do not eat into everyone's budget.
        if self.networks.len() >= MAX_TRACKED_NETWORKS && !self.networks.contains_key(&network) {
            self.networks
                .retain(|_, buckets| buckets.attempts.busy_at(now) || buckets.first.busy_at(now));
        }
        let tracked =
            if self.networks.len() < MAX_TRACKED_NETWORKS || self.networks.contains_key(&network) {
                let buckets = self.networks.entry(network).or_default();
                buckets
                    .attempts
                    .check(now, limits.per_address_burst, limits.per_address_interval)
                    .map_err(|retry_after| Limited {
                        scope: LimitScope::Network,
                        retry_after,
                    })?;
                Some(buckets)
            } else {
                None
            };
        let first = tracked.is_some_and(|buckets| {
            buckets
                .first
                .admits(now, FIRST_ATTEMPTS, FIRST_ATTEMPT_INTERVAL)
        });
        let global_burst = if first {
            limits.global_burst
        } else {
            limits
                .global_burst
                .saturating_sub(limits.global_reserve)
                .max(1)
        };
        self.global
            .check(now, global_burst, limits.global_interval)
            .map_err(|retry_after| Limited {
                scope: LimitScope::Relay,
                retry_after,
            })?;
        if first {
            if let Some(buckets) = self.networks.get_mut(&network) {
                // Admitted just above: this only records it.
                let _ = buckets
                    .first
                    .check(now, FIRST_ATTEMPTS, FIRST_ATTEMPT_INTERVAL);
            }
        }
        Ok(())
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

    /// Whether [`Bucket::check`] would admit an attempt now, without counting one.
    fn admits(&self, now: Instant, burst: u32, interval: Duration) -> bool {
        Bucket { tat: self.tat }.check(now, burst, interval).is_ok()
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
        global_reserve: 0,
    };

    fn by_network(retry_after: Duration) -> Limited {
        Limited {
            scope: LimitScope::Network,
            retry_after,
        }
    }

    fn by_relay(retry_after: Duration) -> Limited {
        Limited {
            scope: LimitScope::Relay,
            retry_after,
        }
    }

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
        assert_eq!(
            limiter.check(addr(1), now),
            Err(by_network(Duration::from_secs(2)))
        );
        assert_eq!(
            limiter.check(addr(1), now + Duration::from_secs(1)),
            Err(by_network(Duration::from_secs(1)))
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
        assert_eq!(
            limiter.check(addr(4), now),
            Err(by_relay(Duration::from_secs(1)))
        );
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
        for i in 0..(MAX_TRACKED_NETWORKS as u32 + 10) {
            let _ = limiter.check(IpAddr::from(i.to_be_bytes()), now);
        }
        assert!(limiter.networks.len() <= MAX_TRACKED_NETWORKS);
    }

    fn in_64(prefix: u16, host: u16) -> IpAddr {
        IpAddr::from([0x2001, 0xdb8, 0, prefix, 0, 0, 0, host])
    }

    #[test]
    fn every_address_of_an_ipv6_64_shares_one_limit() {
        let mut limiter = JoinLimiter::new(LIMITS);
        let now = Instant::now();
        let admitted = (1..=1000)
            .filter(|&host| limiter.check(in_64(1, host), now).is_ok())
            .count();
        assert_eq!(admitted, 3, "the burst of one network");
        assert_eq!(limiter.check(in_64(2, 1), now), Ok(()), "another /64");
    }

    #[test]
    fn once_the_global_bucket_is_down_to_the_reserve_only_first_attempts_pass() {
        let limits = JoinLimits {
            per_address_burst: 10,
            global_reserve: 2,
            ..LIMITS
        };
        let mut limiter = JoinLimiter::new(limits);
        let now = Instant::now();
        // One network's first attempts leave 2 of the global burst of 5: the reserve.
        for _ in 0..FIRST_ATTEMPTS {
            assert_eq!(limiter.check(addr(1), now), Ok(()));
        }
        assert_eq!(
            limiter.check(addr(1), now),
            Err(by_relay(Duration::from_secs(1))),
            "not a first attempt: the reserve is not for it"
        );
        assert_eq!(limiter.check(addr(2), now), Ok(()), "a first attempt");
        assert_eq!(limiter.check(addr(3), now), Ok(()), "a first attempt");
        assert_eq!(
            limiter.check(addr(4), now),
            Err(by_relay(Duration::from_secs(1))),
            "the whole burst is spent"
        );
        let later = now + FIRST_ATTEMPT_INTERVAL;
        assert_eq!(limiter.check(addr(1), later), Ok(()), "a minute later");
    }

    /// Simulates `networks` networks each trying as fast as its own limit lets it for
    /// `seconds` (together more than the global limit), and a technician whose network joins
    /// once every 30 s: how many of the technician's joins were admitted, and how many
    /// attempts in all.
    fn flood(limits: JoinLimits, networks: u32, seconds: u64) -> (usize, usize) {
        let mut limiter = JoinLimiter::new(limits);
        let start = Instant::now();
        let step = Duration::from_millis(50);
        let (mut technician, mut all) = (0, 0);
        for tick in 0..seconds * 20 {
            let now = start + step * u32::try_from(tick).unwrap();
            // Each network starts at its own moment, so their turns are spread over time.
            for network in (0..networks).filter(|network| u64::from(network % 60) <= tick) {
                let flooding = IpAddr::from((0xc633_0000 + network).to_be_bytes());
                all += usize::from(limiter.check(flooding, now).is_ok());
            }
            if tick % 600 == 599 {
                let admitted = limiter.check(addr(200), now).is_ok();
                technician += usize::from(admitted);
                all += usize::from(admitted);
            }
        }
        (technician, all)
    }

    #[test]
    fn a_thousand_networks_at_their_limit_do_not_lock_a_technician_out() {
        let limits = JoinLimits::default();
        let (technician, all) = flood(limits, 1000, 120);
        assert_eq!(technician, 4, "each of the technician's joins is admitted");
        // The reserve only reorders: all networks together stay within the global limit.
        let global = limits.global_burst as usize + 120_000 / 5;
        assert!(all <= global, "{all} admitted, over {global}");
        // Without the reserve, the same flood holds the global bucket for good.
        let unreserved = JoinLimits {
            global_reserve: 0,
            ..limits
        };
        assert_eq!(flood(unreserved, 1000, 120).0, 0);
    }
}
