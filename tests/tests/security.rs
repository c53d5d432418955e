//! End-to-end security with the real binaries: wrong codes, code guessing, consent, and a
//! malicious relay that tampers with the session or tries to join the key exchange.

use std::path::Path;

use tether_tests::{
    agent_args, audit,
    evil_relay::{EvilRelay, Tamper},
    Process, Relay,
};

/// `code` with its secret half (last six digits) changed: the same agent, the wrong password.
fn wrong_secret(code: &str) -> String {
    let digits: String = code.chars().filter(char::is_ascii_digit).collect();
    let secret: u32 = digits[6..].parse().expect("six digits");
    let other = format!("{:06}", (secret + 1) % 1_000_000);
    format!("{}-{}-{}", &code[..7], &other[..3], &other[3..])
}

#[test]
fn a_wrong_secret_fails_on_both_sides_and_burns_the_code() {
    let relay = Relay::start(&[]);
    let (agent, code) = relay.agent(1, "320x200");
    let mut viewer = relay.viewer(&wrong_secret(&code), &["--frames", "1"]);
    viewer.expect_exit(6, "key confirmation failed");

    let burnt = agent.stdout.wait_for("code burnt: ");
    assert!(burnt.contains("key confirmation failed"), "{burnt}");
    let fresh = agent.stdout.wait_for("session code: ");
    assert_ne!(fresh, code);
    // The burnt code is gone for good, even with the right secret.
    let mut late = relay.viewer(&code, &["--frames", "1"]);
    late.expect_exit(3, "already used");
    // The new one works.
    let mut viewer = relay.viewer(&fresh, &["--frames", "2"]);
    assert_eq!(viewer.wait().code(), Some(0), "{}", viewer.stderr.text());
}

#[test]
fn three_burnt_codes_stop_the_agent() {
    let relay = Relay::start(&[]);
    let (mut agent, mut code) = relay.agent(1, "320x200");
    for attempt in 1..=3 {
        let mut viewer = relay.viewer(&wrong_secret(&code), &["--frames", "1"]);
        viewer.expect_exit(6, "key confirmation failed");
        if attempt < 3 {
            code = agent.stdout.wait_for("session code: ");
        }
    }
    agent.expect_exit(1, "someone is guessing codes");
}

#[test]
fn the_relay_rate_limits_code_guessing() {
    let relay = Relay::start(&[]);
    let _agent = relay.agent(1, "320x200");
    let mut limited_after = None;
    for attempt in 1..=30 {
        let guess = format!("{:03}-000-000-000", attempt);
        let mut viewer = relay.viewer(&guess, &["--frames", "1"]);
        assert_eq!(viewer.wait().code(), Some(3), "{}", viewer.stderr.text());
        if viewer.stderr.text().contains("too many join attempts") {
            limited_after = Some(attempt);
            break;
        }
    }
    // The default allows a burst of 20 attempts per address, then one per 3 s (a slow run may
    // earn one or two more).
    let limited_after = limited_after.expect("the rate limit never engaged");
    assert!(
        (21..=23).contains(&limited_after),
        "limited after {limited_after}"
    );
    relay.wait_for_audit_row("join refused as rate limited", |row| {
        row["kind"] == "join_refused" && row["reason"] == "rate_limited"
    });
}

#[test]
fn the_user_declines_and_the_viewer_is_told() {
    let relay = Relay::start(&[]);
    let (mut agent, code) = relay.attended_agent(1, "320x200");
    let mut viewer = relay.viewer(&code, &["--frames", "1"]);
    agent.stdout.wait_for_substring("Allow?");
    agent.type_line("n");
    viewer.expect_exit(3, "declined");
    agent.stdout.wait_for_substring("session declined");
    assert_eq!(agent.wait().code(), Some(0));
}

#[test]
fn the_user_grants_view_only_after_comparing_the_same_digits() {
    let relay = Relay::start(&[]);
    let (mut agent, code) = relay.attended_agent(1, "320x200");
    let mut viewer = relay.viewer(&code, &["--frames", "3"]);
    let agent_digits = agent.stdout.wait_for("Security digits: ");
    let viewer_digits = viewer.stderr.wait_for("security digits: ");
    assert_eq!(
        agent_digits.split('.').next(),
        Some(viewer_digits.as_str()),
        "both sides show the same digits"
    );
    agent.stdout.wait_for_substring("[v] view only");
    agent.type_line("v");
    assert_eq!(viewer.wait().code(), Some(0), "{}", viewer.stderr.text());
    let stderr = viewer.stderr.text();
    assert!(
        stderr.contains("admitted: view\n") || stderr.ends_with("admitted: view"),
        "{stderr}"
    );
    agent.stdout.wait_for_substring("session started: ");
    assert!(
        agent.stdout.text().contains("(view)"),
        "{}",
        agent.stdout.text()
    );
    assert_eq!(agent.wait().code(), Some(0));
}

