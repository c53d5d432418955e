//! `tether-demo` with a display: the session appears in a real window on a real X server.

use tether_tests::{display::wait_for_window, display::Xvfb, Process, Relay};

#[test]
fn demo_shows_the_remote_screen_in_a_window_pixel_for_pixel() {
    let Some(xvfb) = Xvfb::start("1024x768x24") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let snapshot = dir.path().join("demo.png");
    let snapshot = snapshot.to_str().expect("utf-8");
    let demo = Process::spawn(
        "tether-demo",
        &[
            "--screen",
            "demo",
            "--frames",
            "20",
            "--size",
            "640x360",
            "--snapshot",
            snapshot,
        ],
        &[("DISPLAY", &xvfb.display)],
    );
    demo.stdout.wait_for("  snapshot");
    assert!(
        demo.stdout.text().contains("bit-exact      yes"),
        "{}",
        demo.stdout.text()
    );

    // After the session the window stays open on the last frame, which is the snapshot.
    let image = image::open(snapshot).expect("snapshot PNG").into_rgba8();
    let expected: Vec<[u8; 3]> = image.pixels().map(|p| [p[2], p[1], p[0]]).collect();
    let shot = wait_for_window(&xvfb.display, "Tether", |shot| {
        shot.title.contains("session ended")
            && (shot.width, shot.height) == (640, 360)
            && shot
                .pixels
                .chunks_exact(4)
                .map(|p| [p[0], p[1], p[2]])
                .eq(expected.iter().copied())
    });
    assert!(
        shot.title.contains("demo complete after 20 frames"),
        "{}",
        shot.title
    );
}

#[test]
fn join_shows_a_live_window_that_reports_the_end_of_the_session() {
    let Some(xvfb) = Xvfb::start("1400x900x24") else {
        return;
    };
    let relay = Relay::start(&["--idle-timeout-secs", "3"]);
    let (mut agent, code) = relay.agent(5, "640x360");
    let _viewer = relay.viewer_on_display(&code, &xvfb.display);
    let title = format!("Tether · session {code}");
    let live = wait_for_window(&xvfb.display, &title, |shot| {
        // Live: frame rate, traffic and latency in the title, and the remote desktop drawn
        // (not the black backdrop).
        shot.title.contains(" fps · ")
            && shot.title.contains(" kbit/s · ")
            && shot.title.ends_with(" ms")
            && shot.pixels.chunks_exact(4).any(|p| p[..3] != [0, 0, 0])
    });
    assert_eq!((live.width, live.height), (1280, 720));
    agent.kill();
    let ended = wait_for_window(&xvfb.display, &title, |shot| {
        shot.title.contains("session ended")
    });
    assert!(
        ended
            .title
            .ends_with("session ended: the user's connection was lost"),
        "{}",
        ended.title
    );
}

#[test]
fn the_headless_demo_shares_the_real_screen_when_there_is_one() {
    let Some(xvfb) = Xvfb::start("800x600x24") else {
        return;
    };
    let client = tether_tests::display::XClient::connect(&xvfb.display);
    client.put_pattern(50, 50, 300, 200, 3);
    client.sync();
    let dir = tempfile::tempdir().expect("tempdir");
    let snapshot = dir.path().join("demo.png");
    let mut demo = Process::spawn(
        "tether-demo",
        &[
            "--headless",
            "--snapshot",
            snapshot.to_str().expect("utf-8"),
        ],
        &[("DISPLAY", &xvfb.display)],
    );
    assert!(demo.wait().success(), "{}", demo.stderr.text());
    let report = demo.stdout.text();
    assert!(report.contains("agent screen   X11"), "{report}");
    assert!(report.contains("bit-exact      yes"), "{report}");
    // An idle screen sends one update; the demo stops after its time limit, not 90 updates.
    let image = image::open(&snapshot).expect("snapshot").into_rgba8();
    let (_, _, root) = client.root_bgra();
    let shown: Vec<u8> = image
        .pixels()
        .flat_map(|p| [p[2], p[1], p[0], 255])
        .collect();
    assert!(shown == root, "the snapshot is not the screen");
}
