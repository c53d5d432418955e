//! The data path: a technician's session traffic on a QUIC connection of the viewer's and the
//! agent's own, whose UDP datagrams the relay forwards without terminating them (as a TURN
//! server does), instead of on streams the relay terminates, decrypts and re-encrypts.
//!
//! 1. Opening the session, the relay makes an *allocation* on its data port and hands each side
//!    a [`DataPathTicket`]: the viewer in [`crate::control::RelayMessage::Opened`], the agent in
//!    the forwarded stream's [`crate::control::StreamHeader`].
//! 2. Each side sends a [`Bind`] datagram with its ticket from a fresh UDP socket to the data
//!    port, until the relay answers [`Bound`]. From then on the relay forwards every datagram
//!    from one bound address to the other, and drops everything else. Each side repeats its
//!    bind every few seconds while the session lasts, so a side whose address changed (a NAT
//!    that remapped it, another network) is bound again at its new one.
//! 3. Over the sealed session stream (end to end, after the handshake), each side sends a
//!    [`DirectPath::Offer`] naming the SHA-256 of a fresh self-signed certificate. The viewer
//!    then opens a QUIC connection to the agent through the data port, each side pinning the
//!    other's certificate: the relay forwards the TLS handshake but cannot take part in it. The
//!    viewer's [`DirectPath::Decision`] tells the agent which way the session goes on; the
//!    session stream stays open, quiet, until the session ends.
//!
//! If any step fails (no ticket, a data port UDP cannot reach), the session goes on over the
//! sealed session stream, as attended sessions do.

use serde::{Deserialize, Serialize};

use crate::ProtoError;

/// What lets one side bind its socket to its half of an allocation.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataPathTicket {
    /// The relay's data port (on the address the client reached the relay at).
    pub port: u16,
    /// The allocation.
    pub allocation: u64,
    /// This side's secret: whoever presents it is this side.
    pub secret: [u8; 32],
}

impl std::fmt::Debug for DataPathTicket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataPathTicket")
            .field("port", &self.port)
            .field("allocation", &self.allocation)
            .finish_non_exhaustive()
    }
}

/// Client → relay data port: "datagrams from this address are this ticket holder's".
#[derive(Clone, PartialEq, Eq)]
pub struct Bind {
    /// The allocation.
    pub allocation: u64,
    /// The side's secret from its ticket.
    pub secret: [u8; 32],
}

/// Relay data port → client: the [`Bind`] for `allocation` took effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bound {
    /// The allocation bound.
    pub allocation: u64,
}

/// Sealed messages on the session stream, right after the handshake, that settle whether the
/// session moves to the data path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DirectPath {
    /// Each way: the SHA-256 of the DER certificate this side presents on the data path (its
    /// socket is bound), or `None` when it cannot use one.
    Offer {
        /// The certificate's SHA-256.
        certificate: Option<[u8; 32]>,
    },
    /// Viewer → agent, after both offered: whether its connection through the data port was
    /// established (`direct`), or the session stays on this stream.
    Decision {
        /// The session continues on the data path.
        direct: bool,
    },
}

/// The first bytes of a [`Bind`]. As a QUIC packet this would be a short-header packet, but
/// the relay only reads datagrams as binds from addresses that are not bound yet.
const BIND_MAGIC: [u8; 8] = *b"TETHER:B";
/// The first bytes of a [`Bound`].
const BOUND_MAGIC: [u8; 8] = *b"TETHER:A";

impl Bind {
    /// Its length on the wire.
    pub const LEN: usize = 8 + 8 + 32;

    /// The bind for `ticket`.
    pub fn for_ticket(ticket: &DataPathTicket) -> Self {
        Self {
            allocation: ticket.allocation,
            secret: ticket.secret,
        }
    }

    /// The datagram.
    pub fn encode(&self) -> [u8; Self::LEN] {
        let mut out = [0; Self::LEN];
        out[..8].copy_from_slice(&BIND_MAGIC);
        out[8..16].copy_from_slice(&self.allocation.to_be_bytes());
        out[16..].copy_from_slice(&self.secret);
        out
    }

    /// Parses a datagram; anything but exactly a bind is an error.
    pub fn decode(datagram: &[u8]) -> Result<Self, ProtoError> {
        let fields = datagram
            .strip_prefix(&BIND_MAGIC)
            .filter(|rest| rest.len() == Self::LEN - BIND_MAGIC.len())
            .ok_or(bad("bind"))?;
        let (allocation, secret) = fields.split_at(8);
        Ok(Self {
            allocation: u64::from_be_bytes(allocation.try_into().map_err(|_| bad("bind"))?),
            secret: secret.try_into().map_err(|_| bad("bind"))?,
        })
    }
}

impl std::fmt::Debug for Bind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bind")
            .field("allocation", &self.allocation)
            .finish_non_exhaustive()
    }
}

impl Bound {
    /// Its length on the wire.
    pub const LEN: usize = 8 + 8;

    /// The datagram.
    pub fn encode(&self) -> [u8; Self::LEN] {
        let mut out = [0; Self::LEN];
        out[..8].copy_from_slice(&BOUND_MAGIC);
        out[8..].copy_from_slice(&self.allocation.to_be_bytes());
        out
    }

    /// Parses a datagram; anything but exactly an acknowledgement is an error.
    pub fn decode(datagram: &[u8]) -> Result<Self, ProtoError> {
        let allocation = datagram
            .strip_prefix(&BOUND_MAGIC)
            .filter(|rest| rest.len() == 8)
            .ok_or(bad("bound"))?;
        Ok(Self {
            allocation: u64::from_be_bytes(allocation.try_into().map_err(|_| bad("bound"))?),
        })
    }
}

fn bad(what: &'static str) -> ProtoError {
    ProtoError::NotADataPathMessage(what)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_bind_survives_the_wire() {
        let bind = Bind {
            allocation: 0x0102_0304_0506_0708,
            secret: [9; 32],
        };
        assert_eq!(Bind::decode(&bind.encode()).unwrap(), bind);
        let bound = Bound { allocation: 77 };
        assert_eq!(Bound::decode(&bound.encode()).unwrap(), bound);
    }

    #[test]
    fn near_misses_are_not_binds() {
        let bind = Bind {
            allocation: 1,
            secret: [3; 32],
        }
        .encode();
        assert!(Bind::decode(&bind[..Bind::LEN - 1]).is_err());
        let mut longer = bind.to_vec();
        longer.push(0);
        assert!(Bind::decode(&longer).is_err());
        let mut other_magic = bind;
        other_magic[7] = b'A';
        assert!(Bind::decode(&other_magic).is_err());
        assert!(Bound::decode(&bind).is_err());
        assert!(Bound::decode(&[]).is_err());
    }

    #[test]
    fn tickets_do_not_print_their_secret() {
        let ticket = DataPathTicket {
            port: 4500,
            allocation: 3,
            secret: [0xab; 32],
        };
        let printed = format!("{ticket:?} {:?}", Bind::for_ticket(&ticket));
        assert!(!printed.contains("171"), "{printed}");
        assert!(printed.contains("4500"), "{printed}");
    }

    proptest! {
        #[test]
        fn arbitrary_datagrams_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = Bind::decode(&bytes);
            let _ = Bound::decode(&bytes);
        }
    }
}
