//! The data port's allocations and routing decisions, without sockets: which datagram goes
//! where, which binds are genuine.

use std::{collections::HashMap, net::SocketAddr};

use rand::RngCore;
use ring::hmac;
use tether_proto::data_path::{Bind, Bound};

/// The two ends of an allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The technician's viewer.
    Viewer,
    /// The machine's agent.
    Agent,
}

impl Side {
    fn index(self) -> usize {
        match self {
            Side::Viewer => 0,
            Side::Agent => 1,
        }
    }

    fn other(self) -> Self {
        match self {
            Side::Viewer => Side::Agent,
            Side::Agent => Side::Viewer,
        }
    }
}

/// What to do with one received datagram.
#[derive(Debug, PartialEq, Eq)]
pub enum Route<'a, T> {
    /// Send it on, unchanged, to the other side of the sender's allocation.
    Forward {
        /// The other side's address.
        to: SocketAddr,
        /// The sender's side.
        from: Side,
        /// What the allocation was made with (the session's byte counters).
        tag: &'a T,
    },
    /// Answer the sender with this acknowledgement (its bind took effect).
    Answer(Bound),
    /// Drop it, for this reason.
    Drop(Dropped),
}

/// Why a datagram was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dropped {
    /// From an address that is not bound and not a valid bind.
    UnknownSource,
    /// The sender is bound but the other side is not yet.
    PeerNotBound,
}

/// The tables were full: the relay holds as many allocations as it allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the data port holds its maximum of {0} allocations")]
pub struct TableFull(pub usize);

/// One allocation's two secrets (as handed out) and its identifier.
pub struct Allocated {
    /// The allocation's identifier.
    pub allocation: u64,
    /// The viewer's secret.
    pub viewer: [u8; 32],
    /// The agent's secret.
    pub agent: [u8; 32],
}

struct Entry<T> {
    /// Each side's secret, kept as an HMAC tag so that checking a bind takes constant time.
    tags: [hmac::Tag; 2],
    addrs: [Option<SocketAddr>; 2],
    tag: T,
}

/// Allocations by identifier, and bound addresses by address.
pub struct Table<T> {
    key: hmac::Key,
    allocations: HashMap<u64, Entry<T>>,
    bound: HashMap<SocketAddr, (u64, Side)>,
    next: u64,
    limit: usize,
}

impl<T> Table<T> {
    /// An empty table for at most `limit` allocations at once.
    pub fn new(rng: &mut impl RngCore, limit: usize) -> Self {
        let mut key = [0u8; 32];
        rng.fill_bytes(&mut key);
        Self {
            key: hmac::Key::new(hmac::HMAC_SHA256, &key),
            allocations: HashMap::new(),
            bound: HashMap::new(),
            next: rng.next_u64(),
            limit,
        }
    }

    /// Makes an allocation with fresh secrets; `tag` comes back with every forwarded datagram.
    pub fn allocate(&mut self, rng: &mut impl RngCore, tag: T) -> Result<Allocated, TableFull> {
        if self.allocations.len() >= self.limit {
            return Err(TableFull(self.limit));
        }
        let (mut viewer, mut agent) = ([0u8; 32], [0u8; 32]);
        rng.fill_bytes(&mut viewer);
        rng.fill_bytes(&mut agent);
        let allocation = self.next;
        self.next = self.next.wrapping_add(1);
        self.allocations.insert(
            allocation,
            Entry {
                tags: [
                    hmac::sign(&self.key, &viewer),
                    hmac::sign(&self.key, &agent),
                ],
                addrs: [None, None],
                tag,
            },
        );
        Ok(Allocated {
            allocation,
            viewer,
            agent,
        })
    }

    /// Ends an allocation: its addresses' datagrams are dropped from now on.
    pub fn release(&mut self, allocation: u64) {
        if let Some(entry) = self.allocations.remove(&allocation) {
            for addr in entry.addrs.into_iter().flatten() {
                self.bound.remove(&addr);
            }
        }
    }

