//! The relay restarting under waiting agents, with the real binaries.

use std::{
    process::Command,
    time::{Duration, Instant},
};

use tether_tests::{binary, Relay};

#[test]
fn waiting_agents_are_back_with_a_new_code_within_3_s_of_a_relay_restart() {
    let mut relay = Relay::start(&[]);
    let (agent, first_code) = relay.agent(1, "320x200");

    relay.restart();
    let back = Instant::now();
    let code = agent.stdout.wait_for("session code: ");
    let took = back.elapsed();
    assert!(
        took <= Duration::from_secs(3),
        "the agent took {took:?} to come back"
    );
    assert_ne!(code, first_code, "a new relay session means a new code");
    assert!(agent
        .stdout
        .text()
        .contains("relay unreachable: the relay shut down"));

    // The new code works, and the audit log survived the restart intact.
    let mut viewer = relay.viewer(&code, &["--frames", "2"]);
    assert_eq!(viewer.wait().code(), Some(0), "{}", viewer.stderr.text());
    let verify = Command::new(binary("tether-relay"))
        .args(["audit", "verify", "--data-dir", &relay.path("relay")])
        .output()
        .expect("run audit verify");
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stderr)
    );
}
