//! Outages with the real binaries: the relay restarting under waiting agents, and a viewer's
//! network blipping mid-session (through a UDP proxy the test blacks out), which the viewer
//! survives by taking the session back.

use std::{
    thread,
    time::{Duration, Instant},
};

use tether_proto::{
    control::{Refusal, RelayMessage},
    secure::{AbortReason, Handshake},
};
use tether_screen::DemoDesktop;
use tether_tests::{
    agent_args, audit,
    scripted_viewer::{ask_to_resume, forge_resume, ScriptedViewer},
    snapshot::{read_png_as_bgra, snapshot_frame_number},
    udp_proxy::UdpProxy,
    Process, Relay,
};

#[test]
fn waiting_agents_are_back_with_a_new_code_within_3_s_of_a_relay_restart() {
    let agent = back_with_a_new_code_within_3_s_of(Relay::restart);
    assert!(agent
        .stdout
        .text()
        .contains("relay unreachable: the relay shut down"));
}

#[test]
fn waiting_agents_are_back_with_a_new_code_within_3_s_of_a_relay_crash() {
    // No goodbye reaches the agent. The restarted relay answers its next keep-alive with a
    // stateless reset the agent believes (the relay's endpoint secret survives in its data
    // directory), so the agent does not wait out its 10 s idle timeout.
    let agent = back_with_a_new_code_within_3_s_of(Relay::crash_and_restart);
    let output = agent.stdout.text();
    assert!(output.contains("relay unreachable: "), "{output}");
}

/// Starts a relay and a waiting agent, puts the relay through `outage`, and checks that the
/// agent shows a new code within 3 s, that a viewer can join with it, and that the audit log
/// came through intact. Returns the agent.
fn back_with_a_new_code_within_3_s_of(outage: impl FnOnce(&mut Relay)) -> Process {
    let mut relay = Relay::start(&[]);
    let (agent, first_code) = relay.agent(1, "320x200");

    outage(&mut relay);
    let back = Instant::now();
    let code = agent.stdout.wait_for("session code: ");
    let took = back.elapsed();
    assert!(
        took <= Duration::from_secs(3),
        "the agent took {took:?} to come back"
    );
    assert_ne!(code, first_code, "a new relay session means a new code");

    let mut viewer = relay.viewer(&code, &["--frames", "2"]);
    assert_eq!(viewer.wait().code(), Some(0), "{}", viewer.stderr.text());
    relay.verify_audit();
    agent
}

/// Starts an auto-accepting agent sharing demo desktop `seed` of `size` at most `fps` frames
/// per second.
fn agent_at(relay: &Relay, seed: u64, size: &str, fps: &str) -> (Process, String) {
    let known = relay.path("agent_known_relays");
    let agent = Process::spawn(
        "tether-agent",
        &agent_args(
            &relay.addr,
            &relay.fingerprint,
            seed,
            size,
            &["--auto-accept", "--max-fps", fps],
        ),
        &[("TETHER_KNOWN_RELAYS", &known)],
    );
    let code = agent.stdout.wait_for("session code: ");
    (agent, code)
}