    /// Decides what happens to `datagram`, received from `from`. A genuine bind (re)binds its
    /// side to `from`, so a client whose address changed binds again and carries on.
    pub fn route(&mut self, from: SocketAddr, datagram: &[u8]) -> Route<'_, T> {
        if let Ok(bind) = Bind::decode(datagram) {
            if let Some(side) = self.genuine_side(&bind) {
                self.bind(bind.allocation, side, from);
                return Route::Answer(Bound {
                    allocation: bind.allocation,
                });
            }
        }
        let Some(&(allocation, from_side)) = self.bound.get(&from) else {
            return Route::Drop(Dropped::UnknownSource);
        };
        let Some(entry) = self.allocations.get(&allocation) else {
            return Route::Drop(Dropped::UnknownSource);
        };
        match entry.addrs[from_side.other().index()] {
            Some(to) => Route::Forward {
                to,
                from: from_side,
                tag: &entry.tag,
            },
            None => Route::Drop(Dropped::PeerNotBound),
        }
    }

    fn genuine_side(&self, bind: &Bind) -> Option<Side> {
        let entry = self.allocations.get(&bind.allocation)?;
        [Side::Viewer, Side::Agent].into_iter().find(|side| {
            hmac::verify(&self.key, &bind.secret, entry.tags[side.index()].as_ref()).is_ok()
        })
    }

    fn bind(&mut self, allocation: u64, side: Side, addr: SocketAddr) {
        let Some(entry) = self.allocations.get_mut(&allocation) else {
            return;
        };
        if let Some(old) = entry.addrs[side.index()].replace(addr) {
            self.bound.remove(&old);
        }
        // An address belongs to one side of one allocation: a socket rebound elsewhere
        // leaves its old place.
        if let Some((previous, previous_side)) = self.bound.insert(addr, (allocation, side)) {
            if (previous, previous_side) != (allocation, side) {
                if let Some(entry) = self.allocations.get_mut(&previous) {
                    entry.addrs[previous_side.index()] = None;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::{rngs::StdRng, SeedableRng};

    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    fn bind(allocation: u64, secret: [u8; 32]) -> [u8; Bind::LEN] {
        Bind { allocation, secret }.encode()
    }

    fn table() -> (Table<&'static str>, StdRng) {
        let mut rng = StdRng::seed_from_u64(7);
        (Table::new(&mut rng, 2), rng)
    }

    #[test]
    fn bound_sides_reach_each_other_and_nobody_else() {
        let (mut table, mut rng) = table();
        let a = table.allocate(&mut rng, "session 1").unwrap();
        let (viewer, agent, stranger) = (addr(1000), addr(2000), addr(3000));
        assert_eq!(
            table.route(viewer, b"quic"),
            Route::Drop(Dropped::UnknownSource)
        );
        let bound = Route::Answer(Bound {
            allocation: a.allocation,
        });
        assert_eq!(table.route(viewer, &bind(a.allocation, a.viewer)), bound);
        assert_eq!(
            table.route(viewer, b"quic"),
            Route::Drop(Dropped::PeerNotBound)
        );
        assert_eq!(table.route(agent, &bind(a.allocation, a.agent)), bound);
        let to_agent = Route::Forward {
            to: agent,
            from: Side::Viewer,
            tag: &"session 1",
        };
        assert_eq!(table.route(viewer, b"quic"), to_agent);
        let to_viewer = Route::Forward {
            to: viewer,
            from: Side::Agent,
            tag: &"session 1",
        };
        assert_eq!(table.route(agent, b"quic"), to_viewer);
        assert_eq!(
            table.route(stranger, b"quic"),
            Route::Drop(Dropped::UnknownSource)
        );
        // A repeated bind (its answer was lost) is answered again, not forwarded.
        assert_eq!(table.route(viewer, &bind(a.allocation, a.viewer)), bound);
    }

    #[test]
    fn a_wrong_secret_or_allocation_binds_nothing() {
        let (mut table, mut rng) = table();
        let a = table.allocate(&mut rng, "one").unwrap();
        let b = table.allocate(&mut rng, "two").unwrap();
        let mut wrong = a.viewer;
        wrong[31] ^= 1;
        let thief = addr(4000);
        for attempt in [
            bind(a.allocation, wrong),
            bind(b.allocation, a.viewer),
            bind(a.allocation.wrapping_add(5), a.viewer),
        ] {
            assert_eq!(
                table.route(thief, &attempt),
                Route::Drop(Dropped::UnknownSource)
            );
        }
        assert_eq!(table.bound.len(), 0);
    }

    #[test]
    fn a_side_that_moves_binds_again_and_its_old_address_is_forgotten() {
        let (mut table, mut rng) = table();
        let a = table.allocate(&mut rng, "s").unwrap();
        table.route(addr(1), &bind(a.allocation, a.viewer));
        table.route(addr(2), &bind(a.allocation, a.agent));
        table.route(addr(5), &bind(a.allocation, a.viewer));
        assert_eq!(
            table.route(addr(1), b"x"),
            Route::Drop(Dropped::UnknownSource)
        );
        assert!(matches!(table.route(addr(2), b"x"), Route::Forward { to, .. } if to == addr(5)));
    }

    #[test]
    fn released_allocations_forward_nothing_and_make_room() {
        let (mut table, mut rng) = table();
        let a = table.allocate(&mut rng, "a").unwrap();
        table.allocate(&mut rng, "b").unwrap();
        assert_eq!(table.allocate(&mut rng, "c").err(), Some(TableFull(2)));
        table.route(addr(1), &bind(a.allocation, a.viewer));
        table.route(addr(2), &bind(a.allocation, a.agent));
        table.release(a.allocation);
        assert_eq!(
            table.route(addr(1), b"x"),
            Route::Drop(Dropped::UnknownSource)
        );
        assert_eq!(
            table.route(addr(1), &bind(a.allocation, a.viewer)),
            Route::Drop(Dropped::UnknownSource)
        );
        assert_eq!(table.allocations.len(), 1);
        assert!(table.allocate(&mut rng, "c").is_ok());
    }
}
