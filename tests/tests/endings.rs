//! How sessions end, through the real relay, agent and viewer on 127.0.0.1: one reason per
//! session, the same in the agent's words, the viewer's and the relay's audit log, for each way
//! a session ends (the user ended it, the technician ended it, a network dropped, the relay
//! shut down, the technician's certificate was revoked). The headless viewer prints its summary
//! whatever the ending.

use std::{
    process::Stdio,
    thread,
    time::{Duration, Instant},
};

use serde_json::Value;
use tether_tests::{
    agent_args, audit, organisation::Organisation, udp_proxy::UdpProxy, wait_with_output, Process,
    Relay,
};

/// How long the viewer may take to report the user's end after a signal reached the agent.
const REPORTED_WITHIN: Duration = Duration::from_secs(1);

/// A session with frames flowing: an agent that asked its user at the terminal (who said yes)
/// and a headless viewer admitted to it.
fn attended_session(relay: &Relay) -> (Process, Process) {
    let (mut agent, code) = relay.attended_agent(7, "320x200");
    let viewer = relay.viewer(&code, &["--headless"]);
    agent.stdout.wait_for("Allow? [y] yes");
    agent.type_line("y");
    admitted(&agent, &viewer);
    (agent, viewer)
}

/// A session with frames flowing with an agent that admits technicians without asking.
fn auto_accepted_session(relay: &Relay) -> (Process, Process) {
    let (agent, code) = relay.agent(7, "320x200");
    let viewer = relay.viewer(&code, &["--headless"]);
    admitted(&agent, &viewer);
    (agent, viewer)
}

/// Waits until the viewer was admitted and has had time for a few updates of the always
/// changing demo desktop.
fn admitted(agent: &Process, viewer: &Process) {
    agent.stdout.wait_for_substring("session started: ");
    viewer.stderr.wait_for_substring("admitted: ");
    thread::sleep(Duration::from_millis(500));
}

/// The reason of the session's one `session_ended` row, once the relay wrote it.
fn recorded_end(relay: &Relay) -> String {
    let rows = relay.wait_for_audit("the session's end", |rows| {
        audit::kinds(rows).contains(&"session_ended")
    });
    let ended: Vec<&Value> = rows
        .iter()
        .filter(|row| row["kind"] == "session_ended")
        .collect();
    assert_eq!(ended.len(), 1, "{}", audit::lines(&rows));
    ended[0]["reason"].as_str().expect("a reason").to_owned()
}

/// Asserts that the headless viewer printed its summary: updates and bytes received (some),
/// the rate, latency, and `ended: {how}`.
fn assert_summary(viewer: &Process, how: &str) {
    let stdout = viewer.stdout.text();
    let received = stdout
        .lines()
        .find_map(|line| line.strip_prefix("received "))
        .unwrap_or_else(|| panic!("no summary in:\n{stdout}"));
    let frames: u64 = received
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {received:?}"));
    assert!(frames > 0, "{stdout}");
    assert!(received.contains(" bytes)"), "{stdout}");
    for line in ["rate: ", "latency p50/p99 ms: "] {
        assert!(
            stdout.lines().any(|l| l.starts_with(line)),
            "no {line:?} in:\n{stdout}"
        );
    }
    assert!(
        stdout.lines().any(|l| l == format!("ended: {how}")),
        "expected \"ended: {how}\" in:\n{stdout}"
    );
}

#[test]
fn the_user_ends_the_session_and_everyone_says_so() {
    let relay = Relay::start(&[]);
    let (mut agent, mut viewer) = attended_session(&relay);
    // Enter on the agent's terminal.
    agent.type_line("");
    agent
        .stdout
        .wait_for("session ended: you ended the session");
    assert_eq!(agent.wait().code(), Some(0), "{}", agent.stderr.text());
    viewer.expect_exit(4, "session ended: the user ended the session");
    assert_summary(&viewer, "the user ended the session");
    assert_eq!(recorded_end(&relay), "user_ended");
}

#[test]
fn ctrl_c_and_sigterm_to_the_agent_end_the_session_as_the_user_within_a_second() {
    for signal in ["INT", "TERM"] {
        let relay = Relay::start(&[]);
        let (mut agent, mut viewer) = attended_session(&relay);
        let sent = Instant::now();
        agent.signal(signal);
        viewer
            .stderr
            .wait_for_substring("session ended: the user ended the session");
        let reported = sent.elapsed();
        eprintln!("SIG{signal}: the viewer reported the user's end after {reported:?}");
        assert!(
            reported < REPORTED_WITHIN,
            "SIG{signal}: the viewer heard after {reported:?}"
        );
        agent
            .stdout
            .wait_for("session ended: you ended the session");
        assert_eq!(agent.wait().code(), Some(0), "{}", agent.stderr.text());
        viewer.expect_exit(4, "session ended: the user ended the session");
        assert_summary(&viewer, "the user ended the session");
        assert_eq!(recorded_end(&relay), "user_ended", "SIG{signal}");
    }
}

