//! Misbehaving clients lose their own connection, never the relay process or other sessions:
//! against a relay that is forwarding a healthy session, each is cut off with a precise reason
//! while the healthy session's bytes keep arriving intact, and the relay's forwarded streams
//! stay bounded. Also clients of another protocol version, the per-address connection limit,
//! and that handshakes begun in an address's name cannot lock its owner out.

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
use tether_proto::{
    control::{ClientMessage, Refusal, RelayMessage, StreamHeader},
    encode_message, PROTOCOL_VERSION,
};
use tether_tests::{
    relay_client::{connect_raw, one_session, pair, Client},
    within, Relay,
};
use tether_transport::{MessageReceiver, MessageSender};

use crate::scrape;

/// The relay's close code for a client that broke the protocol.
const CLOSE_PROTOCOL_ERROR: u32 = 1;
/// Streams a session may have forwarded at once in these tests.
const MAX_STREAMS: u32 = 16;

/// The healthy stream's byte at `offset`: a pattern that reveals lost, repeated or reordered
/// bytes.
fn pattern(offset: u64) -> u8 {
    (offset % 251) as u8
}

/// A relay on loopback with its metrics endpoint on, letting `per_address` connections in from
/// one address.
fn start_relay(per_address: u32) -> Arc<Relay> {
    let per_address = per_address.to_string();
    let max_streams = MAX_STREAMS.to_string();
    Arc::new(Relay::start(&[
        "--metrics-listen",
        "127.0.0.1:0",
        "--max-streams-per-session",
        &max_streams,
        "--max-connections-per-address",
        &per_address,
    ]))
}

