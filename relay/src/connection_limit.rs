//! How many connections each source network holds, and the relay in all, as a pure counter, and
//! the slot a connection holds in it for as long as it lives.
//!
//! Counting starts at the first packet (before the handshake), so a client cannot exhaust the
//! relay's sockets, memory or handshake CPU from one network (an IPv4 address or an IPv6 /64,
//! see [`Network`]): past its limit its connections are refused before any TLS work is done.
//! A relay-wide cap bounds what many networks together can hold.
//!
//! A UDP source address can be forged, though, and a limit per forged address would let anyone
//! lock a victim's network out by sending handshakes in its name. So the counter tells apart
//! addresses that QUIC has validated (the client answered a Retry, or finished a handshake)
//! from those it has not: an unvalidated attempt that would pass the limit, or that finds too
//! many unvalidated handshakes under way, is asked to Retry instead of refused, and only
//! validated connections can make a network refused.
//!
//! A connection that proves who it is (an enrolled machine online, a technician with a
//! certificate) stops counting against its network: a fleet of servers in one subnet, or an
//! office of technicians behind one address, is bounded by the relay-wide cap only.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex},
};

use crate::{lock::lock, network::Network};

/// Why a new connection attempt does not go on to its handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// Answer with a QUIC Retry: the client must prove it receives packets at its address.
    Retry,
    /// Refuse it: the network holds the most validated connections allowed.
    Refuse,
    /// Refuse it: the relay holds the most connections it allows in all.
    Full,
}

/// How a connection counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Handshaking from an address that has not shown it receives our packets.
    Unvalidated,
    /// Established, or handshaking after a Retry: counts against its network.
    Validated,
    /// Proved who it is: counts against the relay-wide cap only.
    Authenticated,
}

/// Connections one network holds against its limit.
#[derive(Debug, Default, Clone, Copy)]
struct Held {
    /// Connections whose address is validated: established, or handshaking after a Retry.
    validated: u32,
    /// Handshakes from the network before they proved they receive our packets.
    unvalidated: u32,
}

/// Open connections per source network, with a cap, unvalidated handshakes in all, with
/// another, and all connections together, with a third.
#[derive(Debug)]
pub struct ConnectionCounter {
    per_network: u32,
    unvalidated_limit: u32,
    total_limit: u32,
    unvalidated: u32,
    total: u32,
    open: HashMap<Network, Held>,
}

impl ConnectionCounter {
    /// A counter allowing `per_network` connections from each network, `unvalidated_limit`
    /// unvalidated handshakes at once from all networks together, and `total_limit`
    /// connections in all.
    pub fn new(per_network: u32, unvalidated_limit: u32, total_limit: u32) -> Self {
        Self {
            per_network,
            unvalidated_limit,
            total_limit,
            unvalidated: 0,
            total: 0,
            open: HashMap::new(),
        }
    }

    /// Decides on a new attempt from `network` and counts it unless denied; `validated` is
    /// whether QUIC has validated the address already (the attempt answers a Retry).
    pub fn admit(&mut self, network: Network, validated: bool) -> Result<(), Denied> {
        if self.total >= self.total_limit {
            return Err(Denied::Full);
        }
        let held = self.open.get(&network).copied().unwrap_or_default();
        if validated {
            if held.validated >= self.per_network {
                return Err(Denied::Refuse);
            }
        } else if held.validated + held.unvalidated >= self.per_network
            || self.unvalidated >= self.unvalidated_limit
        {
            return Err(Denied::Retry);
        }
        let held = self.open.entry(network).or_default();
        if validated {
            held.validated += 1;
        } else {
            held.unvalidated += 1;
            self.unvalidated += 1;
        }
        self.total += 1;
        Ok(())
    }

    /// Counts an unvalidated handshake from `network` as validated now that it finished;
    /// `false` (and nothing changed) if the network holds the most validated connections.
    pub fn validate(&mut self, network: Network) -> bool {
        let Some(held) = self.open.get_mut(&network) else {
            return false;
        };
        if held.unvalidated == 0 || held.validated >= self.per_network {
            return false;
        }
        held.unvalidated -= 1;
        held.validated += 1;
        self.unvalidated -= 1;
        true
    }

