//! Misbehaving clients lose their own connection, never the relay process or other sessions.

use tether_proto::control::{ClientMessage, Refusal, RelayMessage};
use tether_tests::Relay;
use tether_transport::{connect_to_relay, MessageReceiver, MessageSender, RelayTarget};

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

fn pinned_target(relay: &Relay, known_relays: &str) -> RelayTarget {
    RelayTarget {
        relay: relay.addr.clone(),
        fingerprint: Some(relay.fingerprint.parse().expect("fingerprint")),
        known_relays: relay.dir.path().join(known_relays),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_of_another_protocol_version_is_refused_by_name() {
    let relay = Relay::start(&[]);
    let connected = connect_to_relay(&pinned_target(&relay, "version_known_relays"))
        .await
        .expect("connect");
    let (send, recv) = connected.connection.open_bi().await.expect("open stream");
    let mut send = MessageSender::<ClientMessage>::new(send);
    let mut recv = MessageReceiver::<RelayMessage>::new(recv);
    send.send(&ClientMessage::Hello {
        version: tether_proto::PROTOCOL_VERSION + 1,
        software: "tether from the future".to_owned(),
    })
    .await
    .expect("send hello");
    let answer = recv.recv().await.expect("an answer");
    assert_eq!(
        answer,
        Some(RelayMessage::Refused {
            reason: Refusal::VersionMismatch {
                relay: tether_proto::PROTOCOL_VERSION
            }
        })
    );
    relay
        .process
        .stderr
        .wait_for_substring("refused: protocol version mismatch");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_malformed_messages_end_only_that_connection() {
    let relay = Relay::start(&[]);
    let target = pinned_target(&relay, "raw_known_relays");

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
