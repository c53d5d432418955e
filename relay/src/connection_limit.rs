//! How many connections each source address holds, as a pure counter, and the slot a connection
//! holds in it for as long as it lives.
//!
//! Counting starts at the first packet (before the handshake), so a client cannot exhaust the
//! relay's sockets, memory or handshake CPU from one address: past the limit its connections are
//! refused before any TLS work is done.
//!
//! A UDP source address can be forged, though, and a limit per forged address would let anyone
//! lock a victim's address out by sending handshakes in its name. So the counter tells apart
//! addresses that QUIC has validated (the client answered a Retry, or finished a handshake)
//! from those it has not: an unvalidated attempt that would pass the limit, or that finds too
//! many unvalidated handshakes under way, is asked to Retry instead of refused, and only
//! validated connections can make an address refused.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex},
};

use crate::lock::lock;

/// Why a new connection attempt does not go on to its handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// Answer with a QUIC Retry: the client must prove it receives packets at its address.
    Retry,
    /// Refuse it: the address holds the most validated connections allowed.
    Refuse,
}

/// Connections one address holds.
#[derive(Debug, Default, Clone, Copy)]
struct Held {
    /// Connections whose address is validated: established, or handshaking after a Retry.
    validated: u32,
    /// Handshakes from the address before it proved it receives our packets.
    unvalidated: u32,
}

/// Open connections per source address, with a cap, and unvalidated handshakes in all, with
/// another.
#[derive(Debug)]
pub struct ConnectionCounter {
    per_address: u32,
    unvalidated_limit: u32,
    unvalidated: u32,
    open: HashMap<IpAddr, Held>,
}

impl ConnectionCounter {
    /// A counter allowing `per_address` connections from each address and `unvalidated_limit`
    /// unvalidated handshakes at once from all addresses together.
    pub fn new(per_address: u32, unvalidated_limit: u32) -> Self {
        Self {
            per_address,
            unvalidated_limit,
            unvalidated: 0,
            open: HashMap::new(),
        }
    }

    /// Decides on a new attempt from `address` and counts it unless denied; `validated` is
    /// whether QUIC has validated the address already (the attempt answers a Retry).
    pub fn admit(&mut self, address: IpAddr, validated: bool) -> Result<(), Denied> {
        let held = self.open.get(&address).copied().unwrap_or_default();
        if validated {
            if held.validated >= self.per_address {
                return Err(Denied::Refuse);
            }
        } else if held.validated + held.unvalidated >= self.per_address
            || self.unvalidated >= self.unvalidated_limit
        {
            return Err(Denied::Retry);
        }
        let held = self.open.entry(address).or_default();
        if validated {
            held.validated += 1;
        } else {
            held.unvalidated += 1;
            self.unvalidated += 1;
        }
        Ok(())
    }

    /// Counts an unvalidated handshake from `address` as validated now that it finished;
    /// `false` (and nothing changed) if the address holds the most validated connections.
    pub fn validate(&mut self, address: IpAddr) -> bool {
        let Some(held) = self.open.get_mut(&address) else {
            return false;
        };
        if held.unvalidated == 0 || held.validated >= self.per_address {
            return false;
        }
        held.unvalidated -= 1;
        held.validated += 1;
        self.unvalidated -= 1;
        true
    }

    /// Forgets one connection from `address`, `validated` or not; addresses with none left are
    /// forgotten entirely, so the table holds only addresses with open connections.
    pub fn remove(&mut self, address: IpAddr, validated: bool) {
        let Some(held) = self.open.get_mut(&address) else {
            return;
        };
        if validated {
            held.validated = held.validated.saturating_sub(1);
        } else if held.unvalidated > 0 {
            held.unvalidated -= 1;
            self.unvalidated -= 1;
        }
        if held.validated == 0 && held.unvalidated == 0 {
            self.open.remove(&address);
        }
    }

    /// Connections `address` holds now, validated or not.
    pub fn open_from(&self, address: IpAddr) -> u32 {
        self.open
            .get(&address)
            .map_or(0, |held| held.validated + held.unvalidated)
    }
}

/// One counted connection; dropping it gives the slot back.
pub struct ConnectionSlot {
    counter: Arc<Mutex<ConnectionCounter>>,
    address: IpAddr,
    validated: bool,
}

impl ConnectionSlot {
    /// Decides on an attempt from `address` (see [`ConnectionCounter::admit`]); the slot
    /// unless it is denied.
    pub fn admit(
        counter: &Arc<Mutex<ConnectionCounter>>,
        address: IpAddr,
        validated: bool,
    ) -> Result<Self, Denied> {
        lock(counter).admit(address, validated)?;
        Ok(Self {
            counter: counter.clone(),
            address,
            validated,
        })
    }