    /// Stops counting one validated connection of `network` against it: it proved who it is.
    pub fn authenticate(&mut self, network: Network) {
        self.release(network, Standing::Validated);
    }

    /// Forgets one connection from `network` of the given standing.
    pub fn remove(&mut self, network: Network, standing: Standing) {
        if self.release(network, standing) {
            self.total = self.total.saturating_sub(1);
        }
    }

    /// Takes one connection of `standing` off its network's count; whether there was one.
    /// Networks with none left are forgotten entirely, so the table holds only networks with
    /// open connections.
    fn release(&mut self, network: Network, standing: Standing) -> bool {
        if standing == Standing::Authenticated {
            return true;
        }
        let Some(held) = self.open.get_mut(&network) else {
            return false;
        };
        let released = match standing {
            Standing::Validated if held.validated > 0 => {
                held.validated -= 1;
                true
            }
            Standing::Unvalidated if held.unvalidated > 0 => {
                held.unvalidated -= 1;
                self.unvalidated -= 1;
                true
            }
            _ => false,
        };
        if held.validated == 0 && held.unvalidated == 0 {
            self.open.remove(&network);
        }
        released
    }

    /// Connections `network` holds against its limit now, validated or not.
    pub fn open_from(&self, network: Network) -> u32 {
        self.open
            .get(&network)
            .map_or(0, |held| held.validated + held.unvalidated)
    }

    /// Connections the relay holds now, of every standing.
    pub fn total(&self) -> u32 {
        self.total
    }
}

/// One counted connection; dropping it gives the slot back.
pub struct ConnectionSlot {
    counter: Arc<Mutex<ConnectionCounter>>,
    network: Network,
    standing: Standing,
}

impl ConnectionSlot {
    /// Decides on an attempt from `address` (see [`ConnectionCounter::admit`]); the slot
    /// unless it is denied.
    pub fn admit(
        counter: &Arc<Mutex<ConnectionCounter>>,
        address: IpAddr,
        validated: bool,
    ) -> Result<Self, Denied> {
        let network = Network::of(address);
        lock(counter).admit(network, validated)?;
        Ok(Self {
            counter: counter.clone(),
            network,
            standing: if validated {
                Standing::Validated
            } else {
                Standing::Unvalidated
            },
        })
    }

    /// Marks the slot's handshake finished, which validates its address; `false` if the
    /// network already holds the most validated connections (the connection must then close).
    pub fn validate(&mut self) -> bool {
        if self.standing == Standing::Unvalidated && lock(&self.counter).validate(self.network) {
            self.standing = Standing::Validated;
        }
        self.standing != Standing::Unvalidated
    }

    /// The connection proved who it is: it no longer counts against its network.
    pub fn authenticate(&mut self) {
        if self.standing == Standing::Validated {
            lock(&self.counter).authenticate(self.network);
            self.standing = Standing::Authenticated;
        }
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        lock(&self.counter).remove(self.network, self.standing);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([192, 0, 2, last])
    }

    fn addr(last: u8) -> Network {
        Network::of(ip(last))
    }

    /// No relay-wide cap.
    const UNCAPPED: u32 = u32::MAX;

    #[test]
    fn an_address_gets_its_limit_and_others_are_unaffected() {
        let mut counter = ConnectionCounter::new(2, 100, UNCAPPED);
        assert_eq!(counter.admit(addr(1), true), Ok(()));
        assert_eq!(counter.admit(addr(1), true), Ok(()));
        assert_eq!(counter.admit(addr(1), true), Err(Denied::Refuse));
        assert_eq!(counter.open_from(addr(1)), 2, "a refusal is not counted");
        assert_eq!(counter.admit(addr(2), true), Ok(()));
    }

    #[test]
    fn an_unvalidated_attempt_past_the_limit_is_asked_to_retry_not_refused() {
        let mut counter = ConnectionCounter::new(2, 100, UNCAPPED);
        assert_eq!(counter.admit(addr(1), false), Ok(()));
        assert_eq!(counter.admit(addr(1), false), Ok(()));
        assert_eq!(counter.admit(addr(1), false), Err(Denied::Retry));
        assert_eq!(counter.open_from(addr(1)), 2, "a retry is not counted");
    }

