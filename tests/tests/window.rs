//! `tether-viewer demo` with a display: the session appears in a real window on a real X server.

use tether_tests::{display::wait_for_window, display::Xvfb, Process};

#[test]
fn demo_shows_the_remote_screen_in_a_window_pixel_for_pixel() {
    let Some(xvfb) = Xvfb::start("1024x768x24") else {
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let snapshot = dir.path().join("demo.png");
    let snapshot = snapshot.to_str().expect("utf-8");
    let demo = Process::spawn(
        "tether-viewer",
        &[
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
