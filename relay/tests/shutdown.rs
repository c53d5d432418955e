//! Graceful shutdown of the relay binary: on SIGTERM every connected agent and viewer is told
//! `Ended { RelayShutdown }`, and once they hang up the relay exits 0 without waiting out its
//! grace period.

// Shared with the other relay tests; this one needs only some of it.
#[allow(dead_code)]
mod support;

use std::{
    process::Command,
    time::{Duration, Instant},
};

use tether_proto::control::{ClientMessage, EndReason, RelayMessage};

const RELAY_SHUTDOWN: RelayMessage = RelayMessage::Ended {
    reason: EndReason::RelayShutdown,
};

#[test]
fn sigterm_tells_every_client_and_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let known = dir.path().join("known_relays");
    let mut relay = support::RunningRelay::start(&dir.path().join("relay"), &[]);
    let (addr, fingerprint) = (relay.addr.clone(), relay.fingerprint);

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (paired, mut waiting) = runtime.block_on(async {
        let paired = support::pair(&addr, fingerprint, &known).await;
        let mut waiting = support::Client::connect(&addr, fingerprint, &known).await;
        let registered = waiting
            .say(ClientMessage::Register {
                name: "desk-2".to_owned(),
                auto_accept: false,
            })
            .await;
        assert!(matches!(registered, RelayMessage::Registered { .. }));
        (paired, waiting)
    });

    let signalled = Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &relay.child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());

    runtime.block_on(async {
        let support::Paired {
            mut agent,
            mut viewer,
            ..
        } = paired;
        assert_eq!(agent.hear().await, RELAY_SHUTDOWN, "the agent in a session");
        assert_eq!(viewer.hear().await, RELAY_SHUTDOWN, "the viewer");
        assert_eq!(waiting.hear().await, RELAY_SHUTDOWN, "the waiting agent");
        for client in [agent, viewer, waiting] {
            client.hang_up().await;
        }
    });

    let deadline = signalled + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = relay.child.try_wait().unwrap() {
            break status;
        }
        assert!(Instant::now() < deadline, "the relay did not exit");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
    assert!(
        signalled.elapsed() < Duration::from_secs(4),
        "clients hung up at once, so the relay need not wait out its grace period: {:?}",
        signalled.elapsed()
    );
}
