//! A viewer joins an agent through the relay, all three as real processes on 127.0.0.1.

use tether_screen::DemoDesktop;
use tether_tests::{
    snapshot::{read_png_as_bgra, snapshot_frame_number},
    Relay,
};

#[test]
fn viewer_snapshot_equals_the_agents_demo_frame_bit_exactly() {
    let relay = Relay::start(&[]);
    let (mut agent, code) = relay.agent(7, "640x360");
    assert!(
        code.len() == 15 && code.chars().filter(char::is_ascii_digit).count() == 12,
        "code {code:?} is not 123-456-789-012 shaped"
    );
    let snapshot = relay.path("snapshot.png");
    let mut viewer = relay.viewer(&code, &["--snapshot", &snapshot, "--frames", "12"]);

    let status = viewer.wait();
    assert!(status.success(), "viewer failed: {}", viewer.stderr.text());
    let line = viewer.stdout.wait_for("snapshot: ");
    let frame = snapshot_frame_number(&line);
    assert!(
        frame >= 11,
        "12 updates of an always-changing desktop end at frame >= 11, got {frame}"
    );

    let (width, height, pixels) = read_png_as_bgra(&snapshot);
    let expected = DemoDesktop::new(640, 360, 7).frame(frame);
    assert_eq!((width, height), (expected.width(), expected.height()));
    assert!(
        pixels == expected.pixels(),
        "snapshot differs from demo frame {frame}"
    );

    assert!(
        viewer
            .stdout
            .text()
            .contains("ended: the frames asked for were received"),
        "{}",
        viewer.stdout.text()
    );

    // The viewer ended the session once it had its frames: the agent is told and exits cleanly.
    assert!(agent.wait().success(), "agent: {}", agent.stderr.text());
    assert_eq!(
        agent.stdout.wait_for("session ended: "),
        "the technician ended the session"
    );
}

#[test]
fn a_4k_screen_arrives_whole() {
    let relay = Relay::start(&[]);
    let (_agent, code) = relay.agent(3, "3840x2160");
    let snapshot = relay.path("big.png");
    let mut viewer = relay.viewer(&code, &["--snapshot", &snapshot, "--frames", "2"]);
    assert!(viewer.wait().success(), "viewer: {}", viewer.stderr.text());
    let line = viewer.stdout.wait_for("snapshot: ");
    let (width, height, pixels) = read_png_as_bgra(&snapshot);
    assert_eq!((width, height), (3840, 2160));
    let expected = DemoDesktop::new(3840, 2160, 3).frame(snapshot_frame_number(&line));
    assert!(pixels == expected.pixels(), "4K snapshot is not bit-exact");
}
