//! The source network a client connects from, which every per-source limit of the relay counts
//! by: an IPv4 address, or the /64 an IPv6 address belongs to.
//!
//! An IPv6 subscriber is given a whole /64 (often more), so counting by address would give one
//! attacker 2⁶⁴ addresses, each with its own limits. An IPv4 address is counted alone: a
//! subscriber has one (behind which a whole office may share it through NAT).

use std::{
    fmt,
    net::{IpAddr, Ipv6Addr},
};

/// An IPv4 address or an IPv6 /64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Network {
    /// One IPv4 address (IPv4-mapped IPv6 addresses, as a dual-stack socket reports IPv4
    /// clients, included).
    V4([u8; 4]),
    /// The first 64 bits of an IPv6 address.
    V6([u8; 8]),
}

impl Network {
    /// The network `address` belongs to.
    pub fn of(address: IpAddr) -> Self {
        match address.to_canonical() {
            IpAddr::V4(v4) => Network::V4(v4.octets()),
            IpAddr::V6(v6) => {
                let mut prefix = [0; 8];
                prefix.copy_from_slice(&v6.octets()[..8]);
                Network::V6(prefix)
            }
        }
    }
}

impl fmt::Display for Network {
    /// `192.0.2.1`, or `2001:db8:1:2::/64`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Network::V4(octets) => IpAddr::from(*octets).fmt(f),
            Network::V6(prefix) => {
                let mut octets = [0; 16];
                octets[..8].copy_from_slice(prefix);
                write!(f, "{}/64", Ipv6Addr::from(octets))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn ipv6_addresses_of_one_64_are_one_network_and_ipv4_addresses_are_each_their_own() {
        assert_eq!(
            Network::of(ip("2001:db8:1:2::1")),
            Network::of(ip("2001:db8:1:2:ffff:ffff:ffff:ffff"))
        );
        assert_ne!(
            Network::of(ip("2001:db8:1:2::1")),
            Network::of(ip("2001:db8:1:3::1"))
        );
        assert_ne!(Network::of(ip("192.0.2.1")), Network::of(ip("192.0.2.2")));
        assert_eq!(
            Network::of(ip("::ffff:192.0.2.1")),
            Network::of(ip("192.0.2.1")),
            "an IPv4 client seen through a dual-stack socket"
        );
    }

    #[test]
    fn networks_print_as_an_address_or_a_prefix() {
        assert_eq!(Network::of(ip("192.0.2.1")).to_string(), "192.0.2.1");
        assert_eq!(
            Network::of(ip("2001:db8:1:2:3:4:5:6")).to_string(),
            "2001:db8:1:2::/64"
        );
    }
}
