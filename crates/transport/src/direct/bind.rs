//! Binding a fresh UDP socket to one side of a relay allocation, and keeping it bound while
//! the side's address may change under it.

use std::{
    io,
    net::{Ipv4Addr, Ipv6Addr, SocketAddr},
    time::Duration,
};

use tether_proto::data_path::{Bind, Bound, DataPathTicket};
use tokio::{net::UdpSocket, task::JoinHandle};
use tracing::debug;

/// How often a bind is repeated while no answer came.
const RETRY: Duration = Duration::from_millis(100);
/// How long binding may take before the session gives the data path up.
const BIND_TIMEOUT: Duration = Duration::from_secs(1);
/// How often a side repeats its bind while its link lives. The relay forwards only from bound
/// addresses, so a side whose address changed (a NAT that remapped its port, a laptop on
/// another network) is cut off until its next bind: this keeps that well inside the link's
/// idle timeout, as QUIC's own migration does for connections to the relay.
const REBIND_EVERY: Duration = Duration::from_secs(2);

/// A UDP socket the relay's data port forwards this side's session through.
pub struct BoundSocket {
    /// The socket, ready for a QUIC endpoint.
    pub socket: std::net::UdpSocket,
    /// The data port's address.
    pub data_port: SocketAddr,
    bind: [u8; Bind::LEN],
}

impl BoundSocket {
    /// Starts repeating the bind from this socket every [`REBIND_EVERY`] until the returned
    /// guard is dropped. The relay answers each with a [`Bound`], which the QUIC endpoint on
    /// the socket drops as too short to be a packet of its own.
    pub fn keep_bound(&self) -> io::Result<KeepBound> {
        // Another descriptor of the same socket: same address, so the same NAT mapping.
        let socket = self.socket.try_clone()?;
        let (bind, data_port) = (self.bind, self.data_port);
        Ok(KeepBound(tokio::spawn(async move {
            let mut every = tokio::time::interval(REBIND_EVERY);
            every.tick().await;
            loop {
                every.tick().await;
                // Non-blocking, as the endpoint set it; a failed send is a lost datagram.
                if let Err(e) = socket.send_to(&bind, data_port) {
                    debug!("data path: repeating the bind: {e}");
                }
            }
        })))
    }
}

/// Repeats a side's bind while it lives (see [`BoundSocket::keep_bound`]).
pub struct KeepBound(JoinHandle<()>);

impl Drop for KeepBound {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Opens a UDP socket and binds it with `ticket` at the data port on `relay`'s host.
pub async fn bind(relay: SocketAddr, ticket: &DataPathTicket) -> io::Result<BoundSocket> {
    let data_port = SocketAddr::new(relay.ip(), ticket.port);
    let local: SocketAddr = match data_port {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = UdpSocket::bind(local).await?;
    let bind = Bind::for_ticket(ticket).encode();
    let answered = tokio::time::timeout(BIND_TIMEOUT, async {
        let mut buf = [0u8; Bound::LEN + 1];
        loop {
            socket.send_to(&bind, data_port).await?;
            match tokio::time::timeout(RETRY, socket.recv_from(&mut buf)).await {
                Ok(Ok((len, from))) => {
                    let bound = Bound::decode(&buf[..len]).ok();
                    if from == data_port && bound.is_some_and(|b| b.allocation == ticket.allocation)
                    {
                        return io::Result::Ok(());
                    }
                }
                // Such as an ICMP "port unreachable" for the last bind: try again later.
                Ok(Err(_)) => tokio::time::sleep(RETRY).await,
                Err(_) => {}
            }
        }
    })
    .await;
    match answered {
        Ok(result) => result?,
        Err(_) => {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the relay's data port {data_port} did not answer"),
            ))
        }
    }
    Ok(BoundSocket {
        socket: socket.into_std()?,
        data_port,
        bind,
    })
}
