//! Misbehaving clients against a relay that is forwarding a healthy session: each is cut off
//! with a precise reason while the healthy session's bytes keep arriving intact, and the relay's
//! forwarded streams stay bounded. Also the per-address connection limit, and that handshakes
//! begun in an address's name cannot lock its owner out.

// Shared with the other relay tests; this one needs only some of it.
#[allow(dead_code)]
mod support;

use std::{
    net::{SocketAddr, UdpSocket},
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use quinn::{Connection, ConnectionError, RecvStream, SendStream};
use tether_certs::{PinnedRelayVerifier, RelayTrust, RELAY_SERVER_NAME};
use tether_proto::{control::StreamHeader, encode_message};
use tether_relay::{Relay, RelayConfig};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// The relay's close code for a client that broke the protocol.
const CLOSE_PROTOCOL_ERROR: u32 = 1;
/// Streams a session may have forwarded at once in these tests.
const MAX_STREAMS: u32 = 16;

/// The healthy stream's byte at `offset`: a pattern that reveals lost, repeated or reordered
/// bytes.
fn pattern(offset: u64) -> u8 {
    (offset % 251) as u8
}

/// A relay on loopback with its metrics endpoint on.
async fn start_relay(dir: &std::path::Path, per_address: u32) -> Relay {
    let mut config = RelayConfig::new(([127, 0, 0, 1], 0).into(), dir.join("relay"));
    config.metrics_listen = Some(([127, 0, 0, 1], 0).into());
    config.max_streams_per_session = MAX_STREAMS;
    config.max_connections_per_address = per_address;
    Relay::start(config).await.unwrap()
}

/// One metric's current value, scraped over HTTP.
async fn metric(relay: &Relay, name: &str) -> f64 {
    let mut stream = TcpStream::connect(relay.metrics_addr().unwrap())
        .await
        .unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: relay\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    response
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{name} missing in\n{response}"))
        .parse()
        .unwrap()
}

/// Waits (at most `within`) for the relay to close `connection`, and returns its reason;
/// panics if the close is not a protocol error.
async fn closed_by_relay(connection: &Connection, within: Duration) -> String {
    let closed = tokio::time::timeout(within, connection.closed())
        .await
        .expect("the relay closes the connection in time");
    match closed {
        ConnectionError::ApplicationClosed(close) => {
            assert_eq!(close.error_code, CLOSE_PROTOCOL_ERROR.into(), "{close:?}");
            String::from_utf8_lossy(&close.reason).into_owned()
        }
        other => panic!("expected the relay to close with a reason, got {other:?}"),
    }
}

/// Writes the pattern on `send` until `stop`, then finishes; returns the bytes written.
async fn write_steadily(mut send: SendStream, stop: Arc<AtomicBool>) -> u64 {
    let mut offset = 0u64;
    let mut chunk = vec![0u8; 16 * 1024];
    while !stop.load(Ordering::Relaxed) {
        for byte in chunk.iter_mut() {
            *byte = pattern(offset);
            offset += 1;
        }
        send.write_all(&chunk).await.unwrap();
    }
    send.finish().unwrap();
    offset
}

/// Reads the stream header, then checks every byte against the pattern, counting them in
/// `received`, until the stream ends; returns the count.
async fn read_and_check(mut recv: RecvStream, session_id: u64, received: Arc<AtomicU64>) -> u64 {
    let mut expected = Vec::new();
    encode_message(
        &StreamHeader {
            session_id,
            data_path: None,
        },
        &mut expected,
    )
    .unwrap();
    let mut header = vec![0; expected.len()];
    recv.read_exact(&mut header).await.unwrap();
    assert_eq!(header, expected, "the relay's header comes first");
    let mut offset = 0u64;
    while let Some(chunk) = recv.read_chunk(64 * 1024, true).await.unwrap() {
        for &byte in chunk.bytes.iter() {
            assert_eq!(byte, pattern(offset), "byte {offset} of the healthy stream");
            offset += 1;
        }
        received.store(offset, Ordering::Relaxed);
    }
    offset
}

/// Opens `count` streams on `connection` at once, writes a byte on each and keeps them all
/// open until the connection closes.
fn open_streams(connection: &Connection, count: usize) {
    for _ in 0..count {
        let connection = connection.clone();
        tokio::spawn(async move {
            if let Ok((mut send, _recv)) = connection.open_bi().await {
                let _ = send.write_all(b"x").await;
                connection.closed().await;
            }
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn misbehaving_clients_are_cut_off_while_a_healthy_session_keeps_streaming() {
    let dir = tempfile::tempdir().unwrap();
    let known = dir.path().join("known_relays");
    let relay = start_relay(dir.path(), 64).await;
    let addr = relay.local_addr().to_string();
    let fingerprint = relay.fingerprint();

    // The healthy session: the viewer streams the pattern, the agent checks every byte.
    let healthy = support::pair(&addr, fingerprint, &known).await;
    let (up, _down) = healthy.viewer.relay.connection.open_bi().await.unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = tokio::spawn(write_steadily(up, stop.clone()));
    let (_agent_send, agent_recv) = healthy.agent.relay.connection.accept_bi().await.unwrap();
    let received = Arc::new(AtomicU64::new(0));
    let reader = tokio::spawn(read_and_check(
        agent_recv,
        healthy.session_id,
        received.clone(),
    ));

    // (a) Garbage on the control stream: a 4-byte message no decoder accepts.
    let garbage = tokio::spawn({
        let (addr, known) = (addr.clone(), known.clone());
        async move {
            let client = support::connect_raw(&addr, fingerprint, &known)
                .await
                .unwrap();
            let (mut send, _recv) = client.connection.open_bi().await.unwrap();
            send.write_all(&[4, 0, 0, 0, 0xff, 0xff, 0xff, 0xff])
                .await
                .unwrap();
            closed_by_relay(&client.connection, Duration::from_secs(5)).await
        }
    });
    // (b) An oversized frame announced on the control stream.
    let oversized = tokio::spawn({
        let (addr, known) = (addr.clone(), known.clone());
        async move {
            let client = support::connect_raw(&addr, fingerprint, &known)
                .await
                .unwrap();
            let (mut send, _recv) = client.connection.open_bi().await.unwrap();
            send.write_all(&u32::MAX.to_le_bytes()).await.unwrap();
            closed_by_relay(&client.connection, Duration::from_secs(5)).await
        }
    });
    // (c) A paired viewer opening 1000 streams at once.
    let flooding_viewer = tokio::spawn({
        let (addr, known) = (addr.clone(), known.clone());
        async move {
            let flood = support::pair(&addr, fingerprint, &known).await;
            open_streams(&flood.viewer.relay.connection, 1000);
            let reason =
                closed_by_relay(&flood.viewer.relay.connection, Duration::from_secs(10)).await;
            flood.agent.hang_up().await;
            reason
        }
    });
    // (c') A connection that greeted the relay but never registered or joined, opening 1000
    // streams at once: the relay never accepts them, and drops the connection on time.
    let flooding_stranger = tokio::spawn({
        let (addr, known) = (addr.clone(), known.clone());
        async move {
            let client = support::Client::connect(&addr, fingerprint, &known).await;
            open_streams(&client.relay.connection, 1000);
            closed_by_relay(&client.relay.connection, Duration::from_secs(15)).await
        }
    });

    // While the attacks run, the healthy stream never stalls for long and the relay forwards at
    // most the healthy stream plus one session's cap.
    let attacks = [garbage, oversized, flooding_viewer, flooding_stranger];
    let mut most_streams = 0f64;
    let mut last = (0, Instant::now());
    while !attacks.iter().all(|attack| attack.is_finished()) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        most_streams =
            most_streams.max(metric(&relay, "tether_relay_forwarded_streams_open").await);
        let now = received.load(Ordering::Relaxed);
        if now > last.0 {
            last = (now, Instant::now());
        }
        assert!(
            last.1.elapsed() < Duration::from_secs(2),
            "the healthy stream stalled at {now} bytes"
        );
    }
    let [garbage, oversized, flooding_viewer, flooding_stranger] = attacks;
    let reason = garbage.await.unwrap();
    assert!(reason.contains("malformed message"), "{reason}");
    let reason = oversized.await.unwrap();
    assert!(
        reason.contains("message of 4294967295 bytes exceeds the 65536-byte limit"),
        "{reason}"
    );
    let reason = flooding_viewer.await.unwrap();
    assert_eq!(
        reason,
        format!("opened more than {MAX_STREAMS} streams at once")
    );
    let reason = flooding_stranger.await.unwrap();
    assert!(reason.contains("no register or join in time"), "{reason}");
    assert!(
        most_streams <= f64::from(1 + MAX_STREAMS),
        "{most_streams} streams forwarded at once"
    );

    // After the attacks: the flood's streams are gone and the healthy one still flows.
    let deadline = Instant::now() + Duration::from_secs(5);
    while metric(&relay, "tether_relay_forwarded_streams_open").await != 1.0 {
        assert!(Instant::now() < deadline, "the flood's streams linger");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let before = received.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        received.load(Ordering::Relaxed) > before,
        "the healthy stream flows on"
    );
    stop.store(true, Ordering::Relaxed);
    let written = writer.await.unwrap();
    assert_eq!(
        reader.await.unwrap(),
        written,
        "every byte arrived, in order"
    );

    // And a whole new session works.
    let later = support::one_session(&addr, fingerprint, dir.path()).await;
    assert_ne!(later.nameplate, healthy.nameplate);
    assert!(later.session_id > healthy.session_id);
    healthy.viewer.hang_up().await;
    healthy.agent.hang_up().await;
    relay.shutdown().await;
}

#[tokio::test]
async fn connections_past_the_per_address_limit_are_refused_before_the_handshake() {
    let dir = tempfile::tempdir().unwrap();
    let known = dir.path().join("known_relays");
    let relay = start_relay(dir.path(), 2).await;
    let addr = relay.local_addr().to_string();
    let fingerprint = relay.fingerprint();

    let first = support::Client::connect(&addr, fingerprint, &known).await;
    let second = support::Client::connect(&addr, fingerprint, &known).await;
    let refused = support::connect_raw(&addr, fingerprint, &known).await;
    assert!(refused.is_err(), "a third connection from 127.0.0.1");
    assert_eq!(
        metric(&relay, "tether_relay_connections_refused_total").await,
        1.0
    );

    // Hanging up frees the slot (once the relay has seen the close).
    first.hang_up().await;
    let deadline = Instant::now() + Duration::from_secs(5);
    let third = loop {
        if let Ok(connection) = support::connect_raw(&addr, fingerprint, &known).await {
            break connection;
        }
        assert!(Instant::now() < deadline, "the slot was never given back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    third.connection.close(0u32.into(), b"done");
    third.endpoint.wait_idle().await;
    second.hang_up().await;
    relay.shutdown().await;
}

/// Sends `relay` one QUIC Initial from a socket of its own and never answers: to the relay, a
/// handshake from an address that has not shown it receives packets, as one sent in a forged
/// address's name. Returns once the relay has answered, so the handshake is under way; the
/// socket is returned to keep its port taken.
fn silent_handshake(relay: SocketAddr) -> UdpSocket {
    let mut endpoint = quinn_proto::Endpoint::new(Default::default(), None, false, None);
    let config =
        tether_transport::config::client_config(PinnedRelayVerifier::new(RelayTrust::FirstUse))
            .unwrap();
    let (_, mut connection) = endpoint
        .connect(std::time::Instant::now(), config, relay, RELAY_SERVER_NAME)
        .unwrap();
    let mut initial = Vec::new();
    let transmit = connection
        .poll_transmit(std::time::Instant::now(), 1, &mut initial)
        .expect("a new connection has its Initial to send");
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.send_to(&initial[..transmit.size], relay).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut answer = [0; 2048];
    socket
        .recv_from(&mut answer)
        .expect("the relay answers the Initial");
    socket
}

#[tokio::test]
async fn handshakes_begun_in_an_addresss_name_do_not_lock_its_owner_out() {
    let dir = tempfile::tempdir().unwrap();
    let known = dir.path().join("known_relays");
    let relay = start_relay(dir.path(), 2).await;
    let addr = relay.local_addr().to_string();
    let fingerprint = relay.fingerprint();

    // Two handshakes from 127.0.0.1 that will never finish fill its count...
    let target = relay.local_addr();
    let _silent =
        tokio::task::spawn_blocking(move || [silent_handshake(target), silent_handshake(target)])
            .await
            .unwrap();
    // ...so the next attempts are asked to retry, and having proved they receive packets at
    // 127.0.0.1, get in up to the limit.
    let first = support::Client::connect(&addr, fingerprint, &known).await;
    let second = support::Client::connect(&addr, fingerprint, &known).await;
    let refused = support::connect_raw(&addr, fingerprint, &known).await;
    assert!(
        refused.is_err(),
        "a third validated connection from 127.0.0.1"
    );
    assert_eq!(
        metric(&relay, "tether_relay_connections_retried_total").await,
        3.0
    );
    assert_eq!(
        metric(&relay, "tether_relay_connections_refused_total").await,
        1.0
    );
    first.hang_up().await;
    second.hang_up().await;
    relay.shutdown().await;
}
