//! Liveness over real QUIC on 127.0.0.1: a quiet connection outlives the idle timeout on the
//! client's keep-alives alone, and the server sends none of its own (a relay would otherwise
//! handle twice the packets for every idle agent).

use std::{
    net::{IpAddr, Ipv4Addr, SocketAddr},
    time::Duration,
};

use quinn::{Connection, Endpoint};
use tether_transport::{
    config::{client_config_with, server_config_with, KEEP_ALIVE, MIN_IDLE_TIMEOUT},
    direct::{DirectIdentity, PinnedPeer},
};

const LOOPBACK: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0);

/// PING frames a connection has sent so far (keep-alives, and path MTU probes early on).
fn pings_sent(connection: &Connection) -> u64 {
    connection.stats().frame_tx.ping
}

#[tokio::test]
async fn a_quiet_connection_outlives_the_idle_timeout_on_the_clients_keep_alives_alone() {
    let server = DirectIdentity::generate().expect("server identity");
    let client = DirectIdentity::generate().expect("client identity");
    let config = server_config_with(
        server.certified(),
        Some(PinnedPeer::new(client.fingerprint())),
        MIN_IDLE_TIMEOUT,
    )
    .expect("server config");
    let listener = Endpoint::server(config, LOOPBACK).expect("server endpoint");
    let address = listener.local_addr().expect("server address");
    let config = client_config_with(
        PinnedPeer::new(server.fingerprint()),
        Some(client.certified()),
    )
    .expect("client config");
    let dialer = Endpoint::client(LOOPBACK).expect("client endpoint");
    let dialing = dialer
        .connect_with(config, address, "tether-session")
        .expect("connect");
    let incoming = listener.accept().await.expect("an attempt");
    let (on_client, on_server) = tokio::join!(dialing, incoming);
    let (on_client, on_server) = (on_client.expect("client side"), on_server.expect("server"));

    // Let the handshake's and path MTU discovery's packets settle before counting.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (client_before, server_before) = (pings_sent(&on_client), pings_sent(&on_server));
    let quiet = MIN_IDLE_TIMEOUT + Duration::from_secs(1);
    tokio::time::sleep(quiet).await;

    assert!(
        on_client.close_reason().is_none(),
        "{:?}",
        on_client.close_reason()
    );
    assert!(
        on_server.close_reason().is_none(),
        "{:?}",
        on_server.close_reason()
    );
    let keep_alives = pings_sent(&on_client) - client_before;
    let expected = (quiet.as_millis() / KEEP_ALIVE.as_millis()) as u64 - 1;
    assert!(
        keep_alives >= expected,
        "the client sent {keep_alives} keep-alives in {quiet:?}, expected at least {expected}"
    );
    assert_eq!(
        pings_sent(&on_server) - server_before,
        0,
        "the server sent keep-alives"
    );
    dialer.close(0u32.into(), b"done");
}
