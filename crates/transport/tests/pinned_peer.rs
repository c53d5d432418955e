//! The data path's TLS over real QUIC on 127.0.0.1: each side accepts exactly the peer
//! certificate whose fingerprint came over the sealed session stream, and nothing else.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use quinn::{ConnectionError, Endpoint};
use tether_transport::{
    config::{client_config_with, server_config_with, DEFAULT_IDLE_TIMEOUT},
    direct::{DirectIdentity, PinnedPeer},
};

const LOOPBACK: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);

/// Connects a client presenting `client` and pinning `server_pin` to a server presenting
/// `server` and pinning `client_pin`; returns the client's outcome.
async fn handshake(
    server: &DirectIdentity,
    client_pin: [u8; 32],
    client: &DirectIdentity,
    server_pin: [u8; 32],
) -> Result<(), ConnectionError> {
    let config = server_config_with(
        server.certified(),
        Some(PinnedPeer::new(client_pin)),
        DEFAULT_IDLE_TIMEOUT,
    )
    .expect("server config");
    let listener = Endpoint::server(config, LOOPBACK).expect("server endpoint");
    let address = listener.local_addr().expect("server address");
    let accepting = tokio::spawn(async move {
        let incoming = listener.accept().await.expect("an attempt");
        // Keep the connection up until the client has seen the outcome.
        incoming.await.map(|connection| (connection, listener))
    });
    let config = client_config_with(PinnedPeer::new(server_pin), Some(client.certified()))
        .expect("client config");
    let dialer = Endpoint::client(LOOPBACK).expect("client endpoint");
    let connecting = dialer
        .connect_with(config, address, "tether-session")
        .expect("connect");
    let outcome = match connecting.await {
        // The client's certificate is checked after the client's side of the handshake
        // completes: the server's refusal arrives as the connection's close.
        Ok(connection) => match accepting.await.expect("server task") {
            Ok(_) => Ok(()),
            Err(_) => Err(connection.closed().await),
        },
        Err(e) => Err(e),
    };
    dialer.close(0u32.into(), b"done");
    outcome
}

fn identity() -> DirectIdentity {
    DirectIdentity::generate().expect("identity")
}

#[tokio::test]
async fn both_sides_accept_the_pinned_peers() {
    let (server, client) = (identity(), identity());
    handshake(&server, client.fingerprint(), &client, server.fingerprint())
        .await
        .expect("the pinned peers connect");
}

#[tokio::test]
async fn the_viewer_refuses_a_server_other_than_the_pinned_one() {
    let (server, client, expected) = (identity(), identity(), identity());
    let refused = handshake(
        &server,
        client.fingerprint(),
        &client,
        expected.fingerprint(),
    )
    .await
    .expect_err("another server must be refused");
    assert!(
        refused.to_string().contains("not the session's peer"),
        "{refused}"
    );
}

#[tokio::test]
async fn the_agent_refuses_a_client_other_than_the_pinned_one() {
    let (server, client, expected) = (identity(), identity(), identity());
    let refused = handshake(
        &server,
        expected.fingerprint(),
        &client,
        server.fingerprint(),
    )
    .await
    .expect_err("another client must be refused");
    // The agent's refusal reaches the viewer as the connection's close, with the reason.
    assert!(
        matches!(refused, ConnectionError::ConnectionClosed(_))
            && refused.to_string().contains("not the session's peer"),
        "{refused:?}"
    );
}
