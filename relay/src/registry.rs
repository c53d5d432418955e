//! The nameplate registry, as a pure state machine: nameplates (the relay's half of a session
//! code) are issued to waiting agents, claimed once by a viewer, and remembered for a while
//! after use or expiry so a late viewer learns precisely why its code no longer works. Time is
//! passed in, never read.
//!
//! Nameplates are looked up in a hash map, not compared in constant time: they are locators,
//! not secrets. The secret half of the code never reaches the relay.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use rand::{CryptoRng, RngCore};
use tether_proto::{control::Refusal, Nameplate};

/// Nameplates issued to agents, each holding a `T` (how to reach the waiting agent).
pub struct CodeRegistry<T> {
    entries: HashMap<Nameplate, Entry<T>>,
    ttl: Duration,
}

enum Entry<T> {
    Waiting {
        expires_at: Instant,
        agent: T,
    },
    /// A claimed or expired code, kept until `forget_at` to explain refusals.
    Spent {
        refusal: Refusal,
        forget_at: Instant,
    },
}

impl<T> CodeRegistry<T> {
    /// A registry whose codes stay valid for `ttl`.
    pub fn new(ttl: Duration) -> Self {
        Self {
            entries: HashMap::new(),
            ttl,
        }
    }

    /// Issues a fresh nameplate (never one currently waiting or remembered) for `agent`;
    /// returns it with its expiry time, or [`Refusal::Busy`] when half the nameplate space is
    /// taken (which keeps both guessing a live one and finding a free one hard and easy).
    pub fn issue<R: RngCore + CryptoRng>(
        &mut self,
        rng: &mut R,
        now: Instant,
        agent: T,
    ) -> Result<(Nameplate, Instant), Refusal> {
        self.prune(now);
        if self.entries.len() >= (Nameplate::SPACE / 2) as usize {
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
        self.entries
            .insert(nameplate, Entry::Waiting { expires_at, agent });
        Ok((nameplate, expires_at))
    }

    /// A viewer presents `code`: hands over the waiting agent exactly once.
    pub fn claim(&mut self, code: Nameplate, now: Instant) -> Result<T, Refusal> {
        self.expire(code, now);
        match self.entries.remove(&code) {
            Some(Entry::Waiting { agent, .. }) => {
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
            Some(Entry::Waiting { expires_at, .. }) if *expires_at <= now => {
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
        if matches!(self.entries.get(&code), Some(Entry::Waiting { .. })) {
            self.entries.remove(&code);
        }
    }

    /// Codes known to the registry (waiting or remembered).
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the registry holds no codes.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
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
            CodeRegistry::new(TTL),
            StdRng::seed_from_u64(7),
            Instant::now(),
        )
    }

    #[test]
    fn a_code_is_claimed_exactly_once() {
        let (mut reg, mut rng, now) = setup();
        let (code, expires) = reg.issue(&mut rng, now, "agent").unwrap();
        assert_eq!(expires, now + TTL);
        assert_eq!(reg.claim(code, now), Ok("agent"));
        assert_eq!(reg.claim(code, now), Err(Refusal::CodeAlreadyUsed));
    }

    #[test]
    fn unknown_codes_are_refused() {
        let (mut reg, mut rng, now) = setup();
        let (code, _) = reg.issue(&mut rng, now, "agent").unwrap();
        let other = Nameplate::try_from((code.value() + 1) % Nameplate::SPACE).unwrap();
        assert_eq!(reg.claim(other, now), Err(Refusal::UnknownCode));
        assert_eq!(reg.claim(code, now), Ok("agent"));
    }

    #[test]
    fn codes_expire_at_their_deadline_even_without_a_timer() {
        let (mut reg, mut rng, now) = setup();
        let (code, expires) = reg.issue(&mut rng, now, "agent").unwrap();
        assert_eq!(reg.claim(code, expires), Err(Refusal::ExpiredCode));
        assert!(reg.expire(code, expires));
    }

    #[test]
    fn spent_codes_are_forgotten_after_a_while_and_withdrawn_ones_at_once() {
        let (mut reg, mut rng, now) = setup();
        let (used, _) = reg.issue(&mut rng, now, "a").unwrap();
        reg.claim(used, now).unwrap();
        let (left, _) = reg.issue(&mut rng, now, "b").unwrap();
        reg.withdraw(left);
        assert_eq!(reg.claim(left, now), Err(Refusal::UnknownCode));
        assert_eq!(reg.len(), 1);
        // Issuing prunes memories older than the TTL.
        let later = now + TTL + Duration::from_secs(1);
        let (fresh, _) = reg.issue(&mut rng, later, "c").unwrap();
        assert_eq!(reg.len(), 1);
        assert_eq!(reg.claim(used, later), Err(Refusal::UnknownCode));
        assert_eq!(reg.claim(fresh, later), Ok("c"));
    }

    #[test]
    fn withdraw_does_not_erase_the_memory_of_a_used_code() {
        let (mut reg, mut rng, now) = setup();
        let (code, _) = reg.issue(&mut rng, now, "a").unwrap();
        reg.claim(code, now).unwrap();
        reg.withdraw(code);
        assert_eq!(reg.claim(code, now), Err(Refusal::CodeAlreadyUsed));
    }
}
