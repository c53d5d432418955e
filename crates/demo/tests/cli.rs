//! The README's first command, `tether-demo`, run headless.

use std::process::Command;

#[test]
fn headless_demo_runs_a_bit_exact_session_and_writes_the_snapshot() {
    let dir = tempfile::tempdir().expect("tempdir");
    let snapshot = dir.path().join("demo.png");
    let out = Command::new(env!("CARGO_BIN_EXE_tether-demo"))
        .args([
            "--screen",
            "demo",
            "--headless",
            "--frames",
            "10",
            "--size",
            "320x200",
            "--snapshot",
        ])
        .arg(&snapshot)
        .output()
        .expect("run demo");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("received       10 frame updates"),
        "{stdout}"
    );
    assert!(stdout.contains("bit-exact      yes"), "{stdout}");
    let picture = image::open(&snapshot).expect("snapshot PNG");
    assert_eq!((picture.width(), picture.height()), (320, 200));
}