/// An agent and a viewer that went through an evil relay (kept running with its files).
struct ThroughEvilRelay {
    agent: Process,
    viewer: Process,
    snapshot: std::path::PathBuf,
    _relay: EvilRelay,
    _dir: tempfile::TempDir,
}

/// Runs an agent and a viewer through an evil relay until the viewer exits.
fn through_evil_relay(tamper: Tamper) -> ThroughEvilRelay {
    let relay = EvilRelay::start(tamper);
    let dir = tempfile::tempdir().expect("tempdir");
    let known = dir.path().join("known");
    let known = known.to_str().expect("utf-8");
    let agent = Process::spawn(
        "tether-agent",
        &agent_args(
            &relay.addr,
            &relay.fingerprint,
            1,
            "320x200",
            &["--auto-accept"],
        ),
        &[("TETHER_KNOWN_RELAYS", known)],
    );
    let code = agent.stdout.wait_for("session code: ");
    let snapshot = dir.path().join("snapshot.png");
    let mut viewer = Process::spawn(
        "tether-viewer",
        &[
            "join",
            &code,
            "--relay",
            &relay.addr,
            "--relay-fingerprint",
            &relay.fingerprint,
            "--frames",
            "5",
            "--snapshot",
            snapshot.to_str().expect("utf-8"),
        ],
        &[("TETHER_KNOWN_RELAYS", known)],
    );
    viewer.wait();
    ThroughEvilRelay {
        agent,
        viewer,
        snapshot,
        _relay: relay,
        _dir: dir,
    }
}

fn assert_nothing_accepted(viewer: &mut Process, snapshot: &Path, words: &str) {
    viewer.expect_exit(6, words);
    assert!(!snapshot.exists(), "a picture was accepted");
}

#[test]
fn a_flipped_bit_is_caught_by_both_sides() {
    let mut run = through_evil_relay(Tamper::FlipBit);
    // The agent catches the viewer's flipped hello first and hangs up, so the viewer sees its
    // stream end without the agent's authenticated close.
    assert_nothing_accepted(&mut run.viewer, &run.snapshot, "session not secure");
    let burnt = run.agent.stdout.wait_for("code burnt: ");
    assert!(burnt.contains("failed authentication"), "{burnt}");
}

#[test]
fn a_replayed_record_is_caught_by_both_sides() {
    let mut run = through_evil_relay(Tamper::Replay);
    assert_nothing_accepted(
        &mut run.viewer,
        &run.snapshot,
        "record 1 failed authentication",
    );
    run.agent.expect_exit(1, "record 1 failed authentication");
}

#[test]
fn a_dropped_record_is_caught() {
    let mut run = through_evil_relay(Tamper::Drop);
    run.viewer.expect_exit(6, "record 1 failed authentication");
    // The agent sees its stream end without a close record (truncated), or reset, which looks
    // like a lost viewer: then it waits for a resume only the real viewer could make, and ends
    // when the relay goes away. Either way it ends with an error.
    let status = run.agent.wait();
    let stderr = run.agent.stderr.text();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("truncated") || stderr.contains("went away while the session waited"),
        "{stderr}"
    );
}

#[test]
fn a_relay_guessing_the_secret_is_caught_by_both_sides() {
    let mut run = through_evil_relay(Tamper::GuessCode);
    assert_nothing_accepted(&mut run.viewer, &run.snapshot, "key confirmation failed");
    let burnt = run.agent.stdout.wait_for("code burnt: ");
    assert!(burnt.contains("key confirmation failed"), "{burnt}");
}

#[test]
fn auto_accepting_agents_are_marked_in_the_relays_audit_log() {
    let relay = Relay::start(&[]);
    let (_auto, auto_code) = relay.agent(1, "64x64");
    let (_asking, asking_code) = relay.attended_agent(2, "64x64");
    let nameplate = |code: &str| code[..7].to_owned();
    let rows = relay.wait_for_audit("both agents' nameplates", |rows| {
        rows.iter()
            .filter(|row| row["kind"] == "nameplate_issued")
            .count()
            == 2
    });
    let row_of = |code: &str| {
        rows.iter()
            .find(|row| row["kind"] == "nameplate_issued" && row["nameplate"] == nameplate(code))
            .unwrap_or_else(|| panic!("no row for {code} in\n{}", audit::lines(&rows)))
    };
    assert_eq!(row_of(&auto_code)["reason"], "auto_accept");
    assert!(row_of(&asking_code)["reason"].is_null());
}
