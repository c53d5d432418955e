//! Graceful shutdown of the relay binary: on SIGTERM every connected agent and viewer is told
//! `Ended { RelayShutdown }`, and once they hang up the relay exits 0 without waiting out its
//! grace period.

use std::time::{Duration, Instant};

use tether_proto::control::{ClientMessage, EndReason, RelayMessage};
use tether_tests::{
    relay_client::{pair, Client, Paired},
    Relay,
};

const RELAY_SHUTDOWN: RelayMessage = RelayMessage::Ended {
    reason: EndReason::RelayShutdown,
};

#[test]
fn sigterm_tells_every_client_and_exits_zero() {
    let mut relay = Relay::start(&[]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (paired, mut waiting) = runtime.block_on(async {
        let paired = pair(&relay).await;
        let mut waiting = Client::connect(&relay).await;
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
    relay.process.ask_to_stop();

    runtime.block_on(async {
        let Paired {
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

    assert_eq!(relay.process.wait().code(), Some(0));
    assert!(
        signalled.elapsed() < Duration::from_secs(4),
        "clients hung up at once, so the relay need not wait out its grace period: {:?}",
        signalled.elapsed()
    );
}