    /// Marks the slot's handshake finished, which validates its address; `false` if the
    /// address already holds the most validated connections (the connection must then close).
    pub fn validate(&mut self) -> bool {
        if self.validated {
            return true;
        }
        self.validated = lock(&self.counter).validate(self.address);
        self.validated
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        lock(&self.counter).remove(self.address, self.validated);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(last: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, last])
    }

    #[test]
    fn an_address_gets_its_limit_and_others_are_unaffected() {
        let mut counter = ConnectionCounter::new(2, 100);
        assert_eq!(counter.admit(addr(1), true), Ok(()));
        assert_eq!(counter.admit(addr(1), true), Ok(()));
        assert_eq!(counter.admit(addr(1), true), Err(Denied::Refuse));
        assert_eq!(counter.open_from(addr(1)), 2, "a refusal is not counted");
        assert_eq!(counter.admit(addr(2), true), Ok(()));
    }

    #[test]
    fn an_unvalidated_attempt_past_the_limit_is_asked_to_retry_not_refused() {
        let mut counter = ConnectionCounter::new(2, 100);
        assert_eq!(counter.admit(addr(1), false), Ok(()));
        assert_eq!(counter.admit(addr(1), false), Ok(()));
        assert_eq!(counter.admit(addr(1), false), Err(Denied::Retry));
        assert_eq!(counter.open_from(addr(1)), 2, "a retry is not counted");
    }

    #[test]
    fn forged_handshakes_do_not_lock_the_real_address_out() {
        // Handshakes sent in 192.0.2.1's name that never finish fill its count...
        let mut counter = ConnectionCounter::new(2, 100);
        assert_eq!(counter.admit(addr(1), false), Ok(()));
        assert_eq!(counter.admit(addr(1), false), Ok(()));
        // ...but its owner, validated by the Retry, still gets its connections.
        assert_eq!(counter.admit(addr(1), false), Err(Denied::Retry));
        assert_eq!(counter.admit(addr(1), true), Ok(()));
        assert_eq!(counter.admit(addr(1), true), Ok(()));
        assert_eq!(counter.admit(addr(1), true), Err(Denied::Refuse));
    }

    #[test]
    fn too_many_unvalidated_handshakes_in_all_make_every_new_one_retry() {
        let mut counter = ConnectionCounter::new(10, 2);
        assert_eq!(counter.admit(addr(1), false), Ok(()));
        assert_eq!(counter.admit(addr(2), false), Ok(()));
        assert_eq!(counter.admit(addr(3), false), Err(Denied::Retry));
        assert_eq!(counter.admit(addr(3), true), Ok(()), "validated ones pass");
        assert!(counter.validate(addr(1)));
        assert_eq!(counter.unvalidated, 1);
        assert_eq!(counter.admit(addr(3), false), Ok(()));
    }

    #[test]
    fn a_finished_handshake_past_the_validated_limit_is_not_validated() {
        let mut counter = ConnectionCounter::new(2, 100);
        assert_eq!(counter.admit(addr(1), false), Ok(()));
        assert_eq!(counter.admit(addr(1), false), Ok(()));
        assert_eq!(counter.admit(addr(1), true), Ok(()));
        assert!(counter.validate(addr(1)));
        assert!(!counter.validate(addr(1)), "two validated already");
        assert_eq!(counter.open_from(addr(1)), 3);
        assert_eq!(counter.unvalidated, 1);
    }

    #[test]
    fn closing_a_connection_frees_its_slot_and_empty_addresses_are_forgotten() {
        let mut counter = ConnectionCounter::new(1, 100);
        assert_eq!(counter.admit(addr(1), true), Ok(()));
        counter.remove(addr(1), true);
        assert!(counter.open.is_empty());
        assert_eq!(counter.admit(addr(1), false), Ok(()));
        counter.remove(addr(9), false);
        counter.remove(addr(1), false);
        assert!(counter.open.is_empty());
        assert_eq!(counter.unvalidated, 0);
    }

    #[test]
    fn a_slot_is_given_back_when_dropped_and_counts_as_validated_once_validated() {
        let counter = Arc::new(Mutex::new(ConnectionCounter::new(1, 100)));
        let mut slot = ConnectionSlot::admit(&counter, addr(1), false).unwrap();
        assert_eq!(
            ConnectionSlot::admit(&counter, addr(1), false).err(),
            Some(Denied::Retry)
        );
        assert!(slot.validate());
        assert_eq!(lock(&counter).unvalidated, 0);
        assert_eq!(
            ConnectionSlot::admit(&counter, addr(1), true).err(),
            Some(Denied::Refuse)
        );
        drop(slot);
        assert!(ConnectionSlot::admit(&counter, addr(1), true).is_ok());
    }
}
