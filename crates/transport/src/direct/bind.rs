//! Binding a fresh UDP socket to one side of a relay allocation.

use std::{
    io,
    net::{Ipv4Addr, Ipv6Addr, SocketAddr},
    time::Duration,
};

use tether_proto::data_path::{Bind, Bound, DataPathTicket};
use tokio::net::UdpSocket;

/// How often a bind is repeated while no answer came.
const RETRY: Duration = Duration::from_millis(100);
/// How long binding may take before the session gives the data path up.
const BIND_TIMEOUT: Duration = Duration::from_secs(1);

/// A UDP socket the relay's data port forwards this side's session through.
pub struct BoundSocket {
    /// The socket, ready for a QUIC endpoint.
    pub socket: std::net::UdpSocket,
    /// The data port's address.
    pub data_port: SocketAddr,
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
    })
}