#[test]
fn a_signal_to_an_agent_waiting_for_a_technician_withdraws_its_code() {
    let relay = Relay::start(&[]);
    let (mut agent, _code) = relay.attended_agent(7, "320x200");
    agent.signal("INT");
    agent.stdout.wait_for("stopped before a session began");
    assert_eq!(agent.wait().code(), Some(0), "{}", agent.stderr.text());
    relay.wait_for_audit_row("the code withdrawn", |row| {
        row["kind"] == "nameplate_withdrawn"
    });
}

#[test]
fn the_technician_ends_the_session_with_ctrl_c_or_sigterm_and_gets_the_summary() {
    for signal in ["INT", "TERM"] {
        let relay = Relay::start(&[]);
        let (mut agent, mut viewer) = auto_accepted_session(&relay);
        viewer.signal(signal);
        assert_eq!(viewer.wait().code(), Some(0), "{}", viewer.stderr.text());
        assert_summary(&viewer, "you ended the session");
        agent
            .stdout
            .wait_for("session ended: the technician ended the session");
        assert_eq!(agent.wait().code(), Some(0), "{}", agent.stderr.text());
        assert_eq!(recorded_end(&relay), "technician_ended", "SIG{signal}");
    }
}

#[test]
fn a_dropped_network_ends_the_session_as_lost_everywhere() {
    let relay = Relay::start(&["--idle-timeout-secs", "3"]);
    let proxy = UdpProxy::start(relay.addr.parse().expect("relay address"));
    let known = relay.path("agent_known_relays");
    let mut agent = Process::spawn(
        "tether-agent",
        &agent_args(
            &proxy.addr().to_string(),
            &relay.fingerprint,
            7,
            "320x200",
            &["--auto-accept"],
        ),
        &[("TETHER_KNOWN_RELAYS", &known)],
    );
    let code = agent.stdout.wait_for("session code: ");
    let mut viewer = relay.viewer(&code, &["--headless"]);
    admitted(&agent, &viewer);

    // The user's network drops: nothing gets through either way.
    proxy.black_out();
    viewer.expect_exit(4, "session ended: the user's connection was lost");
    assert_summary(&viewer, "the user's connection was lost");
    agent
        .stdout
        .wait_for("session ended: your connection was lost");
    assert_eq!(agent.wait().code(), Some(0), "{}", agent.stderr.text());
    assert_eq!(recorded_end(&relay), "agent_lost");
}

#[test]
fn the_relay_shutting_down_ends_the_session_for_everyone() {
    let mut relay = Relay::start(&[]);
    let (mut agent, mut viewer) = auto_accepted_session(&relay);
    assert!(relay.process.terminate().success());
    agent.stdout.wait_for("session ended: the relay shut down");
    assert_eq!(agent.wait().code(), Some(0), "{}", agent.stderr.text());
    viewer.expect_exit(4, "session ended: the relay shut down");
    assert_summary(&viewer, "the relay shut down");
    assert_eq!(recorded_end(&relay), "relay_shutdown");
}

#[test]
fn a_revoked_certificate_ends_the_technicians_session_everywhere() {
    let org = Organisation::new();
    let machine = org.machine("web-01", "prod");
    let mallory = org.technician("mallory", "admin", "1d");
    let session = org
        .shell_command(&mallory, "web-01", &["sh", "-c", "echo started; sleep 60"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn viewer");
    machine
        .stdout
        .wait_for_substring("session 1: shell opened by mallory");
    org.certs(&["revoke", "mallory"]);
    let cut_off = wait_with_output(session);
    let stderr = String::from_utf8_lossy(&cut_off.stderr);
    assert_eq!(cut_off.status.code(), Some(255), "{stderr}");
    assert!(
        stderr.contains("certificate for mallory was revoked"),
        "{stderr}"
    );
    assert_eq!(recorded_end(&org.relay), "technician_revoked");
    assert_eq!(
        machine.stdout.wait_for("session 1: shell ended: "),
        "the technician's certificate was revoked"
    );
}
