//! Graceful shutdown of the relay binary: on SIGTERM every connected agent and viewer is told
//! `Ended { RelayShutdown }`, and once they hang up the relay exits 0 without waiting out its
//! grace period.

// Shared with the other relay tests; this one needs only some of it.
#[allow(dead_code)]
mod support;

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use tether_proto::control::{ClientMessage, EndReason, RelayMessage};

/// Kills the relay even when an assertion fails.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const RELAY_SHUTDOWN: RelayMessage = RelayMessage::Ended {
    reason: EndReason::RelayShutdown,
};

#[test]
fn sigterm_tells_every_client_and_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let known = dir.path().join("known_relays");
    let child = Command::new(env!("CARGO_BIN_EXE_tether-relay"))
        .args(["--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("relay"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut relay = Running(child);
    let mut lines = BufReader::new(relay.0.stdout.take().unwrap()).lines();
    let mut line = || lines.next().unwrap().unwrap();
    let addr = line().strip_prefix("listening on ").unwrap().to_owned();
    let fingerprint = line()
        .strip_prefix("fingerprint: ")
        .unwrap()
        .parse()
        .unwrap();

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (paired, mut waiting) = runtime.block_on(async {
        let paired = support::pair(&addr, fingerprint, &known).await;
        let mut waiting = support::Client::connect(&addr, fingerprint, &known).await;
        let registered = waiting
            .say(ClientMessage::Register {
                name: "desk-2".to_owned(),
            })
            .await;
        assert!(matches!(registered, RelayMessage::Registered { .. }));
        (paired, waiting)
    });

    let signalled = Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &relay.0.id().to_string()])
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
        if let Some(status) = relay.0.try_wait().unwrap() {
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