    #[test]
    fn forged_handshakes_do_not_lock_the_real_address_out() {
        // Handshakes sent in 192.0.2.1's name that never finish fill its count...
        let mut counter = ConnectionCounter::new(2, 100, UNCAPPED);
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
        let mut counter = ConnectionCounter::new(10, 2, UNCAPPED);
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
        let mut counter = ConnectionCounter::new(2, 100, UNCAPPED);
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
        let mut counter = ConnectionCounter::new(1, 100, UNCAPPED);
        assert_eq!(counter.admit(addr(1), true), Ok(()));
        counter.remove(addr(1), Standing::Validated);
        assert!(counter.open.is_empty());
        assert_eq!(counter.admit(addr(1), false), Ok(()));
        counter.remove(addr(9), Standing::Unvalidated);
        counter.remove(addr(1), Standing::Unvalidated);
        assert!(counter.open.is_empty());
        assert_eq!(counter.unvalidated, 0);
    }

    #[test]
    fn a_slot_is_given_back_when_dropped_and_counts_as_validated_once_validated() {
        let counter = Arc::new(Mutex::new(ConnectionCounter::new(1, 100, UNCAPPED)));
        let mut slot = ConnectionSlot::admit(&counter, ip(1), false).unwrap();
        assert_eq!(
            ConnectionSlot::admit(&counter, ip(1), false).err(),
            Some(Denied::Retry)
        );
        assert!(slot.validate());
        assert_eq!(lock(&counter).unvalidated, 0);
        assert_eq!(
            ConnectionSlot::admit(&counter, ip(1), true).err(),
            Some(Denied::Refuse)
        );
        drop(slot);
        assert!(ConnectionSlot::admit(&counter, ip(1), true).is_ok());
    }

    #[test]
    fn every_address_of_an_ipv6_64_counts_against_one_limit() {
        let mut counter = ConnectionCounter::new(2, 100, UNCAPPED);
        let flooding = |host: u16| Network::of(IpAddr::from([0x2001, 0xdb8, 0, 1, 0, 0, 0, host]));
        assert_eq!(counter.admit(flooding(1), true), Ok(()));
        assert_eq!(counter.admit(flooding(2), true), Ok(()));
        assert_eq!(counter.admit(flooding(3), true), Err(Denied::Refuse));
        let other = Network::of(IpAddr::from([0x2001, 0xdb8, 0, 2, 0, 0, 0, 1]));
        assert_eq!(counter.admit(other, true), Ok(()));
    }

    #[test]
    fn the_relay_wide_cap_refuses_every_network_once_reached() {
        let mut counter = ConnectionCounter::new(2, 100, 3);
        assert_eq!(counter.admit(addr(1), true), Ok(()));
        assert_eq!(counter.admit(addr(2), true), Ok(()));
        assert_eq!(counter.admit(addr(3), false), Ok(()));
        assert_eq!(counter.admit(addr(4), true), Err(Denied::Full));
        assert_eq!(counter.admit(addr(4), false), Err(Denied::Full));
        counter.remove(addr(3), Standing::Unvalidated);
        assert_eq!(counter.total(), 2);
        assert_eq!(counter.admit(addr(4), true), Ok(()));
    }

    #[test]
    fn an_authenticated_connection_leaves_its_networks_count_but_not_the_relays() {
        let counter = Arc::new(Mutex::new(ConnectionCounter::new(1, 100, 10)));
        let mut fleet = Vec::new();
        for _ in 0..5 {
            let mut slot = ConnectionSlot::admit(&counter, ip(1), true).unwrap();
            slot.authenticate();
            fleet.push(slot);
        }
        assert_eq!(lock(&counter).open_from(addr(1)), 0);
        assert_eq!(lock(&counter).total(), 5);
        let _unproven = ConnectionSlot::admit(&counter, ip(1), true).unwrap();
        assert_eq!(
            ConnectionSlot::admit(&counter, ip(1), true).err(),
            Some(Denied::Refuse),
            "the network's own limit still holds for connections that proved nothing"
        );
        drop(fleet);
        assert_eq!(lock(&counter).total(), 1);
        assert_eq!(lock(&counter).open_from(addr(1)), 1);
    }
}
