//! The nameplate registry, as a pure state machine: nameplates (the relay's half of a session
//! code) are issued to waiting agents, claimed once by a viewer, and remembered for a while
//! after use or expiry so a late viewer learns precisely why its code no longer works. Time is
//! passed in, never read.
//!
//! Nameplates are looked up in a hash map, not compared in constant time: they are locators,
//! not secrets. The secret half of the code never reaches the relay.
//!
//! Registering needs no credential, so the codes waiting at once are capped per source network
//! (an IPv4 address or an IPv6 /64, see [`Network`]) and in all: one network cannot take the
//! nameplate space, nor all the relay's memory, and the relay keeps issuing codes to others.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use rand::{CryptoRng, RngCore};
use tether_proto::{control::Refusal, Nameplate};

use crate::network::Network;

/// How many codes may wait for a viewer at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegistrationCaps {
    /// From one network.
    pub per_network: u32,
    /// From all networks together.
    pub total: u32,
}

impl Default for RegistrationCaps {
    /// 64 per network (an office of people all asking for help at once fits), 100 000 in all
    /// (a tenth of the nameplate space, so a guess finds a live code at most once in ten).
    fn default() -> Self {
        Self {
            per_network: 64,
            total: 100_000,
        }
    }
}

/// Nameplates issued to agents, each holding a `T` (how to reach the waiting agent).
pub struct CodeRegistry<T> {
    entries: HashMap<Nameplate, Entry<T>>,
    ttl: Duration,
    caps: RegistrationCaps,
    /// Codes waiting now, by the network of the agent holding each.
    waiting: HashMap<Network, u32>,
    /// Codes waiting now, in all.
    waiting_total: u32,
}

enum Entry<T> {
    Waiting {
        expires_at: Instant,
        network: Network,
        agent: T,
    },
    /// A claimed or expired code, kept until `forget_at` to explain refusals.
    Spent {
        refusal: Refusal,
        forget_at: Instant,
    },
}

impl<T> CodeRegistry<T> {
    /// A registry whose codes stay valid for `ttl`, with at most `caps` waiting.
    pub fn new(ttl: Duration, caps: RegistrationCaps) -> Self {
        Self {
            entries: HashMap::new(),
            ttl,
            caps,
            waiting: HashMap::new(),
            waiting_total: 0,
        }
    }

    /// Issues a fresh nameplate (never one currently waiting or remembered) for `agent`, which
    /// connects from `network`; returns it with its expiry time. Refuses with
    /// [`Refusal::NetworkBusy`] when the network holds its cap of waiting codes, and with
    /// [`Refusal::Busy`] when the relay holds its total cap or half the nameplate space is
    /// taken, waiting or remembered (which keeps both guessing a live one and finding a free
    /// one hard and easy).
    pub fn issue<R: RngCore + CryptoRng>(
        &mut self,
        rng: &mut R,
        now: Instant,
        network: Network,
        agent: T,
    ) -> Result<(Nameplate, Instant), Refusal> {
        self.prune(now);
        if self.waiting_from(network) >= self.caps.per_network {
            return Err(Refusal::NetworkBusy);
        }
        if self.waiting_total >= self.caps.total
            || self.entries.len() >= (Nameplate::SPACE / 2) as usize
        {
            return Err(Refusal::Busy);
        }
        // At most half the space is taken, so each draw succeeds with probability ≥ 1/2.
        let nameplate = loop {
            let candidate = Nameplate::generate(rng);
            if !self.entries.contains_key(&candidate) {
                break candidate;
            }
        };
        let expires_at = now + self.ttl;
        self.entries.insert(
            nameplate,
            Entry::Waiting {
                expires_at,
                network,
                agent,
            },
        );
        *self.waiting.entry(network).or_default() += 1;
        self.waiting_total += 1;
        Ok((nameplate, expires_at))
    }