#[test]
fn a_viewer_whose_network_blips_resumes_without_a_new_code_or_consent_and_converges() {
    // The relay declares a silent connection dead after 3 s, and keeps its session 20 s.
    let relay = Relay::start(&["--idle-timeout-secs", "3", "--resume-grace-secs", "20"]);
    let proxy = UdpProxy::start(relay.addr.parse().expect("relay address"));
    // 10 frames a second: the viewer's 40 frames span the outage, before and after.
    let (mut agent, code) = agent_at(&relay, 7, "640x360", "10");
    let snapshot = relay.path("resumed.png");
    let known = relay.path("viewer_known_relays");
    let via = proxy.addr().to_string();
    let mut viewer = Process::spawn(
        "tether-viewer",
        &[
            "join",
            &code,
            "--relay",
            &via,
            "--relay-fingerprint",
            &relay.fingerprint,
            "--snapshot",
            &snapshot,
            "--frames",
            "40",
        ],
        &[("TETHER_KNOWN_RELAYS", &known)],
    );
    viewer.stderr.wait_for_substring("admitted");

    // The network between viewer and relay goes quiet for longer than the idle timeout: both
    // ends declare the connection dead; the agent keeps the session.
    proxy.black_out();
    agent.stdout.wait_for_substring("session paused");
    viewer.stderr.wait_for_substring("taking the session back");
    // The viewer's first attempts meet the outage too.
    thread::sleep(Duration::from_secs(2));
    proxy.restore();
    let back = Instant::now();
    viewer.stderr.wait_for_substring("session resumed after");
    let took = back.elapsed();
    agent.stdout.wait_for_substring("session resumed");
    eprintln!("the session was resumed {took:?} after the network came back");
    assert!(
        took < Duration::from_secs(5),
        "resuming took {took:?} once the network was back"
    );

    let status = viewer.wait();
    assert!(status.success(), "viewer: {}", viewer.stderr.text());
    let stdout = viewer.stdout.text();
    assert!(stdout.contains("resumed 1 time"), "{stdout}");
    // The framebuffer the viewer kept, updated over the new stream, is the agent's screen.
    let line = viewer.stdout.wait_for("snapshot: ");
    let frame = snapshot_frame_number(&line);
    let (width, height, pixels) = read_png_as_bgra(&snapshot);
    let expected = DemoDesktop::new(640, 360, 7).frame(frame);
    assert_eq!((width, height), (expected.width(), expected.height()));
    assert!(
        pixels == expected.pixels(),
        "snapshot differs from demo frame {frame}"
    );

    // One code, one consent: the same session all along.
    assert!(agent.wait().success(), "agent: {}", agent.stderr.text());
    let said = agent.stdout.text();
    assert_eq!(said.matches("session code: ").count(), 1, "{said}");
    assert_eq!(said.matches("session started").count(), 1, "{said}");
    let rows = relay.wait_for_audit("the suspension and the resumption", |rows| {
        let kinds = audit::kinds(rows);
        kinds.contains(&"session_suspended") && kinds.contains(&"session_resumed")
    });
    let kinds = audit::kinds(&rows);
    for kind in ["session_suspended", "session_resumed"] {
        assert_eq!(
            kinds.iter().filter(|&&k| k == kind).count(),
            1,
            "{kind} in\n{}",
            audit::lines(&rows)
        );
    }
}

#[test]
fn the_relay_refuses_wrong_tickets_and_tickets_past_the_grace_period() {
    let relay = Relay::start(&["--idle-timeout-secs", "3", "--resume-grace-secs", "2"]);
    let proxy = UdpProxy::start(relay.addr.parse().expect("relay address"));
    let (mut agent, code) = relay.agent(1, "320x200");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let viewer =
            ScriptedViewer::join(&relay, &proxy.addr().to_string(), &code, "scripted").await;
        assert_eq!(viewer.grace_secs, 2);
        let mut wrong = viewer.ticket.clone();
        wrong.0[0] ^= 1;
        let (_, answer) = ask_to_resume(&relay, viewer.session_id, wrong).await;
        assert_eq!(
            answer,
            RelayMessage::Refused {
                reason: Refusal::ResumeInvalid
            }
        );

        proxy.black_out();
        agent.stdout.wait_for_substring("session paused");
        agent
            .stdout
            .wait_for_substring("session ended: the technician's connection was lost");
        let (_, answer) = ask_to_resume(&relay, viewer.session_id, viewer.ticket.clone()).await;
        assert_eq!(
            answer,
            RelayMessage::Refused {
                reason: Refusal::ResumeExpired
            }
        );
    });
    assert!(agent.wait().success(), "agent: {}", agent.stderr.text());
    for (kind, reason) in [
        ("resume_refused", "resume_invalid"),
        ("resume_refused", "resume_expired"),
        ("session_ended", "viewer_lost"),
    ] {
        relay.wait_for_audit_row(&format!("{kind} for {reason}"), |row| {
            row["kind"] == kind && row["reason"] == reason
        });
    }
}

#[test]
fn the_relays_ticket_alone_cannot_take_a_session_over() {
    let relay = Relay::start(&["--idle-timeout-secs", "3", "--resume-grace-secs", "20"]);
    let proxy = UdpProxy::start(relay.addr.parse().expect("relay address"));
    let (mut agent, code) = relay.agent(1, "320x200");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let viewer =
            ScriptedViewer::join(&relay, &proxy.addr().to_string(), &code, "scripted").await;
        proxy.black_out();
        agent.stdout.wait_for_substring("session paused");

        // Whoever holds the ticket (the relay itself, say) gets the session from the relay,
        // but not from the agent: it lacks the end-to-end resumption secret.
        let (mut control, answer) =
            ask_to_resume(&relay, viewer.session_id, viewer.ticket.clone()).await;
        assert_eq!(answer, RelayMessage::Resumed);
        assert!(matches!(
            control.hear().await,
            RelayMessage::Resumable { .. }
        ));
        assert_eq!(
            forge_resume(&control).await,
            Some(Handshake::Abort {
                reason: AbortReason::ResumeRejected
            })
        );
    });
    agent.expect_exit(1, "failed end-to-end verification");
    assert!(!agent.stdout.text().contains("session resumed"));
}
