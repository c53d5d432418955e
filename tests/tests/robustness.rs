//! Misbehaving clients lose their own connection, never the relay process or other sessions.

use tether_tests::Relay;
use tether_transport::{connect_to_relay, RelayTarget};

async fn send_raw_and_get_closed(target: &RelayTarget, bytes: &[u8]) -> String {
    let relay = connect_to_relay(target).await.expect("connect");
    let (mut send, _recv) = relay.connection.open_bi().await.expect("open stream");
    send.write_all(bytes).await.expect("write");
    match relay.connection.closed().await {
        quinn::ConnectionError::ApplicationClosed(close) => {
            String::from_utf8_lossy(&close.reason).into_owned()
        }
        other => panic!("expected the relay to close the connection, got {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_malformed_messages_end_only_that_connection() {
    let relay = Relay::start(&[]);
    let target = RelayTarget {
        relay: relay.addr.clone(),
        fingerprint: Some(relay.fingerprint.parse().expect("fingerprint")),
        known_relays: relay.dir.path().join("raw_known_relays"),
    };

    let reason = send_raw_and_get_closed(&target, &u32::MAX.to_le_bytes()).await;
    assert!(reason.contains("exceeds"), "{reason}");

    let mut garbage = 3u32.to_le_bytes().to_vec();
    garbage.extend_from_slice(&[0xff, 0xff, 0xff]);
    let reason = send_raw_and_get_closed(&target, &garbage).await;
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
    relay
        .process
        .stderr
        .wait_for_substring("closing connection");
}