    /// A viewer presents `code`: hands over the waiting agent exactly once.
    pub fn claim(&mut self, code: Nameplate, now: Instant) -> Result<T, Refusal> {
        self.expire(code, now);
        match self.entries.remove(&code) {
            Some(Entry::Waiting { agent, network, .. }) => {
                self.stopped_waiting(network);
                self.spend(code, Refusal::CodeAlreadyUsed, now);
                Ok(agent)
            }
            Some(spent @ Entry::Spent { refusal, .. }) => {
                self.entries.insert(code, spent);
                Err(refusal)
            }
            None => Err(Refusal::UnknownCode),
        }
    }

    /// Marks `code` expired if its time is up; returns whether it is (now) expired.
    pub fn expire(&mut self, code: Nameplate, now: Instant) -> bool {
        match self.entries.get(&code) {
            Some(&Entry::Waiting {
                expires_at,
                network,
                ..
            }) if expires_at <= now => {
                self.stopped_waiting(network);
                self.spend(code, Refusal::ExpiredCode, now);
                true
            }
            Some(Entry::Spent {
                refusal: Refusal::ExpiredCode,
                ..
            }) => true,
            _ => false,
        }
    }

    /// The agent behind a waiting code left: the code stops existing.
    pub fn withdraw(&mut self, code: Nameplate) {
        if let Some(&Entry::Waiting { network, .. }) = self.entries.get(&code) {
            self.entries.remove(&code);
            self.stopped_waiting(network);
        }
    }

    /// Codes waiting now that agents from `network` hold.
    pub fn waiting_from(&self, network: Network) -> u32 {
        self.waiting.get(&network).copied().unwrap_or(0)
    }

    /// Codes known to the registry (waiting or remembered).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the registry holds no codes.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Counts one code of `network` no longer waiting; networks with none left are forgotten.
    fn stopped_waiting(&mut self, network: Network) {
        self.waiting_total = self.waiting_total.saturating_sub(1);
        if let Some(count) = self.waiting.get_mut(&network) {
            *count -= 1;
            if *count == 0 {
                self.waiting.remove(&network);
            }
        }
    }

    fn spend(&mut self, code: Nameplate, refusal: Refusal, now: Instant) {
        let forget_at = now + self.ttl;
        self.entries
            .insert(code, Entry::Spent { refusal, forget_at });
    }

