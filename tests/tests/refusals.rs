//! Codes that must not work, and sessions that end from one side.

use tether_tests::Relay;

/// Waits for the audit log's record of a join with `code` refused for `reason`.
fn expect_join_refused(relay: &Relay, code: &str, reason: &str) {
    let nameplate = &code[..7];
    relay.wait_for_audit_row(
        &format!("join with {nameplate} refused as {reason}"),
        |row| {
            row["kind"] == "join_refused"
                && row["nameplate"] == nameplate
                && row["reason"] == reason
        },
    );
}

/// A well-formed code with another nameplate (first half) than `code`.
fn other_code(code: &str) -> String {
    let digits: String = code.chars().filter(char::is_ascii_digit).collect();
    let nameplate: u32 = digits[..6].parse().expect("six digits");
    let other = format!("{:06}", (nameplate + 1) % 1_000_000);
    format!("{}-{}-{}", &other[..3], &other[3..], &code[8..])
}

#[test]
fn a_wrong_code_is_refused_and_logged() {
    let relay = Relay::start(&[]);
    let (_agent, code) = relay.agent(1, "320x200");
    let mut viewer = relay.viewer(&other_code(&code), &["--frames", "1"]);
    viewer.expect_exit(3, "unknown session code");
    expect_join_refused(&relay, &other_code(&code), "unknown_code");
}

#[test]
fn a_used_code_is_refused_the_second_time() {
    let relay = Relay::start(&[]);
    let (_agent, code) = relay.agent(1, "320x200");
    let mut first = relay.viewer(&code, &["--frames", "1"]);
    assert!(
        first.wait().success(),
        "first viewer: {}",
        first.stderr.text()
    );
    let mut second = relay.viewer(&code, &["--frames", "1"]);
    second.expect_exit(3, "already used");
    expect_join_refused(&relay, &code, "code_already_used");
}

#[test]
fn an_expired_code_is_refused_and_the_agent_gets_a_new_one() {
    let relay = Relay::start(&["--code-ttl-secs", "1"]);
    let (agent, code) = relay.agent(1, "320x200");
    let fresh = agent.stdout.wait_for("session code: ");
    assert_ne!(
        fresh, code,
        "the agent should receive a new code after expiry"
    );
    let mut viewer = relay.viewer(&code, &["--frames", "1"]);
    viewer.expect_exit(3, "expired");
    expect_join_refused(&relay, &code, "expired_code");
}

#[test]
fn a_malformed_code_is_a_usage_error() {
    let relay = Relay::start(&[]);
    let mut viewer = relay.viewer("12-34", &["--frames", "1"]);
    assert_eq!(viewer.wait().code(), Some(2));
    assert!(viewer.stderr.text().contains("invalid session code"));
}

#[test]
fn killing_the_agent_mid_session_ends_the_viewer_with_a_clear_message() {
    let relay = Relay::start(&["--idle-timeout-secs", "3"]);
    let (mut agent, code) = relay.agent(1, "320x200");
    let mut viewer = relay.viewer(&code, &[]);
    agent.stdout.wait_for("session started");
    viewer.stderr.wait_for_substring("joined the session");
    agent.kill();
    let status = viewer.wait();
    assert_eq!(status.code(), Some(4), "stderr: {}", viewer.stderr.text());
    assert!(
        viewer
            .stderr
            .text()
            .contains("session ended: the user's connection was lost"),
        "{}",
        viewer.stderr.text()
    );
}

#[test]
fn killing_the_viewer_mid_session_ends_the_agent_with_a_clear_message() {
    // The relay notices the vanished viewer after 3 s, and waits 1 s for it to come back.
    let relay = Relay::start(&["--idle-timeout-secs", "3", "--resume-grace-secs", "1"]);
    let (mut agent, code) = relay.agent(1, "320x200");
    let mut viewer = relay.viewer(&code, &[]);
    viewer.stderr.wait_for_substring("admitted");
    viewer.kill();
    agent.stdout.wait_for_substring("session paused");
    assert!(agent.wait().success(), "agent: {}", agent.stderr.text());
    assert_eq!(
        agent.stdout.wait_for("session ended: "),
        "the technician's connection was lost"
    );
}