/// One metric's current value, scraped over HTTP off the runtime.
async fn metric(relay: &Relay, name: &'static str) -> f64 {
    let addr = relay.metrics.clone().expect("metrics on");
    tokio::task::spawn_blocking(move || scrape::metric(&addr, name))
        .await
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
    let relay = start_relay(64);

    // The healthy session: the viewer streams the pattern, the agent checks every byte.
    let healthy = pair(&relay).await;
    let (up, _down) = healthy.viewer.relay.connection.open_bi().await.unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let writer = tokio::spawn(write_steadily(up, stop.clone()));
    let (_agent_send, agent_recv) = within(
        "the healthy stream",
        healthy.agent.relay.connection.accept_bi(),
    )
    .await
    .unwrap();
    let received = Arc::new(AtomicU64::new(0));
    let reader = tokio::spawn(read_and_check(
        agent_recv,
        healthy.session_id,
        received.clone(),
    ));

    // (a) Garbage on the control stream: a 4-byte message no decoder accepts.
    let garbage = tokio::spawn({
        let relay = relay.clone();
        async move {
            let client = connect_raw(&relay).await.unwrap();
            let (mut send, _recv) = client.connection.open_bi().await.unwrap();
            send.write_all(&[4, 0, 0, 0, 0xff, 0xff, 0xff, 0xff])
                .await
                .unwrap();
            closed_by_relay(&client.connection, Duration::from_secs(5)).await
        }
    });
    // (b) An oversized frame announced on the control stream.
    let oversized = tokio::spawn({
        let relay = relay.clone();
        async move {
            let client = connect_raw(&relay).await.unwrap();
            let (mut send, _recv) = client.connection.open_bi().await.unwrap();
            send.write_all(&u32::MAX.to_le_bytes()).await.unwrap();
            closed_by_relay(&client.connection, Duration::from_secs(5)).await
        }
    });
    // (c) A paired viewer opening 1000 streams at once.
    let flooding_viewer = tokio::spawn({
        let relay = relay.clone();
        async move {
            let flood = pair(&relay).await;
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
        let relay = relay.clone();
        async move {
            let client = Client::connect(&relay).await;
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
    let deadline = Instant::now() + Duration::from_millis(500);
    while received.load(Ordering::Relaxed) <= before {
        assert!(Instant::now() < deadline, "the healthy stream flows on");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let written = within("the healthy stream's end", writer).await.unwrap();
    assert_eq!(
        within("the healthy stream's last bytes", reader)
            .await
            .unwrap(),
        written,
        "every byte arrived, in order"
    );

    // And a whole new session works.
    let later = one_session(&relay).await;
    assert_ne!(later.nameplate, healthy.nameplate);
    assert!(later.session_id > healthy.session_id);
    healthy.viewer.hang_up().await;
    healthy.agent.hang_up().await;
}

#[tokio::test]
async fn connections_past_the_per_address_limit_are_refused_before_the_handshake() {
    let relay = start_relay(2);

    let first = Client::connect(&relay).await;
    let second = Client::connect(&relay).await;
    let refused = connect_raw(&relay).await;
    assert!(refused.is_err(), "a third connection from 127.0.0.1");
    assert_eq!(
        metric(&relay, "tether_relay_connections_refused_total").await,
        1.0
    );

    // Hanging up frees the slot (once the relay has seen the close).
    first.hang_up().await;
    let deadline = Instant::now() + Duration::from_secs(5);
    let third = loop {
        if let Ok(connection) = connect_raw(&relay).await {
            break connection;
        }
        assert!(Instant::now() < deadline, "the slot was never given back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    third.connection.close(0u32.into(), b"done");
    within("hang-up", third.endpoint.wait_idle()).await;
    second.hang_up().await;
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
    let relay = start_relay(2);

    // Two handshakes from 127.0.0.1 that will never finish fill its count...
    let target: SocketAddr = relay.addr.parse().unwrap();
    let _silent =
        tokio::task::spawn_blocking(move || [silent_handshake(target), silent_handshake(target)])
            .await
            .unwrap();
    // ...so the next attempts are asked to retry, and having proved they receive packets at
    // 127.0.0.1, get in up to the limit.
    let first = Client::connect(&relay).await;
    let second = Client::connect(&relay).await;
    let refused = connect_raw(&relay).await;
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
}

/// Connects, opens a stream and writes `bytes` on it; returns the reason the relay gives when
/// it closes the connection for it.
async fn send_raw_and_get_closed(relay: &Relay, bytes: &[u8]) -> String {
    let client = connect_raw(relay).await.expect("connect");
    let (mut send, _recv) = within("stream", client.connection.open_bi())
        .await
        .expect("open stream");
    within("write", send.write_all(bytes)).await.expect("write");
    closed_by_relay(&client.connection, Duration::from_secs(5)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_of_another_protocol_version_is_refused_by_name() {
    let relay = Relay::start(&[]);
    let connected = connect_raw(&relay).await.expect("connect");
    let (send, recv) = within("stream", connected.connection.open_bi())
        .await
        .expect("open stream");
    let mut send = MessageSender::<ClientMessage>::new(send);
    let mut recv = MessageReceiver::<RelayMessage>::new(recv);
    let hello = ClientMessage::Hello {
        version: PROTOCOL_VERSION + 1,
        software: "tether from the future".to_owned(),
    };
    within("send", send.send(&hello)).await.expect("send hello");
    let answer = within("the relay's answer", recv.recv())
        .await
        .expect("an answer");
    assert_eq!(
        answer,
        Some(RelayMessage::Refused {
            reason: Refusal::VersionMismatch {
                relay: PROTOCOL_VERSION
            }
        })
    );
    // The audit log records no row for a connection that never got past its hello.
    relay
        .process
        .stderr
        .wait_for_substring("refused: protocol version mismatch");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_malformed_messages_end_only_that_connection() {
    let relay = Relay::start(&[]);

    let reason = send_raw_and_get_closed(&relay, &u32::MAX.to_le_bytes()).await;
    assert!(reason.contains("exceeds"), "{reason}");

    let mut garbage = 3u32.to_le_bytes().to_vec();
    garbage.extend_from_slice(&[0xff, 0xff, 0xff]);
    let reason = send_raw_and_get_closed(&relay, &garbage).await;
    assert!(reason.contains("malformed"), "{reason}");

    // The relay is still alive and pairs a healthy session.
    let relay = tokio::task::spawn_blocking(move || {
        let (_agent, code) = relay.agent(2, "320x200");
        let mut viewer = relay.viewer(&code, &["--frames", "3"]);
        assert!(viewer.wait().success(), "{}", viewer.stderr.text());
        relay
    })
    .await
    .expect("healthy session");
    // Nor for connections that broke the protocol before any session.
    relay
        .process
        .stderr
        .wait_for_substring("closing connection");
}