    fn prune(&mut self, now: Instant) {
        self.entries.retain(|_, entry| match entry {
            Entry::Waiting { .. } => true,
            Entry::Spent { forget_at, .. } => *forget_at > now,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{rngs::StdRng, SeedableRng};

    const TTL: Duration = Duration::from_secs(600);

    fn setup() -> (CodeRegistry<&'static str>, StdRng, Instant) {
        (
            CodeRegistry::new(TTL, RegistrationCaps::default()),
            StdRng::seed_from_u64(7),
            Instant::now(),
        )
    }

    const HOME: Network = Network::V4([192, 0, 2, 1]);

    #[test]
    fn a_code_is_claimed_exactly_once() {
        let (mut reg, mut rng, now) = setup();
        let (code, expires) = reg.issue(&mut rng, now, HOME, "agent").unwrap();
        assert_eq!(expires, now + TTL);
        assert_eq!(reg.claim(code, now), Ok("agent"));
        assert_eq!(reg.claim(code, now), Err(Refusal::CodeAlreadyUsed));
    }

    #[test]
    fn unknown_codes_are_refused() {
        let (mut reg, mut rng, now) = setup();
        let (code, _) = reg.issue(&mut rng, now, HOME, "agent").unwrap();
        let other = Nameplate::try_from((code.value() + 1) % Nameplate::SPACE).unwrap();
        assert_eq!(reg.claim(other, now), Err(Refusal::UnknownCode));
        assert_eq!(reg.claim(code, now), Ok("agent"));
    }

    #[test]
    fn codes_expire_at_their_deadline_even_without_a_timer() {
        let (mut reg, mut rng, now) = setup();
        let (code, expires) = reg.issue(&mut rng, now, HOME, "agent").unwrap();
        assert_eq!(reg.claim(code, expires), Err(Refusal::ExpiredCode));
        assert!(reg.expire(code, expires));
    }

    #[test]
    fn spent_codes_are_forgotten_after_a_while_and_withdrawn_ones_at_once() {
        let (mut reg, mut rng, now) = setup();
        let (used, _) = reg.issue(&mut rng, now, HOME, "a").unwrap();
        reg.claim(used, now).unwrap();
        let (left, _) = reg.issue(&mut rng, now, HOME, "b").unwrap();
        reg.withdraw(left);
        assert_eq!(reg.claim(left, now), Err(Refusal::UnknownCode));
        assert_eq!(reg.len(), 1);
        // Issuing prunes memories older than the TTL.
        let later = now + TTL + Duration::from_secs(1);
        let (fresh, _) = reg.issue(&mut rng, later, HOME, "c").unwrap();
        assert_eq!(reg.len(), 1);
        assert_eq!(reg.claim(used, later), Err(Refusal::UnknownCode));
        assert_eq!(reg.claim(fresh, later), Ok("c"));
    }

    #[test]
    fn withdraw_does_not_erase_the_memory_of_a_used_code() {
        let (mut reg, mut rng, now) = setup();
        let (code, _) = reg.issue(&mut rng, now, HOME, "a").unwrap();
        reg.claim(code, now).unwrap();
        reg.withdraw(code);
        assert_eq!(reg.claim(code, now), Err(Refusal::CodeAlreadyUsed));
    }

    #[test]
    fn a_flood_from_one_ipv6_64_is_capped_while_other_networks_still_get_codes() {
        let (mut reg, mut rng, now) = setup();
        let flooding =
            |host: u16| Network::of(std::net::IpAddr::from([0x2001, 0xdb8, 0, 1, 0, 0, host, 1]));
        let issued = (0..10_000)
            .filter(|&host| reg.issue(&mut rng, now, flooding(host), "x").is_ok())
            .count();
        assert_eq!(issued, 64, "the cap of one network");
        assert_eq!(
            reg.issue(&mut rng, now, flooding(1), "x"),
            Err(Refusal::NetworkBusy)
        );
        let other = Network::of(std::net::IpAddr::from([0x2001, 0xdb8, 0, 2, 0, 0, 0, 1]));
        assert!(reg.issue(&mut rng, now, other, "desk").is_ok());
        assert!(reg.issue(&mut rng, now, HOME, "desk").is_ok());
    }

    #[test]
    fn codes_that_stop_waiting_free_their_networks_place() {
        let caps = RegistrationCaps {
            per_network: 3,
            total: 100,
        };
        let (mut reg, mut rng, now) = (
            CodeRegistry::new(TTL, caps),
            StdRng::seed_from_u64(1),
            Instant::now(),
        );
        let claimed = reg.issue(&mut rng, now, HOME, "a").unwrap().0;
        let withdrawn = reg.issue(&mut rng, now, HOME, "b").unwrap().0;
        let (expiring, expires) = reg.issue(&mut rng, now, HOME, "c").unwrap();
        assert_eq!(
            reg.issue(&mut rng, now, HOME, "d"),
            Err(Refusal::NetworkBusy)
        );
        reg.claim(claimed, now).unwrap();
        reg.withdraw(withdrawn);
        assert!(reg.expire(expiring, expires));
        assert_eq!(reg.waiting_from(HOME), 0);
        for agent in ["d", "e", "f"] {
            assert!(reg.issue(&mut rng, expires, HOME, agent).is_ok());
        }
    }

    #[test]
    fn the_total_cap_refuses_every_network_as_busy() {
        let caps = RegistrationCaps {
            per_network: 10,
            total: 20,
        };
        let (mut reg, mut rng, now) = (
            CodeRegistry::new(TTL, caps),
            StdRng::seed_from_u64(1),
            Instant::now(),
        );
        for last in 0..20 {
            reg.issue(&mut rng, now, Network::V4([198, 51, 100, last]), "x")
                .unwrap();
        }
        assert_eq!(
            reg.issue(&mut rng, now, Network::V4([198, 51, 100, 99]), "x"),
            Err(Refusal::Busy)
        );
    }
}
