//! How many connections each source address holds, as a pure counter, and the slot a connection
//! holds in it for as long as it lives.
//!
//! Counting starts at the first packet (before the handshake), so a client cannot exhaust the
//! relay's sockets, memory or handshake CPU from one address: past the limit its connections are
//! refused before any TLS work is done.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex},
};

/// Open connections per source address, with a cap.
#[derive(Debug)]
pub struct ConnectionCounter {
    per_address: u32,
    open: HashMap<IpAddr, u32>,
}

impl ConnectionCounter {
    /// A counter allowing `per_address` connections from each address.
    pub fn new(per_address: u32) -> Self {
        Self {
            per_address,
            open: HashMap::new(),
        }
    }

    /// Counts a new connection from `address`; `false` (and nothing counted) if it already holds
    /// the maximum.
    pub fn try_add(&mut self, address: IpAddr) -> bool {
        let open = self.open.entry(address).or_insert(0);
        if *open >= self.per_address {
            return false;
        }
        *open += 1;
        true
    }

    /// Forgets one connection from `address`; addresses with none left are forgotten entirely,
    /// so the table holds only addresses with open connections.
    pub fn remove(&mut self, address: IpAddr) {
        if let Some(open) = self.open.get_mut(&address) {
            *open -= 1;
            if *open == 0 {
                self.open.remove(&address);
            }
        }
    }

    /// Connections `address` holds now.
    pub fn open_from(&self, address: IpAddr) -> u32 {
        self.open.get(&address).copied().unwrap_or(0)
    }
}

/// One counted connection; dropping it gives the slot back.
pub struct ConnectionSlot {
    counter: Arc<Mutex<ConnectionCounter>>,
    address: IpAddr,
}

impl ConnectionSlot {
    /// Takes a slot for `address`, or `None` if the address is at its limit.
    pub fn take(counter: &Arc<Mutex<ConnectionCounter>>, address: IpAddr) -> Option<Self> {
        // A poisoned lock only means a panic elsewhere mid-update; the counts are still usable.
        let mut guard = counter
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        guard.try_add(address).then(|| Self {
            counter: counter.clone(),
            address,
        })
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let mut guard = self
            .counter
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        guard.remove(self.address);
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
        let mut counter = ConnectionCounter::new(2);
        assert!(counter.try_add(addr(1)));
        assert!(counter.try_add(addr(1)));
        assert!(!counter.try_add(addr(1)));
        assert_eq!(counter.open_from(addr(1)), 2, "a refusal is not counted");
        assert!(counter.try_add(addr(2)));
    }

    #[test]
    fn closing_a_connection_frees_its_slot_and_empty_addresses_are_forgotten() {
        let mut counter = ConnectionCounter::new(1);
        assert!(counter.try_add(addr(1)));
        counter.remove(addr(1));
        assert!(counter.open.is_empty());
        assert!(counter.try_add(addr(1)));
        counter.remove(addr(9));
        assert_eq!(counter.open_from(addr(1)), 1);
    }

    #[test]
    fn a_slot_is_given_back_when_dropped() {
        let counter = Arc::new(Mutex::new(ConnectionCounter::new(1)));
        let slot = ConnectionSlot::take(&counter, addr(1)).unwrap();
        assert!(ConnectionSlot::take(&counter, addr(1)).is_none());
        drop(slot);
        assert!(ConnectionSlot::take(&counter, addr(1)).is_some());
    }
}
